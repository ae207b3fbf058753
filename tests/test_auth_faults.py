"""Faults on the auth path: the example app under load while its revocation store fails.

Real servers on 127.0.0.1: the example app in uvicorn, a real redis-server (paused with
SIGSTOP, killed, restarted with its data, restarted empty, flushed) or an SQLite file
(write-locked by another process, its directory moved away, corrupted, replaced by an
empty file). Threads with httpx drive ``GET /me`` with valid and with revoked tokens the
whole time. Checked at every moment: no revoked token is accepted; no request waits
longer than the store timeout plus a margin; during an outage the answers are 503 with
``Retry-After``; valid tokens succeed again soon after recovery; the server's memory and
file descriptors stay flat. Also: four workers share one store, so a revocation in one is
refused by all, and two workers racing to rotate one refresh token produce one winner.

Run alone with ``pytest -m faults`` (set ``TURBOJWT_FAULTS_REPORT=path`` to write the
figures as JSON). Linux only (``/proc``, signals); about a minute.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import pytest
from redis_server import import_redis_client, require_redis_server

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and signals"),
]

REPO_ROOT = Path(__file__).resolve().parent.parent
STORE_TIMEOUT = 0.5
PROBE_INTERVAL = 0.5
# Above the store timeout: thread scheduling, the HTTP round trip and a busy CI machine.
LATENCY_MARGIN = 1.0
# After a fault ends: one probe interval, one store timeout, and the same margin.
RECOVERY_BOUND = PROBE_INTERVAL + STORE_TIMEOUT + 2.0
FAULT_SECONDS = 2.5
LOAD_THREADS = 4
# Each load thread sends at most this many requests per second.
THREAD_RATE = 150
STARTUP_TIMEOUT = 30.0
# A refused refresh token: 400 invalid_grant (RFC 6749 section 5.2), or 401.
REFRESH_REFUSED = (400, 401)

FIGURES: dict[str, Any] = {}


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Redis:
    """A redis-server on a fixed port that the test can pause, kill and restart."""

    def __init__(self, directory: Path) -> None:
        self.executable = require_redis_server()
        self.directory = directory
        self.port = free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.executable,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.directory),
                # Persistence, so that "restart with data" keeps the revocations.
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def wipe(self) -> None:
        """Delete the persistence files: the next start comes up empty."""
        for path in self.directory.iterdir():
            if path.name != "redis.log":
                if path.is_dir():
                    for child in path.iterdir():
                        child.unlink()
                    path.rmdir()
                else:
                    path.unlink()

    def command(self, *args: str) -> Any:
        redis = import_redis_client()
        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5) as client:
            return client.execute_command(*args)


@dataclass
class App:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        """The processes serving requests: the workers, or the single server process."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            listed = [int(pid) for pid in children.read_text().split()]
        except OSError:
            listed = []
        return listed or [self.process.pid]


