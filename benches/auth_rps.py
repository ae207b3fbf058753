"""Requests per second of the example FastAPI app on turbojwt and on PyJWT 2.15.1.

    python benches/auth_rps.py [--rounds 3] [--duration 10] [--connections 16]

Starts examples/fastapi_app twice under uvicorn (one worker, no access log), once as is and
once with APP_JWT_BACKEND=pyjwt, so only the library that verifies the token differs. Both
use the SQLite denylist, or with `--store memory` the in-memory one, which the dependency
checks on the event loop instead of in the thread pool. After logging in, `wrk` loads the
protected `GET /me` from another process over loopback, alternating between the two servers
for several rounds; `GET /health` (no authentication) gives the framework's ceiling. With
two or more cores, the servers run on CPU 0 and wrk on CPU 1 (`taskset`). A second table
gives the in-process cost of one `verify_access` on each library.
Progress goes to stderr, the markdown tables to stdout. Needs `wrk` on PATH.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = "0"
CLIENT_CPU = "1"
LATENCY_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Target:
    label: str
    url: str
    token: str | None


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def pinned(command: Sequence[str], cpu: str) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", cpu, *command]
    return list(command)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(url: str, body: dict[str, str] | None = None, token: str | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@contextmanager
def example_server(backend: str, workdir: Path, store: str) -> Iterator[str]:
    port = free_port()
    denylist_url = (
        f"sqlite:///{workdir / f'denylist-{backend}.sqlite3'}" if store == "sqlite" else "memory://"
    )
    env = {
        **os.environ,
        "APP_JWT_SECRET": secrets.token_urlsafe(32),
        "APP_DENYLIST_URL": denylist_url,
        "APP_ACCESS_TTL": "3600",
        "APP_JWT_BACKEND": backend,
    }
    command = [
        sys.executable, "-m", "uvicorn", "examples.fastapi_app.app:app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(pinned(command, SERVER_CPU), cwd=REPO_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the {backend} server exited with {process.returncode}")
            try:
                http(f"{url}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_in(url: str, backend: str) -> str:
    """Log in as alice and check that the token is accepted by the route under test."""
    health = http(f"{url}/health")
    assert isinstance(health, dict) and health["backend"] == backend, health
    pair = http(f"{url}/login", {"username": "alice", "password": "wonderland"})
    assert isinstance(pair, dict)
    token: str = pair["access_token"]
    claims = http(f"{url}/me", token=token)
    assert isinstance(claims, dict) and claims["sub"] == "alice", claims
    return token


def latency_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * LATENCY_UNITS[match.group(2)]


def run_wrk(target: Target, duration: float, connections: int) -> WrkResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    if target.token is not None:
        command += ["-H", f"Authorization: Bearer {target.token}"]
    output = subprocess.run(
        pinned([*command, target.url], CLIENT_CPU),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for problem in ("Non-2xx or 3xx responses", "Socket errors"):
        if problem in output:
            raise RuntimeError(f"wrk reported errors for {target.label}:\n{output}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    return WrkResult(float(rps.group(1)), latency_ms(p50.group(1)), latency_ms(p99.group(1)))


def verify_cost_us(backend: str, workdir: Path) -> float:
    """In-process time of one ``verify_access`` (SQLite denylist), best of 5 runs."""
    from turbojwt.auth import SQLiteDenylist, TokenIssuer

    module = importlib.import_module("jwt") if backend == "pyjwt" else None
    denylist = SQLiteDenylist(workdir / f"verify-{backend}.sqlite3")
    issuer = TokenIssuer(
        secrets.token_bytes(32), issuer="i", audience="a", denylist=denylist, backend=module
    )
    token = issuer.issue("alice", scopes="profile:read").access_token
    runs = timeit.repeat(lambda: issuer.verify_access(token), number=5000, repeat=5)
    denylist.close()
    return min(runs) / 5000 * 1e6


def median_result(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.median(r.requests_per_second for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--store",
        choices=("sqlite", "memory"),
        default="sqlite",
        help="the example's denylist: SQLite (checked in the thread pool) or in-memory "
        "(checked on the event loop)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="auth-rps-")))
        urls = {
            backend: stack.enter_context(example_server(backend, workdir, args.store))
            for backend in ("turbojwt", "pyjwt")
        }
        targets = [
            Target("turbojwt", f"{urls['turbojwt']}/me", log_in(urls["turbojwt"], "turbojwt")),
            Target("PyJWT 2.15.1", f"{urls['pyjwt']}/me", log_in(urls["pyjwt"], "pyjwt")),
            Target("no authentication (/health)", f"{urls['turbojwt']}/health", None),
        ]
        for target in targets:  # warm-up, not recorded
            run_wrk(target, 2, args.connections)
        results: dict[str, list[WrkResult]] = {t.label: [] for t in targets}
        for round_number in range(args.rounds):
            # Alternate the order so a slow drift in the machine's load hits both alike.
            order = targets if round_number % 2 == 0 else targets[::-1]
            for target in order:
                result = run_wrk(target, args.duration, args.connections)
                results[target.label].append(result)
                print(
                    f"round {round_number + 1}: {target.label}: "
                    f"{result.requests_per_second:,.0f} req/s, p50 {result.p50_ms:.2f} ms",
                    file=sys.stderr,
                )

        verify_us = {b: verify_cost_us(b, workdir) for b in ("turbojwt", "pyjwt")}

    baseline = results["PyJWT 2.15.1"]
    print(f"| GET route, {args.connections} connections | req/s (median of {args.rounds}) "
          "| vs PyJWT (median of rounds) | p50 ms | p99 ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for label, rounds in results.items():
        median = median_result(rounds)
        ratio = statistics.median(
            r.requests_per_second / b.requests_per_second for r, b in zip(rounds, baseline)
        )
        print(
            f"| {label} | {median.requests_per_second:,.0f} | {ratio:.2f}x "
            f"| {median.p50_ms:.2f} | {median.p99_ms:.2f} |"
        )
    print()
    print("| in process, one `verify_access` (SQLite denylist) | µs |")
    print("|---|---:|")
    print(f"| turbojwt | {verify_us['turbojwt']:.1f} |")
    print(f"| PyJWT 2.15.1 | {verify_us['pyjwt']:.1f} |")


if __name__ == "__main__":
    main()
