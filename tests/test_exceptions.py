"""The exception hierarchy and the public names are PyJWT's, module by module."""

from __future__ import annotations

import builtins
import collections.abc
import pickle
import typing
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

import pytest
from _target import (
    SECRET,
    exceptions_of,
    forge,
    ref,
    run,
    same_value,
    submodule,
    tj,
)

SUBMODULES = (
    "api_jwt",
    "api_jws",
    "api_jwk",
    "algorithms",
    "exceptions",
    "utils",
    "warnings",
    "types",
    "jwks_client",
    "jwk_set_cache",
)
# Module attributes that PyJWT's own test suite patches (``jwt.api_jwt.json.loads`` ...).
PATCHED_MODULES = {("api_jwt", "json"), ("jwks_client", "time")}


def exception_classes(lib: ModuleType) -> dict[str, type[BaseException]]:
    module = exceptions_of(lib)
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
    }


REFERENCE_EXCEPTIONS = exception_classes(ref)
TARGET_EXCEPTIONS = exception_classes(tj)
TARGET_ONLY_EXCEPTIONS = sorted(set(TARGET_EXCEPTIONS) - set(REFERENCE_EXCEPTIONS))


def test_reference_has_pyjwt_19_exception_classes() -> None:
    assert len(REFERENCE_EXCEPTIONS) == 19


@pytest.mark.parametrize("name", sorted(REFERENCE_EXCEPTIONS))
def test_exception_has_pyjwt_mro(name: str) -> None:
    cls = TARGET_EXCEPTIONS[name]
    expected = [base.__name__ for base in REFERENCE_EXCEPTIONS[name].__mro__]
    assert [base.__name__ for base in cls.__mro__] == expected
    for base in cls.__mro__:
        # Each base is a builtin or the target's own class of that name, never PyJWT's.
        assert base is getattr(builtins, base.__name__, None) or base is TARGET_EXCEPTIONS.get(
            base.__name__
        )


def test_invalid_key_error_is_not_an_invalid_token_error() -> None:
    own = exceptions_of(tj)
    assert not issubclass(own.InvalidKeyError, own.InvalidTokenError)
    assert issubclass(own.InvalidKeyError, own.PyJWTError)


@pytest.mark.parametrize("name", TARGET_ONLY_EXCEPTIONS)
def test_extra_exception_classes_stay_inside_pyjwts_hierarchy(name: str) -> None:
    assert issubclass(TARGET_EXCEPTIONS[name], exceptions_of(tj).PyJWTError)


def sample_instance(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, UnicodeEncodeError):
        return cls("utf-8", "a\ud800", 1, 2, "surrogates not allowed")
    if issubclass(cls, UnicodeDecodeError):
        return cls("utf-8", b"a\xff", 1, 2, "invalid start byte")
    if cls.__name__ == "MissingRequiredClaimError":
        return cls("exp")
    return cls("Signature has expired")


def assert_pickles(error: BaseException) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        clone = pickle.loads(pickle.dumps(error, protocol))
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert same_value(clone.args, error.args)
        assert vars(clone) == vars(error)


@pytest.mark.parametrize("name", sorted(TARGET_EXCEPTIONS))
def test_every_exception_pickles(name: str) -> None:
    assert_pickles(sample_instance(TARGET_EXCEPTIONS[name]))


@pytest.mark.parametrize("name", sorted(REFERENCE_EXCEPTIONS))
def test_exception_str_and_args_match_pyjwt(name: str) -> None:
    target_error = sample_instance(TARGET_EXCEPTIONS[name])
    reference_error = sample_instance(REFERENCE_EXCEPTIONS[name])
    assert str(target_error) == str(reference_error)
    assert target_error.args == reference_error.args


def test_missing_required_claim_error_keeps_claim_through_pickle() -> None:
    error = TARGET_EXCEPTIONS["MissingRequiredClaimError"]("aud")
    clone = pickle.loads(pickle.dumps(error))
    assert clone.claim == "aud"
    assert str(clone) == 'Token is missing the "aud" claim'


def raised_by_decode(token: Any, **kwargs: Any) -> Exception:
    outcome = run(tj, lambda lib: lib.decode(token, SECRET, algorithms=["HS256"], **kwargs))
    assert outcome.error is not None
    return outcome.error


@pytest.mark.parametrize(
    ("token", "kwargs"),
    [
        pytest.param(forge({"alg": "HS256"}, {"exp": 1}), {}, id="expired"),
        pytest.param(forge({"alg": "HS256"}, {}), {"audience": "a"}, id="missing-aud"),
        pytest.param(forge({"alg": "HS256"}, {}, key="other"), {}, id="bad-signature"),
        pytest.param("a.b", {}, id="not-enough-segments"),
        pytest.param(forge({"alg": "HS256"}, b"[1]"), {}, id="payload-not-object"),
        pytest.param("\ud800.e30.", {}, id="lone-surrogate"),
    ],
)
def test_raised_exceptions_pickle(token: Any, kwargs: dict[str, Any]) -> None:
    assert_pickles(raised_by_decode(token, **kwargs))


