"""Exceptions of the authentication toolkit, all ``InvalidTokenError`` subclasses.

A handler that already catches ``turbojwt.InvalidTokenError`` (or PyJWT's) refuses every
request these describe; the subclasses say which HTTP answer fits (RFC 6750 section 3):

- ``MissingAuthorizationError``, ``UnsupportedSchemeError``: 401 without an error code;
- ``MalformedAuthorizationError``: 400 ``invalid_request``;
- ``InsufficientScopeError`` and its subclasses: 403 ``insufficient_scope``;
- ``StoreUnavailableError``: 503 with ``Retry-After`` (the revocation store cannot answer,
  so the token cannot be vouched for; a handler that only knows ``InvalidTokenError``
  refuses the request, which fails closed);
- anything else (expired, forged, revoked, wrong token type): 401 ``invalid_token``.

Every class pickles with its attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..exceptions import InvalidTokenError

__all__ = [
    "AuthorizationHeaderError",
    "InsufficientScopeError",
    "MalformedAuthorizationError",
    "MissingAuthorizationError",
    "MissingRoleError",
    "MissingScopeError",
    "RefreshTokenReuseError",
    "RevocationsLostError",
    "RevokedTokenError",
    "StoreUnavailableError",
    "TokenTypeError",
    "UnsupportedSchemeError",
]


class AuthorizationHeaderError(InvalidTokenError):
    """The ``Authorization`` header holds no usable bearer token."""


class MissingAuthorizationError(AuthorizationHeaderError):
    """No ``Authorization`` header, or an empty one."""


class UnsupportedSchemeError(AuthorizationHeaderError):
    """An ``Authorization`` header with another scheme than ``Bearer`` (``Basic ...``)."""


class MalformedAuthorizationError(AuthorizationHeaderError):
    """A ``Bearer`` header without exactly one well-formed token."""


class TokenTypeError(InvalidTokenError):
    """A refresh token where an access token belongs, or the reverse."""


class RevokedTokenError(InvalidTokenError):
    """The token's ``jti``, or its family, is on the denylist."""


class RefreshTokenReuseError(RevokedTokenError):
    """A refresh token that was already exchanged was presented again.

    Either its holder or a thief replayed it; the whole token family is revoked.
    """


class RevocationsLostError(RevokedTokenError):
    """The token was issued before its revocation store lost data, so it may be revoked.

    Raised under the store's ``"refuse"`` policy (see ``turbojwt.auth.resilience``); its
    holder logs in again.
    """


class StoreUnavailableError(InvalidTokenError):
    """The revocation store did not answer in time, or failed: the token cannot be checked.

    ``retry_after`` is how many seconds until the store is tried again.
    """

    def __init__(self, message: str = "Revocation store unavailable", retry_after: float = 1.0):
        self.retry_after = float(retry_after)
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.retry_after))


class InsufficientScopeError(InvalidTokenError):
    """A valid token that lacks some of the permissions the request needs.

    ``missing`` holds exactly the permissions that were required but absent.
    """

    #: What the message calls the missing permissions.
    _noun = "permission(s)"

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing: frozenset[str] = frozenset(missing)
        super().__init__(f"Token lacks required {self._noun}: {', '.join(sorted(self.missing))}")

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would call the class with the message instead of ``missing``.
        return (type(self), (sorted(self.missing),))


class MissingScopeError(InsufficientScopeError):
    """The token's ``scope`` lacks some required scopes."""

    _noun = "scope(s)"


class MissingRoleError(InsufficientScopeError):
    """The token's ``roles`` lack some required roles."""

    _noun = "role(s)"
