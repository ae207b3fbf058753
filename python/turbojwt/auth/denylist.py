"""Revocation stores: which token ids (``jti``) are refused until their tokens expire.

An entry lives until ``expires_at``, the moment its token would be refused by ``exp``
anyway; after that it is treated as absent and dropped opportunistically. Revoking an id
again keeps the later of the two expiry times, so a revocation is never shortened.

``consume`` is the first-use marker behind refresh-token rotation: it atomically records
an id and reports whether it was absent before, so of several requests racing with the
same refresh token exactly one wins. A consumed id is revoked like any other.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import sqlite3
import threading
import time
import weakref
from typing import Callable, Iterable, Protocol, TypeVar, runtime_checkable

from .exceptions import StoreUnavailableError
from .resilience import CircuitBreaker, Generation, LossPolicy, RevocationLoss

__all__ = ["Denylist", "MemoryDenylist", "SQLiteDenylist"]

Clock = Callable[[], float]

# Expired entries are swept after this many writes, so a store that is only ever written
# to (every logout revokes) stays bounded without a background task.
_PURGE_EVERY = 256

# Below SQLite's historical limit of 999 bound parameters per statement (the limit was
# raised to 32766 only in 3.32), leaving room for the clock parameter.
_SQLITE_MAX_PARAMS = 900


@runtime_checkable
class Denylist(Protocol):
    """A store of revoked token ids, each kept until its token would have expired.

    A store may also say whether its calls wait on I/O with a ``blocking`` class attribute;
    ``turbojwt.auth.fastapi.BearerAuth`` then verifies on the event loop or in the thread
    pool accordingly (a store without it counts as blocking).

    A store that can lose its data (``SQLiteDenylist``, ``RedisDenylist``) also has a
    ``revocations_lost_at`` attribute: ``TokenIssuer`` refuses tokens issued before it
    (``RevocationsLostError``), see ``turbojwt.auth.resilience``. Its calls raise
    ``StoreUnavailableError`` when the store cannot answer.
    """

    def revoke(self, jti: str, expires_at: float) -> None:
        """Refuse ``jti`` until ``expires_at`` (epoch seconds). Idempotent; keeps the later time."""
        ...

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked now."""
        ...

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        """The subset of ``jtis`` that is revoked, in one round trip to the store."""
        ...

    def consume(self, jti: str, expires_at: float) -> bool:
        """Atomically mark ``jti`` used: True the first time, False while it is recorded."""
        ...

    def purge_expired(self) -> int:
        """Drop entries whose ``expires_at`` has passed; return how many were dropped."""
        ...

    def close(self) -> None:
        """Release the store's resources. Idempotent; the store is unusable afterwards."""
        ...


def _closed_error(store: object) -> RuntimeError:
    return RuntimeError(f"{type(store).__name__} is closed")


