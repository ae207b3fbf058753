"""PyJWT's warnings, with its categories and messages, and no warning PyJWT does not emit."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import pytest
from _target import SECRET, Raises, check_expectation, compare, forge, sign

DIGEST_SIZES = {"HS256": 32, "HS384": 48, "HS512": 64}
PAYLOAD = {"sub": "user", "n": 1}

InsecureKeyLength = "warnings.InsecureKeyLengthWarning"
RemovedInPyjwt3 = "warnings.RemovedInPyjwt3Warning"


def key_length_message(length: int, alg: str) -> str:
    return (
        f"The HMAC key is {length} bytes long, which is below the minimum recommended "
        f"length of {DIGEST_SIZES[alg]} bytes for SHA{alg[2:]}. See RFC 7518 Section 3.2."
    )


def warnings_of(call: Callable[[ModuleType], Any]) -> list[tuple[str, str]]:
    """The warnings the target emits, after checking they are exactly PyJWT's."""
    return compare(call).warning_list()


# (alg, key, its length in bytes): str keys count their UTF-8 bytes.
SHORT_KEYS = [
    ("HS256", "k", 1),
    ("HS256", "k" * 31, 31),
    ("HS256", b"\x00" * 31, 31),
    ("HS256", "é" * 15, 30),
    ("HS384", b"k" * 47, 47),
    ("HS384", "k" * 32, 32),
    ("HS512", "k" * 63, 63),
    ("HS512", b"k" * 48, 48),
]
LONG_ENOUGH_KEYS = [
    ("HS256", "k" * 32),
    ("HS256", "é" * 16),
    ("HS384", b"k" * 48),
    ("HS512", "k" * 64),
    ("HS512", SECRET),
]


@pytest.mark.parametrize(("alg", "key", "length"), SHORT_KEYS)
def test_short_hmac_key_warns_on_encode(alg: str, key: str | bytes, length: int) -> None:
    expected = [(InsecureKeyLength, key_length_message(length, alg))]
    assert warnings_of(lambda lib: lib.encode(PAYLOAD, key, algorithm=alg)) == expected


@pytest.mark.parametrize(("alg", "key", "length"), SHORT_KEYS)
def test_short_hmac_key_warns_on_decode(alg: str, key: str | bytes, length: int) -> None:
    token = forge({"alg": alg}, PAYLOAD, key)
    expected = [(InsecureKeyLength, key_length_message(length, alg))]
    assert warnings_of(lambda lib: lib.decode(token, key, algorithms=[alg])) == expected
    assert warnings_of(lambda lib: lib.decode_complete(token, key, algorithms=[alg])) == expected
    assert warnings_of(lambda lib: lib.api_jws.decode(token, key, algorithms=[alg])) == expected


@pytest.mark.parametrize(("alg", "key", "length"), SHORT_KEYS[:3])
def test_short_key_warns_before_a_failed_verification(
    alg: str, key: str | bytes, length: int
) -> None:
    token = forge({"alg": alg}, PAYLOAD, "another key entirely, long enough for any alg" * 2)
    expected = [(InsecureKeyLength, key_length_message(length, alg))]
    assert warnings_of(lambda lib: lib.decode(token, key, algorithms=[alg])) == expected


def test_invalid_payload_is_refused_before_the_key_is_looked_at() -> None:
    # PyJWT decodes the payload segment in `_load`, before the key: no key warning.
    header, body, signature = forge({"alg": "HS256"}, PAYLOAD, "k").split(".")
    token = f"{header}./{body}.{signature}"
    for name in ("decode", "decode_complete"):

        def call(lib: ModuleType, name: str = name) -> Any:
            return getattr(lib, name)(token, "k", algorithms=["HS256"])

        check_expectation(call, Raises("DecodeError", "Invalid payload padding"))
        assert warnings_of(call) == []


def test_short_key_is_not_checked_without_signature_verification() -> None:
    token = forge({"alg": "HS256"}, PAYLOAD, "k")
    options = {"verify_signature": False}
    assert warnings_of(lambda lib: lib.decode(token, "k", options=options)) == []


