"""A denylist in Redis, shared by every process and host that talks to the same server.

Needs the optional ``redis`` package: ``pip install 'turbojwt[redis]'``.

Each entry is one key, ``prefix + jti``, whose value is the entry's ``expires_at`` and
which Redis itself deletes at that moment (``PEXPIREAT``), so the store never grows past
the tokens still alive. Writes run as Lua scripts, which Redis executes atomically: that
makes ``consume`` race-free across hosts and lets ``revoke`` keep the later expiry time.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Iterable

__all__ = ["RedisDenylist"]

# KEYS[1]: the entry. ARGV: expires_at (epoch seconds), the same in whole milliseconds,
# the caller's clock, and "revoke" or "consume". Returns 1 when no live entry existed.
# A value that is not a number (a key written by something else) counts as live forever,
# so a foreign key under the prefix can only make the store stricter.
_WRITE_SCRIPT = """
local now = tonumber(ARGV[3])
local raw = redis.call('GET', KEYS[1])
local current = tonumber(raw or '')
local live = raw and (current == nil or current > now)
local expires_at = tonumber(ARGV[1])
local write = expires_at > now and (not live or (ARGV[4] == 'revoke' and current ~= nil
  and expires_at > current))
if write then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
if live then return 0 end
return 1
"""

# KEYS: candidate entries. ARGV[1]: the caller's clock. Deletes those expired by that
# clock, checking each value inside the script so a concurrent revoke is never undone.
_PURGE_SCRIPT = """
local now = tonumber(ARGV[1])
local purged = 0
for _, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '')
  if current ~= nil and current <= now then
    redis.call('DEL', key)
    purged = purged + 1
  end
end
return purged
"""

_PURGE_BATCH = 500


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ImportError(
            "RedisDenylist needs the redis package: pip install 'turbojwt[redis]'"
        ) from exc
    return redis


def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters, so SCAN matches ``text`` literally."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def _is_live(value: bytes | str, now: float) -> bool:
    try:
        return float(value) > now
    except ValueError:
        return True  # not written by this store: fail closed, as the write script does


class RedisDenylist:
    """A denylist in Redis: ``client_or_url`` is a ``redis.Redis`` client or a redis:// URL.

    A client built from a URL belongs to the store and is closed by ``close``; a client
    passed in stays open, as its owner may share it. Expiry follows the caller's clock
    for reads and Redis's clock for deleting keys, so the hosts' clocks should agree.
    """

    blocking = True  # a network round trip

    def __init__(
        self,
        client_or_url: Any,
        *,
        prefix: str = "turbojwt:deny:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(client_or_url, str):
            self._client: Any = _import_redis().Redis.from_url(client_or_url)
            self._owns_client = True
        else:
            self._client = client_or_url
            self._owns_client = False
        self._prefix = prefix
        self._clock = clock
        self._write_script: Any = self._client.register_script(_WRITE_SCRIPT)
        self._purge_script: Any = self._client.register_script(_PURGE_SCRIPT)
        self._close_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r}, prefix={self._prefix!r})"

    @property
    def client(self) -> Any:
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    def key(self, jti: str) -> str:
        """The Redis key holding ``jti``'s entry."""
        return self._prefix + jti

    def revoke(self, jti: str, expires_at: float) -> None:
        self._write(jti, expires_at, "revoke")

    def is_revoked(self, jti: str) -> bool:
        return bool(self.revoked((jti,)))

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        self._check_open()
        unique = list(dict.fromkeys(jtis))
        if not unique:
            return set()
        values = self._client.mget([self._prefix + jti for jti in unique])
        now = self._clock()
        return {
            jti for jti, value in zip(unique, values) if value is not None and _is_live(value, now)
        }

    def consume(self, jti: str, expires_at: float) -> bool:
        return self._write(jti, expires_at, "consume")

    def purge_expired(self) -> int:
        """Delete entries expired by this store's clock; usually 0, as Redis deletes them."""
        self._check_open()
        pattern = _glob_escape(self._prefix) + "*"
        purged = 0
        batch: list[Any] = []
        for key in self._client.scan_iter(match=pattern, count=_PURGE_BATCH):
            batch.append(key)
            if len(batch) == _PURGE_BATCH:
                purged += self._purge_script(keys=batch, args=[repr(self._clock())])
                batch = []
        if batch:
            purged += self._purge_script(keys=batch, args=[repr(self._clock())])
        return purged

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._owns_client:
            self._client.close()

    def _write(self, jti: str, expires_at: float, mode: str) -> bool:
        self._check_open()
        expires_at = float(expires_at)
        if not math.isfinite(expires_at):
            raise ValueError(f"expires_at must be a finite timestamp, not {expires_at!r}")
        result = self._write_script(
            keys=[self._prefix + jti],
            args=[repr(expires_at), math.ceil(expires_at * 1000), repr(self._clock()), mode],
        )
        return int(result) == 1

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
