"""Every way a test suite moves PyJWT's clock moves turbojwt's.

Suites freeze or move time with freezegun, with time-machine (which patches the C function
``time.time`` in place), or by replacing ``jwt.api_jwt.datetime``, the name through which
PyJWT reads the time (``datetime.now(tz=timezone.utc).timestamp()``) and recognises
``datetime`` claims when encoding. Each way is checked moving the clock to before ``nbf`` and
``iat`` and past ``exp``, for ``decode``, ``decode_complete``, the batch decoders and a
``PyJWT`` subclass that overrides a hook: through ``import turbojwt as jwt`` here, and through
``patch_pyjwt()`` with code that does ``import jwt`` in a fresh interpreter.

Every expectation is also run against PyJWT, so each is PyJWT's own behaviour. The moments
are in 2023: a clock that did not move would reject the token valid then and accept the
tokens not yet valid then.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any, Callable, ContextManager
from unittest import mock

import freezegun
import pytest
import time_machine
from _target import SECRET, Raises, check_expectation, forge, ref, requires_turbojwt, tj

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
CLAIM_TIME = T0 + 60  # the exp, nbf or iat of the tokens under test
BEFORE = T0  # a minute before CLAIM_TIME
AFTER = T0 + 120  # a minute after CLAIM_TIME
HEADER = {"alg": "HS256", "typ": "JWT"}

EXPIRED = Raises("ExpiredSignatureError", "Signature has expired")
NBF_FUTURE = Raises("ImmatureSignatureError", "The token is not yet valid (nbf)")
IAT_FUTURE = Raises("ImmatureSignatureError", "The token is not yet valid (iat)")
ACCEPTED = object()  # the expected result is the token's payload


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


# --- the ways to move the clock -------------------------------------------------------------

Mover = Callable[[ModuleType, float], ContextManager[Any]]


def frozen_datetime_class(timestamp: float) -> type[datetime]:
    """A ``datetime`` subclass whose ``now`` is ``timestamp``: the hand-written fake."""

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FrozenDatetime:
            return cls.fromtimestamp(timestamp, tz)

    return FrozenDatetime


@contextlib.contextmanager
def mocked_datetime(lib: ModuleType, timestamp: float) -> Iterator[mock.MagicMock]:
    """``mock.patch("jwt.api_jwt.datetime")`` as a consumer's test writes it."""
    with mock.patch(f"{lib.__name__}.api_jwt.datetime") as fake:
        fake.now.return_value = utc(timestamp)
        yield fake


MOVERS: dict[str, Mover] = {
    "freezegun": lambda lib, t: freezegun.freeze_time(utc(t)),
    "freezegun-tick": lambda lib, t: freezegun.freeze_time(utc(t), tick=True),
    "time-machine": lambda lib, t: time_machine.travel(t, tick=False),
    "time-machine-tick": lambda lib, t: time_machine.travel(t, tick=True),
    "mock-datetime": mocked_datetime,
    "datetime-subclass": lambda lib, t: mock.patch(
        f"{lib.__name__}.api_jwt.datetime", frozen_datetime_class(t)
    ),
}
# The ways whose clock stands still: the hooks see exactly the chosen moment.
STILL_MOVERS = ["freezegun", "time-machine", "mock-datetime", "datetime-subclass"]


# --- the decoders -----------------------------------------------------------------------------


def via_decode(lib: ModuleType, token: str) -> Any:
    return lib.decode(token, SECRET, algorithms=["HS256"])


def via_decode_complete(lib: ModuleType, token: str) -> Any:
    return lib.decode_complete(token, SECRET, algorithms=["HS256"])["payload"]


def batch_of_two(lib: ModuleType, token: str, name: str, complete: bool) -> Any:
    """``lib.<name>`` over the token twice; PyJWT, which has none, decodes them one by one."""
    batch = getattr(lib, name, None)
    if batch is not None:
        results = list(batch([token, token], SECRET, algorithms=["HS256"]))
    else:
        results = []
        single = via_decode_complete if complete else via_decode
        for item in (token, token):
            try:
                results.append(single(lib, item))
            except lib.PyJWTError as error:
                results.append(error)
    assert len(results) == 2 and type(results[0]) is type(results[1])
    if isinstance(results[0], Exception):
        raise results[0]
    return results[0]["payload"] if complete and batch is not None else results[0]