def raised_while_handling(lib: ModuleType, token: Any, **kwargs: Any) -> BaseException:
    """The error ``decode`` raises inside an ``except`` block, as a handler's call would."""
    try:
        raise KeyError("handled")
    except KeyError:
        try:
            lib.decode(token, SECRET, algorithms=["HS256"], **kwargs)
        except Exception as exc:
            return exc
    raise AssertionError("decode accepted the token")


def chain_of(error: BaseException | None) -> list[str]:
    """The classes along ``__cause__``/``__context__``, by name."""
    names = []
    while error is not None:
        link = "cause" if error.__cause__ is not None else "context"
        names.append(f"{type(error).__name__}<{link}>")
        error = error.__cause__ or error.__context__
    return names


@pytest.mark.parametrize(
    ("token", "kwargs"),
    [
        pytest.param(forge({"alg": "HS256"}, {"exp": 1}), {}, id="expired"),
        pytest.param(forge({"alg": "HS256"}, {}), {"audience": "a"}, id="missing-aud"),
        pytest.param(forge({"alg": "HS256"}, {}, key="other"), {}, id="bad-signature"),
        pytest.param("a.b", {}, id="not-enough-segments"),
        pytest.param("e30.e30.!!", {}, id="bad-signature-base64"),
        pytest.param(forge({"alg": "HS256"}, b"[1]"), {}, id="payload-not-object"),
        pytest.param(forge({"alg": "HS256"}, b"{"), {}, id="payload-not-json"),
        pytest.param(forge({"alg": "HS384"}, {}), {}, id="algorithm-not-allowed"),
    ],
)
def test_errors_chain_the_handled_exception_as_pyjwt_does(
    token: Any, kwargs: dict[str, Any]
) -> None:
    # A ``raise`` inside a handler sets ``__context__``; an error from a native module
    # must keep that, or tracebacks and ``raise ... from`` checks differ from PyJWT's.
    expected = chain_of(raised_while_handling(ref, token, **kwargs))
    assert chain_of(raised_while_handling(tj, token, **kwargs)) == expected
    assert expected[-1] == "KeyError<context>"


def test_all_matches_pyjwt() -> None:
    assert len(set(tj.__all__)) == len(tj.__all__)
    assert sorted(tj.__all__) == sorted(ref.__all__)
    for name in tj.__all__:
        assert hasattr(tj, name), name


@pytest.mark.parametrize("name", sorted(ref.__all__))
def test_top_level_classes_are_the_submodule_classes(name: str) -> None:
    value = getattr(ref, name)
    if isinstance(value, type):
        home = submodule(tj, value.__module__.removeprefix("jwt."))
        assert getattr(tj, name) is getattr(home, name)


def is_public(module_name: str, name: str, value: Any) -> bool:
    """A name PyJWT's module offers, as opposed to one it merely imports for itself."""
    if name.startswith("_") or name in {"annotations", "TYPE_CHECKING"}:
        return False
    if isinstance(value, ModuleType):
        return (module_name, name) in PATCHED_MODULES
    if isinstance(value, (type, FunctionType, BuiltinFunctionType, MethodType)):
        return (getattr(value, "__module__", None) or "").startswith("jwt.")
    # Data and type aliases (has_crypto, JWKDict, AllowedRSAKeys ...), but not typing's forms.
    return value is not getattr(typing, name, None) and value is not getattr(
        collections.abc, name, None
    )


PUBLIC_NAMES = [
    (module_name, name)
    for module_name in SUBMODULES
    for name, value in sorted(vars(submodule(ref, module_name)).items())
    if is_public(module_name, name, value)
]


def test_public_name_inventory_is_not_empty() -> None:
    assert len(PUBLIC_NAMES) > 100
    assert ("algorithms", "has_crypto") in PUBLIC_NAMES
    assert ("api_jwt", "json") in PUBLIC_NAMES
    assert ("api_jwt", "datetime") not in PUBLIC_NAMES


@pytest.mark.parametrize(("module_name", "name"), PUBLIC_NAMES)
def test_submodule_exposes_pyjwt_public_name(module_name: str, name: str) -> None:
    reference_value = getattr(submodule(ref, module_name), name)
    target_module = submodule(tj, module_name)
    assert hasattr(target_module, name), f"{target_module.__name__} lacks {name}"
    target_value = getattr(target_module, name)
    if module_name == "algorithms" and name.startswith("Allowed") and not ref.algorithms.has_crypto:
        # PyJWT without cryptography has no asymmetric keys (its aliases are Never);
        # turbojwt's are its NativeKey class then (see tests/test_without_cryptography.py).
        return
    assert isinstance(target_value, type) == isinstance(reference_value, type)
    assert callable(target_value) == callable(reference_value)
    if isinstance(reference_value, type) and reference_value.__module__.startswith("jwt."):
        # A re-export (api_jwt.DecodeError) is the target's own class, not a copy.
        home = submodule(tj, reference_value.__module__.removeprefix("jwt."))
        assert target_value is getattr(home, reference_value.__name__)
