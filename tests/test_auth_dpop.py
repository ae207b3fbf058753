"""DPoP (RFC 9449) on the resource server: proofs built independently, every check refused.

Proofs are built by hand with PyJWT and ``cryptography`` from the RFC's text (header
``typ``/``alg``/``jwk``, claims ``jti``/``htm``/``htu``/``iat``/``ath``), thumbprints and
``ath`` with ``hashlib``; the RFC's own example proof and values are checked as published.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
import turbojwt
from turbojwt.api_jws import PyJWS
from turbojwt.auth import MemoryDenylist, SQLiteDenylist, TokenIssuer
from turbojwt.auth.dpop import (
    DPoPBindingError,
    DPoPNonces,
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProofError,
    UseDPoPNonceError,
    access_token_hash,
    check_binding,
    extract_credentials,
    jwk_thumbprint,
    normalize_htu,
)
from turbojwt.auth.exceptions import (
    MalformedAuthorizationError,
    MissingAuthorizationError,
    UnsupportedSchemeError,
)

try:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError:  # the RFC vectors and header parsing still run, on the Rust core alone
    ec = ed25519 = rsa = None  # type: ignore[assignment]

needs_cryptography = pytest.mark.skipif(ec is None, reason="builds keys with cryptography")

URL = "https://api.example.com/orders"
ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

# RFC 9449 figure 2: a proof for a token request, and (figure 9) its key's thumbprint.
RFC_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgt"
    "MzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VO"
    "SmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRj"
    "IiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0Ijox"
    "NTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK"
    "70nfbV37xRZT3Lg"
)
RFC_JWK = {
    "kty": "EC",
    "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
    "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
    "crv": "P-256",
}
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_IAT = 1562262616
# RFC 9449 section 7.1: an access token and its ath.
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_ATH = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
# RFC 7638 section 3.1: an RSA key and its thumbprint.
RFC7638_RSA = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
    "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
    "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- an independent proof builder ---------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_ath(token: str) -> str:
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def public_jwk(private_key: Any, alg: str = "ES256") -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(
        pyjwt.get_algorithm_by_name(alg).to_jwk(private_key.public_key())
    )
    return jwk


def hand_thumbprint(jwk: dict[str, Any]) -> str:
    members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
    required = {name: jwk[name] for name in members[jwk["kty"]]}
    return b64url(hashlib.sha256(json.dumps(required, separators=(",", ":")).encode()).digest())


def make_proof(
    key: Any,
    *,
    alg: str = "ES256",
    htm: str = "GET",
    htu: str = URL,
    iat: float | None = None,
    access_token: str | None = ACCESS_TOKEN,
    typ: Any = "dpop+jwt",
    jwk: Any = None,
    claims: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    payload: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "htm": htm,
        "htu": htu,
        "iat": int(time.time()) if iat is None else iat,
    }
    if access_token is not None:
        payload["ath"] = hand_ath(access_token)
    payload.update(claims or {})
    for name in drop:
        payload.pop(name, None)
    header: dict[str, Any] = {"typ": typ, "jwk": public_jwk(key, alg) if jwk is None else jwk}
    if typ is None:
        del header["typ"]
    return pyjwt.encode(payload, key, alg, headers=header)


@pytest.fixture(scope="module")
def es256() -> Any:
    pytest.importorskip("cryptography")
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def verifier() -> DPoPVerifier:
    return DPoPVerifier(MemoryDenylist())


def refused(verifier: DPoPVerifier, proof: Any, match: str, **request: Any) -> None:
    arguments = {"method": "GET", "url": URL, "access_token": ACCESS_TOKEN, **request}
    with pytest.raises(InvalidDPoPProofError, match=match):
        verifier.verify(proof, **arguments)


# --- the RFC's own examples ----------------------------------------------------------------


def test_rfc9449_example_proof_verifies_with_the_published_thumbprint() -> None:
    verifier = DPoPVerifier(MemoryDenylist(clock=lambda: RFC_IAT), clock=lambda: RFC_IAT + 1)
    proof = verifier.verify(RFC_PROOF, method="POST", url="https://server.example.com/token")
    assert proof.jkt == RFC_JKT
    assert proof.claims == {
        "jti": "-BwC3ESc6acc2lTc",
        "htm": "POST",
        "htu": "https://server.example.com/token",
        "iat": RFC_IAT,
    }
    assert proof.jwk == RFC_JWK
    # ... and only once.
    refused(verifier, RFC_PROOF, "already used", method="POST",
            url="https://server.example.com/token", access_token=None)  # fmt: skip


def test_rfc9449_example_proof_is_refused_today_and_elsewhere() -> None:
    refused(DPoPVerifier(MemoryDenylist()), RFC_PROOF, "too old", method="POST",
            url="https://server.example.com/token", access_token=None)  # fmt: skip
    at_the_time = DPoPVerifier(MemoryDenylist(), clock=lambda: RFC_IAT)
    refused(at_the_time, RFC_PROOF, "htu", method="POST", url="https://server.example.com/other",
            access_token=None)  # fmt: skip
    refused(at_the_time, RFC_PROOF, "for POST requests", method="GET",
            url="https://server.example.com/token", access_token=None)  # fmt: skip


def test_published_thumbprints_and_ath() -> None:
    assert jwk_thumbprint(RFC_JWK) == RFC_JKT
    assert jwk_thumbprint(RFC7638_RSA) == RFC7638_THUMBPRINT
    assert access_token_hash(RFC_ACCESS_TOKEN) == RFC_ATH
    assert hand_thumbprint(RFC_JWK) == RFC_JKT


# --- valid proofs ---------------------------------------------------------------------------


@needs_cryptography
@pytest.mark.parametrize(
    ("alg", "make_key"),
    [
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
        ("ES384", lambda: ec.generate_private_key(ec.SECP384R1())),
        ("EdDSA", lambda: ed25519.Ed25519PrivateKey.generate()),
        ("PS256", lambda: rsa.generate_private_key(65537, 2048)),
        ("RS256", lambda: rsa.generate_private_key(65537, 2048)),
    ],
)
def test_valid_proof_of_each_algorithm(verifier: DPoPVerifier, alg: str, make_key: Any) -> None:
    key = make_key()
    result = verifier.verify(make_proof(key, alg=alg), method="GET", url=URL,
                             access_token=ACCESS_TOKEN)  # fmt: skip
    assert isinstance(result, DPoPProof)
    assert result.algorithm == alg
    assert result.jkt == hand_thumbprint(public_jwk(key, alg))


def test_htu_normalisation(verifier: DPoPVerifier, es256: Any) -> None:
    # Scheme and host are case-insensitive, default ports are implied, the request's query
    # and fragment are not part of htu.
    proof = make_proof(es256, htu="HTTPS://API.Example.COM:443/orders")
    verifier.verify(proof, method="GET", url="https://api.example.com/orders?page=2",
                    access_token=ACCESS_TOKEN)  # fmt: skip
    assert normalize_htu("http://Example.com:80") == "http://example.com/"
    assert normalize_htu("http://example.com:8080/a?b#c") == "http://example.com:8080/a"
    # The path is case-sensitive.
    refused(verifier, make_proof(es256, htu="https://api.example.com/Orders"), "htu")


def test_token_endpoint_proof_needs_no_ath(verifier: DPoPVerifier, es256: Any) -> None:
    proof = make_proof(es256, htm="POST", access_token=None)
    assert verifier.verify(proof, method="POST", url=URL).claims.get("ath") is None


def test_single_header_given_as_a_list(verifier: DPoPVerifier, es256: Any) -> None:
    verifier.verify([make_proof(es256)], method="GET", url=URL, access_token=ACCESS_TOKEN)


# --- every check, refused -------------------------------------------------------------------


def test_wrong_htm(verifier: DPoPVerifier, es256: Any) -> None:
    refused(verifier, make_proof(es256, htm="POST"), "for POST requests, not GET")
    refused(verifier, make_proof(es256, htm="get"), "for get requests")


def test_htu_with_query_or_fragment(verifier: DPoPVerifier, es256: Any) -> None:
    refused(verifier, make_proof(es256, htu=URL + "?page=2"), "no query or fragment")
    refused(verifier, make_proof(es256, htu=URL + "#top"), "no query or fragment")


def test_htu_of_another_resource(verifier: DPoPVerifier, es256: Any) -> None:
    for htu in ("https://api.example.com/admin", "http://api.example.com/orders",
                "https://api.example.com:8443/orders", "https://evil.example/orders"):  # fmt: skip
        refused(verifier, make_proof(es256, htu=htu), "htu does not match")


def test_stale_and_future_iat(es256: Any) -> None:
    now = time.time()
    verifier = DPoPVerifier(MemoryDenylist(), max_age=60, max_skew=5, clock=lambda: now)
    refused(verifier, make_proof(es256, iat=now - 61), "too old")
    refused(verifier, make_proof(es256, iat=now + 6), "in the future")
    verifier.verify(make_proof(es256, iat=now - 59), method="GET", url=URL,
                    access_token=ACCESS_TOKEN)  # fmt: skip
    refused(verifier, make_proof(es256, iat="1700000000"), "iat")
    refused(verifier, make_proof(es256, iat=True), "iat")


def test_ath_mismatch_or_missing(verifier: DPoPVerifier, es256: Any) -> None:
    refused(verifier, make_proof(es256, access_token="another.token.here"), "ath does not match")
    refused(verifier, make_proof(es256, access_token=None), "ath does not match")
    # ath over something else than the exact token (a scheme prefix, say).
    refused(verifier, make_proof(es256, access_token="DPoP " + ACCESS_TOKEN), "ath")


def test_thumbprint_mismatch(verifier: DPoPVerifier, es256: Any) -> None:
    proof = verifier.verify(make_proof(es256), method="GET", url=URL, access_token=ACCESS_TOKEN)
    other_key = ec.generate_private_key(ec.SECP256R1())
    bound_elsewhere = {"cnf": {"jkt": hand_thumbprint(public_jwk(other_key))}}
    with pytest.raises(InvalidDPoPProofError, match=r"does not match the token's cnf\.jkt"):
        check_binding(bound_elsewhere, proof)
    check_binding({"cnf": {"jkt": hand_thumbprint(public_jwk(es256))}}, proof)
    with pytest.raises(DPoPBindingError, match="not bound"):
        check_binding({"sub": "alice"}, proof)
    with pytest.raises(DPoPBindingError, match="needs the DPoP scheme"):
        check_binding(bound_elsewhere, None)
    check_binding({"sub": "alice"}, None)


def test_private_key_in_the_proof_jwk(verifier: DPoPVerifier, es256: Any) -> None:
    private_jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(es256))
    assert "d" in private_jwk
    refused(verifier, make_proof(es256, jwk=private_jwk), "must be a public key")
    rsa_key = rsa.generate_private_key(65537, 2048)
    private_rsa = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(rsa_key))
    refused(verifier, make_proof(rsa_key, alg="PS256", jwk=private_rsa), "must be a public key")


def test_symmetric_algorithm(verifier: DPoPVerifier) -> None:
    secret = b"s" * 32
    oct_jwk = {"kty": "oct", "k": b64url(secret)}
    refused(verifier, make_proof(secret, alg="HS256", jwk=oct_jwk), "alg must be one of")
    with pytest.raises(ValueError, match="asymmetric"):
        DPoPVerifier(MemoryDenylist(), algorithms=["ES256", "HS256"])


def test_alg_none(verifier: DPoPVerifier, es256: Any) -> None:
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": public_jwk(es256)}
    claims = {"jti": "x", "htm": "GET", "htu": URL, "iat": int(time.time()),
              "ath": hand_ath(ACCESS_TOKEN)}  # fmt: skip
    unsigned = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims)) + "."
    refused(verifier, unsigned, "alg must be one of")
    with pytest.raises(ValueError, match="asymmetric"):
        DPoPVerifier(MemoryDenylist(), algorithms=["none"])


def test_algorithm_outside_the_allow_list(es256: Any) -> None:
    only_eddsa = DPoPVerifier(MemoryDenylist(), algorithms=["EdDSA"])
    refused(only_eddsa, make_proof(es256), "alg must be one of EdDSA")


def test_two_dpop_headers(verifier: DPoPVerifier, es256: Any) -> None:
    one, two = make_proof(es256), make_proof(es256)
    refused(verifier, [one, two], "exactly one")
    refused(verifier, f"{one}, {two}", "exactly one")  # as a proxy folds repeated headers
    refused(verifier, [], "no DPoP proof")
    refused(verifier, None, "no DPoP proof")


def test_wrong_typ_missing_jwk_and_bad_signature(verifier: DPoPVerifier, es256: Any) -> None:
    refused(verifier, make_proof(es256, typ="JWT"), "typ must be dpop\\+jwt")
    refused(verifier, make_proof(es256, typ="at+jwt"), "typ must be dpop\\+jwt")
    refused(verifier, make_proof(es256, typ=None), "typ must be dpop\\+jwt")
    other = ec.generate_private_key(ec.SECP256R1())
    refused(verifier, make_proof(es256, jwk=public_jwk(other)), "signature does not verify")
    no_jwk = pyjwt.encode({"jti": "x", "htm": "GET", "htu": URL, "iat": int(time.time())},
                          es256, "ES256", headers={"typ": "dpop+jwt"})  # fmt: skip
    refused(verifier, no_jwk, "no jwk")
    p384 = ec.generate_private_key(ec.SECP384R1())
    mislabelled = make_proof(es256, alg="ES256", jwk={**public_jwk(p384, "ES384")})
    refused(verifier, mislabelled, "not a ES256 key|signature")


@needs_cryptography
def test_rsa_key_under_2048_bits(verifier: DPoPVerifier) -> None:
    # Signed by hand (RS256 is RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 section 3.3):
    # PyJWT would warn about the key, and leave a warning registry in its module.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    small_rsa = rsa.generate_private_key(65537, 1024)
    numbers = small_rsa.public_key().public_numbers()
    jwk = {"kty": "RSA", "e": b64url(numbers.e.to_bytes(3, "big")),
           "n": b64url(numbers.n.to_bytes(128, "big"))}  # fmt: skip
    header = {"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}
    claims = {"jti": "small", "htm": "GET", "htu": URL, "iat": int(time.time()),
              "ath": hand_ath(ACCESS_TOKEN)}  # fmt: skip
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims))
    signature = small_rsa.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    refused(verifier, f"{signing_input}.{b64url(signature)}", "not a RS256 key")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_required_claims(verifier: DPoPVerifier, es256: Any, claim: str) -> None:
    refused(verifier, make_proof(es256, drop=(claim,)), claim)


@pytest.mark.parametrize("junk", ["", "not a jwt", "a.b.c", "e30.e30.", "x" * 50])
def test_malformed_proofs(verifier: DPoPVerifier, junk: str) -> None:
    refused(verifier, junk, "DPoP proof|exactly one")


# JSON lets a string hold a lone surrogate ("\\ud800" decodes to one), which strict UTF-8
# cannot encode: a proof made of them is a bad proof, never an encoding error (a 500).
LONE = "\ud800"


def test_lone_surrogates_in_ath_and_jti(verifier: DPoPVerifier, es256: Any) -> None:
    for claims in ({"ath": LONE}, {"ath": hand_ath(ACCESS_TOKEN) + LONE}):
        refused(verifier, make_proof(es256, claims=claims), "ath does not match")
    for jti in (LONE, "a" + LONE + "b", "\udc00"):
        for consume in (True, False):
            refused(verifier, make_proof(es256, claims={"jti": jti}), "jti claim is not a valid",
                    consume=consume)  # fmt: skip
    # A proof put together by the caller meets the same check in consume_jti.
    made = DPoPProof(jkt="j", jwk={}, claims={"jti": LONE, "iat": time.time()}, algorithm="ES256")
    with pytest.raises(InvalidDPoPProofError, match="jti claim is not a valid"):
        verifier.consume_jti(made)
    # Any other non-ASCII jti is a jti like another.
    verifier.verify(make_proof(es256, claims={"jti": "é\U0001f600"}), method="GET", url=URL,
                    access_token=ACCESS_TOKEN)  # fmt: skip


def test_lone_surrogates_elsewhere_in_a_request(verifier: DPoPVerifier, es256: Any) -> None:
    refused(verifier, make_proof(es256, htu=URL + LONE), "htu does not match")
    refused(verifier, make_proof(es256, htu=f"https://api{LONE}.example.com/orders"), "htu")
    refused(verifier, make_proof(es256, htm="GET" + LONE), "requests, not GET")
    # A kid in the proof's jwk is only handed back.
    odd_kid = {**public_jwk(es256), "kid": LONE}
    result = verifier.verify(make_proof(es256, jwk=odd_kid), method="GET", url=URL,
                             access_token=ACCESS_TOKEN)  # fmt: skip
    assert result.jwk["kid"] == LONE
    # An access token that is no token68 (not ASCII): no ath matches it.
    for token in (ACCESS_TOKEN + LONE, ACCESS_TOKEN + "é"):
        refused(verifier, make_proof(es256), "ath does not match", access_token=token)
    # The proof key against a token's cnf.jkt, and a nonce.
    proof = verifier.verify(make_proof(es256), method="GET", url=URL, access_token=ACCESS_TOKEN)
    with pytest.raises(InvalidDPoPProofError, match="does not match the token's cnf"):
        check_binding({"cnf": {"jkt": LONE}}, proof)
    nonces = DPoPNonces(b"n" * 32)
    with_nonces = DPoPVerifier(MemoryDenylist(), nonces=nonces)
    with pytest.raises(UseDPoPNonceError):
        with_nonces.verify(make_proof(es256, claims={"nonce": LONE}), method="GET", url=URL,
                           access_token=ACCESS_TOKEN)  # fmt: skip
    assert not nonces.is_valid(nonces.current() + LONE)


@pytest.mark.parametrize("item", [b"x", bytearray(b"x"), None, 1, 1.5, ["x"], {"x": 1}])
def test_a_proof_that_is_no_string(verifier: DPoPVerifier, es256: Any, item: Any) -> None:
    refused(verifier, [item], "must be a string")
    refused(verifier, (item,), "must be a string")
    if item is not None and not isinstance(item, (list, dict)):
        refused(verifier, item, "must be a string")
    # A real proof's bytes are no exception.
    refused(verifier, [make_proof(es256).encode()], "must be a string, not bytes")
    refused(verifier, make_proof(es256).encode(), "must be a string, not bytes")


def test_replay_in_one_process(verifier: DPoPVerifier, es256: Any) -> None:
    proof = make_proof(es256)
    verifier.verify(proof, method="GET", url=URL, access_token=ACCESS_TOKEN)
    refused(verifier, proof, "already used")


def test_consume_false_leaves_the_proof_unspent(verifier: DPoPVerifier, es256: Any) -> None:
    proof = make_proof(es256)
    checked = verifier.verify(proof, method="GET", url=URL, access_token=ACCESS_TOKEN,
                              consume=False)  # fmt: skip
    verifier.consume_jti(checked)
    with pytest.raises(InvalidDPoPProofError, match="already used"):
        verifier.consume_jti(checked)


# --- what a verifier remembers about proof headers -----------------------------------------


def test_a_remembered_header_does_not_vouch_for_another_key(es256: Any) -> None:
    verifier = DPoPVerifier(MemoryDenylist())
    other = ec.generate_private_key(ec.SECP256R1())
    mine = {**public_jwk(es256), "kid": "k1"}
    theirs = {**public_jwk(other), "kid": "k1"}  # the same kid, another key
    first = verifier.verify(make_proof(es256, jwk=mine), method="GET", url=URL,
                            access_token=ACCESS_TOKEN)  # fmt: skip
    assert first.jkt == hand_thumbprint(mine)
    # Signed by the other key under the remembered header (same typ, alg and jwk): the
    # remembered key checks the signature, and refuses it.
    refused(verifier, make_proof(other, jwk=mine), "signature does not verify")
    # The other key's own header: its own key and thumbprint, which the binding refuses.
    second = verifier.verify(make_proof(other, jwk=theirs), method="GET", url=URL,
                             access_token=ACCESS_TOKEN)  # fmt: skip
    assert second.jkt == hand_thumbprint(theirs) != first.jkt
    with pytest.raises(InvalidDPoPProofError, match="does not match the token"):
        check_binding({"cnf": {"jkt": first.jkt}}, second)
    # A returned jwk is a copy: changing it changes nothing remembered.
    first.jwk["x"] = theirs["x"]
    again = verifier.verify(make_proof(es256, jwk=mine), method="GET", url=URL,
                            access_token=ACCESS_TOKEN)  # fmt: skip
    assert again.jwk == mine and again.jkt == first.jkt


def test_a_remembered_public_key_lets_no_private_jwk_through(es256: Any) -> None:
    verifier = DPoPVerifier(MemoryDenylist())
    verifier.verify(make_proof(es256), method="GET", url=URL, access_token=ACCESS_TOKEN)
    private_jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(es256))
    for _ in range(2):  # refused each time, not remembered as a key
        refused(verifier, make_proof(es256, jwk=private_jwk), "must be a public key")


def test_remembered_headers_are_bounded(es256: Any) -> None:
    from turbojwt.auth import dpop

    verifier = DPoPVerifier(MemoryDenylist())
    jwk = public_jwk(es256)
    for index in range(dpop._KEY_CACHE_SIZE + 5):
        proof = make_proof(es256, jwk={**jwk, "kid": str(index)})
        verifier.verify(proof, method="GET", url=URL, access_token=ACCESS_TOKEN)
        assert len(verifier._headers) <= dpop._KEY_CACHE_SIZE


def sign_es256(key: Any, signing_input: str) -> str:
    """``signing_input`` with an ES256 signature appended (any payload, JSON or not)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def outcome(verifier: DPoPVerifier, proof: str) -> str:
    try:
        result = verifier.verify(proof, method="GET", url=URL, access_token=ACCESS_TOKEN)
    except InvalidDPoPProofError as error:
        return f"{type(error).__name__}: {error}"
    return f"verified {result.claims}"


