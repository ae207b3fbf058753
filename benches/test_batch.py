"""Batches: decode_batch against a loop of decode calls, for turbojwt and for PyJWT.

The HS256 cases decode 10,000 distinct tokens; the RS256 cases 2,000 (each RSA check costs
about 16 µs, so a larger batch only lengthens the run). Every case checks exp, aud and iss.
"""

from __future__ import annotations

from typing import Any

import pytest

from benches.support import SECRET, VERIFY, Benchmark, KeyPair, Library, label, load_target

HS256_TOKENS = 10_000
RS256_TOKENS = 2_000


@pytest.fixture(scope="module")
def distinct_tokens(
    pyjwt: Library, claims: dict[str, Any], key_pairs: dict[str, KeyPair]
) -> dict[str, list[str]]:
    encode = pyjwt.module.encode
    rsa_private = key_pairs["RS256"].private
    return {
        "HS256": [encode({**claims, "sid": f"s{i}"}, SECRET) for i in range(HS256_TOKENS)],
        "RS256": [
            encode({**claims, "sid": f"s{i}"}, rsa_private, algorithm="RS256")
            for i in range(RS256_TOKENS)
        ],
    }


def key_for(alg: str, key_pairs: dict[str, KeyPair]) -> Any:
    return SECRET if alg == "HS256" else key_pairs[alg].public_pem


@pytest.mark.parametrize("alg", ["HS256", "RS256"])
def test_decode_loop(
    benchmark: Benchmark,
    lib: Library,
    distinct_tokens: dict[str, list[str]],
    key_pairs: dict[str, KeyPair],
    alg: str,
) -> None:
    tokens, key, decode = distinct_tokens[alg], key_for(alg, key_pairs), lib.module.decode
    lib.first_call(decode, tokens[0], key, algorithms=[alg], **VERIFY)

    def loop() -> int:
        # Keep every result, as a caller of a batch API does with its answer.
        results = [decode(token, key, algorithms=[alg], **VERIFY) for token in tokens]
        return len(results)

    label(benchmark, f"{alg} x{len(tokens)}", lib)
    benchmark.extra_info["mode"] = "loop"
    assert benchmark(loop) == len(tokens)


@pytest.mark.parametrize("alg", ["HS256", "RS256"])
def test_decode_batch(
    benchmark: Benchmark,
    distinct_tokens: dict[str, list[str]],
    key_pairs: dict[str, KeyPair],
    alg: str,
) -> None:
    target = load_target()
    decode_batch = target.module.decode_batch
    tokens, key = distinct_tokens[alg], key_for(alg, key_pairs)
    results = decode_batch(tokens, key, algorithms=[alg], **VERIFY)
    assert not any(isinstance(item, Exception) for item in results)

    label(benchmark, f"{alg} x{len(tokens)}", target)
    benchmark.extra_info["mode"] = "decode_batch"

    def batch() -> int:
        return len(decode_batch(tokens, key, algorithms=[alg], **VERIFY))

    assert benchmark(batch) == len(tokens)
