"""Session-wide claims, keys and tokens, and the `lib` parameter (PyJWT or turbojwt)."""

from __future__ import annotations

from typing import Any

import pytest

from benches.support import (
    SECRET,
    KeyPair,
    Library,
    generate_key_pairs,
    load_pyjwt,
    load_target,
    make_claims,
)


def pytest_configure(config: pytest.Config) -> None:
    # A case that fails its correctness check never reaches `benchmark(...)`;
    # the failure says why, so the plugin's "fixture was not used" is noise.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Benchmark fixture was not used:pytest_benchmark.logger.PytestBenchmarkWarning",
    )


@pytest.fixture(scope="session")
def pyjwt() -> Library:
    """The baseline, which also mints every token and checks every encode."""
    return load_pyjwt()


@pytest.fixture(params=["pyjwt", "turbojwt"])
def lib(request: pytest.FixtureRequest, pyjwt: Library) -> Library:
    return pyjwt if request.param == "pyjwt" else load_target()


@pytest.fixture(scope="session")
def claims() -> dict[str, Any]:
    return make_claims()


@pytest.fixture(scope="session")
def key_pairs() -> dict[str, KeyPair]:
    return generate_key_pairs()


@pytest.fixture(scope="session")
def tokens(pyjwt: Library, claims: dict[str, Any], key_pairs: dict[str, KeyPair]) -> dict[str, str]:
    """One PyJWT-minted token per algorithm, indexed by JWS `alg`."""
    encode = pyjwt.module.encode
    minted = {"HS256": encode(claims, SECRET, algorithm="HS256")}
    for alg, pair in key_pairs.items():
        minted[alg] = encode(claims, pair.private, algorithm=alg)
    return minted
