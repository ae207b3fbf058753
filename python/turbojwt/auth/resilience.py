"""What a revocation store does when its server or file fails, and when it loses data.

Two pieces, shared by ``SQLiteDenylist`` and ``RedisDenylist``:

- ``CircuitBreaker``: after a failed call the store stops calling its server for
  ``probe_interval`` seconds and answers ``StoreUnavailableError`` at once; then one call
  goes through as a probe. Its success closes the breaker again. The outage and the
  recovery are each logged once, on the ``turbojwt.auth.store`` logger.
- ``Generation``: each store keeps a *generation marker* (a Redis key, a row of the SQLite
  file), written when the store is first used and read back with every lookup. A marker
  that disappears or changes means the store lost its data, and with it revocations
  (Redis restarted without persistence, ``FLUSHALL``, a failover to a replica that had not
  caught up, an SQLite file replaced). The first process to notice writes a new marker
  flagged *lost*, with the time; every process then applies the store's policy:

  - ``"refuse"`` (the default): tokens issued (``iat``) before that time are refused
    with ``RevocationsLostError``, so every user logs in again once;
  - ``"alert"``: tokens are still accepted; only the log line and ``on_loss`` say so.

  Either way the loss is logged (a warning) and ``on_loss`` (a callable taking a
  ``RevocationLoss``) is called once per process.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable, Literal, Optional

from .exceptions import StoreUnavailableError

__all__ = ["CircuitBreaker", "Generation", "LossPolicy", "RevocationLoss", "logger"]

logger = logging.getLogger("turbojwt.auth.store")

LossPolicy = Literal["refuse", "alert"]
LOSS_POLICIES: tuple[str, ...] = ("refuse", "alert")


@dataclass(frozen=True)
class RevocationLoss:
    """A store's generation marker vanished or changed: revocations may be lost."""

    store: str
    #: The marker this process knew, and the one the store holds now.
    previous: Optional[str]
    current: str
    #: When the loss was recorded in the store (epoch seconds); under the ``"refuse"``
    #: policy, tokens issued before this moment are refused.
    lost_at: float
    policy: str


class CircuitBreaker:
    """Fails fast while a store is down, and lets one probe through every interval."""

    def __init__(
        self,
        name: str,
        *,
        probe_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not probe_interval > 0:
            raise ValueError("probe_interval must be positive")
        self.name = name
        self.probe_interval = probe_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: Optional[float] = None  # None: closed
        self._down_since = 0.0
        self._probing = False
        self._last_error = ""

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def before(self) -> None:
        """Let a call through, or raise ``StoreUnavailableError`` while the store is down."""
        if self._open_until is None:  # the fast path, without the lock
            return
        with self._lock:
            if self._open_until is None:
                return
            now = self._clock()
            if now >= self._open_until and not self._probing:
                self._probing = True  # this call is the probe
                return
            wait = max(self._open_until - now, 0.0) or self.probe_interval
            raise StoreUnavailableError(
                f"{self.name} is unavailable ({self._last_error})", retry_after=wait
            )

    def succeeded(self) -> None:
        if self._open_until is None:
            return
        with self._lock:
            if self._open_until is None:
                return
            self._open_until = None
            self._probing = False
            down_for = self._clock() - self._down_since
        logger.warning("%s recovered after %.1f s", self.name, down_for)

    def failed(self, error: BaseException) -> StoreUnavailableError:
        """Record a failed call; the exception to raise in its place."""
        description = f"{type(error).__name__}: {error}"
        with self._lock:
            now = self._clock()
            opening = self._open_until is None
            if opening:
                self._down_since = now
            self._open_until = now + self.probe_interval
            self._probing = False
            self._last_error = description
        if opening:
            logger.error(
                "%s is unavailable (%s); failing fast, probing every %g s",
                self.name,
                description,
                self.probe_interval,
            )
        return StoreUnavailableError(
            f"{self.name} is unavailable ({description})", retry_after=self.probe_interval
        )

    def released(self) -> None:
        """A call ended with an error that says nothing about the store's health."""
        if self._probing:
            with self._lock:
                self._probing = False


def _parse(value: str) -> Optional[tuple[float, bool]]:
    parts = value.split()
    if len(parts) != 3 or parts[2] not in ("0", "1"):
        return None
    try:
        created = float(parts[1])
    except ValueError:
        return None
    if not math.isfinite(created):
        return None
    return created, parts[2] == "1"


class Generation:
    """The generation marker of one store, as this process last saw it.

    A marker is ``"<random id> <created at> <lost: 0 or 1>"``. ``observe`` takes each value
    read from the store and says whether the store should replace it with
    ``new_value(lost=True)`` (compare-and-set on the value read): that happens when the
    marker changed under this process to one not flagged lost, for instance written by a
    process that started after the loss and could not know of it.
    """

    def __init__(
        self,
        store: str,
        policy: str = "refuse",
        on_loss: Optional[Callable[[RevocationLoss], object]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if policy not in LOSS_POLICIES:
            raise ValueError(f"on_revocations_lost must be 'refuse' or 'alert', not {policy!r}")
        self.store = store
        self.policy = policy
        self._on_loss = on_loss
        self._clock = clock
        self._lock = threading.Lock()
        self.value: Optional[str] = None
        self.lost_at: Optional[float] = None

    @property
    def cutoff(self) -> Optional[float]:
        """Tokens issued before this moment are refused; None when nothing is refused."""
        return self.lost_at if self.policy == "refuse" else None

    def new_value(self, *, lost: Optional[bool] = None) -> str:
        """A fresh marker; flagged lost when this process knew an earlier one."""
        if lost is None:
            lost = self.value is not None
        return f"{secrets.token_hex(8)} {self._clock()!r} {int(lost)}"

    def observe(self, value: str) -> bool:
        """Take the marker the store holds; True when it must be rewritten as lost."""
        if value == self.value:
            return False
        parsed = _parse(value)
        with self._lock:
            if value == self.value:
                return False
            previous = self.value
            if parsed is None or (previous is not None and not parsed[1]):
                return True  # unreadable, or changed without saying so: flag the loss
            created, lost = parsed
            self.value = value
            if lost:
                self.lost_at = created if self.lost_at is None else max(self.lost_at, created)
        if lost and previous is not None:
            self._report(RevocationLoss(self.store, previous, value, created, self.policy))
        elif lost:
            logger.info(
                "%s lost revocations at %s (before this process started); policy: %s",
                self.store,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                self.policy,
            )
        return False

    def _report(self, loss: RevocationLoss) -> None:
        consequence = (
            "tokens issued before then are refused"
            if loss.policy == "refuse"
            else "tokens issued before then are still accepted (policy 'alert')"
        )
        logger.warning(
            "%s: the generation marker changed (%r -> %r): revocations may be lost; %s",
            loss.store,
            loss.previous,
            loss.current,
            consequence,
        )
        if self._on_loss is not None:
            try:
                self._on_loss(loss)
            except Exception:
                logger.exception("%s: the on_loss callback failed", loss.store)