@needs_cryptography
def test_a_remembered_header_answers_as_a_first_sight_one(es256: Any) -> None:
    # Under a remembered header the proof is checked by NativeKey.verify_jws, which does
    # not parse the header again: every proof must get the answer, and the message, a
    # verifier seeing the header for the first time gives.
    valid = make_proof(es256)
    segment, payload, signature = valid.split(".")
    claims = {"jti": "j", "htm": "GET", "htu": URL, "iat": int(time.time()),
              "ath": hand_ath(ACCESS_TOKEN)}  # fmt: skip
    payload_of = lambda value: b64url(json.dumps(value).encode())  # noqa: E731
    other = ec.generate_private_key(ec.SECP256R1())
    limit = turbojwt.get_limits()[0]
    proofs = [
        valid,
        make_proof(es256),  # another jti under the same header
        segment,
        segment + ".",
        f"{segment}.{payload}",
        f"{segment}.{payload}.",
        f"{segment}..{signature}",
        f"{segment}.{payload}.{signature}.",
        f"{segment}.{payload}.{payload}.{signature}",
        f"{segment}.{payload}=.{signature}",
        f"{segment}.{payload}.{signature}==",
        f"{segment}.{payload}.{signature[:-2]}",
        f"{segment}.{payload[:-1]}é.{signature}",
        f"{segment}.{payload}.{signature}\x00",
        f"{segment}.{payload}.!{signature[1:]}",
        f"{segment}.{payload}.{b64url(bytes(64))}",
        f"{segment}.{payload_of({**claims, 'jti': 'k'})}.{signature}",
        sign_es256(other, f"{segment}.{payload}"),
        sign_es256(es256, f"{segment}.{b64url(b'not json')}"),
        sign_es256(es256, f"{segment}.{b64url(b'[1, 2]')}"),
        sign_es256(es256, f"{segment}.{payload_of({**claims, 'jti': LONE})}"),
        sign_es256(es256, f"{segment}.{payload_of({**claims, 'htm': 'POST'})}"),
        f"{segment}.{'A' * limit}.{signature}",
    ]
    for proof in proofs:
        fresh = DPoPVerifier(MemoryDenylist())
        warm = DPoPVerifier(MemoryDenylist())
        warm.verify(make_proof(es256), method="GET", url=URL, access_token=ACCESS_TOKEN)
        assert segment in warm._headers
        parsed: list[str] = []
        load = warm._load

        def counted_load(token: str, load: Any = load, parsed: list[str] = parsed) -> Any:
            parsed.append(token)
            return load(token)

        warm._load = counted_load
        assert outcome(warm, proof) == outcome(fresh, proof), proof[:200]
        if "." in proof:  # (with no dot, there is no header segment to remember)
            assert not parsed, "a remembered header was parsed again"
    assert outcome(fresh, valid).startswith("verified")

    # A header with "b64" (RFC 7797) is never checked that way: the full parse reads it.
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(es256), "b64": False}
    unencoded = sign_es256(es256, f"{b64url(json.dumps(header).encode())}.")
    fresh, warm = DPoPVerifier(MemoryDenylist()), DPoPVerifier(MemoryDenylist())
    first = outcome(warm, unencoded)
    assert outcome(warm, unencoded) == first == outcome(fresh, unencoded)
    assert "payload is not a JSON object" in first


