"""Scope and role checks on verified claims.

Scopes come from the ``scope`` claim, a space-separated string (RFC 8693 / RFC 9068) or a
list of strings; when ``scope`` is absent, from ``scp`` (Azure AD and Okta). Roles come
from ``roles``, a list of strings or a single one. Values of any other shape grant nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .exceptions import MissingRoleError, MissingScopeError

__all__ = ["require", "require_roles", "require_scopes", "roles_of", "scopes_of"]

_NOTHING: frozenset[str] = frozenset()


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes ``claims`` grant."""
    value = claims["scope"] if "scope" in claims else claims.get("scp")
    if isinstance(value, str):
        return frozenset(value.split(" ")) - {""}
    return _strings(value)


def roles_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The roles ``claims`` grant."""
    value = claims.get("roles")
    if isinstance(value, str):
        return frozenset((value,))
    return _strings(value)


def require(
    claims: Mapping[str, Any],
    scopes: Iterable[str] | str = (),
    roles: Iterable[str] | str = (),
) -> None:
    """Raise ``MissingScopeError``, then ``MissingRoleError``, naming what ``claims`` lack.

    ``scopes`` may be a space-separated string; ``roles`` a single role name.
    """
    if scopes:
        wanted = frozenset(scopes.split()) if isinstance(scopes, str) else frozenset(scopes)
        missing = wanted - scopes_of(claims)
        if missing:
            raise MissingScopeError(missing)
    if roles:
        wanted = frozenset((roles,)) if isinstance(roles, str) else frozenset(roles)
        missing = wanted - roles_of(claims)
        if missing:
            raise MissingRoleError(missing)


def require_scopes(claims: Mapping[str, Any], scopes: Iterable[str] | str) -> None:
    """Raise ``MissingScopeError`` unless ``claims`` grant every scope in ``scopes``."""
    require(claims, scopes=scopes)


def require_roles(claims: Mapping[str, Any], roles: Iterable[str] | str) -> None:
    """Raise ``MissingRoleError`` unless ``claims`` grant every role in ``roles``."""
    require(claims, roles=roles)


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, (list, tuple)):
        return frozenset(item for item in value if isinstance(item, str))
    return _NOTHING
