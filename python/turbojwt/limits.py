"""Size limits on the tokens turbojwt decodes (turbojwt only; PyJWT has none).

A token longer than ``max_token_bytes`` (its UTF-8 length for a ``str``), or whose header or
payload JSON nests arrays and objects deeper than ``max_json_depth``, is refused with
``DecodeError`` before it is split, decoded, parsed or verified. The defaults are far above
what any issuer produces: 256 KiB, and the deepest JSON the interpreter's own ``json.loads``
parses with the default recursion limit (1,000 levels on CPython 3.11, 1,500 on 3.12, 10,000
on 3.13, no depth limit on 3.14+), so the defaults refuse nothing PyJWT accepts.

``encode`` warns (``TokenLimitWarning``) when it makes a token the limits would refuse.

The limits apply to the whole process (every ``PyJWT``/``PyJWS`` instance and thread).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from . import _turbojwt

__all__ = ["Limits", "get_limits", "set_limits"]


class Limits(NamedTuple):
    max_token_bytes: int
    max_json_depth: int


def get_limits() -> Limits:
    """The limits in force."""
    return Limits(*_turbojwt.get_limits())


def set_limits(*, max_token_bytes: int | None = None, max_json_depth: int | None = None) -> None:
    """Change the limits for the whole process; ``None`` leaves a limit as it is.

    Each value must be a positive ``int``, else ``ValueError`` (and nothing changes).
    """
    _check("max_token_bytes", max_token_bytes)
    _check("max_json_depth", max_json_depth)
    _turbojwt.set_limits(max_token_bytes=max_token_bytes, max_json_depth=max_json_depth)


def _check(name: str, value: object) -> None:
    if value is None:
        return
    # bool is an int subclass, but True as a byte count is a mistake, not a limit.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= sys.maxsize:
        raise ValueError(f"{name} must be a positive int up to {sys.maxsize}, got {value!r}")