class MemoryDenylist:
    """A denylist in this process's memory: for tests and single-process servers.

    Entries are lost when the process exits, and other processes do not see them.
    """

    blocking = False  # a dict and a lock: never waits on I/O

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._entries: dict[str, float] = {}
        # Every entry's (expires_at, order, jti), earliest first, so a sweep pops just the
        # expired ones instead of scanning them all. An entry whose time changed (a later
        # revoke, a consume over an expired entry) leaves its old item behind; the sweep
        # drops such an item when it comes up, as the entry's time no longer matches it.
        # (NaN, which never expires, has no item.) The order number breaks ties between
        # equal times without comparing the ids.
        self._expiries: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._writes = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(entries={len(self._entries)})"

    def revoke(self, jti: str, expires_at: float) -> None:
        with self._lock:
            self._check_open()
            entries = self._entries
            previous = entries.get(jti)
            if previous is None:
                entries[jti] = expires_at
                self._schedule(jti, expires_at)
            else:
                later = max(expires_at, previous)
                entries[jti] = later
                if later != previous:
                    self._schedule(jti, later)
            self._count_write()

    def is_revoked(self, jti: str) -> bool:
        return bool(self.revoked((jti,)))

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        with self._lock:
            self._check_open()
            now = self._clock()
            entries = self._entries
            return {jti for jti in jtis if entries.get(jti, now) > now}

    def consume(self, jti: str, expires_at: float) -> bool:
        with self._lock:
            self._check_open()
            now = self._clock()
            if self._entries.get(jti, now) > now:
                return False
            self._entries[jti] = expires_at
            self._schedule(jti, expires_at)
            self._count_write()
            return True

    def purge_expired(self) -> int:
        with self._lock:
            self._check_open()
            return self._purge()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._entries.clear()
            self._expiries.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise _closed_error(self)

    def _schedule(self, jti: str, expires_at: float) -> None:
        if expires_at == expires_at:  # not NaN: NaN compares false, it never expires
            heapq.heappush(self._expiries, (expires_at, next(self._order), jti))
            if len(self._expiries) > 2 * len(self._entries) + _PURGE_EVERY:
                # Mostly left-behind items (one id revoked again and again with later
                # times): rebuilt from the entries, after as many pushes as it has items.
                self._expiries = [
                    (when, next(self._order), key)
                    for key, when in self._entries.items()
                    if when == when
                ]
                heapq.heapify(self._expiries)

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self._purge()

    def _purge(self) -> int:
        """Drop every entry expired now: O(log n) per entry dropped, not a scan of all."""
        now = self._clock()
        expiries = self._expiries
        entries = self._entries
        dropped = 0
        while expiries and expiries[0][0] <= now:
            expires_at, _, jti = heapq.heappop(expiries)
            if entries.get(jti) == expires_at:
                del entries[jti]
                dropped += 1
        return dropped


# Connections a forked child inherited from its parent: never closed there (SQLite's state
# does not survive fork, and closing could disturb the parent's), and kept referenced so
# that they are not collected while open either.
_INHERITED: list[sqlite3.Connection] = []


def _close_connection(connection: sqlite3.Connection, pid: int) -> None:
    if os.getpid() != pid:
        _INHERITED.append(connection)
        return
    with contextlib.suppress(sqlite3.Error):
        connection.close()


class _ThreadConnection:
    """One thread's connection, tracked weakly so ``close`` reaches every open one.

    (``sqlite3.Connection`` itself cannot be weakly referenced.) The connection is always
    closed explicitly, never left to the garbage collector, which Python 3.13 reports with a
    ``ResourceWarning``: by ``close()`` (the slot's or the store's), or by a finalizer when
    the slot goes, that is when its thread ends (its thread-local storage is cleared then),
    when the store is collected, or at interpreter exit.
    ``epoch`` says which file it was opened on: a replaced file bumps the store's epoch.
    """

    __slots__ = ("__weakref__", "close", "connection", "epoch", "pid")

    def __init__(self, connection: sqlite3.Connection, epoch: int) -> None:
        self.connection = connection
        self.pid = os.getpid()
        self.epoch = epoch
        # Holds the connection, not the slot, so it runs once the slot is gone; at most once.
        self.close = weakref.finalize(self, _close_connection, connection, self.pid)


# SQLite errors that say the file cannot be used now (locked past the busy timeout,
# read-only, missing directory, corrupt, disk I/O), as opposed to a misuse of the API.
_NOT_OUTAGES = (
    sqlite3.ProgrammingError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    sqlite3.NotSupportedError,
)

_GENERATION_QUERY = "SELECT value FROM meta WHERE name = 'generation'"

T = TypeVar("T")