def via_decode_batch(lib: ModuleType, token: str) -> Any:
    return batch_of_two(lib, token, "decode_batch", complete=False)


def via_decode_complete_batch(lib: ModuleType, token: str) -> Any:
    return batch_of_two(lib, token, "decode_complete_batch", complete=True)


def via_decode_iter(lib: ModuleType, token: str) -> Any:
    return batch_of_two(lib, token, "decode_iter", complete=False)


def checked_subclass(lib: ModuleType) -> Any:
    """A ``PyJWT`` subclass overriding a claim hook, so PyJWT's composition path runs."""

    class Checked(lib.PyJWT):  # type: ignore[name-defined,misc]
        def _validate_iss(self, payload: dict[str, Any], issuer: Any) -> None:
            super()._validate_iss(payload, issuer)

    return Checked()


def via_subclass(lib: ModuleType, token: str) -> Any:
    return checked_subclass(lib).decode(token, SECRET, algorithms=["HS256"])


DECODERS: dict[str, Callable[[ModuleType, str], Any]] = {
    "decode": via_decode,
    "decode_complete": via_decode_complete,
    "decode_batch": via_decode_batch,
    "decode_complete_batch": via_decode_complete_batch,
    "decode_iter": via_decode_iter,
    "subclass": via_subclass,
}

# (claim, moment, expected): before and after CLAIM_TIME for each time claim.
CROSSINGS = [
    pytest.param("exp", BEFORE, ACCEPTED, id="before-exp"),
    pytest.param("exp", AFTER, EXPIRED, id="past-exp"),
    pytest.param("nbf", BEFORE, NBF_FUTURE, id="before-nbf"),
    pytest.param("nbf", AFTER, ACCEPTED, id="past-nbf"),
    pytest.param("iat", BEFORE, IAT_FUTURE, id="before-iat"),
    pytest.param("iat", AFTER, ACCEPTED, id="past-iat"),
]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("mover", MOVERS)
@pytest.mark.parametrize(("claim", "moment", "expected"), CROSSINGS)
def test_moved_clock_decides_time_claims(
    mover: str, decoder: str, claim: str, moment: int, expected: Any
) -> None:
    payload = {"sub": "alice", claim: CLAIM_TIME}
    token = forge(HEADER, payload)

    def call(lib: ModuleType) -> Any:
        with MOVERS[mover](lib, moment):
            return DECODERS[decoder](lib, token)

    check_expectation(call, payload if expected is ACCEPTED else expected)


def test_unmoved_clock_is_the_real_one() -> None:
    """Without a mover the tokens of 2023 are judged by today's clock: the control case."""
    for claim, expected in (("exp", EXPIRED), ("nbf", ACCEPTED), ("iat", ACCEPTED)):
        payload = {claim: CLAIM_TIME}
        token = forge(HEADER, payload)
        for decoder in DECODERS.values():
            check_expectation(
                lambda lib, d=decoder, t=token: d(lib, t),
                payload if expected is ACCEPTED else expected,
            )


@pytest.mark.parametrize("mover", STILL_MOVERS)
def test_hooks_receive_the_moved_now(mover: str) -> None:
    """The ``now`` a subclass's ``_validate_*`` hooks receive is the moved clock's."""
    token = forge(HEADER, {"iat": T0, "nbf": T0, "exp": CLAIM_TIME})

    def call(lib: ModuleType) -> Any:
        seen: list[tuple[str, float]] = []

        class Recording(lib.PyJWT):  # type: ignore[name-defined,misc]
            def _validate_iat(self, payload: dict[str, Any], now: float, leeway: float) -> None:
                seen.append(("iat", now))

            def _validate_nbf(self, payload: dict[str, Any], now: float, leeway: float) -> None:
                seen.append(("nbf", now))

            def _validate_exp(self, payload: dict[str, Any], now: float, leeway: float) -> None:
                seen.append(("exp", now))

        with MOVERS[mover](lib, AFTER):
            Recording().decode(token, SECRET, algorithms=["HS256"])
        return seen

    moved = float(AFTER)
    check_expectation(call, [("iat", moved), ("nbf", moved), ("exp", moved)])


