"""decode(): signature, exp, aud and iss checked on every call, as an API server does."""

from __future__ import annotations

from typing import Any

import pytest

from benches.support import SECRET, VERIFY, Benchmark, KeyPair, Library, label


def test_hs256_decode(
    benchmark: Benchmark, lib: Library, claims: dict[str, Any], tokens: dict[str, str]
) -> None:
    decode, token = lib.module.decode, tokens["HS256"]
    assert lib.first_call(decode, token, SECRET, algorithms=["HS256"], **VERIFY) == claims

    label(benchmark, "HS256 decode (exp/aud/iss)", lib)
    benchmark(decode, token, SECRET, algorithms=["HS256"], **VERIFY)


@pytest.mark.parametrize(
    ("alg", "key_form"),
    [
        ("RS256", "PEM str per call"),
        ("RS256", "key object"),
        ("ES256", "PEM str per call"),
        ("EdDSA", "PEM str per call"),
    ],
)
def test_asymmetric_decode(
    benchmark: Benchmark,
    lib: Library,
    claims: dict[str, Any],
    tokens: dict[str, str],
    key_pairs: dict[str, KeyPair],
    alg: str,
    key_form: str,
) -> None:
    pair = key_pairs[alg]
    # The PEM text is what most applications hold (config, env var); a
    # pre-loaded cryptography key is what careful ones pass.
    key = pair.public_pem if key_form.startswith("PEM") else pair.public
    decode, token = lib.module.decode, tokens[alg]
    assert lib.first_call(decode, token, key, algorithms=[alg], **VERIFY) == claims

    label(benchmark, f"{alg} decode, {key_form}", lib)
    benchmark(decode, token, key, algorithms=[alg], **VERIFY)
