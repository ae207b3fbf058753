"""JSON Web Keys (RFC 7517): single keys bound to an algorithm, and key sets."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any, Callable, Optional

from .algorithms import (  # noqa: F401 - PyJWT's module namespace
    get_default_algorithms,
    has_crypto,
    requires_cryptography,
)
from .exceptions import (
    InvalidKeyError,
    MissingCryptographyError,
    PyJWKError,
    PyJWKSetError,
    PyJWTError,  # noqa: F401 - PyJWT's module namespace
)
from .types import JWKDict

__all__ = ["PyJWK", "PyJWKSet", "PyJWTSetWithTimestamp"]

_logger = logging.getLogger(__name__)

# The algorithm a curve implies when an EC key does not name one (RFC 7518 §3.4).
_EC_ALGORITHM_BY_CURVE = {
    "P-256": "ES256",
    "P-384": "ES384",
    "P-521": "ES512",
    "secp256k1": "ES256K",
}


def _infer_algorithm(jwk_data: JWKDict, kty: Any) -> str:
    """Pick the algorithm for a JWK without ``alg``, from its ``kty`` and ``crv``."""
    crv = jwk_data.get("crv")
    if kty == "EC":
        if not crv:
            return "ES256"
        algorithm = _EC_ALGORITHM_BY_CURVE.get(crv) if isinstance(crv, str) else None
        if algorithm is None:
            raise InvalidKeyError(f"Unsupported crv: {crv}")
        return algorithm
    if kty == "RSA":
        return "RS256"
    if kty == "oct":
        return "HS256"
    if kty == "OKP":
        if not crv:
            raise InvalidKeyError(f"crv is not found: {jwk_data}")
        # Ed448 is not inferred (it needs an explicit ``alg``), as in PyJWT.
        if crv == "Ed25519":
            return "EdDSA"
        raise InvalidKeyError(f"Unsupported crv: {crv}")
    raise InvalidKeyError(f"Unsupported kty: {kty}")


class PyJWK:
    """A JSON Web Key bound to one signing algorithm.

    Attributes:
        key: the loaded key: a ``cryptography`` key object, or ``bytes`` for ``oct``.
        algorithm_name: the algorithm this key is used with, e.g. ``"RS256"``.
        Algorithm: an instance of the algorithm class that implements it.

    The ``use`` and ``key_ops`` members are exposed but not enforced.
    """

    def __init__(self, jwk_data: JWKDict, algorithm: Optional[str] = None) -> None:
        """Load ``jwk_data``.

        The algorithm is ``algorithm`` if given, else the JWK's ``alg``, else
        inferred from ``kty`` and ``crv``.

        :raises InvalidKeyError: ``kty`` or ``crv`` is missing or unsupported,
            or the key members are malformed.
        :raises PyJWKError: no algorithm of that name exists.
        """
        self._jwk_data = jwk_data

        kty = jwk_data.get("kty")
        if not kty:
            raise InvalidKeyError(f"kty is not found: {jwk_data}")

        if not algorithm and isinstance(jwk_data, dict):
            algorithm = jwk_data.get("alg")
        if not algorithm:
            algorithm = _infer_algorithm(jwk_data, kty)

        self.algorithm_name = algorithm
        try:
            self.Algorithm = get_default_algorithms()[algorithm]
        except KeyError:
            raise PyJWKError(f"Unable to find an algorithm for key: {jwk_data}") from None

        try:
            self.key = self.Algorithm.from_jwk(jwk_data)
        except (TypeError, ValueError) as error:
            raise InvalidKeyError(f"Unable to construct key from JWK: {error}") from error

    @staticmethod
    def from_dict(obj: JWKDict, algorithm: Optional[str] = None) -> PyJWK:
        """Load a JWK from its decoded JSON object."""
        return PyJWK(obj, algorithm)

    @staticmethod
    def from_json(data: str, algorithm: Optional[str] = None) -> PyJWK:
        """Load a JWK from its JSON text."""
        return PyJWK.from_dict(json.loads(data), algorithm)

    @property
    def key_type(self) -> Optional[str]:
        """The ``kty`` member."""
        return self._jwk_data.get("kty")

    @property
    def key_id(self) -> Optional[str]:
        """The ``kid`` member, or ``None``."""
        return self._jwk_data.get("kid")

    @property
    def public_key_use(self) -> Optional[str]:
        """The ``use`` member (``"sig"``, ``"enc"``), or ``None``."""
        return self._jwk_data.get("use")


def _load_usable_keys(keys: list[JWKDict], load_key: Callable[[JWKDict], PyJWK]) -> list[PyJWK]:
    """The members of ``keys`` that ``load_key`` loads, as :class:`PyJWKSet` describes.

    Each skipped member is logged at debug level (logger ``turbojwt.api_jwk``) with its
    index, ``kid`` and the reason; when none is usable, the ``PyJWKSetError`` lists them.
    """
    if not keys:
        raise PyJWKSetError("The JWK Set did not contain any keys")
    if not isinstance(keys, list):
        raise PyJWKSetError("Invalid JWK Set value")

    loaded: list[PyJWK] = []
    skipped: list[str] = []
    for index, member in enumerate(keys):
        if not isinstance(member, dict):
            reason = f"not a JSON object but {type(member).__name__}"
        else:
            try:
                loaded.append(load_key(member))
                continue
            except MissingCryptographyError:
                raise
            except Exception as error:  # an unusable member is skipped, see PyJWKSet
                reason = _skip_reason(member, error)
        kid = member.get("kid") if isinstance(member, dict) else None
        described = f"member {index}" if kid is None else f"member {index} (kid {_short(kid)})"
        _logger.debug("JWK Set %s skipped: %s", described, reason)
        skipped.append(f"{described}: {reason}")

    if not loaded:
        shown = "; ".join(skipped[:_SKIPPED_SHOWN])
        if len(skipped) > _SKIPPED_SHOWN:
            shown += f"; and {len(skipped) - _SKIPPED_SHOWN} more"
        raise PyJWKSetError(f"The JWK Set did not contain any usable keys. Skipped {shown}")
    return loaded


# Members a PyJWKSetError lists by name; the rest are counted.
_SKIPPED_SHOWN = 5
# Members whose values may be named in a reason: they identify a key, they are not one.
_PUBLIC_MEMBERS = frozenset(("kty", "kid", "alg", "crv", "use", "key_ops"))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _skip_reason(member: JWKDict, error: Exception) -> str:
    """Why ``member`` did not load, without quoting its key material.

    Some load errors repeat the whole JWK; secret members (``k``, ``d``...) are cut out.
    """
    message = str(error)
    for name, value in member.items():
        if name not in _PUBLIC_MEMBERS and isinstance(value, str) and len(value) >= 4:
            message = message.replace(value, "...")
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class PyJWKSet:
    """A JWK Set: the usable keys of a ``{"keys": [...]}`` document."""

    def __init__(self, keys: list[JWKDict]) -> None:
        """Load every usable member of ``keys``.

        A member that is not a JSON object, or that fails to load for any
        reason, is skipped: a set usually comes from a remote endpoint, and one
        entry this library cannot use must not take the other keys down with
        it. ``MissingCryptographyError`` is the exception, as it means that no
        asymmetric key can load at all. Each skipped member is logged at debug
        level on the ``turbojwt.api_jwk`` logger, with its ``kid``.

        :raises PyJWKSetError: ``keys`` is empty, is not a list, or has no
            usable member (the message says why each member was skipped).
        """
        self.keys = _load_usable_keys(keys, PyJWK)

    @classmethod
    def _from_members(cls, keys: list[JWKDict], load_key: Callable[[JWKDict], PyJWK]) -> PyJWKSet:
        """A set checked as the constructor checks it, its members loaded by ``load_key``.

        The JWKS client passes a ``load_key`` that returns the :class:`PyJWK`
        it already holds for an unchanged member, so a refetch does not load
        the same keys again.
        """
        jwk_set = cls.__new__(cls)
        jwk_set.keys = _load_usable_keys(keys, load_key)
        return jwk_set

    @staticmethod
    def from_dict(obj: dict[str, Any]) -> PyJWKSet:
        """Load the ``keys`` member of a decoded JWKS document."""
        return PyJWKSet(obj.get("keys", []))

    @staticmethod
    def from_json(data: str) -> PyJWKSet:
        """Load a JWKS document from its JSON text."""
        return PyJWKSet.from_dict(json.loads(data))

    def __getitem__(self, kid: str) -> PyJWK:
        """The first key whose ``kid`` equals ``kid`` exactly."""
        for key in self.keys:
            if key.key_id == kid:
                return key
        raise KeyError(f"keyset has no key for kid: {kid}")

    def __iter__(self) -> Iterator[PyJWK]:
        return iter(self.keys)


class PyJWTSetWithTimestamp:
    """A :class:`PyJWKSet` with the ``time.monotonic()`` reading of when it was stored."""

    def __init__(self, jwk_set: PyJWKSet) -> None:
        self.jwk_set = jwk_set
        self.timestamp = time.monotonic()

    def get_jwk_set(self) -> PyJWKSet:
        return self.jwk_set

    def get_timestamp(self) -> float:
        return self.timestamp
