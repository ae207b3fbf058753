"""Every algorithm works without ``cryptography``: keys are parsed by the Rust core.

Each scenario runs in a fresh interpreter where importing ``cryptography`` fails, so it holds
whether or not this environment has it. Tokens cross the boundary both ways: those minted by
PyJWT (with cryptography, when available here) verify there, and those minted there verify
with PyJWT.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

KEYS = Path(__file__).parent / "vectors" / "keys"

# (alg, private key file, public key file): PEM, SEC1, PKCS#1 and OpenSSH forms.
CASES = [
    ("RS256", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    ("RS512", "rsa2048.trad.pem", "rsa2048.pkcs1.pub.pem"),
    ("PS384", "rsa2048.trad.pem", "rsa2048.ssh.pub"),
    ("ES256", "p256.trad.pem", "p256.pub.pem"),
    ("ES384", "p384.pkcs8.pem", "p384.ssh.pub"),
    ("ES512", "p521.pkcs8.pem", "p521.pub.pem"),
    ("ES256K", "secp256k1.pkcs8.pem", "secp256k1.pub.pem"),
    ("EdDSA", "ed25519.pkcs8.pem", "ed25519.ssh.pub"),
    ("EdDSA", "ed448.pkcs8.pem", "ed448.pub.pem"),
]

BLOCK_CRYPTOGRAPHY = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ImportError("cryptography is blocked for this test")
sys.meta_path.insert(0, _Block())
"""


def run_without_cryptography(body: str, payload: Any) -> Any:
    """Run ``body`` (which reads ``payload`` and sets ``result``) with cryptography blocked."""
    script = (
        BLOCK_CRYPTOGRAPHY
        + textwrap.dedent(
            """
        import json, sys
        payload = json.loads(sys.stdin.read())
        result = None
        """
        )
        + textwrap.dedent(body)
        + "\nprint(json.dumps(result))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


def read(name: str) -> str:
    return (KEYS / name).read_text()


def test_every_algorithm_round_trips_without_cryptography() -> None:
    cases = [(alg, read(private), read(public)) for alg, private, public in CASES]
    result = run_without_cryptography(
        """
        import turbojwt
        from turbojwt.algorithms import has_crypto, get_default_algorithms
        outcomes = []
        for alg, private, public in payload:
            token = turbojwt.encode({"sub": alg, "n": 1}, private, algorithm=alg)
            claims = turbojwt.decode(token, public, algorithms=[alg])
            try:
                turbojwt.decode(token[:-4] + "AAAA", public, algorithms=[alg])
                forged = "accepted"
            except turbojwt.InvalidSignatureError:
                forged = "refused"
            outcomes.append([alg, claims, forged, token])
        result = {"has_crypto": has_crypto, "algorithms": sorted(get_default_algorithms()),
                  "outcomes": outcomes}
        """,
        cases,
    )
    assert result["has_crypto"] is False
    assert len(result["algorithms"]) == 16
    for (alg, _, _), (out_alg, claims, forged, _token) in zip(CASES, result["outcomes"]):
        assert out_alg == alg
        assert claims == {"sub": alg, "n": 1}
        assert forged == "refused"


def test_tokens_cross_between_pyjwt_and_native_keys() -> None:
    pyjwt = pytest.importorskip("jwt")
    pytest.importorskip("cryptography")
    minted = [
        (alg, pyjwt.encode({"by": "pyjwt"}, read(private), algorithm=alg), read(public))
        for alg, private, public in CASES
    ]
    result = run_without_cryptography(
        """
        import turbojwt
        result = [
            turbojwt.decode(token, public, algorithms=[alg]) for alg, token, public in payload
        ]
        """,
        minted,
    )
    assert result == [{"by": "pyjwt"}] * len(CASES)

    cases = [(alg, read(private)) for alg, private, _ in CASES]
    tokens = run_without_cryptography(
        """
        import turbojwt
        result = [
            turbojwt.encode({"by": "turbojwt"}, private, algorithm=alg) for alg, private in payload
        ]
        """,
        cases,
    )
    for (alg, _, public), token in zip(CASES, tokens):
        assert pyjwt.decode(token, read(public), algorithms=[alg]) == {"by": "turbojwt"}


def test_keys_and_jwks_without_cryptography() -> None:
    result = run_without_cryptography(
        """
        import turbojwt
        from turbojwt.algorithms import ECAlgorithm, HMACAlgorithm, RSAAlgorithm
        from turbojwt.exceptions import InvalidKeyError
        pem = payload["rsa_public"]
        outcomes = {}
        # Public-key material is never an HMAC secret.
        try:
            turbojwt.encode({"a": 1}, pem, algorithm="HS256")
            outcomes["pem_as_secret"] = "accepted"
        except InvalidKeyError:
            outcomes["pem_as_secret"] = "refused"
        import base64
        der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
        try:
            turbojwt.encode({"a": 1}, der, algorithm="HS256")
            outcomes["der_as_secret"] = "accepted"
        except InvalidKeyError:
            outcomes["der_as_secret"] = "refused"
        # A key of the wrong family is refused.
        try:
            turbojwt.decode(turbojwt.encode({"a": 1}, payload["ec_private"], algorithm="ES256"),
                            pem, algorithms=["ES256"])
            outcomes["wrong_family"] = "accepted"
        except InvalidKeyError:
            outcomes["wrong_family"] = "refused"
        # JWK round trip through the native key.
        algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
        key = algorithm.prepare_key(pem)
        jwk = algorithm.to_jwk(key, as_dict=True)
        outcomes["jwk_kty"] = jwk["kty"]
        again = RSAAlgorithm.from_jwk(jwk)
        outcomes["jwk_round_trip"] = RSAAlgorithm.to_jwk(again, as_dict=True) == jwk
        outcomes["key_size"] = key.key_size
        ec_key = ECAlgorithm(ECAlgorithm.SHA256).prepare_key(payload["ec_private"])
        outcomes["ec_curve"] = ec_key.curve
        # A PyJWK from JWK JSON verifies tokens with its native key.
        jwk_key = turbojwt.PyJWK.from_json(payload["ec_jwk"])
        token = turbojwt.encode({"via": "jwk"}, payload["ec_private"], algorithm="ES256")
        outcomes["pyjwk"] = [type(jwk_key.key).__name__, turbojwt.decode(token, jwk_key)]
        result = outcomes
        """,
        {
            "rsa_public": read("rsa2048.pub.pem"),
            "ec_private": read("p256.pkcs8.pem"),
            "ec_jwk": read("p256.pub.jwk.json"),
        },
    )
    assert result == {
        "pem_as_secret": "refused",
        "der_as_secret": "refused",
        "wrong_family": "refused",
        "jwk_kty": "RSA",
        "jwk_round_trip": True,
        "key_size": 2048,
        "ec_curve": "P-256",
        "pyjwk": ["NativeKey", {"via": "jwk"}],
    }
