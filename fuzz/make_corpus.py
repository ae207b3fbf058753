"""Write the seed corpora of the fuzz targets from the key fixtures in tests/vectors/keys.

The seeds are committed; rerun this (with `cryptography` installed) after the fixtures change:
``python fuzz/make_corpus.py [TARGET...]`` (default: every target). The verify seeds use the
layout `VerifyCase::parse` reads:
``[key index][algorithm index][message length, u16 LE][message][signature]``.
The token seeds use the layout of `TokenCase::parse` (fuzz/src/token.rs):
``[secret][now][leeway][audience][issuer][mutation][argument, u16 LE][header length, u16 LE]
[header JSON][payload JSON]``; the bearer seeds are header values, the claims_scan seeds
JSON documents.
"""

from __future__ import annotations

import base64
import shutil
import struct
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, utils

FUZZ_DIR = Path(__file__).resolve().parent
KEYS_DIR = FUZZ_DIR.parent / "tests" / "vectors" / "keys"
CORPUS_DIR = FUZZ_DIR / "corpus"

# The private halves of `VERIFY_KEYS` in src/lib.rs, in the same order.
VERIFY_KEYS = [
    "rsa1024.pkcs8.pem",
    "rsa2048.pkcs8.pem",
    "rsa3072_e3.pkcs8.pem",
    "p256.pkcs8.pem",
    "p384.pkcs8.pem",
    "p521.pkcs8.pem",
    "secp256k1.pkcs8.pem",
    "ed25519.pkcs8.pem",
    "ed448.pkcs8.pem",
    "p256.pkcs8.pem",
]
# `Algorithm::ALL`, in its order.
ALGORITHMS = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES256K", "ES384", "ES512", "EdDSA",
]  # fmt: skip
HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
EC_ALGORITHMS = {"secp256r1": "ES256", "secp256k1": "ES256K", "secp384r1": "ES384"}
MESSAGE = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJmdXp6In0"


def reset(target: str) -> Path:
    directory = CORPUS_DIR / target
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def pem_to_der(text: str) -> bytes:
    body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    return base64.b64decode(body)


def copy_fixtures(target: str, pattern: str) -> None:
    directory = reset(target)
    for path in sorted(KEYS_DIR.glob(pattern)):
        shutil.copy(path, directory / path.name)


def der_seeds() -> None:
    directory = reset("key_der")
    for path in sorted(KEYS_DIR.glob("*.pem")):
        text = path.read_text()
        if "ENCRYPTED" in text or text.count("-----BEGIN") != 1:
            continue
        (directory / f"{path.stem}.der").write_bytes(pem_to_der(text))


