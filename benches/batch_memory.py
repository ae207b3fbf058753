"""Peak memory of one decode_batch call against the size of what it returns.

    python benches/batch_memory.py [--tokens N]

Linux only: reads VmRSS and VmHWM from /proc/self/status and resets the high-water mark
through /proc/self/clear_refs. The ratio is (peak - before) / (after - before): how much
memory the call needed at its peak for each byte of results it leaves behind.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import turbojwt

SECRET = "memory-bench-secret-0123456789-abcdef"


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    args = parser.parse_args()

    now = int(time.time())
    claims = {"iss": "https://auth.example.com", "aud": "api", "exp": now + 3600, "scope": "read"}
    tokens = [
        turbojwt.encode({**claims, "sub": f"user-{i}", "jti": f"{i:012d}"}, SECRET)
        for i in range(args.tokens)
    ]
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status_kib("VmRSS")
    started = time.perf_counter()
    results = turbojwt.decode_batch(tokens, SECRET, algorithms=["HS256"], audience="api")
    elapsed = time.perf_counter() - started
    after, peak = status_kib("VmRSS"), status_kib("VmHWM")
    assert not any(isinstance(item, Exception) for item in results)
    kept = after - before
    per_token_us = elapsed / args.tokens * 1e6
    print(f"tokens: {args.tokens:,}  time: {elapsed:.2f} s ({per_token_us:.2f} µs/token)")
    peak_mib = (peak - before) / 1024
    print(f"results kept: {kept / 1024:.0f} MiB  peak during the call: {peak_mib:.0f} MiB")
    print(f"peak / results: {(peak - before) / kept:.2f}")


if __name__ == "__main__":
    main()
