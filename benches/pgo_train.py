"""The workload a profile-guided build of turbojwt is trained on (`scripts/pgo-profile`).

An instrumented build counts how often each branch and function runs; the final build lays
out and optimises the code by those counts. Code the training never reaches is compiled
as cold (small, out of the way), so this covers every algorithm and entry point a server
or a batch job uses, weighted as they run: HS256 decodes of distinct and repeated tokens,
forged tokens, encodes, asymmetric decodes with pre-loaded keys, ``decode_batch`` and the
Arrow column path. It needs turbojwt only (pyarrow is used when it is installed).

    python benches/pgo_train.py [--scale N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `instructions`, beside it

import instructions as fixtures
import turbojwt
from turbojwt.algorithms import get_default_algorithms

KEYS, SECRET, ISSUER, AUDIENCE = fixtures.KEYS, fixtures.SECRET, fixtures.ISSUER, fixtures.AUDIENCE
claims = fixtures.claims
POOL = 2048
#: Per asymmetric algorithm: the private key that signs and the public key that verifies.
ASYMMETRIC = {
    "RS256": ("rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    "RS512": ("rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    "PS256": ("rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    "ES256": ("p256.pkcs8.pem", "p256.pub.pem"),
    "ES384": ("p384.pkcs8.pem", "p384.pub.pem"),
    "ES512": ("p521.pkcs8.pem", "p521.pub.pem"),
    "ES256K": ("secp256k1.pkcs8.pem", "secp256k1.pub.pem"),
    "EdDSA": ("ed25519.pkcs8.pem", "ed25519.pub.pem"),
}


def hmac_paths(scale: int) -> None:
    decode = turbojwt.decode
    pool = [turbojwt.encode(claims(i), SECRET) for i in range(POOL)]
    forged = fixtures.forge(pool[0])
    for cache in (0, 4096):  # first sight with the token cache off, then on
        turbojwt.set_token_cache(max_entries=cache)
        for i in range(20 * scale):
            decode(pool[i % POOL], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    for _ in range(20 * scale):  # a session's bearer token: cache hits
        decode(pool[1], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    for _ in range(20 * scale):
        try:
            decode(forged, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        except turbojwt.InvalidSignatureError:
            pass
    payload = claims(1)
    for _ in range(20 * scale):
        turbojwt.encode(payload, SECRET)
    long_secret = SECRET * 2  # long enough for HS512: no key-length warning
    for alg in ("HS384", "HS512"):
        token = turbojwt.encode(payload, long_secret, algorithm=alg)
        for _ in range(2 * scale):
            decode(token, long_secret, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
    for i in range(5 * scale):
        turbojwt.decode_complete(
            pool[i % POOL], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
        )
    expired = turbojwt.encode({"sub": "x", "exp": 1}, SECRET)
    for _ in range(2 * scale):
        try:
            decode(expired, SECRET, algorithms=["HS256"])
        except turbojwt.ExpiredSignatureError:
            pass
    for _ in range(max(1, scale // 20)):
        turbojwt.decode_batch(pool, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)


def asymmetric_paths(scale: int) -> None:
    turbojwt.set_token_cache(max_entries=0)
    algorithms = get_default_algorithms()
    for alg, (private_file, public_file) in ASYMMETRIC.items():
        private = (KEYS / private_file).read_text()
        tokens = [turbojwt.encode(claims(i), private, algorithm=alg) for i in range(8)]
        key = algorithms[alg].prepare_key((KEYS / public_file).read_text())
        for i in range(max(8, scale // 5)):
            turbojwt.decode(tokens[i % 8], key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
    turbojwt.set_token_cache(max_entries=4096)


def column_paths(scale: int) -> bool:
    try:
        import pyarrow as pa
    except ImportError:
        return False
    from turbojwt import arrow

    tokens = pa.array([turbojwt.encode(claims(i), SECRET) for i in range(50 * scale)])
    pa.table(arrow.verify(tokens, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER))
    pa.table(arrow.decode_unverified(tokens))
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000, help="work per path (default 1000)")
    scale = parser.parse_args().scale
    hmac_paths(scale)
    asymmetric_paths(scale)
    arrow_trained = column_paths(scale)
    print(
        f"trained {turbojwt.__file__}"
        + ("" if arrow_trained else " (no pyarrow: the Arrow column path was not trained)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
