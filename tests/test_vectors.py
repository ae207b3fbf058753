"""Known-answer tests: Wycheproof vectors and the RFC JWS examples.

The Wycheproof files (``tests/vectors/wycheproof``) go through the algorithm objects the JWS
registry uses; the RFC examples (``tests/vectors/rfc``) go through the public decode/encode API.
Every outcome is also compared with PyJWT 2.15.1's on the same input. Each file's number of
cases is part of its test id and is asserted, so a file that loads empty fails.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Optional, Union

import pytest

# Builds keys with cryptography; the no-cryptography CI environment skips this file.
pytest.importorskip("cryptography")
from _target import Raises, check_expectation, compare, ref, tj
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

VECTORS = Path(__file__).parent / "vectors"


@functools.cache
def wycheproof(stem: str) -> dict[str, Any]:
    with (VECTORS / "wycheproof" / f"{stem}_test.json").open(encoding="utf-8") as file:
        document: dict[str, Any] = json.load(file)
    return document


def cases(stem: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (group, test) pair of a Wycheproof file, after checking the file's own count."""
    document = wycheproof(stem)
    pairs = [(group, test) for group in document["testGroups"] for test in group["tests"]]
    assert len(pairs) == document["numberOfTests"]
    return pairs


def describe(test: dict[str, Any]) -> str:
    return f"tcId {test['tcId']} ({test['result']}: {test['comment']!r})"


def assert_no_mismatch(mismatches: list[str]) -> None:
    if mismatches:
        pytest.fail(f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches))


# --- HMAC: HMACAlgorithm.sign / verify -------------------------------------------------------

# (JWS alg, digest size in bits, cases: full-length valid / full-length invalid / truncated).
HMAC_FILES: dict[str, tuple[str, int, dict[str, int]]] = {
    stem: (alg, bits, {"full-valid": 33, "full-invalid": 54, "truncated": 87})
    for stem, alg, bits in (
        ("hmac_sha256", "HS256", 256),
        ("hmac_sha384", "HS384", 384),
        ("hmac_sha512", "HS512", 512),
    )
}


def hmac_algorithm(lib: ModuleType, alg: str) -> Any:
    cls = lib.algorithms.HMACAlgorithm
    return cls(getattr(cls, f"SHA{alg[2:]}"))


@pytest.mark.parametrize(
    "stem",
    list(HMAC_FILES),
    ids=[f"{stem}-{sum(counts.values())}cases" for stem, (_, _, counts) in HMAC_FILES.items()],
)
def test_wycheproof_hmac(stem: str) -> None:
    alg, digest_bits, expected_counts = HMAC_FILES[stem]
    target, reference = hmac_algorithm(tj, alg), hmac_algorithm(ref, alg)
    counts: Counter[str] = Counter()
    mismatches: list[str] = []
    for group, test in cases(stem):
        key, msg, tag = (bytes.fromhex(test[name]) for name in ("key", "msg", "tag"))
        # JWS compares the whole tag: a truncated one must never verify, even if it is a prefix.
        full_length = group["tagSize"] == digest_bits
        kind = f"full-{test['result']}" if full_length else "truncated"
        counts[kind] += 1
        prepared = target.prepare_key(key)
        verified = target.verify(msg, prepared, tag)
        if verified != (kind == "full-valid"):
            mismatches.append(f"{describe(test)} [{kind}]: verify returned {verified}")
        if verified != reference.verify(msg, reference.prepare_key(key), tag):
            mismatches.append(f"{describe(test)} [{kind}]: verify differs from PyJWT")
        if kind == "full-valid" and target.sign(msg, prepared) != tag:
            mismatches.append(f"{describe(test)}: sign does not reproduce the tag")
    assert counts == expected_counts
    assert_no_mismatch(mismatches)


# --- RSA, RSA-PSS, ECDSA, EdDSA: the registry's algorithm objects -----------------------------


