"""turbojwt against an OpenID Connect provider built with Authlib, over TLS on 127.0.0.1.

The provider is Authlib's own code: its ``OpenIDProviderMetadata`` validates
the discovery document, its ID-token generator (``generate_id_token``, the one
its OpenID Connect grants use) signs the tokens, with its JOSE keys
(``joserfc``). It is served over HTTPS with a self-signed certificate for
127.0.0.1, which the clients trust through an ``ssl.SSLContext``.

Checked: discovery, the provider's JWKS, its ID tokens verified by an
``IssuerRegistry``, and key rotations (announced ahead, and abrupt) picked up
while tokens are verified without pause, with no failed verification.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import pytest

pytest.importorskip("cryptography")
pytest.importorskip("authlib")
from authlib.oidc.core.grants.util import generate_id_token  # type: ignore[import-untyped]
from authlib.oidc.discovery import OpenIDProviderMetadata  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import KeySet, RSAKey
from test_jwks_client_live import clear_proxies
from turbojwt import AsyncPyJWKClient, IssuerRegistry, PyJWKClient
from turbojwt.exceptions import PyJWKClientConnectionError

CLIENT_ID = "turbojwt-test-client"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class AuthlibProvider:
    """Discovery, JWKS and ID tokens, from Authlib's OpenID Connect code."""

    def __init__(self, directory: Path, jwks_max_age: int) -> None:
        cert, key = self_signed(directory)
        self.client_context = ssl.create_default_context(cafile=str(cert))
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(str(cert), str(key))
        self.jwks_max_age = jwks_max_age
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.published: list[RSAKey] = [self.new_key("k1")]
        self.signing: RSAKey = self.published[0]
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ProviderHandler)
        self._httpd.daemon_threads = True
        self._httpd.socket = server_context.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.provider = self  # type: ignore[attr-defined]
        self.issuer = f"https://127.0.0.1:{self._httpd.server_port}"
        metadata = OpenIDProviderMetadata(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code", "id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )
        metadata.validate()  # Authlib's checks of an OpenID provider's metadata
        self.metadata = dict(metadata)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @staticmethod
    def new_key(kid: str) -> RSAKey:
        return RSAKey.generate_key(
            2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
        )

    def jwks(self) -> dict[str, Any]:
        with self.lock:
            return dict(KeySet(list(self.published)).as_dict(private=False))

    def id_token(self, subject: str, nonce: Optional[str] = None) -> str:
        with self.lock:
            key = self.signing
        token: str = generate_id_token(
            {"access_token": "at-" + subject},
            {"sub": subject},
            key,
            self.issuer,
            CLIENT_ID,
            alg="RS256",
            nonce=nonce,
            kid=key.kid,
        )
        return token

    def publish(self, key: RSAKey) -> None:
        with self.lock:
            self.published = [*self.published, key]

    def sign_with(self, key: RSAKey) -> None:
        with self.lock:
            self.signing = key

    def retire(self, kid: str) -> None:
        with self.lock:
            self.published = [key for key in self.published if key.kid != kid]

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits.get(path, 0)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _ProviderHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        provider: AuthlibProvider = self.server.provider  # type: ignore[attr-defined]
        with provider.lock:
            provider.hits[self.path] = provider.hits.get(self.path, 0) + 1
        if self.path == "/.well-known/openid-configuration":
            self._json(provider.metadata, "max-age=300")
        elif self.path == "/jwks":
            self._json(provider.jwks(), f"max-age={provider.jwks_max_age}")
        else:
            self.send_error(404)

    def _json(self, document: Any, cache_control: str) -> None:
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", cache_control)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[AuthlibProvider]:
    running = AuthlibProvider(tmp_path, jwks_max_age=2)
    try:
        yield running
    finally:
        running.close()


