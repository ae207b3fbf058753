"""Coverage-guided differential fuzzing of the token path against PyJWT 2.15.1 (atheris).

Each input picks an entry point (``decode``, ``decode_complete``, ``get_unverified_header``,
``decode_batch``, ``PyJWS.decode``), a key (HS256, RS256, ES256 or EdDSA) and a token: raw
bytes, a ``str``, a mutation of a valid token, or a token signed over fuzzed header and
payload JSON (so the JSON and claim checks are reached behind a valid signature). The
target and PyJWT must then behave alike: the same claims, or the same exception class and
message (``tests/_target.py`` defines "alike", including the documented improvements), and
the target may only raise ``PyJWTError`` subclasses or the builtin PyJWT raises itself.

Run ``python tests/fuzz/fuzz_decode.py [libFuzzer flags] [corpus dirs]``, e.g.
``-max_total_time=30 tests/fuzz/corpus``; ``scripts/fuzz`` does that. ``check`` is also
replayed over the corpus and the regressions by ``tests/fuzz/test_fuzz_corpus.py``.
"""

from __future__ import annotations

import base64
import gc
import json
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _target import (
    SECRET,
    Outcome,
    b64url,
    describe_class,
    exceptions_of,
    forge,
    is_documented_improvement,
    ref,
    run,
    same_value,
    tj,
)

T = TypeVar("T")

KEYS_DIR = Path(__file__).resolve().parent.parent / "vectors" / "keys"

