"""Faults on the issuer's side: a resource server whose JWKS endpoint is paused or down.

A resource server (FastAPI in uvicorn) verifies ES256 tokens with keys from a
``PyJWKClient``; the issuer's JWKS endpoint is a separate ``http.server`` process on
127.0.0.1 that the test pauses (SIGSTOP), kills and restarts with a rotated key set.
Threads send tokens signed by the published key and tokens naming a ``kid`` the set
does not have. Checked: tokens of the known key are accepted throughout (the expired
set is served stale while the issuer is down); an unknown ``kid`` is refused with a
clear error and never waits longer than the fetch timeout plus a margin; a key published
after the outage is accepted within the cooldown. Run with ``pytest -m faults``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import httpx
import pytest
import turbojwt

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs signals"),
]

KEYS = Path(__file__).resolve().parent / "vectors" / "keys"
FETCH_TIMEOUT = 0.5
LIFESPAN = 1.0
COOLDOWN = 1.0
LATENCY_MARGIN = 1.0
FAULT_SECONDS = 3.0  # longer than the set's lifespan, so it expires during the outage
THREADS = 3
THREAD_RATE = 100

RESOURCE_SERVER = textwrap.dedent(
    '''
    import os

    from fastapi import FastAPI, HTTPException, Request

    import turbojwt
    from turbojwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWTError

    jwks = turbojwt.PyJWKClient(
        os.environ["RS_JWKS_URL"],
        lifespan=float(os.environ["RS_LIFESPAN"]),
        timeout=float(os.environ["RS_TIMEOUT"]),
        cooldown_duration=float(os.environ["RS_COOLDOWN"]),
        max_stale=600,
    )
    app = FastAPI()


    @app.get("/data")
    def data(request: Request) -> dict[str, str]:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            key = jwks.get_signing_key_from_jwt(token)
            claims = turbojwt.decode(token, key.key, ["ES256"], audience="rs")
        except PyJWKClientConnectionError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc
        except PyJWTError as exc:  # PyJWKClientError included: an unknown kid
            raise HTTPException(401, str(exc)) from exc
        return {"sub": claims["sub"]}
    '''
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def public_jwk(kid: str) -> dict[str, Any]:
    jwk = json.loads((KEYS / "p256.jwk.json").read_text())
    return {**{name: value for name, value in jwk.items() if name != "d"}, "kid": kid}


def token(kid: str) -> str:
    private = (KEYS / "p256.pkcs8.pem").read_text()
    claims = {"sub": "alice", "aud": "rs", "exp": int(time.time()) + 600}
    return turbojwt.encode(claims, private, "ES256", headers={"kid": kid})


class Issuer:
    """The issuer's JWKS endpoint: ``python -m http.server`` serving ``jwks.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def publish(self, *kids: str) -> None:
        body = json.dumps({"keys": [public_jwk(kid) for kid in kids]})
        (self.directory / "jwks.json").write_text(body)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(self.directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url, timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError("the JWKS server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def resource_server(tmp_path: Path, jwks_url: str) -> Iterator[str]:
    (tmp_path / "rs_app.py").write_text(RESOURCE_SERVER)
    port = free_port()
    log_path = tmp_path / "rs.log"
    env = {
        **os.environ,
        "RS_JWKS_URL": jwks_url,
        "RS_LIFESPAN": str(LIFESPAN),
        "RS_TIMEOUT": str(FETCH_TIMEOUT),
        "RS_COOLDOWN": str(COOLDOWN),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "rs_app:app", "--app-dir", str(tmp_path),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the resource server did not start:\n{log_path.read_text()}")
            try:
                httpx.get(f"{url}/data", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Sample:
    started: float
    latency: float
    kind: str  # "known" or "unknown" kid
    status: int
    detail: str


@dataclass
class Load:
    url: str
    tokens: dict[str, str]
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, kind: str) -> None:
        local: list[Sample] = []
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                response = client.get(
                    "/data", headers={"Authorization": f"Bearer {self.tokens[kind]}"}
                )
                latency = time.monotonic() - started
                detail = response.json().get("detail", "") if response.status_code != 200 else ""
                local.append(Sample(started, latency, kind, response.status_code, detail))
                time.sleep(max(0.0, 1 / THREAD_RATE - latency))
        with self.lock:
            self.samples.extend(local)

    @contextmanager
    def running(self) -> Iterator[Load]:
        kinds = ["known"] * (THREADS - 1) + ["unknown"]
        threads = [threading.Thread(target=self.run, args=(kind,)) for kind in kinds]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=60)


def test_resource_server_rides_out_an_issuer_outage(tmp_path: Path) -> None:
    directory = tmp_path / "issuer"
    directory.mkdir()
    issuer = Issuer(directory)
    issuer.publish("k1")
    issuer.start()
    phases: dict[str, tuple[float, float]] = {}
    try:
        with resource_server(tmp_path, issuer.url) as url:
            load = Load(url, {"known": token("k1"), "unknown": token("k2")})
            with load.running():
                time.sleep(1.5)
                started = time.monotonic()
                issuer.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
                time.sleep(FAULT_SECONDS)
                phases["issuer paused (SIGSTOP)"] = (started, time.monotonic())
                issuer.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
                time.sleep(1.5)

                started = time.monotonic()
                issuer.kill()
                time.sleep(FAULT_SECONDS)
                phases["issuer down (killed)"] = (started, time.monotonic())
                # It comes back having rotated in k2.
                issuer.publish("k1", "k2")
                back = time.monotonic()
                issuer.start()
                time.sleep(LIFESPAN + COOLDOWN + 1.5)
    finally:
        issuer.kill()

    samples = sorted(load.samples, key=lambda sample: sample.started)
    known = [s for s in samples if s.kind == "known"]
    unknown = [s for s in samples if s.kind == "unknown"]
    assert known and unknown
    # The published key works throughout, the outages included.
    assert all(s.status == 200 for s in known), Counter(s.status for s in known)
    bound = FETCH_TIMEOUT + LATENCY_MARGIN
    assert max(s.latency for s in samples) <= bound, max(samples, key=lambda s: s.latency)
    # Before k2 is published, its tokens are refused with a clear error, never accepted.
    before = [s for s in unknown if s.started < back]
    assert all(s.status in (401, 503) for s in before), Counter(s.status for s in before)
    refused = [s for s in before if s.status == 401]
    assert refused and all("Unable to find a signing key" in s.detail for s in refused)
    accepted = next((s for s in unknown if s.started >= back and s.status == 200), None)
    assert accepted is not None, "the rotated-in key was never accepted"
    new_key_after = accepted.started + accepted.latency - back
    assert new_key_after <= LIFESPAN + COOLDOWN + 1.0 + bound

    figures: dict[str, Any] = {}
    for name, (start, end) in phases.items():
        window = [s for s in samples if start <= s.started < end]
        figures[name] = {
            "requests": len(window),
            "statuses": dict(sorted(Counter(f"{s.kind} {s.status}" for s in window).items())),
            "worst_latency_ms": round(1000 * max(s.latency for s in window), 1),
            "unknown_kid_worst_latency_ms": round(
                1000 * max(s.latency for s in window if s.kind == "unknown"), 1
            ),
        }
    figures["new key accepted after restart (s)"] = round(new_key_after, 2)
    figures["requests"] = len(samples)
    target = os.environ.get("TURBOJWT_FAULTS_REPORT")
    if target:
        Path(target).with_suffix(".issuer.json").write_text(json.dumps(figures, indent=2) + "\n")
