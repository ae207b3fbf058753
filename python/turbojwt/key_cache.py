"""The parsed-key caches (turbojwt only; PyJWT has none).

HMAC secrets are vetted and prepared once per (hash, secret), and PEM, OpenSSH and
``cryptography`` key objects are parsed once; both caches are LRU tables shared by the whole
process. Passing a PEM string on every call then costs no more than passing a loaded key.
Each table holds 256 keys by default (the HMAC one 256 per hash). Key texts over 32 KiB are
not cached, and secrets are zeroed when they leave the cache.
"""

from __future__ import annotations

import sys
from typing import TypedDict

from . import _turbojwt

__all__ = ["KeyCacheInfo", "key_cache_info", "set_key_cache_size"]


class KeyCacheInfo(TypedDict):
    capacity: int
    hmac: int
    asymmetric: int


def set_key_cache_size(size: int) -> None:
    """Hold at most ``size`` parsed keys, and ``size`` HMAC keys per hash (0 turns caching off).

    ``size`` must be a non-negative ``int``. Shrinking evicts the least recently used keys.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"size must be an int, got {size!r}")
    if not 0 <= size <= sys.maxsize:
        raise ValueError(f"size must be between 0 and {sys.maxsize}, got {size!r}")
    _turbojwt.set_key_cache_size(size)


def key_cache_info() -> KeyCacheInfo:
    """The capacity, and how many HMAC keys (all hashes) and asymmetric keys are cached now."""
    info: KeyCacheInfo = _turbojwt.key_cache_info()  # type: ignore[assignment]
    return info
