"""Threads: asymmetric decode on one thread against the same work split over two.

turbojwt releases the GIL while an RSA, ECDSA or EdDSA signature is checked, so on a
2-core machine two threads verify in parallel. Each case decodes the same 200 tokens,
either in one loop or as two 100-token halves on a 2-thread pool; the ratio of the two
groups' times is the thread speed-up.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest

from benches.support import VERIFY, Benchmark, KeyPair, Library, label

TOKENS_PER_RUN = 200


@pytest.fixture(scope="module")
def pool() -> Any:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def decode_all(decode: Callable[..., Any], tokens: list[str], key: Any, alg: str) -> int:
    for token in tokens:
        decode(token, key, algorithms=[alg], **VERIFY)
    return len(tokens)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("threads", [1, 2])
def test_decode_in_threads(
    benchmark: Benchmark,
    lib: Library,
    pool: ThreadPoolExecutor,
    claims: dict[str, Any],
    tokens: dict[str, str],
    key_pairs: dict[str, KeyPair],
    alg: str,
    threads: int,
) -> None:
    key = key_pairs[alg].public_pem
    batch = [tokens[alg]] * TOKENS_PER_RUN
    decode = lib.module.decode
    assert lib.first_call(decode, batch[0], key, algorithms=[alg], **VERIFY) == claims

    if threads == 1:

        def run() -> int:
            return decode_all(decode, batch, key, alg)

    else:
        halves = [batch[: TOKENS_PER_RUN // 2], batch[TOKENS_PER_RUN // 2 :]]

        def run() -> int:
            futures = [pool.submit(decode_all, decode, half, key, alg) for half in halves]
            return sum(future.result() for future in futures)

    label(benchmark, f"{alg} decode x{TOKENS_PER_RUN}", lib)
    benchmark.extra_info["mode"] = f"{threads} thread" + ("s" if threads > 1 else "")
    assert benchmark(run) == TOKENS_PER_RUN
