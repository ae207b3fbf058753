"""The batch functions take ``decode``'s arguments: order, warnings, set-up errors, types.

HMAC keys only (and stand-in tokens for other algorithms): this file needs no
``cryptography``, so it also runs in the environment without it.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import turbojwt
from turbojwt.api_jwt import PyJWT
from turbojwt.utils import base64url_encode
from turbojwt.warnings import RemovedInPyjwt3Warning

SECRET = "arguments-secret-0123456789-0123456789"
NOW = int(time.time())
CLAIMS = {"sub": "alice", "iss": "me", "aud": "api", "exp": NOW + 600}
TOKEN = turbojwt.encode(CLAIMS, SECRET)
PEM_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
    "-----END PUBLIC KEY-----\n"
)
BATCHES: dict[str, Callable[..., Any]] = {
    "decode_batch": turbojwt.decode_batch,
    "decode_complete_batch": turbojwt.decode_complete_batch,
    "decode_iter": lambda *args, **kwargs: list(turbojwt.decode_iter(*args, **kwargs)),
}


def stand_in(alg: str) -> str:
    """A token whose header says ``alg``, with a signature no key produces."""
    header = base64url_encode(json.dumps({"alg": alg, "typ": "JWT"}).encode()).decode()
    payload = base64url_encode(json.dumps(CLAIMS).encode()).decode()
    return f"{header}.{payload}.c2lnbmF0dXJl"


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:
        return (type(error), str(error))


def described(items: list[Any]) -> list[Any]:
    return [(type(item), str(item)) if isinstance(item, Exception) else item for item in items]


# --- argument order ----------------------------------------------------------------------


def parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())


@pytest.mark.parametrize(
    ("batch", "single"),
    [
        (turbojwt.decode_batch, PyJWT.decode),
        (turbojwt.decode_complete_batch, PyJWT.decode_complete),
        (turbojwt.decode_iter, PyJWT.decode),
    ],
)
def test_positional_parameters_are_decodes_own(
    batch: Callable[..., Any], single: Callable[..., Any]
) -> None:
    ordinary = [p for p in parameters(single)[1:] if p.kind is p.POSITIONAL_OR_KEYWORD]
    batch_positional = [p for p in parameters(batch) if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert batch_positional[0].name == "tokens"
    assert [(p.name, p.default) for p in batch_positional[1:]] == [
        (p.name, p.default) for p in ordinary[1:]
    ]
    # The batch-only parameters are keyword-only; extra keywords are taken as decode takes them.
    rest = parameters(batch)[len(batch_positional) :]
    assert {p.kind for p in rest[:-1]} == {inspect.Parameter.KEYWORD_ONLY}
    assert rest[-1].kind is inspect.Parameter.VAR_KEYWORD


def test_positional_arguments_mean_what_they_mean_in_decode() -> None:
    tokens = [TOKEN, TOKEN]
    # decode: jwt, key, algorithms, options, verify, detached_payload, audience, subject, issuer
    args = (SECRET, ["HS256"], None, None, None, "api", "alice", "me", 0)
    assert turbojwt.decode_batch(tokens, *args) == [turbojwt.decode(TOKEN, *args)] * 2
    assert list(turbojwt.decode_iter(tokens, *args)) == [CLAIMS, CLAIMS]
    # decode_complete: ..., audience, issuer, subject
    args = (SECRET, ["HS256"], None, None, None, "api", "me", "alice", 0)
    expected = turbojwt.decode_complete(TOKEN, *args)
    assert turbojwt.decode_complete_batch(tokens, *args) == [expected, expected]
    # In decode's order these are subject and issuer: "me" is no subject, "alice" no issuer.
    swapped = (SECRET, ["HS256"], None, None, None, "api", "me", "alice", 0)
    batch = turbojwt.decode_batch(tokens, *swapped)
    assert described(batch) == [outcome(lambda: turbojwt.decode(TOKEN, *swapped))] * 2
    assert isinstance(batch[0], turbojwt.InvalidIssuerError)


# --- verify, detached_payload and extra keyword arguments --------------------------------


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_verify_is_accepted_and_warned_about_once(name: str) -> None:
    tokens = [TOKEN] * 5
    kwargs: dict[str, Any] = {"algorithms": ["HS256"], "audience": "api"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = BATCHES[name](tokens, SECRET, verify=False, **kwargs)
        expected = turbojwt.decode_complete if "complete" in name else turbojwt.decode
        single = expected(TOKEN, SECRET, verify=False, **kwargs)
    assert results == [single] * 5
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
    batch_warning, decode_warning = caught
    assert str(batch_warning.message) == str(decode_warning.message)
    assert "The `verify` argument to `decode` does nothing" in str(batch_warning.message)
    assert batch_warning.filename == __file__
    # A verify that agrees with verify_signature is no mistake: no warning, as in decode.
    assert BATCHES[name](tokens, SECRET, verify=True, **kwargs) == [single] * 5


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_extra_keyword_arguments_warn_once_naming_the_function(name: str) -> None:
    tokens = [TOKEN, "not.a.token", TOKEN]
    with pytest.warns(RemovedInPyjwt3Warning) as caught:
        results = BATCHES[name](tokens, SECRET, algorithms=["HS256"], audience="api", colour=1)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"passing additional kwargs to {name}() is deprecated and will be removed in pyjwt "
        "version 3. Unsupported kwargs: ('colour',)"
    )
    assert caught[0].filename == __file__
    decode = turbojwt.decode_complete if "complete" in name else turbojwt.decode
    assert described(results) == [
        outcome(lambda t=token: decode(t, SECRET, algorithms=["HS256"], audience="api"))
        for token in tokens
    ]


def detached_token(payload: bytes) -> str:
    return turbojwt.PyJWS().encode(
        payload,
        SECRET,
        algorithm="HS256",
        headers={"b64": False, "crit": ["b64"]},
        is_payload_detached=True,
    )


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_detached_payload_applies_to_every_token(name: str) -> None:
    payload = json.dumps(CLAIMS).encode()
    detached = detached_token(payload)
    other = detached_token(b'{"sub": "mallory"}')
    tokens = [detached, TOKEN, other, detached]
    kwargs: dict[str, Any] = {"algorithms": ["HS256"], "audience": "api"}
    decode = turbojwt.decode_complete if "complete" in name else turbojwt.decode
    results = BATCHES[name](tokens, SECRET, detached_payload=payload, **kwargs)
    assert described(results) == [
        outcome(lambda t=token: decode(t, SECRET, detached_payload=payload, **kwargs))
        for token in tokens
    ]
    claims = [item["payload"] if "complete" in name else item for item in results[::3]]
    assert claims == [CLAIMS, CLAIMS]
    # A token with a payload of its own may not be given a detached one (PyJWS's rule)...
    assert isinstance(results[1], turbojwt.DecodeError)
    # ...and a detached signature over other bytes does not verify this payload.
    assert isinstance(results[2], turbojwt.InvalidSignatureError)
    # Without detached_payload, a b64=false token cannot be decoded: decode's error, per token.
    assert described(BATCHES[name]([detached], SECRET, **kwargs)) == [
        outcome(lambda: decode(detached, SECRET, **kwargs))
    ]


# --- what is not a list of tokens --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BATCHES))
@pytest.mark.parametrize("tokens", [TOKEN, TOKEN.encode(), bytearray(TOKEN.encode())])
def test_a_single_token_is_refused_not_read_character_by_character(name: str, tokens: Any) -> None:
    with pytest.raises(TypeError, match=r"takes an iterable of tokens, not a single"):
        BATCHES[name](tokens, SECRET, algorithms=["HS256"])


# --- set-up errors: raised once, before any token is read -------------------------------

SETUP_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("no algorithms", {"key": SECRET}, TOKEN),
    ("None key", {"key": None, "algorithms": ["HS256"]}, TOKEN),
    ("integer key", {"key": 5, "algorithms": ["HS256", "HS512"]}, TOKEN),
    ("options not a dict", {"key": SECRET, "algorithms": ["HS256"], "options": "x"}, TOKEN),
    (
        "require not a list",
        {"key": SECRET, "algorithms": ["HS256"], "options": {"require": 5}},
        TOKEN,
    ),
    ("unknown algorithm", {"key": SECRET, "algorithms": ["HS999"]}, stand_in("HS999")),
    ("audience not iterable", {"key": SECRET, "algorithms": ["HS256"], "audience": 5}, TOKEN),
    ("public key as HMAC secret", {"key": PEM_PUBLIC_KEY, "algorithms": ["HS256"]}, TOKEN),
    ("HMAC secret as RS256 key", {"key": SECRET, "algorithms": ["RS256"]}, stand_in("RS256")),
    (
        "short secret, enforced",
        {
            "key": "short",
            "algorithms": ["HS256"],
            "options": {"enforce_minimum_key_length": True},
        },
        TOKEN,
    ),
]


@pytest.mark.parametrize("name", sorted(BATCHES))
@pytest.mark.parametrize(
    ("kwargs", "token"), [case[1:] for case in SETUP_ERRORS], ids=[case[0] for case in SETUP_ERRORS]
)
def test_setup_errors_are_raised_once_before_reading_tokens(
    name: str, kwargs: dict[str, Any], token: str
) -> None:
    decode = turbojwt.decode_complete if "complete" in name else turbojwt.decode
    # What decode raises for a token these arguments are meant for.
    with pytest.raises(Exception) as expected:  # any class: compared below
        decode(token, **kwargs)
    drawn = 0

    def tokens() -> Iterator[str]:
        nonlocal drawn
        for _ in range(50):
            drawn += 1
            yield token

    with pytest.raises(type(expected.value)) as raised:
        BATCHES[name](tokens(), **kwargs)
    assert str(raised.value) == str(expected.value)
    assert drawn == 0


def test_decode_iter_checks_its_arguments_when_called() -> None:
    with pytest.raises(turbojwt.DecodeError, match="algorithms"):
        turbojwt.decode_iter(iter([TOKEN]), SECRET)


def test_a_key_usable_with_one_allowed_algorithm_is_no_setup_error() -> None:
    # The secret cannot be an RS256 key, but it is an HS256 one: each token gets decode's result.
    tokens = [TOKEN, stand_in("RS256"), stand_in("HS256")]
    kwargs: dict[str, Any] = {"algorithms": ["RS256", "HS256"], "audience": "api"}
    results = turbojwt.decode_batch(tokens, SECRET, **kwargs)
    assert described(results) == [
        outcome(lambda t=token: turbojwt.decode(t, SECRET, **kwargs)) for token in tokens
    ]
    assert results[0] == CLAIMS


def test_arguments_without_verification_need_no_key_or_algorithms() -> None:
    options: dict[str, Any] = {"verify_signature": False}
    assert turbojwt.decode_batch([TOKEN], None, options=options) == [CLAIMS]


def test_a_token_level_failure_stays_a_per_token_result() -> None:
    # A required claim every token lacks is still each token's own MissingRequiredClaimError.
    kwargs: dict[str, Any] = {"algorithms": ["HS256"], "options": {"require": ["jti"]}}
    results = turbojwt.decode_batch([TOKEN, TOKEN], SECRET, audience="api", **kwargs)
    assert [type(item) for item in results] == [turbojwt.MissingRequiredClaimError] * 2


# --- typing ------------------------------------------------------------------------------


def run_mypy(cache: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    package_root = Path(turbojwt.__file__).resolve().parent.parent
    environment = {**os.environ, "MYPYPATH": str(package_root)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file=",
            f"--cache-dir={cache}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def test_options_typed_dict_type_checks(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    usage = Path(__file__).parent / "typing" / "batch_usage.py"
    checked = run_mypy(tmp_path, str(usage))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The check is real: a wrongly typed option is an error.
    wrong = run_mypy(
        tmp_path,
        "-c",
        'import turbojwt\nturbojwt.decode_batch([], "k", ["HS256"], {"verify_exp": "no"})',
    )
    assert wrong.returncode == 1
    assert 'incompatible type "dict[str, str]"; expected "Options | None"' in wrong.stdout
