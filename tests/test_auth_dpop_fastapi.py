"""DPoPAuth: DPoP, Bearer or both per route; RFC 9449 section 7 challenges and nonces."""

from __future__ import annotations

import time
import warnings
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from turbojwt.auth import MemoryDenylist, TokenIssuer
from turbojwt.auth.dpop import DPoPNonces, DPoPVerifier
from turbojwt.auth.fastapi import BearerAuth
from turbojwt.auth.fastapi_dpop import DPoPAuth

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.asymmetric import ec
from test_auth_dpop import hand_thumbprint, make_proof, public_jwk

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

BASE = "http://testserver"
ALGS = 'algs="ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256"'


@pytest.fixture(scope="module")
def key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(b"k" * 32, "HS256", issuer="https://as.example", audience=BASE,
                       denylist=MemoryDenylist(), client_id="cli")  # fmt: skip


def make_app(auth: DPoPAuth, bearer: BearerAuth) -> FastAPI:
    app = FastAPI()

    @app.get("/dpop")
    def dpop_only(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        return claims

    @app.post("/either")
    def either(
        claims: dict[str, Any] = Depends(auth.require(schemes=["Bearer", "DPoP"])),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    @app.get("/admin")
    def admin(
        claims: dict[str, Any] = Depends(auth.require(scopes=["admin"])),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    @app.get("/bearer")
    def bearer_only(claims: dict[str, Any] = Depends(bearer)) -> dict[str, Any]:  # noqa: B008
        return claims

    return app


@pytest.fixture
def client(issuer: TokenIssuer) -> TestClient:
    auth = DPoPAuth(issuer, DPoPVerifier(MemoryDenylist()))
    return TestClient(make_app(auth, BearerAuth(issuer)))


def headers(token: str, proof: str | None = None, scheme: str = "DPoP") -> dict[str, str]:
    result = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        result["DPoP"] = proof
    return result


def test_dpop_route(client: TestClient, issuer: TokenIssuer, key: Any) -> None:
    token = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    proof = make_proof(key, htu=f"{BASE}/dpop", access_token=token)
    ok = client.get("/dpop?x=1", headers=headers(token, proof))
    assert ok.status_code == 200, ok.text
    assert ok.json()["sub"] == "alice"
    replay = client.get("/dpop", headers=headers(token, proof))
    assert replay.status_code == 401
    assert replay.headers["WWW-Authenticate"] == (
        'DPoP realm="api", error="invalid_dpop_proof", error_description='
        f'"The DPoP proof was already used (jti replay)", {ALGS}'
    )


def test_no_credentials_challenges(client: TestClient) -> None:
    assert client.get("/dpop").headers["WWW-Authenticate"] == f'DPoP realm="api", {ALGS}'
    either = client.post("/either")
    assert either.status_code == 401
    assert either.headers["WWW-Authenticate"] == f'Bearer realm="api", DPoP realm="api", {ALGS}'


def test_bearer_scheme_on_a_dpop_route(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue("alice").access_token
    response = client.get("/dpop", headers=headers(token, scheme="Bearer"))
    assert response.status_code == 401
    assert "error=" not in response.headers["WWW-Authenticate"]


def test_either_route(client: TestClient, issuer: TokenIssuer, key: Any) -> None:
    plain = issuer.issue("bob").access_token
    assert client.post("/either", headers=headers(plain, scheme="Bearer")).status_code == 200
    bound = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    # A bound token as a bearer token: refused, on either kind of route.
    for path, call in (("/either", client.post), ("/bearer", client.get)):
        refused = call(path, headers=headers(bound, scheme="Bearer"))
        assert refused.status_code == 401, path
        assert 'Bearer realm="api", error="invalid_token"' in refused.headers["WWW-Authenticate"]
    proof = make_proof(key, htm="POST", htu=f"{BASE}/either", access_token=bound)
    assert client.post("/either", headers=headers(bound, proof)).status_code == 200
    # An unbound token with the DPoP scheme is refused: there is nothing to prove.
    proof = make_proof(key, htm="POST", htu=f"{BASE}/either", access_token=plain)
    unbound = client.post("/either", headers=headers(plain, proof))
    assert unbound.status_code == 401
    assert 'DPoP realm="api", error="invalid_token"' in unbound.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"htm": "POST"}, "for POST requests"),
        ({"htu": f"{BASE}/dpop?x=1"}, "no query or fragment"),
        ({"htu": f"{BASE}/other"}, "htu does not match"),
        ({"iat": time.time() - 3600}, "too old"),
        ({"access_token": "other"}, "ath does not match"),
        ({"typ": "JWT"}, "typ must be dpop"),
        # Lone surrogates (JSON "\\ud800" escapes) are a bad proof, not a server error.
        ({"claims": {"jti": "\ud800"}}, "jti claim is not a valid"),
        ({"claims": {"ath": "\ud800"}}, "ath does not match"),
    ],
)
def test_each_proof_error(
    client: TestClient, issuer: TokenIssuer, key: Any, change: dict[str, Any], message: str
) -> None:
    token = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    arguments: dict[str, Any] = {"htu": f"{BASE}/dpop", "access_token": token, **change}
    response = client.get("/dpop", headers=headers(token, make_proof(key, **arguments)))
    assert response.status_code == 401
    header = response.headers["WWW-Authenticate"]
    assert header.startswith('DPoP realm="api", error="invalid_dpop_proof"'), header
    assert message in header
    assert header.endswith(ALGS)


