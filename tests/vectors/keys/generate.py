"""Regenerate the key fixtures: `python3 generate.py` inside this folder.

Keys come from the `cryptography` package and the `openssl` command line, and
`tokens.json` holds signatures made by PyJWT so that the Rust tests check
interoperability with an independent implementation. The keys are test-only.
"""

from __future__ import annotations

import base64
import datetime
import json
import struct
import subprocess
import warnings
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent
PEM = serialization.Encoding.PEM
PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
PKCS1_PUBLIC = serialization.PublicFormat.PKCS1
OPENSSH = serialization.PublicFormat.OpenSSH
NO_PASSWORD = serialization.NoEncryption()


def write(name: str, data: bytes | str) -> None:
    path = HERE / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def save_private(stem: str, key, traditional: bool = True) -> None:
    write(f"{stem}.pkcs8.pem", key.private_bytes(PEM, PKCS8, NO_PASSWORD))
    if traditional:
        write(f"{stem}.trad.pem", key.private_bytes(PEM, TRADITIONAL, NO_PASSWORD))
    write(f"{stem}.pub.pem", key.public_key().public_bytes(PEM, SPKI))


def certificate(key, public_key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "turbojwt test")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
    )
    algorithm = (
        None
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else hashes.SHA256()
    )
    return builder.sign(key, algorithm).public_bytes(PEM)


def main() -> None:
    warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
    tokens: list[dict[str, str]] = []
    payload = {"sub": "fixture", "n": 1}

    rsa2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    save_private("rsa2048", rsa2048)
    write("rsa2048.pkcs1.pub.pem", rsa2048.public_key().public_bytes(PEM, PKCS1_PUBLIC))
    write(
        "rsa2048.ssh.pub",
        rsa2048.public_key().public_bytes(serialization.Encoding.OpenSSH, OPENSSH)
        + b" user@host\n",
    )
    write("rsa2048.cert.pem", certificate(rsa2048, rsa2048.public_key()))
    write("rsa2048.jwk.json", jwt.algorithms.RSAAlgorithm.to_jwk(rsa2048))
    write("rsa2048.pub.jwk.json", jwt.algorithms.RSAAlgorithm.to_jwk(rsa2048.public_key()))
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        tokens.append(
            {
                "alg": alg,
                "key": "rsa2048.pub.pem",
                "token": jwt.encode(payload, rsa2048, algorithm=alg),
            }
        )

    rsa1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    save_private("rsa1024", rsa1024)
    write("rsa1024.jwk.json", jwt.algorithms.RSAAlgorithm.to_jwk(rsa1024))
    # PS512 needs 2 + 64 + 64 bytes of encoded message: more than a 1024-bit key holds.
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384"):
        tokens.append(
            {
                "alg": alg,
                "key": "rsa1024.pub.pem",
                "token": jwt.encode(payload, rsa1024, algorithm=alg),
            }
        )

    rsa3072 = rsa.generate_private_key(public_exponent=3, key_size=3072)
    save_private("rsa3072_e3", rsa3072, traditional=False)

    curves = {
        "p256": (ec.SECP256R1(), "ES256"),
        "p384": (ec.SECP384R1(), "ES384"),
        "p521": (ec.SECP521R1(), "ES512"),
        "secp256k1": (ec.SECP256K1(), "ES256K"),
    }
    for stem, (curve, alg) in curves.items():
        key = ec.generate_private_key(curve)
        save_private(stem, key)
        write(f"{stem}.jwk.json", jwt.algorithms.ECAlgorithm.to_jwk(key))
        write(f"{stem}.pub.jwk.json", jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        if stem != "secp256k1":
            write(
                f"{stem}.ssh.pub",
                key.public_key().public_bytes(serialization.Encoding.OpenSSH, OPENSSH) + b"\n",
            )
            compressed = key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            )
            write(f"{stem}.compressed.hex", compressed.hex())
        tokens.append(
            {"alg": alg, "key": f"{stem}.pub.pem", "token": jwt.encode(payload, key, algorithm=alg)}
        )
    write(
        "p256.cert.pem",
        certificate(
            ec.generate_private_key(ec.SECP256R1()),
            serialization.load_pem_public_key((HERE / "p256.pub.pem").read_bytes()),
        ),
    )

    p192 = ec.generate_private_key(ec.SECP192R1())
    save_private("p192", p192)

    ed = ed25519.Ed25519PrivateKey.generate()
    save_private("ed25519", ed, traditional=False)
    write(
        "ed25519.ssh.pub",
        ed.public_key().public_bytes(serialization.Encoding.OpenSSH, OPENSSH) + b" comment\n",
    )
    write("ed25519.jwk.json", jwt.algorithms.OKPAlgorithm.to_jwk(ed))
    write("ed25519.cert.pem", certificate(ed, ed.public_key()))
    tokens.append(
        {
            "alg": "EdDSA",
            "key": "ed25519.pub.pem",
            "token": jwt.encode(payload, ed, algorithm="EdDSA"),
        }
    )

    ed4 = ed448.Ed448PrivateKey.generate()
    save_private("ed448", ed4, traditional=False)
    raw448 = ed4.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    blob = b"".join(struct.pack(">I", len(part)) + part for part in (b"ssh-ed448", raw448))
    write("ed448.ssh.pub", "ssh-ed448 " + base64.b64encode(blob).decode() + "\n")
    write("ed448.jwk.json", jwt.algorithms.OKPAlgorithm.to_jwk(ed4))
    tokens.append(
        {
            "alg": "EdDSA",
            "key": "ed448.pub.pem",
            "token": jwt.encode(payload, ed4, algorithm="EdDSA"),
        }
    )

    password = serialization.BestAvailableEncryption(b"secret")
    write("rsa2048.encrypted.pkcs8.pem", rsa2048.private_bytes(PEM, PKCS8, password))
    write("rsa2048.encrypted.trad.pem", rsa2048.private_bytes(PEM, TRADITIONAL, password))
    write(
        "p256.encrypted.sec1.pem",
        ec.generate_private_key(ec.SECP256R1()).private_bytes(PEM, TRADITIONAL, password),
    )

    write("dsa.pub.pem", dsa.generate_private_key(2048).public_key().public_bytes(PEM, SPKI))
    write(
        "x25519.pkcs8.pem",
        x25519.X25519PrivateKey.generate().private_bytes(PEM, PKCS8, NO_PASSWORD),
    )
    write(
        "rsa2048.openssh.priv",
        rsa2048.private_bytes(PEM, serialization.PrivateFormat.OpenSSH, NO_PASSWORD),
    )

    # An RSASSA-PSS restricted key (id-RSASSA-PSS SPKI), made by openssl.
    pss = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
        check=True,
        capture_output=True,
    ).stdout
    write("rsa_pss.pkcs8.pem", pss)

    write("tokens.json", json.dumps(tokens, indent=1) + "\n")


if __name__ == "__main__":
    main()
