"""API authentication with JSON Web Tokens: bearer headers, token pairs, revocation, scopes.

- ``extract_bearer``: the token of an ``Authorization: Bearer`` header (RFC 6750).
- ``TokenIssuer``: issues access/refresh pairs, verifies each kind where it belongs, rotates
  refresh tokens and detects their reuse, revokes tokens and whole sessions.
- ``MemoryDenylist``, ``SQLiteDenylist``, ``RedisDenylist``: where revoked token ids live
  until their tokens expire (Redis needs the ``turbojwt[redis]`` extra); an outage raises
  ``StoreUnavailableError``, a loss of data is detected (``turbojwt.auth.resilience``).
- ``require``, ``require_scopes``, ``require_roles``: permission checks on claims.
- ``hmac_secret_from_env``, ``KeyRing``: keys from the environment, rotation by ``kid``.

The FastAPI/Starlette dependency is ``turbojwt.auth.fastapi.BearerAuth`` (imported
separately, so this package needs neither framework).
"""

from __future__ import annotations

from .bearer import extract_bearer
from .denylist import Denylist, MemoryDenylist, SQLiteDenylist
from .exceptions import (
    AuthorizationHeaderError,
    InsufficientScopeError,
    MalformedAuthorizationError,
    MissingAuthorizationError,
    MissingRoleError,
    MissingScopeError,
    RefreshTokenReuseError,
    RevocationsLostError,
    RevokedTokenError,
    StoreUnavailableError,
    TokenTypeError,
    UnsupportedSchemeError,
)
from .issuer import TokenIssuer, TokenPair
from .keys import KeyRing, hmac_secret_from_env
from .redis_denylist import RedisDenylist
from .resilience import RevocationLoss
from .scopes import require, require_roles, require_scopes, roles_of, scopes_of

__all__ = [
    "AuthorizationHeaderError",
    "Denylist",
    "InsufficientScopeError",
    "KeyRing",
    "MalformedAuthorizationError",
    "MemoryDenylist",
    "MissingAuthorizationError",
    "MissingRoleError",
    "MissingScopeError",
    "RedisDenylist",
    "RefreshTokenReuseError",
    "RevocationLoss",
    "RevocationsLostError",
    "RevokedTokenError",
    "SQLiteDenylist",
    "StoreUnavailableError",
    "TokenIssuer",
    "TokenPair",
    "TokenTypeError",
    "UnsupportedSchemeError",
    "extract_bearer",
    "hmac_secret_from_env",
    "require",
    "require_roles",
    "require_scopes",
    "roles_of",
    "scopes_of",
]
