"""Access and refresh tokens: issuing, verifying, rotating and revoking them.

A ``TokenIssuer`` holds one key (or a ``KeyRing``), one algorithm and the policy: issuer,
audience, lifetimes, leeway and an optional denylist. Each login (``issue``) starts a token
*family*; every pair later obtained by refreshing belongs to it, so one denylist entry for
the family id revokes them all.

Claims of every token: ``iss`` and ``aud`` (when configured), ``sub``, ``iat``, ``nbf``,
``exp``, ``jti``, ``token_use`` (``"access"`` or ``"refresh"``), ``fam`` (the family), then
``roles`` and custom claims. Access tokens carry the granted ``scope``; refresh tokens carry
it as ``granted_scope``, so a refresh token shows no ``scope`` to anything that reads one.
Access tokens have the header ``typ`` ``at+jwt`` (RFC 9068), refresh tokens ``JWT``.

Refresh tokens rotate: ``refresh`` accepts each one once. Presenting a refresh token that was
already exchanged means it was copied, so the whole family is revoked and
``RefreshTokenReuseError`` raised; the legitimate holder logs in again. Detecting reuse needs
a denylist: without one, ``refresh`` still rotates but cannot notice a replay.
"""

from __future__ import annotations

import math
import secrets
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from .. import exceptions as _exceptions
from ..algorithms import Algorithm
from ..api_jws import PyJWS, get_unverified_header
from ..api_jwt import PyJWT, decode, encode
from ..batch import BatchItem, decode_batch, revoke_listed
from ..exceptions import (
    ExpiredSignatureError,
    InvalidKeyError,
    InvalidTokenError,
    MissingRequiredClaimError,
    PyJWTError,
)
from ..warnings import InsecureKeyLengthWarning
from .dpop import DPoPBindingError, _same_text, confirmation_jkt
from .exceptions import (
    InsufficientScopeError,
    RefreshTokenReuseError,
    RevocationsLostError,
    RevokedTokenError,
    TokenTypeError,
)
from .keys import KeyRing, verification_key_for, vet_key
from .scopes import require

if TYPE_CHECKING:
    from .denylist import Denylist

__all__ = ["TokenIssuer", "TokenPair"]

#: One element of a batch result: the claims, or the exception verifying the token raised.
BatchResult = BatchItem