@pytest.mark.parametrize("mover", ["freezegun-tick", "time-machine-tick"])
def test_ticking_clock_starts_at_the_moment(mover: str) -> None:
    token = forge(HEADER, {"exp": CLAIM_TIME})

    def call(lib: ModuleType) -> Any:
        seen: list[float] = []

        class Recording(lib.PyJWT):  # type: ignore[name-defined,misc]
            def _validate_exp(self, payload: dict[str, Any], now: float, leeway: float) -> None:
                seen.append(now)

        with MOVERS[mover](lib, AFTER):
            Recording().decode(token, SECRET, algorithms=["HS256"])
        return AFTER <= seen[0] < AFTER + 30

    check_expectation(call, True)


def test_leeway_counts_from_the_moved_clock() -> None:
    token = forge(HEADER, {"exp": CLAIM_TIME})

    def call(lib: ModuleType) -> Any:
        with time_machine.travel(AFTER, tick=False):
            return lib.decode(
                token, SECRET, algorithms=["HS256"], leeway=timedelta(seconds=AFTER - T0)
            )

    check_expectation(call, {"exp": CLAIM_TIME})


# --- mock.patch("jwt.api_jwt.datetime") as consumers write it --------------------------------


def test_consumer_mock_of_datetime_is_called_as_pyjwt_calls_it() -> None:
    """PyJWT asks ``datetime.now(tz=timezone.utc)`` once per decode; consumers assert it."""
    token = forge(HEADER, {"exp": CLAIM_TIME})

    def call(lib: ModuleType) -> Any:
        with mock.patch(f"{lib.__name__}.api_jwt.datetime") as fake:
            fake.now.return_value = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
            claims = lib.decode(token, SECRET, algorithms=["HS256"])
        fake.now.assert_called_once_with(tz=timezone.utc)
        return claims

    check_expectation(call, {"exp": CLAIM_TIME})


def test_consumer_mock_of_datetime_moves_exp_past() -> None:
    token = forge(HEADER, {"exp": CLAIM_TIME})

    def call(lib: ModuleType) -> Any:
        with mock.patch(f"{lib.__name__}.api_jwt.datetime") as fake:
            fake.now.return_value = datetime(2023, 11, 14, 22, 15, 20, tzinfo=timezone.utc)
            return lib.decode(token, SECRET, algorithms=["HS256"])

    check_expectation(call, EXPIRED)


# A MagicMock is no class: PyJWT's encode checks each of exp, iat and nbf with
# ``isinstance(payload.get(claim), datetime)`` and so fails, whatever the payload holds.
NOT_A_CLASS = Raises(
    "builtins.TypeError", "isinstance() arg 2 must be a type, a tuple of types, or a union"
)
NOT_JSON = Raises("builtins.TypeError", "Object of type datetime is not JSON serializable")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"exp": utc(CLAIM_TIME)}, id="datetime-exp"),
        pytest.param({"exp": CLAIM_TIME}, id="int-exp"),
        pytest.param({"sub": "alice"}, id="no-time-claim"),
    ],
)
def test_encode_under_mocked_datetime_fails_as_pyjwt(payload: dict[str, Any]) -> None:
    def call(lib: ModuleType) -> Any:
        with mocked_datetime(lib, T0):
            return lib.encode(payload, SECRET, algorithm="HS256")

    check_expectation(call, NOT_A_CLASS)


def test_encode_under_datetime_subclass_converts_only_its_instances() -> None:
    """With a ``datetime`` subclass in place, ``datetime`` claims are those of the subclass."""
    fake = frozen_datetime_class(T0)
    expected = forge(HEADER, {"exp": CLAIM_TIME})

    def encode(value: Any) -> Callable[[ModuleType], Any]:
        def call(lib: ModuleType) -> Any:
            with mock.patch(f"{lib.__name__}.api_jwt.datetime", fake):
                return lib.encode({"exp": value}, SECRET, algorithm="HS256")

        return call

    check_expectation(encode(fake.fromtimestamp(CLAIM_TIME, timezone.utc)), expected)
    check_expectation(encode(utc(CLAIM_TIME)), NOT_JSON)


