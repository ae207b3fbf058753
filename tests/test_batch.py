"""decode_batch / decode_complete_batch / decode_iter: element i equals decode(tokens[i])."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

# Builds keys with cryptography; the no-cryptography CI environment skips this file.
pytest.importorskip("cryptography")
import turbojwt
from _target import lane_mix
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from turbojwt import _turbojwt
from turbojwt.exceptions import PyJWKSetError

SECRET = "batch-secret-0123456789-0123456789-xyz"
NOW = int(time.time())


def pem(key: Any, private: bool) -> str:
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


KEYS = {
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("value", call())
    except Exception as error:
        return (type(error).__name__, str(error))


def as_outcome(item: Any) -> tuple[str, Any]:
    if isinstance(item, Exception):
        return (type(item).__name__, str(item))
    return ("value", item)


def assert_batch_matches(tokens: list[Any], key: Any, **kwargs: Any) -> list[Any]:
    batch = turbojwt.decode_batch(tokens, key, **kwargs)
    expected = [outcome(lambda t=t: turbojwt.decode(t, key, **kwargs)) for t in tokens]
    assert [as_outcome(item) for item in batch] == expected
    complete = turbojwt.decode_complete_batch(tokens, key, **kwargs)
    expected_complete = [
        outcome(lambda t=t: turbojwt.decode_complete(t, key, **kwargs)) for t in tokens
    ]
    assert [as_outcome(item) for item in complete] == expected_complete
    return batch


def hs256(claims: dict[str, Any], **headers: Any) -> str:
    return turbojwt.encode(claims, SECRET, headers=headers or None)


MIXED_HS256 = [
    hs256({"sub": "ok", "exp": NOW + 600, "aud": "api", "iss": "me"}),
    hs256({"sub": "expired", "exp": NOW - 600, "aud": "api", "iss": "me"}),
    hs256({"sub": "other audience", "aud": "elsewhere", "iss": "me"}),
    hs256({"sub": "no audience", "iss": "me"}),
    hs256({"sub": "wrong issuer", "aud": "api", "iss": "someone"}),
    hs256({"sub": "immature", "nbf": NOW + 600, "aud": "api", "iss": "me"}),
    hs256({"sub": "numeric string exp", "exp": str(NOW + 600), "aud": "api", "iss": "me"}),
    hs256({"sub": 5, "aud": "api", "iss": "me"}),
    hs256({"jti": ["x"], "aud": ["api", "other"], "iss": "me"}),
    hs256({"aud": "api", "iss": "me"}, kid="k1"),
    hs256({"aud": "api", "iss": "me"})[:-4] + "AAAA",  # bad signature
    turbojwt.encode({"aud": "api", "iss": "me"}, SECRET, algorithm="HS512"),  # not allowed
    turbojwt.encode({"aud": "api", "iss": "me"}, None, algorithm=None),  # alg none
    "not.a.token",
    "two.segments",
    "",
    b"bytes." + hs256({"aud": "api"}).encode(),
    None,
    42,
    hs256({"aud": "api", "iss": "me"}).encode(),
]


def test_mixed_hs256_batch_equals_per_token_decode() -> None:
    before = _turbojwt.batch_native_count()
    batch = assert_batch_matches(
        MIXED_HS256 * 3, SECRET, algorithms=["HS256"], audience="api", issuer="me"
    )
    assert len(batch) == len(MIXED_HS256) * 3
    # The valid tokens were accepted by the parallel pass, not only by the fallback.
    assert _turbojwt.batch_native_count() > before


def test_macs_signed_four_tokens_at_a_time_keep_decodes_outcomes() -> None:
    # The parallel pass computes HS256 MACs for four tokens at once (see `lane_mix`).
    tokens = lane_mix(SECRET)
    before = _turbojwt.batch_native_count()
    batch = assert_batch_matches(tokens, SECRET, algorithms=["HS256", "HS384"])
    refused = [item for item in batch if isinstance(item, Exception)]
    assert len(refused) >= 70
    assert all(type(item).__name__ == "InvalidSignatureError" for item in refused)
    assert _turbojwt.batch_native_count() - before >= 2 * 120  # both batch calls, natively


@pytest.mark.parametrize(
    "kwargs",
    [
        {"algorithms": ["HS256"]},
        {"algorithms": ["HS256"], "options": {"verify_aud": False}},
        {"algorithms": ["HS256"], "options": {"verify_signature": False}},
        {"algorithms": ["HS256"], "options": {"strict_aud": True}, "audience": "api"},
        {"algorithms": ["HS256"], "options": {"require": ["exp", "sub"]}, "audience": "api"},
        {"algorithms": ["HS256"], "audience": ["x", "api"], "issuer": ["a", "me"]},
        {"algorithms": ["HS256"], "audience": "api", "subject": "ok", "leeway": 1200},
        {"algorithms": "HS256", "audience": "api"},
        {"algorithms": ("HS256", "HS512"), "audience": "api"},
        {"algorithms": None, "options": {"verify_signature": False}},
    ],
)
def test_options_and_expectations(kwargs: dict[str, Any]) -> None:
    assert_batch_matches(MIXED_HS256, SECRET, **kwargs)


def test_pyjwk_keys_match_decode() -> None:
    jwk = turbojwt.PyJWK(
        {**turbojwt.algorithms.HMACAlgorithm.to_jwk(SECRET, as_dict=True), "alg": "HS256"}
    )
    tokens = [*MIXED_HS256, turbojwt.encode({"a": 1}, SECRET, algorithm="HS512")]
    for algorithms in (None, ["HS256"], ["HS512"]):
        assert_batch_matches(tokens, jwk, algorithms=algorithms, audience="api", issuer="me")


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_asymmetric_batches(alg: str) -> None:
    private = KEYS[alg]
    tokens = [
        turbojwt.encode({"sub": "a", "exp": NOW + 600}, pem(private, True), algorithm=alg),
        turbojwt.encode({"sub": "b", "exp": NOW - 600}, pem(private, True), algorithm=alg),
        turbojwt.encode({"sub": "c"}, SECRET),  # HS256 token against a public key
    ]
    tokens.append(tokens[0][:-6] + "AAAAAA")
    for key in (pem(private, False), private.public_key()):
        before = _turbojwt.batch_native_count()
        assert_batch_matches(tokens * 10, key, algorithms=[alg])
        assert _turbojwt.batch_native_count() >= before + 10


def test_jwk_set_picks_the_key_by_kid() -> None:
    jwks = turbojwt.PyJWKSet.from_dict(
        {
            "keys": [
                {**turbojwt.algorithms.HMACAlgorithm.to_jwk(SECRET, as_dict=True), "kid": "one"},
                {
                    **turbojwt.algorithms.HMACAlgorithm.to_jwk(SECRET + "2", as_dict=True),
                    "kid": "two",
                },
            ]
        }
    )
    one = turbojwt.encode({"n": 1}, SECRET, headers={"kid": "one"})
    two = turbojwt.encode({"n": 2}, SECRET + "2", headers={"kid": "two"})
    wrong = turbojwt.encode({"n": 3}, SECRET, headers={"kid": "two"})
    unknown = turbojwt.encode({"n": 4}, SECRET, headers={"kid": "three"})
    before = _turbojwt.batch_native_count()
    results = turbojwt.decode_batch([one, two, wrong, unknown, "garbage"], jwks)
    # The PyJWK groups go through the parallel pass, not only through the fallback.
    assert _turbojwt.batch_native_count() >= before + 2
    assert results[0] == {"n": 1}
    assert results[1] == {"n": 2}
    assert isinstance(results[2], turbojwt.InvalidSignatureError)
    assert isinstance(results[3], PyJWKSetError)
    assert isinstance(results[4], turbojwt.DecodeError)


def test_decode_iter_chunks_lazily() -> None:
    produced = 0

    def tokens() -> Any:
        nonlocal produced
        for _ in range(25):
            produced += 1
            yield MIXED_HS256[0]

    results = turbojwt.decode_iter(
        tokens(), SECRET, algorithms=["HS256"], audience="api", chunk_size=10
    )
    first = next(results)
    assert first == turbojwt.decode(MIXED_HS256[0], SECRET, algorithms=["HS256"], audience="api")
    assert produced == 10  # only the first chunk was drawn
    assert len([first, *results]) == 25
    with pytest.raises(ValueError):
        next(turbojwt.decode_iter([], SECRET, chunk_size=0))


@pytest.mark.parametrize("threads", [1, 2, None])
def test_large_batches_on_each_thread_count(threads: int | None) -> None:
    tokens = [hs256({"i": i, "exp": NOW + 600}) for i in range(500)] + MIXED_HS256
    results = turbojwt.decode_batch(tokens, SECRET, algorithms=["HS256"], threads=threads)
    assert results[:500] == [{"i": i, "exp": NOW + 600} for i in range(500)]
    assert [as_outcome(r) for r in results[500:]] == [
        outcome(lambda t=t: turbojwt.decode(t, SECRET, algorithms=["HS256"])) for t in MIXED_HS256
    ]


def test_concurrent_batches_and_decodes_from_eight_threads() -> None:
    tokens = [hs256({"i": i, "exp": NOW + 600}) for i in range(200)]
    rsa_key = KEYS["RS256"]
    rsa_tokens = [
        turbojwt.encode({"i": i}, pem(rsa_key, True), algorithm="RS256") for i in range(20)
    ]
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for round_ in range(5):
                # Odd workers use a dedicated two-thread pool, even ones the global pool.
                threads = 2 if worker % 2 else None
                batch = turbojwt.decode_batch(tokens, SECRET, algorithms=["HS256"], threads=threads)
                assert batch == [{"i": i, "exp": NOW + 600} for i in range(200)]
                assert turbojwt.decode_batch(
                    rsa_tokens, pem(rsa_key, False), algorithms=["RS256"]
                ) == [{"i": i} for i in range(20)]
                secret = f"{SECRET}-{worker}-{round_}"  # new keys churn the key cache
                assert turbojwt.decode(
                    turbojwt.encode({"w": worker}, secret), secret, algorithms=["HS256"]
                ) == {"w": worker}
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    _turbojwt.set_key_cache_size(4)  # the churn above then evicts keys all the time
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        _turbojwt.set_key_cache_size(256)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


mutation = st.tuples(st.integers(min_value=0, max_value=400), st.sampled_from("A-_.=!x\u00e9"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(MIXED_HS256) - 1), st.lists(mutation, max_size=2)
        ),
        max_size=12,
    )
)
def test_mutated_tokens_batch_equals_per_token(
    picks: list[tuple[int, list[tuple[int, str]]]],
) -> None:
    tokens: list[Any] = []
    for index, mutations in picks:
        token = MIXED_HS256[index]
        if isinstance(token, str):
            for position, char in mutations:
                position %= max(len(token), 1)
                token = token[:position] + char + token[position + 1 :]
        tokens.append(token)
    assert_batch_matches(tokens, SECRET, algorithms=["HS256"], audience="api", issuer="me")
