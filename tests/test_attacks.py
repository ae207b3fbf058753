"""The known JWT/JWS attacks, one test per attack class (numbered as in docs/security.md).

Every test runs the attack against the target and, through ``compare``, against PyJWT 2.15.1:
where PyJWT already meets the bar the target must behave exactly alike. The correct behaviour is
asserted on top: a ``PyJWTError`` subclass (never a crash or a builtin exception), or acceptance
where accepting is legal. Tokens that no library would build are forged with the stdlib.

The RSA PKCS#1 v1.5 / PSS / ECDSA / EdDSA vectors of Wycheproof are in ``test_vectors.py``;
the cases here are the ones Wycheproof does not phrase as a JWS.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

import pytest

# Forges ECDSA/EdDSA/RSA signatures; the no-cryptography CI environment skips this file.
pytest.importorskip("cryptography")
from _target import (
    SECRET,
    TARGET_IS_REFERENCE,
    Outcome,
    b64url,
    compare,
    exceptions_of,
    forge,
    ref,
    requires_turbojwt,
    run,
    sign,
    tj,
)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

KEYS = Path(__file__).parent / "vectors" / "keys"
PAYLOAD = {"sub": "attack", "n": 1}
FUTURE = 4_102_444_800  # 2100-01-01
PAST = 946_684_800  # 2000-01-01
# A refusal must come well within this on a loaded 2-core machine; PyJWT needs under 0.5 s.
DOS_BUDGET_SECONDS = 5.0
MB = 1 << 20


def key_text(name: str) -> str:
    return (KEYS / name).read_text(encoding="utf-8")


@functools.cache
def private_key(name: str) -> Any:
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


def public_pem(name: str) -> str:
    return key_text(f"{name}.pub.pem")


def error_class(lib: ModuleType, name: str) -> type:
    cls: type = getattr(exceptions_of(lib), name)
    return cls


def decode_call(token: Any, key: Any, **kwargs: Any) -> Callable[[ModuleType], Any]:
    kwargs.setdefault("algorithms", ["HS256"])
    return lambda lib: lib.decode(token, key, **kwargs)


def rejected(call: Callable[[ModuleType], Any], kind: str = "PyJWTError") -> Outcome:
    """The target refuses like PyJWT does, with a ``kind`` (a PyJWTError subclass)."""
    target = compare(call)
    assert isinstance(target.error, error_class(tj, kind)), target
    return target


def refused_like_pyjwt(call: Callable[[ModuleType], Any]) -> Outcome:
    """Refused, with PyJWT's own exception even where that is a builtin (info tier)."""
    target = compare(call)
    assert target.error is not None
    return target


def accepted(call: Callable[[ModuleType], Any]) -> Any:
    """The target accepts like PyJWT does; returns what the target returned."""
    target = compare(call)
    assert target.error is None
    return target.value


def within_budget(call: Callable[[ModuleType], Any]) -> Outcome:
    """A DoS input: the target answers (a PyJWTError or a result) within the budget."""
    start = time.perf_counter()
    outcome = run(tj, call)
    elapsed = time.perf_counter() - start
    assert elapsed < DOS_BUDGET_SECONDS, f"took {elapsed:.2f} s"
    assert outcome.error is None or isinstance(outcome.error, error_class(tj, "PyJWTError")), (
        outcome.error
    )
    return outcome


@pytest.fixture
def limits_lifted() -> Iterator[None]:
    """turbojwt's token length and JSON depth limits out of reach for one test.

    PyJWT has no such limits, so the DoS cases compare turbojwt's unlimited pipeline with
    PyJWT under this fixture; the limits themselves are asserted by the ``requires_turbojwt``
    tests next to them (and in ``tests/test_limits.py``).
    """
    get_limits = getattr(tj, "get_limits", None)
    if get_limits is None:  # PyJWT as the target: nothing to lift
        yield
        return
    saved = get_limits()
    tj.set_limits(max_token_bytes=sys.maxsize, max_json_depth=sys.maxsize)
    try:
        yield
    finally:
        tj.set_limits(max_token_bytes=saved.max_token_bytes, max_json_depth=saved.max_json_depth)


def refused_by_limit(call: Callable[[ModuleType], Any], message: str) -> None:
    """turbojwt refuses ``call`` with ``DecodeError(message)`` within the budget."""
    outcome = within_budget(call)
    assert isinstance(outcome.error, error_class(tj, "DecodeError")), outcome
    assert str(outcome.error) == message


TOO_LONG = "Invalid token: longer than 262144 bytes"


def too_deep(what: str) -> str:
    depth = tj.get_limits().max_json_depth if hasattr(tj, "get_limits") else 0
    return f"Invalid {what} string: nesting deeper than {depth} levels"


# --- forging asymmetric signatures ---------------------------------------------------------

HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
CURVE_ORDERS = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-521": int(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        16,
    ),
}
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def unsigned(header: dict[str, Any], payload: Any = PAYLOAD) -> str:
    """``header.payload`` (the signing input) of a token."""
    return forge(header, payload, alg="none").rsplit(".", 1)[0]


def with_signature(signing_input: str, signature: bytes) -> str:
    return f"{signing_input}.{b64url(signature)}"


def ecdsa_rs(key_name: str, signing_input: str, hash_bits: str) -> tuple[int, int]:
    der = private_key(key_name).sign(signing_input.encode(), ec.ECDSA(HASHES[hash_bits]))
    r, s = decode_dss_signature(der)
    return r, s


def raw_rs(r: int, s: int, size: int) -> bytes:
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def rsa_signature(key_name: str, signing_input: str, pad: Any, hash_bits: str) -> bytes:
    key = private_key(key_name)
    assert isinstance(key, RSAPrivateKey)
    signature: bytes = key.sign(signing_input.encode(), pad, HASHES[hash_bits])
    return signature


def pss(hash_bits: str, salt_length: int) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(HASHES[hash_bits]), salt_length=salt_length)


def assert_control_verifies(signing_input: str, signature: bytes, key_name: str) -> None:
    """The unforged signature verifies: the forgery alone is what gets it refused."""
    alg = json.loads(base64.urlsafe_b64decode(signing_input.split(".")[0] + "=="))["alg"]
    token = with_signature(signing_input, signature)
    assert accepted(decode_call(token, public_pem(key_name), algorithms=[alg])) == PAYLOAD


# === 1. alg=none ===========================================================================

NONE_TOKENS = [
    pytest.param(forge({"alg": alg}, PAYLOAD, alg="none"), id=f"{alg}-unsigned")
    for alg in ("none", "None", "NONE", "nOnE")
] + [
    pytest.param(forge({"alg": "none"}, PAYLOAD, alg="HS256"), id="none-with-signature"),
]


@pytest.mark.parametrize("token", NONE_TOKENS)
@pytest.mark.parametrize(
    ("key", "algorithms"),
    [(SECRET, ["HS256"]), ("", ["none"]), (None, ["none"]), (SECRET, ["none", "HS256"])],
)
def test_01_unsigned_token_never_verifies(token: str, key: Any, algorithms: list[str]) -> None:
    rejected(decode_call(token, key, algorithms=algorithms))


# === 2. algorithm allow-list ===============================================================

ALLOW_LIST_CASES = [
    pytest.param(forge({"alg": "HS256"}, PAYLOAD), {"algorithms": []}, id="algorithms-empty"),
    pytest.param(forge({"alg": "HS512"}, PAYLOAD), {}, id="valid-HS512-only-HS256-allowed"),
    pytest.param(forge({"alg": "hs256"}, PAYLOAD, alg="HS256"), {}, id="lower-case"),
    pytest.param(forge({"alg": "HS256 "}, PAYLOAD, alg="HS256"), {}, id="trailing-space"),
    pytest.param(forge({"alg": "XX999"}, PAYLOAD), {"algorithms": ["XX999"]}, id="unknown"),
] + [
    pytest.param(forge({"alg": alg}, PAYLOAD, alg="HS256"), {}, id=f"alg-{type(alg).__name__}")
    for alg in (None, ["HS256"], 256, {"HS256": True}, True)
]


@pytest.mark.parametrize(("token", "kwargs"), ALLOW_LIST_CASES)
def test_02_algorithm_allow_list_is_exact(token: str, kwargs: dict[str, Any]) -> None:
    rejected(decode_call(token, SECRET, **kwargs))


def test_02_algorithms_argument_is_required() -> None:
    rejected(lambda lib: lib.decode(forge({"alg": "HS256"}, PAYLOAD), SECRET), "DecodeError")


# === 3. algorithms passed as a str =========================================================


def test_03_algorithms_as_str_keeps_pyjwts_substring_match() -> None:
    """Deliberately PyJWT-compatible (info tier): ``alg in algorithms`` on a str is a
    substring test, so an ES256 token passes ``algorithms="ES256K"``. The key still binds
    the curve, so only a P-256 key can verify it; docs/security.md records the decision."""
    signing_input = unsigned({"alg": "ES256"})
    token = with_signature(
        signing_input, raw_rs(*ecdsa_rs("p256.pkcs8.pem", signing_input, "256"), 32)
    )
    assert accepted(decode_call(token, public_pem("p256"), algorithms="ES256K")) == PAYLOAD
    # Not a substring: refused.
    rejected(decode_call(token, public_pem("p256"), algorithms="ES384"), "InvalidAlgorithmError")


