"""RSA, RSA-PSS, ECDSA and EdDSA algorithms, built on ``cryptography``.

``algorithms`` imports this module only when ``cryptography`` is installed. Keys go in and come
out as ``cryptography`` key objects, as PyJWT's do, and every result, exception and message is
PyJWT's, including the builtin exceptions that escape on some bad keys.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union, cast, overload

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ec import (
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
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey, Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import (
    RSAPrivateKey,
    RSAPrivateNumbers,
    RSAPublicKey,
    RSAPublicNumbers,
    rsa_crt_dmp1,
    rsa_crt_dmq1,
    rsa_crt_iqmp,
    rsa_recover_prime_factors,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
    load_ssh_public_key,
)

# `algorithms` imports this module at its end, once `Algorithm` exists.
from .algorithms import Algorithm
from .exceptions import InvalidKeyError
from .types import JWKDict
from .utils import (
    base64url_decode,
    base64url_encode,
    der_to_raw_signature,
    force_bytes,
    from_base64url_uint,
    raw_to_der_signature,
    to_base64url_uint,
)

if TYPE_CHECKING:
    from typing import TypeAlias

    from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

__all__ = [
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

AllowedRSAKeys: TypeAlias = Union[RSAPrivateKey, RSAPublicKey]
AllowedECKeys: TypeAlias = Union[EllipticCurvePrivateKey, EllipticCurvePublicKey]
AllowedOKPKeys: TypeAlias = Union[
    Ed25519PrivateKey, Ed25519PublicKey, Ed448PrivateKey, Ed448PublicKey
]
AllowedKeys: TypeAlias = Union[AllowedRSAKeys, AllowedECKeys, AllowedOKPKeys]
#: The ``cryptography`` private key types the algorithms accept.
AllowedPrivateKeys: TypeAlias = Union[
    RSAPrivateKey, EllipticCurvePrivateKey, Ed25519PrivateKey, Ed448PrivateKey
]
#: The ``cryptography`` public key types the algorithms accept.
AllowedPublicKeys: TypeAlias = Union[
    RSAPublicKey, EllipticCurvePublicKey, Ed25519PublicKey, Ed448PublicKey
]


def _jwk_object(jwk: str | JWKDict) -> Any:
    """The parsed JWK: a dict given as is, or JSON text decoded (to whatever it holds)."""
    try:
        if isinstance(jwk, str):
            return json.loads(jwk)
        if isinstance(jwk, dict):
            return jwk
        raise ValueError
    except ValueError:
        raise InvalidKeyError("Key is not valid JSON") from None


def _dump_jwk(obj: JWKDict, as_dict: bool) -> JWKDict | str:
    return obj if as_dict else json.dumps(obj)


class RSAAlgorithm(Algorithm):
    """RSASSA-PKCS1-v1_5 with SHA-256/384/512 (RS256/RS384/RS512)."""

    SHA256: ClassVar[type[hashes.HashAlgorithm]] = hashes.SHA256
    SHA384: ClassVar[type[hashes.HashAlgorithm]] = hashes.SHA384
    SHA512: ClassVar[type[hashes.HashAlgorithm]] = hashes.SHA512

    _crypto_key_types: tuple[type[Any], ...] = (RSAPrivateKey, RSAPublicKey)
    _MIN_KEY_SIZE: ClassVar[int] = 2048

    def __init__(self, hash_alg: type[hashes.HashAlgorithm]) -> None:
        self.hash_alg = hash_alg

    def check_key_length(self, key: AllowedRSAKeys) -> str | None:
        if key.key_size < self._MIN_KEY_SIZE:
            return (
                f"The RSA key is {key.key_size} bits long, which is below the minimum "
                f"recommended size of {self._MIN_KEY_SIZE} bits. See NIST SP 800-131A."
            )
        return None

    def prepare_key(self, key: AllowedRSAKeys | str | bytes) -> AllowedRSAKeys:
        if isinstance(key, self._crypto_key_types):
            return cast(AllowedRSAKeys, key)
        if not isinstance(key, (bytes, str)):
            raise TypeError("Expecting a PEM-formatted key.")
        return self._load_key(force_bytes(key))

    def _load_key(self, key_bytes: bytes) -> AllowedRSAKeys:
        """An ``ssh-rsa`` line, an unencrypted PEM private key, or else a PEM public key."""
        loaded: PublicKeyTypes | PrivateKeyTypes
        try:
            if key_bytes.startswith(b"ssh-rsa"):
                loaded = load_ssh_public_key(key_bytes)
            else:
                # An encrypted key raises TypeError here, which PyJWT lets escape.
                loaded = load_pem_private_key(key_bytes, password=None)
        except ValueError:
            try:
                loaded = load_pem_public_key(key_bytes)
            except (ValueError, UnsupportedAlgorithm):
                raise InvalidKeyError("Could not parse the provided public key.") from None
            self.check_crypto_key_type(loaded)
            return cast(RSAPublicKey, loaded)
        self.check_crypto_key_type(loaded)
        return cast(AllowedRSAKeys, loaded)

    def _padding(self) -> AsymmetricPadding:
        return padding.PKCS1v15()

    def sign(self, msg: bytes, key: RSAPrivateKey) -> bytes:
        return key.sign(msg, self._padding(), self.hash_alg())

    def verify(self, msg: bytes, key: RSAPublicKey, sig: bytes) -> bool:
        # A private key has no `verify`: the AttributeError escapes, as in PyJWT.
        try:
            key.verify(sig, msg, self._padding(), self.hash_alg())
        except InvalidSignature:
            return False
        return True

    @overload
    @staticmethod
    def to_jwk(key_obj: AllowedRSAKeys, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: AllowedRSAKeys, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: AllowedRSAKeys, as_dict: bool = False) -> JWKDict | str:
        # Duck-typed like PyJWT: what has `private_numbers` is treated as a private key.
        if hasattr(key_obj, "private_numbers"):
            private = key_obj.private_numbers()
            public = private.public_numbers
            obj: JWKDict = {
                "kty": "RSA",
                "key_ops": ["sign"],
                "n": to_base64url_uint(public.n).decode(),
                "e": to_base64url_uint(public.e).decode(),
                "d": to_base64url_uint(private.d).decode(),
                "p": to_base64url_uint(private.p).decode(),
                "q": to_base64url_uint(private.q).decode(),
                "dp": to_base64url_uint(private.dmp1).decode(),
                "dq": to_base64url_uint(private.dmq1).decode(),
                "qi": to_base64url_uint(private.iqmp).decode(),
            }
        elif hasattr(key_obj, "verify"):
            public = key_obj.public_numbers()
            obj = {
                "kty": "RSA",
                "key_ops": ["verify"],
                "n": to_base64url_uint(public.n).decode(),
                "e": to_base64url_uint(public.e).decode(),
            }
        else:
            raise InvalidKeyError("Not a public or private key")
        return _dump_jwk(obj, as_dict)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> AllowedRSAKeys:
        obj = _jwk_object(jwk)
        if obj.get("kty") != "RSA":
            raise InvalidKeyError("Not an RSA key")
        if "d" in obj and "e" in obj and "n" in obj:
            return _rsa_private_key_from_jwk(obj)
        if "n" in obj and "e" in obj:
            return RSAPublicNumbers(
                from_base64url_uint(obj["e"]), from_base64url_uint(obj["n"])
            ).public_key()
        raise InvalidKeyError("Not a public or private key")


_RSA_CRT_MEMBERS = ("p", "q", "dp", "dq", "qi")


def _rsa_private_key_from_jwk(obj: JWKDict) -> RSAPrivateKey:
    if "oth" in obj:
        raise InvalidKeyError("Unsupported RSA private key: > 2 primes not supported")
    present = [member in obj for member in _RSA_CRT_MEMBERS]
    if any(present) and not all(present):
        raise InvalidKeyError("RSA key must include all parameters if any are present besides d")
    public = RSAPublicNumbers(from_base64url_uint(obj["e"]), from_base64url_uint(obj["n"]))
    d = from_base64url_uint(obj["d"])
    if any(present):
        numbers = RSAPrivateNumbers(
            d=d,
            p=from_base64url_uint(obj["p"]),
            q=from_base64url_uint(obj["q"]),
            dmp1=from_base64url_uint(obj["dp"]),
            dmq1=from_base64url_uint(obj["dq"]),
            iqmp=from_base64url_uint(obj["qi"]),
            public_numbers=public,
        )
    else:
        # Only `d` is given: recover the primes and the CRT values from n, e and d.
        p, q = rsa_recover_prime_factors(public.n, d, public.e)
        numbers = RSAPrivateNumbers(
            d=d,
            p=p,
            q=q,
            dmp1=rsa_crt_dmp1(d, p),
            dmq1=rsa_crt_dmq1(d, q),
            iqmp=rsa_crt_iqmp(p, q),
            public_numbers=public,
        )
    return numbers.private_key()


class RSAPSSAlgorithm(RSAAlgorithm):
    """RSASSA-PSS with MGF1 and a salt as long as the digest (PS256/PS384/PS512)."""

    def _padding(self) -> AsymmetricPadding:
        return padding.PSS(
            mgf=padding.MGF1(self.hash_alg()), salt_length=self.hash_alg().digest_size
        )


# JWK `crv` name, curve class and coordinate length in bytes, for the curves JWS uses.
_JWK_CURVES: tuple[tuple[str, type[EllipticCurve], int], ...] = (
    ("P-256", SECP256R1, 32),
    ("P-384", SECP384R1, 48),
    ("P-521", SECP521R1, 66),
    ("secp256k1", SECP256K1, 32),
)


class ECAlgorithm(Algorithm):
    """ECDSA with SHA-256/384/512 (ES256, ES256K, ES384, ES512 and its alias ES521).

    ``expected_curve`` (a curve class), when given, is the only curve a key may be on.
    """

    SHA256: ClassVar[type[hashes.HashAlgorithm]] = hashes.SHA256
    SHA384: ClassVar[type[hashes.HashAlgorithm]] = hashes.SHA384
    SHA512: ClassVar[type[hashes.HashAlgorithm]] = hashes.SHA512

    _crypto_key_types: tuple[type[Any], ...] = (EllipticCurvePrivateKey, EllipticCurvePublicKey)

    def __init__(
        self,
        hash_alg: type[hashes.HashAlgorithm],
        expected_curve: type[EllipticCurve] | None = None,
    ) -> None:
        self.hash_alg = hash_alg
        self.expected_curve = expected_curve

    def _validate_curve(self, key: AllowedECKeys) -> None:
        """Refuse a key on another curve than ``expected_curve``."""
        if self.expected_curve is not None and not isinstance(key.curve, self.expected_curve):
            raise InvalidKeyError(
                f"The key's curve '{key.curve.name}' does not match the expected "
                f"curve '{self.expected_curve.name}' for this algorithm"
            )

    def _vetted(self, key: PublicKeyTypes | PrivateKeyTypes) -> AllowedECKeys:
        self.check_crypto_key_type(key)
        ec_key = cast(AllowedECKeys, key)
        self._validate_curve(ec_key)
        return ec_key

    def prepare_key(self, key: AllowedECKeys | str | bytes) -> AllowedECKeys:
        if isinstance(key, self._crypto_key_types):
            ec_key = cast(AllowedECKeys, key)
            self._validate_curve(ec_key)
            return ec_key
        if not isinstance(key, (bytes, str)):
            raise TypeError("Expecting a PEM-formatted key.")
        return self._load_key(force_bytes(key))

    def _load_key(self, key_bytes: bytes) -> AllowedECKeys:
        """An ``ecdsa-sha2-*`` line or a PEM public key, or else a PEM private key.

        As in PyJWT, the private key loader's ValueError (text that is no key at all) and
        TypeError (an encrypted key) escape.
        """
        try:
            if key_bytes.startswith(b"ecdsa-sha2-"):
                public_key: PublicKeyTypes = load_ssh_public_key(key_bytes)
            else:
                public_key = load_pem_public_key(key_bytes)
            return self._vetted(public_key)
        except ValueError:
            return self._vetted(load_pem_private_key(key_bytes, password=None))

    def sign(self, msg: bytes, key: EllipticCurvePrivateKey) -> bytes:
        der_signature = key.sign(msg, ECDSA(self.hash_alg()))
        return der_to_raw_signature(der_signature, key.curve)

    def verify(self, msg: bytes, key: AllowedECKeys, sig: bytes) -> bool:
        try:
            der_signature = raw_to_der_signature(sig, key.curve)
        except ValueError:
            return False
        public_key = key.public_key() if isinstance(key, EllipticCurvePrivateKey) else key
        try:
            public_key.verify(der_signature, msg, ECDSA(self.hash_alg()))
        except InvalidSignature:
            return False
        return True

    @overload
    @staticmethod
    def to_jwk(key_obj: AllowedECKeys, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: AllowedECKeys, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: AllowedECKeys, as_dict: bool = False) -> JWKDict | str:
        if isinstance(key_obj, EllipticCurvePrivateKey):
            public = key_obj.public_key().public_numbers()
        elif isinstance(key_obj, EllipticCurvePublicKey):
            public = key_obj.public_numbers()
        else:
            raise InvalidKeyError("Not a public or private key")
        curve = key_obj.curve
        crv = next((name for name, cls, _ in _JWK_CURVES if isinstance(curve, cls)), None)
        if crv is None:
            raise InvalidKeyError(f"Invalid curve: {curve}")
        # Fixed-width coordinates, as RFC 7518 section 6.2.1 requires.
        bits = curve.key_size
        obj: JWKDict = {
            "kty": "EC",
            "crv": crv,
            "x": to_base64url_uint(public.x, bit_length=bits).decode(),
            "y": to_base64url_uint(public.y, bit_length=bits).decode(),
        }
        if isinstance(key_obj, EllipticCurvePrivateKey):
            private_value = key_obj.private_numbers().private_value
            obj["d"] = to_base64url_uint(private_value, bit_length=bits).decode()
        return _dump_jwk(obj, as_dict)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> AllowedECKeys:
        obj = _jwk_object(jwk)
        if obj.get("kty") != "EC" or "x" not in obj or "y" not in obj:
            raise InvalidKeyError("Not an Elliptic curve key")
        x = base64url_decode(obj.get("x"))
        y = base64url_decode(obj.get("y"))
        crv = obj.get("crv")
        for name, curve_class, size in _JWK_CURVES:
            if crv == name:
                if not len(x) == len(y) == size:
                    raise InvalidKeyError(f"Coords should be {size} bytes for curve {name}")
                curve = curve_class()
                break
        else:
            raise InvalidKeyError(f"Invalid curve: {crv}")
        public = EllipticCurvePublicNumbers(
            x=int.from_bytes(x, "big"), y=int.from_bytes(y, "big"), curve=curve
        )
        if "d" not in obj:
            return public.public_key()
        d = base64url_decode(obj.get("d"))
        if len(d) != len(x):
            # The arguments stay unformatted: PyJWT's message is this tuple's str().
            raise InvalidKeyError("D should be {} bytes for curve {}", len(x), crv)
        return EllipticCurvePrivateNumbers(int.from_bytes(d, "big"), public).private_key()


_OKPPrivateKey: TypeAlias = Union[Ed25519PrivateKey, Ed448PrivateKey]


class OKPAlgorithm(Algorithm):
    """EdDSA over Ed25519 or Ed448; the key decides the curve."""

    _crypto_key_types: tuple[type[Any], ...] = (
        Ed25519PrivateKey,
        Ed25519PublicKey,
        Ed448PrivateKey,
        Ed448PublicKey,
    )

    def __init__(self, **kwargs: Any) -> None:
        pass

    def prepare_key(self, key: AllowedOKPKeys | str | bytes) -> AllowedOKPKeys:
        if not isinstance(key, (str, bytes)):
            self.check_crypto_key_type(key)
            return key
        return self._load_key(key)

    def _load_key(self, key: str | bytes) -> AllowedOKPKeys:
        """A PEM public key, a PKCS#8 PEM private key or an ``ssh-`` line, told by their text.

        Bytes must be UTF-8: PyJWT lets the UnicodeDecodeError escape.
        """
        key_str = key.decode("utf-8") if isinstance(key, bytes) else key
        key_bytes = key.encode("utf-8") if isinstance(key, str) else key
        loaded: PublicKeyTypes | PrivateKeyTypes
        if "-----BEGIN PUBLIC" in key_str:
            loaded = load_pem_public_key(key_bytes)
        elif "-----BEGIN PRIVATE" in key_str:
            loaded = load_pem_private_key(key_bytes, password=None)
        elif key_str.startswith("ssh-"):
            loaded = load_ssh_public_key(key_bytes)
        else:
            raise InvalidKeyError("Not a public or private key")
        self.check_crypto_key_type(loaded)
        return cast(AllowedOKPKeys, loaded)

    def sign(self, msg: str | bytes, key: _OKPPrivateKey) -> bytes:
        """The EdDSA signature of ``msg`` (a ``str`` is signed as UTF-8)."""
        return key.sign(msg.encode("utf-8") if isinstance(msg, str) else msg)

    def verify(self, msg: str | bytes, key: AllowedOKPKeys, sig: str | bytes) -> bool:
        """Whether ``sig`` is ``msg``'s signature; a private key verifies as its public half."""
        msg_bytes = msg.encode("utf-8") if isinstance(msg, str) else msg
        sig_bytes = sig.encode("utf-8") if isinstance(sig, str) else sig
        public_key = (
            key.public_key() if isinstance(key, (Ed25519PrivateKey, Ed448PrivateKey)) else key
        )
        try:
            public_key.verify(sig_bytes, msg_bytes)
        except InvalidSignature:
            return False
        return True

    # PyJWT names this parameter `key`, not `key_obj`; callers may pass it by name.
    @overload
    @staticmethod
    def to_jwk(key: AllowedOKPKeys, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key: AllowedOKPKeys, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key: AllowedOKPKeys, as_dict: bool = False) -> JWKDict | str:
        if isinstance(key, (Ed25519PublicKey, Ed448PublicKey)):
            obj: JWKDict = {
                "x": _raw_public_bytes(key),
                "kty": "OKP",
                "crv": "Ed25519" if isinstance(key, Ed25519PublicKey) else "Ed448",
            }
        elif isinstance(key, (Ed25519PrivateKey, Ed448PrivateKey)):
            d = key.private_bytes(
                encoding=Encoding.Raw,
                format=PrivateFormat.Raw,
                encryption_algorithm=NoEncryption(),
            )
            obj = {
                "x": _raw_public_bytes(key.public_key()),
                "d": base64url_encode(d).decode(),
                "kty": "OKP",
                "crv": "Ed25519" if isinstance(key, Ed25519PrivateKey) else "Ed448",
            }
        else:
            raise InvalidKeyError("Not a public or private key")
        return _dump_jwk(obj, as_dict)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> AllowedOKPKeys:
        obj = _jwk_object(jwk)
        if obj.get("kty") != "OKP":
            raise InvalidKeyError("Not an Octet Key Pair")
        curve = obj.get("crv")
        if curve != "Ed25519" and curve != "Ed448":
            raise InvalidKeyError(f"Invalid curve: {curve}")
        if "x" not in obj:
            raise InvalidKeyError('OKP should have "x" parameter')
        x = base64url_decode(obj.get("x"))
        try:
            if "d" not in obj:
                if curve == "Ed25519":
                    return Ed25519PublicKey.from_public_bytes(x)
                return Ed448PublicKey.from_public_bytes(x)
            # Inside the `try`: a malformed `d` is an invalid key parameter too.
            d = base64url_decode(obj.get("d"))
            private_key: _OKPPrivateKey
            if curve == "Ed25519":
                private_key = Ed25519PrivateKey.from_private_bytes(d)
            else:
                private_key = Ed448PrivateKey.from_private_bytes(d)
        except ValueError as err:
            raise InvalidKeyError("Invalid key parameter") from err
        if _raw_public_bytes_of(private_key) != x:
            raise InvalidKeyError("Public key does not match private key")
        return private_key


def _raw_public_bytes_of(private_key: _OKPPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(encoding=Encoding.Raw, format=PublicFormat.Raw)


def _raw_public_bytes(public_key: Ed25519PublicKey | Ed448PublicKey) -> str:
    """The key's raw bytes, base64url-encoded, as the JWK ``x`` member holds them."""
    return base64url_encode(
        public_key.public_bytes(encoding=Encoding.Raw, format=PublicFormat.Raw)
    ).decode()


_PRIVATE_KEY_TYPES = (RSAPrivateKey, EllipticCurvePrivateKey, Ed25519PrivateKey, Ed448PrivateKey)
_PUBLIC_KEY_TYPES = (RSAPublicKey, EllipticCurvePublicKey, Ed25519PublicKey, Ed448PublicKey)


def _export_key_der(key: object) -> bytes | None:
    """DER (PKCS#8 or SubjectPublicKeyInfo) of a ``cryptography`` key object, else ``None``.

    The Rust core calls this once per key object, then keeps the parsed native key.
    """
    if isinstance(key, _PRIVATE_KEY_TYPES):
        return key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    if isinstance(key, _PUBLIC_KEY_TYPES):
        return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return None