# (algorithm, signing key, verifying key); the HMAC secret is long enough for HS512.
KEYS: list[tuple[str, str, str]] = [
    ("HS256", SECRET, SECRET),
    ("RS256", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    ("ES256", "p256.pkcs8.pem", "p256.pub.pem"),
    ("EdDSA", "ed25519.pkcs8.pem", "ed25519.pub.pem"),
]


def load_key(name: str) -> str:
    return (KEYS_DIR / name).read_text() if name.endswith(".pem") else name


VERIFYING_KEY_FILES = {alg: public for alg, _, public in KEYS}
SIGNING_KEYS = {alg: load_key(private) for alg, private, _ in KEYS}
VERIFYING_KEYS = {alg: load_key(public) for alg, _, public in KEYS}
ALGORITHMS = [alg for alg, _, _ in KEYS]

# Claims of the valid tokens that mutations start from: far future, long past, odd types.
BASE_CLAIMS: list[dict[str, Any]] = [
    {"sub": "fuzz", "n": 1},
    {"exp": 4102444800, "iat": 1700000000, "nbf": 1700000000, "aud": "api", "iss": "me"},
    {"exp": 1000000000, "aud": ["api", "other"], "jti": "j"},
    {"nbf": 4102444800, "iat": "1700000000", "sub": 5},
    {"f": 1.5e308, "u": "\u00e9\U0001f600", "l": [None, True, {"a": {}}]},
]

# Header/claim names and values the structured inputs draw from.
HEADER_NAMES = ["alg", "typ", "kid", "cty", "crit", "b64", "jku", "x5u", "jwk"]
CLAIM_NAMES = ["exp", "nbf", "iat", "aud", "iss", "sub", "jti", "n"]
ALG_VALUES = [*ALGORITHMS, "none", "HS512", "RS512", "PS256", "ES384", "Ed25519", "hs256", ""]


def valid_tokens() -> list[tuple[str, str]]:
    """(algorithm, token) pairs made with PyJWT; the fixture tokens keep the ES/EdDSA ones
    reproducible across runs (ECDSA signatures are randomised)."""
    tokens = [
        (alg, ref.encode(claims, SIGNING_KEYS[alg], algorithm=alg))
        for alg in ("HS256", "RS256")
        for claims in BASE_CLAIMS
    ]
    fixtures = json.loads((KEYS_DIR / "tokens.json").read_text())
    tokens += [
        (fixture["alg"], fixture["token"])
        for fixture in fixtures
        if fixture["alg"] in ("ES256", "EdDSA")
        and fixture["key"] == VERIFYING_KEY_FILES[fixture["alg"]]
    ]
    return tokens


VALID_TOKENS = valid_tokens()


class Input:
    """Draws choices from the fuzzer's bytes; reads zeros once they run out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return value

    def choose(self, options: list[T]) -> T:
        return options[self.byte() % len(options)]

    def chunk(self) -> bytes:
        """A length-prefixed run of bytes."""
        length = self.byte()
        start = min(self.pos, len(self.data))
        self.pos += length
        return self.data[start : start + length]

    def rest(self) -> bytes:
        start = min(self.pos, len(self.data))
        self.pos = len(self.data)
        return self.data[start:]

    def text(self, raw: bytes) -> str:
        return raw.decode("utf-8", "surrogateescape" if self.byte() & 1 else "replace")


def json_value(source: Input, depth: int = 0) -> Any:
    kind = source.byte() % (8 if depth < 2 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return bool(source.byte() & 1)
    if kind == 2:
        return int.from_bytes(source.chunk()[:9], "big", signed=True) + 1700000000
    if kind == 3:
        return source.choose([0.5, -0.0, 1e308, 4102444800.5, float("nan"), float("inf")])
    if kind == 4:
        return source.text(source.chunk())
    if kind == 5:
        return [json_value(source, depth + 1) for _ in range(source.byte() % 4)]
    if kind == 6:
        return {source.choose(CLAIM_NAMES): json_value(source, depth + 1)}
    return source.choose(["api", "me", ["api"], [], 1, "1700000000"])


def json_object(source: Input, names: list[str]) -> dict[str, Any]:
    return {source.choose(names): json_value(source) for _ in range(source.byte() % 6)}


def mutate(token: str, source: Input) -> str:
    """One or more structured edits of a valid token."""
    for _ in range(1 + source.byte() % 3):
        segments = token.split(".")
        index = source.byte() % len(segments)
        edit = source.byte() % 8
        if edit == 0:
            segments[index] = b64url(source.chunk())
        elif edit == 1:
            segments[index] = b64url(json.dumps(json_object(source, HEADER_NAMES)).encode())
        elif edit == 2:
            segments[index] += source.choose(["=", "==", "===", " ", "\n", "+", "/", "."])
        elif edit == 3 and segments[index]:
            cut = source.byte() % len(segments[index])
            segments[index] = segments[index][:cut] + segments[index][cut + 1 :]
        elif edit == 4:
            segments.insert(index, source.text(source.chunk()))
        elif edit == 5 and len(segments) > 1:
            del segments[index]
        elif edit == 6:
            segments[index] = base64.urlsafe_b64encode(source.chunk()).decode()
        else:
            segment = segments[index]
            at = source.byte() % (len(segment) + 1)
            segments[index] = segment[:at] + source.text(source.chunk()) + segment[at:]
        token = ".".join(segments)
    return token


def build_token(source: Input, alg: str) -> str | bytes:
    mode = source.byte() % 5
    if mode == 0:
        return source.rest()
    if mode == 1:
        return source.text(source.rest())
    if mode == 2:
        same_alg = [token for token_alg, token in VALID_TOKENS if token_alg == alg]
        return mutate(source.choose(same_alg), source)
    # Signed with the HS256 secret over fuzzed JSON: the JSON and claim checks run after the
    # signature check passes (when the header says HS256 and the key is the secret).
    header: dict[str, Any] = {"alg": source.choose(ALG_VALUES), "typ": "JWT"}
    header.update(json_object(source, HEADER_NAMES))
    if mode == 3:
        return forge(header, json_object(source, CLAIM_NAMES), alg="HS256")
    return forge(header, source.rest(), alg="HS256")


def options_for(source: Input) -> dict[str, Any]:
    options: dict[str, Any] = {}
    flags = source.byte()
    if flags & 1:
        options["verify_signature"] = False
    if flags & 2:
        options["require"] = [source.choose(CLAIM_NAMES)]
    if flags & 4:
        options["verify_aud"] = False
    if flags & 8:
        options["verify_exp"] = False
    return options


@dataclass
class Case:
    """One call: an entry point, a token, the verifying key and decode's keyword arguments."""

    entry: str
    token: str | bytes
    key: str
    kwargs: dict[str, Any]

    def __call__(self, lib: Any) -> Any:
        if self.entry == "header":
            return lib.get_unverified_header(self.token)
        if self.entry == "jws":
            return lib.PyJWS().decode(self.token, self.key, algorithms=self.kwargs["algorithms"])
        if self.entry == "batch":
            # PyJWT has no decode_batch: its element must be what PyJWT's decode gives.
            if lib is ref:
                return ref.decode(self.token, self.key, **self.kwargs)
            [item] = lib.decode_batch([self.token], self.key, **self.kwargs)
            if isinstance(item, Exception):
                raise item
            return item
        return getattr(lib, self.entry)(self.token, self.key, **self.kwargs)


def case_for(source: Input) -> Case:
    alg = source.choose(ALGORITHMS)
    algorithms = [alg] if source.byte() % 4 else [alg, source.choose(ALG_VALUES)]
    kwargs: dict[str, Any] = {"algorithms": algorithms, "options": options_for(source)}
    if source.byte() & 1:
        kwargs["audience"] = source.choose(["api", ["api", "x"], "other"])
    if source.byte() & 1:
        kwargs["issuer"] = source.choose(["me", ["me", "you"], "other"])
    if source.byte() & 1:
        kwargs["leeway"] = source.choose([0, 10, -10, 1e9])
    entry = source.choose(["decode", "decode_complete", "header", "batch", "jws"])
    return Case(entry, build_token(source, alg), VERIFYING_KEYS[alg], kwargs)


# PyJWT puts a generator's repr in one message ("Expected one of <generator object ... at
# 0x7f...>"); the address differs between any two calls.
ADDRESS = re.compile(r" at 0x[0-9a-f]+>")


def normalized(message: object) -> str:
    return ADDRESS.sub(" at 0x...>", str(message))


def same_message(target: object, reference: object) -> bool:
    return normalized(target) == normalized(reference)


def assert_alike(reference: Outcome, target: Outcome) -> None:
    """``assert_same_outcome`` of ``tests/_target.py``, with addresses masked in messages."""
    assert [(kind, normalized(text)) for kind, text in target.warning_list()] == [
        (kind, normalized(text)) for kind, text in reference.warning_list()
    ]
    if reference.error is None:
        assert target.error is None, f"target raised {target.error!r}, PyJWT returned"
        assert same_value(target.value, reference.value), (target.value, reference.value)
        return
    assert target.error is not None, f"target returned {target.value!r}, PyJWT raised"
    expected = describe_class(type(reference.error), ref)
    actual = describe_class(type(target.error), tj)
    assert actual == expected or is_documented_improvement(type(reference.error), target.error), (
        f"target raised {actual}({target.error}), PyJWT raised {expected}({reference.error})"
    )
    assert same_message(target.error, reference.error), (
        f"messages differ: {target.error!r} / {reference.error!r}"
    )


def check_exception_type(outcome: Outcome, reference: Outcome) -> None:
    """Only PyJWTError subclasses, or exactly the builtin PyJWT itself raises."""
    error = outcome.error
    if error is None or isinstance(error, exceptions_of(tj).PyJWTError):
        return
    reference_error: Optional[Exception] = reference.error
    assert reference_error is not None and type(error) is type(reference_error), (
        f"unexpected {type(error).__name__}: {error!r} (PyJWT: {reference_error!r})"
    )


# turbojwt's documented size and depth limits (docs/compatibility.md), which PyJWT lacks.
LIMIT_REFUSAL = re.compile(r"Invalid (token: longer than|\w+ string: nesting deeper than) ")


def check(data: bytes) -> None:
    """One fuzz input: the target and PyJWT must behave alike."""
    case = case_for(Input(data))
    reference = run(ref, case)
    target = run(tj, case)
    check_exception_type(target, reference)
    if target.error is not None and LIMIT_REFUSAL.match(str(target.error)):
        # A deliberate difference: the input is over a limit. Compare the rest of the
        # behaviour with the limits lifted.
        assert isinstance(target.error, exceptions_of(tj).DecodeError), repr(target.error)
        saved = tj.get_limits()
        tj.set_limits(max_token_bytes=1 << 40, max_json_depth=1 << 30)
        try:
            target = run(tj, case)
        finally:
            tj.set_limits(
                max_token_bytes=saved.max_token_bytes, max_json_depth=saved.max_json_depth
            )
        check_exception_type(target, reference)
    assert_alike(reference, target)


# Modules whose Python code is instrumented for coverage. The Rust core is not (fuzz/ covers
# its key parsers), and neither are pytest, cryptography and the rest: instrumenting every
# loaded function takes most of a minute before the first input runs. json and base64 are
# in: PyJWT parses with them, so their branches tell inputs apart.
INSTRUMENTED = {"jwt", "turbojwt", "_target", "json", "base64", __name__}


def instrument(atheris: Any) -> None:
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            module = (obj.__module__ or "").split(".")[0]
            if module in INSTRUMENTED:
                atheris.instrument_func(obj)


def main() -> None:
    import atheris  # type: ignore[import-untyped]

    instrument(atheris)
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
