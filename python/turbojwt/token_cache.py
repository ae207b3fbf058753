"""The verified-token cache (turbojwt only; PyJWT has none).

An API sees the same bearer token on every request of a session. ``decode`` and
``decode_complete`` remember tokens that decoded successfully and answer a repeat of the same
call without base64, JSON or signature work. A hit is indistinguishable from a fresh decode:

- ``exp``, ``nbf`` and ``iat`` are checked again against the clock on every hit (test clocks
  included), and warnings are the same (a call that warns is never cached);
- the caller gets fresh dicts and lists: mutating a result never changes a later one;
- the entry is keyed by the token and by everything else that decides the outcome: the key
  (``str``/``bytes`` by content, key objects by identity), ``algorithms``, the merged options,
  ``audience``, ``issuer``, ``subject`` and ``leeway``; the registered ``Algorithm`` object and
  the limits must also be unchanged;
- failures are never cached, and ``PyJWT`` subclasses that override a decode hook bypass it.

The table is keyed with a per-process random hash key and compares tokens in constant time.
A token is admitted on its second sighting, so one-off tokens cost a hash and never evict
tokens that repeat. The default bound, 4,096 entries and 16 MiB, suits any server;
``TURBOJWT_TOKEN_CACHE=0`` in the environment turns the cache off at start-up.
"""

from __future__ import annotations

from typing import TypedDict

from . import _turbojwt

__all__ = ["TokenCacheInfo", "clear_token_cache", "set_token_cache", "token_cache_info"]


class TokenCacheInfo(TypedDict):
    enabled: bool
    max_entries: int
    max_bytes: int
    entries: int
    bytes: int
    hits: int
    misses: int
    evictions: int


def set_token_cache(*, max_entries: int | None = None, max_bytes: int | None = None) -> None:
    """Bound the cache (``None`` keeps a bound); ``max_entries=0`` turns it off.

    Changing a bound empties the cache. Each value must be a non-negative ``int``.
    """
    for name, value in (("max_entries", max_entries), ("max_bytes", max_bytes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} must be an int or None, got {value!r}")
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, got {value!r}")
    _turbojwt.set_token_cache(max_entries=max_entries, max_bytes=max_bytes)


def token_cache_info() -> TokenCacheInfo:
    """The bounds, the current size, and hits, misses and evictions since start-up."""
    info: TokenCacheInfo = _turbojwt.token_cache_info()  # type: ignore[assignment]
    return info


def clear_token_cache() -> None:
    """Forget every cached token (the counters keep counting)."""
    _turbojwt.clear_token_cache()
