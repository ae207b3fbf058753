"""Signing algorithms, with PyJWT's classes and behaviour.

The classes are PyJWT's interface (``prepare_key``, ``sign``, ``verify``, ``to_jwk``,
``from_jwk`` ...). When one of them sits in a ``PyJWS`` registry, ``decode``/``encode`` do not
call these methods: the Rust core recognises the class and does the work natively, with the
key vetted once and cached. A user's own ``Algorithm`` subclass is called through its methods.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os  # noqa: F401 - PyJWT's module namespace
import re
import sys
from abc import ABC, abstractmethod
from typing import (  # noqa: F401 - PyJWT's module namespace
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    NoReturn,
    Union,
    cast,
    get_args,
    overload,
)

from . import _turbojwt
from .exceptions import InvalidKeyError, JWKMemberError, KeyTypeError, UnsupportedJWKAlgorithmError
from .types import HashlibHash, JWKDict
from .utils import (  # noqa: F401 - PyJWT's module namespace re-exports some of these
    base64url_decode,
    base64url_encode,
    der_to_raw_signature,
    force_bytes,
    from_base64url_uint,
    is_pem_format,
    is_ssh_key,
    raw_to_der_signature,
    to_base64url_uint,
)

try:
    import cryptography  # noqa: F401

    has_crypto = True
except ImportError:  # pragma: no cover - exercised in the no-cryptography CI job
    has_crypto = False

requires_cryptography = {
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES256K",
    "ES384",
    "ES521",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
}

_JWK_SECRET_MESSAGE = (
    "The specified key looks like a JWK and should not be used directly as an HMAC secret. "
    "Load it via PyJWK / HMACAlgorithm.from_jwk first."
)
_ASYMMETRIC_SECRET_MESSAGE = (
    "The specified key is an asymmetric key or x509 certificate and should not be used as an "
    "HMAC secret."
)


class Algorithm(ABC):
    """The interface for an algorithm used to sign and verify tokens."""

    _crypto_key_types: tuple[type[Any], ...] | None = None

    def compute_hash_digest(self, bytestr: bytes) -> bytes:
        """Hash ``bytestr`` with this algorithm's hash; ``NotImplementedError`` if it has none."""
        hash_alg = getattr(self, "hash_alg", None)
        if hash_alg is None:
            raise NotImplementedError
        if has_crypto:
            from cryptography.hazmat.primitives import hashes

            if isinstance(hash_alg, type) and issubclass(hash_alg, hashes.HashAlgorithm):
                digest = hashes.Hash(hash_alg())
                digest.update(bytestr)
                return bytes(digest.finalize())
        return bytes(hash_alg(bytestr).digest())

    def check_crypto_key_type(self, key: Any) -> None:
        """Raise ``InvalidKeyError`` if ``key`` is not of this algorithm's key family."""
        if not has_crypto or self._crypto_key_types is None:
            raise ValueError(
                "This method requires the cryptography library, and should only be used by "
                "cryptography-based algorithms."
            )
        if not isinstance(key, self._crypto_key_types):
            valid_classes = (cls.__name__ for cls in self._crypto_key_types)
            raise InvalidKeyError(
                f"Expected one of {valid_classes}, got: {key.__class__.__name__}. "
                f"Invalid Key type for {self.__class__.__name__}"
            )

    @abstractmethod
    def prepare_key(self, key: Any) -> Any:
        """Validate and convert ``key`` into what ``sign``/``verify`` take."""

    @abstractmethod
    def sign(self, msg: bytes, key: Any) -> bytes:
        """The signature of ``msg`` under ``key``."""

    @abstractmethod
    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        """Whether ``sig`` is a valid signature of ``msg`` under ``key``."""

    @overload
    @staticmethod
    @abstractmethod
    def to_jwk(key_obj: Any, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    @abstractmethod
    def to_jwk(key_obj: Any, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    @abstractmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> JWKDict | str:
        """Serialise ``key_obj`` as a JWK."""

    @staticmethod
    @abstractmethod
    def from_jwk(jwk: str | JWKDict) -> Any:
        """Load a key from a JWK."""

    def check_key_length(self, key: Any) -> str | None:
        """A warning message if ``key`` is shorter than recommended, else ``None``."""
        return None


class NoneAlgorithm(Algorithm):
    """``alg: none``: signs with an empty signature and never verifies."""

    def prepare_key(self, key: str | None) -> None:
        if key == "":
            key = None
        if key is not None:
            raise InvalidKeyError('When alg = "none", key value must be None.')
        return key

    def sign(self, msg: bytes, key: None) -> bytes:
        return b""

    def verify(self, msg: bytes, key: None, sig: bytes) -> bool:
        return False

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> NoReturn:
        raise NotImplementedError()

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> NoReturn:
        raise UnsupportedJWKAlgorithmError()


class HMACAlgorithm(Algorithm):
    """HMAC with SHA-256/384/512 (HS256/HS384/HS512)."""

    SHA256: ClassVar[HashlibHash] = hashlib.sha256
    SHA384: ClassVar[HashlibHash] = hashlib.sha384
    SHA512: ClassVar[HashlibHash] = hashlib.sha512

    def __init__(self, hash_alg: HashlibHash) -> None:
        self.hash_alg = hash_alg

    def prepare_key(self, key: str | bytes) -> bytes:
        try:
            key_bytes = force_bytes(key)
        except TypeError as error:
            raise KeyTypeError(str(error)) from None
        _vet_hmac_secret(key_bytes)
        return key_bytes

    @overload
    @staticmethod
    def to_jwk(key_obj: str | bytes, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: str | bytes, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: str | bytes, as_dict: bool = False) -> JWKDict | str:
        jwk = {"k": base64url_encode(force_bytes(key_obj)).decode(), "kty": "oct"}
        return jwk if as_dict else json.dumps(jwk)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> bytes:
        try:
            if isinstance(jwk, str):
                obj: JWKDict = json.loads(jwk)
            elif isinstance(jwk, dict):
                obj = jwk
            else:
                raise ValueError
        except ValueError:
            raise InvalidKeyError("Key is not valid JSON") from None
        if obj.get("kty") != "oct":
            raise InvalidKeyError("Not an HMAC key")
        if "k" not in obj:
            raise JWKMemberError("k")
        key_bytes = base64url_decode(obj["k"])
        if not key_bytes:
            raise InvalidKeyError("HMAC key must not be empty.")
        return key_bytes

    def check_key_length(self, key: bytes) -> str | None:
        hash_obj = self.hash_alg()
        if len(key) < hash_obj.digest_size:
            return (
                f"The HMAC key is {len(key)} bytes long, which is below the minimum recommended "
                f"length of {hash_obj.digest_size} bytes for {hash_obj.name.upper()}. "
                "See RFC 7518 Section 3.2."
            )
        return None

    def sign(self, msg: bytes, key: bytes) -> bytes:
        name = _NATIVE_HASHES.get(self.hash_alg)
        if name is None:
            return hmac.new(key, msg, self.hash_alg).digest()
        return _turbojwt.hmac_sign(name, key, msg)

    def verify(self, msg: bytes, key: bytes, sig: bytes) -> bool:
        name = _NATIVE_HASHES.get(self.hash_alg)
        if name is None:
            return hmac.compare_digest(sig, self.sign(msg, key))
        return _turbojwt.hmac_verify(name, key, msg, sig)


_NATIVE_HASHES: dict[Any, str] = {
    hashlib.sha256: "SHA256",
    hashlib.sha384: "SHA384",
    hashlib.sha512: "SHA512",
}


def _vet_hmac_secret(key_bytes: bytes) -> None:
    """Refuse secrets PyJWT refuses: empty, asymmetric key material, or JWK JSON.

    The Rust core calls this once per distinct secret, before caching the prepared key.
    """
    if not key_bytes:
        raise InvalidKeyError("HMAC key must not be empty.")
    if is_pem_format(key_bytes) or is_ssh_key(key_bytes) or _is_der_public_key(key_bytes):
        raise InvalidKeyError(_ASYMMETRIC_SECRET_MESSAGE)
    if _looks_like_jwk(key_bytes):
        raise InvalidKeyError(_JWK_SECRET_MESSAGE)


def _is_der_public_key(key_bytes: bytes) -> bool:
    """A DER public key (SubjectPublicKeyInfo or PKCS#1) or X.509 certificate."""
    if not has_crypto:
        # The Rust parsers tell the same shapes apart without cryptography.
        try:
            return not _turbojwt.NativeKey.from_der(key_bytes).is_private
        except ValueError:
            return False
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    for loader in (load_der_public_key, x509.load_der_x509_certificate):
        try:
            loader(key_bytes)
        except (TypeError, ValueError, UnsupportedAlgorithm):
            continue
        return True
    return False


# A JSON string literal followed by a colon: an object member name.
_MEMBER_NAME = re.compile(r'"(?:[^"\\]|\\.)*"\s*:', re.DOTALL)


def _looks_like_jwk(key_bytes: bytes) -> bool:
    """Whether the secret is JSON with a ``kty`` member at any depth."""
    try:
        document = json.loads(key_bytes, parse_int=lambda _: 0)
    except RecursionError:
        # Too deep for the parser: judge the text. An object, or an array naming `kty`.
        try:
            text = key_bytes.decode(json.detect_encoding(key_bytes), errors="surrogatepass")
        except UnicodeError:
            return False
        stripped = text.lstrip("\ufeff \t\r\n")
        return stripped.startswith("{") or (stripped.startswith("[") and _names_kty_member(text))
    except ValueError:
        return False
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if "kty" in node:
                return True
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


def _names_kty_member(text: str) -> bool:
    for match in _MEMBER_NAME.finditer(text):
        literal = match.group(0).rstrip(" \t\r\n:")
        try:
            if json.loads(literal) == "kty":
                return True
        except ValueError:
            continue
    return False


if has_crypto:
    # The names PyJWT's module imports from cryptography, as the same objects.
    from cryptography import x509  # noqa: F401
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm  # noqa: F401
    from cryptography.hazmat.backends import default_backend  # noqa: F401
    from cryptography.hazmat.primitives import hashes  # noqa: F401
    from cryptography.hazmat.primitives.asymmetric import padding  # noqa: F401
    from cryptography.hazmat.primitives.asymmetric.ec import (  # noqa: F401
        ECDSA,
        SECP256K1,
        SECP256R1,
        SECP384R1,
        SECP521R1,
        EllipticCurve,
        EllipticCurvePrivateKey,
        EllipticCurvePrivateNumbers,
        EllipticCurvePublicKey,
        EllipticCurvePublicNumbers,
    )
    from cryptography.hazmat.primitives.asymmetric.ed448 import (  # noqa: F401
        Ed448PrivateKey,
        Ed448PublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: F401
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.rsa import (  # noqa: F401
        RSAPrivateKey,
        RSAPrivateNumbers,
        RSAPublicKey,
        RSAPublicNumbers,
        rsa_crt_dmp1,
        rsa_crt_dmq1,
        rsa_crt_iqmp,
        rsa_recover_prime_factors,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: F401
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        load_der_public_key,
        load_pem_private_key,
        load_pem_public_key,
        load_ssh_public_key,
    )

    if sys.version_info >= (3, 10):
        from typing import TypeAlias  # noqa: F401

    from ._asymmetric import (
        AllowedECKeys,
        AllowedKeys,
        AllowedOKPKeys,
        AllowedPrivateKeys,
        AllowedPublicKeys,
        AllowedRSAKeys,
        ECAlgorithm,
        OKPAlgorithm,
        RSAAlgorithm,
        RSAPSSAlgorithm,
    )
else:  # pragma: no cover - exercised in the no-cryptography CI job
    if sys.version_info >= (3, 11):
        from typing import Never  # noqa: F401 - PyJWT's module namespace

    # Keys are turbojwt NativeKey objects, parsed by the Rust core.
    from ._native_algorithms import (  # type: ignore[assignment]
        SECP256K1,
        SECP256R1,
        SECP384R1,
        SECP521R1,
        AllowedECKeys,
        AllowedKeys,
        AllowedOKPKeys,
        AllowedPrivateKeys,
        AllowedPublicKeys,
        AllowedRSAKeys,
        ECAlgorithm,
        OKPAlgorithm,
        RSAAlgorithm,
        RSAPSSAlgorithm,
    )


def get_default_algorithms() -> dict[str, Algorithm]:
    """A new dict of new instances of all 16 algorithms, with or without ``cryptography``."""
    default_algorithms: dict[str, Algorithm] = {
        "none": NoneAlgorithm(),
        "HS256": HMACAlgorithm(HMACAlgorithm.SHA256),
        "HS384": HMACAlgorithm(HMACAlgorithm.SHA384),
        "HS512": HMACAlgorithm(HMACAlgorithm.SHA512),
    }
    default_algorithms.update(
        {
            "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
            "RS384": RSAAlgorithm(RSAAlgorithm.SHA384),
            "RS512": RSAAlgorithm(RSAAlgorithm.SHA512),
            "ES256": ECAlgorithm(ECAlgorithm.SHA256, SECP256R1),
            "ES256K": ECAlgorithm(ECAlgorithm.SHA256, SECP256K1),
            "ES384": ECAlgorithm(ECAlgorithm.SHA384, SECP384R1),
            "ES521": ECAlgorithm(ECAlgorithm.SHA512, SECP521R1),
            "ES512": ECAlgorithm(ECAlgorithm.SHA512, SECP521R1),
            "PS256": RSAPSSAlgorithm(RSAPSSAlgorithm.SHA256),
            "PS384": RSAPSSAlgorithm(RSAPSSAlgorithm.SHA384),
            "PS512": RSAPSSAlgorithm(RSAPSSAlgorithm.SHA512),
            "EdDSA": OKPAlgorithm(),
        }
    )
    return default_algorithms


__all__ = [
    "Algorithm",
    "AllowedECKeys",
    "AllowedKeys",
    "AllowedOKPKeys",
    "AllowedPrivateKeys",
    "AllowedPublicKeys",
    "AllowedRSAKeys",
    "ECAlgorithm",
    "HMACAlgorithm",
    "NoneAlgorithm",
    "OKPAlgorithm",
    "RSAAlgorithm",
    "RSAPSSAlgorithm",
    "get_default_algorithms",
    "has_crypto",
    "requires_cryptography",
]
