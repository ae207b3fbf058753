"""The token length and JSON depth limits (turbojwt only: PyJWT has no cap).

Over-limit tokens are refused with ``DecodeError`` before they are split, decoded, parsed or
verified; the limits are process-wide and configurable with ``turbojwt.set_limits``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import turbojwt
from turbojwt.exceptions import DecodeError, InvalidSignatureError
from turbojwt.limits import Limits, get_limits, set_limits

SECRET = "limits-secret-0123456789-0123456789-xyz"
DEFAULT_BYTES = 256 * 1024


def interpreter_json_depth() -> int:
    """The deepest JSON the interpreter's own ``json.loads`` can parse by default."""
    if sys.version_info < (3, 12):
        return max(1000, sys.getrecursionlimit())
    if sys.version_info < (3, 13):
        return 1500
    if sys.version_info < (3, 14):
        return 10_000
    return sys.maxsize  # 3.14+ guards the C stack itself: only the length limit applies


DEFAULT_DEPTH = interpreter_json_depth()
has_default_depth = pytest.mark.skipif(
    DEFAULT_DEPTH == sys.maxsize, reason="no default depth limit on this interpreter"
)


#: The explicit limit the tests of the depth mechanics set (the default is far deeper).
LIMIT = 64


@pytest.fixture
def depth_limit() -> None:
    set_limits(max_json_depth=LIMIT)


