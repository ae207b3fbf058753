"""Time-limited cache holding one parsed JWK Set, as used by ``PyJWKClient``."""

from __future__ import annotations

import time
from typing import Any, Optional, Union

from .api_jwk import PyJWKSet, PyJWTSetWithTimestamp
from .exceptions import PyJWKSetError

__all__ = ["JWKSetCache"]


class JWKSetCache:
    """Holds one :class:`PyJWKSet` for ``lifespan`` seconds (-1 or less: no expiry)."""

    def __init__(self, lifespan: float) -> None:
        self.jwk_set_with_timestamp: Optional[PyJWTSetWithTimestamp] = None
        self.lifespan = lifespan

    def put(self, jwk_set: Optional[Union[PyJWKSet, dict[str, Any]]]) -> None:
        """Store ``jwk_set``, or clear the cache when it is ``None``.

        A raw JWKS dict is parsed before it is stored, so a cache hit never
        parses keys again.

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
        self.jwk_set_with_timestamp = PyJWTSetWithTimestamp(jwk_set)

    def get(self) -> Optional[PyJWKSet]:
        """The cached set, or ``None`` when the cache is empty or expired."""
        entry = self.jwk_set_with_timestamp
        if entry is None or self.is_expired():
            return None
        return entry.get_jwk_set()

    def is_expired(self) -> bool:
        """True when an entry is cached and older than ``lifespan``."""
        entry = self.jwk_set_with_timestamp
        return (
            entry is not None
            and self.lifespan > -1
            # Looked up through the module so tests can patch time.monotonic.
            and time.monotonic() > entry.get_timestamp() + self.lifespan
        )
