"""turbojwt against the fastest peer, ryjwt, per operation: first sight and repeat tokens.

ryjwt needs CPython 3.12 or newer; without it only turbojwt's rows run. Run with thread CPU
time, which a busy shared machine disturbs least, and several rounds:

    python -m pytest benches/test_peers.py --benchmark-timer=time.thread_time \\
        --benchmark-min-time=0.0005 --benchmark-min-rounds=15 \\
        --benchmark-columns=median,iqr,min,max,rounds

"First sight" rows turn turbojwt's token cache off and cycle through distinct tokens (each
its own subject and session id, as an API's traffic is), so each call does the whole work
and reuses nothing per-token (the header is still one seen before, as it is for an
issuer's traffic). "Repeat" rows
decode one token again and again with the cache on, as an API sees a session's token.
ryjwt has no such cache: its two rows are the same work.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from benches.support import AUDIENCE, ISSUER, SECRET, Benchmark, KeyPair, Library

PEERS = ["turbojwt", "ryjwt"]
#: Distinct tokens a first-sight row cycles through: more than any per-process cache holds.
POOL = 2048
_pools: dict[str, list[str]] = {}


def _ryjwt() -> Any:
    try:
        # ryjwt imports msgspec per key when it is importable; its jiter path is the default.
        return importlib.import_module("ryjwt")
    except ImportError:
        return None


@pytest.fixture(params=PEERS)
def peer(request: pytest.FixtureRequest) -> str:
    if request.param == "ryjwt" and _ryjwt() is None:
        pytest.skip(f"ryjwt is not installed (it needs CPython 3.12+; this is {sys.version})")
    return str(request.param)


@pytest.fixture(params=["first sight", "repeat"])
def sighting(request: pytest.FixtureRequest) -> Iterator[str]:
    import turbojwt

    saved = turbojwt.token_cache_info()
    if request.param == "first sight":
        turbojwt.set_token_cache(max_entries=0)
    yield str(request.param)
    turbojwt.set_token_cache(max_entries=saved["max_entries"], max_bytes=saved["max_bytes"])


def _decoder(peer: str, alg: str, key: Any) -> Callable[[str], Any]:
    """A call site for ``peer``'s decode, as an application writes one: a Python function
    with the arguments its API takes (the same frame for both libraries)."""
    if peer == "turbojwt":
        import turbojwt

        def decode(token: str) -> Any:
            return turbojwt.decode(token, key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)

        return decode
    ryjwt = _ryjwt()
    if alg.startswith("HS"):
        made = ryjwt.SecretKey(key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
    else:
        made = ryjwt.PublicKey(key, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)

    def decode_with_key(token: str) -> Any:
        return made.decode(token)

    return decode_with_key


def _group(benchmark: Benchmark, title: str, peer: str) -> None:
    benchmark.group = title
    benchmark.extra_info["library"] = peer


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_decode_preloaded_key(
    benchmark: Benchmark,
    peer: str,
    sighting: str,
    alg: str,
    claims: dict[str, Any],
    tokens: dict[str, str],
    key_pairs: dict[str, KeyPair],
    pyjwt: Library,
) -> None:
    key: Any = SECRET if alg == "HS256" else key_pairs[alg].public_pem
    if peer == "turbojwt" and alg != "HS256":
        import turbojwt

        key = turbojwt.algorithms.get_default_algorithms()[alg].prepare_key(key)
    decode = _decoder(peer, alg, key)
    token = tokens[alg]
    for _ in range(3):  # the repeat rows start with the token admitted
        assert decode(token) == claims
    _group(benchmark, f"{alg} decode, pre-loaded key, {sighting}", peer)
    if sighting == "repeat":
        benchmark(decode, token)
        return
    if alg not in _pools:  # minted once per algorithm, for both peers
        signing_key = SECRET if alg == "HS256" else key_pairs[alg].private
        _pools[alg] = [
            pyjwt.module.encode(
                {**claims, "sub": f"user-{index}", "sid": f"s-{index:08x}"},
                signing_key,
                algorithm=alg,
            )
            for index in range(POOL)
        ]
    pool = _pools[alg]
    assert decode(pool[1])["sub"] == "user-1"
    next_token = itertools.cycle(pool).__next__
    benchmark(lambda: decode(next_token()))


def test_hs256_encode(benchmark: Benchmark, peer: str, claims: dict[str, Any]) -> None:
    if peer == "turbojwt":
        import turbojwt

        def encode() -> str:
            return turbojwt.encode(claims, SECRET)
    else:
        signer = _ryjwt().SecretKey(SECRET, algorithms=["HS256"])

        def encode() -> str:
            return signer.encode(claims)  # type: ignore[no-any-return]

    _group(benchmark, "HS256 encode", peer)
    benchmark(encode)


def test_hs256_bad_signature(benchmark: Benchmark, peer: str, tokens: dict[str, str]) -> None:
    header, payload, signature = tokens["HS256"].split(".")
    forged = f"{header}.{payload}.{'A' * len(signature)}"
    decode = _decoder(peer, "HS256", SECRET)
    # A server refuses forgeries between valid tokens. ryjwt's refusal costs about 25% more
    # until its key has decoded one valid token, so both libraries decode one first.
    decode(tokens["HS256"])

    def reject() -> None:
        try:
            decode(forged)
        except Exception:
            return
        raise AssertionError("a forged token was accepted")

    _group(benchmark, "HS256 decode, bad signature rejected", peer)
    benchmark(reject)


def test_rs256_decode_pem_per_call(
    benchmark: Benchmark,
    peer: str,
    claims: dict[str, Any],
    tokens: dict[str, str],
    key_pairs: dict[str, KeyPair],
) -> None:
    pem, token = key_pairs["RS256"].public_pem, tokens["RS256"]
    if peer == "turbojwt":
        import turbojwt

        turbojwt.set_token_cache(max_entries=0)

        def decode() -> Any:
            return turbojwt.decode(
                token, pem, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER
            )
    else:
        ryjwt = _ryjwt()

        def decode() -> Any:
            made = ryjwt.PublicKey(pem, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
            return made.decode(token)

    assert decode() == claims
    _group(benchmark, "RS256 decode, PEM str every call, first sight", peer)
    benchmark(decode)
    if peer == "turbojwt":
        turbojwt.set_token_cache(max_entries=4096)