@pytest.mark.parametrize("mover", ["freezegun", "time-machine"])
def test_encode_datetime_claims_under_moved_clock(mover: str) -> None:
    """``exp = now + lifetime`` computed under the moved clock encodes as that moment."""
    expected = forge(HEADER, {"exp": CLAIM_TIME, "iat": T0})

    def call(lib: ModuleType) -> Any:
        with MOVERS[mover](lib, T0):
            now = datetime.now(tz=timezone.utc)
            return lib.encode(
                {"exp": now + timedelta(seconds=60), "iat": now}, SECRET, algorithm="HS256"
            )

    check_expectation(call, expected)


def test_mock_patch_restores_the_real_clock() -> None:
    token = forge(HEADER, {"exp": CLAIM_TIME})

    def call(lib: ModuleType) -> Any:
        with mocked_datetime(lib, T0):
            lib.decode(token, SECRET, algorithms=["HS256"])
        return lib.decode(token, SECRET, algorithms=["HS256"])

    check_expectation(call, EXPIRED)


# --- turbojwt.auth ----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [None, ref], ids=["turbojwt", "pyjwt-backend"])
def test_token_issuer_follows_time_machine(backend: ModuleType | None) -> None:
    from turbojwt.auth import TokenIssuer
    from turbojwt.exceptions import ExpiredSignatureError, ImmatureSignatureError

    issuer = TokenIssuer(SECRET, access_ttl=timedelta(minutes=15), backend=backend)
    with time_machine.travel(T0, tick=False):
        pair = issuer.issue("alice")
    claims = json.loads(tj.utils.base64url_decode(pair.access_token.split(".")[1]).decode("utf-8"))
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (T0, T0, T0 + 900)

    with time_machine.travel(T0 + 899, tick=False):
        assert issuer.verify_access(pair.access_token)["sub"] == "alice"
        assert issuer.verify_access_batch([pair.access_token])[0]["sub"] == "alice"
    with time_machine.travel(T0 + 901, tick=False):
        with pytest.raises(ExpiredSignatureError):
            issuer.verify_access(pair.access_token)
        assert isinstance(issuer.verify_access_batch([pair.access_token])[0], ExpiredSignatureError)
    with time_machine.travel(T0 - 60, tick=True):
        with pytest.raises(ImmatureSignatureError):
            issuer.verify_access(pair.access_token)


# --- patch_pyjwt(): code written against PyJWT, unchanged -------------------------------------