@pytest.fixture(autouse=True)
def restore_limits() -> Iterator[None]:
    saved = get_limits()
    yield
    set_limits(max_token_bytes=saved.max_token_bytes, max_json_depth=saved.max_json_depth)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(header: bytes, payload: bytes, key: str = SECRET) -> str:
    """An HS256 token over any header and payload bytes."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    tag = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(tag)}"


def signed_token_of_length(length: int) -> str:
    """A valid HS256 token of exactly ``length`` characters (at least 89).

    A base64url segment is never 1 mod 4 long, so one of two headers (20 and 30 characters)
    leaves a payload length that exists; the payload is padded to it.
    """
    for header in (b'{"alg":"HS256"}', b'{"alg":"HS256","k":""}'):
        payload_chars = length - len(b64url(header)) - 45  # two dots, 43-character tag
        pad = payload_chars * 3 // 4 - len(b'{"sub":"x","p":""}')
        for size in range(max(0, pad - 2), pad + 3):
            token = forge(header, b'{"sub":"x","p":"%s"}' % (b"p" * size))
            if len(token) == length:
                return token
    raise AssertionError(f"no token of length {length}")


def nested(depth: int) -> bytes:
    """A JSON value ``depth`` levels deep, alternating arrays and objects."""
    opening = b"".join(b"[" if level % 2 else b'{"k":' for level in range(depth))
    closing = b"".join(b"]" if level % 2 else b"}" for level in reversed(range(depth)))
    return opening + b"0" + closing


def header_of_depth(depth: int) -> bytes:
    """An HS256 header (itself one level) whose JSON is ``depth`` levels deep."""
    return b'{"alg":"HS256","x":' + nested(depth - 1) + b"}"


def payload_of_depth(depth: int) -> bytes:
    return b'{"sub":"x","x":' + nested(depth - 1) + b"}"


def decode(token: str | bytes, key: Any = SECRET) -> Any:
    return turbojwt.decode(token, key, algorithms=["HS256"])


def refusal(call: Callable[[], Any]) -> str:
    with pytest.raises(DecodeError) as caught:
        call()
    return str(caught.value)


def too_long(limit: int = DEFAULT_BYTES) -> str:
    return f"Invalid token: longer than {limit} bytes"


def too_deep(what: str, limit: int = DEFAULT_DEPTH) -> str:
    return f"Invalid {what} string: nesting deeper than {limit} levels"


# --- the settings ------------------------------------------------------------------------


def test_defaults() -> None:
    assert get_limits() == Limits(max_token_bytes=DEFAULT_BYTES, max_json_depth=DEFAULT_DEPTH)
    assert turbojwt.get_limits is get_limits
    assert turbojwt.set_limits is set_limits
    assert "set_limits" not in turbojwt.__all__  # __all__ stays PyJWT's


def test_set_limits_changes_only_what_is_given() -> None:
    set_limits(max_token_bytes=1000)
    assert get_limits() == (1000, DEFAULT_DEPTH)
    set_limits(max_json_depth=5)
    assert get_limits() == (1000, 5)
    set_limits()
    assert get_limits() == (1000, 5)
    set_limits(max_token_bytes=sys.maxsize, max_json_depth=1)
    assert get_limits() == Limits(sys.maxsize, 1)


@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, "100", 2**64, sys.maxsize + 1])
@pytest.mark.parametrize("name", ["max_token_bytes", "max_json_depth"])
def test_invalid_values_are_refused_and_change_nothing(name: str, value: Any) -> None:
    before = get_limits()
    with pytest.raises(ValueError, match=name):
        set_limits(**{name: value})
    with pytest.raises(ValueError):  # the other value is valid: still nothing changes
        set_limits(max_token_bytes=value, max_json_depth=10)
    assert get_limits() == before


def test_set_limits_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        set_limits(1000)  # type: ignore[misc]


def test_limits_are_process_wide() -> None:
    seen: list[Limits] = []
    set_limits(max_token_bytes=12345, max_json_depth=7)
    thread = threading.Thread(target=lambda: seen.append(get_limits()))
    thread.start()
    thread.join()
    assert seen == [Limits(12345, 7)]
    token = signed_token_of_length(12346)
    outcome: list[BaseException] = []

    def decode_in_thread() -> None:
        try:
            decode(token)
        except DecodeError as error:
            outcome.append(error)

    thread = threading.Thread(target=decode_in_thread)
    thread.start()
    thread.join()
    assert [str(error) for error in outcome] == [too_long(12345)]


# --- token length ------------------------------------------------------------------------


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_token_length_boundary_at_the_default(as_bytes: bool) -> None:
    at_limit = signed_token_of_length(DEFAULT_BYTES)
    over = signed_token_of_length(DEFAULT_BYTES + 1)
    if as_bytes:
        assert decode(at_limit.encode())["sub"] == "x"
        assert refusal(lambda: decode(over.encode())) == too_long()
    else:
        assert decode(at_limit)["sub"] == "x"
        assert refusal(lambda: decode(over)) == too_long()


@pytest.mark.parametrize("limit", [100, 1000, 300_000])
def test_token_length_limit_is_configurable(limit: int) -> None:
    set_limits(max_token_bytes=limit)
    assert decode(signed_token_of_length(limit))["sub"] == "x"
    over = signed_token_of_length(limit + 1)
    assert refusal(lambda: decode(over)) == too_long(limit)
    assert refusal(lambda: decode(over.encode())) == too_long(limit)
    set_limits(max_token_bytes=limit + 1)
    assert decode(over)["sub"] == "x"


def test_str_tokens_are_measured_in_utf8_bytes() -> None:
    set_limits(max_token_bytes=1000)
    assert refusal(lambda: decode("é" * 500)) == "Not enough segments"  # 1000 bytes
    assert refusal(lambda: decode("é" * 501)) == too_long(1000)  # 1002 bytes, 501 chars
    assert refusal(lambda: decode("a" * 1001)) == too_long(1000)
    assert refusal(lambda: decode("\U0001f600" * 251)) == too_long(1000)  # 1004 bytes


def test_a_huge_str_with_a_lone_surrogate_is_refused_by_length() -> None:
    assert refusal(lambda: decode("\ud800" + "a" * DEFAULT_BYTES)) == too_long()
    # Under the limit, the surrogate is what is reported.
    error = refusal(lambda: decode("\ud800" + "a" * 10))
    assert "surrogate" in error


@pytest.mark.parametrize(
    "call",
    [
        lambda token: turbojwt.get_unverified_header(token),
        lambda token: turbojwt.decode_complete(token, SECRET, algorithms=["HS256"]),
        lambda token: turbojwt.api_jws.decode(token, SECRET, algorithms=["HS256"]),
        lambda token: turbojwt.api_jws.decode_complete(token, SECRET, algorithms=["HS256"]),
        lambda token: turbojwt.PyJWS().decode(token, SECRET, algorithms=["HS256"]),
        lambda token: turbojwt.PyJWT().decode(token, SECRET, algorithms=["HS256"]),
        lambda token: decode(token, key=None),
        lambda token: turbojwt.decode(token, options={"verify_signature": False}),
    ],
    ids=[
        "get_unverified_header",
        "decode_complete",
        "jws-decode",
        "jws-decode_complete",
        "PyJWS",
        "PyJWT",
        "key-None",
        "verify_signature-off",
    ],
)
def test_every_entry_point_checks_the_length(call: Callable[[Any], Any]) -> None:
    over = signed_token_of_length(DEFAULT_BYTES + 1)
    assert refusal(lambda: call(over)) == too_long()
    assert refusal(lambda: call(over.encode())) == too_long()


def test_length_is_checked_before_any_signature_work() -> None:
    huge = forge(b'{"alg":"HS256"}', json.dumps({"sub": "x", "pad": "p" * 300_000}).encode())
    set_limits(max_token_bytes=len(huge))
    assert decode(huge)["sub"] == "x"  # validly signed
    set_limits(max_token_bytes=DEFAULT_BYTES)
    assert refusal(lambda: decode(huge)) == too_long()
    # A key the HMAC step would reject (an object) is never reached.
    with pytest.raises(TypeError):
        decode(signed_token_of_length(200), key=object())
    assert refusal(lambda: decode(huge, key=object())) == too_long()
    # Nor are segment rules: a huge token with no dot is refused by length, not segments.
    assert refusal(lambda: decode("A" * (DEFAULT_BYTES + 1))) == too_long()


def test_decode_batch_applies_the_length_limit() -> None:
    ok = signed_token_of_length(500)
    over = signed_token_of_length(DEFAULT_BYTES + 1)
    results = turbojwt.decode_batch([ok, over, over.encode(), ok], SECRET, algorithms=["HS256"])
    assert [r["sub"] if isinstance(r, dict) else str(r) for r in results] == [
        "x",
        too_long(),
        too_long(),
        "x",
    ]
    assert isinstance(results[1], DecodeError)


# --- JSON depth --------------------------------------------------------------------------


def test_depth_helpers_build_what_they_say() -> None:
    def depth(value: Any) -> int:
        if isinstance(value, dict):
            return 1 + max(map(depth, value.values()), default=0)
        if isinstance(value, list):
            return 1 + max(map(depth, value), default=0)
        return 0

    for levels in (2, 3, 64, 65):
        assert depth(json.loads(header_of_depth(levels))) == levels
        assert depth(json.loads(payload_of_depth(levels))) == levels


@has_default_depth
@pytest.mark.parametrize("what", ["header", "payload"])
def test_depth_boundary_at_the_default(what: str) -> None:
    def token(depth: int) -> str:
        if what == "header":
            return forge(header_of_depth(depth), b'{"sub":"x"}')
        return forge(b'{"alg":"HS256"}', payload_of_depth(depth))

    assert refusal(lambda: decode(token(DEFAULT_DEPTH + 1))) == too_deep(what)
    if what == "header":
        error = refusal(lambda: turbojwt.get_unverified_header(token(DEFAULT_DEPTH + 1)))
        assert error == too_deep("header")


@pytest.mark.parametrize("what", ["header", "payload"])
@pytest.mark.parametrize("levels", [65, 200, 201, 500, 900])
def test_the_default_refuses_nothing_pyjwt_accepts(what: str, levels: int) -> None:
    """Every depth Python's own json parses decodes as in PyJWT, the first beyond it fails
    as in PyJWT (json.loads' RecursionError) or on the limit."""
    import jwt as pyjwt

    if what == "header":
        token = forge(header_of_depth(levels), b'{"sub":"x"}')
    else:
        token = forge(b'{"alg":"HS256"}', payload_of_depth(levels))
    try:
        expected = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    except pyjwt.DecodeError as error:
        assert refusal(lambda: decode(token)) in (str(error), too_deep(what))
    else:
        assert decode(token) == expected


def test_encode_warns_when_decode_would_refuse_the_token() -> None:
    set_limits(max_json_depth=3)
    with pytest.warns(turbojwt.warnings.TokenLimitWarning, match="deeper than the limit of 3"):
        token = turbojwt.encode({"a": [[[1]]]}, SECRET)
    assert refusal(lambda: decode(token)) == too_deep("payload", 3)
    set_limits(max_json_depth=DEFAULT_DEPTH, max_token_bytes=200)
    with pytest.warns(turbojwt.warnings.TokenLimitWarning, match="over the limit of 200 bytes"):
        turbojwt.encode({"sub": "x" * 200}, SECRET)
    set_limits(max_token_bytes=DEFAULT_BYTES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        turbojwt.encode({"a": [[[1]]], "sub": "x" * 200}, SECRET)


@pytest.mark.parametrize("limit", [1, 2, 10, 200])
def test_depth_limit_is_configurable(limit: int) -> None:
    set_limits(max_json_depth=limit)
    flat = forge(b'{"alg":"HS256"}', b'{"sub":"x"}')
    assert decode(flat) == {"sub": "x"}
    if limit >= 2:
        assert decode(forge(b'{"alg":"HS256"}', payload_of_depth(limit)))["sub"] == "x"
    deep_payload = forge(b'{"alg":"HS256"}', payload_of_depth(limit + 1))
    assert refusal(lambda: decode(deep_payload)) == too_deep("payload", limit)
    deep_header = forge(header_of_depth(limit + 1), b'{"sub":"x"}')
    assert refusal(lambda: decode(deep_header)) == too_deep("header", limit)


@pytest.mark.parametrize("what", ["header", "payload"])
def test_bytes_that_are_not_utf8_get_pythons_error_before_the_depth_limit(what: str) -> None:
    """Depth is a property of JSON text: undecodable bytes get json.loads' own message."""
    import jwt as pyjwt

    deep_and_broken = b"[" * (DEFAULT_DEPTH + 10) + b"\xf3\xa3O"
    if what == "header":
        token = forge(deep_and_broken, b'{"sub":"x"}')
    else:
        token = forge(b'{"alg":"HS256"}', deep_and_broken)
    with pytest.raises(pyjwt.DecodeError) as expected:
        pyjwt.decode(token, SECRET, algorithms=["HS256"])
    message = refusal(lambda: decode(token))
    assert message == str(expected.value)
    assert "utf-8" in message


@has_default_depth
@pytest.mark.parametrize(
    "document",
    [
        b"[" * 100_000,
        b'{"a":' * 30_000,
        b"[" * (DEFAULT_DEPTH + 1) + b"]" * (DEFAULT_DEPTH + 1),
    ],
    ids=["100k-arrays", "30k-objects", "just-over-closed"],
)
def test_sheer_nesting_is_refused_whatever_the_brackets(document: bytes) -> None:
    deep_header = forge(document, b"{}")
    assert refusal(lambda: decode(deep_header)) == too_deep("header")
    deep_payload = forge(b'{"alg":"HS256"}', document)
    assert refusal(lambda: decode(deep_payload)) == too_deep("payload")


def test_many_siblings_are_not_depth() -> None:
    wide = {"sub": "x", "lists": [[1], [2], {"a": [3]}] * 200, "objects": [{}] * 500}
    token = forge(b'{"alg":"HS256"}', json.dumps(wide).encode())
    assert decode(token) == wide


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "[" * 1000},
        {"sub": "{" * 1000, "x": "[{" * 1000},
        {"[" * 1000: "key"},
        {"sub": '"' + "[" * 1000},  # an escaped quote does not end the string
        {"sub": '\\"' + "[" * 1000},
        {"sub": "\\" * 101 + "[" * 1000},
    ],
    ids=["brackets", "braces", "in-a-key", "escaped-quote", "escaped-backslash-quote", "odd"],
)
def test_brackets_inside_strings_do_not_count(claims: dict[str, Any]) -> None:
    for ensure_ascii in (True, False):
        payload = json.dumps(claims, ensure_ascii=ensure_ascii).encode()
        assert decode(forge(b'{"alg":"HS256"}', payload)) == claims
    header = json.dumps({"alg": "HS256", "note": "[" * 1000}).encode()
    assert turbojwt.get_unverified_header(forge(header, b"{}"))["note"] == "[" * 1000


