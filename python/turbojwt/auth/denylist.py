"""Revocation stores: which token ids (``jti``) are refused until their tokens expire.

An entry lives until ``expires_at``, the moment its token would be refused by ``exp``
anyway; after that it is treated as absent and dropped opportunistically. Revoking an id
again keeps the later of the two expiry times, so a revocation is never shortened.

``consume`` is the first-use marker behind refresh-token rotation: it atomically records
an id and reports whether it was absent before, so of several requests racing with the
same refresh token exactly one wins. A consumed id is revoked like any other.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from typing import Callable, Iterable, Protocol, runtime_checkable

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
        self._lock = threading.Lock()
        self._writes = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(entries={len(self._entries)})"

    def revoke(self, jti: str, expires_at: float) -> None:
        with self._lock:
            self._check_open()
            self._entries[jti] = max(expires_at, self._entries.get(jti, expires_at))
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

    def _check_open(self) -> None:
        if self._closed:
            raise _closed_error(self)

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self._purge()

    def _purge(self) -> int:
        now = self._clock()
        expired = [jti for jti, expires_at in self._entries.items() if expires_at <= now]
        for jti in expired:
            del self._entries[jti]
        return len(expired)


class _ThreadConnection:
    """One thread's connection, tracked weakly so ``close`` reaches every open one.

    (``sqlite3.Connection`` itself cannot be weakly referenced.) When its thread ends,
    the thread-local slot drops the last reference and the connection closes with it.
    """

    __slots__ = ("__weakref__", "connection", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()


class SQLiteDenylist:
    """A denylist in an SQLite file, shared safely by the threads and processes of one host.

    The database runs in WAL mode, so readers do not block the writer, and every statement
    commits on its own (writers queue on the file lock for up to ``timeout`` seconds).
    Each thread gets its own connection; a forked child opens fresh ones rather than
    reusing its parent's. The file must live on a local filesystem: SQLite's locking is
    unreliable over network filesystems.
    """

    blocking = True  # file I/O, and a busy timeout under write contention

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = time.time,
        timeout: float = 5.0,
    ) -> None:
        path = os.fspath(path)
        if path in ("", ":memory:") or path.startswith("file:"):
            # Each thread's connection would open a separate, private database.
            raise ValueError(
                f"SQLiteDenylist needs a database file path, not {path!r}; "
                "use MemoryDenylist for an in-memory denylist"
            )
        self._path = path
        self._clock = clock
        self._timeout = timeout
        self._local = threading.local()
        self._connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._writes = 0
        self._closed = False
        self._create_schema()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

    @property
    def path(self) -> str:
        return self._path

    def revoke(self, jti: str, expires_at: float) -> None:
        self._connection().execute(
            "INSERT INTO denylist (jti, expires_at) VALUES (?, ?) "
            "ON CONFLICT (jti) DO UPDATE "
            "SET expires_at = max(denylist.expires_at, excluded.expires_at)",
            (jti, expires_at),
        )
        self._count_write()

    def is_revoked(self, jti: str) -> bool:
        cursor = self._connection().execute(
            "SELECT 1 FROM denylist WHERE jti = ? AND expires_at > ?", (jti, self._clock())
        )
        return cursor.fetchone() is not None

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        unique = list(dict.fromkeys(jtis))
        if not unique:
            return set()
        connection = self._connection()
        now = self._clock()
        found: set[str] = set()
        for start in range(0, len(unique), _SQLITE_MAX_PARAMS):
            chunk = unique[start : start + _SQLITE_MAX_PARAMS]
            placeholders = ",".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT jti FROM denylist WHERE expires_at > ? AND jti IN ({placeholders})",
                (now, *chunk),
            )
            found.update(jti for (jti,) in rows)
        return found

    def consume(self, jti: str, expires_at: float) -> bool:
        # One statement, so the check and the write are atomic across processes: it
        # inserts, or takes over an expired row, and changes nothing for a live one.
        cursor = self._connection().execute(
            "INSERT INTO denylist (jti, expires_at) VALUES (?, ?) "
            "ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE denylist.expires_at <= ?",
            (jti, expires_at, self._clock()),
        )
        consumed = cursor.rowcount == 1
        if consumed:
            self._count_write()
        return consumed

    def purge_expired(self) -> int:
        cursor = self._connection().execute(
            "DELETE FROM denylist WHERE expires_at <= ?", (self._clock(),)
        )
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._closed = True
            open_connections = list(self._connections)
            self._connections = weakref.WeakSet()
        for slot in open_connections:
            if slot.pid == os.getpid():
                slot.connection.close()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise _closed_error(self)
        slot: _ThreadConnection | None = getattr(self._local, "slot", None)
        if slot is None or slot.pid != os.getpid():
            slot = _ThreadConnection(self._open())
            self._local.slot = slot
            with self._lock:
                self._connections.add(slot)
        return slot.connection

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            timeout=self._timeout,
            # Autocommit: each statement is its own transaction, so no lock is held
            # between calls. close() may run on another thread than the owner.
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        return connection

    def _create_schema(self) -> None:
        connection = self._connection()
        # Switching to WAL is persistent and a no-op once the file is in WAL mode.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS denylist (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL)"
        )
        connection.execute(
            "CREATE INDEX IF NOT EXISTS denylist_expires_at ON denylist (expires_at)"
        )

    def _count_write(self) -> None:
        with self._lock:
            self._writes += 1
            due = self._writes % _PURGE_EVERY == 0
        if due:
            self.purge_expired()
