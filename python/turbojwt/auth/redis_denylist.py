"""A denylist in Redis, shared by every process and host that talks to the same server.

Needs the optional ``redis`` package: ``pip install 'turbojwt[redis]'``.

Each entry is one key, ``prefix + jti``, whose value is the entry's ``expires_at`` and
which Redis itself deletes at that moment (``PEXPIREAT``), so the store never grows past
the tokens still alive. Writes run as Lua scripts, which Redis executes atomically: that
makes ``consume`` race-free across hosts and lets ``revoke`` keep the later expiry time.

Failures: a client built from a URL waits at most ``timeout`` seconds to connect and for
each reply (and retries only a refused or reset connection, once, at once), so a paused
or unreachable server holds a call for about ``timeout`` seconds; the call then raises
``StoreUnavailableError``, and a circuit breaker answers the following calls at once until
its next probe (``probe_interval``). Each lookup also reads the store's generation marker
(one ``MGET``), so a server that comes back empty is noticed by the first lookup after it;
see ``turbojwt.auth.resilience`` for what happens then.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Iterable, TypeVar

from .exceptions import StoreUnavailableError
from .resilience import CircuitBreaker, Generation, LossPolicy, RevocationLoss

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

# KEYS[1]: the marker. ARGV[1]: the value it must hold, ARGV[2]: the new value ("" for
# "must be absent"). Compare-and-set, so racing processes agree on one marker.
_MARKER_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if (current or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return current
"""

T = TypeVar("T")


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


def _server_of(client: Any) -> str:
    """Where ``client`` connects, for log lines (never its password)."""
    try:
        options = client.connection_pool.connection_kwargs
    except AttributeError:
        return type(client).__name__
    if options.get("path"):
        return f"unix://{options['path']}"
    return f"{options.get('host', '?')}:{options.get('port', '?')}/{options.get('db', 0)}"


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


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
        timeout: float = 1.0,
        probe_interval: float = 1.0,
        on_revocations_lost: LossPolicy = "refuse",
        on_loss: Callable[[RevocationLoss], object] | None = None,
    ) -> None:
        """``timeout`` applies to a client built from a URL; a client passed in keeps its
        own settings (give it ``socket_timeout`` and ``socket_connect_timeout``)."""
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        redis = _import_redis()
        if isinstance(client_or_url, str):
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._client: Any = redis.Redis.from_url(
                client_or_url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # One immediate retry for a connection the server closed or refused (a
                # pooled connection after a restart); none after a timeout, so a call
                # waits for one timeout at most.
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            )
            self._owns_client = True
        else:
            self._client = client_or_url
            self._owns_client = False
        self._prefix = prefix
        self._clock = clock
        self._timeout = timeout
        self._generation_key = prefix + "#generation"
        self._write_script: Any = self._client.register_script(_WRITE_SCRIPT)
        self._purge_script: Any = self._client.register_script(_PURGE_SCRIPT)
        self._marker_script: Any = self._client.register_script(_MARKER_SCRIPT)
        self._close_lock = threading.Lock()
        self._closed = False
        # Errors that mean the server cannot answer now, as opposed to a misuse.
        self._outages: tuple[type[BaseException], ...] = (
            redis.ConnectionError,
            redis.TimeoutError,
            redis.exceptions.ReadOnlyError,
            redis.exceptions.MasterDownError,
            redis.exceptions.TryAgainError,
            OSError,
        )
        name = f"{type(self).__name__}({_server_of(self._client)}, prefix={prefix!r})"
        self._generation = Generation(name, on_revocations_lost, on_loss, clock)
        self._breaker = CircuitBreaker(name, probe_interval=probe_interval)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r}, prefix={self._prefix!r})"

    @property
    def client(self) -> Any:
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def generation_key(self) -> str:
        """The key holding the store's generation marker (inside ``prefix``)."""
        return self._generation_key

    @property
    def revocations_lost_at(self) -> float | None:
        """Tokens issued before this moment are refused (policy ``"refuse"``); else None."""
        return self._generation.cutoff

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
        return self._guarded(lambda: self._lookup(unique))

    def _lookup(self, unique: list[str]) -> set[str]:
        # The generation marker comes back in the same MGET as the entries.
        keys = [self._generation_key]
        keys.extend(self._prefix + jti for jti in unique)
        marker, *values = self._client.mget(keys)
        if _text(marker) != self._generation.value:
            self._sync_generation(marker)
        now = self._clock()
        return {
            jti for jti, value in zip(unique, values) if value is not None and _is_live(value, now)
        }

    def _sync_generation(self, marker: Any) -> None:
        """Adopt the server's generation marker, writing one when it is missing or stale."""
        generation = self._generation
        value = _text(marker)
        for _ in range(5):
            if value is not None and not generation.observe(value):
                return
            value = _text(
                self._marker_script(
                    keys=[self._generation_key], args=[value or "", generation.new_value()]
                )
            )
        raise StoreUnavailableError(f"{self!r}: the generation marker keeps changing")

    def _guarded(self, call: Callable[[], T]) -> T:
        breaker = self._breaker
        breaker.before()
        try:
            result = call()
        except self._outages as error:
            raise breaker.failed(error) from error
        except BaseException:
            breaker.released()
            raise
        breaker.succeeded()
        return result

    def consume(self, jti: str, expires_at: float) -> bool:
        return self._write(jti, expires_at, "consume")

    def purge_expired(self) -> int:
        """Delete entries expired by this store's clock; usually 0, as Redis deletes them."""
        self._check_open()
        return self._guarded(self._purge)

    def _purge(self) -> int:
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

        def write() -> Any:
            if self._generation.value is None:
                # First use: adopt (or write) the generation marker before any entry.
                self._sync_generation(self._client.get(self._generation_key))
            return self._write_script(
                keys=[self._prefix + jti],
                args=[repr(expires_at), math.ceil(expires_at * 1000), repr(self._clock()), mode],
            )

        return int(self._guarded(write)) == 1

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