@needs_cryptography
def test_native_key_verify_jws(es256: Any) -> None:
    from turbojwt._turbojwt import NativeKey
    from turbojwt.exceptions import DecodeError

    key = NativeKey.from_jwk({name: public_jwk(es256)[name] for name in ("crv", "kty", "x", "y")})
    proof = make_proof(es256)
    segment, payload, signature = proof.split(".")
    assert key.verify_jws("ES256", proof) == base64.urlsafe_b64decode(payload + "==")
    assert key.verify_jws("ES256", proof.encode()) == key.verify_jws("ES256", proof)
    # The header segment is not read at all.
    assert key.verify_jws("ES256", f"x.{payload}.{signature}") is None  # not what was signed
    assert key.verify_jws("ES256", sign_es256(es256, f"!!.{payload}")) is not None
    for wrong in ("ES384", "RS256", "EdDSA", "HS256", "none", "nonsense"):
        assert key.verify_jws(wrong, proof) is None
    assert key.verify_jws("ES256", f"{segment}.{payload}.{b64url(bytes(64))}") is None
    for token, message in [
        ("abc", "Not enough segments"),
        ("a.b", "Not enough segments"),
        (f"{segment}.!.{signature}", "Invalid payload padding"),
        (f"{segment}.{payload}.!", "Invalid crypto padding"),
    ]:
        with pytest.raises(DecodeError, match=message):
            key.verify_jws("ES256", token)
        with pytest.raises(DecodeError, match=message):
            PyJWS()._load(token)