@pytest.mark.parametrize(("alg", "key"), LONG_ENOUGH_KEYS)
def test_long_enough_key_does_not_warn(alg: str, key: str | bytes) -> None:
    assert warnings_of(lambda lib: lib.encode(PAYLOAD, key, algorithm=alg)) == []
    token = forge({"alg": alg}, PAYLOAD, key)
    assert warnings_of(lambda lib: lib.decode(token, key, algorithms=[alg])) == []


@pytest.mark.parametrize(("alg", "key", "length"), SHORT_KEYS)
def test_enforced_minimum_key_length_rejects_short_key_on_decode(
    alg: str, key: str | bytes, length: int
) -> None:
    token = forge({"alg": alg}, PAYLOAD, key)
    expected = Raises("InvalidKeyError", key_length_message(length, alg))
    options = {"enforce_minimum_key_length": True}
    outcome = check_expectation(
        lambda lib: lib.decode(token, key, algorithms=[alg], options=options), expected
    )
    assert outcome.warnings == []


@pytest.mark.parametrize(("alg", "key", "length"), SHORT_KEYS[:4])
def test_enforced_minimum_key_length_per_instance(alg: str, key: str | bytes, length: int) -> None:
    token = forge({"alg": alg}, PAYLOAD, key)
    expected = Raises("InvalidKeyError", key_length_message(length, alg))
    options = {"enforce_minimum_key_length": True}
    check_expectation(lambda lib: lib.PyJWT(options).encode(PAYLOAD, key, alg), expected)
    check_expectation(lambda lib: lib.PyJWT(options).decode(token, key, [alg]), expected)
    check_expectation(lambda lib: lib.PyJWS(options=options).decode(token, key, [alg]), expected)
    check_expectation(lambda lib: lib.PyJWS(options=options).encode(b"{}", key, alg), expected)


def test_per_call_option_overrides_instance_enforcement() -> None:
    token = forge({"alg": "HS256"}, PAYLOAD, "k")
    instance_options = {"enforce_minimum_key_length": True}
    call_options = {"enforce_minimum_key_length": False}
    outcome = check_expectation(
        lambda lib: lib.PyJWT(instance_options).decode(token, "k", ["HS256"], call_options),
        PAYLOAD,
    )
    assert outcome.warning_list() == [(InsecureKeyLength, key_length_message(1, "HS256"))]


@pytest.mark.parametrize(("alg", "key"), LONG_ENOUGH_KEYS)
def test_enforced_minimum_key_length_accepts_long_enough_key(alg: str, key: str | bytes) -> None:
    token = forge({"alg": alg, "typ": "JWT"}, PAYLOAD, key)
    options = {"enforce_minimum_key_length": True}
    check_expectation(lambda lib: lib.decode(token, key, [alg], options=options), PAYLOAD)
    check_expectation(lambda lib: lib.PyJWT(options).encode(PAYLOAD, key, alg), token)


def test_empty_key_is_an_error_not_a_warning() -> None:
    token = forge({"alg": "HS256"}, PAYLOAD, "k")
    expected = Raises("InvalidKeyError", "HMAC key must not be empty.")
    check_expectation(lambda lib: lib.decode(token, "", algorithms=["HS256"]), expected)
    check_expectation(lambda lib: lib.encode(PAYLOAD, b"", algorithm="HS256"), expected)


def removed_kwargs_message(function: str, names: tuple[str, ...]) -> str:
    return (
        f"passing additional kwargs to {function}() is deprecated and will be removed in "
        f"pyjwt version 3. Unsupported kwargs: {names}"
    )


TOKEN = forge({"alg": "HS256", "typ": "JWT"}, PAYLOAD)


@pytest.mark.parametrize(
    ("function", "kwargs"),
    [
        ("decode", {"foo": 1}),
        ("decode", {"foo": 1, "bar": None}),
        ("decode_complete", {"require_exp": True}),
        ("api_jws.decode", {"foo": 1}),
        ("api_jws.decode_complete", {"foo": 1, "verify_exp": False}),
    ],
)
def test_extra_kwargs_warn_removed_in_pyjwt3(function: str, kwargs: dict[str, Any]) -> None:
    def call(lib: ModuleType) -> Any:
        owner: Any = lib
        for part in function.split("."):
            owner = getattr(owner, part)
        return owner(TOKEN, SECRET, algorithms=["HS256"], **kwargs)

    name = function.rsplit(".", 1)[-1]
    expected = [(RemovedInPyjwt3, removed_kwargs_message(name, tuple(kwargs)))]
    assert warnings_of(call) == expected


