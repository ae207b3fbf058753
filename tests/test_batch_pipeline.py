"""decode_batch's chunked pipeline, its limits and its denylist, with HMAC keys only.

This file needs no ``cryptography``, so it also runs in the environment without it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pytest
import turbojwt
from turbojwt import _turbojwt
from turbojwt.auth.denylist import MemoryDenylist
from turbojwt.auth.exceptions import RevokedTokenError

SECRET = "pipeline-secret-0123456789-0123456789"
NOW = int(time.time())
DECODE = {"key": SECRET, "algorithms": ["HS256"], "audience": "api"}


def token(index: int, **changes: Any) -> str:
    claims = {"sub": f"user-{index}", "aud": "api", "exp": NOW + 600, "jti": f"j{index}"}
    claims.update(changes)
    return turbojwt.encode(claims, SECRET)


def describe(item: Any) -> Any:
    if isinstance(item, Exception):
        return (type(item), str(item))
    return item


def one_by_one(tokens: Iterable[Any], **kwargs: Any) -> list[Any]:
    results = []
    for item in tokens:
        try:
            results.append(turbojwt.decode(item, **kwargs))
        except Exception as error:
            results.append(error)
    return results


def mixed_tokens(count: int) -> list[Any]:
    """Valid tokens, with a failing one every few positions (chunk edges included)."""
    tokens: list[Any] = []
    for index in range(count):
        if index % 97 == 0:
            tokens.append(token(index, exp=NOW - 600))  # expired
        elif index % 89 == 0:
            tokens.append(token(index)[:-2] + "AA")  # bad signature
        elif index % 83 == 0:
            tokens.append(token(index, aud="other"))
        elif index % 79 == 0:
            tokens.append(12345)  # not a token at all
        elif index % 61 == 0:
            tokens.append(turbojwt.encode({"sub": "x"}, SECRET, headers={"kid": "k1"}).encode())
        else:
            tokens.append(token(index))
    return tokens


@pytest.mark.parametrize("threads", [None, 1, 2, 3])
@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 511, 512, 513, 5000])
def test_every_chunking_gives_decodes_results_in_order(threads: int | None, count: int) -> None:
    tokens = mixed_tokens(count)
    expected = [describe(item) for item in one_by_one(tokens, **DECODE)]
    batch = turbojwt.decode_batch(tokens, threads=threads, **DECODE)
    assert [describe(item) for item in batch] == expected


def test_large_valid_batch_is_accepted_natively() -> None:
    tokens = [token(index) for index in range(3000)]
    before = _turbojwt.batch_native_count()
    batch = turbojwt.decode_batch(tokens, **DECODE)
    assert _turbojwt.batch_native_count() - before == len(tokens)
    assert [claims["jti"] for claims in batch] == [f"j{index}" for index in range(3000)]


def test_tokens_with_another_header_in_the_same_chunk() -> None:
    """The per-worker header memo must not carry one header's verdict to another."""
    plain = [token(index) for index in range(40)]
    with_kid = [
        turbojwt.encode({"aud": "api", "n": index}, SECRET, headers={"kid": "a"})
        for index in range(40)
    ]
    other_alg = [turbojwt.encode({"aud": "api"}, SECRET, algorithm="HS512") for _ in range(40)]
    tokens = [item for triple in zip(plain, with_kid, other_alg) for item in triple]
    expected = [describe(item) for item in one_by_one(tokens, **DECODE)]
    assert [describe(item) for item in turbojwt.decode_batch(tokens, **DECODE)] == expected
    assert all(item[0] is turbojwt.InvalidAlgorithmError for item in expected[2::3])
    assert all(isinstance(item, dict) for item in expected[1::3])


@pytest.fixture
def tight_limits() -> Iterable[None]:
    saved = turbojwt.get_limits()
    turbojwt.set_limits(max_token_bytes=400, max_json_depth=3)
    try:
        yield
    finally:
        turbojwt.set_limits(
            max_token_bytes=saved.max_token_bytes, max_json_depth=saved.max_json_depth
        )


@pytest.mark.filterwarnings("ignore::turbojwt.warnings.TokenLimitWarning")
def test_limits_apply_to_batches_as_to_decode(tight_limits: None) -> None:
    deep = token(1, extra={"a": {"b": {"c": 1}}})  # depth 4 in the payload
    long = token(2, padding="x" * 400)
    shallow = token(3, extra={"a": 1})
    tokens = [deep, long, shallow] * 20
    expected = [describe(item) for item in one_by_one(tokens, **DECODE)]
    assert expected[0][0] is turbojwt.DecodeError
    assert expected[1][0] is turbojwt.DecodeError
    assert isinstance(expected[2], dict)
    assert [describe(item) for item in turbojwt.decode_batch(tokens, **DECODE)] == expected


class CountingDenylist(MemoryDenylist):
    """A memory denylist that records how often a batch asks it."""

    def __init__(self) -> None:
        super().__init__()
        self.questions: list[set[str]] = []

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        asked = set(jtis)
        self.questions.append(asked)
        return super().revoked(asked)


def test_denylist_is_asked_once_per_batch() -> None:
    denylist = CountingDenylist()
    denylist.revoke("j3", NOW + 600)
    denylist.revoke("family-b", NOW + 600)
    tokens = [token(index) for index in range(6)]
    tokens.append(token(6, fam="family-b"))
    tokens.append(token(7, fam="family-c"))
    tokens.append(token(8, exp=NOW - 600))
    results = turbojwt.decode_batch(tokens, denylist=denylist, **DECODE)

    assert len(denylist.questions) == 1
    assert denylist.questions[0] == {f"j{i}" for i in range(8)} | {"family-b", "family-c"}
    revoked = [index for index, item in enumerate(results) if isinstance(item, RevokedTokenError)]
    assert revoked == [3, 6]
    assert isinstance(results[8], turbojwt.ExpiredSignatureError)
    assert str(results[3]) == "Token has been revoked"
    assert isinstance(results[3], turbojwt.InvalidTokenError)
    assert results[0]["jti"] == "j0"


def test_denylist_with_complete_results_and_iter() -> None:
    denylist = CountingDenylist()
    denylist.revoke("j1", NOW + 600)
    tokens = [token(index) for index in range(3)]
    complete = turbojwt.decode_complete_batch(tokens, denylist=denylist, **DECODE)
    assert isinstance(complete[1], RevokedTokenError)
    assert complete[0]["payload"]["jti"] == "j0"
    streamed = list(turbojwt.decode_iter(tokens * 3, chunk_size=4, denylist=denylist, **DECODE))
    assert [isinstance(item, RevokedTokenError) for item in streamed] == [False, True, False] * 3
    assert len(denylist.questions) == 1 + 3


def test_a_batch_with_nothing_to_ask_does_not_call_the_denylist() -> None:
    denylist = CountingDenylist()
    tokens = [turbojwt.encode({"aud": "api"}, SECRET), "not-a-token"]
    results = turbojwt.decode_batch(tokens, denylist=denylist, **DECODE)
    assert denylist.questions == []
    assert results[0] == {"aud": "api"}
    assert isinstance(results[1], turbojwt.DecodeError)
