"""JSON Web Tokens: PyJWT's ``PyJWT`` and module functions on turbojwt's Rust core.

``encode``, ``decode`` and ``decode_complete`` at module level are the native engine's methods
themselves: one native call per token, no Python frame in between. ``PyJWT`` instances take the
same native path unless a subclass overrides one of the documented hooks (``_encode_payload``,
``_decode_payload``, ``_validate_claims`` or a ``_validate_*`` check); then the PyJWT-shaped
composition below runs, calling the overrides, with each step still native.
"""

from __future__ import annotations

import json
import os  # noqa: F401 - PyJWT's module namespace
import warnings
from calendar import timegm  # noqa: F401 - PyJWT's module namespace
from collections.abc import Container, Iterable, Sequence
from datetime import datetime, timedelta, timezone  # noqa: F401 - the clock, see below
from typing import TYPE_CHECKING, Any, Union, cast  # noqa: F401 - Union: PyJWT's namespace

from . import _turbojwt
from .api_jws import _ALGORITHM_UNSET, PyJWS, _jws_global_obj
from .exceptions import (  # noqa: F401 - PyJWT's module namespace
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidSubjectError,
    MissingRequiredClaimError,
)
from .warnings import RemovedInPyjwt3Warning

if TYPE_CHECKING:
    from .algorithms import AllowedPrivateKeys, AllowedPublicKeys
    from .api_jwk import PyJWK
    from .types import FullOptions, Options, SigOptions

__all__ = ["PyJWT", "decode", "decode_complete", "encode"]

_DECODE_HOOKS = (
    "_decode_payload",
    "_merge_options",
    "_validate_claims",
    "_validate_required_claims",
    "_validate_iat",
    "_validate_nbf",
    "_validate_exp",
    "_validate_iss",
    "_validate_aud",
    "_validate_sub",
    "_validate_jti",
)
_CLAIM_HOOKS = _DECODE_HOOKS[3:]

# ``datetime`` and ``timezone`` are PyJWT's clock: tests written against PyJWT replace them
# (``mock.patch("jwt.api_jwt.datetime")``) to move time, and the native core then reads the
# time through them, as ``datetime.now(tz=timezone.utc).timestamp()``, and recognises
# ``datetime`` claims in ``encode`` with ``isinstance(value, datetime)``.


