"""Leak check: a million decodes, valid and invalid, keep the process's memory flat.

    python tests/leak/leak_check.py [--decodes N] [--bound-mib M]

Every algorithm (HS256/384/512, RS256/384/512, PS256/384/512, ES256/ES256K/ES384/ES512,
EdDSA with Ed25519 and Ed448) is decoded as a valid token (``decode``, ``decode_complete``
and through a ``PyJWK``) and as every kind of bad one: a wrong signature, an expired token,
malformed base64, a validly signed payload that is not JSON, an algorithm outside the
allow-list, a key of the wrong type, and tokens over the length and depth limits. Each
cycle also runs ``decode_batch`` (mixed valid and invalid tokens) and ``encode``, and the
native key cache is shrunk to a few entries so keys are evicted and prepared again all the
time. HMAC tokens are the majority, as in real traffic; asymmetric decodes (20-150 µs
each) are a minority that keeps the run near a minute.

After a warm-up (caches, allocator arenas and thread pools reach their working size), the
resident set size (``/proc/self/statm``) is sampled at regular intervals. The check fails if
it grows by more than the bound from the post-warm-up sample to the last one, or if any call
stops giving the answer it gave in the first cycle. A last phase decodes distinct tokens
with ``decode`` alone (see ``fast_path_phase``) and bounds both the RSS and the number of
allocated Python blocks. Linux only (``/proc``). Not collected by
pytest: CI runs it as a script.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import turbojwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from turbojwt import _turbojwt
from turbojwt.limits import Limits

#: The limits the cases are built for.
LIMITS = Limits(max_token_bytes=256 * 1024, max_json_depth=64)

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20
NOW = int(time.time())
CLAIMS = {"sub": "leak", "iat": NOW, "exp": NOW + 3600, "scope": "read write", "n": 1}
EXPIRED = {**CLAIMS, "exp": NOW - 3600}
#: Decodes of the HMAC cases per decode of the asymmetric ones.
HMAC_WEIGHT = 6
#: The native key cache's capacity during the run: far fewer than the keys in use.
KEY_CACHE_SIZE = 4
#: Distinct HMAC secrets per algorithm, rotated so the HMAC cache evicts too.
HMAC_SECRETS = 8
BATCH_SIZE = 64


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def pem_private(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def pem_public(key: Any) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return bytes(public).decode()


@dataclass
class Signer:
    """One algorithm: how to sign, the key to verify with, a key of the wrong type."""

    alg: str
    signing_key: Any
    verifying_key: Any
    wrong_key: Any
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or self.alg

    def encode(self, claims: dict[str, Any], **kwargs: Any) -> str:
        return turbojwt.encode(claims, self.signing_key, algorithm=self.alg, **kwargs)


def make_signers() -> list[Signer]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_keys = {
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "ES256K": ec.generate_private_key(ec.SECP256K1()),
        "ES384": ec.generate_private_key(ec.SECP384R1()),
        "ES512": ec.generate_private_key(ec.SECP521R1()),
    }
    okp_keys = {
        "Ed25519": ed25519.Ed25519PrivateKey.generate(),
        "Ed448": ed448.Ed448PrivateKey.generate(),
    }
    rsa_public = pem_public(rsa_key)
    p256_public = pem_public(ec_keys["ES256"])
    signers = [
        Signer(alg, f"hmac-secret-{alg}-" * 5, f"hmac-secret-{alg}-" * 5, rsa_public)
        for alg in ("HS256", "HS384", "HS512")
    ]
    signers += [
        Signer(alg, pem_private(rsa_key), rsa_public, p256_public)
        for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
    ]
    signers += [
        Signer(alg, pem_private(key), pem_public(key), rsa_public) for alg, key in ec_keys.items()
    ]
    signers += [
        Signer("EdDSA", pem_private(key), pem_public(key), p256_public, label=f"EdDSA-{curve}")
        for curve, key in okp_keys.items()
    ]
    return signers


@dataclass
class Case:
    """One decode-like call; ``count`` decodes per call (a batch counts its tokens)."""

    name: str
    call: Callable[[], Any]
    count: int = 1
    answer: str = ""  # what the first call gave: a result's shape, or the exception

    def run(self) -> str:
        try:
            result = self.call()
        except turbojwt.PyJWTError as error:
            return f"{type(error).__name__}: {without_addresses(error)}"
        if isinstance(result, list):  # a batch: the shape of every element
            return ",".join(
                item["sub"]
                if isinstance(item, dict)
                else f"{type(item).__name__}: {without_addresses(item)}"
                for item in result
            )
        payload = result.get("payload", result)
        return f"claims:{payload['sub']}"


def without_addresses(error: object) -> str:
    """The message, minus object addresses (PyJWT's key-type message shows a generator's)."""
    return re.sub(r" at 0x[0-9a-f]+", "", str(error))


def swap_first_char(segment: str) -> str:
    return ("B" if segment[0] == "A" else "A") + segment[1:]


def other_alg(alg: str) -> str:
    return "HS256" if alg != "HS256" else "HS512"


def too_long(signer: Any) -> str:
    """A token over the length limit (encode warns that decode will refuse it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", turbojwt.warnings.TokenLimitWarning)
        token: str = signer.encode({**CLAIMS, "pad": "p" * 300_000})
    return token


def decode_cases(signer: Signer) -> list[Case]:
    alg, key = signer.alg, signer.verifying_key
    valid = signer.encode(CLAIMS)
    header, payload, signature = valid.split(".")
    pyjwk = turbojwt.PyJWK.from_json(
        turbojwt.get_algorithm_by_name(alg).to_jwk(
            turbojwt.get_algorithm_by_name(alg).prepare_key(key)
        ),
        algorithm=alg,
    )
    not_json = turbojwt.api_jws.encode(b'{"sub": "leak",', signer.signing_key, algorithm=alg)
    deep = {"sub": "leak", "x": []}
    inner: Any = deep["x"]
    for _ in range(LIMITS.max_json_depth + 6):
        inner.append([])
        inner = inner[0]
    with warnings.catch_warnings():  # these tokens are made to be refused
        warnings.simplefilter("ignore", turbojwt.warnings.TokenLimitWarning)
        too_long_token = too_long(signer)
        too_deep_payload = signer.encode(deep)
        too_deep_header = signer.encode(CLAIMS, headers={"x": deep["x"]})

    def decode(
        token: str | bytes, with_key: Any = key, algorithms: list[str] | None = None
    ) -> Callable[[], Any]:
        return lambda: turbojwt.decode(token, with_key, algorithms=algorithms or [alg])

    cases = {
        "valid": decode(valid),
        "valid-bytes": decode(valid.encode()),
        "valid-complete": lambda: turbojwt.decode_complete(valid, key, algorithms=[alg]),
        "valid-pyjwk": lambda: turbojwt.decode(valid, pyjwk),
        "bad-signature": decode(f"{header}.{payload}.{swap_first_char(signature)}"),
        "expired": decode(signer.encode(EXPIRED)),
        "malformed-base64": decode(f"{header}.{payload[:5]}!{payload[5:]}.{signature}"),
        "bad-json": decode(not_json),
        "wrong-algorithm": decode(valid, algorithms=[other_alg(alg)]),
        "wrong-key-type": decode(valid, with_key=signer.wrong_key),
        "too-long": decode(too_long_token),
        "too-deep-header": decode(too_deep_header),
        "too-deep-payload": decode(too_deep_payload),
    }
    return [Case(f"{signer.label} {name}", call) for name, call in cases.items()]


def hmac_rotation_cases(signer: Signer) -> list[Case]:
    """Valid HMAC tokens under several secrets each, so the HMAC key cache evicts."""
    cases = []
    for index in range(HMAC_SECRETS):
        secret = f"rotating-secret-{index}-{signer.alg}-" * 3
        token = turbojwt.encode(CLAIMS, secret, algorithm=signer.alg)
        cases.append(
            Case(
                f"{signer.alg} rotating secret {index}",
                lambda token=token, secret=secret: turbojwt.decode(
                    token, secret, algorithms=[signer.alg]
                ),
            )
        )
    return cases


def batch_case(signer: Signer) -> Case:
    valid = signer.encode(CLAIMS)
    header, payload, signature = valid.split(".")
    kinds = [
        valid,
        valid.encode(),
        signer.encode(EXPIRED),
        f"{header}.{payload}.{swap_first_char(signature)}",
        f"{header}.{payload[:5]}!{payload[5:]}.{signature}",
        "not a token",
        too_long(signer),
        signer.encode({**CLAIMS, "n": 2}),
    ]
    tokens = [kinds[index % len(kinds)] for index in range(BATCH_SIZE)]
    return Case(
        f"{signer.label} decode_batch x{BATCH_SIZE}",
        lambda: turbojwt.decode_batch(tokens, signer.verifying_key, algorithms=[signer.alg]),
        count=BATCH_SIZE,
    )


def encode_case(signer: Signer, index: int) -> Case:
    """Encodes are not counted as decodes; one asymmetric encode per cycle, in rotation."""
    return Case(
        f"{signer.label} encode {index}",
        lambda: {"sub": "leak", "token": signer.encode({**CLAIMS, "i": index})},
        count=0,
    )


def build_cycle(signers: list[Signer]) -> list[Case]:
    """One cycle: every case once, the HMAC ones ``HMAC_WEIGHT`` times."""
    cycle: list[Case] = []
    for signer in signers:
        weight = HMAC_WEIGHT if signer.alg.startswith("HS") else 1
        cycle += decode_cases(signer) * weight
        if signer.alg.startswith("HS"):
            cycle += hmac_rotation_cases(signer) * weight
    by_alg = {signer.alg: signer for signer in signers}
    cycle += [batch_case(by_alg["HS256"]), batch_case(by_alg["ES256"])]
    cycle += [encode_case(by_alg["HS256"], 0), encode_case(by_alg["HS512"], 1)]
    return cycle


#: Distinct tokens of the fast-path phase: more than the token cache and the string table hold.
DISTINCT_TOKENS = 8192
#: Allocated Python blocks the fast-path phase may gain after its warm-up.
FAST_PATH_BLOCK_BOUND = 10_000


def fast_path_phase(decodes: int, bound_mib: float) -> bool:
    """``turbojwt.decode`` alone, over distinct tokens, and nothing else.

    The main cycle mixes in calls that go through PyO3's own method wrappers, which release
    any references queued while the thread was not marked attached; a loop of ``decode``
    calls alone does not. Distinct tokens make the caches replace entries on every call,
    so a reference dropped but not released would show as growth here.
    """
    secret = "fast-path-secret-0123456789abcdef"
    tokens = [
        turbojwt.encode({**CLAIMS, "sid": f"s-{index:08x}", "jti": f"j{index}"}, secret)
        for index in range(DISTINCT_TOKENS)
    ]
    decode = turbojwt.decode
    warm_up = 3 * DISTINCT_TOKENS  # every token admitted to the token cache, or not
    for index in range(warm_up):
        decode(tokens[index % DISTINCT_TOKENS], secret, algorithms=["HS256"])
    gc.collect()
    rss, blocks = rss_bytes(), sys.getallocatedblocks()
    for index in range(decodes):
        decode(tokens[index % DISTINCT_TOKENS], secret, algorithms=["HS256"])
    gc.collect()
    rss_growth, block_growth = rss_bytes() - rss, sys.getallocatedblocks() - blocks
    print(
        f"fast path: {decodes:,} decodes of {DISTINCT_TOKENS:,} distinct tokens: RSS "
        f"{rss_growth / MIB:+.2f} MiB (bound {bound_mib} MiB), allocated blocks "
        f"{block_growth:+,} (bound {FAST_PATH_BLOCK_BOUND:,})"
    )
    return rss_growth <= bound_mib * MIB and block_growth <= FAST_PATH_BLOCK_BOUND


def column_phase(rounds: int, bound_mib: float) -> bool:
    """``turbojwt.arrow`` over arrays and streams, mixed tokens (fallbacks included).

    Each round imports a column through the PyCapsule interface (the one unsafe import in
    the crate), judges it, and reads the verdicts back as an array and as a stream. Skipped
    (and reported) without pyarrow.
    """
    try:
        import pyarrow as pa
    except ImportError:
        print("column path: skipped, pyarrow is not installed")
        return True
    from turbojwt import arrow

    secret = "column-path-secret-0123456789abcdef"
    tokens: list[Any] = [
        turbojwt.encode({**CLAIMS, "sid": f"s-{index:08x}"}, secret) for index in range(5000)
    ]
    tokens[::97] = ["not.a.token"] * len(tokens[::97])  # the Python fallback
    tokens[1::89] = [None] * len(tokens[1::89])
    column = pa.array(tokens)
    chunked = pa.chunked_array([tokens[:2500], tokens[2500:]])

    def one_round() -> tuple[int, int, int]:
        verdicts = arrow.verify(column, secret, algorithms=["HS256"], options={"verify_aud": False})
        as_array = pa.array(verdicts)
        streamed = pa.table(
            arrow.verify(chunked, secret, algorithms=["HS256"], options={"verify_aud": False})
        )
        assert len(as_array) == streamed.num_rows == len(tokens)
        return verdicts.counts()

    answer = one_round()
    for _ in range(3):
        one_round()
    gc.collect()
    rss, blocks = rss_bytes(), sys.getallocatedblocks()
    for _ in range(rounds):
        if one_round() != answer:
            print("FAIL: the column path changed its answer")
            return False
    gc.collect()
    rss_growth, block_growth = rss_bytes() - rss, sys.getallocatedblocks() - blocks
    print(
        f"column path: {rounds:,} rounds of {2 * len(tokens):,} tokens: RSS "
        f"{rss_growth / MIB:+.2f} MiB (bound {bound_mib} MiB), allocated blocks "
        f"{block_growth:+,} (bound {FAST_PATH_BLOCK_BOUND:,})"
    )
    return rss_growth <= bound_mib * MIB and block_growth <= FAST_PATH_BLOCK_BOUND


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decodes", type=int, default=1_000_000)
    parser.add_argument("--bound-mib", type=float, default=8.0)
    parser.add_argument("--samples", type=int, default=20, help="RSS samples after the warm-up")
    args = parser.parse_args()

    warnings.simplefilter("error")  # an unexpected warning becomes a changed answer
    _turbojwt.set_key_cache_size(KEY_CACHE_SIZE)
    # A depth limit the nested test tokens exceed without nesting deeper than json can.
    turbojwt.set_limits(max_json_depth=LIMITS.max_json_depth)
    signers = make_signers()
    cycle = build_cycle(signers)
    asymmetric_encodes = [
        encode_case(signer, index)
        for index, signer in enumerate(signers)
        if not signer.alg.startswith("HS")
    ]
    for case in cycle:
        case.answer = case.run()
    for case in asymmetric_encodes:
        case.answer = case.run()
    per_cycle = sum(case.count for case in cycle)
    cycles = max(1, -(-args.decodes // per_cycle))
    warm_up = max(1, cycles // 20)
    sample_every = max(1, (cycles - warm_up) // args.samples)
    print(
        f"{len(cycle)} calls and {per_cycle} decodes per cycle, {cycles} cycles "
        f"({cycles * per_cycle:,} decodes), warm-up {warm_up} cycles, "
        f"key cache capacity {KEY_CACHE_SIZE}",
        flush=True,
    )

    start = time.perf_counter()
    decodes = 0
    baseline = 0
    samples: list[tuple[int, float, int]] = []
    for index in range(cycles):
        for case in cycle:
            answer = case.run()
            if answer != case.answer:
                print(f"FAIL: {case.name} gave {answer}, first gave {case.answer}")
                return 1
            decodes += case.count
        encode = asymmetric_encodes[index % len(asymmetric_encodes)]
        if encode.run() != encode.answer:
            print(f"FAIL: {encode.name} changed its answer")
            return 1
        done = index + 1
        if (
            done == warm_up
            or (done > warm_up and (done - warm_up) % sample_every == 0)
            or done == cycles
        ):
            gc.collect()
            rss = rss_bytes()
            if done == warm_up:
                baseline = rss
            samples.append((decodes, time.perf_counter() - start, rss))
            print(
                f"  {decodes:>9,} decodes  {samples[-1][1]:6.1f} s  RSS {rss / MIB:7.1f} MiB"
                f"  ({(rss - baseline) / MIB:+.2f} MiB since warm-up)",
                flush=True,
            )

    elapsed = time.perf_counter() - start
    growth = samples[-1][2] - baseline
    peak = max(rss for _, _, rss in samples) - baseline
    print(
        f"{decodes:,} decodes in {elapsed:.1f} s; RSS after warm-up {baseline / MIB:.1f} MiB, "
        f"at the end {samples[-1][2] / MIB:.1f} MiB: growth {growth / MIB:+.2f} MiB "
        f"(peak {peak / MIB:+.2f} MiB), bound {args.bound_mib} MiB"
    )
    if decodes < args.decodes:
        print(f"FAIL: only {decodes:,} decodes")
        return 1
    if growth > args.bound_mib * MIB:
        print("FAIL: memory grew")
        return 1
    if not fast_path_phase(max(100_000, args.decodes // 3), args.bound_mib):
        print("FAIL: memory grew on the fast path")
        return 1
    if not column_phase(max(20, args.decodes // 20_000), args.bound_mib):
        print("FAIL: memory grew on the column path")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    if not Path("/proc/self/statm").exists():
        sys.exit("leak_check.py needs Linux's /proc")
    sys.exit(main())
