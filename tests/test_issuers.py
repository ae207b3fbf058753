"""``ProviderDiscovery`` and ``IssuerRegistry`` against scripted servers on 127.0.0.1.

Discovery documents that name the wrong issuer, fail, answer 304 or move their
``jwks_uri``; a registry of issuers with discovery, a JWKS URL and static keys,
routing by ``iss``, refusing unknown issuers without a request, keeping each
issuer's audience and algorithms, floods of random kids and unknown issuers,
mixed batches, and the FastAPI dependency.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("cryptography")
import turbojwt
from cryptography.hazmat.primitives import serialization
from fleet_server import FleetServer, Route
from test_jwks_client_live import SigningKey, clear_proxies, jwks, moved_clock, signing_keys
from turbojwt import IssuerRegistry, ProviderDiscovery
from turbojwt.discovery import DiscoveryConnectionError, DiscoveryError, well_known_uri
from turbojwt.exceptions import (
    ExpiredSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKSetError,
)
from turbojwt.issuers import UnknownIssuerError, UnknownSigningKeyError

OIDC = "/.well-known/openid-configuration"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


@pytest.fixture
def keys() -> list[SigningKey]:
    return signing_keys()


@pytest.fixture
def server() -> Iterator[FleetServer]:
    fleet = FleetServer()
    try:
        yield fleet
    finally:
        fleet.close()


def provider(
    server: FleetServer,
    prefix: str,
    signing: list[SigningKey],
    *,
    algorithms: tuple[str, ...] = ("RS256",),
    **route: Any,
) -> str:
    """Serve discovery and JWKS for the issuer ``server.base + prefix``; return the issuer."""
    issuer = server.url(prefix)
    server.serve(
        prefix + OIDC,
        {
            "issuer": issuer,
            "jwks_uri": server.url(prefix + "/jwks"),
            "id_token_signing_alg_values_supported": list(algorithms),
        },
        **route,
    )
    server.serve(prefix + "/jwks", jwks(*signing))
    return issuer


def token(key: SigningKey, issuer: str, **claims: Any) -> str:
    payload = {"iss": issuer, "sub": "user-1", "aud": "api", "exp": int(time.time()) + 300}
    payload.update(claims)
    return key.token(payload)


# --- discovery ------------------------------------------------------------------------------


def test_well_known_uris() -> None:
    assert well_known_uri("https://id.test") == "https://id.test/.well-known/openid-configuration"
    assert (
        well_known_uri("https://id.test/tenant/")
        == "https://id.test/tenant/.well-known/openid-configuration"
    )
    assert (
        well_known_uri("https://id.test/tenant", "oauth")
        == "https://id.test/.well-known/oauth-authorization-server/tenant"
    )
    assert well_known_uri("https://id.test", "oauth") == (
        "https://id.test/.well-known/oauth-authorization-server"
    )


def test_discovery_reads_jwks_uri_and_asymmetric_algorithms(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    issuer = provider(server, "/a", [keys[0]], algorithms=("RS256", "HS256", "none", "ES256"))
    discovery = ProviderDiscovery(issuer)
    assert discovery.jwks_uri == server.url("/a/jwks")
    assert discovery.signing_algorithms() == ["RS256", "ES256"]  # never HS256 or none
    assert discovery.jwks_client().get_signing_key(keys[0].kid).key_id == keys[0].kid
    for _ in range(100):
        discovery.metadata()
    assert server.count("/a" + OIDC) == 1


def test_discovery_refuses_another_issuer(server: FleetServer, keys: list[SigningKey]) -> None:
    provider(server, "/a", [keys[0]])
    server.serve("/b" + OIDC, {"issuer": server.url("/a"), "jwks_uri": server.url("/a/jwks")})
    with pytest.raises(DiscoveryError, match="names issuer"):
        ProviderDiscovery(server.url("/b")).metadata()
    # A trailing slash is another issuer too: the comparison is exact.
    server.serve("/c" + OIDC, {"issuer": server.url("/c/"), "jwks_uri": server.url("/a/jwks")})
    with pytest.raises(DiscoveryError, match="names issuer"):
        ProviderDiscovery(server.url("/c")).metadata()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"issuer": "X"}, "no jwks_uri"),
        ({"issuer": "X", "jwks_uri": "file:///etc/passwd"}, "jwks_uri scheme"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_discovery_refuses_bad_documents(server: FleetServer, document: Any, message: str) -> None:
    issuer = server.url("/bad")
    if isinstance(document, dict):
        document = {**document, "issuer": issuer}
    server.serve("/bad" + OIDC, document)
    with pytest.raises(DiscoveryError, match=message):
        ProviderDiscovery(issuer).metadata()


def test_rfc8414_and_auto(server: FleetServer, keys: list[SigningKey]) -> None:
    issuer = server.url("/tenant")
    document = {"issuer": issuer, "jwks_uri": server.url("/tenant/jwks")}
    server.serve("/.well-known/oauth-authorization-server/tenant", document)
    assert ProviderDiscovery(issuer, kind="oauth").jwks_uri == server.url("/tenant/jwks")
    auto = ProviderDiscovery(issuer, kind="auto")
    assert auto.jwks_uri == server.url("/tenant/jwks")
    assert server.count("/tenant" + OIDC) == 1  # tried first, 404


def test_discovery_cache_control_etag_and_stale(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    issuer = provider(
        server, "/a", [keys[0]], headers={"Cache-Control": "max-age=120"}, etag='"d1"'
    )
    with moved_clock() as clock:
        discovery = ProviderDiscovery(issuer, cooldown_duration=30, background_refresh=False)
        discovery.metadata()
        clock.advance(100)
        discovery.metadata()
        assert server.count("/a" + OIDC) == 1
        clock.advance(30)
        discovery.metadata()  # revalidated: 304
        assert server.not_modified["/a" + OIDC] == 1
        assert discovery.stats.not_modified == 1
        # The provider goes down: the cached document goes on serving.
        server.set("/a" + OIDC, Route(status=503))
        clock.advance(121)
        assert discovery.jwks_uri == server.url("/a/jwks")
        assert discovery.stats.fetch_failures == 1
        for _ in range(50):
            discovery.metadata()
        assert server.count("/a" + OIDC) == 3  # the failure cools down


def test_expired_document_is_served_while_a_slow_refresh_runs(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    issuer = provider(server, "/a", [keys[0]], headers={"Cache-Control": "max-age=60"})
    with moved_clock() as clock:
        discovery = ProviderDiscovery(issuer)
        first = discovery.metadata()
        server.serve(
            "/a" + OIDC,
            {**first, "jwks_uri": server.url("/a/jwks2")},
            headers={"Cache-Control": "max-age=60"},
            delay=1.0,
        )
        clock.advance(61)
        worst = 0.0
        for _ in range(200):
            started = time.perf_counter()
            assert discovery.metadata() is first
            worst = max(worst, time.perf_counter() - started)
        assert worst < 0.2  # nobody waited for the 1 s refresh
        deadline = time.perf_counter() + 5
        while discovery.metadata() is first and time.perf_counter() < deadline:
            time.sleep(0.02)
        assert discovery.jwks_uri == server.url("/a/jwks2")
        assert server.count("/a" + OIDC) == 2
        assert discovery.stats.background_refreshes == 1


def test_discovery_failure_without_a_document_cools_down(server: FleetServer) -> None:
    issuer = server.url("/down")
    server.set("/down" + OIDC, Route(reset=True))
    discovery = ProviderDiscovery(issuer, cooldown_duration=60)
    for _ in range(20):
        with pytest.raises(DiscoveryConnectionError):
            discovery.metadata()
    assert server.count("/down" + OIDC) == 1
    assert isinstance(DiscoveryConnectionError("x"), PyJWKClientConnectionError)


def test_discovery_slow_and_oversized(server: FleetServer) -> None:
    issuer = server.url("/slow")
    server.serve("/slow" + OIDC, {"issuer": issuer, "jwks_uri": issuer + "/jwks"}, delay=2)
    started = time.monotonic()
    with pytest.raises(DiscoveryError):
        ProviderDiscovery(issuer, timeout=0.3).metadata()
    assert time.monotonic() - started < 1.5
    server.serve(
        "/big" + OIDC, {"issuer": server.url("/big"), "jwks_uri": "x", "pad": "x" * 10_000}
    )
    with pytest.raises(DiscoveryError, match="more than 4096 bytes"):
        ProviderDiscovery(server.url("/big"), max_response_bytes=4096).metadata()


def test_redirect_is_refused(server: FleetServer) -> None:
    issuer = server.url("/moved")
    server.set("/moved" + OIDC, Route(status=302, headers={"Location": server.url("/a" + OIDC)}))
    with pytest.raises(DiscoveryError):
        ProviderDiscovery(issuer).metadata()
    assert server.count("/a" + OIDC) == 0


# --- the registry -----------------------------------------------------------------------------


@pytest.fixture
def fleet(server: FleetServer, keys: list[SigningKey]) -> tuple[IssuerRegistry, dict[str, str]]:
    """Three issuers: discovery, a JWKS URL, and a static key."""
    discovered = provider(server, "/a", [keys[0]])
    server.serve("/b/keys", jwks(keys[1]))
    registry = IssuerRegistry(jwks_options={"cooldown_duration": 1})
    registry.add(discovered, audience="api")
    registry.add(
        "https://b.test", audience="api-b", jwks_uri=server.url("/b/keys"), algorithms=["RS256"]
    )
    registry.add(
        "https://static.test",
        key=keys[2].private.public_key(),
        algorithms=["RS256"],
        leeway=30,
        audience="api",
    )
    return registry, {"a": discovered, "b": "https://b.test", "static": "https://static.test"}


def test_registry_routes_each_issuer_to_its_settings(
    fleet: tuple[IssuerRegistry, dict[str, str]], keys: list[SigningKey]
) -> None:
    registry, issuers = fleet
    assert registry.decode(token(keys[0], issuers["a"]))["iss"] == issuers["a"]
    assert registry.decode(token(keys[1], issuers["b"], aud="api-b"))["iss"] == issuers["b"]
    assert registry.decode(token(keys[2], issuers["static"]))["iss"] == issuers["static"]
    # The static issuer's leeway, and no one else's.
    late = int(time.time()) - 10
    assert registry.decode(token(keys[2], issuers["static"], exp=late))
    with pytest.raises(ExpiredSignatureError):
        registry.decode(token(keys[0], issuers["a"], exp=late))
    # Each issuer's own audience.
    with pytest.raises(InvalidAudienceError):
        registry.decode(token(keys[1], issuers["b"], aud="api"))
    assert registry.blocking
    assert set(registry) == set(issuers.values())


def test_a_token_cannot_borrow_another_issuers_keys(
    fleet: tuple[IssuerRegistry, dict[str, str]], keys: list[SigningKey]
) -> None:
    registry, issuers = fleet
    # Signed with b's key (kid key-1), claiming to come from a: a's set has no key-1.
    with pytest.raises(UnknownSigningKeyError):
        registry.decode(token(keys[1], issuers["a"]))
    # Signed with a's key, claiming the static issuer: the static key does not verify it.
    with pytest.raises(InvalidSignatureError):
        registry.decode(token(keys[0], issuers["static"]))


def test_unknown_issuer_is_refused_before_any_request(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    provider(server, "/a", [keys[0]])
    registry = IssuerRegistry()
    registry.add(server.url("/a"), audience="api")
    forged = [
        turbojwt.encode({"iss": f"https://evil-{index}.test"}, "k" * 32, algorithm="HS256")
        for index in range(5000)
    ]
    started = time.monotonic()
    for item in forged:
        with pytest.raises(UnknownIssuerError):
            registry.decode(item)
    with pytest.raises(UnknownIssuerError, match="no iss"):
        registry.decode(keys[0].token({"sub": "x"}))
    with pytest.raises(UnknownIssuerError):
        registry.decode(token(keys[0], server.url("/a") + "/"))  # not exactly registered
    print(f"\nunknown issuers: 5,000 tokens refused in {time.monotonic() - started:.2f} s")
    assert sum(server.hits.values()) == 0
    assert isinstance(UnknownIssuerError("x"), InvalidIssuerError)


def test_random_kid_flood_on_a_registered_issuer(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    issuer = provider(server, "/a", [keys[0]])
    registry = IssuerRegistry(jwks_options={"cooldown_duration": 0.5})
    registry.add(issuer, audience="api")
    registry.decode(token(keys[0], issuer))
    forged = [
        turbojwt.encode(
            {"iss": issuer, "aud": "api", "exp": int(time.time()) + 60},
            "k" * 32,
            algorithm="HS256",
            headers={"kid": uuid.uuid4().hex},
        )
        for _ in range(5000)
    ]
    started = time.monotonic()
    for item in forged:
        with pytest.raises(InvalidTokenError):
            registry.decode(item)
        time.sleep(0.0002)
    elapsed = time.monotonic() - started
    jwks_fetches = server.count("/a/jwks")
    print(
        f"\nregistry random-kid flood: 5,000 tokens in {elapsed:.2f} s: "
        f"{jwks_fetches} JWKS fetches, {server.count('/a' + OIDC)} discovery fetch"
    )
    assert jwks_fetches <= 1 + int(elapsed / 0.5) + 1
    assert server.count("/a" + OIDC) == 1


def test_discovery_narrows_algorithms(server: FleetServer, keys: list[SigningKey]) -> None:
    issuer = provider(server, "/a", [keys[0]], algorithms=("RS256", "HS256"))
    registry = IssuerRegistry()
    registry.add(issuer, audience="api")
    # Algorithm confusion: HS256 keyed with the public key's PEM is never allowed.
    pem = (
        keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    forged = _hs256_with_secret(
        {"iss": issuer, "aud": "api", "exp": int(time.time()) + 60}, pem, keys[0].kid
    )
    with pytest.raises(InvalidTokenError):
        registry.decode(forged)
    registry.add(issuer, audience="api", algorithms=["ES256"])
    with pytest.raises(InvalidAlgorithmError, match="advertised"):
        registry.decode(token(keys[0], issuer))


def _hs256_with_secret(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def test_jwks_uri_is_fetched_once_for_issuers_that_share_it(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    server.serve("/shared", jwks(keys[0]))
    registry = IssuerRegistry()
    for name in ("https://one.test", "https://two.test"):
        registry.add(name, audience="api", jwks_uri=server.url("/shared"), algorithms=["RS256"])
    registry.decode(token(keys[0], "https://one.test"))
    registry.decode(token(keys[0], "https://two.test"))
    assert server.count("/shared") == 1


def test_add_refuses_ambiguous_or_unsafe_settings(keys: list[SigningKey]) -> None:
    registry = IssuerRegistry()
    with pytest.raises(ValueError, match="one key source"):
        registry.add(
            "https://x.test", key="k", jwks_uri="https://x.test/jwks", algorithms=["RS256"]
        )
    with pytest.raises(ValueError, match="algorithms are required"):
        registry.add("https://x.test", key=keys[0].private.public_key())
    with pytest.raises(ValueError, match="may not be turned off"):
        registry.add(
            "https://x.test",
            key=keys[0].private.public_key(),
            algorithms=["RS256"],
            options={"verify_signature": False},
        )
    registry.add("https://x.test", key=keys[0].private.public_key(), algorithms=["RS256"])
    registry.remove("https://x.test")
    assert "https://x.test" not in registry


def test_required_claims(keys: list[SigningKey]) -> None:
    registry = IssuerRegistry()
    registry.add("https://x.test", key=keys[0].private.public_key(), algorithms=["RS256"])
    with pytest.raises(InvalidTokenError, match="exp"):
        registry.decode(keys[0].token({"iss": "https://x.test"}))


def test_static_key_set(keys: list[SigningKey]) -> None:
    registry = IssuerRegistry()
    registry.add(
        "https://set.test", keys=jwks(keys[0], keys[1]), algorithms=["RS256"], audience="api"
    )
    assert registry.decode(token(keys[1], "https://set.test"))["sub"] == "user-1"
    with pytest.raises(UnknownSigningKeyError):
        registry.decode(token(keys[2], "https://set.test"))


# --- batches ------------------------------------------------------------------------------------


def test_decode_batch_over_several_issuers(
    fleet: tuple[IssuerRegistry, dict[str, str]], keys: list[SigningKey], server: FleetServer
) -> None:
    registry, issuers = fleet
    tokens = [
        token(keys[0], issuers["a"]),
        token(keys[1], issuers["b"], aud="api-b"),
        token(keys[2], issuers["static"]),
        token(keys[0], "https://unknown.test"),
        token(keys[1], issuers["a"]),  # b's key under a's name
        token(keys[0], issuers["a"], aud="other"),
        "not a token",
    ] * 50
    results = registry.decode_batch(tokens)
    assert len(results) == len(tokens)
    for index in range(0, len(tokens), 7):
        assert results[index]["iss"] == issuers["a"]  # type: ignore[index]
        assert results[index + 1]["iss"] == issuers["b"]  # type: ignore[index]
        assert results[index + 2]["iss"] == issuers["static"]  # type: ignore[index]
        assert isinstance(results[index + 3], UnknownIssuerError)
        assert isinstance(results[index + 4], PyJWKSetError)
        assert isinstance(results[index + 5], InvalidAudienceError)
        assert isinstance(results[index + 6], InvalidTokenError)
    # The same answers as one decode per token.
    for item, result in zip(tokens[:7], results[:7]):
        try:
            expected: Any = registry.decode(item)
        except Exception as error:
            expected = error
        assert type(expected) is type(result) or isinstance(result, PyJWKSetError)
    # One JWKS fetch per issuer key set, and at most one refresh for the unknown kid.
    assert server.count("/a/jwks") <= 2
    assert server.count("/b/keys") == 1


def test_decode_batch_with_an_unreachable_issuer(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    registry = IssuerRegistry()
    server.set("/down", Route(status=500))
    registry.add("https://down.test", jwks_uri=server.url("/down"), algorithms=["RS256"])
    registry.add("https://ok.test", key=keys[0].private.public_key(), algorithms=["RS256"])
    results = registry.decode_batch(
        [token(keys[0], "https://down.test", aud=None), token(keys[0], "https://ok.test", aud=None)]
    )
    assert isinstance(results[0], PyJWKClientConnectionError)
    assert isinstance(results[1], dict)
    with pytest.raises(TypeError):
        registry.decode_batch("a.b.c")


# --- FastAPI ---------------------------------------------------------------------------------


def test_bearer_auth_accepts_a_registry(
    fleet: tuple[IssuerRegistry, dict[str, str]], keys: list[SigningKey]
) -> None:
    from fastapi import Depends, FastAPI
    from starlette.testclient import TestClient
    from turbojwt.auth.fastapi import BearerAuth

    registry, issuers = fleet
    auth = BearerAuth(registry)
    assert auth.blocking  # keys come over the network: verified in the thread pool
    app = FastAPI()

    @app.get("/me")
    def me(claims: dict[str, Any] = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        return {"iss": claims["iss"]}

    @app.get("/admin")
    def admin(
        claims: dict[str, Any] = Depends(auth.require(scopes="admin")),  # noqa: B008
    ) -> dict[str, Any]:
        return {"ok": True}

    with TestClient(app) as client:
        for name, key, audience in (("a", keys[0], "api"), ("b", keys[1], "api-b")):
            answer = client.get(
                "/me",
                headers={"Authorization": f"Bearer {token(key, issuers[name], aud=audience)}"},
            )
            assert answer.status_code == 200
            assert answer.json() == {"iss": issuers[name]}
        unknown = client.get(
            "/me", headers={"Authorization": f"Bearer {token(keys[0], 'https://evil.test')}"}
        )
        assert unknown.status_code == 401
        assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
        forbidden = client.get(
            "/admin", headers={"Authorization": f"Bearer {token(keys[0], issuers['a'])}"}
        )
        assert forbidden.status_code == 403
        allowed = client.get(
            "/admin",
            headers={"Authorization": f"Bearer {token(keys[0], issuers['a'], scope='admin')}"},
        )
        assert allowed.status_code == 200


def test_unknown_signing_key_is_also_a_client_error() -> None:
    assert issubclass(UnknownSigningKeyError, PyJWKClientError)
    assert issubclass(UnknownSigningKeyError, InvalidTokenError)
