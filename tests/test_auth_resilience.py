"""Store outages and data loss, in one process: the breaker, the generation marker, the
issuer's loss policy and BearerAuth's 503. The same faults on real servers under load
are in test_auth_faults.py."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from redis_server import import_redis_client
from turbojwt.auth import (
    RedisDenylist,
    RefreshTokenReuseError,
    RevocationLoss,
    RevocationsLostError,
    RevokedTokenError,
    SQLiteDenylist,
    StoreUnavailableError,
    TokenIssuer,
)
from turbojwt.auth.fastapi import BearerAuth
from turbojwt.auth.resilience import CircuitBreaker, Generation
from turbojwt.exceptions import InvalidTokenError

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

SECRET = b"r" * 32
TIMEOUT = 0.3
PROBE = 0.3
LOGGER = "turbojwt.auth.store"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the breaker ---------------------------------------------------------------------------


def test_breaker_fails_fast_then_probes_once_and_logs_each_change_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("store", probe_interval=2.0, clock=clock)
    breaker.before()
    breaker.succeeded()
    assert not breaker.is_open

    with caplog.at_level(logging.INFO, logger=LOGGER):
        error = breaker.failed(ConnectionError("refused"))
        assert isinstance(error, StoreUnavailableError)
        assert isinstance(error, InvalidTokenError)  # a handler unaware of it fails closed
        assert error.retry_after == 2.0
        clock.now += 0.5
        with pytest.raises(StoreUnavailableError, match="refused") as fast:
            breaker.before()
        assert fast.value.retry_after == pytest.approx(1.5)

        clock.now += 1.5
        breaker.before()  # the probe
        with pytest.raises(StoreUnavailableError):
            breaker.before()  # only one probe at a time
        breaker.failed(TimeoutError("still down"))  # reopens, no second "unavailable" line
        clock.now += 2.0
        breaker.before()
        breaker.succeeded()
        breaker.succeeded()
        breaker.before()

    messages = [record.getMessage() for record in caplog.records]
    assert sum("is unavailable" in message for message in messages) == 1
    assert [message for message in messages if "recovered" in message] == [
        "store recovered after 4.0 s"
    ]


def test_breaker_frees_the_probe_after_an_unrelated_error() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("store", probe_interval=1.0, clock=clock)
    breaker.failed(OSError("down"))
    clock.now += 1.0
    breaker.before()
    breaker.released()
    breaker.before()  # another probe may go


def test_store_unavailable_error_pickles_with_retry_after() -> None:
    error = pickle.loads(pickle.dumps(StoreUnavailableError("down", retry_after=3.5)))
    assert (str(error), error.retry_after) == ("down", 3.5)


# --- the generation marker -----------------------------------------------------------------


def test_generation_reports_a_change_once_and_refuses_from_its_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    losses: list[RevocationLoss] = []
    generation = Generation("store", "refuse", losses.append)
    first = generation.new_value()
    assert first.endswith(" 0")  # nothing known before: not a loss
    assert generation.observe(first) is False
    assert generation.cutoff is None

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        replacement = generation.new_value()
        assert replacement.endswith(" 1")
        assert generation.observe(replacement) is False
        assert generation.observe(replacement) is False
    assert len(losses) == 1
    assert (losses[0].previous, losses[0].current) == (first, replacement)
    assert generation.cutoff == losses[0].lost_at == float(replacement.split()[1])
    assert "revocations may be lost" in caplog.text


def test_generation_asks_to_flag_an_unannounced_change() -> None:
    generation = Generation("store")
    generation.observe("aaaa 1.0 0")
    # Another process wrote a marker without knowing of the loss: flag it.
    assert generation.observe("bbbb 2.0 0") is True
    assert generation.observe("not a marker") is True
    assert generation.cutoff is None


def test_generation_alert_policy_reports_but_refuses_nothing() -> None:
    losses: list[RevocationLoss] = []
    generation = Generation("store", "alert", losses.append)
    generation.observe("aaaa 1.0 0")
    generation.observe("bbbb 2.0 1")
    assert [loss.policy for loss in losses] == ["alert"]
    assert generation.cutoff is None
    assert generation.lost_at == 2.0


def test_generation_refuses_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="refuse"):
        Generation("store", "ignore")


def test_a_failing_loss_callback_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def callback(loss: RevocationLoss) -> None:
        raise RuntimeError("pager down")

    generation = Generation("store", "refuse", callback)
    generation.observe("aaaa 1.0 0")
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        generation.observe("bbbb 2.0 1")
    assert "on_loss callback failed" in caplog.text


# --- SQLite --------------------------------------------------------------------------------


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def issuer_on(denylist: Any) -> TokenIssuer:
    return TokenIssuer(SECRET, denylist=denylist, access_ttl=600, refresh_ttl=3600)


def after_the_second(moment: float) -> None:
    """Sleep until a whole second past ``moment``: ``iat`` has whole seconds."""
    time.sleep(max(0.0, int(moment) + 1 - time.time()) + 0.01)


def test_sqlite_replaced_file_is_a_loss_for_every_handle(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    losses: list[RevocationLoss] = []
    store = SQLiteDenylist(path, on_loss=losses.append)
    other = SQLiteDenylist(path)  # another process, as far as the file is concerned
    issuer = issuer_on(store)
    revoked, kept = issuer.issue("alice"), issuer.issue("bob")
    issuer.logout(revoked.refresh_token, revoked.access_token)
    issuer.verify_access(kept.access_token)
    assert store.revocations_lost_at is None

    remove_database(path)  # the revocation of alice's session is gone with the file
    with pytest.raises(RevocationsLostError, match="log in again"):
        issuer.verify_access(revoked.access_token)
    with pytest.raises(RevocationsLostError):
        issuer.verify_access(kept.access_token)  # issued before the loss: may be revoked
    with pytest.raises(RevocationsLostError):
        issuer.refresh(revoked.refresh_token)  # its "used" and family marks are gone too
    assert len(losses) == 1
    lost_at = store.revocations_lost_at
    assert lost_at is not None
    # The other handle reads the same marker, so both refuse from the same moment.
    assert other.revoked(["x"]) == set()
    assert other.revocations_lost_at == lost_at

    after_the_second(lost_at)
    fresh = issuer.issue("alice")
    assert issuer.verify_access(fresh.access_token)["sub"] == "alice"
    assert issuer.refresh(fresh.refresh_token).access_token
    store.close()
    other.close()


def test_sqlite_a_handle_that_started_after_the_loss_does_not_hide_it(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    knowing = SQLiteDenylist(path)
    remove_database(path)
    newcomer = SQLiteDenylist(path)  # writes a fresh marker, unaware of the loss
    assert newcomer.revocations_lost_at is None
    knowing.revoked(["x"])  # sees a changed marker not flagged lost: flags it
    assert knowing.revocations_lost_at is not None
    newcomer.revoked(["x"])
    assert newcomer.revocations_lost_at == knowing.revocations_lost_at
    knowing.close()
    newcomer.close()


def test_sqlite_alert_policy_keeps_accepting(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    losses: list[RevocationLoss] = []
    store = SQLiteDenylist(path, on_revocations_lost="alert", on_loss=losses.append)
    issuer = issuer_on(store)
    pair = issuer.issue("alice")
    remove_database(path)
    assert issuer.verify_access(pair.access_token)["sub"] == "alice"
    assert [loss.policy for loss in losses] == ["alert"]
    assert store.revocations_lost_at is None
    store.close()


def test_sqlite_reopening_the_same_file_is_no_loss(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    SQLiteDenylist(path).close()
    store = SQLiteDenylist(path)
    issuer = issuer_on(store)
    issuer.verify_access(issuer.issue("alice").access_token)
    assert store.revocations_lost_at is None
    store.close()


def test_sqlite_write_lock_is_bounded_then_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    store = SQLiteDenylist(path, timeout=TIMEOUT, probe_interval=PROBE)
    store.revoke("a", time.time() + 60)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="locked"):
            store.revoke("b", time.time() + 60)
        assert TIMEOUT * 0.8 <= time.monotonic() - started < TIMEOUT + 0.5
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            store.consume("c", time.time() + 60)
        assert time.monotonic() - started < 0.1  # the breaker answers at once
        assert store.revoked(["a", "b"]) == {"a"}  # WAL: reads go on
    finally:
        locker.execute("COMMIT")
        locker.close()
    time.sleep(PROBE)
    store.revoke("b", time.time() + 60)
    assert store.revoked(["a", "b"]) == {"a", "b"}
    store.close()


def test_sqlite_missing_directory_is_unavailable_until_it_returns(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    store = SQLiteDenylist(directory / "deny.db", timeout=TIMEOUT, probe_interval=PROBE)
    store.revoke("a", time.time() + 60)
    directory.rename(tmp_path / "away")
    with pytest.raises(StoreUnavailableError, match="unable to open"):
        store.revoked(["a"])
    (tmp_path / "away").rename(directory)
    time.sleep(PROBE)
    assert store.revoked(["a"]) == {"a"}
    assert store.revocations_lost_at is None  # the same file came back
    store.close()


def test_sqlite_store_opened_on_a_missing_directory_starts_later(tmp_path: Path) -> None:
    directory = tmp_path / "later"
    store = SQLiteDenylist(directory / "deny.db", timeout=TIMEOUT, probe_interval=PROBE)
    with pytest.raises(StoreUnavailableError):
        store.revoked(["a"])
    directory.mkdir()
    time.sleep(PROBE)
    assert store.revoked(["a"]) == set()
    store.close()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` read-only: by its mode, or for root (whom modes do not stop) immutable."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode:
        pytest.skip("cannot make a file read-only for root here (no chattr +i)")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_sqlite_read_only_file_serves_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    writer = SQLiteDenylist(path)
    writer.revoke("a", time.time() + 60)
    writer.close()
    with read_only(path):
        store = SQLiteDenylist(path, timeout=TIMEOUT, probe_interval=PROBE)
        assert store.revoked(["a", "b"]) == {"a"}
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="readonly"):
            store.revoke("b", time.time() + 60)
        assert time.monotonic() - started < TIMEOUT + 0.5
        assert store.revoked(["a", "b"]) == {"a"}  # the read breaker stays closed
        store.close()


# --- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_redis_unreachable_is_bounded_and_fails_fast(prefix: str) -> None:
    import_redis_client()
    store = RedisDenylist(
        f"redis://127.0.0.1:{closed_port()}/0", prefix=prefix, timeout=TIMEOUT, probe_interval=PROBE
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="onnect"):
        store.revoked(["a"])
    with pytest.raises(StoreUnavailableError):
        store.revoke("a", time.time() + 60)
    assert time.monotonic() - started < TIMEOUT + 0.5
    store.close()


def test_redis_silent_server_is_bounded_by_the_timeout(prefix: str) -> None:
    import_redis_client()
    # Accepts connections and never answers: a paused server, as the client sees it.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        store = RedisDenylist(
            f"redis://127.0.0.1:{port}/0", prefix=prefix, timeout=TIMEOUT, probe_interval=PROBE
        )
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="Timeout"):
            store.revoked(["a"])
        assert TIMEOUT * 0.8 <= time.monotonic() - started < TIMEOUT + 0.5
        store.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    redis = import_redis_client()
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_redis_lost_keys_refuse_older_tokens(redis_client: Any, prefix: str) -> None:
    losses: list[RevocationLoss] = []
    store = RedisDenylist(redis_client, prefix=prefix, on_loss=losses.append)
    other = RedisDenylist(redis_client, prefix=prefix)
    issuer = issuer_on(store)
    revoked, rotated = issuer.issue("alice"), issuer.issue("bob")
    issuer.logout(revoked.refresh_token, revoked.access_token)
    issuer.refresh(rotated.refresh_token)
    with pytest.raises(RevokedTokenError):
        issuer.verify_access(revoked.access_token)
    assert other.revoked(["x"]) == set()

    # What FLUSHALL, or a restart without persistence, does to this store's keys.
    redis_client.delete(*redis_client.keys(prefix + "*"))
    with pytest.raises(RevocationsLostError):
        issuer.verify_access(revoked.access_token)
    with pytest.raises(RevocationsLostError):
        issuer.refresh(rotated.refresh_token)  # would otherwise pass as a first use
    assert len(losses) == 1
    assert other.revoked(["x"]) == set()
    assert other.revocations_lost_at == store.revocations_lost_at is not None
    marker = redis_client.get(store.generation_key).decode()
    assert marker.endswith(" 1")

    lost_at = store.revocations_lost_at
    assert lost_at is not None
    after_the_second(lost_at)
    fresh = issuer.issue("alice")
    issuer.verify_access(fresh.access_token)
    issuer.refresh(fresh.refresh_token)
    with pytest.raises(RefreshTokenReuseError):
        issuer.refresh(fresh.refresh_token)
    store.close()
    other.close()


def test_redis_marker_works_with_decoded_responses(redis_url: str, prefix: str) -> None:
    redis = import_redis_client()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisDenylist(client, prefix=prefix)
    store.revoke("a", time.time() + 60)
    assert store.revoked(["a", "b"]) == {"a"}
    assert store.revoked(["a"]) == {"a"}
    assert store.revocations_lost_at is None
    client.close()


# --- BearerAuth ----------------------------------------------------------------------------


class DownDenylist:
    """A store that is down until ``up`` is set."""

    blocking = False

    def __init__(self) -> None:
        self.up = False
        self.revoked_ids: set[str] = set()

    def revoked(self, jtis: Any) -> set[str]:
        if not self.up:
            raise StoreUnavailableError("store down", retry_after=2.2)
        return self.revoked_ids.intersection(jtis)

    def revoke(self, jti: str, expires_at: float) -> None:
        self.revoked_ids.add(jti)


def make_app(auth: BearerAuth) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    def me(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        return claims

    @app.get("/open")
    def open_route(
        claims: dict[str, Any] = Depends(auth.require(fail_open=True)),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    open_admin_dependency = auth.require(scopes=["admin"], fail_open=True)

    @app.get("/open-admin")
    def open_admin(
        claims: dict[str, Any] = Depends(open_admin_dependency),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    return app


@pytest.mark.parametrize("blocking", [False, True])
def test_bearer_auth_answers_503_and_fails_open_only_where_asked(
    caplog: pytest.LogCaptureFixture, blocking: bool
) -> None:
    store = DownDenylist()
    issuer = TokenIssuer(SECRET, denylist=store)  # type: ignore[arg-type]
    client = TestClient(make_app(BearerAuth(issuer, blocking=blocking)))
    token = issuer.issue("alice").access_token
    headers = {"Authorization": f"Bearer {token}"}

    down = client.get("/me", headers=headers)
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "3"
    assert "WWW-Authenticate" not in down.headers
    assert client.get("/me").status_code == 401  # no token: no need to ask the store
    forged = {"Authorization": f"Bearer {token[:-4]}AAAA"}
    assert client.get("/me", headers=forged).status_code == 401

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        opened = client.get("/open", headers=headers)
    assert opened.status_code == 200
    assert opened.json()["sub"] == "alice"
    assert "fail-open" in caplog.text and "'alice'" in caplog.text
    # Fail-open skips only the denylist: signature and scopes still count.
    assert client.get("/open", headers=forged).status_code == 401
    assert client.get("/open-admin", headers=headers).status_code == 403

    store.up = True
    store.revoked_ids.add(issuer.verify_access(token, check_revoked=False)["jti"])
    assert client.get("/me", headers=headers).status_code == 401
    assert client.get("/open", headers=headers).status_code == 401  # store up: it counts


def test_verify_access_batch_refuses_tokens_from_before_a_loss(tmp_path: Path) -> None:
    path = tmp_path / "deny.db"
    store = SQLiteDenylist(path)
    issuer = issuer_on(store)
    before = issuer.issue("alice").access_token
    remove_database(path)
    results = issuer.verify_access_batch([before])
    assert isinstance(results[0], RevocationsLostError)
    store.close()


def test_threads_share_the_probe(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    store = SQLiteDenylist(directory / "deny.db", timeout=TIMEOUT, probe_interval=PROBE)
    directory.rename(tmp_path / "away")
    errors: list[BaseException] = []

    def lookup() -> None:
        try:
            store.revoked(["a"])
        except StoreUnavailableError as error:
            errors.append(error)

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(errors) == 8
    store.close()
