"""turbojwt's own machinery: the native fast path against PyJWT's step-by-step pipeline,
the caches, the hooks and the documented differences from PyJWT.
"""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import pytest
import turbojwt
import turbojwt.api_jws
import turbojwt.utils
from turbojwt import _turbojwt
from turbojwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWKSetError,
)

SECRET = "native-path-secret-" * 4


class StepByStepPyJWT(turbojwt.PyJWT):
    """Overrides a hook with the same behaviour, which forces PyJWT's composed pipeline."""

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        return super()._decode_payload(decoded)


class OverridesIssuerCheck(turbojwt.PyJWT):
    def _validate_iss(self, payload: dict[str, Any], issuer: Any) -> None:
        if payload.get("iss") != "trusted":
            raise InvalidIssuerError("custom issuer rule")


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        return ("value", fn())
    except Exception as e:
        return (type(e).__name__, str(e))


NOW = int(time.time())
CLAIM_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"sub": "a", "exp": NOW + 100}, {}),
    ({"exp": NOW - 100}, {}),
    ({"exp": NOW - 100}, {"leeway": 200}),
    ({"nbf": NOW + 100}, {}),
    ({"iat": "not a number"}, {}),
    ({"aud": "x"}, {}),
    ({"aud": ["x", "y"]}, {"audience": "y"}),
    ({"aud": ["x"]}, {"audience": "z"}),
    ({"aud": "x"}, {"audience": "x", "options": {"strict_aud": True}}),
    ({"iss": "a"}, {"issuer": ["a", "b"]}),
    ({"iss": 5}, {"issuer": "a"}),
    ({"sub": 5}, {}),
    ({"jti": []}, {}),
    ({}, {"options": {"require": ["exp"]}}),
    ({"exp": NOW - 100}, {"options": {"verify_signature": False}}),
]


@pytest.mark.parametrize(("claims", "kwargs"), CLAIM_CASES)
def test_native_path_equals_composed_pipeline(
    claims: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    # Encoded as raw JSON so claims PyJWT refuses to encode (a non-str iss) can be tested.
    token = turbojwt.api_jws.encode(json.dumps(claims).encode(), SECRET)
    native = outcome(lambda: turbojwt.PyJWT().decode(token, SECRET, algorithms=["HS256"], **kwargs))
    composed = outcome(
        lambda: StepByStepPyJWT().decode(token, SECRET, algorithms=["HS256"], **kwargs)
    )
    assert StepByStepPyJWT._native_decode is False
    assert native == composed


def test_overridden_claim_check_is_called() -> None:
    token = turbojwt.encode({"iss": "untrusted"}, SECRET)
    with pytest.raises(InvalidIssuerError, match="custom issuer rule"):
        OverridesIssuerCheck().decode(token, SECRET, algorithms=["HS256"])
    # The other checks still run, natively, in PyJWT's order.
    expired = turbojwt.encode({"iss": "trusted", "exp": NOW - 10}, SECRET)
    with pytest.raises(ExpiredSignatureError):
        OverridesIssuerCheck().decode(expired, SECRET, algorithms=["HS256"])


def test_decoded_headers_are_never_the_cached_dict() -> None:
    token = turbojwt.encode({"a": 1}, SECRET, headers={"kid": "k1"})
    first = turbojwt.decode_complete(token, SECRET, algorithms=["HS256"])
    first["header"]["alg"] = "tampered"
    first["header"]["extra"] = True
    second = turbojwt.decode_complete(token, SECRET, algorithms=["HS256"])
    assert second["header"] == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    assert turbojwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}


def test_cached_header_still_fails_a_bad_signature() -> None:
    token = turbojwt.encode({"a": 1}, SECRET)
    turbojwt.decode(token, SECRET, algorithms=["HS256"])
    head, payload, _ = token.split(".")
    forged = f"{head}.{payload}.{'A' * 43}"
    with pytest.raises(InvalidSignatureError):
        turbojwt.decode(forged, SECRET, algorithms=["HS256"])


def test_replaced_json_loads_is_honoured_for_header_and_payload() -> None:
    token = turbojwt.encode({"a": 1}, SECRET)
    with mock.patch("json.loads", side_effect=[{"alg": "HS256", "typ": "JWT"}, {"patched": True}]):
        assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == {"patched": True}


def test_replaced_json_dumps_is_honoured() -> None:
    real_dumps = json.dumps

    def spaced_dumps(obj: Any, **kwargs: Any) -> str:
        return real_dumps(obj, **{**kwargs, "separators": (", ", ": ")})

    with mock.patch("json.dumps", side_effect=spaced_dumps) as dumps:
        token = turbojwt.encode({"a": 1}, SECRET)
    assert dumps.call_count == 2  # header and payload
    header, payload, _ = token.split(".")
    assert turbojwt.utils.base64url_decode(payload) == b'{"a": 1}'
    assert turbojwt.utils.base64url_decode(header) == b'{"alg": "HS256", "typ": "JWT"}'
    assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == {"a": 1}


def test_replaced_clock_is_honoured() -> None:
    now = int(time.time())  # not the module's NOW: the suite may reach this test much later
    token = turbojwt.encode({"exp": now + 60}, SECRET)
    with mock.patch("time.time", return_value=now + 3600.0):
        with pytest.raises(ExpiredSignatureError):
            turbojwt.decode(token, SECRET, algorithms=["HS256"])
    assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == {"exp": now + 60}


def test_hmac_key_cache_is_bounded() -> None:
    try:
        _turbojwt.set_key_cache_size(4)
        for i in range(20):
            secret = f"{SECRET}-{i}"
            turbojwt.decode(turbojwt.encode({"i": i}, secret), secret, algorithms=["HS256"])
        info = _turbojwt.key_cache_info()
        assert info["capacity"] == 4
        assert 0 < info["hmac"] <= 4 * 3  # per hash
    finally:
        _turbojwt.set_key_cache_size(256)


def test_a_refused_secret_is_refused_every_time() -> None:
    jwk_secret = json.dumps({"kty": "oct", "k": "c2VjcmV0"})
    for _ in range(3):
        with pytest.raises(turbojwt.InvalidKeyError, match="looks like a JWK"):
            turbojwt.encode({"a": 1}, jwk_secret)


def test_jwk_set_skips_a_malformed_member() -> None:
    good = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I", "kid": "good"}
    keys = turbojwt.PyJWKSet([{"kty": "oct", "kid": "no-k"}, good])
    assert [key.key_id for key in keys.keys] == ["good"]
    with pytest.raises(PyJWKSetError):
        turbojwt.PyJWKSet([{"kty": "oct", "kid": "no-k"}])


def test_claim_failures_are_pyjwt_classes() -> None:
    token = turbojwt.encode({"aud": "x"}, SECRET)
    with pytest.raises(InvalidAudienceError, match="Invalid audience"):
        turbojwt.decode(token, SECRET, algorithms=["HS256"])
    token = turbojwt.encode({}, SECRET)
    with pytest.raises(MissingRequiredClaimError) as info:
        turbojwt.decode(token, SECRET, algorithms=["HS256"], audience="x")
    assert info.value.claim == "aud"


def test_lone_surrogate_token_is_both_decode_and_unicode_error() -> None:
    with pytest.raises(DecodeError) as info:
        turbojwt.decode("a\ud800.b.c", SECRET, algorithms=["HS256"])
    assert isinstance(info.value, UnicodeEncodeError)
    assert info.value.args == ("utf-8", "a\ud800.b.c", 1, 2, "surrogates not allowed")
