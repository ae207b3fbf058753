"""turbojwt against ryjwt, the fastest peer, in interleaved rounds of thread CPU time.

pytest-benchmark times one library's row, then the other's, minutes apart; on a shared
machine the two rows then see different machine states, and their ratio moves by 10% from
run to run. Here every round times each case once for turbojwt and once for ryjwt,
back to back, so both see the same state; the table gives each library's median time per
call and the median and range of the per-round ratios.

    python benches/peers_interleaved.py [--rounds 12] [--calls 20000]

ryjwt needs CPython 3.12 or newer. The cases are those of ``benches/instructions.py``: an
HS256 decode with exp/aud/iss checked, first sight (distinct tokens, with the token cache
off, and again on, as it is by default) and repeat (one token, cache on), the rejection of
a bad signature (also with the ``algorithms`` list built once, to separate the cost of
the caller's list literal), and an HS256 encode.
ryjwt's key object carries the audience and issuer; turbojwt's calls pass them, as
PyJWT's API does. msgspec is kept out of ryjwt's way (it would pick it when importable;
its default is jiter).
"""

from __future__ import annotations

import argparse
import importlib
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.modules["msgspec"] = None  # type: ignore[assignment]

import instructions as fixtures  # noqa: E402  (the path above)
import turbojwt  # noqa: E402

SECRET, AUDIENCE, ISSUER = fixtures.SECRET, fixtures.AUDIENCE, fixtures.ISSUER
#: Distinct tokens the first-sight loop cycles through (a power of two: indexed by mask).
POOL = 2048
#: The same for the signature-bound asymmetric rows, whose tokens take longer to sign.
ASYMMETRIC_POOL = 256

Timer = Callable[[int], float]