@dataclass(frozen=True)
class SignatureFile:
    alg: str
    #: Cases per Wycheproof result ("valid", "invalid", "acceptable").
    counts: dict[str, int]
    #: ASN.1 DER ECDSA signatures: JWS takes raw r||s only, so none may verify.
    der_signatures: bool = False
    #: PSS with a salt length other than JWA's (the digest size): the tcIds whose signature
    #: nevertheless uses the JWA salt length, found by decoding every signature (see below).
    jwa_salt_tc_ids: Optional[frozenset[int]] = None


SIGNATURE_FILES: dict[str, SignatureFile] = {
    "rsa_signature_2048_sha256": SignatureFile(
        "RS256", {"valid": 9, "invalid": 249, "acceptable": 1}
    ),
    "rsa_signature_2048_sha384": SignatureFile(
        "RS384", {"valid": 7, "invalid": 250, "acceptable": 1}
    ),
    "rsa_signature_2048_sha512": SignatureFile(
        "RS512", {"valid": 8, "invalid": 250, "acceptable": 1}
    ),
    "rsa_signature_3072_sha256": SignatureFile(
        "RS256", {"valid": 8, "invalid": 250, "acceptable": 1}
    ),
    "rsa_signature_4096_sha512": SignatureFile(
        "RS512", {"valid": 7, "invalid": 251, "acceptable": 1}
    ),
    "rsa_pss_2048_sha256_mgf1_32": SignatureFile("PS256", {"valid": 63, "invalid": 45}),
    "rsa_pss_3072_sha256_mgf1_32": SignatureFile("PS256", {"valid": 63, "invalid": 45}),
    "rsa_pss_4096_sha256_mgf1_32": SignatureFile("PS256", {"valid": 63, "invalid": 45}),
    "rsa_pss_2048_sha384_mgf1_48": SignatureFile("PS384", {"valid": 95, "invalid": 46}),
    "rsa_pss_4096_sha384_mgf1_48": SignatureFile("PS384", {"valid": 95, "invalid": 46}),
    "rsa_pss_4096_sha512_mgf1_64": SignatureFile("PS512", {"valid": 132, "invalid": 47}),
    # Salt length 0, but tcId 69 ("s_len changed to 32") is a correct PS256 signature.
    "rsa_pss_2048_sha256_mgf1_0": SignatureFile(
        "PS256", {"valid": 61, "invalid": 42}, jwa_salt_tc_ids=frozenset({69})
    ),
    # Salt length 32 under SHA-512: no signature in the file uses PS512's 64.
    "rsa_pss_4096_sha512_mgf1_32": SignatureFile(
        "PS512", {"valid": 132, "invalid": 45}, jwa_salt_tc_ids=frozenset()
    ),
    "ecdsa_secp256r1_sha256_p1363": SignatureFile("ES256", {"valid": 173, "invalid": 89}),
    "ecdsa_secp384r1_sha384_p1363": SignatureFile("ES384", {"valid": 193, "invalid": 87}),
    "ecdsa_secp521r1_sha512_p1363": SignatureFile("ES512", {"valid": 231, "invalid": 87}),
    "ecdsa_secp256k1_sha256_p1363": SignatureFile("ES256K", {"valid": 167, "invalid": 85}),
    "ecdsa_secp256r1_sha256": SignatureFile(
        "ES256", {"valid": 174, "invalid": 310}, der_signatures=True
    ),
    "ecdsa_secp384r1_sha384": SignatureFile(
        "ES384", {"valid": 194, "invalid": 310}, der_signatures=True
    ),
    "ecdsa_secp521r1_sha512": SignatureFile(
        "ES512", {"valid": 232, "invalid": 310}, der_signatures=True
    ),
    "ecdsa_secp256k1_sha256": SignatureFile(
        "ES256K", {"valid": 168, "invalid": 308}, der_signatures=True
    ),
    "ed25519": SignatureFile("EdDSA", {"valid": 88, "invalid": 63}),
    "ed448": SignatureFile("EdDSA", {"valid": 17, "invalid": 70}),
}

# What `verify` returned, or the exception it raised as "ClassName: message".
Verdict = Union[bool, str]


