"""Eight threads share the process-wide state: the key caches, the verified-token cache and
the batch thread pools, while the key cache is kept small enough to evict all the time.

Needs no ``cryptography`` (keys are PEM files read by the Rust core), so it also runs on the
free-threaded build, where it is the stress test that CI repeats.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import turbojwt
from turbojwt import _turbojwt
from turbojwt.exceptions import InvalidSignatureError

KEYS = Path(__file__).parent / "vectors" / "keys"
SECRET = "threads-secret-0123456789-0123456789-xyz"
NOW = int(time.time())
WORKERS = 8
ROUNDS = 6
KEY_CACHE_SIZE = 4
TOKEN_CACHE_ENTRIES = 64

# (alg, private PEM, public PEM) for the asymmetric families the Rust core implements.
ASYMMETRIC = [
    ("RS256", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    ("ES256", "p256.pkcs8.pem", "p256.pub.pem"),
    ("EdDSA", "ed25519.pkcs8.pem", "ed25519.pub.pem"),
]
PEMS = {
    alg: ((KEYS / private).read_text(), (KEYS / public).read_text())
    for alg, private, public in ASYMMETRIC
}


def run_on_threads(work: Callable[[int], None], count: int = WORKERS) -> None:
    """Start ``count`` threads at once (a barrier) and re-raise the first error of any."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(worker)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    if errors:
        raise errors[0]


@pytest.fixture
def small_caches() -> Iterator[None]:
    """A 4-key key cache (evicts under load) and a token cache that fills up."""
    key_capacity = _turbojwt.key_cache_info()["capacity"]
    saved = turbojwt.token_cache_info()
    _turbojwt.set_key_cache_size(KEY_CACHE_SIZE)
    turbojwt.set_token_cache(max_entries=TOKEN_CACHE_ENTRIES, max_bytes=1024 * 1024)
    try:
        yield
    finally:
        _turbojwt.set_key_cache_size(key_capacity)
        turbojwt.set_token_cache(max_entries=saved["max_entries"], max_bytes=saved["max_bytes"])


def test_eight_threads_share_key_and_token_caches(small_caches: None) -> None:
    hs_claims = [{"i": i, "exp": NOW + 600} for i in range(40)]
    hs_tokens = [turbojwt.encode(claims, SECRET, algorithm="HS256") for claims in hs_claims]
    signed = {
        alg: [turbojwt.encode({"alg": alg, "i": i}, private, algorithm=alg) for i in range(8)]
        for alg, (private, _public) in PEMS.items()
    }
    # Key objects are cached by identity: one shared object for every thread.
    native_rsa = _turbojwt.NativeKey.from_pem(PEMS["RS256"][1].encode())
    before = turbojwt.token_cache_info()

    def work(worker: int) -> None:
        for round_ in range(ROUNDS):
            # The same tokens, decoded by every thread: from the second sighting on, the
            # shared token cache answers, and its entries are evicted as the churn below
            # fills it.
            for token, claims in zip(hs_tokens, hs_claims):
                assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == claims

            # A new secret each round: the 4-entry key cache evicts all the time.
            secret = f"{SECRET}-{worker}-{round_}"
            token = turbojwt.encode({"w": worker, "r": round_}, secret, algorithm="HS256")
            for _ in range(2):  # the second decode is admitted to the token cache
                assert turbojwt.decode(token, secret, algorithms=["HS256"]) == {
                    "w": worker,
                    "r": round_,
                }
            with pytest.raises(InvalidSignatureError):
                turbojwt.decode(token, SECRET, algorithms=["HS256"])

            for alg, (private, public) in PEMS.items():
                fresh = turbojwt.encode({"w": worker, "alg": alg}, private, algorithm=alg)
                assert turbojwt.decode(fresh, public, algorithms=[alg]) == {
                    "w": worker,
                    "alg": alg,
                }
                complete = turbojwt.decode_complete(signed[alg][round_], public, algorithms=[alg])
                assert complete["header"]["alg"] == alg
                assert complete["payload"] == {"alg": alg, "i": round_}
            assert turbojwt.decode(signed["RS256"][worker], native_rsa, algorithms=["RS256"]) == {
                "alg": "RS256",
                "i": worker,
            }

            # Batches: odd workers on a dedicated two-thread pool, even ones on the global one.
            threads = 2 if worker % 2 else None
            assert (
                turbojwt.decode_batch(hs_tokens, SECRET, algorithms=["HS256"], threads=threads)
                == hs_claims
            )
            rsa_batch = turbojwt.decode_complete_batch(
                signed["RS256"], PEMS["RS256"][1], algorithms=["RS256"], threads=threads
            )
            assert [item["payload"] for item in rsa_batch] == [
                {"alg": "RS256", "i": i} for i in range(8)
            ]

    run_on_threads(work)

    keys = _turbojwt.key_cache_info()
    assert keys["capacity"] == KEY_CACHE_SIZE
    # The HMAC cache bounds each SHA-2 size (HS256, HS384, HS512) on its own.
    assert keys["hmac"] <= 3 * KEY_CACHE_SIZE
    assert keys["asymmetric"] <= KEY_CACHE_SIZE
    after = turbojwt.token_cache_info()
    assert after["hits"] > before["hits"]
    assert after["evictions"] > before["evictions"]
    assert after["entries"] <= TOKEN_CACHE_ENTRIES
    # The cache still answers correctly after all that churn.
    assert turbojwt.decode(hs_tokens[0], SECRET, algorithms=["HS256"]) == hs_claims[0]


def test_threads_resizing_caches_while_others_decode(small_caches: None) -> None:
    tokens = [turbojwt.encode({"i": i}, SECRET, algorithm="HS256") for i in range(20)]

    def work(worker: int) -> None:
        for round_ in range(40):
            if worker == 0:
                _turbojwt.set_key_cache_size(1 + round_ % KEY_CACHE_SIZE)
            elif worker == 1:
                turbojwt.set_token_cache(max_entries=8 + round_ % 3, max_bytes=1024 * 1024)
            elif worker == 2 and round_ % 10 == 0:
                turbojwt.clear_token_cache()
            else:
                for i, token in enumerate(tokens):
                    assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == {"i": i}

    run_on_threads(work)


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="needs a free-threaded build"
)
def test_the_gil_stays_disabled() -> None:
    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]


def resident_mib() -> float:
    """This process's resident set, from ``/proc`` (Linux, where CI runs)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def test_batch_results_are_freed_once_dropped() -> None:
    """Results built on the batch's worker threads are freed when the caller drops them.

    On a free-threaded build each worker makes the dicts it hands back, so they belong to
    the worker's thread state; freeing them from the calling thread queues them for that
    state to merge. A state kept past its batch never merges them: this loop then grew by
    the whole batch's results every round (about 200 MiB here).
    """
    tokens = [
        turbojwt.encode({"i": i, "pad": "x" * 1024, "exp": NOW + 3600}, SECRET)
        for i in range(5_000)
    ]
    saved = turbojwt.token_cache_info()["max_entries"]
    turbojwt.set_token_cache(max_entries=0)  # every round builds new result dicts
    try:
        turbojwt.decode_batch(tokens, SECRET, algorithms=["HS256"])
        before = resident_mib()
        for _ in range(20):
            results = turbojwt.decode_batch(tokens, SECRET, algorithms=["HS256"])
            assert results[-1]["i"] == len(tokens) - 1
            del results
        grown = resident_mib() - before
    finally:
        turbojwt.set_token_cache(max_entries=saved)
    assert grown < 40, f"resident set grew by {grown:.0f} MiB over 20 batches"
