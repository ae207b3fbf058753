"""Replay every ``decode`` a test makes through the Arrow column path, and compare.

With ``TURBOJWT_COLUMN_REPLAY=1`` (see ``conftest.py``), ``turbojwt.decode`` and
``turbojwt.decode_complete`` are wrapped: each call also verifies its token as a one-token
column with ``turbojwt.arrow.verify`` (or ``decode_unverified`` when the options turn
verification off) and asserts that the verdict is the call's own outcome: the same
exception class and message, or the same claims, header ``alg``/``kid`` and typed claim
columns. The call then returns or raises exactly what ``decode`` does, so the suites that
run under the replay (the attack and differential tests among them) still check ``decode``
against PyJWT, while every token they make also checks the column path against ``decode``.

Calls the column path cannot express are not replayed: a token that is not ``str`` or
``bytes`` (or not encodable as Arrow text), ``verify=``, ``detached_payload``, extra
keyword arguments, and a ``PyJWKSet`` key.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections import Counter
from typing import Any, Callable

import pyarrow as pa
import turbojwt
import turbojwt.api_jwt
from turbojwt import arrow

#: How many calls were replayed, and how (for the end-of-run summary).
REPLAYED: Counter[str] = Counter()


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, call()
    except Exception as error:  # compared, then re-raised by the wrapper
        return False, error


def _column(token: str | bytes) -> pa.Array | None:
    try:
        if isinstance(token, str):
            return pa.array([token], type=pa.string())
        return pa.array([bytes(token)], type=pa.binary())
    except (pa.ArrowException, UnicodeError):
        return None  # lone surrogates: not Arrow text


def _micros(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        micros = round(value * 1e6)
    else:
        micros = value * 1_000_000
    return micros if -(2**63) < micros < 2**63 else None


def _arrow_text(value: str) -> bool:
    """Whether ``value`` is valid Unicode text (no lone surrogates), as Arrow strings are."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _expected_row(complete: dict[str, Any]) -> dict[str, Any]:
    header, claims = complete["header"], complete["payload"]

    def text(mapping: dict[str, Any], name: str) -> str | None:
        value = mapping.get(name)
        return value if isinstance(value, str) and _arrow_text(value) else None

    aud = claims.get("aud")
    if isinstance(aud, str):
        aud = [aud]
    if not (isinstance(aud, list) and all(isinstance(i, str) and _arrow_text(i) for i in aud)):
        aud = None
    return {
        "valid": True,
        "error": None,
        "message": None,
        "alg": text(header, "alg"),
        "kid": text(header, "kid"),
        "iss": text(claims, "iss"),
        "sub": text(claims, "sub"),
        "aud": aud,
        "exp": _micros(claims.get("exp")),
        "nbf": _micros(claims.get("nbf")),
        "iat": _micros(claims.get("iat")),
        "jti": text(claims, "jti"),
    }


def _row(verdicts: Any) -> dict[str, Any]:
    table = pa.array(verdicts)
    assert len(table) == 1
    row = table.cast(
        pa.struct(
            [
                (field.name, pa.int64() if pa.types.is_timestamp(field.type) else field.type)
                for field in table.type
            ]
        )
    ).to_pylist()[0]
    return dict(row)


def _same_claims(expected: Any, actual: Any) -> bool:
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, float):
        if math.isnan(expected):
            return math.isnan(actual)
        return expected == actual and math.copysign(1, expected) == math.copysign(1, actual)
    if isinstance(expected, dict):
        return list(expected) == list(actual) and all(
            _same_claims(expected[key], actual[key]) for key in expected
        )
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(map(_same_claims, expected, actual))
    return bool(expected == actual)


