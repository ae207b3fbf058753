"""Bearer-token authentication for FastAPI and Starlette (RFC 6750).

``BearerAuth`` turns a ``TokenIssuer`` into a dependency: it extracts the bearer token,
verifies it as an access token (signature, claims, type, denylist) and checks scopes and
roles. It returns the claims, or raises an ``HTTPException`` whose status and
``WWW-Authenticate`` header follow RFC 6750 section 3:

- no credentials, or another scheme: 401, ``Bearer realm="api"`` and no error code;
- a malformed header: 400, ``error="invalid_request"``;
- an expired, forged, revoked or refresh token: 401, ``error="invalid_token"``;
- missing scopes or roles: 403, ``error="insufficient_scope"`` and the required ``scope``;
- the revocation store cannot answer (``StoreUnavailableError``): 503 with ``Retry-After``.
  A route may opt in to *fail open* instead (``auth.require(fail_open=True)``): its
  tokens are then checked without the denylist while the store is down, and each such
  pass is logged on the ``turbojwt.auth.store`` logger.

Only Starlette is imported, so the same object serves a plain Starlette app through
``await auth.authenticate(request)``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
# annotations at run time to find the ``Request`` parameter, and older releases cannot
# resolve string annotations on a callable instance.

import math
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ..exceptions import InvalidTokenError
from .bearer import extract_bearer
from .dpop import check_binding
from .exceptions import (
    InsufficientScopeError,
    MalformedAuthorizationError,
    MissingAuthorizationError,
    StoreUnavailableError,
    UnsupportedSchemeError,
)
from .resilience import logger as _store_logger

if TYPE_CHECKING:
    from ..issuers import IssuerRegistry
    from .issuer import TokenIssuer

__all__ = ["BearerAuth", "service_unavailable"]

Claims = dict[str, Any]


class BearerAuth:
    """A FastAPI dependency that yields the claims of a valid access token.

    ``Depends(auth)`` accepts any valid access token; ``Depends(auth.require(scopes=...,
    roles=...))`` also demands every listed scope and role.
    """

    def __init__(
        self,
        issuer: "Union[TokenIssuer, IssuerRegistry]",
        *,
        realm: str = "api",
        blocking: Optional[bool] = None,
    ) -> None:
        """``blocking``: whether verifying may block, so that it runs in the thread pool.

        By default it follows the issuer's denylist: a store that does I/O (SQLite, Redis)
        declares ``blocking = True``; no denylist or ``MemoryDenylist`` verifies on the
        event loop, which spares each request a thread-pool hop (about 150 µs, and most
        of the tail latency, in ``benches/auth_rps.py``).

        ``issuer`` may also be a ``turbojwt.IssuerRegistry`` (tokens of many issuers, routed
        by ``iss``); its own ``blocking`` (true when keys come over the network) is the
        default then.
        """
        _check_realm(realm)
        self.issuer = issuer
        self.realm = realm
        if blocking is None:
            declared = getattr(issuer, "blocking", None)
            if isinstance(declared, bool):
                blocking = declared
            else:
                denylist = getattr(issuer, "denylist", None)
                blocking = bool(getattr(denylist, "blocking", denylist is not None))
        self.blocking = blocking

    async def __call__(self, request: Request) -> Claims:
        return await self.authenticate(request)

    def require(
        self,
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        fail_open: bool = False,
    ) -> Callable[[Request], Awaitable[Claims]]:
        """A dependency that also demands every scope in ``scopes`` and role in ``roles``.

        ``scopes`` may be a space-separated string, ``roles`` a single role name.
        ``fail_open=True``: while the revocation store is unavailable, accept tokens that
        are otherwise valid without asking it (a revoked token then passes; each pass is
        logged), instead of answering 503.
        """
        required_scopes = _scope_names(scopes)
        required_roles = _role_names(roles)

        if fail_open:

            async def fail_open_dependency(request: Request) -> Claims:
                authorization = request.headers.get("Authorization")
                if self.blocking:
                    return await run_in_threadpool(
                        self.verify,
                        authorization,
                        scopes=required_scopes,
                        roles=required_roles,
                        fail_open=True,
                    )
                return self.verify(
                    authorization, scopes=required_scopes, roles=required_roles, fail_open=True
                )

            return fail_open_dependency

        async def dependency(request: Request) -> Claims:
            return await self.authenticate(request, scopes=required_scopes, roles=required_roles)

        return dependency

    async def authenticate(
        self, request: Request, *, scopes: Iterable[str] = (), roles: Iterable[str] = ()
    ) -> Claims:
        """The claims for this request (also for plain Starlette endpoints).

        Runs in the thread pool when the denylist may block (see ``blocking``).
        """
        authorization = request.headers.get("Authorization")
        if self.blocking:
            return await run_in_threadpool(self.verify, authorization, scopes=scopes, roles=roles)
        return self.verify(authorization, scopes=scopes, roles=roles)

    def verify(
        self,
        authorization: Optional[str],
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
        fail_open: bool = False,
        check_revoked: bool = True,
    ) -> Claims:
        """Check an ``Authorization`` header value; return the claims or raise HTTPException.

        A store outage answers 503, unless ``fail_open`` (see ``require``);
        ``check_revoked=False`` skips the denylist altogether.
        """
        required_scopes = _scope_names(scopes)
        try:
            token = extract_bearer(authorization)
            claims = self.issuer.verify_access(
                token, scopes=required_scopes, roles=_role_names(roles), check_revoked=check_revoked
            )
            if "cnf" in claims:
                # RFC 9449 7.1: a DPoP-bound token is no bearer token (see fastapi_dpop).
                check_binding(claims, None)
            return claims
        except (MissingAuthorizationError, UnsupportedSchemeError) as exc:
            # RFC 6750 3.1: a request without credentials gets no error code.
            raise self._challenge(401, str(exc)) from exc
        except MalformedAuthorizationError as exc:
            raise self._challenge(400, str(exc), error="invalid_request") from exc
        except InsufficientScopeError as exc:
            raise self._challenge(
                403, str(exc), error="insufficient_scope", scope=required_scopes
            ) from exc
        except StoreUnavailableError as exc:
            if not fail_open:
                raise service_unavailable(exc) from exc
            claims = self.verify(authorization, scopes=scopes, roles=roles, check_revoked=False)
            _store_logger.warning(
                "fail-open: accepted a token of %r (jti %r) without a revocation check: %s",
                claims.get("sub"),
                claims.get("jti"),
                exc,
            )
            return claims
        except InvalidTokenError as exc:
            raise self._challenge(401, str(exc), error="invalid_token") from exc

    def _challenge(
        self,
        status_code: int,
        description: str,
        *,
        error: Optional[str] = None,
        scope: Iterable[str] = (),
    ) -> HTTPException:
        header = f'Bearer realm="{self.realm}"'
        if error is not None:
            header += f', error="{error}", error_description="{_description(description)}"'
            scope_value = " ".join(sorted({_scope_token(s) for s in scope}))
            if scope_value:
                header += f', scope="{scope_value}"'
        return HTTPException(status_code, detail=description, headers={"WWW-Authenticate": header})


def service_unavailable(error: StoreUnavailableError) -> HTTPException:
    """The 503 answer to a store outage, with ``Retry-After`` in whole seconds (at least 1)."""
    retry_after = max(1, math.ceil(error.retry_after))
    return HTTPException(
        503,
        detail="The token store is unavailable; retry later",
        headers={"Retry-After": str(retry_after)},
    )


def _scope_names(scopes: Iterable[str]) -> tuple[str, ...]:
    return tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)


def _role_names(roles: Iterable[str]) -> tuple[str, ...]:
    return (roles,) if isinstance(roles, str) else tuple(roles)


def _check_realm(realm: str) -> None:
    if not all(" " <= char <= "~" and char not in '"\\' for char in realm):
        raise ValueError("realm must be printable ASCII without double quotes or backslashes")


def _description(text: str) -> str:
    # RFC 6750 3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E, so the
    # quote and the backslash cannot appear even escaped; substitute lookalikes.
    text = text.replace('"', "'").replace("\\", "/")
    return "".join(char if " " <= char <= "~" else "?" for char in text)


def _scope_token(scope: str) -> str:
    # RFC 6749 3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
    return "".join(char if "!" <= char <= "~" and char not in '"\\' else "?" for char in scope)