def test_removed_kwargs_warning_is_a_deprecation_warning(target: ModuleType) -> None:
    assert issubclass(target.warnings.RemovedInPyjwt3Warning, DeprecationWarning)
    assert issubclass(target.warnings.InsecureKeyLengthWarning, UserWarning)
    assert target.InsecureKeyLengthWarning is target.warnings.InsecureKeyLengthWarning


VERIFY_MISMATCH = (
    "builtins.DeprecationWarning",
    "The `verify` argument to `decode` does nothing in PyJWT 2.0 and newer. The equivalent "
    "is setting `verify_signature` to False in the `options` dictionary. This invocation "
    "has a mismatch between the kwarg and the option entry.",
)


@pytest.mark.parametrize(
    ("verify", "options", "warns"),
    [
        (False, None, True),
        (True, None, False),
        (None, None, False),
        (False, {"verify_signature": False}, False),
        (True, {"verify_signature": False}, True),
        (False, {}, True),
        (False, {"verify_exp": False}, True),
        (0, None, True),
        (0, {"verify_signature": False}, False),
        (1, None, False),
        ("yes", None, True),
    ],
)
def test_mismatching_verify_argument_warns(verify: Any, options: Any, warns: bool) -> None:
    expected = [VERIFY_MISMATCH] if warns else []
    arguments = {"algorithms": ["HS256"], "options": options, "verify": verify}
    assert warnings_of(lambda lib: lib.decode(TOKEN, SECRET, **arguments)) == expected
    assert warnings_of(lambda lib: lib.decode_complete(TOKEN, SECRET, **arguments)) == expected


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda lib: lib.encode(PAYLOAD, SECRET), id="encode"),
        pytest.param(lambda lib: lib.encode(PAYLOAD, None, algorithm=None), id="encode-none"),
        pytest.param(lambda lib: lib.encode(PAYLOAD, "", algorithm="none"), id="encode-none-empty"),
        pytest.param(
            lambda lib: lib.encode(PAYLOAD, SECRET, headers={"kid": "k"}, sort_headers=False),
            id="encode-headers",
        ),
        pytest.param(lambda lib: lib.decode(TOKEN, SECRET, algorithms=["HS256"]), id="decode"),
        pytest.param(
            lambda lib: lib.decode(TOKEN, SECRET.encode(), algorithms="HS256"), id="decode-str-algs"
        ),
        pytest.param(
            lambda lib: lib.decode_complete(TOKEN, SECRET, algorithms=["HS256"]), id="complete"
        ),
        pytest.param(
            lambda lib: lib.decode(TOKEN, options={"verify_signature": False}), id="unverified"
        ),
        pytest.param(lambda lib: lib.get_unverified_header(TOKEN), id="header"),
        pytest.param(
            lambda lib: lib.decode(
                sign("eyJhbGciOiJub25lIn0.e30", alg="none"), algorithms=["none"]
            ),
            id="alg-none-rejected",
        ),
        pytest.param(
            lambda lib: lib.decode(forge({"alg": "HS256"}, {"exp": 1}), SECRET, ["HS256"]),
            id="expired",
        ),
        pytest.param(lambda lib: lib.decode("a.b.c", SECRET, ["HS256"]), id="malformed"),
        pytest.param(
            lambda lib: lib.PyJWT({"verify_exp": False}).decode(TOKEN, SECRET, ["HS256"]),
            id="instance",
        ),
        pytest.param(
            lambda lib: lib.api_jws.encode(b"{}", SECRET, "HS384", is_payload_detached=True),
            id="jws-detached",
        ),
    ],
)
def test_no_other_warning_on_common_paths(call: Callable[[ModuleType], Any]) -> None:
    assert warnings_of(call) == []