def registry_for(provider: AuthlibProvider, **jwks_options: Any) -> IssuerRegistry:
    # The SSLContext given for discovery serves the JWKS requests too.
    registry = IssuerRegistry(
        jwks_options=jwks_options, discovery_options={"ssl_context": provider.client_context}
    )
    registry.add(provider.issuer, audience=CLIENT_ID)
    return registry


def test_discovery_jwks_and_id_tokens(provider: AuthlibProvider) -> None:
    registry = registry_for(provider)
    claims = registry.decode(provider.id_token("alice", nonce="n-1"))
    assert claims["sub"] == "alice"
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == "n-1"
    assert "at_hash" in claims
    discovery = registry.settings(provider.issuer).discovery
    assert discovery is not None
    assert discovery.signing_algorithms() == ["RS256"]
    assert discovery.jwks_uri == provider.issuer + "/jwks"
    for index in range(200):
        registry.decode(provider.id_token(f"user-{index}"))
    assert provider.count("/.well-known/openid-configuration") == 1
    assert provider.count("/jwks") == 1


def test_tls_is_verified(provider: AuthlibProvider) -> None:
    """Without the provider's certificate in the context, nothing is fetched."""
    client = PyJWKClient(provider.issuer + "/jwks", ssl_context=ssl.create_default_context())
    with pytest.raises(PyJWKClientConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get_jwk_set()


def test_announced_rotation_is_picked_up_without_a_failed_request(
    provider: AuthlibProvider,
) -> None:
    """The provider publishes k2, signs with it, then retires k1: no verification fails.

    The JWKS lives 2 s (``max-age=2``) and is refreshed from 1 s on in the
    background, so the new key is in the cache before the first token needs it.
    """
    registry = registry_for(provider, refresh_ahead=1, min_lifespan=1, cooldown_duration=30)
    registry.prefetch()
    client = registry.settings(provider.issuer).key_client()
    assert client is not None
    failures: list[BaseException] = []
    verified = [0]
    stop = threading.Event()

    def verify() -> None:
        while not stop.is_set():
            try:
                registry.decode(provider.id_token("bob"))
                verified[0] += 1
            except BaseException as error:  # pragma: no cover - reported below
                failures.append(error)
            time.sleep(0.005)

    workers = [threading.Thread(target=verify) for _ in range(3)]
    for worker in workers:
        worker.start()
    new_key = provider.new_key("k2")
    time.sleep(0.3)
    provider.publish(new_key)
    time.sleep(2.5)  # at least one background refresh sees k2
    provider.sign_with(new_key)
    time.sleep(1.0)
    provider.retire("k1")
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join(10)
    print(
        f"\nannounced rotation: {verified[0]} ID tokens verified, {len(failures)} failed, "
        f"{provider.count('/jwks')} JWKS fetches, client stats {client.stats.as_dict()}"
    )
    assert not failures
    assert client.stats.refresh_refused == 0  # no token ever named an unknown kid
    assert 2 <= provider.count("/jwks") <= 8  # about one per half lifespan


def test_abrupt_rotation_costs_one_refresh(provider: AuthlibProvider) -> None:
    """The provider swaps keys without announcing them: one refresh, no failure."""
    registry = registry_for(provider, cooldown_duration=0.5)
    registry.decode(provider.id_token("carol"))
    time.sleep(0.6)  # the first fetch's cooldown is over
    new_key = provider.new_key("k3")
    provider.publish(new_key)
    provider.retire("k1")
    provider.sign_with(new_key)
    for _ in range(50):
        assert registry.decode(provider.id_token("carol"))["sub"] == "carol"
    assert provider.count("/jwks") == 2


def test_async_client_reads_the_provider_keys(provider: AuthlibProvider) -> None:
    import asyncio

    import turbojwt

    async def main() -> dict[str, Any]:
        client = AsyncPyJWKClient(provider.issuer + "/jwks", ssl_context=provider.client_context)
        await client.prefetch()
        token = provider.id_token("dave")
        key = await client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = turbojwt.decode(
            token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=provider.issuer
        )
        return claims

    assert asyncio.run(main())["sub"] == "dave"