def signatures(key: Any) -> list[tuple[str, bytes]]:
    if isinstance(key, rsa.RSAPrivateKey):
        pairs = []
        for bits, digest in HASHES.items():
            pairs.append((f"RS{bits}", key.sign(MESSAGE, padding.PKCS1v15(), digest)))
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            if key.key_size >= 8 * (2 * digest.digest_size + 2):  # PS512 needs 1040 bits
                pairs.append((f"PS{bits}", key.sign(MESSAGE, pss, digest)))
        return pairs
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = EC_ALGORITHMS.get(key.curve.name, "ES512")
        digest = HASHES[algorithm[2:5] if algorithm != "ES256K" else "256"]
        r, s = utils.decode_dss_signature(key.sign(MESSAGE, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        return [(algorithm, r.to_bytes(size, "big") + s.to_bytes(size, "big"))]
    assert isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    return [("EdDSA", key.sign(MESSAGE))]


def verify_seeds() -> None:
    directory = reset("verify")
    for index, name in enumerate(VERIFY_KEYS):
        key = serialization.load_pem_private_key((KEYS_DIR / name).read_bytes(), None)
        for algorithm, signature in signatures(key):
            header = struct.pack("<BBH", index, ALGORITHMS.index(algorithm), len(MESSAGE))
            seed = header + MESSAGE + signature
            (directory / f"{index}-{Path(name).stem}-{algorithm}").write_bytes(seed)


# Indices into the choice tables of fuzz/src/token.rs.
NOW_1_7E9, LEEWAY_0, LEEWAY_HALF, LEEWAY_MINUS_10 = 0, 0, 1, 4
AUDIENCE_API, AUDIENCE_CAFE, ISSUER_ISSUER = 1, 4, 1
SECRET_EMPTY, SECRET_LONG = 2, 3
FLIP, PAD, TRUNCATE, SWAP, INSERT, RAW = 1, 2, 3, 4, 5, 6
RESIGN = 0x80
HS256 = b'{"alg":"HS256","typ":"JWT"}'
JWT_IO = (
    b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
    b"IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def token_seed(
    header: bytes,
    payload: bytes,
    *,
    secret: int = 0,
    now: int = NOW_1_7E9,
    leeway: int = LEEWAY_0,
    audience: int = 0,
    issuer: int = 0,
    mutation: int = 0,
    argument: int = 0,
) -> bytes:
    choices = bytes([secret, now, leeway, audience, issuer, mutation])
    return choices + struct.pack("<HH", argument, len(header)) + header + payload


def token_seeds() -> None:
    directory = reset("token")
    deep = b'{"exp":1800000000,"a":' + b"[" * 999 + b"]" * 999 + b"}"
    too_deep = b'{"exp":1800000000,"a":' + b"[" * 1000 + b"]" * 1000 + b"}"
    seeds = {
        "plain": token_seed(HS256, b'{"sub":"1234567890","name":"John Doe","iat":1516239022}'),
        "all-claims": token_seed(
            HS256,
            b'{"iss":"issuer","aud":"api","sub":"alice","jti":"id-1",'
            b'"iat":1699999990,"nbf":1699999990,"exp":1700000100}',
            audience=AUDIENCE_API,
            issuer=ISSUER_ISSUER,
        ),
        "aud-list-float-exp": token_seed(
            HS256, b'{"aud":["other","api"],"exp":1700000000.9}', audience=AUDIENCE_API
        ),
        "float-exp-leeway": token_seed(
            HS256, b'{"exp":1700000000.9,"nbf":1700000000}', leeway=LEEWAY_HALF
        ),
        "negative-leeway": token_seed(
            HS256, b'{"exp":1700000005,"iat":1699999990}', leeway=LEEWAY_MINUS_10
        ),
        "kid": token_seed(b'{"alg":"HS256","kid":"key-1"}', b'{"exp":1800000000}'),
        "kid-not-str": token_seed(b'{"alg":"HS256","kid":1}', b"{}"),
        "crit": token_seed(b'{"alg":"HS256","crit":["exp"],"exp":1}', b"{}"),
        "b64-false": token_seed(b'{"alg":"HS256","b64":false}', b"{}"),
        "duplicate-exp": token_seed(HS256, b'{"exp":1,"exp":1800000000}'),
        # Found by this target: a repeated name the checks do not read, and a 19-digit claim.
        "duplicate-unread-name": token_seed(HS256, b'{"sub":"a","nbp":1,"nbp":2,"nbf":17}'),
        "nineteen-digit-exp": token_seed(HS256, b'{"exp":9230000000090570880797}'),
        "duplicate-alg": token_seed(b'{"alg":"none","alg":"HS256"}', b"{}"),
        "non-finite": token_seed(HS256, b'{"exp":NaN,"aud":Infinity,"x":-Infinity}'),
        "huge-numbers": token_seed(
            HS256, b'{"exp":123456789012345678901234567890,"nbf":-1e400,"iat":1e-400}'
        ),
        "unicode-aud": token_seed(
            HS256, '{"aud":"caf\\u00e9","sub":"café"}'.encode(), audience=AUDIENCE_CAFE
        ),
        "depth-1000": token_seed(HS256, deep),
        "depth-1001": token_seed(HS256, too_deep),
        "empty-secret": token_seed(HS256, b"{}", secret=SECRET_EMPTY),
        "long-secret": token_seed(HS256, b'{"jti":"x"}', secret=SECRET_LONG),
        # 17 bytes encode to 23 characters: one "=" makes a multiple of four, as ALB tokens do.
        "padded-header": token_seed(b'{"alg": "HS256" }', b"{}", mutation=PAD | RESIGN),
        "flip-signature": token_seed(HS256, b"{}", mutation=FLIP, argument=60),
        "truncate": token_seed(HS256, b'{"sub":"a"}', mutation=TRUNCATE, argument=50),
        "swap": token_seed(b'{"alg":"HS256"}', b'{"alg":"HS256"}', mutation=SWAP | RESIGN),
        "insert-dot": token_seed(HS256, b"{}", mutation=INSERT | RESIGN, argument=10),
        "raw-jwt-io": token_seed(b"", JWT_IO, mutation=RAW),
    }
    for name, seed in seeds.items():
        (directory / name).write_bytes(seed)


BEARER_SEEDS = {
    "plain": b"Bearer abc",
    "jwt": b"Bearer " + JWT_IO,
    "ows-and-case": b" \tBEARER   a.b-c_d~e+f/g== \t",
    "basic": b"Basic dXNlcjpwYXNzd29yZA==",
    "tab-separator": b"Bearer\tabc",
    "two-tokens": b"Bearer a b",
    "only-padding": b"Bearer ===",
    "no-token": b"bearer   ",
    "latin-1": b"Bearer caf\xe9",
    "utf-8": "Bearer café".encode(),
    "nbsp": "Bearer\u00a0abc".encode(),
}


def bearer_seeds() -> None:
    directory = reset("bearer")
    for name, seed in BEARER_SEEDS.items():
        (directory / name).write_bytes(seed)


CLAIMS_SCAN_SEEDS = {
    "registered": b'{"iss":"https://issuer","sub":"user-1","aud":"api","exp":1800000000,'
    b'"nbf":1700000000,"iat":1700000000,"jti":"id-1"}',
    "custom-claims": b'{"sub":"u","scope":"read write","roles":["a","b"],"n":-1.5e3,'
    b'"ok":true,"none":null,"nested":{"a":[1,{"b":"c"}],"d":{}}}',
    "aud-list": b'{"aud":["api","web"],"exp":-5}',
    "whitespace": b' {\n "exp" :\t1 ,\r"iat":2 } ',
    "escape": b'{"sub":"a\\"b"}',
    "float-exp": b'{"exp":1700000000.5}',
    "minus-zero": b'{"iat":-0}',
    "nineteen-digits": b'{"exp":1234567890123456789}',
    "duplicate": b'{"x":1,"exp":2,"x":3}',
    "non-finite": b'{"n":NaN,"m":-Infinity}',
    "non-ascii": '{"sub":"café"}'.encode(),
    "leading-zero": b'{"n":01}',
    "trailing-comma": b'{"exp":1,}',
    "deep": b'{"n":' + b"[" * 40 + b"]" * 40 + b"}",
}


def claims_scan_seeds() -> None:
    directory = reset("claims_scan")
    for name, seed in CLAIMS_SCAN_SEEDS.items():
        (directory / name).write_bytes(seed)


def key_pem_seeds() -> None:
    copy_fixtures("key_pem", "*.pem")
    shutil.copy(KEYS_DIR / "rsa2048.openssh.priv", CORPUS_DIR / "key_pem")


TARGETS = {
    "key_pem": key_pem_seeds,
    "key_der": der_seeds,
    "key_openssh": lambda: copy_fixtures("key_openssh", "*.ssh.pub"),
    "key_jwk": lambda: copy_fixtures("key_jwk", "*.jwk.json"),
    "verify": verify_seeds,
    "token": token_seeds,
    "claims_scan": claims_scan_seeds,
    "bearer": bearer_seeds,
}


def main(targets: list[str]) -> None:
    for target in targets or TARGETS:
        TARGETS[target]()


if __name__ == "__main__":
    main(sys.argv[1:])
