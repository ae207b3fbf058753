"""The JWKS client on the request path: key lookup by ``kid`` plus decode, with a warm cache.

An API server that trusts an identity provider does this per request:
``get_signing_key_from_jwt(token)`` then ``decode(token, signing_key.key, ...)``. The
baseline is the same decode with a key loaded once at start-up. Both run as a small
handler function, as they would in a server, so the difference between the two groups is
what the client costs per request once its cache is warm. The JWKS comes
from a server on 127.0.0.1, asked once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from benches.support import VERIFY, Benchmark, KeyPair, Library, label

KID = "bench-rs256"


class _JWKSServer(ThreadingHTTPServer):
    daemon_threads = True
    requests = 0
    body = b""


class _Handler(BaseHTTPRequestHandler):
    server: _JWKSServer

    def do_GET(self) -> None:
        self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def jwks_server(pyjwt: Library, key_pairs: dict[str, KeyPair]) -> Iterator[_JWKSServer]:
    public = key_pairs["RS256"].public
    assert isinstance(public, RSAPublicKey)
    member = pyjwt.module.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    member.update(kid=KID, use="sig", alg="RS256")
    server = _JWKSServer(("127.0.0.1", 0), _Handler)
    server.body = json.dumps({"keys": [member]}).encode()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def kid_token(pyjwt: Library, claims: dict[str, Any], key_pairs: dict[str, KeyPair]) -> str:
    private = key_pairs["RS256"].private
    return str(pyjwt.module.encode(claims, private, algorithm="RS256", headers={"kid": KID}))


def test_rs256_decode_with_preloaded_key(
    benchmark: Benchmark,
    lib: Library,
    claims: dict[str, Any],
    key_pairs: dict[str, KeyPair],
    kid_token: str,
) -> None:
    decode, key = lib.module.decode, key_pairs["RS256"].public

    def verify(token: str) -> Any:
        return decode(token, key, algorithms=["RS256"], **VERIFY)

    assert lib.first_call(verify, kid_token) == claims

    label(benchmark, "RS256 decode, pre-loaded key", lib)
    benchmark(verify, kid_token)


def test_rs256_jwks_lookup_and_decode(
    benchmark: Benchmark,
    lib: Library,
    claims: dict[str, Any],
    jwks_server: _JWKSServer,
    kid_token: str,
) -> None:
    url = f"http://127.0.0.1:{jwks_server.server_port}/.well-known/jwks.json"
    client = lib.module.PyJWKClient(url)
    decode = lib.module.decode
    before = jwks_server.requests

    def verify(token: str) -> Any:
        signing_key = client.get_signing_key_from_jwt(token)
        return decode(token, signing_key.key, algorithms=["RS256"], **VERIFY)

    assert lib.first_call(verify, kid_token) == claims  # fetches the JWKS: the cache is warm

    label(benchmark, "RS256 JWKS lookup + decode, warm cache", lib)
    benchmark(verify, kid_token)
    assert jwks_server.requests == before + 1
