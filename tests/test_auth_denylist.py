"""The revocation stores: one contract, checked against memory, SQLite and a real Redis."""

from __future__ import annotations

import math
import multiprocessing
import queue
import random
import sqlite3
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from redis_server import import_redis_client
from turbojwt.auth.denylist import _PURGE_EVERY as PURGE_EVERY
from turbojwt.auth.denylist import Denylist, MemoryDenylist, SQLiteDenylist
from turbojwt.auth.redis_denylist import RedisDenylist

STORE_KINDS = ["memory", "sqlite", "redis"]
THREADS = 8
PROCESSES = 4
# Far enough ahead that no real clock reaches it during a run.
LIFETIME = 3600.0


class FakeClock:
    """A clock the test moves by hand; it starts at the real time, as Redis expires keys by
    its own clock and must not see the entries as already past."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    redis = import_redis_client()
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so tests sharing the server never see each other."""
    return f"test:{uuid.uuid4().hex}:"


StoreFactory = Callable[[], Denylist]


@pytest.fixture(params=STORE_KINDS)
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[StoreFactory]:
    """Opens stores of one kind on the same data (file, key prefix), all on ``clock``."""
    kind: str = request.param
    created: list[Denylist] = []

    def make() -> Denylist:
        store: Denylist
        if kind == "memory":
            if created:
                raise AssertionError("a MemoryDenylist cannot be opened twice on the same data")
            store = MemoryDenylist(clock=clock)
        elif kind == "sqlite":
            store = SQLiteDenylist(tmp_path / "denylist.db", clock=clock)
        else:
            client = request.getfixturevalue("redis_client")
            prefix = request.getfixturevalue("redis_prefix")
            store = RedisDenylist(client, prefix=prefix, clock=clock)
        created.append(store)
        return store

    yield make
    for store in created:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Denylist:
    return make_store()


# ---------------------------------------------------------------------------------------
# The contract, for every store


def test_every_store_satisfies_the_protocol(store: Denylist) -> None:
    assert isinstance(store, Denylist)


def test_a_fresh_store_revokes_nothing(store: Denylist) -> None:
    assert not store.is_revoked("a")
    assert store.revoked(["a", "b"]) == set()


def test_revoke_then_lookup(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() + LIFETIME)
    store.revoke("c", clock() + LIFETIME)

    assert store.is_revoked("a")
    assert not store.is_revoked("b")
    assert store.revoked(["a", "b", "c", "d"]) == {"a", "c"}


def test_revoked_takes_any_iterable_with_duplicates(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() + LIFETIME)

    assert store.revoked(iter(["a", "b", "a", "a"])) == {"a"}
    assert store.revoked(jti for jti in ("b", "a")) == {"a"}
    assert store.revoked([]) == set()


def test_an_entry_is_absent_once_its_expiry_passes(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() + 10)

    clock.advance(9.5)
    assert store.is_revoked("a")
    clock.advance(0.5)  # exactly at expires_at: the token's exp is refused from here on
    assert not store.is_revoked("a")
    assert store.revoked(["a"]) == set()


def test_revoking_with_a_past_expiry_records_nothing(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() - 1)
    assert not store.is_revoked("a")


def test_revoking_again_keeps_the_later_expiry(store: Denylist, clock: FakeClock) -> None:
    store.revoke("shorter-later", clock() + 10)
    store.revoke("shorter-later", clock() + 100)
    store.revoke("longer-first", clock() + 100)
    store.revoke("longer-first", clock() + 10)

    clock.advance(50)
    assert store.revoked(["shorter-later", "longer-first"]) == {"shorter-later", "longer-first"}
    clock.advance(50)
    assert store.revoked(["shorter-later", "longer-first"]) == set()


def test_an_expired_entry_can_be_revoked_anew(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() + 10)
    clock.advance(20)
    store.revoke("a", clock() + 10)

    assert store.is_revoked("a")
    clock.advance(10)
    assert not store.is_revoked("a")


def test_purge_expired_drops_only_expired_entries(store: Denylist, clock: FakeClock) -> None:
    store.revoke("short", clock() + 10)
    store.revoke("long", clock() + 100)
    assert store.purge_expired() == 0

    clock.advance(50)
    assert store.purge_expired() == 1
    assert store.purge_expired() == 0
    assert store.revoked(["short", "long"]) == {"long"}