def resources(pid: int) -> tuple[int, int]:
    """(resident memory in KiB, open file descriptors) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


@contextmanager
def example_app(tmp_path: Path, denylist_url: str, *, workers: int = 1) -> Iterator[App]:
    port = free_port()
    env = {
        **os.environ,
        "APP_JWT_SECRET": secrets.token_urlsafe(32),
        "APP_DENYLIST_URL": denylist_url,
        "APP_ACCESS_TTL": "600",
        "APP_REFRESH_TTL": "600",
        "APP_STORE_TIMEOUT": str(STORE_TIMEOUT),
        "APP_STORE_PROBE_INTERVAL": str(PROBE_INTERVAL),
        # glibc keeps freed blocks above its (adaptive) mmap threshold in each thread's
        # arena: every login's 16 MiB scrypt buffer would then stay resident once per
        # thread-pool thread. A fixed threshold returns them, so RSS shows the auth path.
        "MALLOC_MMAP_THRESHOLD_": str(1024 * 1024),
    }
    command = [
        sys.executable, "-m", "uvicorn", "examples.fastapi_app.app:app",
        "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if workers > 1:
        command += ["--workers", str(workers)]
    log_path = tmp_path / f"app-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    app = App(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        ready = 0
        while ready < workers:
            if process.poll() is not None:
                pytest.fail(f"the app exited:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log_path.read_text()}")
            try:
                httpx.get(f"{app.url}/health", timeout=1.0).raise_for_status()
                ready = len(app.pids()) if workers > 1 else 1
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- sessions ------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: httpx.Client, username: str = "alice", password: str = "wonderland") -> Any:
    response = client.post("/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def logout(client: httpx.Client, pair: dict[str, Any]) -> httpx.Response:
    return client.post(
        "/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )


def fresh_logins(client: httpx.Client, count: int) -> list[str]:
    """Access tokens of sessions issued in a later whole second than now.

    ``iat`` counts whole seconds: after a store lost data, tokens issued in the second of
    the loss may still count as issued before it.
    """
    time.sleep(math.ceil(time.time()) - time.time() + 0.05)
    return [login(client)["access_token"] for _ in range(count)]


# --- load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    started: float
    latency: float
    kind: str  # "valid" or "revoked"
    status: int  # 0: the request failed at the transport level
    retry_after: Optional[str]
    generation: int  # which set of valid tokens was in use


@dataclass
class Load:
    """Threads sending ``GET /me`` with valid and revoked tokens until stopped."""

    url: str
    valid: list[str]
    revoked: list[str]
    generation: int = 0
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def replace_valid(self, tokens: list[str]) -> None:
        with self.lock:
            self.valid = tokens
            self.generation += 1

    def run(self, index: int) -> None:
        period = 1.0 / THREAD_RATE
        local: list[Sample] = []
        step = index
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            while not self.stop.is_set():
                step += 1
                with self.lock:
                    generation = self.generation
                    if step % 2:
                        kind, pool = "valid", self.valid
                    else:
                        kind, pool = "revoked", self.revoked
                    token = pool[step // 2 % len(pool)]
                started = time.monotonic()
                try:
                    response = client.get("/me", headers=bearer(token))
                    status, retry_after = response.status_code, response.headers.get("Retry-After")
                except httpx.TransportError:
                    status, retry_after = 0, None
                latency = time.monotonic() - started
                local.append(Sample(started, latency, kind, status, retry_after, generation))
                time.sleep(max(0.0, period - latency))
        with self.lock:
            self.samples.extend(local)

    @contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self.run, args=(n,)) for n in range(LOAD_THREADS)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=60)


@dataclass
class Fault:
    name: str
    started: float = 0.0
    ended: float = 0.0  # when undoing the fault began
    expect_loss: bool = False
    # After a loss: the load's generation of valid tokens issued after it.
    new_generation: Optional[int] = None
    notes: dict[str, Any] = field(default_factory=dict)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until ``predicate``; return how long it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def me_status(client: httpx.Client, token: str) -> int:
    return client.get("/me", headers=bearer(token)).status_code


def refused(client: httpx.Client, token: str) -> Callable[[], bool]:
    return lambda: me_status(client, token) == 401


def count_statuses(samples: list[Sample]) -> dict[str, int]:
    return dict(sorted(Counter(f"{s.kind} {s.status}" for s in samples).items()))


def analyse(load: Load, faults: list[Fault], outage_statuses: dict[str, set[int]]) -> None:
    """Check the invariants over every sample, and record the figures per fault."""
    samples = sorted(load.samples, key=lambda sample: sample.started)
    assert samples, "the load generator sent nothing"
    accepted_revoked = [s for s in samples if s.kind == "revoked" and s.status == 200]
    assert not accepted_revoked, f"revoked tokens accepted: {accepted_revoked[:5]}"
    bound = STORE_TIMEOUT + LATENCY_MARGIN
    slow = [s for s in samples if s.latency > bound]
    assert not slow, f"requests slower than {bound} s: {slow[:5]}"
    assert all(s.status != 0 for s in samples), "transport errors"
    assert all(
        s.retry_after is not None and int(s.retry_after) >= 1 for s in samples if s.status == 503
    ), "a 503 without Retry-After"
    for fault in faults:
        # Steady outage: after the store timeout has elapsed once since the fault began.
        window = [
            s for s in samples if fault.started + STORE_TIMEOUT + 0.1 <= s.started < fault.ended
        ]
        during = Counter(f"{s.kind} {s.status}" for s in window)
        # Valid tokens: what the fault allows (503 for an outage); revoked ones: 401 or 503.
        allowed = {"valid": outage_statuses[fault.name], "revoked": {401, 503}}
        unexpected = [s for s in window if s.status not in allowed[s.kind]]
        assert not unexpected, f"{fault.name}: unexpected answers during the fault: {during}"
        after = [
            s
            for s in samples
            if s.started >= fault.ended
            and (fault.new_generation is None or s.generation >= fault.new_generation)
        ]
        served = sum(1 for s in window if s.status == 200)
        recovered = next(
            (s.started + s.latency for s in after if s.kind == "valid" and s.status == 200), None
        )
        assert recovered is not None, f"{fault.name}: valid tokens never succeeded again"
        recovery = recovered - fault.ended
        fault_samples = [s for s in samples if fault.started <= s.started < fault.ended]
        FIGURES.setdefault("faults", {})[fault.name] = {
            "requests": len(fault_samples),
            "served_200": served,
            "statuses": count_statuses(fault_samples),
            "worst_latency_ms": round(1000 * max((s.latency for s in fault_samples), default=0), 1),
            "recovery_s": round(recovery, 2),
            **fault.notes,
        }
        assert recovery <= RECOVERY_BOUND + (1.5 if fault.expect_loss else 0), (
            f"{fault.name}: valid tokens succeeded again only after {recovery:.2f} s"
        )
    FIGURES.setdefault("totals", {})[faults[0].name.split(":")[0]] = {
        "requests": len(samples),
        "statuses": count_statuses(samples),
        "worst_latency_ms": round(1000 * max(s.latency for s in samples), 1),
    }


def sessions(client: httpx.Client, count: int) -> list[Any]:
    return [login(client) for _ in range(count)]


def revoked_tokens(client: httpx.Client) -> list[str]:
    """Access tokens revoked each way: logout, and refresh-token reuse."""
    tokens = []
    for pair in sessions(client, 2):
        assert logout(client, pair).status_code == 204
        tokens.append(pair["access_token"])
    pair = login(client)
    rotated = client.post("/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    reused = client.post("/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code in REFRESH_REFUSED
    tokens += [pair["access_token"], rotated.json()["access_token"]]
    for token in tokens:
        assert me_status(client, token) == 401
    return tokens


@dataclass
class Resources:
    pid: int
    samples: list[tuple[int, int]] = field(default_factory=list)

    def sample(self) -> None:
        self.samples.append(resources(self.pid))

    def check(self, name: str) -> None:
        (rss_start, fds_start), (rss_end, fds_end) = self.samples[0], self.samples[-1]
        FIGURES.setdefault("resources", {})[name] = {
            "rss_kib": [rss for rss, _ in self.samples],
            "fds": [fds for _, fds in self.samples],
        }
        assert fds_end <= fds_start + 16, f"file descriptors grew: {self.samples}"
        assert rss_end <= rss_start + 32 * 1024, f"memory grew: {self.samples}"


# --- Redis ---------------------------------------------------------------------------------


def test_redis_faults_under_load(tmp_path: Path) -> None:
    import_redis_client()
    redis = Redis(tmp_path / "redis")
    redis.start()
    try:
        with example_app(tmp_path, redis.url) as app, httpx.Client(
            base_url=app.url, timeout=30.0
        ) as client:
            run_redis_faults(app, client, redis)
    finally:
        redis.kill()


def run_redis_faults(app: App, client: httpx.Client, redis: Redis) -> None:
    revoked = revoked_tokens(client)
    valid = [pair["access_token"] for pair in sessions(client, 3)]
    load = Load(app.url, valid, revoked)
    usage = Resources(app.pids()[0])
    faults: list[Fault] = []
    outage = {503}
    allowed: dict[str, set[int]] = {}

    def settle(tokens: list[str]) -> None:
        wait_for(lambda: all(me_status(client, t) == 200 for t in tokens), 10, "recovery")
        time.sleep(0.5)

    with load.running():
        time.sleep(1.0)
        usage.sample()

        fault = Fault("redis: paused (SIGSTOP)")
        fault.started = time.monotonic()
        redis.signal(signal.SIGSTOP)
        time.sleep(FAULT_SECONDS)
        # Writes fail as fast: logout answers 503 too.
        spare = login(client)
        answer = logout(client, spare)
        assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
        assert client.get("/hello", headers=bearer(spare["access_token"])).status_code == 200
        fault.ended = time.monotonic()
        redis.signal(signal.SIGCONT)
        faults.append(fault)
        allowed[fault.name] = outage
        settle(load.valid)
        usage.sample()

        fault = Fault("redis: killed, restarted with its data")
        fault.started = time.monotonic()
        redis.kill()
        time.sleep(FAULT_SECONDS)
        fault.ended = time.monotonic()
        redis.start()
        faults.append(fault)
        allowed[fault.name] = outage
        settle(load.valid)
        usage.sample()

        for name in ["redis: restarted empty", "redis: FLUSHALL"]:
            old = load.valid
            fault = Fault(name, expect_loss=True)
            fault.started = time.monotonic()
            if name.endswith("empty"):
                redis.kill()
                time.sleep(FAULT_SECONDS)
                redis.wipe()
                fault.ended = time.monotonic()
                redis.start()
            else:
                fault.ended = time.monotonic()
                redis.command("FLUSHALL")
            # The loss is noticed by the next lookup: the tokens from before are refused
            # (users log in again), and fresh logins work.
            detected = wait_for(refused(client, old[0]), 10, "the loss to be noticed")
            fault.notes["loss_noticed_after_s"] = round(detected, 3)
            load.replace_valid(fresh_logins(client, 3))
            fault.new_generation = load.generation
            fault.notes["new_logins_after_s"] = round(time.monotonic() - fault.ended, 2)
            faults.append(fault)
            allowed[fault.name] = {503, 401} if name.endswith("empty") else {200, 401}
            settle(load.valid)
            usage.sample()
            for token in old:
                detail = client.get("/me", headers=bearer(token)).headers["WWW-Authenticate"]
                assert "lost data" in detail, detail

        time.sleep(1.0)
        usage.sample()

    # Every revoked token stayed refused, including across the losses.
    for token in revoked:
        assert me_status(client, token) == 401
    analyse(load, faults, allowed)
    usage.check("redis")
    log = app.log_path.read_text()
    assert "is unavailable" in log and "recovered after" in log, log
    assert log.count("revocations may be lost") == 2, log
    assert "fail-open: accepted a token of 'alice'" in log, log  # the /hello pass


# --- SQLite --------------------------------------------------------------------------------


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_sqlite_faults_under_load(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    path = directory / "denylist.sqlite3"
    with example_app(tmp_path, f"sqlite:///{path}") as app, httpx.Client(
        base_url=app.url, timeout=30.0
    ) as client:
        revoked = revoked_tokens(client)
        valid = [pair["access_token"] for pair in sessions(client, 3)]
        load = Load(app.url, valid, revoked)
        usage = Resources(app.pids()[0])
        faults: list[Fault] = []
        allowed: dict[str, set[int]] = {}

        def settle(tokens: list[str]) -> None:
            wait_for(lambda: all(me_status(client, t) == 200 for t in tokens), 10, "recovery")
            time.sleep(0.5)

        with load.running():
            time.sleep(1.0)
            usage.sample()

            # Another process holds the write lock: reads go on (WAL), writes answer 503
            # after the busy timeout, then at once.
            fault = Fault("sqlite: write-locked by another process")
            locker = sqlite3.connect(path, isolation_level=None)
            fault.started = time.monotonic()
            locker.execute("BEGIN EXCLUSIVE")
            spare = login(client)
            timings = []
            for _ in range(3):
                started = time.monotonic()
                answer = logout(client, spare)
                timings.append(time.monotonic() - started)
                assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
            assert timings[0] <= STORE_TIMEOUT + LATENCY_MARGIN, timings
            fault.notes["write_latencies_ms"] = [round(1000 * t, 1) for t in timings]
            time.sleep(FAULT_SECONDS)
            fault.ended = time.monotonic()
            locker.execute("COMMIT")
            locker.close()
            faults.append(fault)
            allowed[fault.name] = {200}
            wait_for(lambda: logout(client, spare).status_code == 204, 5, "writes to recover")
            settle(load.valid)
            usage.sample()

            fault = Fault("sqlite: directory moved away")
            fault.started = time.monotonic()
            directory.rename(tmp_path / "moved")
            time.sleep(FAULT_SECONDS)
            fault.ended = time.monotonic()
            (tmp_path / "moved").rename(directory)
            faults.append(fault)
            allowed[fault.name] = {503}
            settle(load.valid)
            usage.sample()

            # Garbage over the file: open connections may still read their cached pages;
            # whatever they answer, revoked tokens stay refused. Then the operator deletes
            # the file, and the store starts an empty one: a loss.
            old = load.valid
            fault = Fault("sqlite: corrupted, then replaced by an empty file", expect_loss=True)
            fault.started = time.monotonic()
            with path.open("r+b") as file:
                file.write(b"\xff" * 4096)
            time.sleep(FAULT_SECONDS)
            fault.ended = time.monotonic()
            remove_database(path)
            detected = wait_for(refused(client, old[0]), 10, "the loss")
            fault.notes["loss_noticed_after_s"] = round(detected, 3)
            load.replace_valid(fresh_logins(client, 3))
            fault.new_generation = load.generation
            fault.notes["new_logins_after_s"] = round(time.monotonic() - fault.ended, 2)
            faults.append(fault)
            allowed[fault.name] = {200, 401, 503}
            settle(load.valid)
            usage.sample()
            time.sleep(1.0)
            usage.sample()

        for token in revoked:
            assert me_status(client, token) == 401
        analyse(load, faults, allowed)
        usage.check("sqlite")
        log = app.log_path.read_text()
        assert "is unavailable" in log and "recovered after" in log, log
        assert "revocations may be lost" in log, log


# --- many workers --------------------------------------------------------------------------


def rotate(
    url: str, token: str, barrier: threading.Barrier, answers: list[httpx.Response]
) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        client.get("/health")  # connect first, so the requests leave together
        barrier.wait(timeout=10)
        answers.append(client.post("/refresh", json={"refresh_token": token}))


def check_workers_share_revocations(app: App) -> None:
    pids = set()
    for _ in range(40):
        # A new connection each time, so that the workers take turns.
        pids.add(httpx.get(f"{app.url}/health", timeout=10).headers["X-Worker-Pid"])
    FIGURES.setdefault("workers", {}).setdefault("distinct_workers_seen", []).append(len(pids))
    assert len(pids) >= 2, "all requests went to one worker"

    with httpx.Client(base_url=app.url, timeout=10) as client:
        pair = login(client)
    assert httpx.get(f"{app.url}/me", headers=bearer(pair["access_token"])).status_code == 200
    with httpx.Client(base_url=app.url, timeout=10) as client:
        assert logout(client, pair).status_code == 204
    for _ in range(40):
        # Every worker refuses it on its next request.
        answer = httpx.get(f"{app.url}/me", headers=bearer(pair["access_token"]), timeout=10)
        assert answer.status_code == 401, answer.text

    # Rotation races: eight requests with one refresh token at once, on eight connections.
    winners_total = 0
    for _ in range(4):
        with httpx.Client(base_url=app.url, timeout=10) as client:
            pair = login(client)
        barrier = threading.Barrier(8)
        answers: list[httpx.Response] = []
        arguments = (app.url, pair["refresh_token"], barrier, answers)
        threads = [threading.Thread(target=rotate, args=arguments) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses[0] == 200 and statuses[1] != 200, statuses
        assert set(statuses[1:]) <= set(REFRESH_REFUSED), statuses
        winner = next(answer.json() for answer in answers if answer.status_code == 200)
        winners_total += 1
        # The losers revoked the family: the winner's new tokens are refused too.
        assert (
            httpx.get(f"{app.url}/me", headers=bearer(winner["access_token"])).status_code == 401
        )
        again = httpx.post(f"{app.url}/refresh", json={"refresh_token": winner["refresh_token"]})
        assert again.status_code in REFRESH_REFUSED
    assert winners_total == 4


def test_four_workers_share_one_redis(tmp_path: Path) -> None:
    import_redis_client()
    redis = Redis(tmp_path / "redis")
    redis.start()
    try:
        with example_app(tmp_path, redis.url, workers=4) as app:
            assert len(app.pids()) >= 4
            check_workers_share_revocations(app)
            # A loss is noticed by every worker, each on its next request.
            with httpx.Client(base_url=app.url, timeout=10) as client:
                before = login(client)["access_token"]
            redis.command("FLUSHALL")
            for _ in range(20):
                assert httpx.get(f"{app.url}/me", headers=bearer(before)).status_code == 401
    finally:
        redis.kill()


def test_four_workers_share_one_sqlite_file(tmp_path: Path) -> None:
    with example_app(tmp_path, f"sqlite:///{tmp_path / 'denylist.sqlite3'}", workers=4) as app:
        assert len(app.pids()) >= 4
        check_workers_share_revocations(app)


# --- the figures ---------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    target = os.environ.get("TURBOJWT_FAULTS_REPORT")
    if target and FIGURES:
        Path(target).write_text(json.dumps(FIGURES, indent=2) + "\n")