def test_a_proof_is_the_dataclass_its_constructor_makes() -> None:
    from turbojwt.auth.dpop import _new_proof

    fast = _new_proof("jkt", {"kty": "OKP"}, {"jti": "1"}, "EdDSA")
    slow = DPoPProof(jkt="jkt", jwk={"kty": "OKP"}, claims={"jti": "1"}, algorithm="EdDSA")
    assert type(fast) is DPoPProof
    assert fast == slow and repr(fast) == repr(slow) and vars(fast) == vars(slow)
    with pytest.raises(AttributeError):
        fast.jkt = "other"  # type: ignore[misc]


# --- replay across processes ---------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys
    from turbojwt.auth import SQLiteDenylist
    from turbojwt.auth.dpop import DPoPVerifier, InvalidDPoPProofError
    store_url, proof, url, token = sys.argv[1:5]
    if store_url.startswith("redis://"):
        from turbojwt.auth import RedisDenylist
        store = RedisDenylist(store_url)
    else:
        store = SQLiteDenylist(store_url)
    verifier = DPoPVerifier(store)
    sys.stdin.readline()  # start together
    try:
        verifier.verify(proof, method="GET", url=url, access_token=token)
        print("accepted")
    except InvalidDPoPProofError as error:
        print("refused:", error)
    """
)


def race(store_url: str, proof: str, workers: int = 4) -> list[str]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, store_url, proof, URL, ACCESS_TOKEN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    time.sleep(1.0)  # let every worker import and open the store
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs.append(out.strip())
    return outputs


def test_replay_across_processes_sqlite(tmp_path: Path, es256: Any) -> None:
    path = tmp_path / "dpop.sqlite3"
    SQLiteDenylist(path).close()  # the schema exists before the race
    outcomes = race(str(path), make_proof(es256))
    assert outcomes.count("accepted") == 1, outcomes
    assert all("already used" in outcome for outcome in outcomes if outcome != "accepted")


def test_replay_across_processes_redis(redis_url: str, es256: Any) -> None:
    pytest.importorskip("redis")
    outcomes = race(redis_url, make_proof(es256))
    assert outcomes.count("accepted") == 1, outcomes
    # A fresh proof from the same key is accepted again.
    assert race(redis_url, make_proof(es256), workers=1) == ["accepted"]


# --- nonces ----------------------------------------------------------------------------------


def test_server_nonces(es256: Any) -> None:
    now = [1_800_000_000.0]
    nonces = DPoPNonces(b"n" * 32, lifetime=60, clock=lambda: now[0])
    verifier = DPoPVerifier(MemoryDenylist(), nonces=nonces, clock=lambda: now[0])
    with pytest.raises(UseDPoPNonceError) as caught:
        verifier.verify(make_proof(es256, iat=now[0]), method="GET", url=URL,
                        access_token=ACCESS_TOKEN)  # fmt: skip
    assert caught.value.error == "use_dpop_nonce"
    nonce = caught.value.nonce
    assert nonce == nonces.current()
    verifier.verify(make_proof(es256, iat=now[0], claims={"nonce": nonce}), method="GET",
                    url=URL, access_token=ACCESS_TOKEN)  # fmt: skip
    # Another process with the same secret accepts it too; after two windows it is stale.
    other = DPoPVerifier(MemoryDenylist(), nonces=DPoPNonces(b"n" * 32, lifetime=60,
                         clock=lambda: now[0]), clock=lambda: now[0])  # fmt: skip
    other.verify(make_proof(es256, iat=now[0], claims={"nonce": nonce}), method="GET", url=URL,
                 access_token=ACCESS_TOKEN)  # fmt: skip
    now[0] += 125
    with pytest.raises(UseDPoPNonceError):
        verifier.verify(make_proof(es256, iat=now[0], claims={"nonce": nonce}), method="GET",
                        url=URL, access_token=ACCESS_TOKEN)  # fmt: skip
    with pytest.raises(UseDPoPNonceError):
        verifier.verify(make_proof(es256, iat=now[0], claims={"nonce": 7}), method="GET",
                        url=URL, access_token=ACCESS_TOKEN)  # fmt: skip


# --- the Authorization header ---------------------------------------------------------------


def test_extract_credentials() -> None:
    assert extract_credentials("DPoP abc.def.ghi") == ("DPoP", "abc.def.ghi")
    assert extract_credentials("dpop  abc") == ("DPoP", "abc")
    assert extract_credentials(" Bearer abc= ") == ("Bearer", "abc=")
    assert extract_credentials(b"DPoP abc", ["DPoP"]) == ("DPoP", "abc")
    with pytest.raises(MissingAuthorizationError):
        extract_credentials(None)
    with pytest.raises(MissingAuthorizationError):
        extract_credentials("  ")
    with pytest.raises(UnsupportedSchemeError):
        extract_credentials("Bearer abc", ["DPoP"])
    with pytest.raises(UnsupportedSchemeError):
        extract_credentials("Basic YWxpY2U6cHc=")
    for bad in ("DPoP", "DPoP a b", "DPoP a,b", "DPoP\tabc", "DPoP ab=c"):
        with pytest.raises(MalformedAuthorizationError):
            extract_credentials(bad)


def test_token68_answers_are_remembered_per_string() -> None:
    from turbojwt.auth import dpop

    dpop._is_token68.cache_clear()
    for _ in range(2):  # the second round answers from the cache
        assert extract_credentials("DPoP abc.def-ghi_~+/==") == ("DPoP", "abc.def-ghi_~+/==")
        for bad in ("DPoP ab=c", "DPoP a!b", "DPoP \u00e9t\u00e9", "DPoP ab==="[:-1] + "c"):
            with pytest.raises(MalformedAuthorizationError):
                extract_credentials(bad)
    assert dpop._is_token68.cache_info().hits >= 4
    for index in range(dpop._TOKEN_CACHE_SIZE + 100):  # bounded: old strings are dropped
        assert extract_credentials(f"DPoP token{index}") == ("DPoP", f"token{index}")
    assert dpop._is_token68.cache_info().currsize <= dpop._TOKEN_CACHE_SIZE


# --- tokens bound by TokenIssuer -------------------------------------------------------------


def test_issuer_binds_tokens_and_refresh_keeps_the_binding(es256: Any) -> None:
    issuer = TokenIssuer(b"k" * 32, "HS256", issuer="https://as.example", audience=URL,
                         denylist=MemoryDenylist(), client_id="cli")  # fmt: skip
    jkt = hand_thumbprint(public_jwk(es256))
    pair = issuer.issue("alice", scopes="orders:read", dpop_jkt=jkt)
    assert pair.token_type == "DPoP"
    assert pair.as_dict()["token_type"] == "DPoP"
    claims = pyjwt.decode(pair.access_token, b"k" * 32, ["HS256"], audience=URL)
    assert claims["cnf"] == {"jkt": jkt}
    assert claims["client_id"] == "cli"
    assert pyjwt.get_unverified_header(pair.access_token)["typ"] == "at+jwt"
    with pytest.raises(DPoPBindingError):
        issuer.refresh(pair.refresh_token)  # no proof: refused, and not spent
    with pytest.raises(DPoPBindingError):
        issuer.refresh(pair.refresh_token, dpop_jkt="another-thumbprint")
    renewed = issuer.refresh(pair.refresh_token, dpop_jkt=jkt)
    assert renewed.token_type == "DPoP"
    renewed_claims = pyjwt.decode(renewed.access_token, b"k" * 32, ["HS256"], audience=URL)
    assert renewed_claims["cnf"] == {"jkt": jkt}
    assert renewed_claims["client_id"] == "cli"
    unbound = issuer.issue("bob")
    assert unbound.token_type == "Bearer"
    assert "cnf" not in pyjwt.decode(unbound.access_token, b"k" * 32, ["HS256"], audience=URL)
    with pytest.raises(ValueError, match="cnf"):
        issuer.issue("bob", claims={"cnf": {"jkt": jkt}})
    with pytest.raises(ValueError, match="client_id"):
        issuer.issue("bob", client_id="a", claims={"client_id": "b"})
