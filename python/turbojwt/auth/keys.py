"""Signing keys: HMAC secrets from the environment, and key rings selected by ``kid``.

A ``KeyRing`` lets keys rotate without invalidating the tokens already issued: new tokens
are signed with the current key and carry its ``kid``; a token signed with an older key
still verifies until that key is removed. The ``kid`` header only *selects* one of the
configured keys: key material in a token's header (``jwk``, ``jku``, ``x5c``...) is never
used, so a forger cannot supply the key that verifies the forgery.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Callable

from .._turbojwt import NativeKey
from ..api_jws import get_algorithm_by_name
from ..exceptions import InvalidKeyError, InvalidTokenError
from ..utils import base64url_encode

__all__ = ["KeyRing", "hmac_secret_from_env"]

#: The shortest secret RFC 7518 section 3.2 allows: as long as the hash output.
_HMAC_MINIMUM_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _decode_base64url(value: str) -> bytes:
    if not _BASE64URL.fullmatch(value):
        raise ValueError("not base64url")
    unpadded = value.rstrip("=")
    return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))


_DECODERS: dict[str, Callable[[str], bytes]] = {
    # Environment values arrive decoded with surrogateescape: this restores their bytes.
    "utf-8": lambda value: value.encode("utf-8", "surrogateescape"),
    "base64url": lambda value: _decode_base64url(value.strip()),
    "base64": lambda value: base64.b64decode(value.strip(), validate=True),
    "hex": lambda value: bytes.fromhex(value.strip()),
}


def hmac_secret_from_env(
    name: str,
    algorithm: str = "HS256",
    *,
    encoding: str = "utf-8",
    environ: Mapping[str, str] | None = None,
) -> bytes:
    """The HMAC secret in environment variable ``name``, checked to be long enough.

    ``encoding`` says how the variable spells the secret's bytes: ``"utf-8"`` (the text
    itself), ``"base64url"``, ``"base64"`` or ``"hex"``. A secret shorter than the hash
    (32, 48 or 64 bytes for HS256, HS384 or HS512) raises ``InvalidKeyError``, as does a
    missing or undecodable variable. Messages never include the value.
    """
    minimum = _HMAC_MINIMUM_BYTES.get(algorithm)
    if minimum is None:
        raise InvalidKeyError(f"{algorithm!r} is not an HMAC algorithm (HS256, HS384 or HS512)")
    decode = _DECODERS.get(encoding)
    if decode is None:
        raise ValueError(f"Unknown encoding {encoding!r}: use one of {', '.join(_DECODERS)}")
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        raise InvalidKeyError(f"Environment variable {name} is not set")
    try:
        secret = decode(value)
    except (ValueError, binascii.Error):
        # Not chained: the decoder's exception may quote part of the secret.
        raise InvalidKeyError(f"Environment variable {name} is not valid {encoding}") from None
    if len(secret) < minimum:
        raise InvalidKeyError(
            f"Environment variable {name} holds a {len(secret)}-byte secret; "
            f"{algorithm} needs at least {minimum} bytes"
        )
    return secret


def is_hmac(algorithm: str) -> bool:
    return algorithm.startswith("HS")


def vet_key(key: Any, algorithm: str, *, allow_short_secret: bool, name: str = "key") -> str | None:
    """Refuse a key ``algorithm`` cannot use; return its key-length warning, if any.

    ``InvalidKeyError`` names the problem: ``None``, an empty secret, a value of the wrong
    type, key material of another kind (a PEM key as an HMAC secret, a secret as an RSA
    key...), or an HMAC secret shorter than the hash output (RFC 7518 section 3.2) unless
    ``allow_short_secret``. A short asymmetric key is not refused: its warning is returned.
    ``name`` is how messages call the key (``key``, ``verify_key``, ``key 'kid-1'``).
    """
    if key is None:
        raise InvalidKeyError(f"The {name} is None: {algorithm} needs a key")
    try:
        implementation = get_algorithm_by_name(algorithm)
    except NotImplementedError:
        raise ValueError(f"Unknown algorithm {algorithm!r}") from None
    try:
        prepared = implementation.prepare_key(key)
    except (InvalidKeyError, TypeError, ValueError) as error:
        hint = ""
        if not is_hmac(algorithm) and _looks_like_secret(key):
            hint = (
                f" ({algorithm} needs a PEM, DER or OpenSSH key or a key object; a secret "
                "string is for HS256, HS384 or HS512)"
            )
        # Not chained: the error may quote part of the key.
        raise InvalidKeyError(
            f"The {name} cannot be used with {algorithm}: {error}{hint}"
        ) from None
    message = implementation.check_key_length(prepared)
    minimum = _HMAC_MINIMUM_BYTES.get(algorithm)
    if message is not None and minimum is not None and not allow_short_secret:
        raise InvalidKeyError(
            f"The {name} is a {len(prepared)}-byte HMAC secret; {algorithm} needs at least "
            f"{minimum} bytes (RFC 7518 section 3.2). Use a longer secret, or pass "
            "allow_short_secret=True to accept this one."
        )
    return message


def _looks_like_secret(key: Any) -> bool:
    """A ``str`` or ``bytes`` that is no PEM, OpenSSH or DER key: an HMAC secret, probably."""
    if not isinstance(key, (str, bytes)):
        return False
    text = key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key
    return b"-----BEGIN" not in text and not text.startswith((b"ssh-", b"ecdsa-", b"0"))


def verification_key_for(key: Any, algorithm: str) -> Any:
    """The key that verifies what ``key`` signs: the secret itself, or the public half.

    PyJWT cannot verify with every private key (an RSA private key object has no
    ``verify``), so asymmetric private keys are reduced to their public keys.
    """
    if is_hmac(algorithm):
        return key
    if isinstance(key, (str, bytes)):
        text = key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key
        if b"PRIVATE KEY" not in text:
            return key  # public PEM or OpenSSH text
        key = get_algorithm_by_name(algorithm).prepare_key(key)
    if isinstance(key, NativeKey):
        return _native_public_key(key) if key.is_private else key
    public_key = getattr(key, "public_key", None)
    return public_key() if callable(public_key) else key


def _native_public_key(key: NativeKey) -> NativeKey:
    components = key.jwk_components()
    names = ("n", "e") if key.kty == "RSA" else ("x", "y") if key.kty == "EC" else ("x",)
    members = {name: base64url_encode(components[name]).decode("ascii") for name in names}
    members["kty"] = key.kty
    if key.curve is not None:
        members["crv"] = key.curve
    return NativeKey.from_jwk(members)


class KeyRing:
    """Keys by key id (``kid``): one signs, all verify.

    ``keys`` maps each kid to its key: an HMAC secret, or for asymmetric algorithms a
    private key (needed for the current kid, which signs) or a public one (enough for a kid
    that only verifies). Private keys verify through their public halves; ``verify_keys``
    gives the verification key of a kid explicitly, and may name kids absent from ``keys``.

    Every token issued with a ring carries the ``kid`` of the key that signed it.

    Each key is checked when it is added: a key the algorithm cannot use raises
    ``InvalidKeyError``, as does an HMAC secret shorter than the hash output unless
    ``allow_short_secret`` is true.
    """

    def __init__(
        self,
        keys: Mapping[str, Any],
        current: str,
        algorithm: str = "HS256",
        *,
        verify_keys: Mapping[str, Any] | None = None,
        allow_short_secret: bool = False,
    ) -> None:
        self.algorithm = algorithm
        self.allow_short_secret = allow_short_secret
        #: Whether a key of the ring is shorter than recommended (an accepted short secret,
        #: or a small asymmetric key).
        self.has_short_key = False
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._verify_keys: dict[str, Any] = {}
        for kid, key in keys.items():
            self._put(kid, key, None if verify_keys is None else verify_keys.get(kid))
        for kid, key in (verify_keys or {}).items():
            _check_kid(kid)
            self._vet(key, f"verification key {kid!r}")
            self._verify_keys[kid] = key
        if current not in self._keys:
            raise ValueError(f"The current key id {current!r} is not in keys")
        # One tuple, replaced whole, so readers never see one kid with another's key.
        self._current: tuple[str, Any] = (current, self._keys[current])

    def __repr__(self) -> str:
        return f"KeyRing(kids={self.kids!r}, current={self.current_kid!r}, {self.algorithm!r})"

    def __contains__(self, kid: object) -> bool:
        return kid in self._verify_keys

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._verify_keys))

    def __len__(self) -> int:
        return len(self._verify_keys)

    @property
    def kids(self) -> list[str]:
        """The key ids that verify, in the order they were added."""
        return list(self._verify_keys)

    @property
    def current_kid(self) -> str:
        return self._current[0]

    @property
    def signing_key(self) -> Any:
        return self._current[1]

    def signer(self) -> tuple[str, Any]:
        """``(current_kid, signing_key)``, read together (safe while another thread rotates)."""
        return self._current

    def verification_key(self, kid: str | None) -> Any:
        """The key that verifies tokens with this ``kid``; ``InvalidTokenError`` if none."""
        key = self._verify_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("Unknown key id")
        return key

    def add(self, kid: str, key: Any, *, verify_key: Any | None = None) -> None:
        """Add a key (it verifies at once; ``rotate`` makes it sign)."""
        with self._lock:
            if kid in self._keys or kid in self._verify_keys:
                raise ValueError(f"Key id {kid!r} is already in the ring")
            self._put(kid, key, verify_key)

    def remove(self, kid: str) -> None:
        """Remove a key: tokens signed with it no longer verify."""
        with self._lock:
            if kid == self.current_kid:
                raise ValueError(f"Key id {kid!r} signs new tokens; rotate to another first")
            if kid not in self._verify_keys:
                raise KeyError(kid)
            self._keys.pop(kid, None)
            del self._verify_keys[kid]

    def rotate(self, new_kid: str, key: Any | None = None) -> None:
        """Sign new tokens with ``new_kid`` (added first when ``key`` is given).

        The previous key keeps verifying until it is removed, so tokens already issued stay
        valid through their lifetime.
        """
        if key is not None:
            self.add(new_kid, key)
        with self._lock:
            if new_kid not in self._keys:
                raise ValueError(f"Key id {new_kid!r} has no signing key in the ring")
            self._current = (new_kid, self._keys[new_kid])

    def _vet(self, key: Any, name: str) -> None:
        message = vet_key(
            key, self.algorithm, allow_short_secret=self.allow_short_secret, name=name
        )
        if message is not None:
            self.has_short_key = True

    def _put(self, kid: str, key: Any, verify_key: Any | None) -> None:
        _check_kid(kid)
        self._vet(key, f"key {kid!r}")
        if verify_key is not None:
            self._vet(verify_key, f"verification key {kid!r}")
        self._keys[kid] = key
        self._verify_keys[kid] = (
            verification_key_for(key, self.algorithm) if verify_key is None else verify_key
        )


def _check_kid(kid: object) -> None:
    if not isinstance(kid, str) or not kid:
        raise ValueError(f"Key ids must be non-empty strings, not {kid!r}")