# === 4. HMAC / asymmetric key confusion ====================================================


def spki_der(name: str) -> bytes:
    key = serialization.load_pem_public_key((KEYS / f"{name}.pub.pem").read_bytes())
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_shapes() -> list[Any]:
    rsa_pem = public_pem("rsa2048")
    rsa_jwk = key_text("rsa2048.pub.jwk.json")
    text_shapes = {
        "rsa-pem": rsa_pem,
        "rsa-pem-leading-newlines": "\n\n" + rsa_pem,
        "rsa-pem-leading-space": " " + rsa_pem,
        "rsa-pem-crlf": rsa_pem.replace("\n", "\r\n"),
        "rsa-pem-preamble": "Public key follows\n" + rsa_pem,
        "rsa-pkcs1-pem": key_text("rsa2048.pkcs1.pub.pem"),
        "rsa-cert": key_text("rsa2048.cert.pem"),
        "ec-pem": public_pem("p256"),
        "ec-cert": key_text("p256.cert.pem"),
        "ed25519-pem": public_pem("ed25519"),
        "rsa-ssh": key_text("rsa2048.ssh.pub").strip(),
        "rsa-ssh-newline": key_text("rsa2048.ssh.pub").strip() + "\n",
        "ec-ssh": key_text("p256.ssh.pub").strip(),
        "ed25519-ssh": key_text("ed25519.ssh.pub").strip(),
        "rsa-jwk": rsa_jwk,
        "ec-jwk": key_text("p256.pub.jwk.json"),
        "rsa-jwks": json.dumps({"keys": [json.loads(rsa_jwk)]}),
    }
    shapes = [pytest.param(text, id=f"{name}-str") for name, text in text_shapes.items()]
    shapes += [
        pytest.param(text.encode(), id=f"{name}-bytes") for name, text in text_shapes.items()
    ]
    shapes += [pytest.param(spki_der(name), id=f"{name}-der") for name in ("rsa2048", "p256")]
    return shapes


@pytest.mark.parametrize("algorithms", [["HS256"], ["HS256", "RS256", "ES256", "EdDSA"]])
@pytest.mark.parametrize("material", key_shapes())
def test_04_public_key_material_is_refused_as_hmac_secret(
    material: str | bytes, algorithms: list[str]
) -> None:
    token = forge({"alg": "HS256"}, PAYLOAD, key=material)
    rejected(decode_call(token, material, algorithms=algorithms), "InvalidKeyError")


# PyJWT raises a bare TypeError here; turbojwt's KeyTypeError is also an InvalidKeyError.
@requires_turbojwt
@pytest.mark.parametrize("name", ["rsa2048", "p256", "ed25519"])
def test_04_public_key_object_is_refused_as_hmac_secret(name: str) -> None:
    key = serialization.load_pem_public_key((KEYS / f"{name}.pub.pem").read_bytes())
    token = forge({"alg": "HS256"}, PAYLOAD)
    error = run(tj, decode_call(token, key)).error
    assert isinstance(error, error_class(tj, "InvalidKeyError")), repr(error)


# === 5. PyJWK algorithm binding ============================================================


def test_05_pyjwk_binds_the_header_algorithm() -> None:
    jwk = {**json.loads(key_text("rsa2048.pub.jwk.json")), "alg": "RS256"}
    signing_input = unsigned({"alg": "PS256"})
    ps256 = with_signature(
        signing_input, rsa_signature("rsa2048.pkcs8.pem", signing_input, pss("256", 32), "256")
    )
    rejected(lambda lib: lib.decode(ps256, lib.PyJWK(jwk), algorithms=["PS256"]))
    rejected(lambda lib: lib.decode(ps256, lib.PyJWK(jwk), algorithms=["RS256", "PS256"]))
    # An HS256 token keyed with the JWK's own text must not verify against the RSA PyJWK.
    hs256 = forge({"alg": "HS256"}, PAYLOAD, key=json.dumps(jwk))
    rejected(lambda lib: lib.decode(hs256, lib.PyJWK(jwk), algorithms=["HS256"]))


# === 6. curve and padding binding ==========================================================


def ecdsa_token(header_alg: str, key_name: str, hash_bits: str, size: int) -> str:
    signing_input = unsigned({"alg": header_alg})
    return with_signature(
        signing_input, raw_rs(*ecdsa_rs(key_name, signing_input, hash_bits), size)
    )


def rsa_token(header_alg: str, pad: Any, hash_bits: str) -> str:
    signing_input = unsigned({"alg": header_alg})
    return with_signature(
        signing_input, rsa_signature("rsa2048.pkcs8.pem", signing_input, pad, hash_bits)
    )


BINDING_CASES = [
    # (token, verifying key, its allow-list)
    pytest.param(
        lambda: ecdsa_token("ES256", "p384.pkcs8.pem", "256", 48), "p384", id="ES256-on-P-384"
    ),
    pytest.param(
        lambda: ecdsa_token("ES384", "p256.pkcs8.pem", "384", 32), "p256", id="ES384-on-P-256"
    ),
    pytest.param(
        lambda: ecdsa_token("ES256", "secp256k1.pkcs8.pem", "256", 32),
        "secp256k1",
        id="ES256-on-secp256k1",
    ),
    pytest.param(
        lambda: ecdsa_token("ES256K", "p256.pkcs8.pem", "256", 32), "p256", id="ES256K-on-P-256"
    ),
    pytest.param(
        lambda: rsa_token("PS256", padding.PKCS1v15(), "256"), "rsa2048", id="RS256-bytes-as-PS256"
    ),
    pytest.param(
        lambda: rsa_token("RS256", pss("256", 32), "256"), "rsa2048", id="PS256-bytes-as-RS256"
    ),
    pytest.param(
        lambda: rsa_token("RS512", padding.PKCS1v15(), "256"), "rsa2048", id="RS256-bytes-as-RS512"
    ),
]


@pytest.mark.parametrize(("make_token", "key_name"), BINDING_CASES)
def test_06_algorithm_binds_curve_padding_and_hash(
    make_token: Callable[[], str], key_name: str
) -> None:
    token = make_token()
    alg = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"]
    rejected(decode_call(token, public_pem(key_name), algorithms=[alg]))


# === 7. embedded keys: jwk, jku, x5u, x5c ==================================================


class LoopbackServer:
    """An HTTP server on 127.0.0.1 that serves fixed JSON and records every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.replies: dict[str, tuple[int, bytes]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                status, body = server.replies.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def serve(self, path: str, document: Any, status: int = 200) -> str:
        self.replies[path] = (status, json.dumps(document).encode())
        return self.url(path)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def public_jwk(name: str, **extra: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = {**json.loads(key_text(f"{name}.pub.jwk.json")), **extra}
    return jwk


def embedded_key_headers(server: LoopbackServer) -> dict[str, dict[str, Any]]:
    """Headers naming the attacker's P-384 key (the token is signed with it) in every way."""
    attacker_jwks = {"keys": [public_jwk("p384", kid="k1")]}
    cert = key_text("p256.cert.pem").split("-----")[2].replace("\n", "")
    return {
        "jwk": {"alg": "ES384", "jwk": public_jwk("p384")},
        "jku": {"alg": "ES384", "kid": "k1", "jku": server.serve("/attacker/jwks", attacker_jwks)},
        "x5u": {"alg": "ES384", "x5u": server.serve("/attacker/cert", {})},
        "x5c": {"alg": "ES384", "x5c": [cert]},
    }


@pytest.mark.parametrize("header_name", ["jwk", "jku", "x5u", "x5c"])
def test_07_embedded_keys_are_never_used_or_fetched(
    loopback: LoopbackServer, header_name: str
) -> None:
    header = embedded_key_headers(loopback)[header_name]
    signing_input = unsigned(header)
    token = with_signature(
        signing_input, raw_rs(*ecdsa_rs("p384.pkcs8.pem", signing_input, "384"), 48)
    )
    # The verifier's own key is a different P-384 key: only the embedded key would verify.
    victim = ec.generate_private_key(ec.SECP384R1()).public_key()
    rejected(decode_call(token, victim, algorithms=["ES384"]), "InvalidSignatureError")
    # No key at all: never a fallback to the embedded one. ``None`` and ``""`` are
    # PyJWT's TypeError for an asymmetric algorithm (info tier), kept for compatibility.
    refused_like_pyjwt(decode_call(token, None, algorithms=["ES384"]))
    refused_like_pyjwt(decode_call(token, "", algorithms=["ES384"]))
    # Reading the header does not dereference it either.
    assert tj.get_unverified_header(token)[header_name] == header[header_name]
    assert loopback.requests == []


