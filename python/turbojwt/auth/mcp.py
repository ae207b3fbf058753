"""turbojwt as the token verifier of an MCP server (the official ``mcp`` Python SDK).

The SDK's servers (``mcp.server.mcpserver.MCPServer``, formerly ``FastMCP``, and the
low-level ``Server``) take a ``token_verifier`` with one method,
``async verify_token(token) -> AccessToken | None``. ``MCPTokenVerifier`` implements it on
an ``AccessTokenVerifier`` (RFC 9068 tokens from any authorization server) or a
``TokenIssuer`` (tokens this application issues):

- ``None`` for any invalid token (the SDK answers 401 ``invalid_token``), and for a
  DPoP-bound token, which the SDK's bearer-only transport cannot prove;
- otherwise an ``AccessToken`` with ``client_id`` (the ``client_id`` claim, else
  ``azp``, else ``sub``), ``scopes`` (from ``scope`` or ``scp``), ``expires_at`` (``exp``),
  ``resource`` (the ``aud`` entry naming this resource), ``subject`` (``sub``) and all
  ``claims``.

Errors that are not about the token (a denylist store that is down) propagate, so the
server answers 5xx instead of treating the client as unauthenticated. Needs the ``mcp``
package: ``pip install 'turbojwt[mcp]'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ..exceptions import InvalidTokenError
from .dpop import confirmation_jkt
from .exceptions import StoreUnavailableError
from .scopes import scopes_of

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

    from .issuer import TokenIssuer
    from .profile import AccessTokenVerifier

__all__ = ["MCPTokenVerifier", "access_token_from_claims"]


def _access_token_class() -> Any:
    try:
        from mcp.server.auth.provider import AccessToken
    except ImportError as exc:
        raise ImportError(
            "MCPTokenVerifier needs the mcp package: pip install 'turbojwt[mcp]'"
        ) from exc
    return AccessToken


def _resource_of(claims: Mapping[str, Any], resource: Optional[str]) -> Optional[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return audience if resource is None or audience == resource else None
    if isinstance(audience, list):
        if resource is not None:
            return resource if resource in audience else None
        return audience[0] if len(audience) == 1 and isinstance(audience[0], str) else None
    return None


def access_token_from_claims(
    token: str, claims: Mapping[str, Any], *, resource: Optional[str] = None
) -> AccessToken:
    """The SDK's ``AccessToken`` for a verified token and its claims."""
    client_id = claims.get("client_id") or claims.get("azp") or claims.get("sub")
    if not isinstance(client_id, str):
        raise InvalidTokenError("The token names no client (client_id, azp or sub)")
    expires_at = claims.get("exp")
    subject = claims.get("sub")
    access_token: AccessToken = _access_token_class()(
        token=token,
        client_id=client_id,
        scopes=sorted(scopes_of(claims)),
        expires_at=int(expires_at) if isinstance(expires_at, (int, float)) else None,
        resource=_resource_of(claims, resource),
        subject=subject if isinstance(subject, str) else None,
        claims=dict(claims),
    )
    return access_token


class MCPTokenVerifier:
    """An MCP SDK ``TokenVerifier`` backed by turbojwt.

    ``verifier``: an ``AccessTokenVerifier`` or a ``TokenIssuer``. ``resource``: this MCP
    server's identifier, reported as ``AccessToken.resource`` (the ``AccessTokenVerifier``'s
    by default); give the SDK the same URL as ``AuthSettings.resource_server_url``.
    ``blocking``: whether verifying may block (a SQLite or Redis denylist), so that it runs
    in a worker thread; by default the verifier's own answer.
    """

    def __init__(
        self,
        verifier: Union[AccessTokenVerifier, TokenIssuer],
        *,
        resource: Optional[str] = None,
        blocking: Optional[bool] = None,
    ) -> None:
        _access_token_class()  # fail now, not at the first request, without the SDK
        verify_access = getattr(verifier, "verify_access", None)
        self._verify: Callable[[str], dict[str, Any]] = (
            verify_access if verify_access is not None else verifier.verify  # type: ignore[union-attr]
        )
        self.verifier = verifier
        self.resource = resource if resource is not None else getattr(verifier, "resource", None)
        if blocking is None:
            blocking = getattr(verifier, "blocking", None)
            if blocking is None:
                denylist = getattr(verifier, "denylist", None)
                blocking = denylist is not None and bool(getattr(denylist, "blocking", True))
        self.blocking = bool(blocking)

    def __repr__(self) -> str:
        return f"MCPTokenVerifier({self.verifier!r}, resource={self.resource!r})"

    def verify_claims(self, token: str) -> Optional[dict[str, Any]]:
        """The claims of a valid, unbound token, or None (synchronous)."""
        try:
            claims = self._verify(token)
            if confirmation_jkt(claims) is not None:
                return None  # DPoP-bound: no proof can come over the SDK's bearer transport
        except StoreUnavailableError:
            raise  # not a verdict on the token: the server answers 5xx, not 401
        except InvalidTokenError:
            return None
        return claims

    async def verify_token(self, token: str) -> Optional[AccessToken]:
        if self.blocking:
            import anyio.to_thread

            claims = await anyio.to_thread.run_sync(self.verify_claims, token)
        else:
            claims = self.verify_claims(token)
        if claims is None:
            return None
        try:
            return access_token_from_claims(token, claims, resource=self.resource)
        except InvalidTokenError:
            return None
