"""MCP servers: turbojwt as the token verifier of the official MCP Python SDK.

A real ``mcp.server.mcpserver.MCPServer`` runs in uvicorn on 127.0.0.1 with
``MCPTokenVerifier`` and answers a tool call only with a valid RFC 9068 access token for its
resource, through plain HTTP JSON-RPC (httpx) and through the SDK's own client. The RFC 9728
metadata helper is checked against the SDK's ``ProtectedResourceMetadata`` model.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest

pytest.importorskip("mcp")
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from turbojwt.auth import SQLiteDenylist, TokenIssuer
from turbojwt.auth.mcp import MCPTokenVerifier, access_token_from_claims
from turbojwt.auth.profile import AccessTokenVerifier
from turbojwt.auth.resource_metadata import (
    protected_resource_metadata,
    protected_resource_route,
    resource_metadata_path,
    resource_metadata_url,
)

AS = "https://as.example.com"
SECRET = b"mcp-test-secret-" * 3
JSON_RPC_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-06-18",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mint(resource: str, typ: str = "at+jwt", **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": AS,
        "aud": resource,
        "sub": "user-1",
        "client_id": "agent-7",
        "iat": now,
        "exp": now + 300,
        "jti": f"jti-{time.monotonic_ns()}",
        "scope": "tools:call files:read",
    }
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return pyjwt.encode(claims, SECRET, "HS256", headers={"typ": typ})


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[str]:
    """An MCPServer with one tool, behind MCPTokenVerifier; yields its resource URL."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    verifier = MCPTokenVerifier(AccessTokenVerifier(SECRET, ["HS256"], issuer=AS,
                                                    resource=resource))  # fmt: skip
    server = MCPServer(
        "calculator",
        token_verifier=verifier,
        auth=AuthSettings(
            issuer_url=AS,  # type: ignore[arg-type]
            resource_server_url=resource,  # type: ignore[arg-type]
            validate_token_resource=True,
            required_scopes=["tools:call"],
        ),
    )

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    app = server.streamable_http_app(stateless_http=True, json_response=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    http_server = uvicorn.Server(config)
    thread = threading.Thread(target=http_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not http_server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.02)
    try:
        yield resource
    finally:
        http_server.should_exit = True
        thread.join(timeout=10)


def call_add(resource: str, token: str | None) -> httpx.Response:
    headers = dict(JSON_RPC_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}  # fmt: skip
    return httpx.post(resource, json=body, headers=headers, timeout=10)


def test_tool_call_with_a_valid_token(mcp_server: str) -> None:
    response = call_add(mcp_server, mint(mcp_server))
    assert response.status_code == 200, response.text
    assert response.json()["result"]["structuredContent"] == {"result": 5}


def test_tool_call_through_the_sdk_client(mcp_server: str) -> None:
    httpx2 = pytest.importorskip("httpx2")
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> Any:
        headers = {"Authorization": f"Bearer {mint(mcp_server)}"}
        async with httpx2.AsyncClient(headers=headers) as http_client:
            async with streamable_http_client(mcp_server, http_client=http_client) as streams:
                async with ClientSession(*streams) as session:
                    await session.initialize()
                    return await session.call_tool("add", {"a": 40, "b": 2})

    result = asyncio.run(run())
    assert not result.is_error
    assert result.structured_content == {"result": 42}


def test_no_token(mcp_server: str) -> None:
    response = call_add(mcp_server, None)
    assert response.status_code == 401
    metadata_url = resource_metadata_url(mcp_server)
    assert f'resource_metadata="{metadata_url}"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("another resource", lambda r: mint("http://127.0.0.1:1/other")),
        ("an ID token", lambda r: mint(r, typ="JWT", nonce="n-0S6")),
        ("a refresh-like typ", lambda r: mint(r, typ="refresh+jwt")),
        ("expired", lambda r: mint(r, exp=int(time.time()) - 60)),
        ("no client_id", lambda r: mint(r, client_id=None)),
        ("another issuer", lambda r: mint(r, iss="https://evil.example")),
        (
            "DPoP-bound",
            lambda r: mint(r, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        ),
        ("forged", lambda r: mint(r)[:-4] + "AAAA"),
    ],
)
def test_invalid_tokens_are_refused(mcp_server: str, case: str, make: Any) -> None:
    response = call_add(mcp_server, make(mcp_server))
    assert response.status_code == 401, case
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_missing_scope(mcp_server: str) -> None:
    response = call_add(mcp_server, mint(mcp_server, scope="files:read"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_sdk_served_metadata_matches_the_helper(mcp_server: str) -> None:
    served = httpx.get(resource_metadata_url(mcp_server), timeout=10).json()
    ours = protected_resource_metadata(mcp_server, [AS], scopes_supported=["tools:call"])
    assert served == ours


# --- the adapter, directly ------------------------------------------------------------------


def test_access_token_fields() -> None:
    resource = "https://mcp.example.com/mcp"
    verifier = MCPTokenVerifier(AccessTokenVerifier(SECRET, ["HS256"], issuer=AS,
                                                    resource=resource))  # fmt: skip
    token = mint(resource, aud=["https://other.example", resource], scp=None)
    access = asyncio.run(verifier.verify_token(token))
    assert isinstance(access, AccessToken)
    assert access.token == token
    assert access.client_id == "agent-7"
    assert access.scopes == ["files:read", "tools:call"]
    assert access.resource == resource
    assert access.subject == "user-1"
    assert access.claims is not None and access.claims["iss"] == AS
    assert isinstance(access.expires_at, int) and access.expires_at > time.time()
    assert asyncio.run(verifier.verify_token("not-a-token")) is None
    # scp as a list, azp when there is no client_id.
    converted = access_token_from_claims(
        "t", {"scp": ["a", "b"], "azp": "web", "sub": "u", "aud": resource}, resource=resource
    )
    assert (converted.client_id, converted.scopes, converted.resource) == ("web", ["a", "b"],
                                                                           resource)  # fmt: skip


def test_token_issuer_backend_and_a_blocking_denylist(tmp_path: Path) -> None:
    resource = "https://mcp.example.com/mcp"
    denylist = SQLiteDenylist(tmp_path / "denylist.sqlite3")
    issuer = TokenIssuer(SECRET, "HS256", issuer=AS, audience=resource, denylist=denylist,
                         client_id="agent-9")  # fmt: skip
    verifier = MCPTokenVerifier(issuer, resource=resource)
    assert verifier.blocking
    pair = issuer.issue("user-2", scopes="tools:call")
    access = asyncio.run(verifier.verify_token(pair.access_token))
    assert access is not None
    assert (access.client_id, access.subject, access.scopes) == ("agent-9", "user-2",
                                                                 ["tools:call"])  # fmt: skip
    issuer.revoke(pair.access_token)
    assert asyncio.run(verifier.verify_token(pair.access_token)) is None
    assert asyncio.run(verifier.verify_token(pair.refresh_token)) is None
    denylist.close()


# --- RFC 9728 metadata from FastAPI and Starlette --------------------------------------------


def test_metadata_route_in_fastapi_and_the_sdk_model() -> None:
    from fastapi import FastAPI
    from mcp.shared.auth import ProtectedResourceMetadata
    from starlette.applications import Starlette

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx2")
        from starlette.testclient import TestClient

    resource = "https://api.example.com/mcp"
    route = protected_resource_route(
        resource,
        [AS],
        scopes_supported=["tools:call"],
        dpop_signing_alg_values_supported=["ES256", "EdDSA"],
        dpop_bound_access_tokens_required=True,
        resource_name="Calculator",
    )
    assert resource_metadata_path(resource) == "/.well-known/oauth-protected-resource/mcp"
    for app in (FastAPI(), Starlette(routes=[route])):
        if isinstance(app, FastAPI):
            app.router.routes.append(route)
        client = TestClient(app)
        response = client.get("/.well-known/oauth-protected-resource/mcp")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "max-age=3600" in response.headers["cache-control"]
        document = response.json()
        assert document == {
            "resource": resource,
            "authorization_servers": [AS],
            "scopes_supported": ["tools:call"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Calculator",
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
            "dpop_bound_access_tokens_required": True,
        }
        model = ProtectedResourceMetadata.model_validate(document)
        assert str(model.resource) == resource
        assert client.post("/.well-known/oauth-protected-resource/mcp").status_code == 405
    root = protected_resource_route("https://api.example.com", [AS])
    assert root.path == "/.well-known/oauth-protected-resource"
    for bad in ("api.example.com", "https://api.example.com/?q=1", "https://a.example/#f"):
        with pytest.raises(ValueError):
            protected_resource_metadata(bad, [AS])


def test_store_outage_is_not_an_invalid_token() -> None:
    from turbojwt.auth import MemoryDenylist
    from turbojwt.auth.exceptions import StoreUnavailableError

    class DownDenylist(MemoryDenylist):
        def revoked(self, jtis: Any) -> set[str]:
            raise StoreUnavailableError("Revocation store unavailable")

    resource = "https://mcp.example.com/mcp"
    verifier = MCPTokenVerifier(AccessTokenVerifier(SECRET, ["HS256"], issuer=AS,
                                resource=resource, denylist=DownDenylist()))  # fmt: skip
    with pytest.raises(StoreUnavailableError):
        asyncio.run(verifier.verify_token(mint(resource)))
