"""``extract_bearer``: the RFC 6750 ``Authorization: Bearer`` header, parsed natively."""

from __future__ import annotations

import pickle
import re
from typing import Any, Union

import pytest
import turbojwt
import turbojwt.auth
from hypothesis import given
from hypothesis import strategies as st
from turbojwt._turbojwt import extract_bearer as native_extract_bearer
from turbojwt.auth import (
    AuthorizationHeaderError,
    MalformedAuthorizationError,
    MissingAuthorizationError,
    UnsupportedSchemeError,
    extract_bearer,
)

TOKEN68_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9."
    "Ql0WZ0mtI6rAFs9G5yF8Dyi2jBzsV2ZCKz_MtX1IeWs"
)


# --- a reference implementation of the grammar, for the property test ---

_CREDENTIALS = re.compile(r"([^ \t]+)(?:([ \t]+)(.*))?", re.DOTALL)
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

Outcome = Union[str, type]


def reference_extract(value: str | bytes | None) -> Outcome:
    """The token, or the exception class RFC 7235/6750's grammar calls for."""
    if value is None:
        return MissingAuthorizationError
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip(" \t")  # OWS around a field value
    if not text:
        return MissingAuthorizationError
    match = _CREDENTIALS.fullmatch(text)
    assert match is not None
    scheme, separator, token = match.groups()
    if not (scheme.isascii() and scheme.lower() == "bearer"):
        return UnsupportedSchemeError
    if not token:
        return MalformedAuthorizationError
    if "\t" in separator:  # credentials = auth-scheme 1*SP token68
        return MalformedAuthorizationError
    if not _TOKEN68.fullmatch(token):
        return MalformedAuthorizationError
    return token


def native_outcome(value: Any) -> Outcome:
    try:
        token = extract_bearer(value)
    except AuthorizationHeaderError as error:
        return type(error)
    assert type(token) is str
    return token


# --- accepted headers ---


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("bEaReR abc", "abc"),
        (f"Bearer {JWT}", JWT),
        ("Bearer    abc", "abc"),  # 1*SP
        ("  Bearer abc  ", "abc"),  # OWS around the value
        ("\tBearer abc\t", "abc"),
        (" \t Bearer  abc \t ", "abc"),
        ("Bearer abc=", "abc="),
        ("Bearer abc==", "abc=="),
        ("Bearer abc=====", "abc====="),  # token68 allows any run of trailing "="
        (f"Bearer {TOKEN68_ALPHABET}", TOKEN68_ALPHABET),
        ("Bearer a", "a"),
        ("Bearer ~", "~"),
    ],
)
def test_accepts_one_bearer_token(header: str, token: str) -> None:
    assert extract_bearer(header) == token
    assert extract_bearer(header.encode("ascii")) == token


def test_bytes_give_a_str_token() -> None:
    token = extract_bearer(b"Bearer abc.def")
    assert type(token) is str
    assert token == "abc.def"


# --- refused headers ---


@pytest.mark.parametrize("header", [None, "", " ", "\t", "  \t  ", b"", b" \t"])
def test_missing_header(header: str | bytes | None) -> None:
    with pytest.raises(MissingAuthorizationError) as info:
        extract_bearer(header)
    assert str(info.value) == "Authorization header is missing"


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Digest username=alice",
        "Token abc",
        "DPoP abc",
        JWT,  # a token without its scheme
        "Bearerabc",
        "Bearer,abc",
        "Bearer= abc",
        "Bear abc",
        "Bearers abc",
        "B\u00e9arer abc",  # non-ASCII look-alike
        "\u0392earer abc",  # Greek capital beta
        "Bearer\u00a0abc",  # NBSP is not a separator: one unknown scheme
        "\nBearer abc",  # only SP and HTAB are OWS
        b"B\xe9arer abc",
    ],
)
def test_other_scheme(header: str | bytes) -> None:
    with pytest.raises(UnsupportedSchemeError) as info:
        extract_bearer(header)
    assert str(info.value) == "Authorization header does not use the Bearer scheme"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", "Authorization header has no Bearer token"),
        ("bearer", "Authorization header has no Bearer token"),
        ("Bearer   ", "Authorization header has no Bearer token"),
        ("Bearer \t", "Authorization header has no Bearer token"),
        ("Bearer a b", "Authorization header must hold exactly one Bearer token"),
        ("Bearer abc  def", "Authorization header must hold exactly one Bearer token"),
        ("Bearer a\tb", "Authorization header must hold exactly one Bearer token"),
        ("Bearer a, Bearer b", "Authorization header must hold exactly one Bearer token"),
        (
            "Bearer\tabc",
            "Authorization header must separate the scheme and the token with spaces",
        ),
        (
            "Bearer \tabc",
            "Authorization header must separate the scheme and the token with spaces",
        ),
    ],
)
def test_malformed_credentials(header: str, message: str) -> None:
    with pytest.raises(MalformedAuthorizationError) as info:
        extract_bearer(header)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "token",
    [
        "=abc",  # padding first
        "a=b",  # padding inside
        "===",  # padding only
        "abc,",
        '"abc"',
        "abc;",
        "a\\b",
        "abc\x00",
        "a\nb",
        "a\rb",
        "caf\u00e9",
        "\u0430bc",  # Cyrillic a
        "abc\u200b",  # zero-width space
        "abc\ud800",  # lone surrogate
        "\U0001f600",
    ],
)
def test_token_outside_token68(token: str) -> None:
    with pytest.raises(MalformedAuthorizationError) as info:
        extract_bearer(f"Bearer {token}")
    assert str(info.value) == (
        "Bearer token must be token68: letters, digits, -._~+/ and trailing = only"
    )