class SQLiteDenylist:
    """A denylist in an SQLite file, shared safely by the threads and processes of one host.

    The database runs in WAL mode, so readers do not block the writer, and every statement
    commits on its own (writers queue on the file lock for up to ``timeout`` seconds).
    Each thread gets its own connection; a forked child opens fresh ones rather than
    reusing its parent's. The file must live on a local filesystem: SQLite's locking is
    unreliable over network filesystems.

    Failures: a call that cannot use the file (locked past ``timeout``, read-only, its
    directory gone, corrupt) raises ``StoreUnavailableError``, and for ``probe_interval``
    seconds later calls of the same kind (reads, or writes) fail at once, then one probes
    the file again (see ``turbojwt.auth.resilience``). A file replaced or deleted under the
    store is noticed at the next call (its inode changed) and reopened; the generation
    marker then tells whether revocations were lost, and ``on_revocations_lost``
    (``"refuse"`` or ``"alert"``) and ``on_loss`` say what happens.
    """

    blocking = True  # file I/O, and a busy timeout under write contention

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = time.time,
        timeout: float = 1.0,
        probe_interval: float = 1.0,
        on_revocations_lost: LossPolicy = "refuse",
        on_loss: Callable[[RevocationLoss], object] | None = None,
    ) -> None:
        path = os.fspath(path)
        if path in ("", ":memory:") or path.startswith("file:"):
            # Each thread's connection would open a separate, private database.
            raise ValueError(
                f"SQLiteDenylist needs a database file path, not {path!r}; "
                "use MemoryDenylist for an in-memory denylist"
            )
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self._path = path
        self._clock = clock
        self._timeout = timeout
        self._local = threading.local()
        self._connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._writes = 0
        self._closed = False
        self._epoch = 0
        self._file_id: tuple[int, int] | None = None
        name = repr(self)
        self._generation = Generation(name, on_revocations_lost, on_loss, clock)
        self._read_breaker = CircuitBreaker(f"{name} (reads)", probe_interval=probe_interval)
        self._write_breaker = CircuitBreaker(f"{name} (writes)", probe_interval=probe_interval)
        with contextlib.suppress(StoreUnavailableError):
            # Create the file and schema now if possible; an unusable file is not fatal
            # here (it is logged): calls raise StoreUnavailableError until it works.
            self._guarded(self._write_breaker, self._connection)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

    @property
    def path(self) -> str:
        return self._path

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def revocations_lost_at(self) -> float | None:
        """Tokens issued before this moment are refused (policy ``"refuse"``); else None."""
        return self._generation.cutoff

    def revoke(self, jti: str, expires_at: float) -> None:
        def write() -> None:
            self._connection().execute(
                "INSERT INTO denylist (jti, expires_at) VALUES (?, ?) "
                "ON CONFLICT (jti) DO UPDATE "
                "SET expires_at = max(denylist.expires_at, excluded.expires_at)",
                (jti, expires_at),
            )

        self._guarded(self._write_breaker, write)
        self._count_write()

    def is_revoked(self, jti: str) -> bool:
        return bool(self.revoked((jti,)))

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        unique = list(dict.fromkeys(jtis))
        if not unique:
            return set()
        return self._guarded(self._read_breaker, lambda: self._lookup(unique))

    def _lookup(self, unique: list[str]) -> set[str]:
        connection = self._connection()
        now = self._clock()
        found: set[str] = set()
        marker: str | None = None
        for start in range(0, len(unique), _SQLITE_MAX_PARAMS):
            chunk = unique[start : start + _SQLITE_MAX_PARAMS]
            placeholders = ",".join("?" * len(chunk))
            sql = f"SELECT jti, 0 FROM denylist WHERE expires_at > ? AND jti IN ({placeholders})"
            if start == 0:
                # The generation marker comes back with the first answer, in the same read.
                sql += " UNION ALL SELECT value, 1 FROM meta WHERE name = 'generation'"
            for value, is_marker in connection.execute(sql, (now, *chunk)):
                if is_marker:
                    marker = value
                else:
                    found.add(value)
        if marker != self._generation.value:
            self._sync_generation(connection, marker)
        return found

    def consume(self, jti: str, expires_at: float) -> bool:
        # One statement, so the check and the write are atomic across processes: it
        # inserts, or takes over an expired row, and changes nothing for a live one.
        def write() -> bool:
            cursor = self._connection().execute(
                "INSERT INTO denylist (jti, expires_at) VALUES (?, ?) "
                "ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at "
                "WHERE denylist.expires_at <= ?",
                (jti, expires_at, self._clock()),
            )
            return cursor.rowcount == 1

        consumed = self._guarded(self._write_breaker, write)
        if consumed:
            self._count_write()
        return consumed

    def purge_expired(self) -> int:
        def write() -> int:
            cursor = self._connection().execute(
                "DELETE FROM denylist WHERE expires_at <= ?", (self._clock(),)
            )
            return cursor.rowcount

        return self._guarded(self._write_breaker, write)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            open_connections = list(self._connections)
            self._connections = weakref.WeakSet()
        for slot in open_connections:
            slot.close()

    def _guarded(self, breaker: CircuitBreaker, call: Callable[[], T]) -> T:
        if self._closed:
            raise _closed_error(self)
        breaker.before()
        try:
            result = call()
        except sqlite3.DatabaseError as error:
            if isinstance(error, _NOT_OUTAGES):
                breaker.released()
                raise
            self._drop_connection()  # the next call (the probe) starts afresh
            raise breaker.failed(error) from error
        except BaseException:
            breaker.released()
            raise
        breaker.succeeded()
        return result

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self._path)
        except OSError:
            return None
        return (status.st_dev, status.st_ino)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise _closed_error(self)
        identity = self._file_identity()
        if identity != self._file_id and self._file_id is not None:
            # Replaced, moved or deleted: connections still open read the old file.
            with self._lock:
                if identity != self._file_id:
                    self._file_id = None
                    self._epoch += 1
        slot: _ThreadConnection | None = getattr(self._local, "slot", None)
        if slot is None or slot.pid != os.getpid() or slot.epoch != self._epoch:
            if slot is not None:
                slot.close()
                self._local.slot = None
            epoch = self._epoch
            connection = self._open()
            slot = _ThreadConnection(connection, epoch)
            self._local.slot = slot
            with self._lock:
                self._connections.add(slot)
                if self._file_id is None:
                    self._file_id = self._file_identity()
        return slot.connection

    def _drop_connection(self) -> None:
        slot: _ThreadConnection | None = getattr(self._local, "slot", None)
        if slot is not None:
            self._local.slot = None
            slot.close()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            timeout=self._timeout,
            # Autocommit: each statement is its own transaction, so no lock is held
            # between calls. close() may run on another thread than the owner.
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            self._create_schema(connection)
            row = connection.execute(_GENERATION_QUERY).fetchone()
            self._sync_generation(connection, None if row is None else row[0])
        except BaseException:
            connection.close()
            raise
        return connection

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        # Each statement is a no-op once done, and cheap: run for every new connection,
        # so a file recreated under the store gets its tables back.
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            # Switching to WAL is persistent.
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS denylist (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL)"
        )
        connection.execute(
            "CREATE INDEX IF NOT EXISTS denylist_expires_at ON denylist (expires_at)"
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def _sync_generation(self, connection: sqlite3.Connection, value: str | None) -> None:
        """Adopt the file's generation marker, writing one when it is missing or stale."""
        generation = self._generation
        for _ in range(5):
            if value is None:
                connection.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('generation', ?)",
                    (generation.new_value(),),
                )
            elif generation.observe(value):
                connection.execute(
                    "UPDATE meta SET value = ? WHERE name = 'generation' AND value = ?",
                    (generation.new_value(), value),
                )
            else:
                return
            row = connection.execute(_GENERATION_QUERY).fetchone()
            value = None if row is None else row[0]
        raise sqlite3.OperationalError("the generation marker keeps changing")

    def _count_write(self) -> None:
        with self._lock:
            self._writes += 1
            due = self._writes % _PURGE_EVERY == 0
        if due:
            with contextlib.suppress(StoreUnavailableError):
                self.purge_expired()
