"""DPoP-protected requests against plain Bearer ones, on the resource server.

Each round checks one request as ``DPoPAuth.verify_request`` / ``BearerAuth.verify`` do it
(header parsing, token signature and claims, the revocation check in memory, and for DPoP
the proof: typ/alg/jwk, ES256 signature, htm/htu/iat/ath, cnf.jkt, the jti replay check).
The access token is ES256, as an authorization server signs it. Proofs are signed by PyJWT
ahead of the timing, one fresh proof per round (a client signs them, not the server).

The replay store varies: memory, an SQLite file, a local redis-server. The token cache is
on (the default: a repeat access token skips its signature) or off (every token is
first-sight). Compare the medians within a group:

    .venv/bin/python -m pytest benches/test_dpop.py --benchmark-only \
        --benchmark-disable-gc --benchmark-group-by=group --benchmark-columns=median,ops
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cryptography")
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec
from turbojwt.auth import MemoryDenylist, SQLiteDenylist, TokenIssuer
from turbojwt.auth.dpop import DPoPVerifier, access_token_hash, jwk_thumbprint
from turbojwt.auth.fastapi import BearerAuth
from turbojwt.auth.fastapi_dpop import DPoPAuth
from turbojwt.token_cache import set_token_cache, token_cache_info

from benches.support import Benchmark

URL = "https://api.example.com/orders"
ROUNDS = 2000


@pytest.fixture(params=["token cache on", "token cache off"])
def token_cache(request: pytest.FixtureRequest) -> Iterator[str]:
    info = token_cache_info()
    if request.param.endswith("off"):
        set_token_cache(max_entries=0)
    try:
        yield str(request.param)
    finally:
        set_token_cache(max_entries=info["max_entries"], max_bytes=info["max_bytes"])


@pytest.fixture(scope="module")
def setting() -> dict[str, Any]:
    as_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(client_key.public_key()))
    issuer = TokenIssuer(as_key, "ES256", issuer="https://as.example.com", audience=URL,
                         client_id="bench", denylist=MemoryDenylist())  # fmt: skip
    bound = issuer.issue("alice", scopes="orders:read", dpop_jkt=jwk_thumbprint(jwk))
    plain = issuer.issue("alice", scopes="orders:read")
    return {"issuer": issuer, "client_key": client_key, "jwk": jwk,
            "bound": bound.access_token, "plain": plain.access_token}  # fmt: skip


def proofs(setting: dict[str, Any], count: int) -> Iterator[str]:
    ath = access_token_hash(setting["bound"])
    for _ in range(count):
        claims = {"jti": str(uuid.uuid4()), "htm": "GET", "htu": URL, "iat": int(time.time()),
                  "ath": ath}  # fmt: skip
        yield pyjwt.encode(claims, setting["client_key"], "ES256",
                           headers={"typ": "dpop+jwt", "jwk": setting["jwk"]})  # fmt: skip


def test_bearer(benchmark: Benchmark, setting: dict[str, Any], token_cache: str) -> None:
    auth = BearerAuth(setting["issuer"])
    header = f"Bearer {setting['plain']}"
    assert auth.verify(header)["sub"] == "alice"
    benchmark.group = f"ES256 access token, {token_cache}"
    benchmark.extra_info["case"] = "Bearer"
    benchmark(auth.verify, header)


@pytest.mark.parametrize("store", ["memory", "sqlite", "redis"])
def test_dpop(
    benchmark: Any, setting: dict[str, Any], token_cache: str, store: str, tmp_path: Path
) -> None:
    if store == "redis":
        pytest.importorskip("redis")
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from redis_server import running_redis_server
        from turbojwt.auth import RedisDenylist

        with running_redis_server() as server:
            replay = RedisDenylist(server.url)
            try:
                _run_dpop(benchmark, setting, token_cache, store, replay)
            finally:
                replay.close()
        return
    replay = MemoryDenylist() if store == "memory" else SQLiteDenylist(tmp_path / "r.sqlite3")
    try:
        _run_dpop(benchmark, setting, token_cache, store, replay)
    finally:
        replay.close()


def _run_dpop(
    benchmark: Any, setting: dict[str, Any], token_cache: str, store: str, replay: Any
) -> None:
    auth = DPoPAuth(setting["issuer"], DPoPVerifier(replay))
    authorization = f"DPoP {setting['bound']}"
    supply = proofs(setting, ROUNDS + 1)
    first = auth.verify_request(authorization, [next(supply)], "GET", URL)
    assert first["cnf"]["jkt"] == jwk_thumbprint(setting["jwk"])
    prepared = [[proof] for proof in supply]  # signed before the timing starts
    feed = iter(prepared)

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (authorization, next(feed), "GET", URL), {}

    benchmark.group = f"ES256 access token, {token_cache}"
    benchmark.extra_info["case"] = f"DPoP, {store} replay store"
    benchmark.pedantic(auth.verify_request, setup=setup, rounds=ROUNDS, iterations=1)
