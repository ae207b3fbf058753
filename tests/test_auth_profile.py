"""The JWT access-token profile (RFC 9068): typ, required claims, audience, ID tokens refused.

Tokens are minted with PyJWT (an independent implementation) and with ``TokenIssuer``.
"""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import pytest
from turbojwt.auth import MemoryDenylist, TokenIssuer
from turbojwt.auth.exceptions import MissingScopeError, RevokedTokenError, TokenTypeError
from turbojwt.auth.profile import PROFILE_REQUIRED_CLAIMS, AccessTokenVerifier
from turbojwt.exceptions import (
    ExpiredSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

SECRET = b"profile-secret-" * 4  # 60 bytes: enough for HS384 too
AS = "https://as.example.com"
RESOURCE = "https://rs.example.com/api"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": AS,
        "exp": now + 300,
        "aud": RESOURCE,
        "sub": "5ba552d67",
        "client_id": "s6BhdRkqt3",
        "iat": now,
        "jti": "dbe39bf3a3ba4238a513f51d6e1691c4",
        "scope": "openid profile reademail",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def mint(typ: Any = "at+jwt", key: Any = SECRET, alg: str = "HS256", **overrides: Any) -> str:
    headers = {} if typ is None else {"typ": typ}
    return pyjwt.encode(claims(**overrides), key, alg, headers=headers)


@pytest.fixture
def verifier() -> AccessTokenVerifier:
    return AccessTokenVerifier(SECRET, ["HS256"], issuer=AS, resource=RESOURCE)


def test_conformant_token(verifier: AccessTokenVerifier) -> None:
    assert verifier.verify(mint())["client_id"] == "s6BhdRkqt3"
    assert verifier.verify(mint(typ="application/at+jwt"))["sub"] == "5ba552d67"
    assert verifier.verify(mint(typ="AT+JWT"))["sub"] == "5ba552d67"  # media types: any case
    assert verifier.verify(mint(aud=["https://other.example", RESOURCE]))["aud"][1] == RESOURCE
    assert verifier.verify(mint(), scopes=["reademail"])["jti"]


@pytest.mark.parametrize("typ", ["JWT", "jwt", "dpop+jwt", "application/jwt", "at+JWT2", None])
def test_other_types_are_refused(verifier: AccessTokenVerifier, typ: Any) -> None:
    with pytest.raises(TokenTypeError, match="typ at\\+jwt"):
        verifier.verify(mint(typ=typ))


def test_id_token_is_refused(verifier: AccessTokenVerifier) -> None:
    # An OpenID Connect ID token for the same client: typ JWT, aud the client, a nonce.
    id_token = mint(typ="JWT", aud="s6BhdRkqt3", nonce="n-0S6_WzA2Mj", auth_time=1)
    with pytest.raises(TokenTypeError):
        verifier.verify(id_token)
    # Even with the resource as audience, the header gives it away.
    with pytest.raises(TokenTypeError):
        verifier.verify(mint(typ="JWT", nonce="n-0S6_WzA2Mj"))


@pytest.mark.parametrize("claim", PROFILE_REQUIRED_CLAIMS)
def test_each_required_claim(verifier: AccessTokenVerifier, claim: str) -> None:
    with pytest.raises(MissingRequiredClaimError, match=claim):
        verifier.verify(mint(**{claim: None}))


def test_audience_must_be_this_resource(verifier: AccessTokenVerifier) -> None:
    for audience in ("https://rs.example.com", "https://rs.example.com/api/", ["x", "y"]):
        with pytest.raises(InvalidAudienceError):
            verifier.verify(mint(aud=audience))


def test_issuer_expiry_signature_and_algorithm(verifier: AccessTokenVerifier) -> None:
    with pytest.raises(InvalidIssuerError):
        verifier.verify(mint(iss="https://evil.example"))
    with pytest.raises(ExpiredSignatureError):
        verifier.verify(mint(exp=int(time.time()) - 10))
    with pytest.raises(InvalidSignatureError):
        verifier.verify(mint(key=b"another-secret-" * 4))
    with pytest.raises(InvalidAlgorithmError):
        verifier.verify(mint(alg="HS384"))
    with pytest.raises(InvalidTokenError, match="client_id"):
        verifier.verify(mint(client_id=""))
    with pytest.raises(MissingScopeError):
        verifier.verify(mint(), scopes=["admin"])


def test_constructor_refuses_none_and_missing_identifiers() -> None:
    with pytest.raises(ValueError, match="none"):
        AccessTokenVerifier(SECRET, ["none"], issuer=AS, resource=RESOURCE)
    with pytest.raises(ValueError, match="resource"):
        AccessTokenVerifier(SECRET, ["HS256"], issuer=AS, resource="")
    with pytest.raises(ValueError, match="issuer"):
        AccessTokenVerifier(SECRET, ["HS256"], issuer="", resource=RESOURCE)


def test_denylist() -> None:
    denylist = MemoryDenylist()
    verifier = AccessTokenVerifier(
        SECRET, ["HS256"], issuer=AS, resource=RESOURCE, denylist=denylist
    )
    token = mint()
    verifier.verify(token)
    denylist.revoke(claims()["jti"], time.time() + 300)
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)
    assert not verifier.blocking


def test_token_issuer_mints_conformant_tokens() -> None:
    cryptography = pytest.importorskip("cryptography")
    del cryptography
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    issuer = TokenIssuer(private, "ES256", issuer=AS, audience=RESOURCE, client_id="cli-1")
    verifier = AccessTokenVerifier(private.public_key(), ["ES256"], issuer=AS, resource=RESOURCE)
    pair = issuer.issue("alice", scopes="a b")
    profile_claims = verifier.verify(pair.access_token, scopes="a")
    assert set(PROFILE_REQUIRED_CLAIMS) <= set(profile_claims)
    assert profile_claims["client_id"] == "cli-1"
    # PyJWT agrees on the signature and claims.
    assert pyjwt.decode(pair.access_token, private.public_key(), ["ES256"], audience=RESOURCE)
    # The refresh token (typ JWT) is no access token.
    with pytest.raises(TokenTypeError):
        verifier.verify(pair.refresh_token)
    # Per-call client_id.
    other = issuer.issue("bob", client_id="cli-2")
    assert verifier.verify(other.access_token)["client_id"] == "cli-2"
    # Without a client_id the issuer's tokens lack a required claim.
    plain = TokenIssuer(private, "ES256", issuer=AS, audience=RESOURCE).issue("carol")
    with pytest.raises(MissingRequiredClaimError, match="client_id"):
        verifier.verify(plain.access_token)
