"""The JWT profile for OAuth 2.0 access tokens (RFC 9068), as a resource server checks it.

``AccessTokenVerifier`` accepts a token only if it is an access token in the profile's sense
and was issued for this resource:

- the header ``typ`` is ``at+jwt`` or ``application/at+jwt`` (compared case-insensitively,
  as media types are): an ID token (``typ`` ``JWT`` or none), a refresh token, a DPoP proof
  or any other JWT signed by the same key is refused with ``TokenTypeError``, before its
  signature is even checked (RFC 9068 section 4);
- the signature verifies under one of ``algorithms`` (never ``none``);
- ``iss``, ``exp``, ``aud``, ``sub``, ``client_id``, ``iat`` and ``jti`` are present
  (``MissingRequiredClaimError``), ``iss`` is the configured issuer, ``exp`` has not passed
  and ``aud`` names ``resource``, this resource server's identifier (RFC 8707);
- with a denylist, the ``jti`` is not revoked.

``TokenIssuer`` mints conformant tokens when given ``issuer``, ``audience`` and a
``client_id`` (in its constructor or per ``issue`` call).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional, Union

from ..api_jws import get_unverified_header
from ..api_jwt import decode
from ..exceptions import InvalidTokenError
from .exceptions import RevokedTokenError, TokenTypeError
from .keys import KeyRing
from .scopes import require

if TYPE_CHECKING:
    from .denylist import Denylist

__all__ = ["ACCESS_TOKEN_TYPES", "PROFILE_REQUIRED_CLAIMS", "AccessTokenVerifier"]

#: The header ``typ`` values RFC 9068 section 2.1 allows, lowercase.
ACCESS_TOKEN_TYPES = frozenset(("at+jwt", "application/at+jwt"))

#: The claims RFC 9068 section 2.2 makes mandatory.
PROFILE_REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


class AccessTokenVerifier:
    """Verifies RFC 9068 access tokens presented to the resource ``resource``.

    ``key`` is the issuer's verification key (PEM, JWK, key object, ``NativeKey``, HMAC
    secret) or a ``KeyRing``, whose ``kid`` picks the key; ``algorithms`` lists the
    accepted ones (``none`` is refused). ``resource`` is this resource server's identifier:
    the token's ``aud`` must be, or contain, exactly that string.
    """

    def __init__(
        self,
        key: Any,
        algorithms: Iterable[str],
        *,
        issuer: str,
        resource: str,
        leeway: float = 0,
        denylist: Optional[Denylist] = None,
        required_claims: Iterable[str] = (),
    ) -> None:
        self.algorithms = [alg for alg in algorithms]
        if not self.algorithms or any(alg.lower() == "none" for alg in self.algorithms):
            raise ValueError("AccessTokenVerifier needs signing algorithms, and never 'none'")
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer must be a non-empty string")
        if not isinstance(resource, str) or not resource:
            raise ValueError("resource must be a non-empty string (this server's identifier)")
        self.issuer = issuer
        self.resource = resource
        self.leeway = leeway
        self.denylist = denylist
        self._ring = key if isinstance(key, KeyRing) else None
        self._key = key
        required = list(PROFILE_REQUIRED_CLAIMS)
        required += [claim for claim in required_claims if claim not in required]
        self._options: dict[str, Any] = {"require": required}

    @property
    def blocking(self) -> bool:
        """Whether ``verify`` may wait on I/O: it consults a blocking denylist."""
        denylist = self.denylist
        return denylist is not None and bool(getattr(denylist, "blocking", True))

    def __repr__(self) -> str:
        return (
            f"AccessTokenVerifier(algorithms={self.algorithms!r}, issuer={self.issuer!r}, "
            f"resource={self.resource!r})"
        )

    def verify(
        self,
        token: str,
        *,
        scopes: Union[Iterable[str], str] = (),
        roles: Union[Iterable[str], str] = (),
        check_revoked: bool = True,
    ) -> dict[str, Any]:
        """The claims of a valid access token for this resource, granting ``scopes``.

        ``check_revoked=False`` skips the denylist (a fail-open path while it is down).
        """
        header = get_unverified_header(token)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise TokenTypeError(
                f"Expected a JWT access token (typ at+jwt), not typ {typ!r}"
                if typ is not None
                else "Expected a JWT access token (typ at+jwt); the token has no typ"
            )
        key = self._key if self._ring is None else self._ring.verification_key(header.get("kid"))
        claims: dict[str, Any] = decode(
            token,
            key,
            self.algorithms,
            self._options,
            audience=self.resource,
            issuer=self.issuer,
            leeway=self.leeway,
        )
        for name in ("sub", "client_id", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise InvalidTokenError(f"The {name} claim must be a non-empty string")
        denylist = self.denylist
        if check_revoked and denylist is not None and denylist.revoked((claims["jti"],)):
            raise RevokedTokenError("Token has been revoked")
        if scopes or roles:
            require(claims, scopes, roles)
        return claims