def test_thumbprint_mismatch_and_missing_proof(
    client: TestClient, issuer: TokenIssuer, key: Any
) -> None:
    token = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    thief = ec.generate_private_key(ec.SECP256R1())
    stolen = client.get("/dpop", headers=headers(token, make_proof(thief, htu=f"{BASE}/dpop",
                        access_token=token)))  # fmt: skip
    assert stolen.status_code == 401
    assert "does not match the token" in stolen.headers["WWW-Authenticate"]
    missing = client.get("/dpop", headers=headers(token))
    assert missing.status_code == 401
    assert 'error="invalid_dpop_proof"' in missing.headers["WWW-Authenticate"]
    proof = make_proof(key, htu=f"{BASE}/dpop", access_token=token)
    two = client.get("/dpop", headers=[("Authorization", f"DPoP {token}"), ("DPoP", proof),
                                       ("DPoP", proof)])  # fmt: skip
    assert two.status_code == 401
    assert "exactly one" in two.headers["WWW-Authenticate"]
    # The refused requests did not spend the proof.
    assert client.get("/dpop", headers=headers(token, proof)).status_code == 200


def test_scopes(client: TestClient, issuer: TokenIssuer, key: Any) -> None:
    jkt = hand_thumbprint(public_jwk(key))
    token = issuer.issue("alice", scopes="read", dpop_jkt=jkt).access_token
    response = client.get("/admin", headers=headers(token, make_proof(key, htu=f"{BASE}/admin",
                          access_token=token)))  # fmt: skip
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].startswith(
        'DPoP realm="api", error="insufficient_scope"'
    )
    assert 'scope="admin"' in response.headers["WWW-Authenticate"]
    admin = issuer.issue("root", scopes="admin", dpop_jkt=jkt).access_token
    proof = make_proof(key, htu=f"{BASE}/admin", access_token=admin)
    assert client.get("/admin", headers=headers(admin, proof)).status_code == 200


def test_nonce_round_trip(issuer: TokenIssuer, key: Any) -> None:
    auth = DPoPAuth(issuer, DPoPVerifier(MemoryDenylist(), nonces=DPoPNonces()))
    client = TestClient(make_app(auth, BearerAuth(issuer)))
    token = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    first = client.get("/dpop", headers=headers(token, make_proof(key, htu=f"{BASE}/dpop",
                       access_token=token)))  # fmt: skip
    assert first.status_code == 401
    assert first.headers["WWW-Authenticate"].startswith('DPoP realm="api", error="use_dpop_nonce"')
    nonce = first.headers["DPoP-Nonce"]
    retry = make_proof(key, htu=f"{BASE}/dpop", access_token=token, claims={"nonce": nonce})
    assert client.get("/dpop", headers=headers(token, retry)).status_code == 200


def test_public_url_and_blocking(issuer: TokenIssuer, key: Any, tmp_path: Any) -> None:
    from turbojwt.auth import SQLiteDenylist

    store = SQLiteDenylist(tmp_path / "replay.sqlite3")
    auth = DPoPAuth(issuer, DPoPVerifier(store), public_url="https://API.example.com/")
    assert auth.blocking  # the replay store does I/O
    client = TestClient(make_app(auth, BearerAuth(issuer)))
    token = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    proof = make_proof(key, htu="https://api.example.com/dpop", access_token=token)
    assert client.get("/dpop", headers=headers(token, proof)).status_code == 200
    proof = make_proof(key, htu=f"{BASE}/dpop", access_token=token)
    assert client.get("/dpop", headers=headers(token, proof)).status_code == 401
    with pytest.raises(ValueError, match="schemes"):
        DPoPAuth(issuer, DPoPVerifier(store), schemes=["Basic"])


class DownStore(MemoryDenylist):
    """A replay store whose every write fails, as a store in an outage does."""

    blocking = False

    def consume(self, jti: str, expires_at: float) -> bool:
        from turbojwt.auth.exceptions import StoreUnavailableError

        raise StoreUnavailableError("Replay store unavailable", retry_after=2.5)


def test_replay_store_outage(issuer: TokenIssuer, key: Any, caplog: Any) -> None:
    auth = DPoPAuth(issuer, DPoPVerifier(DownStore()))
    app = FastAPI()

    @app.get("/strict")
    def strict_route(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        return claims

    @app.get("/lenient")
    def lenient_route(
        claims: dict[str, Any] = Depends(auth.require(fail_open=True)),  # noqa: B008
    ) -> dict[str, Any]:
        return claims

    client = TestClient(app)
    token = issuer.issue("alice", dpop_jkt=hand_thumbprint(public_jwk(key))).access_token
    strict = client.get("/strict", headers=headers(token, make_proof(key, htu=f"{BASE}/strict",
                        access_token=token)))  # fmt: skip
    assert strict.status_code == 503
    assert strict.headers["Retry-After"] == "3"
    with caplog.at_level("WARNING", logger="turbojwt.auth.store"):
        lenient = client.get("/lenient", headers=headers(token, make_proof(
            key, htu=f"{BASE}/lenient", access_token=token)))  # fmt: skip
    assert lenient.status_code == 200, lenient.text
    assert "without revocation or replay checks" in caplog.text
    # A bad proof is still refused on the lenient route: only the stores are skipped.
    bad = client.get("/lenient", headers=headers(token, make_proof(key, htu=f"{BASE}/other",
                     access_token=token)))  # fmt: skip
    assert bad.status_code == 401
