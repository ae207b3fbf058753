"""A throwaway ``redis-server`` on a free 127.0.0.1 port, for tests and benchmarks.

``running_redis_server()`` starts one with persistence off in a temporary directory,
waits until it answers PING and stops it on exit. ``require_redis_server()`` is what a
test calls when no ``redis-server`` is installed: it skips, unless
``TURBOJWT_REQUIRE_REDIS=1`` (set by CI) makes a missing server a failure instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Iterator, NoReturn

import pytest

__all__ = [
    "RedisServer",
    "import_redis_client",
    "redis_required",
    "require_redis_server",
    "running_redis_server",
]

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# Another process may take the free port between our probe and the server's bind.
START_ATTEMPTS = 3


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def redis_required() -> bool:
    """Whether a missing Redis must fail the run rather than skip (CI sets this)."""
    return os.environ.get("TURBOJWT_REQUIRE_REDIS") == "1"


def _skip_or_fail(reason: str) -> NoReturn:
    if redis_required():
        pytest.fail(f"{reason}, and TURBOJWT_REQUIRE_REDIS=1", pytrace=False)
    pytest.skip(reason)


def require_redis_server() -> str:
    """The path of ``redis-server``, or skip (fail under ``TURBOJWT_REQUIRE_REDIS=1``)."""
    executable = shutil.which("redis-server")
    if executable is None:
        _skip_or_fail("redis-server is not installed")
    return executable


def import_redis_client() -> ModuleType:
    """The ``redis`` package, or skip (fail under ``TURBOJWT_REQUIRE_REDIS=1``)."""
    try:
        import redis
    except ImportError:
        _skip_or_fail("the redis package is not installed")
    return redis


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(executable: str, host: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    log_path = directory / "redis.log"
    for _ in range(START_ATTEMPTS):
        port = _free_port(host)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    executable,
                    "--bind", host,
                    "--port", str(port),
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(directory),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _answers_ping(host, port):
                return process, port
            time.sleep(0.05)
        _stop(process)
    log_text = log_path.read_text(errors="replace")
    raise RuntimeError(f"redis-server did not start on {host}; its log:\n{log_text}")


@contextlib.contextmanager
def running_redis_server(host: str = "127.0.0.1") -> Iterator[RedisServer]:
    """Start a private ``redis-server``, yield where it listens, and stop it afterwards."""
    executable = require_redis_server()
    with tempfile.TemporaryDirectory(prefix="turbojwt-redis-") as name:
        directory = Path(name)
        process, port = _start(executable, host, directory)
        try:
            yield RedisServer(host=host, port=port, directory=directory)
        finally:
            _stop(process)
