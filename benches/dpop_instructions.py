"""Instructions per DPoP-protected request and per Bearer request, under callgrind.

The instruction-count companion of ``benches/test_dpop.py``, whose wall-clock medians move
by 10-30% from run to run on a shared machine. The requests are checked as there:
``DPoPAuth.verify_request`` with a fresh ES256 proof and the replay check in a
``MemoryDenylist``, against ``BearerAuth.verify``, on the same kind of ES256 access token,
with the token cache off or on. Each case runs twice in a fresh interpreter under
``valgrind --tool=callgrind``, with 200 and 1,200 requests; the difference divided by 1,000
is the cost of one request, free of start-up. Keys are derived from constants and every
signature is deterministic ECDSA (RFC 6979, by ``cryptography``), so the counts repeat
within about a thousand instructions.

    python benches/dpop_instructions.py

No budget is checked: ``benches/instructions.py`` holds those.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SMALL, LARGE = 200, 1200
URL = "https://api.example.com/orders"
ISSUER = "https://as.example.com"
IAT = 1_700_000_000  # proofs and tokens are dated here; the verifier's window covers it

CASES = {
    "bearer_off": "Bearer, token cache off",
    "dpop_off": "DPoP, memory replay store, token cache off",
    "bearer_on": "Bearer, token cache on",
    "dpop_on": "DPoP, memory replay store, token cache on",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256(key: Any, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact ES256 JWS with a deterministic (RFC 6979) signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    parts = (json.dumps(part, separators=(",", ":")).encode() for part in (header, claims))
    signing_input = ".".join(b64url(part) for part in parts).encode()
    der = key.sign(signing_input, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return f"{signing_input.decode()}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def workload(case: str, count: int) -> None:
    """``count`` requests of ``case`` after a set-up that does not depend on ``count``."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from turbojwt.auth import MemoryDenylist, TokenIssuer
    from turbojwt.auth.dpop import DPoPVerifier, access_token_hash, jwk_thumbprint
    from turbojwt.auth.fastapi import BearerAuth
    from turbojwt.auth.fastapi_dpop import DPoPAuth
    from turbojwt.token_cache import set_token_cache

    as_key = ec.derive_private_key(0x5EED_0001 << 128 | 0xA5, ec.SECP256R1())
    client_key = ec.derive_private_key(0x5EED_0002 << 128 | 0x5A, ec.SECP256R1())
    numbers = client_key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big"))}  # fmt: skip
    access = {"iss": ISSUER, "aud": URL, "sub": "alice", "iat": IAT, "nbf": IAT,
              "exp": 4_000_000_000, "jti": "access-1", "token_use": "access", "fam": "family-1",
              "scope": "orders:read", "client_id": "bench"}  # fmt: skip
    header = {"alg": "ES256", "typ": "at+jwt"}
    plain = es256(as_key, header, access)
    bound = es256(as_key, header, {**access, "cnf": {"jkt": jwk_thumbprint(jwk)}})
    issuer = TokenIssuer(as_key, "ES256", issuer=ISSUER, audience=URL, client_id="bench",
                         denylist=MemoryDenylist())  # fmt: skip
    if case.endswith("_off"):
        set_token_cache(max_entries=0)
    if case.startswith("bearer"):
        auth = BearerAuth(issuer)
        authorization = f"Bearer {plain}"
        auth.verify(authorization)
        for _ in range(count):
            auth.verify(authorization)
        return
    proof_header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}
    ath = access_token_hash(bound)
    # One more than the largest count, whatever the count, so the set-up is the same.
    proofs = [
        [es256(client_key, proof_header,
               {"jti": f"proof-{index}", "htm": "GET", "htu": URL, "iat": IAT, "ath": ath})]
        for index in range(LARGE + 1)
    ]  # fmt: skip
    # The iat window is wide enough for the fixed dates; its width costs nothing.
    dpop = DPoPAuth(issuer, DPoPVerifier(MemoryDenylist(), max_age=1e10))
    authorization = f"DPoP {bound}"
    dpop.verify_request(authorization, proofs[0], "GET", URL)
    for proof in proofs[1 : count + 1]:
        dpop.verify_request(authorization, proof, "GET", URL)


def instructions(case: str, count: int) -> int:
    """The run's total, less aws-lc's one-off random-generator seeding.

    ``TokenIssuer`` loads its private key into the core, whose pairwise check signs once;
    that seeds aws-lc's generator from CPU jitter, a loop whose length varies by millions
    of instructions from run to run. It is measured and subtracted.
    """
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                   sys.executable, __file__, "--workload", case, str(count)]  # fmt: skip
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        result = subprocess.run(
            command, capture_output=True, text=True, check=True, env=environment
        )
        found = re.search(r"Collected : (\d+)", result.stderr)
        if found is None:
            raise RuntimeError(f"no callgrind total for {case}:\n{result.stderr[-2000:]}")
        annotated = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    seeding = re.search(r"^\s*([\d,]+) .*tree_jitter_initialize_once \[", annotated, re.M)
    return int(found.group(1)) - (int(seeding.group(1).replace(",", "")) if seeding else 0)


def per_request(case: str) -> int:
    return round((instructions(case, LARGE) - instructions(case, SMALL)) / (LARGE - SMALL))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", nargs=2, metavar=("CASE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workload:
        workload(args.workload[0], int(args.workload[1]))
        return 0
    measured = {case: per_request(case) for case in CASES}
    print(f"CPython {sys.version.split()[0]}, instructions per request (callgrind)")
    for case, title in CASES.items():
        print(f"  {title:<46} {measured[case]:>11,}")
    for cache in ("off", "on"):
        ratio = measured[f"dpop_{cache}"] / measured[f"bearer_{cache}"]
        print(f"  DPoP / Bearer, token cache {cache:<3} {ratio:>24.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
