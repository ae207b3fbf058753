"""The verified-token cache: a repeat decode is answered from memory, and is
indistinguishable from a fresh decode."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import pytest
import turbojwt
from turbojwt import token_cache
from turbojwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
)

SECRET = "token-cache-secret-0123456789-0123456789"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    saved = token_cache.token_cache_info()
    turbojwt.set_token_cache(max_entries=4096, max_bytes=16 * 1024 * 1024)
    yield
    turbojwt.set_token_cache(max_entries=saved["max_entries"], max_bytes=saved["max_bytes"])


def now() -> int:
    """The time, read when a test runs (a long suite may take minutes to reach it)."""
    return int(time.time())


def make_token(**claims: Any) -> str:
    payload = {"sub": "alice", "aud": "api", "iss": "issuer", "exp": now() + 600, **claims}
    return turbojwt.encode(payload, SECRET)


def decode(token: str, **kwargs: Any) -> Any:
    kwargs.setdefault("algorithms", ["HS256"])
    kwargs.setdefault("audience", "api")
    return turbojwt.decode(token, kwargs.pop("key", SECRET), **kwargs)


def hits() -> int:
    return token_cache.token_cache_info()["hits"]


def warm(token: str, **kwargs: Any) -> Any:
    """Decode until the token is cached (it is admitted on its second sighting)."""
    first = decode(token, **kwargs)
    decode(token, **kwargs)
    before = hits()
    assert decode(token, **kwargs) == first
    assert hits() == before + 1, "the third decode should be a hit"
    return first


def test_a_repeat_is_a_hit_with_the_same_result() -> None:
    start = now()
    token = make_token(scope="read write")
    claims = warm(token)
    assert claims["scope"] == "read write" and claims["sub"] == "alice"
    assert claims["exp"] >= start + 600
    info = token_cache.token_cache_info()
    assert info["entries"] == 1 and info["enabled"] and info["bytes"] > 0


def test_results_are_fresh_objects_all_the_way_down() -> None:
    token = make_token(roles=["admin"], meta={"tags": ["a"], "n": 1})
    warm(token)
    first = decode(token)
    first["roles"].append("root")
    first["meta"]["tags"].append("b")
    first["meta"]["n"] = 2
    first["extra"] = True
    second = decode(token)
    assert second["roles"] == ["admin"]
    assert second["meta"] == {"tags": ["a"], "n": 1}
    assert "extra" not in second
    assert second is not first and second["roles"] is not first["roles"]


def test_decode_complete_shares_entries_and_returns_fresh_parts() -> None:
    token = make_token()
    warm(token)
    before = hits()
    complete = turbojwt.decode_complete(token, SECRET, algorithms=["HS256"], audience="api")
    assert hits() == before + 1
    assert complete["header"] == {"alg": "HS256", "typ": "JWT"}
    assert complete["payload"] == decode(token)
    signature = token.split(".")[2]
    assert complete["signature"] == turbojwt.utils.base64url_decode(signature)
    complete["header"]["kid"] = "mutated"
    again = turbojwt.decode_complete(token, SECRET, algorithms=["HS256"], audience="api")
    assert again["header"] == {"alg": "HS256", "typ": "JWT"}


def test_expiry_is_checked_again_on_every_hit() -> None:
    start = now()
    token = make_token(exp=start + 60)
    warm(token)
    later = datetime.fromtimestamp(start + 120, tz=timezone.utc)
    with mock.patch("turbojwt.api_jwt.datetime") as clock:
        clock.now.return_value = later
        with pytest.raises(ExpiredSignatureError):
            decode(token)
    assert decode(token)["exp"] == start + 60


def test_not_before_and_leeway_are_checked_again_on_every_hit() -> None:
    start = now()
    token = make_token(nbf=start - 10)
    warm(token)
    earlier = datetime.fromtimestamp(start - 100, tz=timezone.utc)
    with mock.patch("turbojwt.api_jwt.datetime") as clock:
        clock.now.return_value = earlier
        with pytest.raises(ImmatureSignatureError):
            decode(token)
        assert decode(token, leeway=timedelta(seconds=200))["nbf"] == start - 10


@pytest.mark.parametrize(
    "exp_of",
    [
        pytest.param(lambda t: t + 60.75, id="float"),
        pytest.param(lambda t: t + 60, id="int"),
        pytest.param(lambda t: float(t + 60), id="integral-float"),
    ],
)
def test_time_claims_kept_with_an_entry_are_checked_as_on_a_fresh_decode(exp_of: Any) -> None:
    """A hit reads exp/iat/nbf from what the entry kept (not the payload dict): floats take
    PyJWT's ``int(value)`` on every hit, and the verdict at each moment is a fresh decode's."""
    start = now()
    exp = exp_of(start)
    token = make_token(exp=exp, iat=float(start) - 0.5, nbf=start - 5)
    warm(token)
    for offset, expired in ((59, False), (60, True), (61, True)):
        moment = datetime.fromtimestamp(start + offset, tz=timezone.utc)
        with mock.patch("turbojwt.api_jwt.datetime") as clock:
            clock.now.return_value = moment
            before = hits()
            if expired:
                with pytest.raises(ExpiredSignatureError):
                    decode(token)
            else:
                assert decode(token)["exp"] == exp
                assert hits() == before + 1
    huge = make_token(exp=2**70)  # beyond an i64: compared as Python ints
    warm(huge)
    assert decode(huge)["exp"] == 2**70


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"audience": "other"}, InvalidAudienceError),
        ({"issuer": "someone else"}, InvalidIssuerError),
        ({"algorithms": ["HS384"]}, InvalidAlgorithmError),
        ({"key": SECRET + "-other"}, InvalidSignatureError),
        ({"key": SECRET.encode() + b"-other"}, InvalidSignatureError),
        ({"options": {"require": ["jti"]}}, MissingRequiredClaimError),
    ],
)
def test_a_change_to_the_call_is_not_a_hit(change: dict[str, Any], error: type) -> None:
    token = make_token()
    warm(token)
    with pytest.raises(error):
        decode(token, **change)


def test_one_token_is_kept_under_several_calls() -> None:
    # A middleware and a handler may check the same bearer token differently: both are
    # answered from the cache, each with its own verdict.
    token = make_token(aud=["api", "admin"])
    warm(token, audience="api")
    warm(token, audience="admin")
    before = hits()
    for _ in range(3):
        assert decode(token, audience="api")["sub"] == "alice"
        assert decode(token, audience="admin")["sub"] == "alice"
    assert hits() == before + 6
    assert token_cache.token_cache_info()["entries"] == 2


def test_more_calls_than_a_token_keeps_never_mix_up_verdicts() -> None:
    audiences = [f"aud-{i}" for i in range(7)]
    token = make_token(aud=audiences)
    for _ in range(3):
        for audience in audiences:
            assert decode(token, audience=audience)["aud"] == audiences
            with pytest.raises(InvalidAudienceError):
                decode(token, audience=audience + "-not")
    assert token_cache.token_cache_info()["entries"] <= 4


def test_a_first_sight_is_a_miss_that_keeps_nothing() -> None:
    info = token_cache.token_cache_info()
    decode(make_token(sid="once"))
    after = token_cache.token_cache_info()
    assert after["misses"] == info["misses"] + 1
    assert after["entries"] == info["entries"] and after["hits"] == info["hits"]


def test_a_flood_of_one_off_tokens_keeps_none_and_evicts_nothing() -> None:
    kept = make_token(sid="kept")
    warm(kept)
    info = token_cache.token_cache_info()
    for i in range(5_000):
        decode(make_token(sid=f"one-off-{i}"))
    after = token_cache.token_cache_info()
    assert after["entries"] == info["entries"] and after["evictions"] == info["evictions"]
    assert after["misses"] == info["misses"] + 5_000
    before = hits()
    decode(kept)
    assert hits() == before + 1


def test_options_that_switch_checks_off_are_part_of_the_call() -> None:
    start = now()
    token = make_token(exp=start + 60)
    warm(token, options={"verify_exp": False})
    later = datetime.fromtimestamp(start + 120, tz=timezone.utc)
    with mock.patch("turbojwt.api_jwt.datetime") as clock:
        clock.now.return_value = later
        assert decode(token, options={"verify_exp": False})["sub"] == "alice"
        with pytest.raises(ExpiredSignatureError):
            decode(token)


def test_failures_are_never_cached() -> None:
    header, payload, _ = make_token().split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    entries = token_cache.token_cache_info()["entries"]
    for _ in range(5):
        with pytest.raises(InvalidSignatureError):
            decode(forged)
    assert token_cache.token_cache_info()["entries"] == entries


def test_a_call_that_warns_warns_every_time() -> None:
    short = "short"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = turbojwt.encode({"sub": "x"}, short)
    for _ in range(4):
        with pytest.warns(turbojwt.warnings.InsecureKeyLengthWarning):
            turbojwt.decode(token, short, algorithms=["HS256"])


def test_an_unregistered_algorithm_ends_the_hit() -> None:
    instance = turbojwt.PyJWT()
    token = make_token()
    for _ in range(3):
        instance.decode(token, SECRET, algorithms=["HS256"], audience="api")
    instance._jws.unregister_algorithm("HS256")
    with pytest.raises(InvalidAlgorithmError, match="Algorithm not supported"):
        instance.decode(token, SECRET, algorithms=["HS256"], audience="api")


def test_lowering_a_limit_ends_the_hit() -> None:
    token = make_token()
    warm(token)
    saved = turbojwt.get_limits()
    turbojwt.set_limits(max_token_bytes=len(token) - 1)
    try:
        with pytest.raises(DecodeError, match="longer than"):
            decode(token)
    finally:
        turbojwt.set_limits(max_token_bytes=saved.max_token_bytes)


def test_a_replaced_json_loads_is_honoured_and_not_cached() -> None:
    token = make_token()
    warm(token)
    calls: list[Any] = []
    real_loads = json.loads

    def loads(data: Any, **kwargs: Any) -> Any:
        calls.append(data)
        return real_loads(data, **kwargs)

    with mock.patch("json.loads", loads):
        before = hits()
        decode(token)
        decode(token)
        assert hits() == before
    assert calls, "the replaced json.loads must be called"


def test_subclasses_with_hooks_bypass_the_cache() -> None:
    seen: list[dict[str, Any]] = []

    class Hooked(turbojwt.PyJWT):
        def _validate_claims(self, payload: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            seen.append(payload)
            super()._validate_claims(payload, *args, **kwargs)

    token = make_token()
    for _ in range(4):
        Hooked().decode(token, SECRET, algorithms=["HS256"], audience="api")
    assert len(seen) == 4


def test_turning_the_cache_off() -> None:
    token = make_token()
    warm(token)
    turbojwt.set_token_cache(max_entries=0)
    info = token_cache.token_cache_info()
    assert not info["enabled"] and info["entries"] == 0
    before = hits()
    for _ in range(3):
        decode(token)
    assert hits() == before


def test_the_environment_switch_turns_it_off() -> None:
    code = "import turbojwt, json; print(json.dumps(turbojwt.token_cache_info()))"
    for value, enabled in (("0", False), ("off", False), ("1", True)):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={"TURBOJWT_TOKEN_CACHE": value, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out)["enabled"] is enabled


def test_bounds_by_entries_and_bytes() -> None:
    turbojwt.set_token_cache(max_entries=16)
    tokens = [make_token(sid=str(i)) for i in range(200)]
    for token in tokens:
        decode(token)
        decode(token)
    info = token_cache.token_cache_info()
    assert 0 < info["entries"] <= 16 + 8  # per-shard rounding
    assert info["evictions"] > 0
    turbojwt.set_token_cache(max_entries=4096, max_bytes=8 * 4096)
    for token in tokens:
        decode(token)
        decode(token)
    assert token_cache.token_cache_info()["bytes"] <= 8 * 4096


@pytest.mark.parametrize("value", [-1, 1.5, "10", True])
def test_invalid_bounds_are_refused(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        turbojwt.set_token_cache(max_entries=value)


def test_threads_share_the_cache_safely() -> None:
    turbojwt.set_token_cache(max_entries=32)
    tokens = [make_token(sid=str(i), roles=[str(i)]) for i in range(64)]
    expected = [decode(token) for token in tokens]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for round_ in range(200):
                index = (offset * 7 + round_) % len(tokens)
                result = decode(tokens[index])
                assert result == expected[index]
                result["roles"].append("mutated")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_instances_with_different_options_never_share_verdicts() -> None:
    """Each thread remembers one options verdict for every instance; alternating between
    instances on one thread must give each its own options every time."""
    expired = make_token(exp=now() - 10)
    strict = turbojwt.PyJWT()
    lenient = turbojwt.PyJWT(options={"verify_exp": False})
    requiring = turbojwt.PyJWT(options={"require": ["jti"]})
    for _ in range(3):
        with pytest.raises(ExpiredSignatureError):
            strict.decode(expired, SECRET, algorithms=["HS256"], audience="api")
        assert (
            lenient.decode(expired, SECRET, algorithms=["HS256"], audience="api")["sub"] == "alice"
        )
        with pytest.raises(MissingRequiredClaimError):
            requiring.decode(make_token(), SECRET, algorithms=["HS256"], audience="api")


def test_a_require_list_changed_in_place_takes_effect_at_once() -> None:
    """The `require` list can change without its options dict changing."""
    instance = turbojwt.PyJWT(options={"require": []})
    token = make_token()
    assert instance.decode(token, SECRET, algorithms=["HS256"], audience="api")["sub"] == "alice"
    instance.options["require"].append("jti")
    with pytest.raises(MissingRequiredClaimError):
        instance.decode(token, SECRET, algorithms=["HS256"], audience="api")
    instance.options["require"].clear()
    assert instance.decode(token, SECRET, algorithms=["HS256"], audience="api")["sub"] == "alice"


def test_options_replaced_while_other_threads_decode() -> None:
    """Replacing an instance's options (a rebind of its engine) while threads decode with it:
    every decode sees either the old options or the new ones, never a mix and never a crash."""
    instance = turbojwt.PyJWT()
    expired = make_token(exp=now() - 10)
    stop = threading.Event()
    outcomes: set[str] = set()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")
                    outcomes.add("accepted")
                except ExpiredSignatureError:
                    outcomes.add("expired")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for index in range(2000):
        instance.options = {**instance.options, "verify_exp": index % 2 == 0}
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert outcomes <= {"accepted", "expired"}
    instance.options = {**instance.options, "verify_exp": True}
    with pytest.raises(ExpiredSignatureError):
        instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")


def test_changing_an_instance_options_dict_takes_effect_at_once() -> None:
    """Option verdicts are remembered per state of the options dict, never past a change."""
    start = now()
    instance = turbojwt.PyJWT()
    expired = make_token(exp=start - 10)
    for _ in range(3):
        with pytest.raises(ExpiredSignatureError):
            instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")
    instance.options["verify_exp"] = False
    assert instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")["sub"] == "alice"
    instance.options["verify_exp"] = True
    with pytest.raises(ExpiredSignatureError):
        instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")
    instance.options = {**instance.options, "verify_exp": False}
    assert instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")["sub"] == "alice"
    instance.options["require"] = ["jti"]
    with pytest.raises(MissingRequiredClaimError):
        instance.decode(expired, SECRET, algorithms=["HS256"], audience="api")