def cases(ryjwt: Any) -> dict[str, tuple[Timer, Timer]]:
    """Per case, turbojwt's and ryjwt's timers: thread CPU seconds for ``calls`` calls.

    Each loop is written out, with no function call around the library's: a wrapper would
    add the same cost to both libraries and pull every ratio towards 1.
    """
    pool = [turbojwt.encode(fixtures.claims(i), SECRET) for i in range(POOL)]
    repeated, forged, payload = pool[5], fixtures.forge(pool[0]), fixtures.claims(1)
    verifier = ryjwt.SecretKey(SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    signer = ryjwt.SecretKey(SECRET, algorithms=["HS256"])
    mask = POOL - 1

    def turbojwt_first(calls: int) -> float:
        saved = turbojwt.token_cache_info()["max_entries"]
        turbojwt.set_token_cache(max_entries=0)
        decode = turbojwt.decode
        started = time.thread_time()
        for i in range(calls):
            decode(pool[i & mask], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        elapsed = time.thread_time() - started
        turbojwt.set_token_cache(max_entries=saved)
        return elapsed

    def turbojwt_first_cache_on(calls: int) -> float:
        # The default configuration: each token is probed, counted as a miss, and its first
        # sighting remembered. The pool is forgotten before each pass (untimed), so no token
        # is ever seen twice.
        decode = turbojwt.decode
        elapsed, done = 0.0, 0
        while done < calls:
            count = min(POOL, calls - done)
            turbojwt.clear_token_cache()
            started = time.thread_time()
            for i in range(count):
                decode(pool[i], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
            elapsed += time.thread_time() - started
            done += count
        return elapsed

    def ryjwt_first(calls: int) -> float:
        decode = verifier.decode
        started = time.thread_time()
        for i in range(calls):
            decode(pool[i & mask])
        return time.thread_time() - started

    def turbojwt_repeat(calls: int) -> float:
        decode = turbojwt.decode
        started = time.thread_time()
        for _ in range(calls):
            decode(repeated, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        return time.thread_time() - started

    def ryjwt_repeat(calls: int) -> float:
        decode = verifier.decode
        started = time.thread_time()
        for _ in range(calls):
            decode(repeated)
        return time.thread_time() - started

    def turbojwt_reject(calls: int) -> float:
        decode, error = turbojwt.decode, turbojwt.InvalidSignatureError
        started = time.thread_time()
        for _ in range(calls):
            try:
                decode(forged, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
            except error:
                pass
        return time.thread_time() - started

    def turbojwt_reject_list_built_once(calls: int) -> float:
        # The same call with the `algorithms` list made once, as a constant: what the
        # refusal costs turbojwt apart from the interpreter building and freeing a list for
        # every call (see docs/benchmarks.md, "Eleventh round").
        decode, error, algorithms = turbojwt.decode, turbojwt.InvalidSignatureError, ["HS256"]
        started = time.thread_time()
        for _ in range(calls):
            try:
                decode(forged, SECRET, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
            except error:
                pass
        return time.thread_time() - started

    def ryjwt_reject(calls: int) -> float:
        decode, error = verifier.decode, ryjwt.InvalidSignatureError
        started = time.thread_time()
        for _ in range(calls):
            try:
                decode(forged)
            except error:
                pass
        return time.thread_time() - started

    def turbojwt_encode(calls: int) -> float:
        encode = turbojwt.encode
        started = time.thread_time()
        for _ in range(calls):
            encode(payload, SECRET)
        return time.thread_time() - started

    def ryjwt_encode(calls: int) -> float:
        encode = signer.encode
        started = time.thread_time()
        for _ in range(calls):
            encode(payload)
        return time.thread_time() - started

    # Each loop must do what it claims: accept, reject, or make the same token.
    assert turbojwt.decode(
        pool[1], SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
    ) == verifier.decode(pool[1])
    assert turbojwt.encode(payload, SECRET) == signer.encode(payload)
    rejections: list[Callable[[], Any]] = [
        lambda: turbojwt.decode(forged, SECRET, algorithms=["HS256"]),
        lambda: verifier.decode(forged),
    ]
    for reject in rejections:
        try:
            reject()
        except Exception as error:  # each library's own InvalidSignatureError
            assert type(error).__name__ == "InvalidSignatureError", error
        else:
            raise AssertionError("a forged token was accepted")
    return {
        **asymmetric_cases(ryjwt),
        "HS256 decode, first sight": (turbojwt_first, ryjwt_first),
        "HS256 decode, first sight, token cache on": (turbojwt_first_cache_on, ryjwt_first),
        "HS256 decode, repeat": (turbojwt_repeat, ryjwt_repeat),
        "HS256 bad signature rejected": (turbojwt_reject, ryjwt_reject),
        "HS256 bad signature rejected, algorithms list built once": (
            turbojwt_reject_list_built_once,
            ryjwt_reject,
        ),
        "HS256 encode": (turbojwt_encode, ryjwt_encode),
    }


#: Per algorithm: the private key that signs (PKCS#8) and the public key that verifies.
KEY_FILES = {
    "RS256": ("rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    "ES256": ("p256.pkcs8.pem", "p256.pub.pem"),
    "EdDSA": ("ed25519.pkcs8.pem", "ed25519.pub.pem"),
}


def asymmetric_cases(ryjwt: Any) -> dict[str, tuple[Timer, Timer]]:
    """RS256, ES256 and EdDSA decodes with the public key loaded once (turbojwt's token
    cache off, distinct tokens signed by PyJWT); empty without PyJWT and cryptography."""
    try:
        import jwt as pyjwt
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        return {}
    found: dict[str, tuple[Timer, Timer]] = {}
    for alg, (private_file, public_file) in KEY_FILES.items():
        private = serialization.load_pem_private_key(
            (fixtures.KEYS / private_file).read_bytes(), password=None
        )
        pem = (fixtures.KEYS / public_file).read_text()
        pool = [pyjwt.encode(fixtures.claims(i), private, alg) for i in range(ASYMMETRIC_POOL)]
        prepared = turbojwt.algorithms.get_default_algorithms()[alg].prepare_key(pem)
        verifier = ryjwt.PublicKey(pem, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
        assert turbojwt.decode(
            pool[1], prepared, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER
        ) == verifier.decode(pool[1])
        found[f"{alg} decode, pre-loaded key"] = (
            turbojwt_asymmetric(pool, prepared, alg),
            ryjwt_asymmetric(pool, verifier),
        )
    return found


def turbojwt_asymmetric(pool: list[str], key: Any, alg: str) -> Timer:
    mask, algorithms = len(pool) - 1, [alg]

    def run(calls: int) -> float:
        saved = turbojwt.token_cache_info()["max_entries"]
        turbojwt.set_token_cache(max_entries=0)
        decode = turbojwt.decode
        started = time.thread_time()
        for i in range(calls):
            decode(pool[i & mask], key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
        elapsed = time.thread_time() - started
        turbojwt.set_token_cache(max_entries=saved)
        return elapsed

    return run


def ryjwt_asymmetric(pool: list[str], verifier: Any) -> Timer:
    mask = len(pool) - 1

    def run(calls: int) -> float:
        decode = verifier.decode
        started = time.thread_time()
        for i in range(calls):
            decode(pool[i & mask])
        return time.thread_time() - started

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds per case")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round and library")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < 1:
        parser.error("--rounds and --calls must be positive")
    try:
        ryjwt = importlib.import_module("ryjwt")
    except ImportError:
        print(f"ryjwt is not installed (it needs CPython 3.12+; this is {sys.version.split()[0]})")
        return 1
    print(
        f"CPython {platform.python_version()}, turbojwt {turbojwt.__version__}, "
        f"ryjwt {metadata.version('ryjwt')}; {args.rounds} rounds of {args.calls:,} "
        "calls, thread CPU time"
    )
    print()
    print("| case | turbojwt µs | ryjwt µs | turbojwt / ryjwt, median (range) |")
    print("|---|---:|---:|---:|")
    for name, (ours, theirs) in cases(ryjwt).items():
        # A signature check costs 20-100x an HMAC: fewer calls keep rounds equally long.
        calls = args.calls if name.startswith("HS") else max(1, args.calls // 40)
        ours(max(1, calls // 10)), theirs(max(1, calls // 10))  # warm both up
        ratios, ours_us, theirs_us = [], [], []
        for _ in range(args.rounds):
            a, b = ours(calls), theirs(calls)
            ours_us.append(a / calls * 1e6)
            theirs_us.append(b / calls * 1e6)
            ratios.append(a / b)
        print(
            f"| {name} | {statistics.median(ours_us):.3f} | {statistics.median(theirs_us):.3f} "
            f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
