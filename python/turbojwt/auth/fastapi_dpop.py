"""DPoP-aware authentication for FastAPI and Starlette (RFC 9449 section 7).

``DPoPAuth`` is a ``BearerAuth`` that also accepts ``Authorization: DPoP <token>`` with a
``DPoP`` proof header. Each route picks the schemes it accepts: ``schemes=("DPoP",)``
demands proof of possession, ``("Bearer", "DPoP")`` takes either, and in every case a
DPoP-bound token (one with ``cnf.jkt``) is refused as a bearer token. Answers:

- no credentials, or another scheme: 401 and one challenge per accepted scheme,
  ``Bearer realm="api", DPoP realm="api", algs="ES256 ..."``;
- a malformed ``Authorization`` header: 400 ``invalid_request``;
- a missing, malformed or invalid proof, or one for another key than the token's
  ``cnf.jkt``: 401 ``DPoP ... error="invalid_dpop_proof"``;
- with server nonces on, a proof without the current nonce: 401
  ``error="use_dpop_nonce"`` and the nonce in a ``DPoP-Nonce`` header;
- an invalid token: 401 ``error="invalid_token"`` on the scheme used;
- missing scopes or roles: 403 ``insufficient_scope``;
- the revocation or replay store cannot answer: 503 with ``Retry-After``, unless the route
  opted in to ``fail_open`` (then the token is accepted without the revocation check and
  the proof without the replay check, and each such pass is logged).

The token itself is checked by a ``TokenIssuer`` (``verify_access``) or an
``AccessTokenVerifier`` (RFC 9068). The proof's ``htu`` is compared with the request URL
as the server sees it, or with ``public_url`` + the path behind a proxy that rewrites it.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' annotations.

from collections.abc import Awaitable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ..exceptions import InvalidTokenError
from .dpop import (
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProofError,
    UseDPoPNonceError,
    check_binding,
    extract_credentials,
)
from .exceptions import (
    InsufficientScopeError,
    MalformedAuthorizationError,
    MissingAuthorizationError,
    StoreUnavailableError,
    UnsupportedSchemeError,
)
from .fastapi import (
    BearerAuth,
    _description,
    _role_names,
    _scope_names,
    _scope_token,
    service_unavailable,
)
from .resilience import logger as _store_logger
from .scopes import require

if TYPE_CHECKING:
    from .issuer import TokenIssuer
    from .profile import AccessTokenVerifier

__all__ = ["DPoPAuth"]

Claims = dict[str, Any]
_SCHEMES = ("Bearer", "DPoP")


def _schemes(schemes: Union[str, Iterable[str]]) -> tuple[str, ...]:
    names = (schemes,) if isinstance(schemes, str) else tuple(schemes)
    canonical = {scheme.lower(): scheme for scheme in _SCHEMES}
    result = tuple(dict.fromkeys(canonical.get(name.lower(), name) for name in names))
    if not result or any(name not in _SCHEMES for name in result):
        raise ValueError(f"schemes must be a non-empty selection of {', '.join(_SCHEMES)}")
    return result


class DPoPAuth(BearerAuth):
    """A FastAPI dependency for DPoP-bound (and, per route, bearer) access tokens.

    ``verifier``: a ``TokenIssuer`` or an ``AccessTokenVerifier``; ``dpop``: the
    ``DPoPVerifier`` that checks proofs and remembers their ``jti``; ``schemes``: what
    ``Depends(auth)`` accepts (``require`` can choose otherwise per route).
    """

    def __init__(
        self,
        verifier: Union["TokenIssuer", "AccessTokenVerifier"],
        dpop: DPoPVerifier,
        *,
        schemes: Union[str, Iterable[str]] = ("DPoP",),
        realm: str = "api",
        blocking: Optional[bool] = None,
        public_url: Optional[str] = None,
    ) -> None:
        """``public_url``: the scheme and authority clients use (``https://api.example``),
        when a proxy in front changes what the server sees; None uses the request's URL.
        """
        if blocking is None:
            token_blocking = getattr(verifier, "blocking", None)
            if token_blocking is None:
                denylist = getattr(verifier, "denylist", None)
                token_blocking = bool(getattr(denylist, "blocking", denylist is not None))
            blocking = bool(token_blocking) or dpop.blocking
        super().__init__(verifier, realm=realm, blocking=blocking)  # type: ignore[arg-type]
        self.dpop = dpop
        self.schemes = _schemes(schemes)
        self.public_url = None if public_url is None else public_url.rstrip("/")
        # A TokenIssuer's ``verify_access``, or an AccessTokenVerifier's ``verify``.
        verify_access = getattr(verifier, "verify_access", None)
        self._verify_token: Callable[..., Claims] = (
            verify_access if verify_access is not None else getattr(verifier, "verify")  # noqa: B009
        )

    async def __call__(self, request: Request) -> Claims:
        return await self.authenticate(request)

    def require(
        self,
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        fail_open: bool = False,
        schemes: Union[str, Iterable[str], None] = None,
    ) -> Callable[[Request], Awaitable[Claims]]:
        """A dependency that demands ``scopes`` and ``roles``, over ``schemes``.

        ``fail_open=True``: while a store is unavailable, skip the revocation and replay
        checks (each pass is logged) instead of answering 503.
        """
        required_scopes = _scope_names(scopes)
        required_roles = _role_names(roles)
        accepted = self.schemes if schemes is None else _schemes(schemes)

        async def dependency(request: Request) -> Claims:
            return await self.authenticate(
                request,
                scopes=required_scopes,
                roles=required_roles,
                schemes=accepted,
                fail_open=fail_open,
            )

        return dependency

    def request_url(self, request: Request) -> str:
        """The URL a proof for ``request`` must name in ``htu`` (query ignored)."""
        if self.public_url is None:
            return str(request.url)
        return self.public_url + request.url.path

    async def authenticate(
        self,
        request: Request,
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        schemes: Optional[Sequence[str]] = None,
        fail_open: bool = False,
    ) -> Claims:
        """The claims for this request; raises ``HTTPException`` (401, 400, 403 or 503)."""
        arguments = (
            request.headers.get("Authorization"),
            request.headers.getlist("DPoP"),
            request.method,
            self.request_url(request),
        )
        options: dict[str, Any] = {
            "scopes": scopes,
            "roles": roles,
            "schemes": self.schemes if schemes is None else schemes,
            "fail_open": fail_open,
        }
        if self.blocking:
            return await run_in_threadpool(self.verify_request, *arguments, **options)
        return self.verify_request(*arguments, **options)

    def verify_request(
        self,
        authorization: Optional[str],
        proofs: Sequence[str],
        method: str,
        url: str,
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        schemes: Sequence[str] = ("DPoP",),
        fail_open: bool = False,
        check_stores: bool = True,
    ) -> Claims:
        """Check a request's ``Authorization`` and ``DPoP`` headers; return the claims.

        ``check_stores=False`` skips the revocation and replay checks (the fail-open path).
        """
        required_scopes = _scope_names(scopes)
        scheme = "DPoP" if "DPoP" in schemes else schemes[0]
        try:
            scheme, token = extract_credentials(authorization, schemes)
            proof: Optional[DPoPProof] = None
            if scheme == "DPoP":
                proof = self.dpop.verify(
                    proofs, method=method, url=url, access_token=token, consume=False
                )
            claims = (
                self._verify_token(token)
                if check_stores
                else self._verify_token(token, check_revoked=False)
            )
            check_binding(claims, proof)
            if proof is not None and check_stores:
                # Last, so a request refused for another reason does not spend the proof.
                self.dpop.consume_jti(proof)
            if required_scopes or roles:
                require(claims, required_scopes, _role_names(roles))
            return claims
        except StoreUnavailableError as exc:
            if not fail_open:
                raise service_unavailable(exc) from exc
            claims = self.verify_request(
                authorization, proofs, method, url, scopes=scopes, roles=roles,
                schemes=schemes, check_stores=False,
            )  # fmt: skip
            _store_logger.warning(
                "fail-open: accepted a token of %r (jti %r) without revocation or replay "
                "checks: %s",
                claims.get("sub"),
                claims.get("jti"),
                exc,
            )
            return claims
        except (MissingAuthorizationError, UnsupportedSchemeError) as exc:
            raise self._challenges(401, str(exc), schemes) from exc
        except MalformedAuthorizationError as exc:
            raise self._challenges(
                400, str(exc), schemes, scheme=scheme, error="invalid_request"
            ) from exc
        except UseDPoPNonceError as exc:
            raise self._challenges(
                401, str(exc), schemes, scheme="DPoP", error=exc.error, nonce=exc.nonce
            ) from exc
        except InvalidDPoPProofError as exc:
            raise self._challenges(401, str(exc), schemes, scheme="DPoP", error=exc.error) from exc
        except InsufficientScopeError as exc:
            raise self._challenges(
                403,
                str(exc),
                schemes,
                scheme=scheme,
                error="insufficient_scope",
                scope=required_scopes,
            ) from exc
        except InvalidTokenError as exc:
            raise self._challenges(
                401, str(exc), schemes, scheme=scheme, error="invalid_token"
            ) from exc

    def _challenges(
        self,
        status_code: int,
        description: str,
        schemes: Sequence[str],
        *,
        scheme: Optional[str] = None,
        error: Optional[str] = None,
        scope: Iterable[str] = (),
        nonce: Optional[str] = None,
    ) -> HTTPException:
        """One challenge per accepted scheme; the error goes on the one that was used."""
        challenges = []
        for name in dict.fromkeys((*schemes, *((scheme,) if scheme else ()))):
            challenge = f'{name} realm="{self.realm}"'
            if error is not None and name == scheme:
                challenge += f', error="{error}", error_description="{_description(description)}"'
                scope_value = " ".join(sorted({_scope_token(s) for s in scope}))
                if scope_value:
                    challenge += f', scope="{scope_value}"'
            if name == "DPoP":
                challenge += ", " + self.dpop.challenge_params()
            challenges.append(challenge)
        headers = {"WWW-Authenticate": ", ".join(challenges)}
        if nonce is not None:
            headers["DPoP-Nonce"] = nonce
        return HTTPException(status_code, detail=description, headers=headers)
