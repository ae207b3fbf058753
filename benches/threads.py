"""Thread speed-up of asymmetric decode, outside pytest: one thread against two.

    python benches/threads.py [--tokens N]

Each thread decodes the same PEM-keyed token N times; the speed-up is the per-token time
on one thread divided by the per-token time with two. Run it on an otherwise idle machine:
a process holding the second core leaves nothing to gain.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import turbojwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

KEYS: dict[str, Any] = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


def per_token_us(alg: str, threads: int, tokens: int) -> float:
    private = KEYS[alg]()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = turbojwt.encode({"sub": "bench"}, private, algorithm=alg)
    turbojwt.decode(token, public_pem, algorithms=[alg])  # warm the key cache

    def work() -> None:
        for _ in range(tokens):
            turbojwt.decode(token, public_pem, algorithms=[alg])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.perf_counter() - start) / (tokens * threads) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000, help="decodes per thread")
    args = parser.parse_args()
    print("| | 1 thread µs/token | 2 threads µs/token | speed-up |")
    print("|---|---:|---:|---:|")
    for alg in KEYS:
        one, two = per_token_us(alg, 1, args.tokens), per_token_us(alg, 2, args.tokens)
        print(f"| {alg} | {one:.1f} | {two:.1f} | {one / two:.2f}x |")


if __name__ == "__main__":
    main()
