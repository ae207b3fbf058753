"""RS*, PS*, ES* and EdDSA without ``cryptography``: keys are turbojwt ``NativeKey`` objects.

With ``cryptography`` installed, ``turbojwt.algorithms`` uses ``_asymmetric``, whose classes
return ``cryptography`` key objects exactly as PyJWT's do. Without it, PyJWT has no
asymmetric algorithms at all; turbojwt has these, with the same interface and messages
where PyJWT has one, and keys parsed by the Rust core (PEM, OpenSSH, JWK).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal, overload

from ._turbojwt import NativeKey
from .algorithms import Algorithm
from .exceptions import InvalidKeyError
from .types import JWKDict
from .utils import base64url_encode, force_bytes

AllowedRSAKeys = NativeKey
AllowedECKeys = NativeKey
AllowedOKPKeys = NativeKey
AllowedKeys = NativeKey
AllowedPrivateKeys = NativeKey
AllowedPublicKeys = NativeKey

# Curves by their JWK names (what `ECAlgorithm.expected_curve` holds here).
SECP256R1 = "P-256"
SECP256K1 = "secp256k1"
SECP384R1 = "P-384"
SECP521R1 = "P-521"
_OPENSSL_CURVE_NAMES = {
    SECP256R1: "secp256r1",
    SECP256K1: "secp256k1",
    SECP384R1: "secp384r1",
    SECP521R1: "secp521r1",
}
_EC_ALGORITHMS = {
    ("SHA256", SECP256R1): "ES256",
    ("SHA256", SECP256K1): "ES256K",
    ("SHA384", SECP384R1): "ES384",
    ("SHA512", SECP521R1): "ES512",
}


def _jwk_object(jwk: str | JWKDict) -> JWKDict:
    try:
        if isinstance(jwk, str):
            obj = json.loads(jwk)
        elif isinstance(jwk, dict):
            obj = jwk
        else:
            raise ValueError
    except ValueError:
        raise InvalidKeyError("Key is not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidKeyError("Key is not valid JSON")
    return obj


def _key_from_jwk(jwk: str | JWKDict, kty: str, refusal: str) -> NativeKey:
    obj = _jwk_object(jwk)
    if obj.get("kty") != kty:
        raise InvalidKeyError(refusal)
    if "oth" in obj:
        raise InvalidKeyError("Unsupported RSA private key: > 2 primes not supported")
    members = {name: value for name, value in obj.items() if isinstance(value, str)}
    try:
        return NativeKey.from_jwk(members)
    except ValueError as error:
        raise InvalidKeyError(f"Unable to construct key from JWK: {error}") from None


def _jwk_of(key: NativeKey, fields: dict[str, Any], as_dict: bool) -> JWKDict | str:
    for name, value in key.jwk_components().items():
        fields[name] = base64url_encode(value).decode()
    return fields if as_dict else json.dumps(fields)


class _NativeAlgorithm(Algorithm):
    """Shared steps: accept a ``NativeKey`` of the right family, or load one from text."""

    _kty: ClassVar[str]

    @property
    def _jws_name(self) -> str:
        raise NotImplementedError

    def _load(self, key_bytes: bytes) -> NativeKey:
        raise NotImplementedError

    def _check(self, key: NativeKey) -> None:
        if key.kty != self._kty:
            raise InvalidKeyError(
                f"Expected a {self._kty} key, got: {key.kty} key. "
                f"Invalid Key type for {type(self).__name__}"
            )

    def prepare_key(self, key: Any) -> NativeKey:
        if isinstance(key, NativeKey):
            self._check(key)
            return key
        if not isinstance(key, (str, bytes)):
            raise TypeError("Expecting a PEM-formatted key.")
        native = self._load(force_bytes(key))
        self._check(native)
        return native

    def compute_hash_digest(self, bytestr: bytes) -> bytes:
        hash_name = getattr(self, "hash_alg", None)
        if hash_name is None:  # EdDSA has no separate hash
            raise NotImplementedError
        return hashlib.new(str(hash_name).lower(), bytestr).digest()

    def sign(self, msg: bytes, key: NativeKey) -> bytes:
        if not key.is_private:
            raise InvalidKeyError("Signing needs a private key.")
        return key.sign(self._jws_name, force_bytes(msg))

    def verify(self, msg: bytes, key: NativeKey, sig: bytes) -> bool:
        try:
            return key.verify(self._jws_name, force_bytes(msg), sig)
        except TypeError:
            return False


class RSAAlgorithm(_NativeAlgorithm):
    """RSASSA-PKCS1-v1_5 with SHA-256/384/512 (RS256/RS384/RS512)."""

    SHA256: ClassVar[str] = "SHA256"
    SHA384: ClassVar[str] = "SHA384"
    SHA512: ClassVar[str] = "SHA512"
    _MIN_KEY_SIZE: ClassVar[int] = 2048
    _kty = "RSA"
    _prefix: ClassVar[str] = "RS"

    def __init__(self, hash_alg: str) -> None:
        self.hash_alg = hash_alg

    @property
    def _jws_name(self) -> str:
        return f"{self._prefix}{self.hash_alg[3:]}"

    def _load(self, key_bytes: bytes) -> NativeKey:
        try:
            if key_bytes.startswith(b"ssh-rsa"):
                return NativeKey.from_openssh(key_bytes)
            key = NativeKey.from_pem(key_bytes)
        except ValueError:
            raise InvalidKeyError("Could not parse the provided public key.") from None
        if key.encoding == "certificate":
            raise InvalidKeyError("Could not parse the provided public key.")
        return key

    def verify(self, msg: bytes, key: NativeKey, sig: bytes) -> bool:
        if key.is_private:
            # PyJWT verifies with `key.verify`, which RSA private keys lack.
            raise AttributeError("'RSAPrivateKey' object has no attribute 'verify'")
        return super().verify(msg, key, sig)

    def check_key_length(self, key: NativeKey) -> str | None:
        bits = key.key_size or 0
        if bits < self._MIN_KEY_SIZE:
            return (
                f"The RSA key is {bits} bits long, which is below the minimum recommended size "
                f"of {self._MIN_KEY_SIZE} bits. See NIST SP 800-131A."
            )
        return None

    @overload
    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: bool = False) -> JWKDict | str:
        if key_obj.kty != "RSA":
            raise InvalidKeyError("Not a public or private key")
        fields: dict[str, Any] = {
            "key_ops": ["sign"] if key_obj.is_private else ["verify"],
            "kty": "RSA",
        }
        return _jwk_of(key_obj, fields, as_dict)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> NativeKey:
        return _key_from_jwk(jwk, "RSA", "Not an RSA key")


class RSAPSSAlgorithm(RSAAlgorithm):
    """RSASSA-PSS, MGF1 and a salt as long as the digest (PS256/PS384/PS512)."""

    _prefix = "PS"


class ECAlgorithm(_NativeAlgorithm):
    """ECDSA with raw ``r || s`` signatures (ES256, ES256K, ES384, ES512)."""

    SHA256: ClassVar[str] = "SHA256"
    SHA384: ClassVar[str] = "SHA384"
    SHA512: ClassVar[str] = "SHA512"
    _kty = "EC"

    def __init__(self, hash_alg: str, expected_curve: str | None = None) -> None:
        self.hash_alg = hash_alg
        self.expected_curve = expected_curve

    @property
    def _jws_name(self) -> str:
        curve = self.expected_curve
        if curve is None:
            curve = {"SHA256": SECP256R1, "SHA384": SECP384R1, "SHA512": SECP521R1}[self.hash_alg]
        return _EC_ALGORITHMS[(self.hash_alg, curve)]

    def _load(self, key_bytes: bytes) -> NativeKey:
        try:
            if key_bytes.startswith(b"ecdsa-sha2-"):
                return NativeKey.from_openssh(key_bytes)
            return NativeKey.from_pem(key_bytes)
        except ValueError as error:
            raise InvalidKeyError(f"Could not parse the provided key: {error}") from None

    def _check(self, key: NativeKey) -> None:
        super()._check(key)
        if self.expected_curve is not None and key.curve != self.expected_curve:
            actual = _OPENSSL_CURVE_NAMES.get(key.curve or "", key.curve)
            raise InvalidKeyError(
                f"The key's curve '{actual}' does not match the expected curve "
                f"'{_OPENSSL_CURVE_NAMES[self.expected_curve]}' for this algorithm"
            )

    @overload
    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: bool = False) -> JWKDict | str:
        if key_obj.kty != "EC":
            raise InvalidKeyError("Not a public or private key")
        return _jwk_of(key_obj, {"kty": "EC", "crv": key_obj.curve}, as_dict)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> NativeKey:
        return _key_from_jwk(jwk, "EC", "Not an Elliptic curve key")


class OKPAlgorithm(_NativeAlgorithm):
    """EdDSA with Ed25519 or Ed448, whichever the key is."""

    _kty = "OKP"

    def __init__(self, **kwargs: Any) -> None:
        pass

    @property
    def _jws_name(self) -> str:
        return "EdDSA"

    def _load(self, key_bytes: bytes) -> NativeKey:
        text = key_bytes.decode("utf-8")
        try:
            if "-----BEGIN PUBLIC" in text or "-----BEGIN PRIVATE" in text:
                return NativeKey.from_pem(key_bytes)
            if text.startswith("ssh-"):
                return NativeKey.from_openssh(key_bytes)
        except ValueError:
            pass
        raise InvalidKeyError("Not a public or private key")

    @overload
    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: NativeKey, as_dict: bool = False) -> JWKDict | str:
        if key_obj.kty != "OKP":
            raise InvalidKeyError("Not a public or private key")
        return _jwk_of(key_obj, {"kty": "OKP", "crv": key_obj.curve}, as_dict)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> NativeKey:
        return _key_from_jwk(jwk, "OKP", "Not an Octet Key Pair")


__all__ = [
    "SECP256K1",
    "SECP256R1",
    "SECP384R1",
    "SECP521R1",
    "AllowedECKeys",
    "AllowedKeys",
    "AllowedOKPKeys",
    "AllowedPrivateKeys",
    "AllowedPublicKeys",
    "AllowedRSAKeys",
    "ECAlgorithm",
    "OKPAlgorithm",
    "RSAAlgorithm",
    "RSAPSSAlgorithm",
]
