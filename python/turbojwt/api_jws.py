"""JSON Web Signatures: PyJWT's ``PyJWS`` on turbojwt's Rust core."""

from __future__ import annotations

import binascii  # noqa: F401 - PyJWT's module namespace
import json
import warnings  # noqa: F401 - PyJWT's module namespace
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import _turbojwt
from .algorithms import Algorithm, get_default_algorithms, has_crypto, requires_cryptography
from .api_jwk import PyJWK
from .exceptions import (  # noqa: F401 - PyJWT's module namespace
    DecodeError,
    InvalidAlgorithmError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
)
from .utils import base64url_decode, base64url_encode  # noqa: F401 - PyJWT's module namespace
from .warnings import InsecureKeyLengthWarning, RemovedInPyjwt3Warning  # noqa: F401

if TYPE_CHECKING:
    from .algorithms import AllowedPrivateKeys, AllowedPublicKeys
    from .types import SigOptions

_ALGORITHM_UNSET: Any = object()
# The characters of an unpadded base64url segment (the Rust core checks segments against it).
_BASE64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class PyJWS:
    """Encode and decode compact JWS tokens.

    The algorithm registry and options are plain Python objects, shared by reference with a
    native engine that runs ``encode``/``decode`` in one call each. Replacing ``options``
    rebinds the engine; mutating it in place is seen directly.
    """

    header_typ = "JWT"
    _supported_crit: set[str] = {"b64"}  # noqa: RUF012 - PyJWT's attribute name and shape

    def __init__(
        self,
        algorithms: Sequence[str] | None = None,
        options: SigOptions | None = None,
    ) -> None:
        self._algorithms = get_default_algorithms()
        self._valid_algs = set(algorithms) if algorithms is not None else set(self._algorithms)
        for name in list(self._algorithms):
            if name not in self._valid_algs:
                del self._algorithms[name]
        merged: dict[str, Any] = dict(self._get_default_options())
        if options is not None:
            merged.update(options)
        self._engine = _turbojwt.JwsEngine(self._algorithms, merged, type(self).header_typ)
        self._options = merged

    @property
    def options(self) -> SigOptions:
        return self._options  # type: ignore[return-value]

    @options.setter
    def options(self, value: SigOptions) -> None:
        self._options = dict(value)
        self._engine.rebind(options=self._options)

    @staticmethod
    def _get_default_options() -> SigOptions:
        return {"verify_signature": True, "enforce_minimum_key_length": False}

    def register_algorithm(self, alg_id: str, alg_obj: Algorithm) -> None:
        """Register ``alg_obj`` to sign and verify tokens whose ``alg`` is ``alg_id``."""
        if alg_id in self._algorithms:
            raise ValueError("Algorithm already has a handler.")
        if not isinstance(alg_obj, Algorithm):
            raise TypeError("Object is not of type `Algorithm`")
        self._algorithms[alg_id] = alg_obj
        self._valid_algs.add(alg_id)

    def unregister_algorithm(self, alg_id: str) -> None:
        """Remove ``alg_id``; ``KeyError`` if it is not registered."""
        if alg_id not in self._algorithms:
            raise KeyError(
                "The specified algorithm could not be removed because it is not registered."
            )
        del self._algorithms[alg_id]
        self._valid_algs.remove(alg_id)

    def get_algorithms(self) -> list[str]:
        """The supported values for the ``alg`` parameter."""
        return list(self._valid_algs)

    def get_algorithm_by_name(self, alg_name: str) -> Algorithm:
        """The ``Algorithm`` registered for ``alg_name``."""
        try:
            return self._algorithms[alg_name]
        except KeyError as e:
            if not has_crypto and alg_name in requires_cryptography:
                raise NotImplementedError(
                    f"Algorithm '{alg_name}' could not be found. "
                    "Do you have cryptography installed?"
                ) from e
            raise NotImplementedError("Algorithm not supported") from e

    def encode(
        self,
        payload: bytes,
        key: AllowedPrivateKeys | PyJWK | str | bytes,
        algorithm: str | None = _ALGORITHM_UNSET,
        headers: dict[str, Any] | None = None,
        json_encoder: type[json.JSONEncoder] | None = None,
        is_payload_detached: bool = False,
        sort_headers: bool = True,
    ) -> str:
        if algorithm is _ALGORITHM_UNSET:
            return self._engine.encode(
                payload,
                key,
                headers=headers,
                json_encoder=json_encoder,
                is_payload_detached=is_payload_detached,
                sort_headers=sort_headers,
            )
        return self._engine.encode(
            payload, key, algorithm, headers, json_encoder, is_payload_detached, sort_headers
        )

    def decode_complete(
        self,
        jwt: str | bytes,
        key: AllowedPublicKeys | PyJWK | str | bytes = "",
        algorithms: Sequence[str] | None = None,
        options: SigOptions | None = None,
        detached_payload: bytes | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return self._engine.decode_complete(
            jwt, key, algorithms, options, detached_payload, **kwargs
        )

    def decode(
        self,
        jwt: str | bytes,
        key: AllowedPublicKeys | PyJWK | str | bytes = "",
        algorithms: Sequence[str] | None = None,
        options: SigOptions | None = None,
        detached_payload: bytes | None = None,
        **kwargs: Any,
    ) -> Any:
        return self._engine.decode(jwt, key, algorithms, options, detached_payload, **kwargs)

    def get_unverified_header(self, jwt: str | bytes) -> dict[str, Any]:
        """The token's header, checked for shape but not verified: do not trust it yet."""
        return self._engine.get_unverified_header(jwt)

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        return _turbojwt.decode_segment(segment, name)

    def _load(self, jwt: str | bytes) -> tuple[bytes, bytes, dict[str, Any], bytes]:
        return self._engine.load(jwt)

    def _validate_headers(self, headers: dict[str, Any], *, encoding: bool = False) -> None:
        self._engine.validate_headers(headers, encoding=encoding)

    def _validate_kid(self, kid: Any) -> None:
        self._engine.validate_headers({"kid": kid}, encoding=True)

    def _validate_crit(self, headers: dict[str, Any]) -> None:
        self._engine.validate_headers({k: v for k, v in headers.items() if k != "kid"})


_jws_global_obj = PyJWS()
encode = _jws_global_obj.encode
decode_complete = _jws_global_obj.decode_complete
decode = _jws_global_obj.decode
register_algorithm = _jws_global_obj.register_algorithm
unregister_algorithm = _jws_global_obj.unregister_algorithm
get_algorithm_by_name = _jws_global_obj.get_algorithm_by_name
get_unverified_header = _jws_global_obj.get_unverified_header