def test_07_jwks_client_ignores_the_tokens_jku(loopback: LoopbackServer) -> None:
    legit = ec.generate_private_key(ec.SECP384R1()).public_key()
    legit_jwk = json.loads(tj.algorithms.ECAlgorithm.to_jwk(legit))
    jwks_url = loopback.serve("/legit/jwks", {"keys": [{**legit_jwk, "kid": "k1", "alg": "ES384"}]})
    header = embedded_key_headers(loopback)["jku"]  # kid "k1" collides with the legit key
    signing_input = unsigned(header)
    token = with_signature(
        signing_input, raw_rs(*ecdsa_rs("p384.pkcs8.pem", signing_input, "384"), 48)
    )

    def attempt(lib: ModuleType) -> Any:
        signing_key = lib.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
        return lib.decode(token, signing_key, algorithms=["ES384"])

    rejected(attempt, "InvalidSignatureError")
    assert set(loopback.requests) == {"/legit/jwks"}


# === 8. kid injection ======================================================================


@pytest.mark.parametrize("kid", [1, None, ["a"], {"path": "../../etc/passwd"}, True])
def test_08_kid_must_be_a_string(kid: Any) -> None:
    token = forge({"alg": "HS256", "kid": kid}, PAYLOAD)
    rejected(decode_call(token, SECRET), "InvalidTokenError")
    rejected(lambda lib: lib.get_unverified_header(token), "InvalidTokenError")


@pytest.mark.parametrize(
    "kid", ["key", "KEY-1", "key-1\x00", "key-1 ", "../key-1", "key-1' OR '1'='1"]
)
def test_08_kid_lookups_are_exact(loopback: LoopbackServer, kid: str) -> None:
    jwks = {"keys": [{"kty": "oct", "k": b64url(SECRET.encode()), "kid": "key-1", "alg": "HS256"}]}
    jwks_url = loopback.serve("/jwks", jwks)
    # PyJWKSet's lookup is a KeyError (PyJWT's API); the client's is a PyJWKClientError.
    outcome = compare(lambda lib: lib.PyJWKSet.from_dict(jwks)[kid])
    assert isinstance(outcome.error, KeyError)
    rejected(lambda lib: lib.PyJWKClient(jwks_url).get_signing_key(kid), "PyJWKClientError")
    token = forge({"alg": "HS256", "kid": kid}, PAYLOAD)
    rejected(
        lambda lib: lib.PyJWKClient(jwks_url).get_signing_key_from_jwt(token), "PyJWKClientError"
    )


# === 9. crit ===============================================================================

CRIT_HEADERS = {
    "unknown-extension": {"crit": ["exp"], "exp": 1},
    "empty-list": {"crit": []},
    "not-a-list": {"crit": "b64", "b64": True},
    "non-string-entry": {"crit": [1]},
    "listed-but-absent": {"crit": ["b64"]},
    "lists-alg": {"crit": ["alg"]},
    "null": {"crit": None},
}


@pytest.mark.parametrize("extra", list(CRIT_HEADERS.values()), ids=list(CRIT_HEADERS))
def test_09_crit_rejects_anything_but_a_present_b64(extra: dict[str, Any]) -> None:
    token = forge({"alg": "HS256", **extra}, PAYLOAD)
    rejected(decode_call(token, SECRET))
    rejected(lambda lib: lib.get_unverified_header(token))


# PyJWT accepts duplicate crit entries; RFC 7515 section 4.1.11 forbids them.
@requires_turbojwt
def test_09_crit_with_duplicate_entries_is_rejected() -> None:
    token = forge({"alg": "HS256", "crit": ["b64", "b64"], "b64": True}, PAYLOAD)
    error = run(tj, decode_call(token, SECRET)).error
    assert isinstance(error, error_class(tj, "InvalidTokenError")), repr(error)


# === 10. b64=false (RFC 7797) ==============================================================


def b64_false_token(segment: str, header: Optional[dict[str, Any]] = None) -> str:
    header = header or {"alg": "HS256", "b64": False, "crit": ["b64"]}
    return sign(f"{b64url(json.dumps(header).encode())}.{segment}")


def test_10_unencoded_payload_needs_crit_and_a_detached_payload() -> None:
    claims_segment = b64url(json.dumps(PAYLOAD).encode())
    token = b64_false_token(claims_segment)
    # A segment that looks like base64url claims is never decoded as claims.
    rejected(decode_call(token, SECRET), "DecodeError")
    rejected(decode_call(token, SECRET, detached_payload=claims_segment.encode()), "DecodeError")
    rejected(lambda lib: lib.api_jws.decode(token, SECRET, ["HS256"]), "DecodeError")
    # b64 without crit.
    no_crit = b64_false_token(claims_segment, {"alg": "HS256", "b64": False})
    rejected(decode_call(no_crit, SECRET))
    # A detached payload other than the signed one does not verify.
    detached = b64_false_token("")
    rejected(
        lambda lib: lib.api_jws.decode(detached, SECRET, ["HS256"], detached_payload=b"other"),
        "InvalidSignatureError",
    )


def test_10_b64_given_as_a_string_keeps_pyjwts_behaviour() -> None:
    """Info tier: PyJWT tests ``b64 is False``, so ``"false"`` means an encoded payload."""
    token = forge({"alg": "HS256", "b64": "false", "crit": ["b64"]}, PAYLOAD)
    assert accepted(decode_call(token, SECRET)) == PAYLOAD


@pytest.mark.usefixtures("limits_lifted")  # under the default limits: refused by length
def test_10_huge_unused_segment_is_refused_cheaply() -> None:
    token = b64_false_token("A" * (8 * MB))
    outcome = within_budget(decode_call(token, SECRET))
    assert isinstance(outcome.error, error_class(tj, "DecodeError"))
    outcome = within_budget(
        lambda lib: lib.api_jws.decode(token, SECRET, ["HS256"], detached_payload=b"x")
    )
    assert outcome.error is not None


# === 11. non-canonical base64url ===========================================================


def good_token() -> str:
    """An HS256 token whose signature segment has a '-' or '_' (so has a std-base64 twin)."""
    for nonce in range(1000):
        token = forge({"alg": "HS256"}, {**PAYLOAD, "nonce": nonce})
        if set(token.rsplit(".", 1)[1]) & {"-", "_"}:
            return token
    raise AssertionError("unreachable")


GOOD = good_token()
HEAD, BODY, SIG = GOOD.split(".")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# 32 bytes in 43 characters: the last character's two low bits are unused and must be zero.
SIG_TRAILING_BITS = SIG[:-1] + _ALPHABET[_ALPHABET.index(SIG[-1]) ^ 1]

NON_CANONICAL = {
    "std-alphabet": f"{HEAD}.{BODY}.{SIG.replace('-', '+').replace('_', '/')}",
    "signature-trailing-bits": f"{HEAD}.{BODY}.{SIG_TRAILING_BITS}",
    "interior-space": f"{HEAD}.{BODY}.{SIG[:10]} {SIG[10:]}",
    "interior-newline": f"{HEAD}.{BODY[:4]}\n{BODY[4:]}.{SIG}",
    "padding-in-the-middle": f"{HEAD}.{BODY}.{SIG[:8]}={SIG[8:]}",
    "junk-signature": f"{HEAD}.{BODY}.!!!!",
    "length-1-mod-4": f"{HEAD}.{BODY}.{SIG[:41]}",
    "two-segments": f"{HEAD}.{BODY}",
    "four-segments": f"{HEAD}.{BODY}.{SIG}.{SIG}",
    "dot-in-payload": f"{HEAD}.{BODY[:4]}.{BODY[4:]}.{SIG}",
    "non-ascii": f"{HEAD}.{BODY}é.{SIG}",
    "nul": f"{HEAD}.{BODY}.{SIG}\x00",
    "fullwidth": f"\uff45{HEAD[1:]}.{BODY}.{SIG}",
    "empty": "",
}
NON_STR_TOKENS = [None, 1, 1.5, ["a.b.c"], {"a": 1}, bytearray(GOOD.encode()), memoryview(b"a.b.c")]


@pytest.mark.parametrize(
    "token",
    [pytest.param(token, id=name) for name, token in NON_CANONICAL.items()]
    + [pytest.param(token, id=f"type-{type(token).__name__}") for token in NON_STR_TOKENS],
)
def test_11_non_canonical_base64url_is_refused(token: Any) -> None:
    assert accepted(decode_call(GOOD, SECRET))["sub"] == "attack"  # the control
    rejected(decode_call(token, SECRET), "DecodeError")


@requires_turbojwt
@pytest.mark.parametrize("where", [0, len(HEAD) + 3, len(GOOD)])
def test_11_lone_surrogate_is_a_decode_error(where: int) -> None:
    """Improvement over PyJWT, whose UnicodeEncodeError escapes ``except PyJWTError``."""
    token = GOOD[:where] + "\ud800" + GOOD[where:]
    for call in (decode_call(token, SECRET), lambda lib: lib.get_unverified_header(token)):
        error = run(tj, call).error
        assert isinstance(error, error_class(tj, "DecodeError")), repr(error)
        assert isinstance(error, UnicodeEncodeError)  # still caught by PyJWT-era handlers
    assert isinstance(run(ref, decode_call(token, SECRET)).error, UnicodeEncodeError)


# === 12. trailing '=' padding ==============================================================


