"""Instructions per operation under callgrind, checked against a committed budget.

Wall time on a shared 2-core machine is too noisy to hold a speed budget in CI; instruction
counts are not: callgrind gives the same count for the same binary and inputs whatever else
the machine is doing. Each case runs twice in a fresh interpreter under
``valgrind --tool=callgrind``, with a small and a large number of operations; the difference
divided by the difference in operations is the cost of one operation, free of start-up.

    python benches/instructions.py            # measure, compare with the budget, exit 1 if over
    python benches/instructions.py --update   # write the measured counts (plus margin) as budget

The budget (``benches/instruction_budget.json``) is per CPython minor version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BUDGET_FILE = Path(__file__).with_name("instruction_budget.json")
KEYS = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "keys"
SMALL, LARGE = 200, 1200
#: Distinct tokens a first-sight HS256 workload cycles through.
POOL = 4096
#: Budgets are the measured count plus this margin, so noise-free regressions still fail.
MARGIN = 1.05

CASES = {
    "hs256_decode_first": "HS256 decode, exp/aud/iss, distinct tokens, token cache off",
    "hs256_decode_repeat": "HS256 decode of a repeated token (token cache hit)",
    "hs256_encode": "HS256 encode, 11 claims",
    "hs256_reject": "HS256 decode refusing a bad signature (InvalidSignatureError)",
    "rs256_decode_preloaded": "RS256 decode, pre-loaded key object, token cache off",
}

SECRET = "bench-hs256-secret-0123456789abcdefghi"
ISSUER = "https://auth.example.com"
AUDIENCE = "api.example.com"


def claims(index: int) -> dict[str, object]:
    return {
        "sub": f"user-{100000 + index}",
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "name": "Jane Doe",
        "email": "jane@example.com",
        "role": "admin",
        "tenant": "acme",
        "scope": "read write",
        "sid": f"session-{index}",
    }


def forge(token: str) -> str:
    """``token`` with its signature's first character changed: a bad signature."""
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def ryjwt_workload(case: str, count: int) -> None:
    """The same operations on ryjwt (CPython 3.12+), for comparison in the same harness."""
    sys.modules["msgspec"] = None  # type: ignore[assignment]  # ryjwt's default jiter path
    import ryjwt

    if case == "hs256_encode":
        signer = ryjwt.SecretKey(SECRET, algorithms=["HS256"])
        payload = claims(1)
        for _ in range(count + 1):
            signer.encode(payload)
        return
    if case == "hs256_reject":
        signer = ryjwt.SecretKey(SECRET, algorithms=["HS256"])
        forged = forge(signer.encode(claims(0)))
        key = ryjwt.SecretKey(SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        for _ in range(count + 1):
            try:
                key.decode(forged)
            except ryjwt.InvalidSignatureError:
                pass
        return
    if case == "rs256_decode_preloaded":
        import jwt as pyjwt
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(
            (KEYS / "rsa2048.pkcs8.pem").read_bytes(), password=None
        )
        pem = (KEYS / "rsa2048.pub.pem").read_bytes()
        token = pyjwt.encode(claims(0), private, "RS256")
        key = ryjwt.PublicKey(pem.decode(), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    else:
        signer = ryjwt.SecretKey(SECRET, algorithms=["HS256"])
        pool = [signer.encode(claims(index)) for index in range(POOL)]
        key = ryjwt.SecretKey(SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        for index in range(count + 1):
            key.decode(pool[index % POOL])
        return
    for _ in range(count + 1):
        key.decode(token)


def workload(case: str, count: int) -> None:
    """Run ``count`` operations of ``case`` after a set-up that does not depend on count."""
    import turbojwt

    if case == "hs256_encode":
        payload = claims(1)
        turbojwt.encode(payload, SECRET)
        for _ in range(count):
            turbojwt.encode(payload, SECRET)
        return
    if case == "hs256_reject":
        # The token cache is on (the default), as for an API refusing a forged-token flood.
        forged = forge(turbojwt.encode(claims(0), SECRET))
        for _ in range(count + 1):
            try:
                turbojwt.decode(
                    forged, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
                )
            except turbojwt.InvalidSignatureError:
                pass
        return
    if case == "rs256_decode_preloaded":
        # A fixed key, signed by PyJWT (cryptography): turbojwt's own signing would seed
        # aws-lc's random generator, whose jitter-entropy start-up varies from run to run.
        import jwt as pyjwt
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(
            (KEYS / "rsa2048.pkcs8.pem").read_bytes(), password=None
        )
        key: object = private.public_key()
        token = pyjwt.encode(claims(0), private, "RS256")
        algorithms = ["RS256"]
    else:
        key = SECRET
        token = turbojwt.encode(claims(0), SECRET)
        algorithms = ["HS256"]
    if case == "hs256_decode_first":
        # Distinct tokens (subject, session), as an API's traffic is: nothing per-token is
        # reused from an earlier call. The pool outnumbers every per-process cache.
        pool = [turbojwt.encode(claims(index), SECRET) for index in range(POOL)]
        turbojwt.set_token_cache(max_entries=0)
        turbojwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
        for index in range(count):
            turbojwt.decode(
                pool[index % POOL], key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER
            )
        return
    if case == "hs256_decode_repeat":
        for _ in range(3):  # admitted on the second sighting, a hit from the third
            turbojwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
    else:
        # First sight: with the token cache off, every decode does the whole work.
        turbojwt.set_token_cache(max_entries=0)
        turbojwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
    # Keywords written out, as applications call decode (a ** dict costs the caller more).
    for _ in range(count):
        turbojwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)


def instructions(case: str, count: int, peer: str = "turbojwt") -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--peer",
        peer,
        "--workload",
        case,
        str(count),
    ]
    # A fixed hash seed: dict probing, and so the count, then repeats exactly.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total for {case}:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_operation(case: str, peer: str = "turbojwt") -> int:
    large, small = instructions(case, LARGE, peer), instructions(case, SMALL, peer)
    return round((large - small) / (LARGE - SMALL))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="write the budget from this run")
    parser.add_argument(
        "--peer",
        choices=["turbojwt", "ryjwt"],
        default="turbojwt",
        help="measure ryjwt instead, for comparison (no budget is checked)",
    )
    parser.add_argument("--workload", nargs=2, metavar=("CASE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workload:
        run = ryjwt_workload if args.peer == "ryjwt" else workload
        run(args.workload[0], int(args.workload[1]))
        return 0
    if args.peer == "ryjwt":
        print(f"ryjwt on CPython {sys.version.split()[0]}, instructions per operation")
        for case, title in CASES.items():
            if case != "hs256_decode_repeat":
                print(f"  {title:<62} {per_operation(case, 'ryjwt'):>9,}")
        return 0
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    budget = json.loads(BUDGET_FILE.read_text()) if BUDGET_FILE.exists() else {}
    limits = budget.get(version, {})
    measured: dict[str, int] = {}
    over: list[str] = []
    print(f"CPython {version}, instructions per operation (callgrind)")
    for case, title in CASES.items():
        started = time.monotonic()
        measured[case] = count = per_operation(case)
        limit = limits.get(case)
        verdict = "no budget" if limit is None else ("ok" if count <= limit else "OVER BUDGET")
        if limit is not None and count > limit:
            over.append(case)
        print(
            f"  {title:<62} {count:>9,}  budget {limit if limit is not None else '-':>9}"
            f"  {verdict}  ({time.monotonic() - started:.0f} s)"
        )
    if args.update:
        budget[version] = {case: round(count * MARGIN) for case, count in measured.items()}
        BUDGET_FILE.write_text(json.dumps(budget, indent=2, sort_keys=True) + "\n")
        print(f"budget for {version} written to {BUDGET_FILE.name}")
        return 0
    if not limits:
        print(f"no budget for CPython {version} in {BUDGET_FILE.name}")
        return 1
    if over:
        print(f"over budget: {', '.join(over)}")
        return 1
    print(f"{len(measured)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