def registry_algorithm(lib: ModuleType, alg: str) -> Any:
    return lib.algorithms.get_default_algorithms()[alg]


def verdict(algorithm: Any, msg: bytes, key: Any, sig: bytes) -> Verdict:
    try:
        return bool(algorithm.verify(msg, key, sig))
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def group_key(group: dict[str, Any]) -> str:
    """The group's public key as PEM text, a form every JWS algorithm's prepare_key takes."""
    pem: str = group["publicKeyPem"]
    return pem


@functools.cache
def rsa_public_numbers(pem: str) -> tuple[int, int]:
    key = load_pem_public_key(pem.encode())
    assert isinstance(key, RSAPublicKey)
    numbers = key.public_numbers()
    return numbers.n, numbers.e


def pss_salt_length(pem: str, hash_name: str, msg: bytes, sig: bytes) -> Optional[int]:
    """The salt length of a consistent EMSA-PSS encoding (RFC 8017 9.1.2), else None.

    An independent decoder (MGF1 over the message hash): it tells which signatures verify
    under the JWA salt length, the digest size, without asking the code under test.
    """
    n, e = rsa_public_numbers(pem)
    if len(sig) != (n.bit_length() + 7) // 8 or int.from_bytes(sig, "big") >= n:
        return None
    em_bits = n.bit_length() - 1
    m = pow(int.from_bytes(sig, "big"), e, n)
    if m.bit_length() > em_bits:
        return None
    em = m.to_bytes((em_bits + 7) // 8, "big")
    digest_size = hashlib.new(hash_name).digest_size
    if len(em) < digest_size + 2 or em[-1] != 0xBC:
        return None
    masked_db, h = em[: -digest_size - 1], em[-digest_size - 1 : -1]
    mask = b"".join(
        hashlib.new(hash_name, h + counter.to_bytes(4, "big")).digest()
        for counter in range(-(-len(masked_db) // digest_size))
    )
    db = bytearray(a ^ b for a, b in zip(masked_db, mask))
    db[0] &= 0xFF >> (8 * len(em) - em_bits)
    separator = next((i for i, byte in enumerate(db) if byte), None)
    if separator is None or db[separator] != 0x01:
        return None
    salt = bytes(db[separator + 1 :])
    m_hash = hashlib.new(hash_name, msg).digest()
    if hashlib.new(hash_name, b"\0" * 8 + m_hash + salt).digest() != h:
        return None
    return len(salt)


HASH_NAMES = {"SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def uses_jwa_salt(group: dict[str, Any], test: dict[str, Any]) -> bool:
    """Whether the PSS signature is valid with a salt as long as the digest (RFC 7518 3.5)."""
    hash_name = HASH_NAMES[group["sha"]]
    assert HASH_NAMES[group["mgfSha"]] == hash_name
    msg, sig = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    salt_length = pss_salt_length(group_key(group), hash_name, msg, sig)
    if test["result"] == "valid":
        # The decoder agrees with the file on every signature the file calls valid.
        assert salt_length == group["sLen"], describe(test)
    return salt_length == hashlib.new(hash_name).digest_size


def expected_verdict(spec: SignatureFile, group: dict[str, Any], test: dict[str, Any]) -> bool:
    """What JWS verification must answer for a "valid" or "invalid" case."""
    if spec.der_signatures:
        return False
    if spec.alg.startswith("PS"):
        jwa_salt = uses_jwa_salt(group, test)
        if spec.jwa_salt_tc_ids is not None:
            return jwa_salt
        assert jwa_salt == (test["result"] == "valid"), describe(test)
    return bool(test["result"] == "valid")


@pytest.mark.parametrize(
    "stem",
    list(SIGNATURE_FILES),
    ids=[
        f"{stem}-{spec.alg}-{sum(spec.counts.values())}cases"
        for stem, spec in SIGNATURE_FILES.items()
    ],
)
def test_wycheproof_signatures(stem: str) -> None:
    spec = SIGNATURE_FILES[stem]
    target, reference = registry_algorithm(tj, spec.alg), registry_algorithm(ref, spec.alg)
    counts: Counter[str] = Counter()
    jwa_salt_tc_ids: set[int] = set()
    mismatches: list[str] = []
    prepared: dict[str, tuple[Any, Any]] = {}
    for group, test in cases(stem):
        counts[test["result"]] += 1
        pem = group_key(group)
        if pem not in prepared:
            # Every group key in these files is well formed: both libraries must load it.
            prepared[pem] = (target.prepare_key(pem), reference.prepare_key(pem))
        target_key, reference_key = prepared[pem]
        msg, sig = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
        actual = verdict(target, msg, target_key, sig)
        pyjwt = verdict(reference, msg, reference_key, sig)
        if actual != pyjwt:
            mismatches.append(f"{describe(test)}: target {actual!r}, PyJWT {pyjwt!r}")
        if test["result"] == "acceptable":
            continue  # the file leaves it open: agreeing with PyJWT is the requirement
        expected = expected_verdict(spec, group, test)
        if expected and spec.jwa_salt_tc_ids is not None:
            jwa_salt_tc_ids.add(test["tcId"])
        if actual != expected:
            mismatches.append(f"{describe(test)}: target {actual!r}, expected {expected!r}")
    assert counts == spec.counts
    if spec.jwa_salt_tc_ids is not None:
        assert jwa_salt_tc_ids == spec.jwa_salt_tc_ids
    assert_no_mismatch(mismatches)


JWK_FIELDS = ("publicKeyJwk", "keyJwk")


def jwk_groups() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (stem, index, group)
        for stem in SIGNATURE_FILES
        for index, group in enumerate(wycheproof(stem)["testGroups"])
        if any(field in group for field in JWK_FIELDS)
    ]


def spki(key: Any) -> bytes:
    der: bytes = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return der


@pytest.mark.parametrize(
    "stem", sorted({stem for stem, _, _ in jwk_groups()}), ids=lambda stem: f"{stem}-jwk"
)
def test_wycheproof_jwk_matches_pem(stem: str) -> None:
    """The file's JWK form of each group key loads (from_jwk) as the same key as its PEM."""
    alg = SIGNATURE_FILES[stem].alg
    target, reference = registry_algorithm(tj, alg), registry_algorithm(ref, alg)
    groups = [group for name, _, group in jwk_groups() if name == stem]
    assert groups
    for group in groups:
        jwk = next(group[field] for field in JWK_FIELDS if field in group)
        from_pem = spki(target.prepare_key(group_key(group)))
        assert spki(target.from_jwk(jwk)) == from_pem
        assert spki(target.from_jwk(json.dumps(jwk))) == spki(reference.from_jwk(json.dumps(jwk)))


# --- RFC examples: the public API ---------------------------------------------------------------


@functools.cache
def rfc_vectors() -> tuple[dict[str, Any], ...]:
    with (VECTORS / "rfc" / "jws_examples.json").open(encoding="utf-8") as file:
        return tuple(json.load(file)["vectors"])


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def protected_header(vector: dict[str, Any]) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(b64url_decode(vector["token"].split(".")[0]))
    return header


def compact_form(vector: dict[str, Any]) -> tuple[str, Optional[bytes]]:
    """The token to decode and the ``detached_payload`` argument it needs.

    A detached payload with ``b64: false`` (RFC 7797) is passed as raw bytes; a detached
    base64url payload (RFC 7515 Appendix F) goes back in as the middle segment.
    """
    token: str = vector["token"]
    detached = vector["detached_payload"]
    if detached is None:
        return token, None
    if protected_header(vector).get("b64", True) is False:
        return token, b64url_decode(detached)
    header, empty, signature = token.split(".")
    assert empty == ""
    return f"{header}.{detached}.{signature}", None


def expected_payload(vector: dict[str, Any]) -> Any:
    if vector["payload_is_json_object"]:
        return json.loads(vector["payload_text"])
    return b64url_decode(vector["payload_b64u"])


def decode(
    lib: ModuleType,
    token: str,
    key: Any,
    algorithms: Optional[list[str]],
    json_payload: bool,
    detached_payload: Optional[bytes] = None,
) -> Any:
    """decode_complete at the JWT level for JSON-object payloads, else at the JWS level."""
    if json_payload:
        # RFC 7515 A.1-A.3 expired in 2011.
        return lib.decode_complete(token, key, algorithms, options={"verify_exp": False})
    return lib.api_jws.decode_complete(token, key, algorithms, detached_payload=detached_payload)


def public_key(lib: ModuleType, vector: dict[str, Any]) -> Any:
    return lib.PyJWK(vector["jwk"], algorithm=vector["alg"])


RFC_IDS = [vector["id"] for vector in rfc_vectors()]
VALID_VECTORS = [vector for vector in rfc_vectors() if vector["expected"] == "valid"]


def test_rfc_vector_counts() -> None:
    assert Counter(vector["expected"] for vector in rfc_vectors()) == {
        "valid": 12,
        "invalid": 1,
        "invalid-as-compact": 2,
    }
    assert len(set(RFC_IDS)) == 15
    for vector in rfc_vectors():
        recorded = vector["pyjwt_2_15_1_result"]
        assert (recorded == "valid") == (vector["expected"] == "valid"), vector["id"]


@pytest.mark.parametrize("vector", VALID_VECTORS, ids=[v["id"] for v in VALID_VECTORS])
def test_rfc_valid_example_decodes(vector: dict[str, Any]) -> None:
    token, detached_payload = compact_form(vector)

    def call(lib: ModuleType) -> Any:
        key = public_key(lib, vector)
        json_payload = vector["payload_is_json_object"]
        return decode(lib, token, key, [vector["alg"]], json_payload, detached_payload)

    outcome = compare(call)
    assert outcome.error is None, repr(outcome.error)
    assert outcome.value["payload"] == expected_payload(vector)
    assert outcome.value["header"] == protected_header(vector)
    assert outcome.value["signature"] == b64url_decode(token.rsplit(".", 1)[1])


@pytest.mark.parametrize(
    "vector",
    [vector for vector in rfc_vectors() if vector["expected"] == "invalid-as-compact"],
    ids=lambda vector: vector["id"],
)
def test_rfc_json_serialization_is_refused(vector: dict[str, Any]) -> None:
    assert vector["serialization"] == "json-flattened"

    def call(lib: ModuleType) -> Any:
        key = public_key(lib, vector)
        return decode(lib, vector["token"], key, [vector["alg"]], vector["payload_is_json_object"])

    outcome = compare(call)
    assert isinstance(outcome.error, tj.exceptions.DecodeError), repr(outcome.error)
    assert str(outcome.error) == "Not enough segments"
    assert vector["pyjwt_2_15_1_result"] == "rejected:DecodeError"


UNSECURED = next(vector for vector in rfc_vectors() if vector["expected"] == "invalid")
A1_KEY = next(vector["jwk"] for vector in rfc_vectors() if vector["id"] == "rfc7515-A.1")
NOT_ALLOWED = Raises("InvalidAlgorithmError", "The specified alg value is not allowed")
NO_SIGNATURE = Raises("InvalidSignatureError", "Signature verification failed")


@pytest.mark.parametrize(
    ("key", "algorithms", "expected"),
    [
        # The caller's allow-list has no "none": refused before any key is looked at.
        ("secret", ["HS256"], NOT_ALLOWED),
        ("secret", ["HS256", "RS256", "ES256", "EdDSA"], NOT_ALLOWED),
        ("oct-jwk", None, NOT_ALLOWED),
        # "none" allowed and no key: the unsecured algorithm never verifies a signature.
        ("", ["none"], NO_SIGNATURE),
        (None, ["none"], NO_SIGNATURE),
        # "none" allowed with a real key: the key itself is refused (PyJWT's InvalidKeyError,
        # a PyJWTError but not an InvalidTokenError).
        (
            "secret",
            ["none"],
            Raises("InvalidKeyError", 'When alg = "none", key value must be None.'),
        ),
    ],
    ids=["hs256-only", "every-alg-but-none", "pyjwk", "none-empty-key", "none-no-key", "none-key"],
)
def test_rfc_unsecured_jws_is_refused(key: Any, algorithms: Any, expected: Raises) -> None:
    assert UNSECURED["id"] == "rfc7515-A.5"
    assert protected_header(UNSECURED) == {"alg": "none"}

    def call(lib: ModuleType) -> Any:
        decode_key = lib.PyJWK(A1_KEY) if key == "oct-jwk" else key
        return decode(lib, UNSECURED["token"], decode_key, algorithms, True)

    outcome = check_expectation(call, expected)
    if expected.kind == "InvalidKeyError":
        assert UNSECURED["pyjwt_2_15_1_result"] == "rejected:InvalidKeyError"
    assert isinstance(outcome.error, tj.exceptions.PyJWTError)
    if expected.kind != "InvalidKeyError":
        assert isinstance(outcome.error, tj.exceptions.InvalidTokenError)


# Deterministic signatures: encoding the same input twice gives the same token.
DETERMINISTIC = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "EdDSA"}
# The examples whose header segment is what encode() writes (compact JSON, sorted members),
# signed deterministically, so encode() must reproduce the RFC token byte for byte.
REPRODUCIBLE_IDS = {
    "rfc7515-A.2",
    "rfc7520-4.1",
    "rfc7520-4.4",
    "rfc7520-4.5",
    "rfc7797-4.1",
    "rfc7797-4.2",
    "rfc8037-A.4",
}


def signing_jwk(vector: dict[str, Any]) -> dict[str, Any]:
    """The private JWK, or the shared secret itself for HMAC."""
    jwk: Optional[dict[str, Any]] = vector["jwk_private"]
    if jwk is None and vector["jwk"]["kty"] == "oct":
        jwk = vector["jwk"]
    assert jwk is not None
    return jwk


def is_reproducible(vector: dict[str, Any]) -> bool:
    header = protected_header(vector)
    canonical = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    return (
        vector["alg"] in DETERMINISTIC and b64url_encode(canonical) == vector["token"].split(".")[0]
    )


def test_rfc_reproducible_examples() -> None:
    assert {v["id"] for v in VALID_VECTORS if is_reproducible(v)} == REPRODUCIBLE_IDS


@pytest.mark.parametrize("vector", VALID_VECTORS, ids=[v["id"] for v in VALID_VECTORS])
def test_rfc_encode_round_trip(vector: dict[str, Any]) -> None:
    """Encode the example's payload under its header with the private key, then decode it."""
    header = protected_header(vector)
    payload = b64url_decode(vector["payload_b64u"])
    detached = header.get("b64", True) is False

    def encode(lib: ModuleType) -> str:
        key = lib.PyJWK(signing_jwk(vector), algorithm=vector["alg"])
        # A `typ` of None drops the "JWT" that encode() adds by default.
        headers = {**header, "typ": header.get("typ")}
        token: str = lib.api_jws.encode(payload, key, headers=headers)
        return token

    def decode_with_public_key(lib: ModuleType, token: str) -> Any:
        key = public_key(lib, vector)
        detached_payload = payload if detached else None
        return decode(lib, token, key, [vector["alg"]], False, detached_payload)

    tokens = {lib: encode(lib) for lib in (tj, ref)}
    if vector["alg"] in DETERMINISTIC:
        assert tokens[tj] == tokens[ref]
    if vector["id"] in REPRODUCIBLE_IDS:
        assert tokens[tj] == compact_form(vector)[0]
    for token in tokens.values():
        # Each library's token verifies in both, with the public key, to the payload.
        outcome = compare(functools.partial(decode_with_public_key, token=token))
        assert outcome.error is None, repr(outcome.error)
        assert outcome.value["payload"] == payload
        assert outcome.value["header"] == header
