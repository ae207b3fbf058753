"""The module under test, PyJWT as the reference, and how their behaviour is compared.

The target is ``$TURBOJWT_TEST_TARGET`` (default ``turbojwt``). Setting it to ``jwt`` runs
the suite against PyJWT itself, which checks that every expectation written here is
PyJWT's real behaviour.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import importlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Optional

import pytest

TARGET_NAME = os.environ.get("TURBOJWT_TEST_TARGET", "turbojwt")
# When the target is PyJWT, it is its own reference and no improvement is expected.
TARGET_IS_REFERENCE = TARGET_NAME == "jwt"

tj = importlib.import_module(TARGET_NAME)
ref = importlib.import_module("jwt")

requires_turbojwt = pytest.mark.skipif(
    TARGET_IS_REFERENCE, reason="asserts a documented turbojwt improvement over PyJWT"
)


def submodule(lib: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{lib.__name__}.{name}")


def exceptions_of(lib: ModuleType) -> ModuleType:
    return submodule(lib, "exceptions")


# --- token forging (stdlib only, so tokens PyJWT refuses to encode can be built) ---

# 70 bytes: long enough for HS512, so it never triggers InsecureKeyLengthWarning.
SECRET = "s3cr3t-key-" * 7
HMAC_HASHES: dict[str, Callable[..., Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def sign(signing_input: str, key: str | bytes = SECRET, alg: Any = "HS256") -> str:
    """Append the signature segment; algorithms other than HS* get an empty signature."""
    hash_alg = HMAC_HASHES.get(alg) if isinstance(alg, str) else None
    if hash_alg is None:
        signature = b""
    else:
        key_bytes = key.encode("utf-8") if isinstance(key, str) else key
        signature = hmac.new(key_bytes, signing_input.encode("utf-8"), hash_alg).digest()
    return f"{signing_input}.{b64url(signature)}"


def forge(
    header: dict[str, Any] | bytes,
    payload: dict[str, Any] | bytes,
    key: str | bytes = SECRET,
    alg: Any = None,
) -> str:
    """A token over any header/payload JSON, signed as ``alg`` (default: the header's)."""
    header_bytes = header if isinstance(header, bytes) else compact_json(header)
    payload_bytes = payload if isinstance(payload, bytes) else compact_json(payload)
    if alg is None and isinstance(header, dict):
        alg = header.get("alg")
    return sign(f"{b64url(header_bytes)}.{b64url(payload_bytes)}", key, alg)



def lane_mix(key: str) -> list[str]:
    """Tokens for the paths that compute HS256 MACs four tokens at a time: payloads of every
    length across SHA-256's block boundaries, signatures swapped between neighbours in any
    of the four lanes (well-formed, and forged), and HS384 tokens (another key use)."""
    tokens: list[str] = []
    for i in range(240):
        alg = "HS384" if i % 5 == 0 else "HS256"
        token = forge({"alg": alg, "typ": "JWT"}, {"sub": "x" * i, "n": i}, key)
        if i % 3 == 1:  # the previous token's signature
            token = token.rsplit(".", 1)[0] + "." + tokens[-1].rsplit(".", 1)[1]
        tokens.append(token)
    return tokens

# --- outcomes ---


@dataclass
class Outcome:
    lib: ModuleType
    value: Any = None
    error: Optional[Exception] = None
    warnings: list[warnings.WarningMessage] = field(default_factory=list)

    def warning_list(self) -> list[tuple[str, str]]:
        return [(describe_class(w.category, self.lib), str(w.message)) for w in self.warnings]


def run(lib: ModuleType, call: Callable[[ModuleType], Any]) -> Outcome:
    """Call ``call(lib)``, recording its result or exception and every warning it emits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call(lib)
        except Exception as exc:
            return Outcome(lib, error=exc, warnings=list(caught))
    return Outcome(lib, value=value, warnings=list(caught))


def describe_class(cls: type, lib: ModuleType) -> str:
    """``exceptions.DecodeError`` for the library's own classes, else the qualified name."""
    for module_name in ("exceptions", "warnings"):
        module = submodule(lib, module_name)
        if getattr(module, cls.__name__, None) is cls:
            return f"{module_name}.{cls.__name__}"
    return qualified_name(cls)


def is_documented_improvement(leaked: type, target_error: Exception) -> bool:
    """Where PyJWT leaks a builtin, turbojwt may raise its own class deriving from both."""
    if TARGET_IS_REFERENCE or describe_class(leaked, ref) != qualified_name(leaked):
        return False  # no latitude against PyJWT itself, nor where PyJWT raises its own class
    own = exceptions_of(tj)
    return (
        isinstance(target_error, leaked)
        and isinstance(target_error, own.PyJWTError)
        and getattr(own, type(target_error).__name__, None) is type(target_error)
    )


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def assert_same_exception(reference_error: Exception, target_error: Exception) -> None:
    expected = describe_class(type(reference_error), ref)
    actual = describe_class(type(target_error), tj)
    if actual != expected:
        assert is_documented_improvement(type(reference_error), target_error), (
            f"target raised {actual}({target_error}), PyJWT raised {expected}({reference_error})"
        )
    assert str(target_error) == str(reference_error)
    if expected.startswith("exceptions."):
        assert same_value(target_error.args, reference_error.args), (
            target_error.args,
            reference_error.args,
        )
        assert getattr(target_error, "claim", None) == getattr(reference_error, "claim", None)


def assert_same_outcome(reference: Outcome, target: Outcome) -> None:
    assert target.warning_list() == reference.warning_list()
    if reference.error is not None:
        assert target.error is not None, (
            f"target returned {target.value!r}, PyJWT raised {reference.error!r}"
        )
        assert_same_exception(reference.error, target.error)
    else:
        assert target.error is None, (
            f"target raised {target.error!r}, PyJWT returned {reference.value!r}"
        )
        assert same_value(target.value, reference.value), (target.value, reference.value)


def compare(call: Callable[[ModuleType], Any]) -> Outcome:
    """Run ``call`` on PyJWT and on the target, assert they behave alike, return the target's."""
    reference = run(ref, call)
    target = run(tj, call)
    assert_same_outcome(reference, target)
    return target


def same_value(a: Any, b: Any) -> bool:
    """Equality that also requires equal types, dict order and float signs, and NaN == NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same_value(ka, kb) and same_value(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return bool(a == b)


# --- explicit expectations ---


@dataclass(frozen=True)
class Raises:
    """An expected exception: a class name (``DecodeError``, ``builtins.TypeError``) and message."""

    kind: str
    message: str

    def qualified(self) -> str:
        return self.kind if "." in self.kind else f"exceptions.{self.kind}"


def assert_raises_exactly(outcome: Outcome, expected: Raises) -> None:
    assert outcome.error is not None, f"returned {outcome.value!r}, expected {expected}"
    actual = describe_class(type(outcome.error), outcome.lib)
    if actual != expected.qualified():
        leaked = getattr(builtins, expected.kind.removeprefix("builtins."), None)
        assert (
            outcome.lib is tj
            and isinstance(leaked, type)
            and is_documented_improvement(leaked, outcome.error)
        ), f"raised {outcome.error!r}, expected {expected}"
    assert str(outcome.error) == expected.message


def check_expectation(call: Callable[[ModuleType], Any], expected: Any) -> Outcome:
    """The target meets ``expected`` (a Raises, or the return value), and so does PyJWT."""
    outcomes = [run(tj, call), run(ref, call)]
    for outcome in outcomes:
        if isinstance(expected, Raises):
            assert_raises_exactly(outcome, expected)
        else:
            assert outcome.error is None, f"{outcome.lib.__name__} raised {outcome.error!r}"
            assert same_value(outcome.value, expected), (outcome.value, expected)
    assert_same_outcome(outcomes[1], outcomes[0])
    return outcomes[0]
