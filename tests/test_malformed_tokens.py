"""Every kind of malformed token gets PyJWT's exception class and message."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Callable

import pytest
from _target import (
    SECRET,
    Raises,
    b64url,
    check_expectation,
    compact_json,
    compare,
    exceptions_of,
    forge,
    ref,
    requires_turbojwt,
    run,
    sign,
    tj,
)

PAYLOAD = {"a": 1}
PAYLOAD_JSON = b'{"a":1}'
HEADER_JSON = b'{"alg":"HS256","typ":"JWT"}'
HEADER = b64url(HEADER_JSON)
BODY = b64url(PAYLOAD_JSON)
GOOD = sign(f"{HEADER}.{BODY}")
GOOD_SIGNATURE = GOOD.rsplit(".", 1)[1]
NONE_HEADER = b64url(b'{"alg":"none"}')
PEM_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
)


def raw(header: bytes, payload: bytes = PAYLOAD_JSON) -> str:
    """A correctly HS256-signed token over arbitrary header and payload bytes."""
    return forge(header, payload, alg="HS256")


def padded(segment: str) -> str:
    assert len(segment) % 4, "this segment needs no padding"
    return segment + "=" * (-len(segment) % 4)


def flip_last(segment: str, replacement: str) -> str:
    return segment[:-1] + replacement


def detached(header: dict[str, Any], payload: bytes = PAYLOAD_JSON, segment: str = "") -> str:
    """An RFC 7797 token: the signing input holds the raw payload, the token does not."""
    header_segment = b64url(compact_json(header))
    signature = sign(f"{header_segment}.{payload.decode()}").rsplit(".", 1)[1]
    return f"{header_segment}.{segment}.{signature}"


INVALID_TYPE = Raises("DecodeError", "Invalid token type. Token must be a <class 'bytes'>")
NOT_ENOUGH_SEGMENTS = Raises("DecodeError", "Not enough segments")
ALGORITHMS_REQUIRED = Raises(
    "DecodeError",
    'It is required that you pass in a value for the "algorithms" argument when calling decode().',
)
BAD_SIGNATURE = Raises("InvalidSignatureError", "Signature verification failed")
NOT_ALLOWED = Raises("InvalidAlgorithmError", "The specified alg value is not allowed")
NOT_SUPPORTED = Raises("InvalidAlgorithmError", "Algorithm not supported")
KID_NOT_STRING = Raises("InvalidTokenError", "Key ID header parameter must be a string")
CRIT_NOT_LIST = Raises("InvalidTokenError", "Invalid 'crit' header: must be a non-empty list")
B64_NOT_CRITICAL = Raises(
    "InvalidTokenError", "The 'b64' header parameter requires 'b64' to be listed in 'crit'."
)
DETACHED_REQUIRED = Raises(
    "DecodeError",
    'It is required that you pass in a value for the "detached_payload" argument to decode a '
    "message having the b64 header set to false.",
)
DETACHED_NOT_ALLOWED = Raises(
    "DecodeError",
    'It is only valid to pass "detached_payload" when the protected header has "b64" set to false.',
)
ASYMMETRIC_HMAC_KEY = Raises(
    "InvalidKeyError",
    "The specified key is an asymmetric key or x509 certificate and should not be used as an "
    "HMAC secret.",
)
JWK_HMAC_KEY = Raises(
    "InvalidKeyError",
    "The specified key looks like a JWK and should not be used directly as an HMAC secret. "
    "Load it via PyJWK / HMACAlgorithm.from_jwk first.",
)
NOT_AN_OBJECT = "must be a json object"
DEEP_ARRAY = "maximum recursion depth exceeded while decoding a JSON array from a unicode string"
DEEP_OBJECT = "maximum recursion depth exceeded while decoding a JSON object from a unicode string"
NO_VALUE = "Expecting value: line 1 column 1 (char 0)"
TOO_MANY_DIGITS = (
    "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; "
    "use sys.set_int_max_str_digits() to increase the limit"
)


def padding_error(segment: str) -> Raises:
    return Raises("DecodeError", f"Invalid {segment} padding")


def header_error(message: str) -> Raises:
    return Raises("DecodeError", f"Invalid header string: {message}")


def payload_error(message: str) -> Raises:
    return Raises("DecodeError", f"Invalid payload string: {message}")


def case(case_id: str, token: Any, expected: Any = PAYLOAD, **kwargs: Any) -> Any:
    return pytest.param(token, kwargs, expected, id=case_id)


TOKEN_TYPE = [
    case("none", None, INVALID_TYPE),
    case("int", 123, INVALID_TYPE),
    case("bytearray", bytearray(GOOD.encode()), INVALID_TYPE),
    case("memoryview", memoryview(GOOD.encode()), INVALID_TYPE),
    case("list", GOOD.split("."), INVALID_TYPE),
    case("bytes-accepted", GOOD.encode()),
    case("algorithms-checked-before-type", None, ALGORITHMS_REQUIRED, algorithms=None),
]

SEGMENTS = [
    case("empty", "", NOT_ENOUGH_SEGMENTS),
    case("one-segment", "abc", NOT_ENOUGH_SEGMENTS),
    case("two-segments", f"{HEADER}.{BODY}", NOT_ENOUGH_SEGMENTS),
    case("lone-dot", ".", NOT_ENOUGH_SEGMENTS),
    case("two-dots", "..", header_error(NO_VALUE)),
    case("extra-segment", f"{GOOD}.{GOOD_SIGNATURE}", padding_error("payload")),
    case("extra-trailing-dot", f"{GOOD}.", padding_error("payload")),
    case("empty-payload-segment", sign(f"{HEADER}."), payload_error(NO_VALUE)),
    case("empty-signature", f"{HEADER}.{BODY}.", BAD_SIGNATURE),
    case("bytes-two-segments", f"{HEADER}.{BODY}".encode(), NOT_ENOUGH_SEGMENTS),
]

BASE64 = [
    case("plus-in-header", "+" + GOOD, padding_error("header")),
    case("slash-in-payload", f"{HEADER}./{BODY}.{GOOD_SIGNATURE}", padding_error("payload")),
    case("bang-in-signature", f"{HEADER}.{BODY}.{GOOD_SIGNATURE}!", padding_error("crypto")),
    case("space-before-token", " " + GOOD, padding_error("header")),
    case("newline-after-token", GOOD + "\n", padding_error("crypto")),
    case("non-ascii-in-header", "é" + GOOD, padding_error("header")),
    case("invalid-utf8-bytes", b"\xff" + GOOD.encode(), padding_error("header")),
    case("header-length-1-mod-4", f"A{HEADER}.{BODY}.{GOOD_SIGNATURE}", padding_error("header")),
    case("signature-length-1-mod-4", GOOD + "AA", padding_error("crypto")),
    case("padding-in-the-middle", f"{HEADER[:4]}={HEADER[4:]}.{BODY}.x", padding_error("header")),
    case("needless-header-padding", f"{HEADER}=.{BODY}.{GOOD_SIGNATURE}", padding_error("header")),
    case("three-padding-chars", f"{HEADER}.{BODY}===.{GOOD_SIGNATURE}", padding_error("payload")),
    case("signature-padded", GOOD + "=", PAYLOAD),
    case("signature-over-padded", GOOD + "==", padding_error("crypto")),
    case("payload-padded-and-signed", sign(f"{HEADER}.{padded(BODY)}")),
    case(
        "payload-padded-after-signing", f"{HEADER}.{padded(BODY)}.{GOOD_SIGNATURE}", BAD_SIGNATURE
    ),
    case(
        "non-canonical-payload",
        sign(f"{HEADER}.{flip_last(b64url(b'{}'), '1')}"),
        padding_error("payload"),
    ),
    case(
        "non-canonical-signature",
        f"{HEADER}.{BODY}.{flip_last(GOOD_SIGNATURE, 'B')}",
        padding_error("crypto"),
    ),
    case("truncated-signature", f"{HEADER}.{BODY}.{GOOD_SIGNATURE[:-3]}", BAD_SIGNATURE),
    case(
        "standard-alphabet-signature",
        f"{HEADER}.{BODY}.{GOOD_SIGNATURE.replace('-', '+').replace('_', '/')}A+/A",
        padding_error("crypto"),
    ),
]

HEADER_CONTENT = [
    case("header-not-json", raw(b"not json"), header_error(NO_VALUE)),
    case(
        "header-truncated",
        raw(b'{"alg":"HS256"'),
        header_error("Expecting ',' delimiter: line 1 column 15 (char 14)"),
    ),
    case(
        "header-trailing-data",
        raw(b'{"alg":"HS256"}x'),
        header_error("Extra data: line 1 column 16 (char 15)"),
    ),
    case(
        "header-control-character",
        raw(b'{"alg":"HS256","x":"\x01"}'),
        header_error("Invalid control character at: line 1 column 21 (char 20)"),
    ),
    case("header-array", raw(b'["alg","HS256"]'), header_error(NOT_AN_OBJECT)),
    case("header-null", raw(b"null"), header_error(NOT_AN_OBJECT)),
    case("header-string", raw(b'"HS256"'), header_error(NOT_AN_OBJECT)),
    case("header-number", raw(b"1e5"), header_error(NOT_AN_OBJECT)),
    case("header-deep-array", raw(b"[" * 10**5), header_error(DEEP_ARRAY)),
    case("header-deep-object", raw(b'{"a":' * 10**5), header_error(DEEP_OBJECT)),
    case(
        "header-invalid-utf8",
        raw(b'{"alg":"HS256","x":"\xff"}'),
        header_error("'utf-8' codec can't decode byte 0xff in position 20: invalid start byte"),
    ),
    case(
        "header-truncated-utf8",
        raw(b'{"alg":"HS256","x":"\xc3"}'),
        header_error(
            "'utf-8' codec can't decode byte 0xc3 in position 20: invalid continuation byte"
        ),
    ),
    case("header-huge", raw(b'{"alg":"HS256","x":"' + b"a" * 10**6 + b'"}')),
    case("header-moderately-nested", raw(b'{"alg":"HS256","x":' + b"[" * 50 + b"]" * 50 + b"}")),
    case("header-utf8-bom", raw(b"\xef\xbb\xbf" + HEADER_JSON)),
    case("header-utf16", raw(HEADER_JSON.decode().encode("utf-16"))),
    case("header-utf16-le", raw(HEADER_JSON.decode().encode("utf-16-le"))),
    case("header-utf32-be", raw(HEADER_JSON.decode().encode("utf-32-be"))),
    case("header-encoded-surrogate", raw(b'{"alg":"HS256","x":"\xed\xa0\x80"}')),
    case("header-escaped-surrogate", raw(b'{"alg":"HS256","x":"\\udc00"}')),
    case("header-nan", raw(b'{"alg":"HS256","x":NaN}')),
    case("header-whitespace", raw(b' \n\t{ "alg" : "HS256" }\r\n')),
    case("header-duplicate-alg-last-wins", raw(b'{"alg":"none","alg":"HS256"}')),
]

PAYLOAD_CONTENT = [
    case("payload-not-json", raw(HEADER_JSON, b"not json"), payload_error(NO_VALUE)),
    case("payload-empty", raw(HEADER_JSON, b""), payload_error(NO_VALUE)),
    case(
        "payload-truncated",
        raw(HEADER_JSON, b'{"a":'),
        payload_error("Expecting value: line 1 column 6 (char 5)"),
    ),
    case("payload-array", raw(HEADER_JSON, b"[1]"), payload_error(NOT_AN_OBJECT)),
    case("payload-null", raw(HEADER_JSON, b"null"), payload_error(NOT_AN_OBJECT)),
    case("payload-string", raw(HEADER_JSON, b'"a"'), payload_error(NOT_AN_OBJECT)),
    case("payload-float", raw(HEADER_JSON, b"1.5"), payload_error(NOT_AN_OBJECT)),
    case("payload-deep-array", raw(HEADER_JSON, b"[" * 10**5), payload_error(DEEP_ARRAY)),
    case("payload-deep-object", raw(HEADER_JSON, b'{"a":' * 10**5), payload_error(DEEP_OBJECT)),
    case(
        "payload-invalid-utf8",
        raw(HEADER_JSON, b'{"a":"\xfe"}'),
        payload_error("'utf-8' codec can't decode byte 0xfe in position 6: invalid start byte"),
    ),
    case(
        "payload-too-many-digits",
        raw(HEADER_JSON, b'{"a":' + b"9" * 4301 + b"}"),
        payload_error(TOO_MANY_DIGITS),
    ),
    case(
        "payload-many-digits",
        raw(HEADER_JSON, b'{"a":' + b"9" * 4300 + b"}"),
        {"a": int("9" * 4300)},
    ),
    case("payload-utf8-bom", raw(HEADER_JSON, b"\xef\xbb\xbf" + PAYLOAD_JSON)),
    case("payload-utf16", raw(HEADER_JSON, PAYLOAD_JSON.decode().encode("utf-16"))),
    case("payload-utf32-le", raw(HEADER_JSON, PAYLOAD_JSON.decode().encode("utf-32-le"))),
    case("payload-duplicate-keys", raw(HEADER_JSON, b'{"a":0,"b":2,"a":1}'), {"a": 1, "b": 2}),
    # A repeated time claim is checked by its last value, whatever the first one was.
    case(
        "payload-duplicate-exp-int-then-string",
        raw(HEADER_JSON, b'{"exp":4000000000,"exp":"soon"}'),
        Raises("DecodeError", "Expiration Time claim (exp) must be an integer."),
    ),
    case(
        "payload-duplicate-exp-string-then-int",
        raw(HEADER_JSON, b'{"exp":"soon","exp":4000000000}'),
        {"exp": 4000000000},
    ),
    case(
        "payload-duplicate-exp-future-then-past",
        raw(HEADER_JSON, b'{"exp":4000000000,"exp":1}'),
        Raises("ExpiredSignatureError", "Signature has expired"),
    ),
    case(
        "payload-duplicate-iat-then-float",
        raw(HEADER_JSON, b'{"iat":1,"iat":4000000000.5}'),
        Raises("ImmatureSignatureError", "The token is not yet valid (iat)"),
    ),
    case(
        "payload-time-claims-of-every-digit-count",
        raw(HEADER_JSON, b'{ "nbf" : 12345678 , "iat" : 1234567 , "exp" : 123456789012 }'),
        {"nbf": 12345678, "iat": 1234567, "exp": 123456789012},
    ),
    case(
        "payload-non-finite",
        raw(HEADER_JSON, b'{"a":NaN,"b":-Infinity,"c":1e400}'),
        {"a": float("nan"), "b": float("-inf"), "c": float("inf")},
    ),
    case(
        "payload-negative-zero",
        raw(HEADER_JSON, b'{"a":-0,"b":-0.0,"c":1E2}'),
        {"a": 0, "b": -0.0, "c": 100.0},
    ),
    case(
        "payload-surrogates",
        raw(HEADER_JSON, b'{"a":"\\ud83d\\ude00\\ud800","b":"\xed\xb0\x80"}'),
        {"a": "\U0001f600\ud800", "b": "\udc00"},
    ),
    case("payload-huge", raw(HEADER_JSON, b'{"a":"' + b"x" * 10**6 + b'"}'), {"a": "x" * 10**6}),
]

KID = [
    case("kid-int", raw(b'{"alg":"HS256","kid":1}'), KID_NOT_STRING),
    case("kid-null", raw(b'{"alg":"HS256","kid":null}'), KID_NOT_STRING),
    case("kid-list", raw(b'{"alg":"HS256","kid":["k"]}'), KID_NOT_STRING),
    case("kid-object", raw(b'{"alg":"HS256","kid":{}}'), KID_NOT_STRING),
    case("kid-empty-string", raw(b'{"alg":"HS256","kid":""}')),
    case(
        "kid-checked-before-signature",
        forge({"alg": "HS256", "kid": 1}, PAYLOAD, "other"),
        KID_NOT_STRING,
    ),
]

CRIT = [
    case("crit-string", raw(b'{"alg":"HS256","b64":true,"crit":"b64"}'), CRIT_NOT_LIST),
    case("crit-empty", raw(b'{"alg":"HS256","crit":[]}'), CRIT_NOT_LIST),
    case("crit-null", raw(b'{"alg":"HS256","crit":null}'), CRIT_NOT_LIST),
    case(
        "crit-non-string",
        raw(b'{"alg":"HS256","crit":[1]}'),
        Raises("InvalidTokenError", "Invalid 'crit' header: values must be strings"),
    ),
    case(
        "crit-unsupported",
        raw(b'{"alg":"HS256","exp":1,"crit":["exp"]}'),
        Raises("InvalidTokenError", "Unsupported critical extension: exp"),
    ),
    case(
        "crit-missing-from-header",
        raw(b'{"alg":"HS256","crit":["b64"]}'),
        Raises("InvalidTokenError", "Critical extension 'b64' is missing from headers"),
    ),
    case(
        "crit-second-unsupported",
        raw(b'{"alg":"HS256","b64":true,"crit":["b64","zip"]}'),
        Raises("InvalidTokenError", "Unsupported critical extension: zip"),
    ),
    case("crit-b64-true", raw(b'{"alg":"HS256","b64":true,"crit":["b64"]}')),
    case(
        "crit-checked-before-signature",
        forge({"alg": "HS256", "crit": []}, PAYLOAD, "x" * 40),
        CRIT_NOT_LIST,
    ),
]

B64 = [
    case(
        "b64-false-detached",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}),
        detached_payload=PAYLOAD_JSON,
    ),
    case(
        "b64-false-wrong-detached-payload",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}),
        BAD_SIGNATURE,
        detached_payload=b'{"a":2}',
    ),
    case(
        "b64-false-detached-not-json",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}, b"[1]"),
        payload_error(NOT_AN_OBJECT),
        detached_payload=b"[1]",
    ),
    case(
        "b64-false-detached-str",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}),
        Raises("builtins.TypeError", "sequence item 1: expected a bytes-like object, str found"),
        detached_payload=PAYLOAD_JSON.decode(),
    ),
    case(
        "b64-false-without-detached-payload",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}),
        DETACHED_REQUIRED,
    ),
    case(
        "b64-false-not-critical",
        detached({"alg": "HS256", "b64": False}),
        B64_NOT_CRITICAL,
        detached_payload=PAYLOAD_JSON,
    ),
    case(
        "b64-false-not-critical-no-payload",
        detached({"alg": "HS256", "b64": False}),
        B64_NOT_CRITICAL,
    ),
    case(
        "b64-false-crit-string",
        detached({"alg": "HS256", "b64": False, "crit": "b64"}),
        CRIT_NOT_LIST,
        detached_payload=PAYLOAD_JSON,
    ),
    case(
        "b64-false-payload-segment",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}, segment=BODY),
        Raises("DecodeError", "Payload segment must be empty when 'b64' is false."),
        detached_payload=PAYLOAD_JSON,
    ),
    case(
        "b64-false-bad-payload-segment",
        detached({"alg": "HS256", "b64": False}, segment="!"),
        Raises("DecodeError", "Payload segment must be empty when 'b64' is false."),
    ),
    case(
        "b64-false-unverified",
        detached({"alg": "HS256", "b64": False, "crit": ["b64"]}),
        options={"verify_signature": False},
        detached_payload=PAYLOAD_JSON,
    ),
    case(
        "detached-payload-on-attached-token",
        GOOD,
        DETACHED_NOT_ALLOWED,
        detached_payload=PAYLOAD_JSON,
    ),
    case("b64-zero-is-attached", raw(b'{"alg":"HS256","b64":0}')),
    case("b64-string-false-is-attached", raw(b'{"alg":"HS256","b64":"false"}')),
]

ALG = [
    case(
        "alg-missing",
        raw(b'{"typ":"JWT"}'),
        Raises("InvalidAlgorithmError", "Algorithm not specified"),
    ),
    case("alg-empty", raw(b'{"alg":""}'), NOT_ALLOWED, algorithms=["HS256", ""]),
    case("alg-null", raw(b'{"alg":null}'), NOT_ALLOWED, algorithms=["HS256", None]),
    case("alg-not-allowed", forge({"alg": "HS512"}, PAYLOAD), NOT_ALLOWED),
    case("alg-wrong-case", forge({"alg": "hs256"}, PAYLOAD, alg="HS256"), NOT_ALLOWED),
    case("alg-number", raw(b'{"alg":256}'), NOT_ALLOWED),
    case("alg-list", raw(b'{"alg":["HS256"]}'), NOT_ALLOWED),
    case("alg-object", raw(b'{"alg":{"HS256":1}}'), NOT_ALLOWED),
    case(
        "alg-allowed-not-registered",
        forge({"alg": "XYZ"}, PAYLOAD),
        NOT_SUPPORTED,
        algorithms=["XYZ"],
    ),
    case(
        "alg-none-verified",
        forge({"alg": "none"}, PAYLOAD),
        BAD_SIGNATURE,
        key=None,
        algorithms=["none"],
    ),
    case(
        "alg-none-empty-key",
        forge({"alg": "none"}, PAYLOAD),
        BAD_SIGNATURE,
        key="",
        algorithms=["none", "HS256"],
    ),
    case(
        "alg-none-with-key",
        forge({"alg": "none"}, PAYLOAD),
        Raises("InvalidKeyError", 'When alg = "none", key value must be None.'),
        algorithms=["none"],
    ),
    case(
        "alg-none-with-signature",
        sign(f"{NONE_HEADER}.{BODY}", alg="HS256"),
        BAD_SIGNATURE,
        key=None,
        algorithms=["none"],
    ),
    case(
        "alg-none-unverified", forge({"alg": "none"}, PAYLOAD), options={"verify_signature": False}
    ),
    case("alg-none-not-allowed", forge({"alg": "none"}, PAYLOAD), NOT_ALLOWED),
    case("algorithms-none", GOOD, ALGORITHMS_REQUIRED, algorithms=None),
    case("algorithms-empty", GOOD, ALGORITHMS_REQUIRED, algorithms=[]),
    case("algorithms-empty-string", GOOD, ALGORITHMS_REQUIRED, algorithms=""),
    case(
        "algorithms-unneeded-without-verification",
        GOOD,
        algorithms=None,
        options={"verify_signature": False},
    ),
    case("algorithms-tuple", GOOD, algorithms=("HS512", "HS256")),
    # A list of names is compared natively; anything else in it hands over to `in`.
    case("algorithms-list-non-str-first", GOOD, algorithms=[None, 1.5, b"HS256", "HS256"]),
    case("algorithms-list-near-misses", GOOD, NOT_ALLOWED, algorithms=["hs256", "HS256 ", "HS2"]),
    case("algorithms-list-non-ascii", GOOD, NOT_ALLOWED, algorithms=["HS256\u00e9", "\ud800"]),
    case("algorithms-set", GOOD, algorithms={"HS256"}),
    case("algorithms-string", GOOD, algorithms="HS256"),
    case("algorithms-string-other", GOOD, NOT_ALLOWED, algorithms="HS512"),
    case(
        "algorithms-string-substring",
        forge({"alg": "HS2"}, PAYLOAD),
        NOT_SUPPORTED,
        algorithms="HS256",
    ),
    case("algorithms-string-joined", forge({"alg": "HS384"}, PAYLOAD), algorithms="HS256,HS384"),
    case("algorithms-string-empty-alg", raw(b'{"alg":""}'), NOT_ALLOWED, algorithms="HS256"),
    # A falsy alg is refused before the `in` test, even against a bare string.
    case("algorithms-string-null-alg", raw(b'{"alg":null}'), NOT_ALLOWED, algorithms="HS256"),
    case("algorithms-string-false-alg", raw(b'{"alg":false}'), NOT_ALLOWED, algorithms="HS256"),
    case("algorithms-string-zero-alg", raw(b'{"alg":0}'), NOT_ALLOWED, algorithms="HS256"),
    case("algorithms-string-empty-list-alg", raw(b'{"alg":[]}'), NOT_ALLOWED, algorithms="HS256"),
    case("algorithms-set-empty-list-alg", raw(b'{"alg":[]}'), NOT_ALLOWED, algorithms={"HS256"}),
    case(
        "algorithms-string-number-alg",
        raw(b'{"alg":1}'),
        Raises("builtins.TypeError", "'in <string>' requires string as left operand, not int"),
        algorithms="HS256",
    ),
    case(
        "algorithms-set-list-alg",
        raw(b'{"alg":["HS256"]}'),
        Raises("builtins.TypeError", "unhashable type: 'list'"),
        algorithms={"HS256"},
    ),
    case(
        "hmac-key-is-a-public-key",
        GOOD,
        ASYMMETRIC_HMAC_KEY,
        key=PEM_PUBLIC_KEY,
    ),
    case(
        "hmac-key-is-a-jwk",
        GOOD,
        JWK_HMAC_KEY,
        key='{"kty":"oct","k":"c2VjcmV0"}',
    ),
    case(
        "hmac-key-wrong-type",
        GOOD,
        Raises("builtins.TypeError", "Expected a string or bytes value"),
        key=1234,
    ),
]

SIGNATURE = [
    case(
        "wrong-key",
        forge({"alg": "HS256"}, PAYLOAD, "another secret of a decent length!!"),
        BAD_SIGNATURE,
    ),
    case("other-hmac-hash", forge({"alg": "HS256"}, PAYLOAD, alg="HS384"), BAD_SIGNATURE),
    case("signature-of-other-token", f"{HEADER}.{b64url(b'{}')}.{GOOD_SIGNATURE}", BAD_SIGNATURE),
    case("str-and-bytes-key-alike", GOOD, key=SECRET.encode()),
]

# PyJWT decodes the payload segment in `_load`: an invalid one is reported before anything
# checked after it, however the token would have failed otherwise.
BAD_BODY = "/" + BODY
KID_INT_HEADER = b64url(b'{"alg":"HS256","kid":1}')
UNKNOWN_ALG_HEADER = b64url(b'{"alg":"XX999"}')
PAYLOAD_FIRST = [
    case(
        "payload-before-crypto-padding",
        f"{HEADER}.{BAD_BODY}.{GOOD_SIGNATURE}!",
        padding_error("payload"),
    ),
    case(
        "payload-before-kid-check",
        f"{KID_INT_HEADER}.{BAD_BODY}.{GOOD_SIGNATURE}",
        padding_error("payload"),
    ),
    case(
        "payload-before-detached-misuse",
        f"{HEADER}.{BAD_BODY}.{GOOD_SIGNATURE}",
        padding_error("payload"),
        detached_payload=b"x",
    ),
    case(
        "payload-before-alg-not-allowed",
        f"{HEADER}.{BAD_BODY}.{GOOD_SIGNATURE}",
        padding_error("payload"),
        algorithms=["HS384"],
    ),
    case(
        "payload-before-alg-not-supported",
        f"{UNKNOWN_ALG_HEADER}.{BAD_BODY}.{GOOD_SIGNATURE}",
        padding_error("payload"),
        algorithms=["XX999"],
    ),
    case(
        "payload-before-key-type",
        f"{HEADER}.{BAD_BODY}.{GOOD_SIGNATURE}",
        padding_error("payload"),
        key=PEM_PUBLIC_KEY,
    ),
    case("payload-before-bad-signature", f"{HEADER}.{BAD_BODY}.AAAA", padding_error("payload")),
]

CASES = (
    TOKEN_TYPE
    + SEGMENTS
    + BASE64
    + HEADER_CONTENT
    + PAYLOAD_CONTENT
    + KID
    + CRIT
    + B64
    + ALG
    + SIGNATURE
    + PAYLOAD_FIRST
)


# Over turbojwt's default size limits (PyJWT has none): compared with PyJWT with the limits
# lifted. The limits themselves: tests/test_limits.py and rows 17/18 of tests/test_attacks.py.
OVER_THE_LIMITS = {
    "header-deep-array",
    "header-deep-object",
    "header-huge",
    "payload-deep-array",
    "payload-deep-object",
    "payload-huge",
}


@pytest.fixture(autouse=True)
def limits_lifted_for_oversized_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    callspec = getattr(request.node, "callspec", None)
    get_limits = getattr(tj, "get_limits", None)  # absent when PyJWT is the target
    if get_limits is None or callspec is None or callspec.id not in OVER_THE_LIMITS:
        yield
        return
    saved = get_limits()
    tj.set_limits(max_token_bytes=sys.maxsize, max_json_depth=sys.maxsize)
    try:
        yield
    finally:
        tj.set_limits(max_token_bytes=saved.max_token_bytes, max_json_depth=saved.max_json_depth)


@requires_turbojwt
def test_oversized_cases_are_refused_by_the_default_limits() -> None:
    cases = {param.id: param.values[0] for param in CASES}
    for case_id in sorted(OVER_THE_LIMITS):
        error = run(tj, decode_call(cases[case_id], {})).error
        assert isinstance(error, exceptions_of(tj).DecodeError), (case_id, error)
        depth = tj.get_limits().max_json_depth
        assert str(error) in (
            "Invalid token: longer than 262144 bytes",
            f"Invalid header string: nesting deeper than {depth} levels",
            f"Invalid payload string: nesting deeper than {depth} levels",
        ), case_id


def decode_call(token: Any, kwargs: dict[str, Any]) -> Callable[[ModuleType], Any]:
    arguments = {"key": SECRET, "algorithms": ["HS256"], **kwargs}
    return lambda lib: lib.decode(token, **arguments)


@pytest.mark.parametrize(("token", "kwargs", "expected"), CASES)
def test_malformed_token(token: Any, kwargs: dict[str, Any], expected: Any) -> None:
    check_expectation(decode_call(token, kwargs), expected)


@pytest.mark.parametrize(("token", "kwargs", "expected"), CASES)
def test_other_entry_points_agree_with_pyjwt(
    token: Any, kwargs: dict[str, Any], expected: Any
) -> None:
    arguments = {"key": SECRET, "algorithms": ["HS256"], **kwargs}
    compare(lambda lib: lib.decode_complete(token, **arguments))
    compare(lambda lib: lib.api_jws.decode_complete(token, **arguments))
    compare(lambda lib: lib.get_unverified_header(token))


def test_unverified_header_checks_kid_and_crit() -> None:
    check_expectation(
        lambda lib: lib.get_unverified_header(raw(b'{"alg":"HS256","kid":1}')), KID_NOT_STRING
    )
    check_expectation(
        lambda lib: lib.get_unverified_header(raw(b'{"alg":"x","crit":[]}')), CRIT_NOT_LIST
    )
    check_expectation(
        lambda lib: lib.get_unverified_header(raw(b'{"alg":"x","kid":"k"}')),
        {"alg": "x", "kid": "k"},
    )


def test_encode_rejects_non_string_kid() -> None:
    check_expectation(lambda lib: lib.encode(PAYLOAD, SECRET, headers={"kid": 1}), KID_NOT_STRING)


SURROGATE_TOKENS = [
    pytest.param("\ud800" + GOOD, id="start"),
    pytest.param(f"{HEADER}.{BODY}\udfff.{GOOD_SIGNATURE}", id="payload"),
    pytest.param(GOOD + "\udbff", id="end"),
    pytest.param("é\ud800", id="not-a-token"),
]


def surrogate_message(token: str) -> str:
    position = next(i for i, char in enumerate(token) if "\ud800" <= char <= "\udfff")
    return (
        f"'utf-8' codec can't encode character {token[position]!r} in position {position}: "
        "surrogates not allowed"
    )


@pytest.mark.parametrize("token", SURROGATE_TOKENS)
def test_lone_surrogate_in_str_token_raises_unicode_encode_error(token: str) -> None:
    for call in (
        decode_call(token, {}),
        lambda lib: lib.get_unverified_header(token),
        lambda lib: lib.api_jws.decode(token, SECRET, ["HS256"]),
    ):
        target = compare(call)
        assert isinstance(target.error, UnicodeEncodeError)
        assert str(target.error) == surrogate_message(token)
        assert type(run(ref, call).error) is UnicodeEncodeError


@requires_turbojwt
@pytest.mark.parametrize("token", SURROGATE_TOKENS)
def test_lone_surrogate_in_str_token_is_also_a_decode_error(token: str) -> None:
    """Improvement: ``except jwt.DecodeError`` (or InvalidTokenError) now catches it too."""
    error = run(tj, decode_call(token, {})).error
    assert isinstance(error, exceptions_of(tj).DecodeError)
    assert isinstance(error, UnicodeEncodeError)


def test_lone_surrogate_is_reported_after_the_algorithms_check() -> None:
    check_expectation(decode_call("\ud800" + GOOD, {"algorithms": None}), ALGORITHMS_REQUIRED)
