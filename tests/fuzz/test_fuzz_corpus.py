"""The decode fuzz target's seed corpus and regressions, replayed as ordinary tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# The RS256/ES256/EdDSA cases need PyJWT's cryptography backend as the reference.
pytest.importorskip("cryptography")

from fuzz_decode import check

HERE = Path(__file__).resolve().parent
INPUTS = sorted((HERE / "corpus").iterdir()) + sorted((HERE / "regressions").iterdir())


def test_there_are_inputs() -> None:
    assert len(INPUTS) > 50


@pytest.mark.parametrize("path", INPUTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_input_behaves_like_pyjwt(path: Path) -> None:
    check(path.read_bytes())
