"""Write the seed corpora of the fuzz targets from the key fixtures in tests/vectors/keys.

The seeds are committed; rerun this (with `cryptography` installed) after the fixtures change:
``python fuzz/make_corpus.py``. The verify seeds use the layout `VerifyCase::parse` reads:
``[key index][algorithm index][message length, u16 LE][message][signature]``.
"""

from __future__ import annotations

import base64
import shutil
import struct
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


def main() -> None:
    copy_fixtures("key_pem", "*.pem")
    shutil.copy(KEYS_DIR / "rsa2048.openssh.priv", CORPUS_DIR / "key_pem")
    der_seeds()
    copy_fixtures("key_openssh", "*.ssh.pub")
    copy_fixtures("key_jwk", "*.jwk.json")
    verify_seeds()


if __name__ == "__main__":
    main()