@pytest.mark.parametrize("make_store", ["memory", "sqlite"], indirect=True)
def test_writes_sweep_expired_entries(store: Denylist, clock: FakeClock) -> None:
    # Redis needs no sweep: it deletes each key at its expiry itself.
    store.revoke("old", clock() + 1)
    clock.advance(2)
    for n in range(PURGE_EVERY):
        store.revoke(f"new-{n}", clock() + LIFETIME)

    assert store.purge_expired() == 0  # "old" went with the writes


class ScanningDenylist:
    """The reference: MemoryDenylist as it was, sweeping by a scan of every entry."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.entries: dict[str, float] = {}
        self.writes = 0

    def revoke(self, jti: str, expires_at: float) -> None:
        self.entries[jti] = max(expires_at, self.entries.get(jti, expires_at))
        self.count_write()

    def revoked(self, jtis: list[str]) -> set[str]:
        now = self.clock()
        return {jti for jti in jtis if self.entries.get(jti, now) > now}

    def consume(self, jti: str, expires_at: float) -> bool:
        now = self.clock()
        if self.entries.get(jti, now) > now:
            return False
        self.entries[jti] = expires_at
        self.count_write()
        return True

    def count_write(self) -> None:
        self.writes += 1
        if self.writes % PURGE_EVERY == 0:
            self.purge_expired()

    def purge_expired(self) -> int:
        now = self.clock()
        expired = [jti for jti, expires_at in self.entries.items() if expires_at <= now]
        for jti in expired:
            del self.entries[jti]
        return len(expired)


@pytest.mark.parametrize("seed", range(3))
def test_memory_sweeps_answer_as_a_full_scan_did(seed: int, clock: FakeClock) -> None:
    # Many entries, ids revoked and consumed again, times earlier and later than before
    # (NaN and infinity too), a clock that mostly moves on and sometimes back: every answer,
    # and what is kept, the same as the scan's.
    rng = random.Random(seed)
    store = MemoryDenylist(clock=clock)
    model = ScanningDenylist(clock)
    ids = [f"jti-{n}" for n in range(3000)]
    hot = ids[:5]  # revoked again and again with later times: left-behind heap items

    def expiry() -> float:
        pick = rng.random()
        if pick < 0.01:
            return math.nan
        if pick < 0.02:
            return math.inf
        return clock() + rng.choice((rng.uniform(-5, 60), float(rng.randint(0, 30))))

    def kept(entries: dict[str, float]) -> dict[str, object]:
        return {jti: "NaN" if math.isnan(when) else when for jti, when in entries.items()}

    peak = 0
    for step in range(40_000):
        action = rng.random()
        if action < 0.4:
            jti, expires_at = rng.choice(ids), expiry()
            store.revoke(jti, expires_at)
            model.revoke(jti, expires_at)
        elif action < 0.5:
            jti, expires_at = rng.choice(hot), clock() + step
            store.revoke(jti, expires_at)
            model.revoke(jti, expires_at)
        elif action < 0.8:
            jti, expires_at = rng.choice(ids), expiry()
            assert store.consume(jti, expires_at) == model.consume(jti, expires_at)
        elif action < 0.9:
            sample = rng.sample(ids, 20)
            assert store.revoked(sample) == model.revoked(sample)
        elif action < 0.902:
            assert store.purge_expired() == model.purge_expired()
        else:
            clock.advance(rng.choice((rng.uniform(0, 2), rng.uniform(-3, 0), 0.0)))
        assert len(store._entries) == len(model.entries)
        peak = max(peak, len(model.entries))
        assert len(store._expiries) <= 2 * peak + PURGE_EVERY  # left-behind items bounded
    assert kept(store._entries) == kept(model.entries)
    assert store.revoked(ids) == model.revoked(ids)


class CountedTime(float):
    """An expiry time that counts how often a sweep asks whether it has passed."""

    asked = 0

    def __le__(self, other: object) -> bool:
        CountedTime.asked += 1
        return float(self) <= other  # type: ignore[operator]


def test_memory_sweeps_read_only_the_expired_entries(clock: FakeClock) -> None:
    # 20,000 live entries and a few hundred short-lived ones: the sweeps every 256 writes
    # look at the entries that expired, not at every live one (a scan asked 20,000 times
    # per sweep).
    store = MemoryDenylist(clock=clock)
    for n in range(20_000):
        store.revoke(f"long-{n}", CountedTime(clock() + LIFETIME))
    CountedTime.asked = 0
    for n in range(4 * PURGE_EVERY):
        assert store.consume(f"short-{n}", CountedTime(clock() + 1))
        clock.advance(0.01)
    assert 0 < CountedTime.asked < 4 * PURGE_EVERY + 10
    assert len(store._entries) < 20_000 + 2 * PURGE_EVERY
    assert store.revoked(["long-0", "long-19999"]) == {"long-0", "long-19999"}


def test_consume_is_true_only_the_first_time(store: Denylist, clock: FakeClock) -> None:
    assert store.consume("a", clock() + LIFETIME)
    assert not store.consume("a", clock() + LIFETIME)
    assert not store.consume("a", clock() + 2 * LIFETIME)


def test_a_consumed_jti_is_revoked(store: Denylist, clock: FakeClock) -> None:
    store.consume("a", clock() + 10)

    assert store.is_revoked("a")
    clock.advance(10)
    assert not store.is_revoked("a")


def test_a_revoked_jti_cannot_be_consumed(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() + 10)
    assert not store.consume("a", clock() + 10)


def test_an_expired_entry_can_be_consumed_again(store: Denylist, clock: FakeClock) -> None:
    assert store.consume("a", clock() + 10)
    clock.advance(10)

    assert store.consume("a", clock() + 10)
    assert not store.consume("a", clock() + 10)


def test_consume_races_between_threads_have_one_winner(store: Denylist, clock: FakeClock) -> None:
    jtis = [f"race-{n}" for n in range(20)]
    expires_at = clock() + LIFETIME
    start = threading.Barrier(THREADS)
    won: list[list[str]] = [[] for _ in range(THREADS)]

    def consume_all(index: int) -> None:
        start.wait()
        won[index] = [jti for jti in jtis if store.consume(jti, expires_at)]

    threads = [threading.Thread(target=consume_all, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [jti for per_thread in won for jti in per_thread]
    assert sorted(winners) == sorted(jtis)  # each jti won exactly once


def test_large_batches(store: Denylist, clock: FakeClock) -> None:
    jtis = [f"jti-{n}" for n in range(2500)]
    for jti in jtis[::2]:
        store.revoke(jti, clock() + LIFETIME)

    assert store.revoked(jtis) == set(jtis[::2])
    assert store.revoked(jtis[1::2]) == set()


UNICODE_JTIS = [
    "\u00e9t\u00e9",  # NFC
    "e\u0301te\u0301",  # the same word in NFD: a different jti
    "\u65e5\u672c\u8a9e",
    "\U0001f511-key",
    "with space",
    "glob*chars?[x]\\",
    "",
]


def test_unicode_and_odd_jtis_are_kept_apart(store: Denylist, clock: FakeClock) -> None:
    for jti in UNICODE_JTIS[::2]:
        store.revoke(jti, clock() + LIFETIME)

    assert store.revoked(UNICODE_JTIS) == set(UNICODE_JTIS[::2])
    assert store.consume(UNICODE_JTIS[1], clock() + LIFETIME)
    assert not store.consume(UNICODE_JTIS[1], clock() + LIFETIME)

    clock.advance(2 * LIFETIME)
    assert store.purge_expired() == len(UNICODE_JTIS[::2]) + 1


# Only the stores with shared data: a MemoryDenylist has no second handle.
@pytest.mark.parametrize("make_store", ["sqlite", "redis"], indirect=True)
def test_a_second_handle_sees_the_same_entries(make_store: StoreFactory, clock: FakeClock) -> None:
    first = make_store()
    second = make_store()
    first.revoke("a", clock() + LIFETIME)
    assert second.is_revoked("a")
    assert not second.consume("a", clock() + LIFETIME)


def test_close_is_idempotent_and_final(store: Denylist, clock: FakeClock) -> None:
    store.revoke("a", clock() + LIFETIME)
    store.close()
    store.close()

    calls: list[Callable[[], object]] = [
        lambda: store.revoke("b", clock() + LIFETIME),
        lambda: store.is_revoked("a"),
        lambda: store.revoked(["a"]),
        lambda: store.consume("c", clock() + LIFETIME),
        store.purge_expired,
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="is closed"):
            call()


# ---------------------------------------------------------------------------------------
# SQLite


@contextmanager
def traced_statements(store: SQLiteDenylist) -> Iterator[list[str]]:
    """Every SQL statement the calling thread's connection runs while the block runs."""
    statements: list[str] = []
    connection = store._connection()
    connection.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        connection.set_trace_callback(None)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> str:
    return str(tmp_path / "denylist.db")