def test_bytes_are_latin_1() -> None:
    # Each byte is one character, so a byte above 0x7f is a non-ASCII character, never an
    # error of its own (no UnicodeDecodeError).
    with pytest.raises(MalformedAuthorizationError):
        extract_bearer(b"Bearer abc\xff")
    with pytest.raises(MalformedAuthorizationError):
        extract_bearer("Bearer caf\u00e9".encode())


@pytest.mark.parametrize("value", [1, 1.5, ["Bearer abc"], bytearray(b"Bearer abc"), object()])
def test_other_types_are_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="must be str, bytes or None"):
        extract_bearer(value)


def test_messages_fit_in_a_www_authenticate_header() -> None:
    # RFC 6750 3: error_description is printable ASCII without '"' and '\'.
    headers = [None, "Basic x", "Bearer", "Bearer a b", "Bearer\ta", "Bearer \u00e9"]
    for header in headers:
        with pytest.raises(AuthorizationHeaderError) as info:
            extract_bearer(header)
        message = str(info.value)
        assert message.isascii() and message.isprintable()
        assert '"' not in message and "\\" not in message


# --- classes and wiring ---


def test_exception_hierarchy() -> None:
    for cls in (MissingAuthorizationError, UnsupportedSchemeError, MalformedAuthorizationError):
        assert issubclass(cls, AuthorizationHeaderError)
    assert issubclass(AuthorizationHeaderError, turbojwt.InvalidTokenError)
    assert issubclass(AuthorizationHeaderError, turbojwt.PyJWTError)


def test_errors_pickle() -> None:
    with pytest.raises(MalformedAuthorizationError) as info:
        extract_bearer("Bearer a b")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is MalformedAuthorizationError
    assert str(copy) == str(info.value)


def test_the_native_parser_is_called_directly() -> None:
    assert turbojwt.auth.bearer.extract_bearer is native_extract_bearer
    assert turbojwt.auth.extract_bearer is native_extract_bearer
    assert native_extract_bearer.__doc__


# --- the grammar, property-tested against the reference ---

_PIECES = st.sampled_from(
    [
        "Bearer",
        "bearer",
        "BEARER",
        "Basic",
        "Bear",
        "Bearerx",
        " ",
        "  ",
        "\t",
        "=",
        "==",
        "a",
        "Zz09",
        "-._~+/",
        ",",
        '"',
        "\\",
        "\x00",
        "\n",
        "\r",
        "\u00e9",
        "\u00a0",
        "\u0130",  # I with dot: lower() changes its length
        "\u212a",  # Kelvin sign: lower() is ASCII "k"
        "\ud800",
        "\U0001f600",
    ]
)
header_like = st.lists(_PIECES, max_size=8).map("".join)
bearer_like = st.tuples(
    st.sampled_from(["Bearer", "bearer", "BeArEr", " Bearer", "\tBearer"]),
    st.sampled_from([" ", "  ", "\t", " \t", ""]),
    st.text(alphabet=TOKEN68_ALPHABET + "= \t,\u00e9", max_size=12),
    st.sampled_from(["", " ", "\t", "=", "=="]),
).map("".join)


@given(
    st.one_of(
        st.none(),
        header_like,
        bearer_like,
        bearer_like.map(lambda text: text.encode("utf-8")),
        st.text(),
        st.binary(),
        st.binary().map(lambda data: b"Bearer " + data),
    )
)
def test_native_parser_matches_the_grammar(value: str | bytes | None) -> None:
    # Only AuthorizationHeaderError may escape (native_outcome lets anything else through).
    assert native_outcome(value) == reference_extract(value)


@given(st.text(alphabet=TOKEN68_ALPHABET, min_size=1), st.integers(0, 3), st.integers(1, 4))
def test_every_token68_token_round_trips(body: str, padding: int, spaces: int) -> None:
    token = body + "=" * padding
    assert extract_bearer("Bearer" + " " * spaces + token) == token
