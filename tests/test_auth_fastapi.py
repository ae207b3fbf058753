"""The FastAPI/Starlette dependency: status codes and WWW-Authenticate per RFC 6750 section 3."""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from turbojwt.auth import MemoryDenylist, TokenIssuer
from turbojwt.auth.fastapi import BearerAuth
from turbojwt.exceptions import InvalidTokenError

with warnings.catch_warnings():
    # Recent Starlette releases want httpx2 for the test client and warn on httpx.
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

SECRET = b"k" * 32
OTHER_SECRET = b"o" * 32
ISSUER_NAME = "https://issuer.example"
AUDIENCE = "api://example"
ADMIN_SCOPES = ("admin:write", "admin:read")


def make_issuer(secret: bytes = SECRET, *, clock: Any = time.time) -> TokenIssuer:
    return TokenIssuer(
        secret,
        "HS256",
        issuer=ISSUER_NAME,
        audience=AUDIENCE,
        access_ttl=300,
        refresh_ttl=3600,
        denylist=MemoryDenylist(),
        clock=clock,
    )


def make_app(auth: BearerAuth) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    def me(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        return claims

    @app.get("/admin")
    def admin(
        claims: dict[str, Any] = Depends(auth.require(scopes=ADMIN_SCOPES)),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    @app.get("/staff")
    def staff(
        claims: dict[str, Any] = Depends(auth.require(roles="staff")),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    return app


@pytest.fixture
def issuer() -> TokenIssuer:
    return make_issuer()


@pytest.fixture
def client(issuer: TokenIssuer) -> Iterator[TestClient]:
    with TestClient(make_app(BearerAuth(issuer))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(response: Any) -> dict[str, str]:
    """The auth-params of a ``Bearer`` challenge, after checking its overall shape."""
    header = response.headers["WWW-Authenticate"]
    assert header.isascii()
    match = re.fullmatch(r'Bearer ((?:\w+="[^"\\]*"(?:, )?)+)', header)
    assert match is not None, header
    params = dict(re.findall(r'(\w+)="([^"\\]*)"', match.group(1)))
    assert ", ".join(f'{k}="{v}"' for k, v in params.items()) == match.group(1)
    return params


def test_valid_access_token_yields_its_claims(client: TestClient, issuer: TokenIssuer) -> None:
    pair = issuer.issue("alice", scopes="profile:read", claims={"tenant": "t1"})
    response = client.get("/me", headers=bearer(pair.access_token))
    assert response.status_code == 200
    claims = response.json()
    assert claims["sub"] == "alice"
    assert claims["tenant"] == "t1"
    assert claims["token_use"] == "access"
    assert "WWW-Authenticate" not in response.headers


def test_scheme_is_case_insensitive(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue("alice").access_token
    response = client.get("/me", headers={"Authorization": f"bEARER {token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


def test_missing_header_is_401_without_error_code(client: TestClient) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": "Authorization header is missing"}


def test_other_scheme_is_401_without_error_code(client: TestClient) -> None:
    response = client.get("/me", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer a.b.c extra", "Bearer a,b", "Bearer tok\u00e9n"],
)
def test_malformed_header_is_400_invalid_request(client: TestClient, authorization: str) -> None:
    response = client.get("/me", headers={"Authorization": authorization.encode("latin-1")})
    assert response.status_code == 400
    params = challenge(response)
    assert params["realm"] == "api"
    assert params["error"] == "invalid_request"
    assert params["error_description"]
    assert "scope" not in params


def test_expired_token_is_401_invalid_token(client: TestClient) -> None:
    past = make_issuer(clock=lambda: time.time() - 3600)
    response = client.get("/me", headers=bearer(past.issue("alice").access_token))
    assert response.status_code == 401
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert "expired" in params["error_description"].lower()


def test_bad_signature_is_401_invalid_token(client: TestClient) -> None:
    forged = make_issuer(OTHER_SECRET).issue("alice").access_token
    response = client.get("/me", headers=bearer(forged))
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token"


def test_garbage_token_is_401_invalid_token(client: TestClient) -> None:
    response = client.get("/me", headers=bearer("not.a.jwt"))
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token"


def test_revoked_token_is_401_invalid_token(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue("alice").access_token
    assert client.get("/me", headers=bearer(token)).status_code == 200
    issuer.revoke(token)
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 401
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["error_description"] == "Token has been revoked"


def test_refresh_token_is_not_an_access_token(client: TestClient, issuer: TokenIssuer) -> None:
    pair = issuer.issue("alice")
    response = client.get("/me", headers=bearer(pair.refresh_token))
    assert response.status_code == 401
    params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["error_description"] == "Expected an access token"


def test_missing_scope_is_403_with_the_required_scopes(
    client: TestClient, issuer: TokenIssuer
) -> None:
    token = issuer.issue("alice", scopes=["admin:read", "profile:read"]).access_token
    response = client.get("/admin", headers=bearer(token))
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "admin:read admin:write"
    assert params["error_description"] == "Token lacks required scope(s): admin:write"


def test_all_required_scopes_pass(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue("alice", scopes=" ".join(ADMIN_SCOPES)).access_token
    response = client.get("/admin", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


def test_missing_role_is_403_insufficient_scope(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue("bob", roles=["intern"]).access_token
    response = client.get("/staff", headers=bearer(token))
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["error_description"] == "Token lacks required role(s): staff"
    assert "scope" not in params  # no scope is required there, only a role

    token = issuer.issue("carol", roles=["staff"]).access_token
    assert client.get("/staff", headers=bearer(token)).status_code == 200


def test_401_precedes_scope_checks(client: TestClient) -> None:
    response = client.get("/admin")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


class RaisingIssuer:
    """Stands in for a TokenIssuer whose verification fails with a given error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def verify_access(self, token: str, **requirements: Any) -> dict[str, Any]:
        raise self.error


def test_description_is_quoted_safely() -> None:
    message = 'Bad "kid" \\ value \u00e9\r\n, error="x"'
    auth = BearerAuth(cast(TokenIssuer, RaisingIssuer(InvalidTokenError(message))))
    with TestClient(make_app(auth)) as test_client:
        response = test_client.get("/me", headers=bearer("a.b.c"))
    assert response.status_code == 401
    params = challenge(response)  # exactly realm, error and error_description survive
    assert set(params) == {"realm", "error", "error_description"}
    assert params["error"] == "invalid_token"
    assert params["error_description"] == "Bad 'kid' / value ???, error='x'"
    assert response.json() == {"detail": message}  # the body keeps the original text


def test_custom_realm(issuer: TokenIssuer) -> None:
    with TestClient(make_app(BearerAuth(issuer, realm="billing"))) as test_client:
        response = test_client.get("/me", headers=bearer("x.y.z"))
    assert challenge(response)["realm"] == "billing"


@pytest.mark.parametrize("realm", ['say "hi"', "back\\slash", "caf\u00e9", "tab\t"])
def test_unsafe_realm_is_refused(issuer: TokenIssuer, realm: str) -> None:
    with pytest.raises(ValueError, match="realm"):
        BearerAuth(issuer, realm=realm)


def test_plain_starlette_endpoint(issuer: TokenIssuer) -> None:
    auth = BearerAuth(issuer)

    async def me(request: Request) -> Response:
        claims = await auth.authenticate(request, scopes="profile:read openid")
        return JSONResponse({"sub": claims["sub"]})

    app = Starlette(routes=[Route("/me", me)])
    with TestClient(app) as test_client:
        missing = test_client.get("/me")
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'

        no_scope = test_client.get("/me", headers=bearer(issuer.issue("a").access_token))
        assert no_scope.status_code == 403
        assert challenge(no_scope)["scope"] == "openid profile:read"

        token = issuer.issue("alice", scopes="openid profile:read").access_token
        ok = test_client.get("/me", headers=bearer(token))
        assert ok.status_code == 200
        assert ok.json() == {"sub": "alice"}


class ThreadRecordingDenylist(MemoryDenylist):
    """A memory denylist that records which thread asks it, and claims to block or not."""

    def __init__(self, blocking: bool) -> None:
        super().__init__()
        self.blocking = blocking  # type: ignore[misc]
        self.threads: list[int] = []

    def revoked(self, jtis: Any) -> set[str]:
        self.threads.append(threading.get_ident())
        return super().revoked(jtis)


def issuer_with(denylist: Any) -> TokenIssuer:
    return TokenIssuer(SECRET, "HS256", issuer=ISSUER_NAME, audience=AUDIENCE, denylist=denylist)


@pytest.mark.parametrize("store_blocks", [True, False])
def test_verification_runs_on_the_loop_unless_the_store_blocks(store_blocks: bool) -> None:
    denylist = ThreadRecordingDenylist(blocking=store_blocks)
    issuer = issuer_with(denylist)
    auth = BearerAuth(issuer)
    assert auth.blocking is store_blocks
    app = make_app(auth)
    loop_threads: list[int] = []

    @app.get("/loop")
    async def loop(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        loop_threads.append(threading.get_ident())
        return claims

    pair = issuer.issue("alice", scopes=ADMIN_SCOPES)
    with TestClient(app) as test_client:
        for path in ("/loop", "/admin"):
            response = test_client.get(path, headers=bearer(pair.access_token))
            assert response.status_code == 200, response.text
    assert len(denylist.threads) == 2
    on_loop = [ident == loop_threads[0] for ident in denylist.threads]
    assert on_loop == [not store_blocks] * 2


def test_blocking_default_follows_the_store(tmp_path: Any) -> None:
    from turbojwt.auth import SQLiteDenylist

    assert BearerAuth(issuer_with(MemoryDenylist())).blocking is False
    assert BearerAuth(issuer_with(None)).blocking is False
    sqlite = SQLiteDenylist(tmp_path / "deny.db")
    try:
        assert BearerAuth(issuer_with(sqlite)).blocking is True
        assert BearerAuth(issuer_with(sqlite), blocking=False).blocking is False
    finally:
        sqlite.close()

    class PlainStore(MemoryDenylist):
        pass

    del_store = PlainStore()
    assert BearerAuth(issuer_with(del_store)).blocking is False  # inherits the attribute
    assert BearerAuth(issuer_with(del_store), blocking=True).blocking is True
