"""End to end with DPoP: the example app in real uvicorn servers, driven over loopback HTTP.

/login with a proof issues a DPoP-bound pair; the protected routes then demand a fresh
proof from that key; a proof replayed at a *second* server process sharing the store
(SQLite file or redis-server) is refused. Proofs are built with PyJWT, independently of
turbojwt. Both servers take ``APP_PUBLIC_URL``, so one proof names the same ``htu`` at both.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from redis_server import import_redis_client
from test_auth_e2e import example_server

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.asymmetric import ec
from test_auth_dpop import hand_thumbprint, make_proof, public_jwk

PUBLIC = "http://api.example.test"


def dpop(token: str, proof: str) -> dict[str, str]:
    return {"Authorization": f"DPoP {token}", "DPoP": proof}


def app_env(denylist_url: str, secret: str) -> dict[str, str]:
    return {
        "APP_JWT_SECRET": secret,
        "APP_DENYLIST_URL": denylist_url,
        "APP_ACCESS_TTL": "300",
        "APP_REFRESH_TTL": "600",
        "APP_PUBLIC_URL": PUBLIC,
    }


def challenge(response: httpx.Response) -> str:
    header: str = response.headers.get("WWW-Authenticate", "")
    return header


def run_dpop_scenario(first: str, second: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jkt = hand_thumbprint(public_jwk(key))
    a = httpx.Client(base_url=first, timeout=10.0)
    b = httpx.Client(base_url=second, timeout=10.0)
    with a, b:
        # A bad proof at the token endpoint: 400 invalid_dpop_proof (RFC 9449 section 5).
        bad = a.post("/login", json={"username": "alice", "password": "wonderland"},
                     headers={"DPoP": make_proof(key, htm="POST", htu=f"{PUBLIC}/token",
                                                 access_token=None)})  # fmt: skip
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"] == "invalid_dpop_proof"

        login_proof = make_proof(key, htm="POST", htu=f"{PUBLIC}/login", access_token=None)
        login = a.post("/login", json={"username": "alice", "password": "wonderland"},
                       headers={"DPoP": login_proof})  # fmt: skip
        assert login.status_code == 200, login.text
        pair: dict[str, Any] = login.json()
        assert pair["token_type"] == "DPoP"
        access = pair["access_token"]
        assert pyjwt.decode(access, options={"verify_signature": False})["cnf"] == {"jkt": jkt}
        # The login proof cannot be used again, at either server.
        again = b.post("/login", json={"username": "alice", "password": "wonderland"},
                       headers={"DPoP": login_proof})  # fmt: skip
        assert again.status_code == 400
        assert "already used" in again.json()["error_description"]

        # The bound token: not as a bearer token, only with a proof from the key.
        as_bearer = a.get("/me", headers={"Authorization": f"Bearer {access}"})
        assert as_bearer.status_code == 401
        assert 'Bearer realm="api", error="invalid_token"' in challenge(as_bearer)
        no_proof = a.get("/me", headers={"Authorization": f"DPoP {access}"})
        assert no_proof.status_code == 401
        assert 'DPoP realm="api", error="invalid_dpop_proof"' in challenge(no_proof)

        proof = make_proof(key, htu=f"{PUBLIC}/me", access_token=access)
        me = a.get("/me?verbose=1", headers=dpop(access, proof))
        assert me.status_code == 200, me.text
        assert me.json()["sub"] == "alice"
        assert me.json()["cnf"] == {"jkt": jkt}
        # The same proof at the second process: a replay, refused through the shared store.
        replay = b.get("/me", headers=dpop(access, proof))
        assert replay.status_code == 401
        assert "already used" in challenge(replay)
        assert 'algs="ES256' in challenge(replay)

        # Each check, over the wire.
        thief = ec.generate_private_key(ec.SECP256R1())
        for wrong, expected in [
            (make_proof(key, htm="POST", htu=f"{PUBLIC}/me", access_token=access), "for POST"),
            (make_proof(key, htu=f"{PUBLIC}/me?x=1", access_token=access), "no query"),
            (make_proof(key, htu=f"{first}/me", access_token=access), "htu does not match"),
            (make_proof(key, htu=f"{PUBLIC}/me", iat=1, access_token=access), "too old"),
            (make_proof(key, htu=f"{PUBLIC}/me", access_token="x.y.z"), "ath does not match"),
            (make_proof(thief, htu=f"{PUBLIC}/me", access_token=access), "does not match the"),
        ]:
            refused = b.get("/me", headers=dpop(access, wrong))
            assert refused.status_code == 401, expected
            assert 'error="invalid_dpop_proof"' in challenge(refused), expected
            assert expected in challenge(refused)
        two = b.get("/me", headers=[("Authorization", f"DPoP {access}"),
                                    ("DPoP", make_proof(key, htu=f"{PUBLIC}/me",
                                                        access_token=access)),
                                    ("DPoP", make_proof(key, htu=f"{PUBLIC}/me",
                                                        access_token=access))])  # fmt: skip
        assert two.status_code == 401
        assert "exactly one" in challenge(two)

        # Refreshing a bound refresh token takes a proof from the same key.
        refresh_token = pair["refresh_token"]
        unproven = b.post("/refresh", json={"refresh_token": refresh_token})
        assert unproven.status_code == 400
        assert unproven.json()["error"] == "invalid_grant"
        stolen = b.post("/refresh", json={"refresh_token": refresh_token},
                        headers={"DPoP": make_proof(thief, htm="POST", htu=f"{PUBLIC}/refresh",
                                                    access_token=None)})  # fmt: skip
        assert stolen.status_code == 400
        assert stolen.json()["error"] == "invalid_grant"
        renewed = b.post("/refresh", json={"refresh_token": refresh_token},
                         headers={"DPoP": make_proof(key, htm="POST", htu=f"{PUBLIC}/refresh",
                                                     access_token=None)})  # fmt: skip
        assert renewed.status_code == 200, renewed.text
        new_pair = renewed.json()
        assert new_pair["token_type"] == "DPoP"
        new_access = new_pair["access_token"]
        fresh = make_proof(key, htu=f"{PUBLIC}/me", access_token=new_access)
        assert b.get("/me", headers=dpop(new_access, fresh)).status_code == 200

        # Scopes still apply to DPoP requests; logout works with the DPoP scheme.
        admin_proof = make_proof(key, htu=f"{PUBLIC}/admin", access_token=new_access)
        forbidden = a.get("/admin", headers=dpop(new_access, admin_proof))
        assert forbidden.status_code == 403
        assert 'DPoP realm="api", error="insufficient_scope"' in challenge(forbidden)
        logout = a.post("/logout", json={"refresh_token": new_pair["refresh_token"]},
                        headers=dpop(new_access, make_proof(key, htm="POST",
                                     htu=f"{PUBLIC}/logout", access_token=new_access)))  # fmt: skip
        assert logout.status_code == 204, logout.text
        after = b.get("/me", headers=dpop(new_access, make_proof(key, htu=f"{PUBLIC}/me",
                      access_token=new_access)))  # fmt: skip
        assert after.status_code == 401
        assert "revoked" in challenge(after)

        # Without a proof, /login still issues plain bearer tokens.
        plain = a.post("/login", json={"username": "alice", "password": "wonderland"})
        assert plain.json()["token_type"] == "Bearer"
        bearer = {"Authorization": f"Bearer {plain.json()['access_token']}"}
        assert b.get("/me", headers=bearer).status_code == 200


def test_dpop_scenario_with_sqlite(tmp_path: Path) -> None:
    env = app_env(f"sqlite:///{tmp_path / 'denylist.sqlite3'}", secrets.token_urlsafe(32))
    with example_server(env, tmp_path / "a.log") as first:
        with example_server(env, tmp_path / "b.log") as second:
            run_dpop_scenario(first, second)


def test_dpop_scenario_with_redis(tmp_path: Path, redis_url: str) -> None:
    import_redis_client()
    env = app_env(redis_url, secrets.token_urlsafe(32))
    with example_server(env, tmp_path / "a.log") as first:
        with example_server(env, tmp_path / "b.log") as second:
            run_dpop_scenario(first, second)