CONSUMER = """\
import json, sys
from datetime import datetime, timedelta, timezone
from unittest import mock

if sys.argv[1] == "patched":
    import turbojwt
    turbojwt.patch_pyjwt()

import freezegun
import jwt
import time_machine

SECRET = "consumer-secret-" * 4
T0 = 1_700_000_000


class Checked(jwt.PyJWT):
    def _validate_iss(self, payload, issuer):
        super()._validate_iss(payload, issuer)


def outcome(call):
    try:
        result = call()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return result


def frozen(moment):
    return datetime.fromtimestamp(moment, tz=timezone.utc)


def mocked(moment):
    patcher = mock.patch("jwt.api_jwt.datetime")
    class Context:
        def __enter__(self):
            fake = patcher.start()
            fake.now.return_value = frozen(moment)
        def __exit__(self, *exc):
            patcher.stop()
    return Context()


movers = {
    "freezegun": lambda moment: freezegun.freeze_time(frozen(moment)),
    "time-machine": lambda moment: time_machine.travel(moment, tick=False),
    "time-machine-tick": lambda moment: time_machine.travel(moment, tick=True),
    "mock-datetime": mocked,
}
decoders = {
    "decode": lambda token: jwt.decode(token, SECRET, algorithms=["HS256"]),
    "decode_complete": lambda token: jwt.decode_complete(
        token, SECRET, algorithms=["HS256"]
    )["payload"],
    "subclass": lambda token: Checked().decode(token, SECRET, algorithms=["HS256"]),
}
matrix = {}
for claim in ("exp", "nbf", "iat"):
    token = jwt.encode({claim: T0 + 60}, SECRET, algorithm="HS256")
    for mover_name, mover in movers.items():
        for offset in (0, 120):
            for decoder_name, decoder in decoders.items():
                with mover(T0 + offset):
                    result = outcome(lambda: decoder(token))
                matrix[f"{claim} {mover_name} {offset} {decoder_name}"] = result

observed = {"matrix": matrix}
token = jwt.encode({"exp": T0 + 60}, SECRET, algorithm="HS256")
with mock.patch("jwt.api_jwt.datetime") as fake:
    fake.now.return_value = frozen(T0)
    observed["decode under mock"] = outcome(
        lambda: jwt.decode(token, SECRET, algorithms=["HS256"])
    )
    observed["now calls"] = [
        [name, list(args), {key: str(value) for key, value in kwargs.items()}]
        for name, args, kwargs in fake.mock_calls
    ]
    observed["encode under mock"] = outcome(
        lambda: jwt.encode({"exp": frozen(T0 + 60)}, SECRET, algorithm="HS256")
    )
with freezegun.freeze_time(frozen(T0)):
    observed["encode under freezegun"] = outcome(
        lambda: jwt.encode(
            {"exp": datetime.now(tz=timezone.utc) + timedelta(seconds=60)},
            SECRET,
            algorithm="HS256",
        )
    )
print(json.dumps({"library": jwt.PyJWT.__module__.split(".")[0], "observed": observed}))
"""


