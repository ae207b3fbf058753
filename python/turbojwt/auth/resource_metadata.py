"""OAuth 2.0 Protected Resource Metadata (RFC 9728) for FastAPI and Starlette.

A client that meets a 401 from a resource server (an MCP client, typically) fetches
``/.well-known/oauth-protected-resource`` to learn which authorization servers issue tokens
for it, which scopes exist and whether DPoP is required. RFC 9728 section 3.1 puts the
document at the well-known prefix *followed by* the resource's path:
``https://api.example/mcp`` is described at
``https://api.example/.well-known/oauth-protected-resource/mcp``.

``protected_resource_metadata(...)`` builds the document (a dict), and
``protected_resource_route(...)`` a Starlette ``Route`` serving it, which FastAPI apps
add with ``app.router.routes.append(route)`` and Starlette apps list in ``routes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

__all__ = [
    "WELL_KNOWN_PATH",
    "protected_resource_metadata",
    "protected_resource_route",
    "resource_metadata_path",
    "resource_metadata_url",
]

WELL_KNOWN_PATH = "/.well-known/oauth-protected-resource"


def _resource_parts(resource: str) -> tuple[str, str]:
    parts = urlsplit(resource)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"resource must be an absolute http(s) URL, not {resource!r}")
    if parts.query or parts.fragment:
        # RFC 9728 section 1.2: the resource identifier has no fragment (and RFC 8707
        # section 2 asks for no query).
        raise ValueError("resource must have no query or fragment")
    path = parts.path if parts.path != "/" else ""
    return f"{parts.scheme}://{parts.netloc}", path


def resource_metadata_path(resource: str) -> str:
    """The path of ``resource``'s metadata document: the well-known prefix, then its path."""
    return WELL_KNOWN_PATH + _resource_parts(resource)[1]


def resource_metadata_url(resource: str) -> str:
    """The URL of ``resource``'s metadata document (``resource_metadata`` in challenges)."""
    origin, path = _resource_parts(resource)
    return origin + WELL_KNOWN_PATH + path


def protected_resource_metadata(
    resource: str,
    authorization_servers: Iterable[str],
    *,
    scopes_supported: Optional[Iterable[str]] = None,
    bearer_methods_supported: Iterable[str] = ("header",),
    dpop_signing_alg_values_supported: Optional[Iterable[str]] = None,
    dpop_bound_access_tokens_required: Optional[bool] = None,
    jwks_uri: Optional[str] = None,
    resource_name: Optional[str] = None,
    resource_documentation: Optional[str] = None,
    extra: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """The RFC 9728 section 2 document for ``resource`` (omitting unset members)."""
    _resource_parts(resource)
    document: dict[str, Any] = {"resource": resource}
    servers = list(authorization_servers)
    if servers:
        document["authorization_servers"] = servers
    optional: dict[str, Any] = {
        "jwks_uri": jwks_uri,
        "scopes_supported": None if scopes_supported is None else list(scopes_supported),
        "bearer_methods_supported": list(bearer_methods_supported),
        "resource_name": resource_name,
        "resource_documentation": resource_documentation,
        "dpop_signing_alg_values_supported": None
        if dpop_signing_alg_values_supported is None
        else list(dpop_signing_alg_values_supported),
        "dpop_bound_access_tokens_required": dpop_bound_access_tokens_required,
    }
    document.update((name, value) for name, value in optional.items() if value is not None)
    if extra:
        clash = set(extra).intersection(document)
        if clash:
            raise ValueError(f"extra may not repeat: {', '.join(sorted(clash))}")
        document.update(extra)
    return document


def protected_resource_route(
    resource: str,
    authorization_servers: Iterable[str] = (),
    *,
    metadata: Optional[Mapping[str, Any]] = None,
    max_age: int = 3600,
    **members: Any,
) -> Any:
    """A Starlette ``Route`` answering ``GET`` on the metadata path with the document.

    Pass the document's members as keywords (as for ``protected_resource_metadata``), or a
    ready ``metadata`` dict. The answer is ``application/json`` with CORS allowed, as
    browser-based clients read it, and cacheable for ``max_age`` seconds.
    """
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    if metadata is None:
        document = protected_resource_metadata(resource, authorization_servers, **members)
    else:
        if members or list(authorization_servers):
            raise TypeError("pass metadata or the document's members, not both")
        if metadata.get("resource") != resource:
            raise ValueError("metadata['resource'] must be the resource")
        document = dict(metadata)
    headers = {
        "Cache-Control": f"public, max-age={int(max_age)}",
        "Access-Control-Allow-Origin": "*",
    }

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse(document, headers=headers)

    return Route(
        resource_metadata_path(resource),
        endpoint,
        methods=["GET"],
        name="oauth_protected_resource",
    )