@pytest.mark.usefixtures("depth_limit")
def test_an_escaped_backslash_ends_the_string_before_the_brackets() -> None:
    # "\\" is a complete string: the brackets after it are structure and count.
    payload = b'{"sub":"\\\\","x":' + nested(LIMIT) + b"}"
    assert json.loads(payload)["sub"] == "\\"
    token = forge(b'{"alg":"HS256"}', payload)
    assert refusal(lambda: decode(token)) == too_deep("payload", LIMIT)


def test_unicode_escapes_are_not_brackets() -> None:
    claims = {"sub": "x", "s": "\u005b" * 200}  # "\u005b" is "[" written as an escape
    payload = b'{"sub":"x","s":"' + b"\\u005b" * 200 + b'"}'
    assert decode(forge(b'{"alg":"HS256"}', payload)) == claims


@pytest.mark.usefixtures("depth_limit")
def test_header_depth_is_checked_before_the_signature_and_payload_depth_after() -> None:
    """PyJWT's order: the header is parsed before verification, the payload only after."""
    deep_header = forge(header_of_depth(LIMIT + 1), b'{"sub":"x"}', key="another key")
    assert refusal(lambda: decode(deep_header)) == too_deep("header", LIMIT)
    deep_payload = forge(b'{"alg":"HS256"}', payload_of_depth(LIMIT + 1), key="other")
    with pytest.raises(InvalidSignatureError):
        decode(deep_payload)
    assert refusal(lambda: decode(deep_payload, key="other")) == too_deep("payload", LIMIT)
    set_limits(max_json_depth=LIMIT + 1)
    assert decode(deep_payload, key="other")["sub"] == "x"
    with pytest.raises(InvalidSignatureError):
        decode(deep_header)