@pytest.mark.parametrize("segment", ["header", "payload", "signature"])
def test_12_trailing_padding_is_accepted_like_pyjwt(segment: str) -> None:
    """Deliberately PyJWT-compatible (AWS ALB tokens, pyjwt #1209): RFC 7515 forbids the
    padding, but refusing it would break working deployments. docs/security.md says so."""
    # Every segment of this token is a length that base64 pads (22, 22 and 32 bytes).
    token = forge({"alg": "HS256", "x": 12}, PAYLOAD)
    parts = dict(zip(("header", "payload", "signature"), token.split(".")))
    padding_needed = -len(parts[segment]) % 4
    assert padding_needed
    parts[segment] += "=" * padding_needed
    padded = ".".join(parts.values())
    if segment != "signature":
        # The signing input is the segments as sent: re-sign over the padded text.
        padded = sign(padded.rsplit(".", 1)[0])
    assert accepted(decode_call(padded, SECRET))["sub"] == "attack"


# === 13. duplicate JSON members ============================================================

DUPLICATE_HEADERS = [
    pytest.param(b'{"alg":"none","alg":"HS256"}', "HS256", id="none-then-HS256"),
    pytest.param(b'{"alg":"none","\\u0061lg":"HS256"}', "HS256", id="escaped-name"),
    pytest.param(b'{"alg":"HS256","alg":"none"}', None, id="HS256-then-none"),
    pytest.param(b'{"alg":"HS256","\\u0061lg":"none"}', None, id="escaped-none-last"),
]


@pytest.mark.parametrize(("header", "wins"), DUPLICATE_HEADERS)
def test_13_duplicate_header_members_last_wins_consistently(
    header: bytes, wins: Optional[str]
) -> None:
    token = forge(header, PAYLOAD, alg="HS256")
    call = lambda lib: lib.decode_complete(token, SECRET, algorithms=["HS256"])  # noqa: E731
    if wins is None:
        rejected(call)
    else:
        assert accepted(call)["header"]["alg"] == wins


DUPLICATE_CLAIMS = [
    # (payload JSON, decode kwargs, claim, the value that must win, or the error)
    (f'{{"exp":{PAST},"exp":{FUTURE}}}', {}, "exp", FUTURE),
    (f'{{"exp":{FUTURE},"exp":{PAST}}}', {}, "exp", "ExpiredSignatureError"),
    ('{"aud":"evil","aud":"api"}', {"audience": "api"}, "aud", "api"),
    ('{"aud":"api","aud":"evil"}', {"audience": "api"}, "aud", "InvalidAudienceError"),
    ('{"iss":"evil","iss":"me"}', {"issuer": "me"}, "iss", "me"),
    ('{"iss":"me","iss":"evil"}', {"issuer": "me"}, "iss", "InvalidIssuerError"),
    ('{"sub":1,"sub":"x"}', {}, "sub", "x"),
    ('{"sub":"x","sub":1}', {}, "sub", "InvalidSubjectError"),
    (f'{{"nbf":{FUTURE},"nbf":{PAST}}}', {}, "nbf", PAST),
    (f'{{"nbf":{PAST},"nbf":{FUTURE}}}', {}, "nbf", "ImmatureSignatureError"),
]


@pytest.mark.parametrize(("payload", "kwargs", "claim", "expected"), DUPLICATE_CLAIMS)
def test_13_duplicate_claims_checked_value_is_the_returned_value(
    payload: str, kwargs: dict[str, Any], claim: str, expected: Any
) -> None:
    token = forge({"alg": "HS256"}, payload.encode())
    call = decode_call(token, SECRET, **kwargs)
    if isinstance(expected, str) and expected.endswith("Error"):
        rejected(call, expected)
    else:
        assert accepted(call)[claim] == expected


# === 14. wrong JSON shapes =================================================================

BAD_JSON = {
    "array": b'["HS256"]',
    "string": b'"HS256"',
    "number": b"256",
    "null": b"null",
    "trailing-garbage": b'{"alg":"HS256"}x',
    "two-objects": b'{"alg":"HS256"}{}',
    "trailing-comma": b'{"alg":"HS256",}',
    "single-quotes": b"{'alg':'HS256'}",
    "raw-control-character": b'{"alg":"HS256","x":"a\x01b"}',
    "invalid-utf8": b'{"alg":"HS256","x":"\xff"}',
    "overlong-utf8": b'{"alg":"HS256","x":"\xc0\xaf"}',
    "truncated-utf8": b'{"alg":"HS256","x":"\xe2\x82"}',
    "empty": b"",
}


@pytest.mark.parametrize("document", list(BAD_JSON.values()), ids=list(BAD_JSON))
@pytest.mark.parametrize("part", ["header", "payload"])
def test_14_malformed_json_is_refused(part: str, document: bytes) -> None:
    if part == "header":
        token = forge(document, PAYLOAD, alg="HS256")
    else:
        if document.startswith(b'{"alg"'):
            document = document.replace(b'"alg":"HS256"', b'"sub":"x"')
        token = forge({"alg": "HS256"}, document)
    rejected(decode_call(token, SECRET), "DecodeError")


# === 15. lenient-JSON differentials ========================================================

LENIENT_PAYLOADS = {
    "nan-literal": b'{"sub":"x","n":NaN}',
    "utf-16": json.dumps(PAYLOAD).encode("utf-16"),
    "utf-8-bom": b"\xef\xbb\xbf" + json.dumps(PAYLOAD).encode(),
    "cesu-8-surrogate": b'{"sub":"\xed\xa0\x80"}',
}


@pytest.mark.parametrize("payload", list(LENIENT_PAYLOADS.values()), ids=list(LENIENT_PAYLOADS))
def test_15_lenient_json_is_accepted_like_pythons_json(payload: bytes) -> None:
    """Deliberately PyJWT-compatible (info tier): the payload is parsed with the stdlib
    ``json`` module's rules, which accept these four. Only authenticated payloads reach the
    parser, and the returned dict is exactly what PyJWT returns."""
    token = forge({"alg": "HS256"}, payload)
    accepted(decode_call(token, SECRET))


# === 16. numbers ===========================================================================

NUMBERS = {
    "nan": (b"NaN", "DecodeError"),
    "infinity": (b"Infinity", "DecodeError"),
    "minus-infinity": (b"-Infinity", "DecodeError"),
    "1e400": (b"1e400", "DecodeError"),
    "minus-1e400": (b"-1e400", "DecodeError"),
    "10-to-the-30": (b"1" + b"0" * 30, None),
    "5000-digits": (b"9" * 5000, "DecodeError"),
}


@pytest.mark.parametrize(("literal", "error"), list(NUMBERS.values()), ids=list(NUMBERS))
@pytest.mark.parametrize("claim", ["exp", "nbf"])
def test_16_non_finite_and_huge_numbers(claim: str, literal: bytes, error: Optional[str]) -> None:
    token = forge({"alg": "HS256"}, b'{"%s":%s}' % (claim.encode(), literal))
    call = decode_call(token, SECRET)
    within_budget(call)
    if claim == "nbf" and literal == b"1" + b"0" * 30:
        error = "ImmatureSignatureError"  # a far-future nbf
    if error is None:
        accepted(call)
    else:
        rejected(call, error)


def test_16_huge_number_in_the_header() -> None:
    token = forge(b'{"alg":"HS256","n":%s}' % (b"9" * 100_000), PAYLOAD, alg="HS256")
    within_budget(decode_call(token, SECRET))
    rejected(decode_call(token, SECRET), "DecodeError")


# === 17. deep nesting ======================================================================

