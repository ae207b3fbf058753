"""Every claim-validation outcome of PyJWT's table, with its exact class and message."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any, Callable

import pytest
from _target import SECRET, Raises, check_expectation, forge


@dataclass(frozen=True)
class Ahead:
    """A time claim ``seconds`` from now, resolved when the test runs (``form`` shapes it)."""

    seconds: float
    form: Callable[[float], Any] = int


ACCEPTED = object()  # the expected result is the payload itself


def resolve(payload: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        name: value.form(now + value.seconds) if isinstance(value, Ahead) else value
        for name, value in payload.items()
    }


def case(case_id: str, payload: dict[str, Any], expected: Any = ACCEPTED, **kwargs: Any) -> Any:
    return pytest.param(payload, kwargs, expected, id=case_id)


IAT_NOT_INT = Raises("InvalidIssuedAtError", "Issued At claim (iat) must be an integer.")
IAT_FUTURE = Raises("ImmatureSignatureError", "The token is not yet valid (iat)")
NBF_NOT_INT = Raises("DecodeError", "Not Before claim (nbf) must be an integer.")
NBF_FUTURE = Raises("ImmatureSignatureError", "The token is not yet valid (nbf)")
EXP_NOT_INT = Raises("DecodeError", "Expiration Time claim (exp) must be an integer.")
EXPIRED = Raises("ExpiredSignatureError", "Signature has expired")
WRONG_ISS = Raises("InvalidIssuerError", "Invalid issuer")
ISS_NOT_STR = Raises("InvalidIssuerError", "Payload Issuer (iss) must be a string")
BAD_ISSUER_ARG = Raises("InvalidIssuerError", 'Issuer param must be "str" or "Container[str]"')
UNEXPECTED_AUD = Raises("InvalidAudienceError", "Invalid audience")
AUD_FORMAT = Raises("InvalidAudienceError", "Invalid claim format in token")
WRONG_AUD = Raises("InvalidAudienceError", "Audience doesn't match")
BAD_AUDIENCE_ARG = Raises("builtins.TypeError", "audience must be a string, iterable or None")
SUB_NOT_STR = Raises("InvalidSubjectError", "Subject must be a string")
JTI_NOT_STR = Raises("InvalidJTIError", "JWT ID must be a string")


def missing(claim: str) -> Raises:
    return Raises("MissingRequiredClaimError", f'Token is missing the "{claim}" claim')


PAST = Ahead(-1000)
FUTURE = Ahead(1000)

IAT = [
    case("iat-now-ish", {"iat": Ahead(-5)}),
    case("iat-numeric-string", {"iat": Ahead(-5, str)}),
    case("iat-float", {"iat": Ahead(-5.5, float)}),
    case("iat-true", {"iat": True}),
    case("iat-huge-past", {"iat": -(10**30)}),
    case("iat-unicode-digits", {"iat": "\u0661\u0662\u0663"}),
    case("iat-underscored-digits", {"iat": "1_000"}),
    case("iat-not-numeric", {"iat": "soon"}, IAT_NOT_INT),
    case("iat-float-string", {"iat": "1.5"}, IAT_NOT_INT),
    case("iat-list", {"iat": [1]}, IAT_NOT_INT),
    case("iat-object", {"iat": {}}, IAT_NOT_INT),
    case("iat-null", {"iat": None}, IAT_NOT_INT),
    case("iat-nan", {"iat": float("nan")}, IAT_NOT_INT),
    case("iat-infinity", {"iat": float("inf")}, IAT_NOT_INT),
    case("iat-future", {"iat": FUTURE}, IAT_FUTURE),
    case("iat-future-numeric-string", {"iat": Ahead(1000, str)}, IAT_FUTURE),
    case("iat-huge-future", {"iat": 10**30}, IAT_FUTURE),
    case("iat-future-within-leeway", {"iat": FUTURE}, leeway=2000),
    case("iat-future-within-timedelta-leeway", {"iat": FUTURE}, leeway=timedelta(minutes=40)),
    case("iat-future-not-verified", {"iat": FUTURE}, options={"verify_iat": False}),
    case("iat-bad-not-verified", {"iat": "soon"}, options={"verify_iat": False}),
]

NBF = [
    case("nbf-past", {"nbf": PAST}),
    case("nbf-numeric-string", {"nbf": Ahead(-1000, str)}),
    case("nbf-padded-numeric-string", {"nbf": Ahead(-1000, lambda t: f" {int(t)}\n")}),
    case("nbf-float", {"nbf": Ahead(-999.9, float)}),
    case("nbf-not-numeric", {"nbf": "soon"}, NBF_NOT_INT),
    case("nbf-list", {"nbf": []}, NBF_NOT_INT),
    case("nbf-null", {"nbf": None}, NBF_NOT_INT),
    case("nbf-negative-infinity", {"nbf": float("-inf")}, NBF_NOT_INT),
    case("nbf-future", {"nbf": FUTURE}, NBF_FUTURE),
    case("nbf-future-float", {"nbf": Ahead(1000.5, float)}, NBF_FUTURE),
    case("nbf-future-within-leeway", {"nbf": FUTURE}, leeway=1500.5),
    case("nbf-past-made-future-by-negative-leeway", {"nbf": Ahead(-500)}, NBF_FUTURE, leeway=-1000),
    case("nbf-future-not-verified", {"nbf": FUTURE}, options={"verify_nbf": False}),
]

EXP = [
    case("exp-future", {"exp": FUTURE}),
    case("exp-future-numeric-string", {"exp": Ahead(1000, str)}),
    case("exp-future-float", {"exp": Ahead(1000.75, float)}),
    case("exp-huge", {"exp": 10**30}),
    case("exp-beyond-float-range", {"exp": 10**400}),
    case("exp-underscored-digits", {"exp": "1_000"}, EXPIRED),
    case("exp-not-numeric", {"exp": "never"}, EXP_NOT_INT),
    case("exp-object", {"exp": {"t": 1}}, EXP_NOT_INT),
    case("exp-null", {"exp": None}, EXP_NOT_INT),
    case("exp-nan", {"exp": float("nan")}, EXP_NOT_INT),
    case("exp-past", {"exp": PAST}, EXPIRED),
    case("exp-true", {"exp": True}, EXPIRED),
    case("exp-past-numeric-string", {"exp": Ahead(-1000, str)}, EXPIRED),
    case("exp-past-within-leeway", {"exp": PAST}, leeway=1100.5),
    case("exp-past-within-timedelta-leeway", {"exp": PAST}, leeway=timedelta(seconds=1200)),
    case("exp-past-beyond-leeway", {"exp": PAST}, EXPIRED, leeway=900),
    case(
        "exp-future-beyond-negative-leeway",
        {"exp": Ahead(500)},
        EXPIRED,
        leeway=timedelta(seconds=-1000),
    ),
    case("exp-past-not-verified", {"exp": PAST}, options={"verify_exp": False}),
    case("exp-past-signature-not-verified", {"exp": PAST}, options={"verify_signature": False}),
    case(
        "exp-past-signature-not-verified-exp-verified",
        {"exp": PAST},
        EXPIRED,
        options={"verify_signature": False, "verify_exp": True},
    ),
]

ORDER = [
    case("iat-checked-before-nbf-and-exp", {"exp": PAST, "nbf": FUTURE, "iat": "x"}, IAT_NOT_INT),
    case("nbf-checked-before-exp", {"exp": PAST, "nbf": FUTURE}, NBF_FUTURE),
    case(
        "require-checked-before-times", {"exp": PAST}, missing("sub"), options={"require": ["sub"]}
    ),
    case("exp-checked-before-iss", {"exp": PAST}, EXPIRED, issuer="me"),
    case("iss-checked-before-aud", {"aud": "x"}, missing("iss"), issuer="me"),
    case("aud-checked-before-sub", {"aud": "x", "sub": 1}, UNEXPECTED_AUD),
    case("sub-checked-before-jti", {"sub": 1, "jti": 1}, SUB_NOT_STR),
    case(
        "audience-type-checked-first",
        {"exp": PAST},
        BAD_AUDIENCE_ARG,
        audience=1,
        options={"require": ["x"]},
    ),
]

REQUIRE = [
    case("require-present", {"exp": FUTURE, "sub": "s"}, options={"require": ["exp", "sub"]}),
    case("require-missing", {}, missing("exp"), options={"require": ["exp"]}),
    case("require-null", {"jti": None}, missing("jti"), options={"require": ["jti"]}),
    case("require-first-missing-in-order", {}, missing("iat"), options={"require": ["iat", "exp"]}),
    case("require-custom-claim", {"scope": ""}, options={"require": ["scope"]}),
    case(
        "require-as-string-iterates-characters",
        {"exp": FUTURE},
        missing("e"),
        options={"require": "exp"},
    ),
    case(
        "require-applies-without-verification",
        {},
        missing("exp"),
        options={"verify_signature": False, "require": ["exp"]},
    ),
    case(
        "require-not-iterable",
        {},
        Raises("builtins.TypeError", "'NoneType' object is not iterable"),
        options={"require": None},
    ),
]

ISS = [
    case("iss-matches", {"iss": "me"}, issuer="me"),
    case("iss-in-list", {"iss": "me"}, issuer=["you", "me"]),
    case("iss-in-tuple", {"iss": "me"}, issuer=("me",)),
    case("iss-in-set", {"iss": "me"}, issuer={"me"}),
    case("iss-dict-key", {"iss": "me"}, issuer={"me": 0}),
    case("iss-unchecked-without-issuer", {"iss": 1}),
    case("iss-missing", {}, missing("iss"), issuer="me"),
    case("iss-not-string", {"iss": 1}, ISS_NOT_STR, issuer="me"),
    case("iss-null", {"iss": None}, ISS_NOT_STR, issuer="me"),
    case("iss-list", {"iss": ["me"]}, ISS_NOT_STR, issuer=["me"]),
    case("iss-mismatch", {"iss": "you"}, WRONG_ISS, issuer="me"),
    case("iss-substring-is-not-a-match", {"iss": "me"}, WRONG_ISS, issuer="meme"),
    case("iss-not-in-list", {"iss": "him"}, WRONG_ISS, issuer=["you", "me"]),
    case("iss-empty-list", {"iss": "me"}, WRONG_ISS, issuer=[]),
    case("issuer-not-a-container", {"iss": "me"}, BAD_ISSUER_ARG, issuer=1),
    case("issuer-bytes", {"iss": "me"}, BAD_ISSUER_ARG, issuer=b"me"),
    case("iss-not-verified", {"iss": "you"}, options={"verify_iss": False}, issuer="me"),
]

AUD = [
    case("aud-absent-no-audience", {}),
    case("aud-empty-string-no-audience", {"aud": ""}),
    case("aud-empty-list-no-audience", {"aud": []}),
    case("aud-null-no-audience", {"aud": None}),
    case("aud-zero-no-audience", {"aud": 0}),
    case("aud-without-audience", {"aud": "api"}, UNEXPECTED_AUD),
    case("aud-list-without-audience", {"aud": ["api"]}, UNEXPECTED_AUD),
    case("aud-number-without-audience", {"aud": 1}, UNEXPECTED_AUD),
    case("aud-matches", {"aud": "api"}, audience="api"),
    case("aud-list-matches", {"aud": ["web", "api"]}, audience="api"),
    case("aud-matches-one-of-list", {"aud": "api"}, audience=["web", "api"]),
    case("aud-matches-tuple", {"aud": "api"}, audience=("api",)),
    case("aud-matches-set", {"aud": ["api"]}, audience={"api", "web"}),
    case("aud-matches-dict-keys", {"aud": "api"}, audience={"api": 1}),
    case("aud-missing", {}, missing("aud"), audience="api"),
    case("aud-empty-string", {"aud": ""}, missing("aud"), audience="api"),
    case("aud-empty-list", {"aud": []}, missing("aud"), audience="api"),
    case("aud-null", {"aud": None}, missing("aud"), audience="api"),
    case("aud-number", {"aud": 1}, AUD_FORMAT, audience="api"),
    case("aud-object", {"aud": {"api": 1}}, AUD_FORMAT, audience="api"),
    case("aud-list-with-non-string", {"aud": ["api", 1]}, AUD_FORMAT, audience="api"),
    case("aud-mismatch", {"aud": "api"}, WRONG_AUD, audience="web"),
    case("aud-list-mismatch", {"aud": ["api", "x"]}, WRONG_AUD, audience=["web", "y"]),
    case("aud-substring-is-not-a-match", {"aud": "api"}, WRONG_AUD, audience="apis"),
    case("audience-empty-list", {"aud": "api"}, WRONG_AUD, audience=[]),
    case("audience-bytes-never-match", {"aud": "api"}, WRONG_AUD, audience=b"api"),
    case("audience-not-iterable", {"aud": "api"}, BAD_AUDIENCE_ARG, audience=1),
    case("audience-float", {}, BAD_AUDIENCE_ARG, audience=1.5),
    case("aud-not-verified", {"aud": "api"}, options={"verify_aud": False}, audience="web"),
    case("strict-matches", {"aud": "api"}, options={"strict_aud": True}, audience="api"),
    case(
        "strict-audience-not-string",
        {"aud": "api"},
        Raises("InvalidAudienceError", "Invalid audience (strict)"),
        options={"strict_aud": True},
        audience=["api"],
    ),
    case(
        "strict-claim-not-string",
        {"aud": ["api"]},
        Raises("InvalidAudienceError", "Invalid claim format in token (strict)"),
        options={"strict_aud": True},
        audience="api",
    ),
    case(
        "strict-mismatch",
        {"aud": "api"},
        Raises("InvalidAudienceError", "Audience doesn't match (strict)"),
        options={"strict_aud": True},
        audience="web",
    ),
    case("strict-missing", {}, missing("aud"), options={"strict_aud": True}, audience="api"),
    case("strict-without-audience", {"aud": "api"}, UNEXPECTED_AUD, options={"strict_aud": True}),
]

SUB_JTI = [
    case("sub-string", {"sub": "alice"}),
    case("sub-matches", {"sub": "alice"}, subject="alice"),
    case("sub-missing-with-subject", {}, subject="alice"),
    case("sub-not-string", {"sub": 1}, SUB_NOT_STR),
    case("sub-null", {"sub": None}, SUB_NOT_STR),
    case(
        "sub-mismatch",
        {"sub": "bob"},
        Raises("InvalidSubjectError", "Invalid subject"),
        subject="alice",
    ),
    case(
        "subject-not-string",
        {"sub": "1"},
        Raises("InvalidSubjectError", "Invalid subject"),
        subject=1,
    ),
    case("sub-not-verified", {"sub": 1}, options={"verify_sub": False}),
    case("jti-string", {"jti": "id-1"}),
    case("jti-not-string", {"jti": 1}, JTI_NOT_STR),
    case("jti-null", {"jti": None}, JTI_NOT_STR),
    case("jti-not-verified", {"jti": []}, options={"verify_jti": False}),
]

LEEWAY_AND_OPTIONS = [
    case(
        "leeway-string-with-exp",
        {"exp": FUTURE},
        Raises("builtins.TypeError", "unsupported operand type(s) for -: 'float' and 'str'"),
        leeway="5",
    ),
    case(
        "leeway-none-with-iat",
        {"iat": PAST},
        Raises("builtins.TypeError", "unsupported operand type(s) for +: 'float' and 'NoneType'"),
        leeway=None,
    ),
    case("leeway-bad-type-unused", {"sub": "s"}, leeway="5"),
    case("leeway-nan-never-expires", {"exp": PAST}, leeway=float("nan")),
    case(
        "options-not-a-mapping",
        {},
        Raises("builtins.AttributeError", "'list' object has no attribute 'get'"),
        options=[],
    ),
    case("options-unknown-key-ignored", {"exp": PAST}, EXPIRED, options={"verify_expiry": False}),
    case(
        "signature-off-disables-claims",
        {"exp": PAST, "iat": "x", "aud": 1, "sub": 1, "jti": 1},
        options={"verify_signature": False},
        issuer="me",
    ),
    case(
        "signature-off-keeps-named-check",
        {"sub": 1},
        SUB_NOT_STR,
        options={"verify_signature": False, "verify_sub": True},
    ),
]

CASES = IAT + NBF + EXP + ORDER + REQUIRE + ISS + AUD + SUB_JTI + LEEWAY_AND_OPTIONS


@pytest.mark.parametrize(("payload", "kwargs", "expected"), CASES)
def test_claim_validation(payload: dict[str, Any], kwargs: dict[str, Any], expected: Any) -> None:
    claims = resolve(payload, int(time.time()))
    token = forge({"alg": "HS256", "typ": "JWT"}, claims)
    outcome = check_expectation(
        lambda lib: lib.decode(token, SECRET, algorithms=["HS256"], **kwargs),
        claims if expected is ACCEPTED else expected,
    )
    if isinstance(expected, Raises) and expected.kind == "MissingRequiredClaimError":
        assert outcome.error is not None
        assert outcome.error.claim == expected.message.split('"')[1]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("payload", "kwargs", "expected"), CASES[::4])
def test_decode_complete_validates_claims_alike(
    payload: dict[str, Any], kwargs: dict[str, Any], expected: Any
) -> None:
    claims = resolve(payload, int(time.time()))
    token = forge({"alg": "HS256", "typ": "JWT"}, claims)

    def call(lib: ModuleType) -> Any:
        return lib.decode_complete(token, SECRET, algorithms=["HS256"], **kwargs)["payload"]

    check_expectation(call, claims if expected is ACCEPTED else expected)


def test_decode_and_decode_complete_take_positional_claim_arguments_in_different_orders() -> None:
    claims = {"aud": "api", "iss": "me", "sub": "alice", "exp": int(time.time()) - 1000}
    token = forge({"alg": "HS256"}, claims)
    # decode: audience, subject, issuer, leeway
    check_expectation(
        lambda lib: lib.decode(
            token, SECRET, ["HS256"], None, None, None, "api", "alice", "me", 2000
        ),
        claims,
    )
    # decode_complete: audience, issuer, subject, leeway
    check_expectation(
        lambda lib: lib.decode_complete(
            token, SECRET, ["HS256"], None, None, None, "api", "me", "alice", 2000
        )["payload"],
        claims,
    )
    check_expectation(
        lambda lib: lib.decode_complete(
            token, SECRET, ["HS256"], None, None, None, "api", "alice", "me", 2000
        ),
        WRONG_ISS,
    )


INSTANCE_CASES = [
    pytest.param({"verify_exp": False}, None, ACCEPTED, id="instance-disables-exp"),
    pytest.param({"verify_exp": False}, {"verify_exp": True}, EXPIRED, id="call-re-enables-exp"),
    pytest.param(
        {"verify_signature": False}, None, ACCEPTED, id="instance-signature-off-disables-claims"
    ),
    pytest.param({"require": ["jti"]}, None, missing("jti"), id="instance-require"),
    pytest.param(
        {"require": ["jti"]},
        {"verify_exp": False},
        missing("jti"),
        id="instance-require-kept-by-call-options",
    ),
    pytest.param({"strict_aud": True}, {"verify_exp": False}, ACCEPTED, id="instance-strict-aud"),
    pytest.param(None, {"verify_signature": False}, ACCEPTED, id="call-signature-off"),
]


@pytest.mark.parametrize(("instance_options", "call_options", "expected"), INSTANCE_CASES)
def test_instance_options_merge_with_call_options(
    instance_options: Any, call_options: Any, expected: Any
) -> None:
    claims = {"exp": int(time.time()) - 1000, "aud": "api"}
    token = forge({"alg": "HS256"}, claims)

    def call(lib: ModuleType) -> Any:
        return lib.PyJWT(instance_options).decode(
            token, SECRET, ["HS256"], call_options, audience="api"
        )

    check_expectation(call, claims if expected is ACCEPTED else expected)


def test_instance_signature_off_still_requires_algorithms() -> None:
    token = forge({"alg": "HS256"}, {"exp": int(time.time()) - 1000})
    check_expectation(
        lambda lib: lib.PyJWT({"verify_signature": False}).decode(token, SECRET),
        Raises(
            "DecodeError",
            'It is required that you pass in a value for the "algorithms" argument when '
            "calling decode().",
        ),
    )
    check_expectation(
        lambda lib: lib.PyJWT({"verify_signature": False}).decode(token, "wrong", ["HS256"]),
        Raises("InvalidSignatureError", "Signature verification failed"),
    )


def test_options_are_not_mutated() -> None:
    options = {"verify_signature": False}
    token = forge({"alg": "HS256"}, {"exp": 1})
    check_expectation(lambda lib: lib.decode(token, options=options), {"exp": 1})
    assert options == {"verify_signature": False}