def test_lowering_the_depth_limit_applies_to_headers_seen_before() -> None:
    """Validated headers are cached by segment; a lower limit must not be bypassed by that."""
    token = forge(header_of_depth(10), b'{"sub":"x"}')
    assert decode(token)["sub"] == "x"
    assert turbojwt.get_unverified_header(token)["alg"] == "HS256"
    set_limits(max_json_depth=9)
    assert refusal(lambda: decode(token)) == too_deep("header", 9)
    assert refusal(lambda: turbojwt.get_unverified_header(token)) == too_deep("header", 9)


@pytest.mark.usefixtures("depth_limit")
def test_detached_payload_depth_is_checked() -> None:
    header = b'{"alg":"HS256","b64":false,"crit":["b64"]}'
    payload = payload_of_depth(LIMIT + 1)
    signing_input = b64url(header).encode() + b"." + payload
    tag = hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest()
    token = f"{b64url(header)}..{b64url(tag)}"

    def call() -> Any:
        return turbojwt.decode(token, SECRET, algorithms=["HS256"], detached_payload=payload)

    assert refusal(call) == too_deep("payload", LIMIT)
    set_limits(max_json_depth=LIMIT + 1)
    assert call()["sub"] == "x"


@pytest.mark.usefixtures("depth_limit")
def test_the_step_by_step_pipeline_checks_depth_too() -> None:
    class Hooked(turbojwt.PyJWT):
        def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
            return super()._decode_payload(decoded)

    token = forge(b'{"alg":"HS256"}', payload_of_depth(LIMIT + 1))
    error = refusal(lambda: Hooked().decode(token, SECRET, algorithms=["HS256"]))
    assert error == too_deep("payload", LIMIT)


@pytest.mark.usefixtures("depth_limit")
def test_decode_batch_applies_the_depth_limit() -> None:
    ok = forge(b'{"alg":"HS256"}', payload_of_depth(LIMIT))
    deep_payload = forge(b'{"alg":"HS256"}', payload_of_depth(LIMIT + 1))
    deep_header = forge(header_of_depth(LIMIT + 1), b'{"sub":"x"}')
    results = turbojwt.decode_batch(
        [ok, deep_payload, deep_header, ok], SECRET, algorithms=["HS256"]
    )
    assert [r["sub"] if isinstance(r, dict) else str(r) for r in results] == [
        "x",
        too_deep("payload", LIMIT),
        too_deep("header", LIMIT),
        "x",
    ]