def consumer_observations(mode: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("TURBOJWT_PATCH", "PYTHONWARNINGS")}
    result = subprocess.run(
        [sys.executable, "-c", CONSUMER, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    facts: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return facts


def expected_consumer_outcome(claim: str, offset: int) -> Any:
    if offset == 0 and claim != "exp":
        return f"ImmatureSignatureError: The token is not yet valid ({claim})"
    if offset > 0 and claim == "exp":
        return "ExpiredSignatureError: Signature has expired"
    return {claim: CLAIM_TIME}


def test_patched_pyjwt_follows_every_clock_like_pyjwt() -> None:
    """The same consumer code, run on PyJWT and on turbojwt through ``patch_pyjwt()``."""
    pyjwt = consumer_observations("unpatched")
    patched = consumer_observations("patched")
    assert (pyjwt["library"], patched["library"]) == ("jwt", "turbojwt")
    observed = pyjwt["observed"]
    assert len(observed["matrix"]) == 3 * 4 * 2 * 3
    for key, value in observed["matrix"].items():
        claim, _, offset, _ = key.split(" ")
        assert value == expected_consumer_outcome(claim, int(offset)), key
    assert observed["decode under mock"] == {"exp": CLAIM_TIME}
    assert observed["now calls"] == [["now", [], {"tz": "UTC"}]]
    assert observed["encode under mock"] == f"TypeError: {NOT_A_CLASS.message}"
    assert observed["encode under freezegun"] == forge(
        HEADER, {"exp": CLAIM_TIME}, "consumer-secret-" * 4
    )
    for key, value in observed["matrix"].items():
        assert patched["observed"]["matrix"][key] == value, key
    assert patched["observed"] == observed


# --- the first clock read of the process happens under freezegun -----------------------------

FIRST_READ_FROZEN = """\
import base64, hashlib, hmac, importlib, json, sys
from datetime import datetime, timezone

import freezegun

library, importing, decoder = sys.argv[1:]
SECRET = "first-read-secret-" * 4
T0 = 1_700_000_000


def frozen(moment):
    return freezegun.freeze_time(datetime.fromtimestamp(moment, tz=timezone.utc))


def outcome(call):
    try:
        call()
    except Exception as error:
        return type(error).__name__
    return "accepted"


if importing == "inside":
    with frozen(T0):
        lib = importlib.import_module(library)
else:
    lib = importlib.import_module(library)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# Made with the standard library, so no library code runs before the first freeze.
signing_input = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + b64url(b'{"exp":%d}' % (T0 + 60))
signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
token = signing_input + "." + b64url(signature)
if decoder == "subclass":
    class Checked(lib.PyJWT):
        def _validate_iss(self, payload, issuer):
            super()._validate_iss(payload, issuer)

    decode = Checked().decode
else:
    decode = lib.decode
results = []
for moment in (T0, T0 + 120, T0, None):
    if moment is None:
        results.append(outcome(lambda: decode(token, SECRET, algorithms=["HS256"])))
        continue
    with frozen(moment):
        results.append(outcome(lambda: decode(token, SECRET, algorithms=["HS256"])))
print(json.dumps(results))
"""


@pytest.mark.parametrize("decoder", ["decode", "subclass"])
@pytest.mark.parametrize("importing", ["before", "inside"])
@pytest.mark.parametrize("library", sorted({ref.__name__, tj.__name__}))
def test_first_clock_read_under_freezegun(library: str, importing: str, decoder: str) -> None:
    """A process whose first token is checked inside ``freeze_time`` keeps following it.

    Each run is a fresh interpreter: the library is imported before the first freeze or
    inside it, and its first clock read is made while frozen.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("TURBOJWT_PATCH", "PYTHONWARNINGS")}
    result = subprocess.run(
        [sys.executable, "-c", FIRST_READ_FROZEN, library, importing, decoder],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "accepted",
        "ExpiredSignatureError",
        "accepted",
        "ExpiredSignatureError",
    ]


# --- a difference: a time.time replaced by hand -----------------------------------------------


@requires_turbojwt
def test_hand_replaced_time_time_moves_turbojwt_only() -> None:
    """PyJWT reads ``datetime.now``, which ignores ``time.time``; turbojwt calls a replaced one.

    Listed in docs/compatibility.md: ``mock.patch("time.time")`` moves turbojwt's clock.
    """
    token = forge(HEADER, {"exp": CLAIM_TIME})
    for lib in (ref, tj):
        lib.decode(forge(HEADER, {}), SECRET, algorithms=["HS256"])
    with mock.patch("time.time", return_value=float(BEFORE)):
        assert tj.decode(token, SECRET, algorithms=["HS256"]) == {"exp": CLAIM_TIME}
        with pytest.raises(ref.ExpiredSignatureError):
            ref.decode(token, SECRET, algorithms=["HS256"])


# --- the exact boundaries -------------------------------------------------------------------

BOUNDARY_NOW = T0 + 0.25  # a clock between whole seconds, as a real one nearly always is


@pytest.mark.parametrize("leeway", [0, 5, 2.5, timedelta(seconds=5)], ids=repr)
@pytest.mark.parametrize(
    ("claim", "offset", "expected"),
    [
        # exp must be after now - leeway; iat and nbf at most now + leeway.
        ("exp", -1, EXPIRED),
        ("exp", 0, ACCEPTED),
        ("exp", 1, ACCEPTED),
        ("iat", 0, ACCEPTED),
        ("iat", 1, IAT_FUTURE),
        ("nbf", 0, ACCEPTED),
        ("nbf", 1, NBF_FUTURE),
    ],
)
def test_time_claims_at_the_boundary(leeway: Any, claim: str, offset: int, expected: Any) -> None:
    """Integer claims one second either side of ``now -/+ leeway``, on a frozen clock: the
    integer-against-seconds fast path and the general comparison (a ``timedelta`` leeway)
    draw the line where PyJWT does."""
    seconds = leeway.total_seconds() if isinstance(leeway, timedelta) else leeway
    if claim == "exp":
        # The first whole second after now - leeway, moved by offset.
        value = int(BOUNDARY_NOW - seconds) + 1 + offset
    else:
        # The last whole second at or before now + leeway, moved by offset.
        value = int(BOUNDARY_NOW + seconds) + offset
    payload = {"sub": "boundary", claim: value}
    token = tj.encode(payload, SECRET, algorithm="HS256")
    with freezegun.freeze_time(utc(BOUNDARY_NOW)):
        check_expectation(
            lambda lib: lib.decode(token, SECRET, algorithms=["HS256"], leeway=leeway),
            payload if expected is ACCEPTED else expected,
        )