#: Claims the issuer writes itself; custom claims may not set them.
RESERVED_CLAIMS = frozenset(("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "token_use", "fam"))
# Also refused as custom claims: they would grant scopes or roles behind the parameters' back.
_MANAGED_CLAIMS = RESERVED_CLAIMS | {"scope", "scp", "roles", "granted_scope", "cnf"}

_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "token_use"]

# The accepted values of ``token_use`` at each place, and the error when another one comes.
_ACCESS = ("access",)
_REFRESH = ("refresh",)
_EITHER = ("access", "refresh")
_EXPECTED_TYPE = {
    _ACCESS: "Expected an access token",
    _REFRESH: "Expected a refresh token",
    _EITHER: "Expected an access or a refresh token",
}


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    refresh_expires_in: int

    def as_dict(self) -> dict[str, Any]:
        """The OAuth 2.0 token response body (RFC 6749 section 5.1)."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "refresh_expires_in": self.refresh_expires_in,
        }


class TokenIssuer:
    """Issues and verifies access/refresh token pairs under one key and policy.

    ``key`` is an HMAC secret, a private key (with ``verify_key`` its public key, derived
    when omitted), or a ``KeyRing``; ``algorithm`` defaults to HS256, or the ring's.
    ``backend`` is a module with PyJWT's API (``jwt`` itself, say) to encode and decode
    with instead of turbojwt; its exceptions are re-raised as turbojwt's classes of the
    same name, so callers catch one hierarchy whichever backend runs.

    The keys are checked here, not at the first ``issue()``: ``InvalidKeyError`` says what
    is wrong with a key the algorithm cannot use (``None``, an empty secret, a secret given
    for RS256, a public key where the private one signs, a ``verify_key`` that does not
    verify what ``key`` signs). An HMAC secret shorter than the hash output (32, 48 or 64
    bytes for HS256, HS384 or HS512; RFC 7518 section 3.2) is refused too, unless
    ``allow_short_secret=True``: then, as for a small asymmetric key, one
    ``InsecureKeyLengthWarning`` is issued here, at the caller's line, and none per token.
    """

    def __init__(
        self,
        key: Any | KeyRing,
        algorithm: str | None = None,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        access_ttl: timedelta | float = timedelta(minutes=15),
        refresh_ttl: timedelta | float = timedelta(days=14),
        leeway: float | timedelta = 0,
        denylist: Denylist | None = None,
        verify_key: Any | None = None,
        clock: Callable[[], float] = time.time,
        backend: Any = None,
        allow_short_secret: bool = False,
        client_id: str | None = None,
    ) -> None:
        if isinstance(key, KeyRing):
            if algorithm is not None and algorithm != key.algorithm:
                raise ValueError(f"The KeyRing is for {key.algorithm}, not {algorithm}")
            if verify_key is not None:
                raise ValueError("A KeyRing holds its own verification keys (verify_keys)")
            algorithm = key.algorithm
        else:
            algorithm = "HS256" if algorithm is None else algorithm
        if algorithm.lower() == "none":
            raise ValueError("TokenIssuer needs a signing algorithm, not 'none'")
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = _lifetime(access_ttl, "access_ttl")
        self.refresh_ttl = _lifetime(refresh_ttl, "refresh_ttl")
        self.leeway = _seconds(leeway)
        if not self.leeway >= 0:
            raise ValueError("leeway must not be negative")
        self.denylist = denylist
        self._clock = clock
        # RFC 9068 section 2.2: the client the access tokens are issued to.
        self.client_id = _client_id(client_id)

        self._ring = key if isinstance(key, KeyRing) else None
        self._key = key
        self._verify_key: Any
        short_key_warning: str | None = None
        if self._ring is not None:
            self._verify_key = None
            if self._ring.has_short_key:
                short_key_warning = "A key of the KeyRing is shorter than recommended"
        else:
            short_key_warning = vet_key(key, algorithm, allow_short_secret=allow_short_secret)
            if verify_key is None:
                self._verify_key = verification_key_for(key, algorithm)
            else:
                vet_key(verify_key, algorithm, allow_short_secret=True, name="verify_key")
                self._verify_key = verify_key

        # Built once: verification is a per-request path.
        self._algorithms = [algorithm]
        self._options: dict[str, Any] = {"require": _REQUIRED_CLAIMS}
        self._options_any_exp: dict[str, Any] = {"require": _REQUIRED_CLAIMS, "verify_exp": False}
        self._access_header: dict[str, Any] = {"typ": "at+jwt"}
        self._refresh_header: dict[str, Any] = {"typ": "JWT"}

        self._encode: Callable[..., str] = encode
        self._decode: Callable[..., dict[str, Any]] = decode
        self._get_unverified_header: Callable[[str], dict[str, Any]] = get_unverified_header
        # None: verify batches token by token (the backend has no batch decoder).
        self._decode_batch: Callable[..., list[BatchResult]] | None = decode_batch
        if backend is not None:
            foreign_error: type[Exception] = backend.PyJWTError
            self._encode = _translating(backend.encode, foreign_error)
            self._decode = _translating(backend.decode, foreign_error)
            self._get_unverified_header = _translating(backend.get_unverified_header, foreign_error)
            self._decode_batch = None
        elif short_key_warning is not None:
            # Warned about once, below: the per-token key-length warnings would point here.
            quiet = _quiet_key_length(algorithm)
            self._encode, self._decode = quiet.encode, quiet.decode
            self._decode_batch = None
        if short_key_warning is not None:
            warnings.warn(short_key_warning, InsecureKeyLengthWarning, stacklevel=2)
        if self._ring is None:
            self._check_key_pair()

    def _check_key_pair(self) -> None:
        """Sign a token with the key and verify it with the verification key, once."""
        try:
            token = self._encode({"sub": "key check"}, self._key, self.algorithm)
        except Exception as error:  # whatever the key makes encode or decode raise
            raise InvalidKeyError(f"The key cannot sign {self.algorithm} tokens: {error}") from None
        try:
            self._decode(token, self._verify_key, self._algorithms)
        except Exception as error:  # whatever the key makes encode or decode raise
            raise InvalidKeyError(
                f"The verify_key does not verify {self.algorithm} tokens the key signs: {error}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"TokenIssuer(algorithm={self.algorithm!r}, issuer={self.issuer!r}, "
            f"audience={self.audience!r}, denylist={self.denylist!r})"
        )

    # --- issuing ---------------------------------------------------------------------------

    def issue(
        self,
        subject: str,
        *,
        scopes: Iterable[str] | str | None = None,
        roles: Iterable[str] | str | None = None,
        claims: Mapping[str, Any] | None = None,
        client_id: str | None = None,
        dpop_jkt: str | None = None,
    ) -> TokenPair:
        """A new pair for ``subject``, starting a new token family.

        ``scopes`` (a space-separated string or an iterable) become the access token's
        ``scope``; ``roles`` its ``roles`` list; ``claims`` are added to both tokens and may
        not set the claims the issuer manages (``ValueError``).

        ``client_id`` (default: the issuer's) becomes the ``client_id`` claim of RFC 9068.
        ``dpop_jkt``, the RFC 7638 thumbprint of the client's DPoP key (``DPoPProof.jkt``),
        binds both tokens to that key (``cnf.jkt``, RFC 9449) and makes ``token_type``
        ``"DPoP"``.
        """
        if not isinstance(subject, str) or not subject:
            raise ValueError("subject must be a non-empty string")
        extra = dict(claims or {})
        clash = _MANAGED_CLAIMS.intersection(extra)
        if clash:
            raise ValueError(f"Custom claims may not set: {', '.join(sorted(clash))}")
        client = self.client_id if client_id is None else _client_id(client_id)
        if client is not None:
            if "client_id" in extra and extra["client_id"] != client:
                raise ValueError("client_id is given both as a parameter and as a custom claim")
            extra["client_id"] = client
        if dpop_jkt is not None and (not isinstance(dpop_jkt, str) or not dpop_jkt):
            raise ValueError("dpop_jkt must be a non-empty string (a JWK thumbprint)")
        return self._pair(
            subject,
            secrets.token_urlsafe(16),
            _scope_string(scopes),
            _role_list(roles),
            extra,
            dpop_jkt,
        )

    def _pair(
        self,
        subject: str,
        family: str,
        scope: str,
        roles: list[str],
        extra: dict[str, Any],
        dpop_jkt: str | None = None,
    ) -> TokenPair:
        now = int(self._clock())
        if self._ring is None:
            key = self._key
            access_header, refresh_header = self._access_header, self._refresh_header
        else:
            kid, key = self._ring.signer()
            access_header = {"typ": "at+jwt", "kid": kid}
            refresh_header = {"typ": "JWT", "kid": kid}

        access = self._claims(subject, family, "access", now, self.access_ttl)
        refresh = self._claims(subject, family, "refresh", now, self.refresh_ttl)
        if scope:
            access["scope"] = scope
            refresh["granted_scope"] = scope
        if roles:
            access["roles"] = refresh["roles"] = roles
        access.update(extra)
        refresh.update(extra)
        if dpop_jkt is not None:
            access["cnf"] = {"jkt": dpop_jkt}
            refresh["cnf"] = {"jkt": dpop_jkt}
        return TokenPair(
            access_token=self._encode(access, key, self.algorithm, access_header),
            refresh_token=self._encode(refresh, key, self.algorithm, refresh_header),
            token_type="Bearer" if dpop_jkt is None else "DPoP",
            expires_in=self.access_ttl,
            refresh_expires_in=self.refresh_ttl,
        )

    def _claims(self, subject: str, family: str, use: str, now: int, ttl: int) -> dict[str, Any]:
        claims: dict[str, Any] = {}
        if self.issuer is not None:
            claims["iss"] = self.issuer
        if self.audience is not None:
            claims["aud"] = self.audience
        claims["sub"] = subject
        claims["iat"] = claims["nbf"] = now
        claims["exp"] = now + ttl
        claims["jti"] = secrets.token_urlsafe(16)
        claims["token_use"] = use
        claims["fam"] = family
        return claims

    # --- verifying -------------------------------------------------------------------------

    def verify_access(
        self,
        token: str,
        *,
        scopes: Iterable[str] | str = (),
        roles: Iterable[str] | str = (),
        check_revoked: bool = True,
    ) -> dict[str, Any]:
        """The claims of a valid, unrevoked access token granting ``scopes`` and ``roles``.

        Raises ``InvalidTokenError`` subclasses: turbojwt's for the signature and registered
        claims, ``TokenTypeError`` for a refresh token, ``RevokedTokenError`` (and
        ``RevocationsLostError``), ``MissingScopeError`` or ``MissingRoleError``;
        ``StoreUnavailableError`` when the denylist cannot answer. ``check_revoked=False``
        skips the denylist (the fail-open path of ``BearerAuth``: a revoked token passes).
        """
        claims = self._verified(token, _ACCESS, self._options)
        if check_revoked:
            self._check_not_revoked(claims)
        if scopes or roles:
            require(claims, scopes, roles)
        return claims

    def verify_refresh(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unrevoked and not yet exchanged refresh token."""
        claims = self._verified(token, _REFRESH, self._options)
        self._check_not_revoked(claims)
        return claims

    def verify_access_batch(
        self,
        tokens: Sequence[str],
        *,
        scopes: Iterable[str] | str = (),
        roles: Iterable[str] | str = (),
    ) -> list[BatchResult]:
        """``verify_access`` over many tokens: per token, the claims or the exception.

        Signatures are checked by ``decode_batch`` and the denylist is asked once for the
        whole batch.
        """
        results = self._decode_many(list(tokens))
        expected = _EXPECTED_TYPE[_ACCESS]
        for index, result in enumerate(results):
            if isinstance(result, dict) and result["token_use"] != "access":
                results[index] = TokenTypeError(expected)
        if self.denylist is not None:
            results = revoke_listed(results, self.denylist, complete=False)
            for index, result in enumerate(results):
                if isinstance(result, dict):
                    try:
                        _check_issued_after_loss(self.denylist, result)
                    except RevocationsLostError as error:
                        results[index] = error
        if scopes or roles:
            for index, result in enumerate(results):
                if isinstance(result, dict):
                    try:
                        require(result, scopes, roles)
                    except InsufficientScopeError as error:
                        results[index] = error
        return results

    def _verified(
        self, token: str, uses: tuple[str, ...], options: dict[str, Any]
    ) -> dict[str, Any]:
        """Decode ``token`` and check that its ``token_use`` is one of ``uses``.

        The denylist is not consulted: ``refresh`` and ``logout`` have their own order.
        """
        ring = self._ring
        key = (
            self._verify_key
            if ring is None
            else ring.verification_key(self._get_unverified_header(token).get("kid"))
        )
        claims = self._decode(
            token,
            key,
            self._algorithms,
            options,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
        )
        if claims["token_use"] not in uses:
            raise TokenTypeError(_EXPECTED_TYPE[uses])
        return claims

    def _check_not_revoked(self, claims: dict[str, Any]) -> None:
        denylist = self.denylist
        if denylist is None:
            return
        family = claims.get("fam")
        ids = (claims["jti"], family) if isinstance(family, str) else (claims["jti"],)
        if denylist.revoked(ids):
            raise RevokedTokenError("Token has been revoked")
        _check_issued_after_loss(denylist, claims)

    def _decode_many(self, tokens: list[str]) -> list[BatchResult]:
        batch = self._decode_batch
        if batch is None:
            return [self._try_verified(token) for token in tokens]
        if self._ring is None:
            return batch(
                tokens,
                self._verify_key,
                self._algorithms,
                self._options,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
        # One batch per key: the kid header picks the key, as in ``_verified``.
        results: list[BatchResult] = [_PENDING] * len(tokens)
        groups: dict[str | None, tuple[Any, list[int]]] = {}
        for index, token in enumerate(tokens):
            try:
                kid = self._get_unverified_header(token).get("kid")
                key = self._ring.verification_key(kid)
            except PyJWTError as error:
                results[index] = error
                continue
            groups.setdefault(kid, (key, []))[1].append(index)
        for key, indices in groups.values():
            decoded = batch(
                [tokens[index] for index in indices],
                key,
                self._algorithms,
                self._options,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
            for index, result in zip(indices, decoded):
                results[index] = result
        return results

    def _try_verified(self, token: str) -> BatchResult:
        try:
            return self._verified(token, _ACCESS, self._options)
        except PyJWTError as error:
            return error

    # --- rotating and revoking -------------------------------------------------------------

    def refresh(self, refresh_token: str, *, dpop_jkt: str | None = None) -> TokenPair:
        """Exchange a refresh token for a new pair in the same family.

        With a denylist, each refresh token is accepted once: presenting it again revokes
        the family and raises ``RefreshTokenReuseError``. A refresh token revoked by
        ``revoke`` counts as used. A family revoked by ``logout`` raises
        ``RevokedTokenError``.

        A DPoP-bound refresh token (RFC 9449 section 5) is exchanged only with
        ``dpop_jkt`` equal to its ``cnf.jkt`` (the thumbprint of a verified proof's key),
        else ``DPoPBindingError``, before it is spent; the new pair stays bound. An
        unbound refresh token with ``dpop_jkt`` yields a pair bound to that key.
        """
        claims = self._verified(refresh_token, _REFRESH, self._options)
        bound = confirmation_jkt(claims)
        if bound is not None and (dpop_jkt is None or not _same_text(bound, dpop_jkt)):
            raise DPoPBindingError("The refresh token is bound to another DPoP key")
        family = _family_of(claims)
        denylist = self.denylist
        if denylist is not None:
            if denylist.revoked((family,)):
                raise RevokedTokenError("Token has been revoked")
            # A store that lost data may have lost this token's "already used" mark too.
            _check_issued_after_loss(denylist, claims)
            if not denylist.consume(claims["jti"], float(claims["exp"]) + self.leeway):
                self.revoke_family(family, self._family_lifetime_end())
                raise RefreshTokenReuseError(
                    "Refresh token reuse detected; the token family is revoked"
                )
        granted = claims.get("granted_scope")
        roles = claims.get("roles")
        return self._pair(
            claims["sub"],
            family,
            granted if isinstance(granted, str) else "",
            _role_list(roles) if isinstance(roles, list) else [],
            {name: value for name, value in claims.items() if name not in _MANAGED_CLAIMS},
            bound if bound is not None else dpop_jkt,
        )

    def revoke(self, token: str) -> None:
        """Denylist a valid access or refresh token until it expires.

        An expired token needs no revoking and is ignored; an invalid one raises.
        """
        self._require_denylist("revoke")
        claims = self._revocable(token)
        if claims is not None:
            self._revoke_claims(claims)

    def revoke_family(
        self, family: str, expires_at: float | None = None, *, until: float | None = None
    ) -> None:
        """Revoke every token of ``family`` (the ``fam`` claim) until ``expires_at``.

        ``expires_at`` is in epoch seconds, as in the denylist's ``revoke(jti, expires_at)``.
        The older keyword ``until`` still works, with a ``DeprecationWarning``.
        """
        if until is not None:
            if expires_at is not None:
                raise TypeError("revoke_family() takes expires_at or until, not both")
            warnings.warn(
                "revoke_family(until=...) is deprecated; pass expires_at=... instead",
                DeprecationWarning,
                stacklevel=2,
            )
            expires_at = until
        if expires_at is None:
            raise TypeError("revoke_family() missing required argument: 'expires_at'")
        self._require_denylist("revoke_family").revoke(family, expires_at)

    def logout(self, refresh_token: str, access_token: str | None = None) -> None:
        """End a session: revoke the refresh token's family and the access token.

        The refresh token must be validly signed but may have expired. Both tokens are
        checked before anything is revoked.
        """
        self._require_denylist("logout")
        claims = self._verified(refresh_token, _REFRESH, self._options_any_exp)
        family = _family_of(claims)
        access_claims = None if access_token is None else self._revocable(access_token)
        self.revoke_family(family, self._family_lifetime_end())
        if access_claims is not None:
            self._revoke_claims(access_claims)

    def _revoke_claims(self, claims: Mapping[str, Any]) -> None:
        self._require_denylist("revoke").revoke(claims["jti"], float(claims["exp"]) + self.leeway)

    def _revocable(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid token of either kind; None if it has expired."""
        try:
            return self._verified(token, _EITHER, self._options)
        except ExpiredSignatureError:
            return None

    def _family_lifetime_end(self) -> float:
        # No token of a family issued until now outlives a refresh token issued now.
        return self._clock() + self.refresh_ttl + self.leeway

    def _require_denylist(self, operation: str) -> Denylist:
        if self.denylist is None:
            raise RuntimeError(f"TokenIssuer.{operation} needs a denylist")
        return self.denylist


class _LengthCheckedAlgorithm(Algorithm):
    """``inner``, for a key whose length was judged (and warned about) once, up front."""

    def __init__(self, inner: Algorithm) -> None:
        self._inner = inner

    def prepare_key(self, key: Any) -> Any:
        return self._inner.prepare_key(key)

    def sign(self, msg: bytes, key: Any) -> bytes:
        return self._inner.sign(msg, key)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        return self._inner.verify(msg, key, sig)

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise NotImplementedError("not used to export keys")

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise NotImplementedError("not used to import keys")

    def check_key_length(self, key: Any) -> str | None:
        return None


def _quiet_key_length(algorithm: str) -> PyJWT:
    """A ``PyJWT`` that does not warn about the key length of ``algorithm`` on every call."""
    jws = PyJWS()
    jws._algorithms[algorithm] = _LengthCheckedAlgorithm(jws.get_algorithm_by_name(algorithm))
    quiet = PyJWT()
    quiet._jws = jws
    return quiet


# A placeholder that never survives ``_decode_many``: every index is assigned.
_PENDING: BatchResult = InvalidTokenError("Token was not verified")


def _check_issued_after_loss(denylist: Any, claims: Mapping[str, Any]) -> None:
    """Refuse a token issued before ``denylist`` lost revocations (its ``"refuse"`` policy)."""
    cutoff = getattr(denylist, "revocations_lost_at", None)
    if cutoff is None:
        return
    issued_at = claims.get("iat")
    if not isinstance(issued_at, (int, float)) or issued_at < cutoff:
        raise RevocationsLostError(
            "Token was issued before the revocation store lost data; log in again"
        )


def _family_of(claims: Mapping[str, Any]) -> str:
    family = claims.get("fam")
    if not isinstance(family, str):
        raise InvalidTokenError("Refresh token has no token family")
    return family


def _scope_string(scopes: Iterable[str] | str | None) -> str:
    if scopes is None:
        return ""
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    for item in items:
        if not isinstance(item, str) or not item or any(c.isspace() for c in item):
            raise ValueError(f"Scopes must be non-empty strings without spaces, not {item!r}")
    return " ".join(dict.fromkeys(items))


def _role_list(roles: Iterable[str] | str | None) -> list[str]:
    if roles is None:
        return []
    items = [roles] if isinstance(roles, str) else list(roles)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ValueError(f"Roles must be non-empty strings, not {item!r}")
    return list(dict.fromkeys(items))


def _client_id(value: str | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError("client_id must be a non-empty string")
    return value


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _lifetime(value: timedelta | float, name: str) -> int:
    seconds = _seconds(value)
    if not (math.isfinite(seconds) and seconds >= 1):
        raise ValueError(f"{name} must be at least one second")
    return math.ceil(seconds)


def _translating(function: Callable[..., Any], foreign_error: type[Exception]) -> Any:
    """``function`` with the exceptions of another PyJWT-shaped library made turbojwt's."""
    if foreign_error is PyJWTError:
        return function  # the backend raises turbojwt's classes already (a patched PyJWT)

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except foreign_error as error:
            raise _own_exception(error) from error

    return call


def _own_exception(error: Exception) -> Exception:
    # The nearest class, by name, that turbojwt also defines.
    for cls in type(error).__mro__:
        own = getattr(_exceptions, cls.__name__, None)
        if isinstance(own, type) and issubclass(own, PyJWTError):
            break
    else:
        own = PyJWTError
    if own is MissingRequiredClaimError:
        return MissingRequiredClaimError(getattr(error, "claim", ""))
    return own(*error.args)