def test_sqlite_revoked_is_one_statement(sqlite_path: str) -> None:
    store = SQLiteDenylist(sqlite_path)
    jtis = [f"jti-{n}" for n in range(900)]
    store.revoke(jtis[0], time.time() + LIFETIME)

    with traced_statements(store) as statements:
        assert store.revoked(jtis) == {jtis[0]}
    assert len(statements) == 1  # the generation marker comes back with the same read
    assert statements[0].startswith("SELECT jti, 0 FROM denylist")
    assert "FROM meta WHERE name = 'generation'" in statements[0]
    store.close()


def test_sqlite_chunks_batches_beyond_the_parameter_limit(sqlite_path: str) -> None:
    store = SQLiteDenylist(sqlite_path)
    jtis = [f"jti-{n}" for n in range(2000)]
    for jti in jtis[-3:]:
        store.revoke(jti, time.time() + LIFETIME)

    with traced_statements(store) as statements:
        assert store.revoked(jtis) == set(jtis[-3:])
    assert len(statements) == math.ceil(len(jtis) / 900)
    store.close()


def test_sqlite_uses_wal_mode(sqlite_path: str) -> None:
    SQLiteDenylist(sqlite_path).close()
    # (A connection's own `with` commits but does not close; 3.13 warns about an unclosed one.)
    with closing(sqlite3.connect(sqlite_path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_entries_survive_reopening(sqlite_path: str) -> None:
    store = SQLiteDenylist(sqlite_path)
    store.revoke("a", time.time() + LIFETIME)
    store.close()

    reopened = SQLiteDenylist(sqlite_path)
    assert reopened.is_revoked("a")
    reopened.close()


@pytest.mark.parametrize("path", ["", ":memory:", "file:denylist?mode=memory"])
def test_sqlite_refuses_private_databases(path: str) -> None:
    with pytest.raises(ValueError, match="MemoryDenylist"):
        SQLiteDenylist(path)


def test_sqlite_close_closes_every_threads_connection(sqlite_path: str) -> None:
    store = SQLiteDenylist(sqlite_path)
    connections: list[sqlite3.Connection] = []
    used = threading.Barrier(4)
    closed = threading.Event()

    def use() -> None:
        store.is_revoked("a")
        connections.append(store._connection())
        used.wait()
        closed.wait()  # stay alive: a finished thread's connection closes on its own

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
    connections.append(store._connection())
    used.wait()
    assert len({id(connection) for connection in connections}) == 4

    store.close()
    closed.set()
    for thread in threads:
        thread.join()
    for connection in connections:
        with pytest.raises(sqlite3.ProgrammingError):
            connection.execute("SELECT 1")


# Process workers: module-level so the "spawn" start method can import them.


def _consume_in_process(
    path: str,
    jtis: list[str],
    expires_at: float,
    start: Any,
    results: Any,
) -> None:
    store = SQLiteDenylist(path, timeout=60)
    start.wait()
    won = [jti for jti in jtis if store.consume(jti, expires_at)]
    store.close()
    results.put(won)


def _revoke_in_process(path: str, jti: str, expires_at: float) -> None:
    store = SQLiteDenylist(path)
    store.revoke(jti, expires_at)
    store.close()


def _check_in_process(path: str, jti: str, results: Any) -> None:
    store = SQLiteDenylist(path)
    results.put(store.is_revoked(jti))
    store.close()


# "spawn" gives each child a fresh interpreter: no inherited connections or locks, and no
# fork of this multi-threaded process.
spawn = multiprocessing.get_context("spawn")


def _run(process: multiprocessing.process.BaseProcess) -> None:
    process.start()
    process.join(timeout=120)
    assert process.exitcode == 0


def test_sqlite_consume_races_between_processes_have_one_winner(sqlite_path: str) -> None:
    SQLiteDenylist(sqlite_path).close()  # create the schema before the race
    jtis = [f"race-{n}" for n in range(50)]
    start = spawn.Barrier(PROCESSES)
    results = spawn.Queue()
    args = (sqlite_path, jtis, time.time() + LIFETIME, start, results)
    workers = [spawn.Process(target=_consume_in_process, args=args) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    try:
        won = [results.get(timeout=120) for _ in workers]
    except queue.Empty:
        pytest.fail("a worker process did not report")
    finally:
        for worker in workers:
            worker.join(timeout=120)

    assert all(worker.exitcode == 0 for worker in workers)
    winners = [jti for per_process in won for jti in per_process]
    assert sorted(winners) == sorted(jtis)  # each jti won by exactly one process


def test_sqlite_file_is_shared_between_processes(sqlite_path: str) -> None:
    store = SQLiteDenylist(sqlite_path)
    assert not store.is_revoked("from-child")  # this connection is open before the write

    expires_at = time.time() + LIFETIME
    _run(spawn.Process(target=_revoke_in_process, args=(sqlite_path, "from-child", expires_at)))
    assert store.is_revoked("from-child")

    store.revoke("from-parent", time.time() + LIFETIME)
    results = spawn.Queue()
    _run(spawn.Process(target=_check_in_process, args=(sqlite_path, "from-parent", results)))
    assert results.get(timeout=10) is True
    store.close()


# ---------------------------------------------------------------------------------------
# Redis


@pytest.fixture
def redis_store(redis_client: Any, redis_prefix: str) -> Iterator[RedisDenylist]:
    store = RedisDenylist(redis_client, prefix=redis_prefix)
    yield store
    store.close()


@contextmanager
def sent_commands(client: Any) -> Iterator[list[str]]:
    """The name of every command ``client`` sends while the block runs."""
    commands: list[str] = []
    send = client.execute_command

    def counting(*args: Any, **options: Any) -> Any:
        commands.append(str(args[0]).upper())
        return send(*args, **options)

    client.execute_command = counting
    try:
        yield commands
    finally:
        del client.execute_command


def test_redis_revoked_is_one_mget(redis_store: RedisDenylist, redis_client: Any) -> None:
    jtis = [f"jti-{n}" for n in range(2500)]
    redis_store.revoke(jtis[7], time.time() + LIFETIME)

    with sent_commands(redis_client) as commands:
        assert redis_store.revoked(jtis) == {jtis[7]}
    assert commands == ["MGET"]


def test_redis_keys_carry_the_expiry_as_ttl(redis_store: RedisDenylist, redis_client: Any) -> None:
    expires_at = time.time() + LIFETIME + 0.25
    redis_store.revoke("a", expires_at)
    key = redis_store.key("a")

    assert redis_client.pexpiretime(key) == math.ceil(expires_at * 1000)
    assert 0 < redis_client.ttl(key) <= LIFETIME + 1
    assert float(redis_client.get(key)) == expires_at

    redis_store.revoke("a", expires_at + 60)
    assert redis_client.pexpiretime(key) == math.ceil((expires_at + 60) * 1000)
    redis_store.revoke("a", expires_at)  # never shortened
    assert redis_client.pexpiretime(key) == math.ceil((expires_at + 60) * 1000)


def test_redis_deletes_entries_at_their_expiry(
    redis_store: RedisDenylist, redis_client: Any
) -> None:
    redis_store.consume("a", time.time() + 0.2)
    key = redis_store.key("a")
    assert redis_client.exists(key) == 1

    deadline = time.monotonic() + 10
    while redis_client.exists(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert redis_client.exists(key) == 0


def test_redis_prefixes_keep_stores_apart(redis_client: Any, redis_prefix: str) -> None:
    first = RedisDenylist(redis_client, prefix=redis_prefix + "one:")
    second = RedisDenylist(redis_client, prefix=redis_prefix + "two:")
    first.revoke("a", time.time() + LIFETIME)

    assert first.is_revoked("a")
    assert not second.is_revoked("a")
    assert second.consume("a", time.time() + LIFETIME)


def test_redis_a_foreign_value_counts_as_revoked(
    redis_store: RedisDenylist, redis_client: Any
) -> None:
    redis_client.set(redis_store.key("a"), "not a timestamp")

    assert redis_store.is_revoked("a")
    assert not redis_store.consume("a", time.time() + LIFETIME)
    assert redis_store.purge_expired() == 0


def test_redis_works_with_decoded_responses(redis_url: str, redis_prefix: str) -> None:
    redis = import_redis_client()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisDenylist(client, prefix=redis_prefix)
    store.revoke("\u00e9", time.time() + LIFETIME)

    assert store.revoked(["\u00e9", "e"]) == {"\u00e9"}
    assert store.consume("e", time.time() + LIFETIME)
    store.close()
    client.close()


def test_redis_store_from_url_owns_its_client(
    redis_url: str, redis_client: Any, redis_prefix: str
) -> None:
    name = f"denylist-{uuid.uuid4().hex}"
    store = RedisDenylist(f"{redis_url}?client_name={name}", prefix=redis_prefix)
    store.revoke("a", time.time() + LIFETIME)
    assert store.is_revoked("a")

    def connected() -> int:
        return sum(client["name"] == name for client in redis_client.client_list())

    assert connected() == 1
    store.close()
    deadline = time.monotonic() + 10  # the server notices the closed socket soon after
    while connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connected() == 0


def test_redis_store_leaves_a_passed_client_open(redis_client: Any, redis_prefix: str) -> None:
    RedisDenylist(redis_client, prefix=redis_prefix).close()
    assert redis_client.ping()


def test_redis_refuses_non_finite_expiry(redis_store: RedisDenylist) -> None:
    with pytest.raises(ValueError, match="finite"):
        redis_store.revoke("a", math.inf)


def test_redis_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # makes `import redis` raise ImportError
    with pytest.raises(ImportError, match=r"turbojwt\[redis\]"):
        RedisDenylist("redis://127.0.0.1:1/0")


def _thread_connection(store: SQLiteDenylist) -> sqlite3.Connection:
    connection: sqlite3.Connection = store._local.slot.connection
    return connection


def _is_closed(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_sqlite_connection_closes_when_its_thread_ends(sqlite_path: str) -> None:
    # Python 3.13 warns (ResourceWarning) about a connection collected while open: each
    # thread's connection must be closed when the thread ends, not left to the collector.
    store = SQLiteDenylist(sqlite_path)
    opened: list[sqlite3.Connection] = []

    def work() -> None:
        store.revoke(f"jti-{threading.get_ident()}", time.time() + LIFETIME)
        opened.append(_thread_connection(store))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 4
    # The test still holds each connection, so only an explicit close can have closed it.
    assert all(_is_closed(connection) for connection in opened)
    assert not _is_closed(_thread_connection(store))  # the main thread's stays open
    store.close()
    assert _is_closed(opened[0])


def test_sqlite_store_collected_without_close_closes_its_connections(sqlite_path: str) -> None:
    import gc
    import warnings

    with warnings.catch_warnings():
        # Earlier tests' garbage is not this test's business.
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    store = SQLiteDenylist(sqlite_path)
    store.revoke("jti", time.time() + LIFETIME)
    connection = _thread_connection(store)
    del store
    gc.collect()
    assert _is_closed(connection)


def test_sqlite_close_reaches_connections_of_live_threads(sqlite_path: str) -> None:
    store = SQLiteDenylist(sqlite_path)
    ready, release = threading.Event(), threading.Event()
    opened: list[sqlite3.Connection] = []

    def work() -> None:
        store.revoke("jti", time.time() + LIFETIME)
        opened.append(_thread_connection(store))
        ready.set()
        release.wait(timeout=30)

    thread = threading.Thread(target=work)
    thread.start()
    assert ready.wait(timeout=30)
    store.close()
    assert _is_closed(opened[0]) and _is_closed(_thread_connection(store))
    release.set()
    thread.join()
