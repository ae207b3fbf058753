"""Token JSON is read exactly as ``json.loads`` reads it, by every one of the core's readers.

Headers and payloads of the common shape are built by a specialised reader; anything else
goes to the general one, or to ``json.loads`` itself. Each document here is checked against
``json.loads``: same value (types, key order, float signs and NaN), or both fail.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from turbojwt import _turbojwt
from turbojwt.exceptions import DecodeError


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def outcome(read: Any, data: bytes) -> tuple[str, Any]:
    try:
        return ("value", read(data))
    except (ValueError, RecursionError, DecodeError):  # json's errors; the core's DecodeError
        return ("error", None)


def assert_reads_like_json_loads(data: bytes) -> None:
    expected = outcome(json.loads, data)
    if expected[0] == "value" and not isinstance(expected[1], dict):
        expected = ("error", None)  # a header or payload must be an object
    actual = outcome(_turbojwt.loads_payload, data)
    assert actual[0] == expected[0], (data, expected, actual)
    if expected[0] == "value":
        assert same(actual[1], expected[1]), (data, expected[1], actual[1])


EDGE_CASES = [
    b"{}",
    b"{ }",
    b' {"a":1} ',
    b'{"a":1,"a":2}',
    b'{"a":1,"b":2,"a":3}',
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":1E400}',
    b'{"a":-1e-400}',
    b'{"a":01}',
    b'{"a":1.}',
    b'{"a":.5}',
    b'{"a":-}',
    b'{"a":+1}',
    b'{"a":NaN}',
    b'{"a":-Infinity}',
    b'{"a":Infinity}',
    b'{"a":-Inf}',
    b'{"a":-NaN}',
    b'{"a":[ ]}',
    b'{"a":1}x',
    b'{"a":1,}',
    b'{"a" 1}',
    b'{"a":"\x01"}',
    b'{"a":"\\u00e9\\n"}',
    b'{"a":"\\ud800"}',
    b'\xef\xbb\xbf{"a":1}',
    b'{"a":999999999999999999}',
    b'{"a":-999999999999999999}',
    b'{"a":9999999999999999999}',
    b'{"a":1e5,"b":1E+5,"c":1e-5,"d":12.5e3}',
    b'{"a":true,"b":false,"c":null}',
    b'{"a":tru}',
    b'{"\xc3\xa9":"\xe6\x97\xa5\xf0\x9f\x98\x80"}',
    b'{"a":{"b":{"c":{"d":[[[]]]}}}}',
    b'{"exp":1700000000,"iat":1.5,"aud":["a","b"],"sub":"x","alg":"HS256"}',
    b'{"a":' * 40 + b"1" + b"}" * 40,
    b'{"a":"' + b"x" * 5000 + b'"}',
    b'{"a":1 , "b" : [1 , 2] }',
    b'{"a":1}\n',
    b'{"a":\t1}',
    b'{"a":1}\x0c',
]


@pytest.mark.parametrize("data", EDGE_CASES)
def test_edge_cases_read_like_json_loads(data: bytes) -> None:
    assert_reads_like_json_loads(data)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
claim_names = st.sampled_from(["exp", "iat", "nbf", "iss", "sub", "aud", "jti", "alg", "kid"])


@settings(max_examples=600, deadline=None)
@given(
    st.dictionaries(claim_names | st.text(max_size=10), json_values, max_size=10),
    st.booleans(),
    st.sampled_from([None, (",", ":"), (" , ", " : ")]),
    st.sampled_from([None, 1]),
)
def test_documents_read_like_json_loads(
    document: dict[str, Any],
    ensure_ascii: bool,
    separators: tuple[str, str] | None,
    indent: int | None,
) -> None:
    text = json.dumps(document, ensure_ascii=ensure_ascii, separators=separators, indent=indent)
    assert_reads_like_json_loads(text.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40).map(lambda tail: b'{"exp":1,"a":' + tail))
def test_broken_documents_fail_like_json_loads(data: bytes) -> None:
    assert_reads_like_json_loads(data)
