"""encode(): every token produced is checked once by decoding it with PyJWT."""

from __future__ import annotations

from typing import Any

from benches.support import SECRET, VERIFY, Benchmark, KeyPair, Library, label


def test_hs256_encode(
    benchmark: Benchmark, lib: Library, pyjwt: Library, claims: dict[str, Any]
) -> None:
    encode = lib.module.encode
    token = lib.first_call(encode, claims, SECRET, algorithm="HS256")
    assert pyjwt.module.decode(token, SECRET, algorithms=["HS256"], **VERIFY) == claims

    label(benchmark, "HS256 encode", lib)
    benchmark(encode, claims, SECRET, algorithm="HS256")


def test_rs256_encode_pem(
    benchmark: Benchmark,
    lib: Library,
    pyjwt: Library,
    claims: dict[str, Any],
    key_pairs: dict[str, KeyPair],
) -> None:
    # A PEM private key per call: PyJWT re-parses and re-validates the RSA key
    # each time, which dominates its cost.
    pair = key_pairs["RS256"]
    encode = lib.module.encode
    token = lib.first_call(encode, claims, pair.private_pem, algorithm="RS256")
    assert pyjwt.module.decode(token, pair.public, algorithms=["RS256"], **VERIFY) == claims

    label(benchmark, "RS256 encode, PEM str per call", lib)
    benchmark(encode, claims, pair.private_pem, algorithm="RS256")