class PyJWT:
    _native_encode = True
    _native_decode = True
    _native_claims = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = {
            name for name in _DECODE_HOOKS if getattr(cls, name) is not getattr(PyJWT, name)
        }
        cls._native_decode = not overridden
        cls._native_claims = not overridden.intersection(_CLAIM_HOOKS)
        cls._native_encode = cls._encode_payload is PyJWT._encode_payload

    def __init__(self, options: Options | None = None) -> None:
        self._options: FullOptions = self._get_default_options()
        if options is not None:
            self._options = self._merge_options(options)
        self._jws_obj = PyJWS(options=self._get_sig_options())
        self._engine = _turbojwt.JwtEngine(self._jws_obj._engine, self._options)

    @property
    def options(self) -> FullOptions:
        return self._options

    @options.setter
    def options(self, value: FullOptions) -> None:
        self._options = value
        self._engine.rebind(options=value)

    @property
    def _jws(self) -> PyJWS:
        return self._jws_obj

    @_jws.setter
    def _jws(self, value: PyJWS) -> None:
        self._jws_obj = value
        self._engine.rebind(jws=value._engine)

    @staticmethod
    def _get_default_options() -> FullOptions:
        return {
            "verify_signature": True,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iat": True,
            "verify_aud": True,
            "verify_iss": True,
            "verify_sub": True,
            "verify_jti": True,
            "require": [],
            "strict_aud": False,
            "enforce_minimum_key_length": False,
        }

    def _get_sig_options(self) -> SigOptions:
        return {
            "verify_signature": self.options["verify_signature"],
            "enforce_minimum_key_length": self.options.get("enforce_minimum_key_length", False),
        }

    def _merge_options(self, options: Options | None = None) -> FullOptions:
        if options is None:
            return self.options
        merged: dict[str, Any] = dict(options)
        if not merged.get("verify_signature", True):
            # Turning the signature off turns off every claim check the call does not name.
            for name in (
                "verify_exp",
                "verify_nbf",
                "verify_iat",
                "verify_aud",
                "verify_iss",
                "verify_sub",
                "verify_jti",
            ):
                merged[name] = merged.get(name, False)
        return cast("FullOptions", {**self.options, **merged})

    def encode(
        self,
        payload: dict[str, Any],
        key: AllowedPrivateKeys | PyJWK | str | bytes,
        algorithm: str | None = _ALGORITHM_UNSET,
        headers: dict[str, Any] | None = None,
        json_encoder: type[json.JSONEncoder] | None = None,
        sort_headers: bool = True,
    ) -> str:
        """Encode ``payload`` as a signed JSON Web Token."""
        if self._native_encode:
            if algorithm is _ALGORITHM_UNSET:
                return self._engine.encode(
                    payload,
                    key,
                    headers=headers,
                    json_encoder=json_encoder,
                    sort_headers=sort_headers,
                )
            return self._engine.encode(payload, key, algorithm, headers, json_encoder, sort_headers)
        claims = _turbojwt.prepare_claims(payload)
        json_payload = self._encode_payload(claims, headers=headers, json_encoder=json_encoder)
        return self._jws.encode(
            json_payload, key, algorithm, headers, json_encoder, sort_headers=sort_headers
        )

    def _encode_payload(
        self,
        payload: dict[str, Any],
        headers: dict[str, Any] | None = None,
        json_encoder: type[json.JSONEncoder] | None = None,
    ) -> bytes:
        """The bytes to sign for ``payload``; subclasses may override (e.g. to compress)."""
        return _turbojwt.dumps_compact(payload, json_encoder)

    def decode_complete(
        self,
        jwt: str | bytes,
        key: AllowedPublicKeys | PyJWK | str | bytes = "",
        algorithms: Sequence[str] | None = None,
        options: Options | None = None,
        verify: bool | None = None,
        detached_payload: bytes | None = None,
        audience: str | Iterable[str] | None = None,
        issuer: str | Container[str] | None = None,
        subject: str | None = None,
        leeway: float | timedelta = 0,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Like ``decode``, returning ``{"payload", "header", "signature"}``."""
        if self._native_decode:
            return self._engine.decode_complete(
                jwt,
                key,
                algorithms,
                options,
                verify,
                detached_payload,
                audience,
                issuer,
                subject,
                leeway,
                **kwargs,
            )
        if kwargs:
            _warn_kwargs("decode_complete", kwargs)
        return self._compose_decode(
            jwt,
            key,
            algorithms,
            options,
            verify,
            detached_payload,
            audience,
            issuer,
            subject,
            leeway,
        )

    def decode(
        self,
        jwt: str | bytes,
        key: AllowedPublicKeys | PyJWK | str | bytes = "",
        algorithms: Sequence[str] | None = None,
        options: Options | None = None,
        verify: bool | None = None,
        detached_payload: bytes | None = None,
        audience: str | Iterable[str] | None = None,
        subject: str | None = None,
        issuer: str | Container[str] | None = None,
        leeway: float | timedelta = 0,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Verify ``jwt`` and return its claims."""
        if self._native_decode:
            return self._engine.decode(
                jwt,
                key,
                algorithms,
                options,
                verify,
                detached_payload,
                audience,
                subject,
                issuer,
                leeway,
                **kwargs,
            )
        if kwargs:
            _warn_kwargs("decode", kwargs)
        decoded = self._compose_decode(
            jwt,
            key,
            algorithms,
            options,
            verify,
            detached_payload,
            audience,
            issuer,
            subject,
            leeway,
        )
        return cast("dict[str, Any]", decoded["payload"])

    def _compose_decode(
        self,
        jwt: str | bytes,
        key: Any,
        algorithms: Sequence[str] | None,
        options: Options | None,
        verify: bool | None,
        detached_payload: bytes | None,
        audience: str | Iterable[str] | None,
        issuer: str | Container[str] | None,
        subject: str | None,
        leeway: float | timedelta,
    ) -> dict[str, Any]:
        """PyJWT's decode pipeline step by step, for subclasses that override its hooks."""
        verify_signature = True if options is None else options.get("verify_signature", True)
        if verify is not None and verify != verify_signature:
            warnings.warn(
                "The `verify` argument to `decode` does nothing in PyJWT 2.0 and newer. "
                "The equivalent is setting `verify_signature` to False in the `options` "
                "dictionary. This invocation has a mismatch between the kwarg and the option "
                "entry.",
                category=DeprecationWarning,
                stacklevel=3,
            )
        merged_options = self._merge_options(options)
        sig_options: SigOptions = {
            "verify_signature": verify_signature,
            "enforce_minimum_key_length": merged_options.get("enforce_minimum_key_length", False),
        }
        decoded = self._jws.decode_complete(
            jwt,
            key=key,
            algorithms=algorithms,
            options=sig_options,
            detached_payload=detached_payload,
        )
        payload = self._decode_payload(decoded)
        self._validate_claims(
            payload,
            merged_options,
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            subject=subject,
        )
        decoded["payload"] = payload
        return decoded

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        """The claims dict from a decoded JWS; subclasses may override (e.g. to decompress)."""
        payload = decoded["payload"]
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogatepass")
        return _turbojwt.loads_payload(payload)

    def _validate_claims(
        self,
        payload: dict[str, Any],
        options: FullOptions,
        audience: Iterable[str] | str | None = None,
        issuer: Container[str] | str | None = None,
        subject: str | None = None,
        leeway: float | timedelta = 0,
    ) -> None:
        if self._native_claims:
            _turbojwt.validate_claims(payload, options, audience, issuer, subject, leeway)
            return
        # A subclass overrides individual checks: call each, in PyJWT's order.
        if isinstance(leeway, timedelta):
            leeway = leeway.total_seconds()
        if audience is not None and not isinstance(audience, (str, Iterable)):
            raise TypeError("audience must be a string, iterable or None")
        self._validate_required_claims(payload, options["require"])
        # PyJWT's clock: this module's ``datetime`` when replaced, else freezegun's or
        # time-machine's ``time.time``, else the OS clock.
        now = _turbojwt.now()
        if "iat" in payload and options["verify_iat"]:
            self._validate_iat(payload, now, leeway)
        if "nbf" in payload and options["verify_nbf"]:
            self._validate_nbf(payload, now, leeway)
        if "exp" in payload and options["verify_exp"]:
            self._validate_exp(payload, now, leeway)
        if options["verify_iss"]:
            self._validate_iss(payload, issuer)
        if options["verify_aud"]:
            self._validate_aud(payload, audience, strict=options.get("strict_aud", False))
        if options["verify_sub"]:
            self._validate_sub(payload, subject)
        if options["verify_jti"]:
            self._validate_jti(payload)

    def _validate_required_claims(self, payload: dict[str, Any], claims: Iterable[str]) -> None:
        _turbojwt.validate_required_claims(payload, claims)

    def _validate_sub(self, payload: dict[str, Any], subject: str | None = None) -> None:
        _turbojwt.validate_sub(payload, subject)

    def _validate_jti(self, payload: dict[str, Any]) -> None:
        _turbojwt.validate_jti(payload)

    def _validate_iat(self, payload: dict[str, Any], now: float, leeway: float) -> None:
        _turbojwt.validate_iat(payload, now, leeway)

    def _validate_nbf(self, payload: dict[str, Any], now: float, leeway: float) -> None:
        _turbojwt.validate_nbf(payload, now, leeway)

    def _validate_exp(self, payload: dict[str, Any], now: float, leeway: float) -> None:
        _turbojwt.validate_exp(payload, now, leeway)

    def _validate_aud(
        self,
        payload: dict[str, Any],
        audience: str | Iterable[str] | None,
        *,
        strict: bool = False,
    ) -> None:
        _turbojwt.validate_aud(payload, audience, strict)

    def _validate_iss(self, payload: dict[str, Any], issuer: Container[str] | str | None) -> None:
        _turbojwt.validate_iss(payload, issuer)


def _warn_kwargs(function: str, kwargs: dict[str, Any]) -> None:
    warnings.warn(
        f"passing additional kwargs to {function}() is deprecated and will be removed in pyjwt "
        f"version 3. Unsupported kwargs: {tuple(kwargs.keys())}",
        RemovedInPyjwt3Warning,
        stacklevel=3,
    )


_jwt_global_obj = PyJWT()
_jwt_global_obj._jws = _jws_global_obj
# The module functions are the native engine's bound methods: no Python frame per call.
encode = _jwt_global_obj._engine.encode
# decode and decode_complete take CPython's vectorcall arguments directly (no argument tuple
# or keyword dict per call); anything unusual is handed to the engine's method above.
decode_complete = _turbojwt.fast_entry(_jwt_global_obj._engine, "decode_complete")
decode = _turbojwt.fast_entry(_jwt_global_obj._engine, "decode")

# The native core records the real ``time.time`` and ``datetime.datetime`` on its first clock
# read, and tells a test's replacements from them: make that read now, at import, so that a
# program whose first token is checked inside freezegun's ``freeze_time`` is not misled.
_turbojwt.now()
