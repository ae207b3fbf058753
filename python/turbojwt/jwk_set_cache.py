"""Time-limited cache holding one parsed JWK Set, as used by ``PyJWKClient``."""

from __future__ import annotations

import math
import time
from typing import Any, Optional, Union

from .api_jwk import PyJWKSet, PyJWTSetWithTimestamp
from .exceptions import PyJWKSetError

__all__ = ["JWKSetCache"]


class _Entry(PyJWTSetWithTimestamp):
    """A cached set with the lifespan it was stored with, read together with it."""

    def __init__(self, jwk_set: PyJWKSet, lifespan: Optional[float]) -> None:
        super().__init__(jwk_set)
        self.lifespan = lifespan


class JWKSetCache:
    """Holds one :class:`PyJWKSet` for ``lifespan`` seconds (-1 or less: no expiry)."""

    def __init__(self, lifespan: float) -> None:
        self.jwk_set_with_timestamp: Optional[PyJWTSetWithTimestamp] = None
        self.lifespan = lifespan

    def put(
        self,
        jwk_set: Optional[Union[PyJWKSet, dict[str, Any]]],
        *,
        lifespan: Optional[float] = None,
    ) -> None:
        """Store ``jwk_set``, or clear the cache when it is ``None``.

        A raw JWKS dict is parsed before it is stored, so a cache hit never
        parses keys again.

        :param lifespan: how long this entry stays valid, instead of the
            cache's ``lifespan`` (the client passes the response's
            ``Cache-Control: max-age``).
        :raises PyJWKSetError: if ``jwk_set`` is neither a ``PyJWKSet`` nor a
            dict holding at least one usable key.
        """
        if jwk_set is None:
            self.jwk_set_with_timestamp = None
            return
        if not isinstance(jwk_set, PyJWKSet):
            if not isinstance(jwk_set, dict):
                raise PyJWKSetError("Invalid JWK Set value")
            jwk_set = PyJWKSet.from_dict(jwk_set)
        self.jwk_set_with_timestamp = _Entry(jwk_set, lifespan)

    def get(self) -> Optional[PyJWKSet]:
        """The cached set, or ``None`` when the cache is empty or expired."""
        entry = self.jwk_set_with_timestamp
        if entry is None or self.is_expired():
            return None
        return entry.get_jwk_set()

    def get_stale(self, max_stale: float) -> Optional[PyJWKSet]:
        """The cached set, even expired, unless it expired more than ``max_stale`` seconds ago.

        For a caller that has no fresh set to serve (the endpoint is failing,
        or a refresh is in flight) and prefers recent keys to no keys.
        """
        entry = self.jwk_set_with_timestamp
        if entry is None or time.monotonic() > self._expiry_of(entry) + max_stale:
            return None
        return entry.get_jwk_set()

    def is_expired(self) -> bool:
        """True when an entry is cached and older than its lifespan."""
        entry = self.jwk_set_with_timestamp
        # Looked up through the module so tests can patch time.monotonic.
        return entry is not None and time.monotonic() > self._expiry_of(entry)

    def _expiry_of(self, entry: PyJWTSetWithTimestamp) -> float:
        """The ``time.monotonic()`` reading after which ``entry`` is expired."""
        if type(entry) is _Entry:
            # An entry stored by ``put`` may carry its own lifespan; one
            # assigned to ``jwk_set_with_timestamp`` follows the cache's.
            lifespan = self.lifespan if entry.lifespan is None else entry.lifespan
            stored_at = entry.timestamp
        else:
            lifespan, stored_at = self.lifespan, entry.get_timestamp()
        return math.inf if lifespan <= -1 else stored_at + lifespan
