"""HMAC secrets from the environment, and ``KeyRing``: keys by ``kid``, rotation, removal."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import turbojwt
from turbojwt._turbojwt import NativeKey
from turbojwt.auth import KeyRing, hmac_secret_from_env
from turbojwt.auth.keys import verification_key_for
from turbojwt.exceptions import InvalidKeyError, InvalidTokenError

KEYS = Path(__file__).parent / "vectors" / "keys"
SECRET_32 = bytes(range(32))

# (algorithm, private key file, public key file); PEM text needs no ``cryptography``.
ASYMMETRIC = [
    ("RS256", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    ("ES256", "p256.pkcs8.pem", "p256.pub.pem"),
    ("ES384", "p384.pkcs8.pem", "p384.pub.pem"),
    ("EdDSA", "ed25519.pkcs8.pem", "ed25519.pub.pem"),
]


def read_key(name: str) -> bytes:
    return (KEYS / name).read_bytes()


# --- hmac_secret_from_env ---


def test_reads_utf8_text() -> None:
    secret = "x" * 32
    assert hmac_secret_from_env("S", environ={"S": secret}) == secret.encode()


def test_counts_bytes_not_characters() -> None:
    assert hmac_secret_from_env("S", environ={"S": "\u00e9" * 16}) == "\u00e9".encode() * 16
    with pytest.raises(InvalidKeyError, match="holds a 30-byte secret"):
        hmac_secret_from_env("S", environ={"S": "\u00e9" * 15})


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURBOJWT_TEST_SECRET", "k" * 40)
    assert hmac_secret_from_env("TURBOJWT_TEST_SECRET") == b"k" * 40


@pytest.mark.parametrize(("algorithm", "minimum"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_refuses_secrets_shorter_than_the_hash(algorithm: str, minimum: int) -> None:
    assert len(hmac_secret_from_env("S", algorithm, environ={"S": "k" * minimum})) == minimum
    with pytest.raises(InvalidKeyError) as info:
        hmac_secret_from_env("S", algorithm, environ={"S": "k" * (minimum - 1)})
    assert str(info.value) == (
        f"Environment variable S holds a {minimum - 1}-byte secret; "
        f"{algorithm} needs at least {minimum} bytes"
    )


def test_empty_secret_is_too_short() -> None:
    with pytest.raises(InvalidKeyError, match="holds a 0-byte secret"):
        hmac_secret_from_env("S", environ={"S": ""})


def test_missing_variable() -> None:
    with pytest.raises(InvalidKeyError) as info:
        hmac_secret_from_env("APP_SECRET", environ={})
    assert str(info.value) == "Environment variable APP_SECRET is not set"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("base64url", base64.urlsafe_b64encode(SECRET_32).decode()),
        ("base64url", base64.urlsafe_b64encode(SECRET_32).decode().rstrip("=")),
        ("base64", base64.b64encode(SECRET_32).decode()),
        ("base64", base64.b64encode(SECRET_32).decode() + "\n"),  # as files often end
        ("hex", SECRET_32.hex()),
        ("hex", SECRET_32.hex().upper()),
    ],
)
def test_decodes_encoded_secrets(encoding: str, text: str) -> None:
    assert hmac_secret_from_env("S", encoding=encoding, environ={"S": text}) == SECRET_32


def test_base64url_and_base64_alphabets_differ() -> None:
    secret = b"\xfb\xff" * 24  # encodes with "+" and "/" in base64, "-" and "_" in base64url
    standard = base64.b64encode(secret).decode()
    url = base64.urlsafe_b64encode(secret).decode()
    assert "+" in standard and "-" in url
    assert hmac_secret_from_env("S", encoding="base64url", environ={"S": url}) == secret
    with pytest.raises(InvalidKeyError):
        hmac_secret_from_env("S", encoding="base64url", environ={"S": standard})
    with pytest.raises(InvalidKeyError):
        hmac_secret_from_env("S", encoding="base64", environ={"S": url})


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("base64", "not base64 at all!"),
        ("base64", "QUJD"[:3]),  # bad padding
        ("base64url", "abc$def"),
        ("base64url", "a"),  # a length no encoder produces
        ("hex", "zz" * 32),
        ("hex", "abc"),
        ("utf-8", "\ud800" * 40),  # not text a process environment can hold
    ],
)
def test_undecodable_secret_does_not_leak_into_the_message(encoding: str, text: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        hmac_secret_from_env("S", encoding=encoding, environ={"S": text})
    assert str(info.value) == f"Environment variable S is not valid {encoding}"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_short_secret_does_not_leak_into_the_message() -> None:
    with pytest.raises(InvalidKeyError) as info:
        hmac_secret_from_env("S", environ={"S": "hunter2"})
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "none", "hs256", "HS1024"])
def test_unknown_algorithm(algorithm: str) -> None:
    with pytest.raises(InvalidKeyError, match="is not an HMAC algorithm"):
        hmac_secret_from_env("S", algorithm, environ={"S": "k" * 64})


def test_unknown_encoding() -> None:
    with pytest.raises(ValueError, match="Unknown encoding 'base32'"):
        hmac_secret_from_env("S", encoding="base32", environ={"S": "k" * 64})


# --- KeyRing with HMAC secrets ---


def hmac_ring() -> KeyRing:
    return KeyRing({"2024": b"a" * 32, "2025": b"b" * 32}, current="2025")


def test_ring_selects_keys_by_kid() -> None:
    ring = hmac_ring()
    assert ring.algorithm == "HS256"
    assert ring.current_kid == "2025"
    assert ring.signing_key == b"b" * 32
    assert ring.signer() == ("2025", b"b" * 32)
    assert ring.verification_key("2024") == b"a" * 32
    assert ring.verification_key("2025") == b"b" * 32
    assert ring.kids == ["2024", "2025"]
    assert list(ring) == ["2024", "2025"]
    assert len(ring) == 2
    assert "2024" in ring and "2023" not in ring
    assert "2025" in repr(ring) and "bbbb" not in repr(ring)


@pytest.mark.parametrize("kid", [None, "2023", "", 2024, ["2024"], {"k": 1}])
def test_unknown_kid(kid: object) -> None:
    with pytest.raises(InvalidTokenError) as info:
        hmac_ring().verification_key(kid)  # type: ignore[arg-type]
    assert str(info.value) == "Unknown key id"


def test_rotation_keeps_old_keys_verifying_until_removed() -> None:
    ring = hmac_ring()
    ring.add("2026", b"c" * 32)
    assert ring.current_kid == "2025"  # adding does not rotate
    assert ring.verification_key("2026") == b"c" * 32
    ring.rotate("2026")
    assert ring.signer() == ("2026", b"c" * 32)
    assert ring.verification_key("2025") == b"b" * 32
    ring.remove("2025")
    with pytest.raises(InvalidTokenError, match="Unknown key id"):
        ring.verification_key("2025")
    with pytest.raises(ValueError, match="no signing key"):
        ring.rotate("2025")


def test_rotate_can_add_the_key() -> None:
    ring = hmac_ring()
    ring.rotate("2026", b"c" * 32)
    assert ring.signer() == ("2026", b"c" * 32)


def test_ring_refuses_inconsistent_changes() -> None:
    ring = hmac_ring()
    with pytest.raises(ValueError, match="already in the ring"):
        ring.add("2024", b"z" * 32)  # replacing key material under a kid breaks its tokens
    assert ring.verification_key("2024") == b"a" * 32
    with pytest.raises(ValueError, match="rotate to another first"):
        ring.remove("2025")
    with pytest.raises(KeyError):
        ring.remove("1999")
    with pytest.raises(ValueError, match="not in keys"):
        KeyRing({"a": b"a" * 32}, current="b")
    with pytest.raises(ValueError, match="non-empty strings"):
        KeyRing({"": b"a" * 32}, current="")
    with pytest.raises(ValueError, match="non-empty strings"):
        ring.add(7, b"c" * 32)  # type: ignore[arg-type]


# --- asymmetric keys ---


@pytest.mark.parametrize(("algorithm", "private_file", "public_file"), ASYMMETRIC)
def test_ring_verifies_with_the_public_half_of_private_pem(
    algorithm: str, private_file: str, public_file: str
) -> None:
    ring = KeyRing({"k1": read_key(private_file)}, "k1", algorithm)
    token = turbojwt.encode({"sub": "alice"}, ring.signing_key, algorithm)
    verifier = ring.verification_key("k1")
    assert verifier != read_key(private_file)
    assert turbojwt.decode(token, verifier, algorithms=[algorithm]) == {"sub": "alice"}
    # and the public PEM the ring was not given agrees
    assert turbojwt.decode(token, read_key(public_file), algorithms=[algorithm])


@pytest.mark.parametrize(("algorithm", "private_file", "public_file"), ASYMMETRIC)
def test_verify_keys_override(algorithm: str, private_file: str, public_file: str) -> None:
    public = read_key(public_file)
    ring = KeyRing(
        {"k1": read_key(private_file)},
        "k1",
        algorithm,
        verify_keys={"k1": public, "old": public.decode()},
    )
    assert ring.verification_key("k1") is public
    assert ring.verification_key("old") == public.decode()  # verify-only kid
    assert ring.kids == ["k1", "old"]
    with pytest.raises(ValueError, match="no signing key"):
        ring.rotate("old")


@pytest.mark.parametrize(("algorithm", "private_file", "public_file"), ASYMMETRIC)
def test_public_key_text_is_its_own_verification_key(
    algorithm: str, private_file: str, public_file: str
) -> None:
    public = read_key(public_file)
    assert verification_key_for(public, algorithm) is public
    assert verification_key_for(public.decode(), algorithm) == public.decode()


@pytest.mark.parametrize(("algorithm", "private_file", "public_file"), ASYMMETRIC)
def test_native_private_key_reduces_to_its_public_key(
    algorithm: str, private_file: str, public_file: str
) -> None:
    private = NativeKey.from_pem(read_key(private_file))
    public = verification_key_for(private, algorithm)
    assert isinstance(public, NativeKey)
    assert not public.is_private
    assert public.jwk_components() == NativeKey.from_pem(read_key(public_file)).jwk_components()
    token = turbojwt.encode({"n": 1}, read_key(private_file), algorithm)
    assert turbojwt.decode(token, public, algorithms=[algorithm]) == {"n": 1}


def test_hmac_secrets_are_their_own_verification_keys() -> None:
    secret = b"s" * 32
    assert verification_key_for(secret, "HS256") is secret
    assert verification_key_for("PRIVATE KEY" * 4, "HS512") == "PRIVATE KEY" * 4


def test_cryptography_private_keys_reduce_to_public_keys() -> None:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    private_keys = [
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ]
    for algorithm, private in private_keys:
        ring = KeyRing({"k": private}, "k", algorithm)
        public = ring.verification_key("k")
        assert public == private.public_key()
        token = turbojwt.encode({"alg": algorithm}, ring.signing_key, algorithm)
        assert turbojwt.decode(token, public, algorithms=[algorithm]) == {"alg": algorithm}