DEPTH = 100_000
NESTING = {
    "header-arrays": forge(b"[" * DEPTH, PAYLOAD, alg="HS256"),
    "header-objects": forge(b'{"a":' * DEPTH, PAYLOAD, alg="HS256"),
    "header-30k-objects": forge(b'{"a":' * 30_000, PAYLOAD, alg="HS256"),
    "header-closed": forge(b'{"alg":"HS256","a":' + b"[" * DEPTH + b"]" * DEPTH + b"}", PAYLOAD),
    "signed-payload-arrays": forge({"alg": "HS256"}, b"[" * DEPTH + b"]" * DEPTH),
    "signed-payload-60k-arrays": forge({"alg": "HS256"}, b"[" * 60_000 + b"]" * 60_000),
    "signed-payload-objects": forge({"alg": "HS256"}, b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
    "header-200k-keys": forge(
        b'{"alg":"HS256",' + b",".join(b'"k%d":0' % i for i in range(200_000)) + b"}",
        PAYLOAD,
        alg="HS256",
    ),
    "header-200k-duplicate-keys": forge(
        b'{"alg":"HS256",' + b",".join([b'"k":0'] * 200_000) + b"}", PAYLOAD, alg="HS256"
    ),
}
# What refuses each case under turbojwt's default limits (tokens over 256 KiB by length).
NESTING_LIMIT_MESSAGES = {
    "header-arrays": too_deep("header"),
    "header-objects": TOO_LONG,
    "header-30k-objects": too_deep("header"),
    "header-closed": TOO_LONG,
    "signed-payload-arrays": TOO_LONG,
    "signed-payload-60k-arrays": too_deep("payload"),
    "signed-payload-objects": TOO_LONG,
    "header-200k-keys": TOO_LONG,
    "header-200k-duplicate-keys": TOO_LONG,
}


@pytest.mark.usefixtures("limits_lifted")
@pytest.mark.parametrize("token", list(NESTING.values()), ids=list(NESTING))
def test_17_deep_nesting_does_not_exhaust_the_stack(token: str) -> None:
    """With turbojwt's limits lifted, the unlimited pipeline gives PyJWT's verdict."""
    within_budget(decode_call(token, SECRET))
    within_budget(lambda lib: lib.get_unverified_header(token))
    # Same verdict as PyJWT (which raises DecodeError past Python's recursion limit).
    compare(decode_call(token, SECRET))


@requires_turbojwt
@pytest.mark.parametrize("name", list(NESTING))
def test_17_deep_nesting_is_refused_by_the_limits(name: str) -> None:
    """Improvement over PyJWT, which has no limit: it parses each of these up to Python's
    recursion limit, and accepts the 200k-key headers."""
    token, message = NESTING[name], NESTING_LIMIT_MESSAGES[name]
    refused_by_limit(decode_call(token, SECRET), message)
    refused_by_limit(decode_call(token.encode(), SECRET), message)
    if "payload" not in message:  # the payload is parsed only after verification
        refused_by_limit(lambda lib: lib.get_unverified_header(token), message)


# === 18. huge tokens =======================================================================

HS256_HEADER = b64url(b'{"alg":"HS256"}')
HUGE = {
    "8MB-garbage": ("A" * (8 * MB), "HS256"),
    "8MB-payload-valid-header": (f"{HS256_HEADER}.{'A' * (8 * MB)}.AAAA", "HS256"),
    "1M-dots": ("." * MB, "HS256"),
    "1M-equals": ("=" * MB, "HS256"),
    "4MB-RS256-signature": (unsigned({"alg": "RS256"}) + "." + "A" * (4 * MB), "RS256"),
    "4MB-ES256-signature": (unsigned({"alg": "ES256"}) + "." + "A" * (4 * MB), "ES256"),
}
HUGE_KEYS = {"HS256": SECRET, "RS256": public_pem("rsa2048"), "ES256": public_pem("p256")}


@pytest.mark.usefixtures("limits_lifted")
@pytest.mark.parametrize(("token", "alg"), list(HUGE.values()), ids=list(HUGE))
def test_18_huge_tokens_are_refused_quickly(token: str, alg: str) -> None:
    """With turbojwt's limits lifted, the unlimited pipeline refuses each quickly."""
    call = decode_call(token, HUGE_KEYS[alg], algorithms=[alg])
    outcome = within_budget(call)
    assert outcome.error is not None
    within_budget(lambda lib: lib.decode(token.encode(), HUGE_KEYS[alg], algorithms=[alg]))


@requires_turbojwt
@pytest.mark.parametrize(("token", "alg"), list(HUGE.values()), ids=list(HUGE))
def test_18_huge_tokens_are_refused_by_the_length_limit(token: str, alg: str) -> None:
    """Improvement over PyJWT, which has no limit: it splits and decodes each of these and
    answers with a segment, padding or signature error."""
    for raw in (token, token.encode()):
        refused_by_limit(decode_call(raw, HUGE_KEYS[alg], algorithms=[alg]), TOO_LONG)
        refused_by_limit(lambda lib, raw=raw: lib.get_unverified_header(raw), TOO_LONG)


# === 19. ECDSA psychic signatures ==========================================================


def psychic_cases() -> list[Any]:
    n256, n521 = CURVE_ORDERS["P-256"], CURVE_ORDERS["P-521"]
    cases = {
        "r=s=0": lambda r, s: (0, 0),
        "r=0": lambda r, s: (0, s),
        "s=0": lambda r, s: (r, 0),
        "r=n": lambda r, s: (n256, s),
        "s=n": lambda r, s: (r, n256),
        "r=s=n": lambda r, s: (n256, n256),
        "r=s=2^256-1": lambda r, s: (2**256 - 1, 2**256 - 1),
    }
    params = [pytest.param("ES256", "p256", 32, change, id=name) for name, change in cases.items()]
    params += [
        pytest.param("ES512", "p521", 66, lambda r, s: (r, s + n521), id="P-521-s+n"),
        pytest.param("ES512", "p521", 66, lambda r, s: (r + n521, s), id="P-521-r+n"),
        pytest.param("ES512", "p521", 66, lambda r, s: (0, 0), id="P-521-r=s=0"),
    ]
    return params


@pytest.mark.parametrize(("alg", "key_name", "size", "change"), psychic_cases())
def test_19_ecdsa_signature_range_is_checked(
    alg: str, key_name: str, size: int, change: Callable[[int, int], tuple[int, int]]
) -> None:
    signing_input = unsigned({"alg": alg})
    r, s = ecdsa_rs(f"{key_name}.pkcs8.pem", signing_input, alg[2:])
    assert_control_verifies(signing_input, raw_rs(r, s, size), key_name)
    forged_r, forged_s = change(r, s)
    assert (forged_r, forged_s) != (r, s)
    token = with_signature(signing_input, raw_rs(forged_r, forged_s, size))
    rejected(decode_call(token, public_pem(key_name), algorithms=[alg]), "InvalidSignatureError")


def test_19_der_zero_signature_is_refused() -> None:
    token = unsigned({"alg": "ES256"}) + ".MAYCAQACAQA"  # DER SEQUENCE { 0, 0 }
    rejected(decode_call(token, public_pem("p256"), algorithms=["ES256"]), "InvalidSignatureError")


# === 20. DER vs raw ECDSA ==================================================================


def der_raw_cases() -> list[Any]:
    def der(r: int, s: int) -> bytes:
        return encode_dss_signature(r, s)

    cases: dict[str, Callable[[int, int], bytes]] = {
        "valid-der": der,
        "63-bytes": lambda r, s: raw_rs(r, s, 32)[1:],
        "65-bytes": lambda r, s: b"\x00" + raw_rs(r, s, 32),
        "32-bytes": lambda r, s: raw_rs(r, s, 32)[:32],
        "r-and-s-swapped": lambda r, s: raw_rs(s, r, 32),
        "empty": lambda r, s: b"",
    }
    return [pytest.param("ES256", "p256", make, id=name) for name, make in cases.items()] + [
        pytest.param(
            "ES384", "p384", lambda r, s: raw_rs(r % 2**256, s % 2**256, 32), id="64-bytes-ES384"
        ),
        pytest.param("ES384", "p384", der, id="valid-der-ES384"),
    ]


@pytest.mark.parametrize(("alg", "key_name", "make"), der_raw_cases())
def test_20_jws_ecdsa_signature_is_fixed_length_raw(
    alg: str, key_name: str, make: Callable[[int, int], bytes]
) -> None:
    signing_input = unsigned({"alg": alg})
    r, s = ecdsa_rs(f"{key_name}.pkcs8.pem", signing_input, alg[2:])
    assert_control_verifies(signing_input, raw_rs(r, s, 32 if alg == "ES256" else 48), key_name)
    token = with_signature(signing_input, make(r, s))
    rejected(decode_call(token, public_pem(key_name), algorithms=[alg]), "InvalidSignatureError")


@pytest.mark.parametrize(
    ("alg", "key_name", "size"), [("ES256", "p256", 32), ("ES512", "p521", 66)]
)
def test_20_encode_emits_raw_r_and_s(alg: str, key_name: str, size: int) -> None:
    token = tj.encode(PAYLOAD, key_text(f"{key_name}.pkcs8.pem"), algorithm=alg)
    signing_input, signature = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(signature + "==")
    assert len(raw) == 2 * size
    r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
    public = private_key(f"{key_name}.pkcs8.pem").public_key()
    public.verify(encode_dss_signature(r, s), signing_input.encode(), ec.ECDSA(HASHES[alg[2:]]))
    assert ref.decode(token, public_pem(key_name), algorithms=[alg]) == PAYLOAD


# === 21. ECDSA high-s ======================================================================


def test_21_high_s_is_accepted_like_pyjwt() -> None:
    """Legal (JWA does not require low-s) and PyJWT-compatible: both (r, s) and (r, n-s)
    verify, so a signature string is not a token identifier (docs/security.md)."""
    signing_input = unsigned({"alg": "ES256"})
    r, s = ecdsa_rs("p256.pkcs8.pem", signing_input, "256")
    for s_value in (s, CURVE_ORDERS["P-256"] - s):
        token = with_signature(signing_input, raw_rs(r, s_value, 32))
        assert accepted(decode_call(token, public_pem("p256"), algorithms=["ES256"])) == PAYLOAD


# === 22. EdDSA =============================================================================


def eddsa_cases() -> list[Any]:
    def s_plus_l(sig: bytes) -> bytes:
        s = int.from_bytes(sig[32:], "little") + ED25519_ORDER
        return sig[:32] + s.to_bytes(32, "little")

    ed448 = private_key("ed448.pkcs8.pem")
    assert isinstance(ed448, Ed448PrivateKey)
    cases: dict[str, Callable[[bytes, str], bytes]] = {
        "S+L": lambda sig, _: s_plus_l(sig),
        "63-bytes": lambda sig, _: sig[:63],
        "65-bytes": lambda sig, _: sig + b"\x00",
        "empty": lambda sig, _: b"",
        "32-bytes": lambda sig, _: sig[:32],
        "ed448-signature": lambda _, signing_input: ed448.sign(signing_input.encode()),
    }
    return [pytest.param(make, id=name) for name, make in cases.items()]


@pytest.mark.parametrize("make", eddsa_cases())
def test_22_eddsa_signature_is_strict(make: Callable[[bytes, str], bytes]) -> None:
    key = private_key("ed25519.pkcs8.pem")
    assert isinstance(key, Ed25519PrivateKey)
    signing_input = unsigned({"alg": "EdDSA"})
    signature = key.sign(signing_input.encode())
    assert_control_verifies(signing_input, signature, "ed25519")
    token = with_signature(signing_input, make(signature, signing_input))
    rejected(
        decode_call(token, public_pem("ed25519"), algorithms=["EdDSA"]), "InvalidSignatureError"
    )


# === 23. Ed25519 small-order public key ====================================================

IDENTITY_POINT = b"\x01" + b"\x00" * 31


@pytest.mark.parametrize("as_pem", [False, True])
def test_23_ed25519_small_order_key_behaves_like_pyjwt(as_pem: bool) -> None:
    """Info tier, recorded: with the identity point as public key, R = identity and S = 0
    verify any message. OpenSSL (PyJWT) and aws-lc (turbojwt) both accept it; only a
    ``verify_strict``-style check would refuse. An application never holds such a key
    unless an attacker chose it, so docs/security.md lists it as a known leniency."""
    key: Any = Ed25519PublicKey.from_public_bytes(IDENTITY_POINT)
    if as_pem:
        key = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    token = with_signature(unsigned({"alg": "EdDSA"}), IDENTITY_POINT + b"\x00" * 32)
    assert accepted(decode_call(token, key, algorithms=["EdDSA"])) == PAYLOAD


# === 24. RSA PKCS#1 v1.5 forgery ===========================================================

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def integer_cube_root_ceiling(value: int) -> int:
    root = 1 << -(-value.bit_length() // 3)
    while True:  # Newton's method from above
        smaller = (2 * root + value // (root * root)) // 3
        if smaller >= root:
            break
        root = smaller
    while root**3 < value:
        root += 1
    return root


def bleichenbacher_e3_forgery(signing_input: str, modulus_bytes: int) -> bytes:
    """Bleichenbacher '06: a cube whose top bytes are a short PKCS#1 prefix, then garbage."""
    prefix = (
        b"\x00\x01\xff\x00" + SHA256_DIGEST_INFO + hashlib.sha256(signing_input.encode()).digest()
    )
    target = int.from_bytes(prefix + b"\x00" * (modulus_bytes - len(prefix)), "big")
    forged = integer_cube_root_ceiling(target)
    # A parser that stops after the hash would accept it: the cube starts with the prefix.
    assert (forged**3).to_bytes(modulus_bytes, "big")[: len(prefix)] == prefix
    return forged.to_bytes(modulus_bytes, "big")


def rsa_forgeries() -> list[Any]:
    def valid(signing_input: str) -> bytes:
        return rsa_signature("rsa2048.pkcs8.pem", signing_input, padding.PKCS1v15(), "256")

    public = serialization.load_pem_public_key(public_pem("rsa2048").encode())
    assert isinstance(public, RSAPublicKey)
    n = public.public_numbers().n
    cases: dict[str, Callable[[str], bytes]] = {
        "leading-00": lambda si: b"\x00" + valid(si),
        "trailing-00": lambda si: valid(si) + b"\x00",
        "zero": lambda si: b"\x00" * 256,
        "one": lambda si: (1).to_bytes(256, "big"),
        "n": lambda si: n.to_bytes(256, "big"),
        "s+n": lambda si: (int.from_bytes(valid(si), "big") + n).to_bytes(257, "big"),
        "truncated": lambda si: valid(si)[:-1],
        "empty": lambda si: b"",
    }
    params = [pytest.param("rsa2048", make, id=name) for name, make in cases.items()]
    params.append(
        pytest.param("rsa3072_e3", lambda si: bleichenbacher_e3_forgery(si, 384), id="e3-cube-root")
    )
    return params


@pytest.mark.parametrize(("key_name", "make"), rsa_forgeries())
def test_24_rsa_pkcs1_forgeries_are_refused(key_name: str, make: Callable[[str], bytes]) -> None:
    """Beyond these, the Wycheproof PKCS#1 v1.5 files run in test_vectors.py."""
    signing_input = unsigned({"alg": "RS256"})
    control = rsa_signature(f"{key_name}.pkcs8.pem", signing_input, padding.PKCS1v15(), "256")
    assert_control_verifies(signing_input, control, key_name)
    token = with_signature(signing_input, make(signing_input))
    rejected(
        decode_call(token, public_pem(key_name), algorithms=["RS256"]), "InvalidSignatureError"
    )


def test_24_rsa_jwk_with_exponent_one_never_verifies() -> None:
    jwk = {**json.loads(key_text("rsa2048.pub.jwk.json")), "e": "AQ", "alg": "RS256"}
    # With e = 1 the "signature" is the padded digest itself.
    signing_input = unsigned({"alg": "RS256"})
    digest = hashlib.sha256(signing_input.encode()).digest()
    encoded = SHA256_DIGEST_INFO + digest
    em = b"\x00\x01" + b"\xff" * (256 - 3 - len(encoded)) + b"\x00" + encoded
    token = with_signature(signing_input, em)
    rejected(lambda lib: lib.decode(token, lib.PyJWK(jwk), algorithms=["RS256"]))


# === 25. RSA-PSS salt length ===============================================================


@pytest.mark.parametrize("salt_length", [0, 20, 64])
def test_25_pss_salt_must_equal_the_hash_length(salt_length: int) -> None:
    signing_input = unsigned({"alg": "PS256"})
    control = rsa_signature("rsa2048.pkcs8.pem", signing_input, pss("256", 32), "256")
    assert_control_verifies(signing_input, control, "rsa2048")
    signature = rsa_signature("rsa2048.pkcs8.pem", signing_input, pss("256", salt_length), "256")
    token = with_signature(signing_input, signature)
    rejected(
        decode_call(token, public_pem("rsa2048"), algorithms=["PS256"]), "InvalidSignatureError"
    )


# === 26. HMAC tags and keys ================================================================


def hmac_cases() -> list[Any]:
    tag = base64.urlsafe_b64decode(SIG + "=")
    hs512 = forge({"alg": "HS512"}, PAYLOAD).rsplit(".", 1)[1]
    hs512_tag = base64.urlsafe_b64decode(hs512 + "==")
    flipped = bytes([tag[0] ^ 1]) + tag[1:]
    tags = {
        "16-bytes": tag[:16],
        "1-byte": tag[:1],
        "empty": b"",
        "extended": tag + b"\x00",
        "flipped-bit": flipped,
        "HS512-truncated-as-HS256": hs512_tag[:32],
    }
    cases = [
        pytest.param(f"{HEAD}.{BODY}.{b64url(t)}", SECRET, id=name) for name, t in tags.items()
    ]
    cases.append(pytest.param(GOOD, SECRET + "x", id="wrong-key"))
    empty_key_token = forge({"alg": "HS256"}, PAYLOAD, key=b"")
    cases += [
        pytest.param(empty_key_token, key, id=f"empty-key-{type(key).__name__}")
        for key in ("", b"")
    ]
    return cases


@pytest.mark.parametrize(("token", "key"), hmac_cases())
def test_26_hmac_tag_is_compared_in_full_and_empty_keys_refused(token: str, key: Any) -> None:
    rejected(decode_call(token, key))


# === 27. weak keys =========================================================================

WEAK_KEYS = [
    pytest.param("HS256", "short", "short", id="HS256-5-bytes"),
    pytest.param("HS512", SECRET[:40], SECRET[:40], id="HS512-40-bytes"),
    pytest.param("RS256", key_text("rsa1024.pkcs8.pem"), public_pem("rsa1024"), id="RSA-1024"),
]


WEAK_KEY_WARNING = ["warnings.InsecureKeyLengthWarning"]
ENFORCE = {"enforce_minimum_key_length": True}


@pytest.mark.parametrize(("alg", "signing_key", "verifying_key"), WEAK_KEYS)
def test_27_weak_keys_warn_on_decode_and_can_be_enforced(
    alg: str, signing_key: str, verifying_key: str
) -> None:
    token = run(ref, lambda lib: lib.encode(PAYLOAD, signing_key, algorithm=alg)).value
    decoded = compare(decode_call(token, verifying_key, algorithms=[alg]))
    assert [name for name, _ in decoded.warning_list()] == WEAK_KEY_WARNING
    assert decoded.value == PAYLOAD
    rejected(
        decode_call(token, verifying_key, algorithms=[alg], options=ENFORCE), "InvalidKeyError"
    )


ENCODE_WEAK_KEYS = [
    pytest.param("HS256", "short", id="HS256-5-bytes"),
    pytest.param("HS512", SECRET[:40], id="HS512-40-bytes"),
    pytest.param(
        "RS256",
        key_text("rsa1024.pkcs8.pem"),
        id="RSA-1024",
    ),
]


@pytest.mark.parametrize(("alg", "signing_key"), ENCODE_WEAK_KEYS)
def test_27_weak_keys_warn_once_on_encode_and_can_be_enforced(alg: str, signing_key: str) -> None:
    encoded = compare(lambda lib: lib.encode(PAYLOAD, signing_key, algorithm=alg))
    assert [name for name, _ in encoded.warning_list()] == WEAK_KEY_WARNING
    rejected(
        lambda lib: lib.PyJWT(options=ENFORCE).encode(PAYLOAD, signing_key, algorithm=alg),
        "InvalidKeyError",
    )


# === 28. claim type confusion ==============================================================

MALFORMED_TIMES = {
    "word": "soon",
    "empty-string": "",
    "true": True,
    "false": False,
    "null": None,
    "list": [FUTURE],
    "object": {"t": FUTURE},
}


@pytest.mark.parametrize("value", list(MALFORMED_TIMES.values()), ids=list(MALFORMED_TIMES))
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_28_malformed_time_claim_is_never_treated_as_absent(claim: str, value: Any) -> None:
    token = forge({"alg": "HS256"}, {claim: value})
    outcome = compare(decode_call(token, SECRET))
    if isinstance(value, bool):
        # PyJWT-compatible: a bool is an int in Python, so int() makes it 0 or 1, a long-past
        # instant (never "absent"): exp fails, nbf and iat pass.
        assert (outcome.error is None) == (claim != "exp")
    else:
        assert isinstance(outcome.error, error_class(tj, "PyJWTError")), outcome


@pytest.mark.parametrize(
    ("claim", "value", "error"),
    [
        ("exp", PAST + 0.5, "ExpiredSignatureError"),
        ("exp", FUTURE + 0.5, None),
        ("nbf", FUTURE + 0.5, "ImmatureSignatureError"),
        ("iat", PAST + 0.5, None),
        # Info tier, PyJWT-compatible: a numeric string is int()-cast.
        ("exp", str(FUTURE), None),
        ("exp", str(PAST), "ExpiredSignatureError"),
    ],
)
def test_28_numeric_dates_follow_pyjwt(claim: str, value: Any, error: Optional[str]) -> None:
    call = decode_call(forge({"alg": "HS256"}, {claim: value}), SECRET)
    if error is None:
        accepted(call)
    else:
        rejected(call, error)


# === 29. aud ===============================================================================

AUD_CASES = [
    # (aud claim, decode kwargs, error or None)
    ("api", {"audience": "api"}, None),
    (["x", "api"], {"audience": "api"}, None),
    ("api", {"audience": ["x", "api"]}, None),
    ("api", {}, "InvalidAudienceError"),
    ("apix", {"audience": "api"}, "InvalidAudienceError"),
    ("ap", {"audience": "api"}, "InvalidAudienceError"),
    ("API", {"audience": "api"}, "InvalidAudienceError"),
    ([], {"audience": "api"}, "MissingRequiredClaimError"),
    ({"api": True}, {"audience": "api"}, "InvalidAudienceError"),
    ([["api"]], {"audience": "api"}, "InvalidAudienceError"),
    (1, {"audience": "1"}, "InvalidAudienceError"),
    ([1], {"audience": "1"}, "InvalidAudienceError"),
    (None, {"audience": "api"}, "MissingRequiredClaimError"),
    (["api"], {"audience": "api", "strict_aud": True}, "InvalidAudienceError"),
    ("api", {"audience": ["api"], "strict_aud": True}, "InvalidAudienceError"),
    ("api", {"audience": "api", "strict_aud": True}, None),
]


@pytest.mark.parametrize(("aud", "kwargs", "error"), AUD_CASES)
def test_29_audience_is_exact(aud: Any, kwargs: dict[str, Any], error: Optional[str]) -> None:
    if "strict_aud" in kwargs:
        kwargs = {**kwargs, "options": {"strict_aud": kwargs.pop("strict_aud")}}
    call = decode_call(forge({"alg": "HS256"}, {"aud": aud}), SECRET, **kwargs)
    if error is None:
        accepted(call)
    else:
        rejected(call, error)


# === 30. iss ===============================================================================

ISSUER = "https://issuer.example"
ISS_CASES = [
    (ISSUER, ISSUER, None),
    (ISSUER, ["https://other.example", ISSUER], None),
    ("acb", "_abc_", "InvalidIssuerError"),  # CVE-2024-53861's partial match
    ("abc", "_abc_", "InvalidIssuerError"),
    ("", ISSUER, "InvalidIssuerError"),
    (ISSUER + "/x", ISSUER, "InvalidIssuerError"),
    (ISSUER[:-2], ISSUER, "InvalidIssuerError"),
    (ISSUER.upper(), ISSUER, "InvalidIssuerError"),
    (ISSUER + "/", ISSUER, "InvalidIssuerError"),
    ([ISSUER], ISSUER, "InvalidIssuerError"),
    ({ISSUER: True}, ISSUER, "InvalidIssuerError"),
    (1, "1", "InvalidIssuerError"),
]


@pytest.mark.parametrize(("iss", "issuer", "error"), ISS_CASES)
def test_30_issuer_is_exact(iss: Any, issuer: Any, error: Optional[str]) -> None:
    call = decode_call(forge({"alg": "HS256"}, {"iss": iss}), SECRET, issuer=issuer)
    if error is None:
        accepted(call)
    else:
        rejected(call, error)


# === 31. sub, jti and require ==============================================================

SUB_JTI_CASES = [
    ({"sub": 1}, {}, "InvalidSubjectError"),
    ({"sub": ["x"]}, {}, "InvalidSubjectError"),
    ({"sub": "x"}, {"subject": "y"}, "InvalidSubjectError"),
    ({"jti": 1}, {}, "InvalidJTIError"),
    ({"jti": {"x": 1}}, {}, "InvalidJTIError"),
    ({}, {"options": {"require": ["exp"]}}, "MissingRequiredClaimError"),
    ({"sub": None}, {"options": {"require": ["sub"]}}, "MissingRequiredClaimError"),
    ({"jti": None}, {"options": {"require": ["jti"]}}, "MissingRequiredClaimError"),
    ({"sub": "x", "jti": "j"}, {"subject": "x", "options": {"require": ["sub", "jti"]}}, None),
]


@pytest.mark.parametrize(("payload", "kwargs", "error"), SUB_JTI_CASES)
def test_31_sub_jti_types_and_required_claims(
    payload: dict[str, Any], kwargs: dict[str, Any], error: Optional[str]
) -> None:
    call = decode_call(forge({"alg": "HS256"}, payload), SECRET, **kwargs)
    if error is None:
        accepted(call)
    else:
        rejected(call, error)


# === 32. JWS JSON serialization ============================================================


def json_serializations() -> list[Any]:
    protected = b64url(b'{"alg":"HS256"}')
    flattened = {"protected": protected, "payload": BODY, "signature": SIG}
    general = {"payload": BODY, "signatures": [{"protected": protected, "signature": SIG}]}
    unprotected_alg = {"header": {"alg": "HS256"}, "payload": BODY, "signature": SIG}
    # python-jwt CVE-2022-39227: a compact token hidden in a JSON key.
    polyglot = json.dumps({f"  {GOOD}": "", **flattened})
    return [
        pytest.param(json.dumps(flattened), id="flattened"),
        pytest.param(json.dumps(general), id="general"),
        pytest.param(json.dumps(unprotected_alg), id="alg-only-unprotected"),
        pytest.param(polyglot, id="polyglot"),
    ]


@pytest.mark.parametrize("token", json_serializations())
def test_32_json_serialization_is_refused(token: str) -> None:
    """RFC 7520 §4.6/4.7: test_vectors.py::test_rfc_json_serialization_is_refused."""
    rejected(decode_call(token, SECRET), "DecodeError")


# === 33. encode-side misuse ================================================================

ENCODE_MISUSE = [
    pytest.param(public_pem("rsa2048"), "HS256", None, id="HS256-with-PEM"),
    pytest.param(key_text("rsa2048.ssh.pub"), "HS256", None, id="HS256-with-SSH"),
    pytest.param(key_text("rsa2048.pub.jwk.json"), "HS256", None, id="HS256-with-JWK"),
    pytest.param("", "HS256", None, id="HS256-with-empty-key"),
    pytest.param(SECRET, "none", None, id="none-with-a-key"),
    pytest.param(SECRET, "HS256", {"alg": "none"}, id="header-alg-none"),
    pytest.param(SECRET, "HS256", {"alg": "RS256"}, id="header-alg-RS256"),
]


@pytest.mark.parametrize(("key", "algorithm", "headers"), ENCODE_MISUSE)
def test_33_encode_refuses_misuse(
    key: str, algorithm: str, headers: Optional[dict[str, Any]]
) -> None:
    rejected(
        lambda lib: lib.encode(PAYLOAD, key, algorithm=algorithm, headers=headers),
        "InvalidKeyError",
    )


def test_33_header_alg_overrides_algorithm_consistently() -> None:
    """PyJWT lets ``headers["alg"]`` choose the algorithm; header and signature agree."""
    token = accepted(
        lambda lib: lib.encode(PAYLOAD, SECRET, algorithm="HS256", headers={"alg": "HS512"})
    )
    assert tj.get_unverified_header(token)["alg"] == "HS512"
    assert accepted(decode_call(token, SECRET, algorithms=["HS512"])) == PAYLOAD
    rejected(decode_call(token, SECRET, algorithms=["HS256"]), "InvalidAlgorithmError")


def test_33_unknown_algorithm_in_encode_keeps_pyjwts_error() -> None:
    """Info tier: PyJWT raises NotImplementedError here; the target raises the same."""
    outcome = compare(lambda lib: lib.encode(PAYLOAD, SECRET, algorithm="XX999"))
    assert isinstance(outcome.error, NotImplementedError)


# === 34. PyJWK / PyJWKSet ==================================================================

RSA_PUBLIC_JWK = json.loads(key_text("rsa2048.pub.jwk.json"))
OCT = {"kty": "oct", "k": b64url(SECRET.encode())}
BAD_JWKS = {
    "rsa-with-alg-HS256": {**RSA_PUBLIC_JWK, "alg": "HS256"},
    "oct-with-alg-RS256": {**OCT, "alg": "RS256"},
    "unknown-kty": {**OCT, "kty": "XYZ"},
    "missing-kty": {"k": OCT["k"]},
    "x25519": {"kty": "OKP", "crv": "X25519", "x": b64url(b"\x09" * 32)},
    "ec-with-rsa-fields": {"kty": "EC", "n": RSA_PUBLIC_JWK["n"], "e": "AQAB", "alg": "ES256"},
    "rsa-missing-e": {k: v for k, v in RSA_PUBLIC_JWK.items() if k != "e"},
}
MISSING_K = {"kty": "oct", "alg": "HS256"}


@pytest.mark.parametrize(
    "jwk",
    [
        *(pytest.param(jwk, id=name) for name, jwk in BAD_JWKS.items()),
        pytest.param(
            MISSING_K,
            id="oct-missing-k",
            # PyJWT leaks KeyError; turbojwt's JWKMemberError is also an InvalidKeyError.
            marks=requires_turbojwt,
        ),
    ],
)
def test_34_malformed_jwk_is_refused_at_construction(jwk: dict[str, Any]) -> None:
    rejected(lambda lib: lib.PyJWK(jwk))


def test_34_empty_oct_key_never_verifies() -> None:
    jwk = {"kty": "oct", "k": "", "alg": "HS256"}
    token = forge({"alg": "HS256"}, PAYLOAD, key=b"")
    rejected(lambda lib: lib.decode(token, lib.PyJWK(jwk), algorithms=["HS256"]))


# PyJWT leaks NotImplementedError; turbojwt's UnsupportedJWKAlgorithmError is a PyJWKError.
@requires_turbojwt
def test_34_jwk_with_alg_none_is_refused() -> None:
    jwk = {**OCT, "alg": "none"}
    token = forge({"alg": "none"}, PAYLOAD)
    error = run(tj, lambda lib: lib.decode(token, lib.PyJWK(jwk), algorithms=["none"])).error
    assert isinstance(error, error_class(tj, "PyJWTError")), repr(error)


@requires_turbojwt
@pytest.mark.parametrize(
    "bad",
    [*BAD_JWKS.values(), MISSING_K, 1, "oct", None],
    ids=[*BAD_JWKS, "oct-missing-k", "int", "str", "null"],
)
def test_34_one_malformed_jwks_member_is_skipped(bad: Any) -> None:
    """Improvement over PyJWT, where ``{"kty": "oct"}`` raises KeyError for the whole set."""
    good = {**OCT, "kid": "good", "alg": "HS256"}
    for jwk_set in (tj.PyJWKSet([bad, good]), tj.PyJWKSet.from_dict({"keys": [good, bad]})):
        assert [key.key_id for key in jwk_set.keys] == ["good"]
        token = forge({"alg": "HS256", "kid": "good"}, PAYLOAD)
        assert tj.decode(token, jwk_set["good"], algorithms=["HS256"]) == PAYLOAD
    assert isinstance(run(ref, lambda lib: lib.PyJWKSet([{"kty": "oct"}, good])).error, KeyError)


def test_34_set_without_usable_keys_is_an_error() -> None:
    def unusable(lib: ModuleType) -> Any:
        return lib.PyJWKSet.from_dict({"keys": [BAD_JWKS["unknown-kty"]]})

    reference, target = run(ref, unusable), run(tj, unusable)
    assert isinstance(reference.error, error_class(ref, "PyJWKSetError"))
    assert isinstance(target.error, error_class(tj, "PyJWKSetError"))
    # The class and the first sentence are PyJWT's. PyJWT goes on to guess that cryptography
    # is missing; turbojwt needs no cryptography and says which member it skipped and why.
    first_sentence = "The JWK Set did not contain any usable keys."
    assert str(reference.error).startswith(first_sentence)
    assert str(target.error).startswith(first_sentence)
    if not TARGET_IS_REFERENCE:
        assert str(target.error).startswith(f"{first_sentence} Skipped member 0")
        assert str(target.error).endswith(": InvalidKeyError: Unsupported kty: XYZ")
    rejected(lambda lib: lib.PyJWKSet.from_dict({"keys": "nope"}), "PyJWKSetError")


# === 35. PyJWKClient URI scheme and cache ==================================================


@pytest.mark.parametrize(
    "uri", ["file:///etc/passwd", "ftp://127.0.0.1/jwks", "data:,{}", "/etc/passwd"]
)
def test_35_jwks_client_takes_http_and_https_only(uri: str) -> None:
    rejected(lambda lib: lib.PyJWKClient(uri), "PyJWKClientError")


def test_35_failed_fetch_keeps_the_cached_jwks(loopback: LoopbackServer) -> None:
    jwks = {"keys": [{**OCT, "kid": "k", "alg": "HS256"}]}

    def outage(lib: ModuleType) -> Any:
        url = loopback.serve(f"/{lib.__name__}/jwks", jwks)
        client = lib.PyJWKClient(url)
        assert [key.key_id for key in client.get_jwk_set().keys] == ["k"]
        loopback.serve(f"/{lib.__name__}/jwks", {}, status=500)
        with pytest.raises(exceptions_of(lib).PyJWKClientConnectionError):
            client.get_jwk_set(refresh=True)
        return [key.key_id for key in client.get_jwk_set().keys]

    assert accepted(outage) == ["k"]


# === 36. keys marked for another use, duplicate kid, mixed JWKS ============================


def test_36_key_use_and_set_policy_follow_pyjwt() -> None:
    """Info tier, PyJWT-compatible: ``use``/``key_ops`` are not enforced by ``decode``,
    a duplicate kid resolves to the first member, and a mixed oct/RSA set loads."""
    token = forge({"alg": "HS256", "kid": "k"}, PAYLOAD)
    for marks in ({"use": "enc"}, {"key_ops": ["encrypt"]}):
        jwk = {**OCT, "alg": "HS256", **marks}
        assert (
            accepted(lambda lib, jwk=jwk: lib.decode(token, lib.PyJWK(jwk), algorithms=["HS256"]))
            == PAYLOAD
        )
    duplicate = {"keys": [{**OCT, "kid": "k"}, {"kty": "oct", "k": b64url(b"x" * 64), "kid": "k"}]}
    assert (
        accepted(
            lambda lib: lib.decode(
                token, lib.PyJWKSet.from_dict(duplicate)["k"], algorithms=["HS256"]
            )
        )
        == PAYLOAD
    )
    mixed = {"keys": [{**OCT, "kid": "a"}, {**RSA_PUBLIC_JWK, "kid": "b"}]}
    assert accepted(lambda lib: [key.key_id for key in lib.PyJWKSet.from_dict(mixed).keys]) == [
        "a",
        "b",
    ]


# === 37. timing-safe comparison: code review, see docs/security.md =========================

# === 38. JWE-shaped input ==================================================================

JWE_HEADER = b64url(b'{"alg":"RSA-OAEP","enc":"A256GCM"}')
JWE_ZIP_HEADER = b64url(b'{"alg":"dir","enc":"A128GCM","zip":"DEF"}')


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{GOOD}.{SIG}.{SIG}", id="five-segments"),
        pytest.param(f"{JWE_HEADER}.{SIG}.{SIG}.{SIG}.{SIG}", id="jwe-header"),
        pytest.param(f"{JWE_ZIP_HEADER}..{SIG}.{BODY}.{SIG}", id="jwe-zip"),
    ],
)
def test_38_jwe_is_never_auto_detected(token: str) -> None:
    rejected(decode_call(token, SECRET, algorithms=["HS256", "dir", "RSA-OAEP"]), "DecodeError")
