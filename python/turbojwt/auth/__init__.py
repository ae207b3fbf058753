"""API authentication with JSON Web Tokens: bearer headers, token pairs, revocation, scopes.

- ``extract_bearer``: the token of an ``Authorization: Bearer`` header (RFC 6750).
- ``TokenIssuer``: issues access/refresh pairs, verifies each kind where it belongs, rotates
  refresh tokens and detects their reuse, revokes tokens and whole sessions.
- ``MemoryDenylist``, ``SQLiteDenylist``, ``RedisDenylist``: where revoked token ids live
  until their tokens expire (Redis needs the ``turbojwt[redis]`` extra); an outage raises
  ``StoreUnavailableError``, a loss of data is detected (``turbojwt.auth.resilience``).
- ``require``, ``require_scopes``, ``require_roles``: permission checks on claims.
- ``hmac_secret_from_env``, ``KeyRing``: keys from the environment, rotation by ``kid``.
- ``AccessTokenVerifier``: RFC 9068 access tokens from an authorization server
  (``typ`` ``at+jwt``, the required claims, ``aud`` naming this resource).
- ``DPoPVerifier``: DPoP proofs (RFC 9449), replay-checked through the denylist stores,
  with optional server nonces (``DPoPNonces``); ``jwk_thumbprint`` (RFC 7638).

The FastAPI/Starlette dependencies are ``turbojwt.auth.fastapi.BearerAuth`` and
``turbojwt.auth.fastapi_dpop.DPoPAuth``, the MCP SDK's token verifier is
``turbojwt.auth.mcp.MCPTokenVerifier``, and RFC 9728 metadata routes are in
``turbojwt.auth.resource_metadata`` (each imported separately, so this package needs
neither framework).
"""

from __future__ import annotations

from .bearer import extract_bearer
from .denylist import Denylist, MemoryDenylist, SQLiteDenylist
from .dpop import (
    DPoPBindingError,
    DPoPNonces,
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProofError,
    UseDPoPNonceError,
    jwk_thumbprint,
)
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
from .profile import AccessTokenVerifier
from .redis_denylist import RedisDenylist
from .resilience import RevocationLoss
from .scopes import require, require_roles, require_scopes, roles_of, scopes_of

__all__ = [
    "AccessTokenVerifier",
    "AuthorizationHeaderError",
    "DPoPBindingError",
    "DPoPNonces",
    "DPoPProof",
    "DPoPVerifier",
    "Denylist",
    "InsufficientScopeError",
    "InvalidDPoPProofError",
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
    "UseDPoPNonceError",
    "extract_bearer",
    "hmac_secret_from_env",
    "jwk_thumbprint",
    "require",
    "require_roles",
    "require_scopes",
    "roles_of",
    "scopes_of",
]