def _check(token: Any, key: Any, arguments: dict[str, Any], complete: tuple[bool, Any]) -> None:
    column = _column(token)
    if column is None:
        REPLAYED["not Arrow text"] += 1
        return
    # decode_unverified is decode with these options and nothing else: other arguments
    # (an audience of the wrong type, say) are still checked by decode, so they go through
    # verify, whose options turn verification off just the same.
    options = arguments.get("options")
    unverified = options == {"verify_signature": False} and set(arguments) == {"options"}
    if unverified:
        verdict = _outcome(lambda: arrow.decode_unverified(column))
    else:
        verdict = _outcome(lambda: arrow.verify(column, key, **arguments))
    ok, result = complete
    if not verdict[0]:
        # Arguments no token could pass with are refused once, before the column is read
        # (as decode_batch refuses them): decode must have refused this token too, though
        # perhaps at an earlier check of its own (the token's alg, say).
        error = verdict[1]
        assert not ok, f"the column path refused {token!r} with {error!r}; decode accepted"
        REPLAYED["refused arguments"] += 1
        return
    row = _row(verdict[1])
    if not ok:
        message = str(result).encode("utf-8", "backslashreplace").decode("utf-8")
        expected = (False, type(result).__name__, message)
        assert (row["valid"], row["error"], row["message"]) == expected, token
        REPLAYED[f"invalid: {type(result).__name__}"] += 1
        return
    assert row["valid"], f"the column path refused {token!r} ({row}); decode accepted it"
    claims = json.loads(row.pop("claims"))
    assert _same_claims(result["payload"], claims), (token, result["payload"], claims)
    assert row == _expected_row(result), token
    REPLAYED["valid"] += 1


_DECODE_PARAMETERS = (
    "key",
    "algorithms",
    "options",
    "verify",
    "detached_payload",
    "audience",
    "subject",
    "issuer",
    "leeway",
)


def _replaying(original: Callable[..., Any], complete_result: bool) -> Callable[..., Any]:
    order = list(_DECODE_PARAMETERS)
    if complete_result:  # decode_complete takes issuer before subject
        subject, issuer = order.index("subject"), order.index("issuer")
        order[subject], order[issuer] = "issuer", "subject"

    @functools.wraps(original)
    def decode(jwt: Any, *args: Any, **kwargs: Any) -> Any:
        outcome = _outcome(lambda: original(jwt, *args, **kwargs))
        named = dict(zip(order, args))
        if len(args) > len(order) or set(named) & set(kwargs):
            return _finish(outcome)
        named.update(kwargs)
        replayable = (
            isinstance(jwt, (str, bytes))
            and named.get("verify") is None
            and named.get("detached_payload") is None
            and set(named) <= set(_DECODE_PARAMETERS)
            and not isinstance(named.get("key"), turbojwt.PyJWKSet)
        )
        if not replayable:
            REPLAYED["not replayable"] += 1
            return _finish(outcome)
        key = named.pop("key", "")
        named.pop("verify", None)
        named.pop("detached_payload", None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the call itself warned as decode does
            complete = outcome
            if outcome[0] and not complete_result:
                # The column reports the header too: read it as decode_complete does.
                decode_complete = _ORIGINALS[(turbojwt.api_jwt, "decode_complete")]
                complete = _outcome(lambda: decode_complete(jwt, key, **named))
                if not complete[0]:
                    raise AssertionError(f"decode_complete refused what decode accepted: {jwt!r}")
            _check(jwt, key, named, complete)
        return _finish(outcome)

    return decode


def _finish(outcome: tuple[bool, Any]) -> Any:
    ok, result = outcome
    if ok:
        return result
    raise result


_ORIGINALS: dict[tuple[Any, str], Any] = {}


def install() -> None:
    """Wrap ``decode``/``decode_complete`` wherever the package exposes them."""
    for module in (turbojwt, turbojwt.api_jwt):
        for name, complete in (("decode", False), ("decode_complete", True)):
            original = getattr(module, name)
            _ORIGINALS[(module, name)] = original
            setattr(module, name, _replaying(original, complete))


def summary() -> str:
    total = sum(REPLAYED.values())
    parts = ", ".join(f"{count} {kind}" for kind, count in REPLAYED.most_common())
    return f"column replay: {total} decode calls ({parts})"
