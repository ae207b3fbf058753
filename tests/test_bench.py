"""`python -m turbojwt bench`: what it times and what it says about the run.

The timings themselves are not checked (they depend on the machine); the harness is: the
first-sight cases really see distinct tokens, the repeated ones one token, every library
that cannot run a case says why, and the report carries the load average, the spread of
the rounds and the versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import turbojwt
from _target import TARGET_IS_REFERENCE
from turbojwt import _bench

pytestmark = pytest.mark.skipif(TARGET_IS_REFERENCE, reason="the bench is turbojwt's own tool")

CASES = {case.name: case for case in _bench.CASES}


@pytest.fixture(scope="module")
def fixtures() -> _bench.Fixtures:
    import turbojwt

    fx = _bench.Fixtures.build(minter=turbojwt)
    fx.mint_pool("HS256")
    return fx


def column_for(module: Any, adapter: _bench.Adapter, label: str = "peer") -> _bench.Column:
    return _bench.Column(label, module, adapter=adapter)


def test_every_decode_case_is_first_sight_or_repeated() -> None:
    kinds = {case.tokens for case in _bench.CASES if case.kind == "decode"}
    assert kinds == {_bench.POOL, _bench.ONE}
    assert "hs256_decode" in CASES and "hs256_decode_repeat" in CASES
    assert _bench.POOL_SIZE > 4096  # more than the verified-token cache holds


def test_first_sight_pool_is_distinct_tokens_cycled(fixtures: _bench.Fixtures) -> None:
    pool = fixtures.pools["HS256"]
    assert len(pool) == len(set(pool)) == _bench.POOL_SIZE
    seen: list[str] = []
    operation = _bench._cycling(seen.append, pool)
    for _ in range(_bench.POOL_SIZE + 2):
        operation()
    assert seen[: _bench.POOL_SIZE] == pool
    assert seen[_bench.POOL_SIZE :] == pool[:2]


def test_pool_tokens_decode_to_their_own_claims(fixtures: _bench.Fixtures) -> None:
    import turbojwt

    for index in (0, 1, _bench.POOL_SIZE - 1):
        claims = turbojwt.decode(
            fixtures.pools["HS256"][index],
            _bench.SECRET,
            algorithms=["HS256"],
            audience=_bench.AUDIENCE,
        )
        assert claims == fixtures.pool_claims(index)
    assert len(json.dumps(fixtures.pool_claims(7))) == len(json.dumps(fixtures.claims))


def test_prepare_checks_first_sight_and_repeated_cells(fixtures: _bench.Fixtures) -> None:
    import turbojwt

    target = column_for(turbojwt, _bench.pyjwt_style, "turbojwt")
    for name in ("hs256_decode", "hs256_decode_repeat", "hs256_encode"):
        cell = _bench.Cell(CASES[name], target)
        _bench.prepare(cell, fixtures)
        assert cell.operation is not None, cell.note
        assert not cell.failed


def test_a_wrong_result_is_reported_as_a_failure(fixtures: _bench.Fixtures) -> None:
    liar = types.SimpleNamespace(decode=lambda token, **kwargs: {"sub": "someone else"})
    cell = _bench.Cell(CASES["hs256_decode_repeat"], column_for(liar, _bench.pyjwt_style))
    _bench.prepare(cell, fixtures)
    assert cell.failed and cell.operation is None
    assert cell.note.startswith("wrong result")


def test_pyjwt_without_cryptography_skips_asymmetric_cases(fixtures: _bench.Fixtures) -> None:
    no_crypto = _bench.Fixtures(fixtures.claims, fixtures.key_pairs, cryptography=False)
    reason = _bench.pyjwt_adapter(object(), no_crypto, CASES["es256_decode_pem"])
    assert reason == ("needs `cryptography` for asymmetric keys (not installed; turbojwt does not)")
    assert callable(
        _bench.pyjwt_adapter(types.SimpleNamespace(decode=dict), no_crypto, CASES["hs256_decode"])
    )


def test_select_cases_without_cryptography_keeps_turbojwt_asymmetric_rows() -> None:
    import turbojwt

    fx = _bench.Fixtures({}, _bench._load_key_pairs(False), cryptography=False, minter=turbojwt)
    for alg in ("HS256", "RS256", "ES256", "EdDSA"):
        fx.tokens[alg] = fx.sign(alg, {"a": 1})
    cases, notes = _bench.select_cases(fx, _bench.FULL)
    names = {case.name for case in cases}
    assert "es256_decode_pem" in names and "rs256_decode_pem" in names
    assert "rs256_decode_obj" not in names  # key objects are cryptography's
    assert _bench.NO_CRYPTOGRAPHY in notes
    quick_cases, quick_notes = _bench.select_cases(fx, _bench.QUICK)
    assert "rs256_decode_pem" not in {case.name for case in quick_cases}
    assert _bench.QUICK_SKIPS_RS256_POOL in quick_notes


def test_missing_peer_says_not_installed() -> None:
    peer = _bench.Peer("nope", ("turbojwt_no_such_module",), "nope", _bench.pyjwt_style)
    column = _bench.load_peer(peer)
    assert column.module is None and column.absent_because == "not installed"


def test_every_named_peer_is_known() -> None:
    labels = {peer.label for peer in _bench.PEERS}
    assert labels == {"ryjwt", "oxyjwt", "webtoken", "pyjwt-rs", "clasp-jwt"}


def test_pyjwt_style_peer_runs_and_clasp_says_why_not(
    fixtures: _bench.Fixtures, monkeypatch: pytest.MonkeyPatch
) -> None:
    import turbojwt

    fake = types.ModuleType("webtoken")
    fake.encode = turbojwt.encode  # type: ignore[attr-defined]
    fake.decode = turbojwt.decode  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "webtoken", fake)
    monkeypatch.setitem(sys.modules, "clasp_jwt", types.ModuleType("clasp_jwt"))
    peers = {peer.label: _bench.load_peer(peer) for peer in _bench.PEERS}
    assert peers["webtoken"].module is fake
    cell = _bench.Cell(CASES["hs256_decode"], peers["webtoken"])
    _bench.prepare(cell, fixtures)
    assert cell.operation is not None and not cell.failed
    clasp = _bench.Cell(CASES["hs256_decode"], peers["clasp-jwt"])
    _bench.prepare(clasp, fixtures)
    assert clasp.operation is None and not clasp.failed
    assert "expected audience" in clasp.note
    summary = _bench._peer_summary(peers["clasp-jwt"], [clasp])
    assert summary.startswith("- clasp-jwt") and "ran 0 of 1 cases" in summary


def test_busy_warning_above_core_count_less_margin() -> None:
    assert _bench.busy_warning([(1.4, 1.0, 1.0)], 2) is None
    assert _bench.busy_warning([None], 2) is None
    warning = _bench.busy_warning([(0.2, 0, 0), (1.6, 1.0, 1.0)], 2)
    assert warning is not None and "1.60 is above 1.5 (2 CPUs less 0.5)" in warning


def test_spread_of_rounds() -> None:
    cell = _bench.Cell(CASES["hs256_encode"], column_for(None, _bench.pyjwt_style))
    assert cell.spread is None
    cell.samples_ns = [100, 110, 90]
    assert cell.spread == pytest.approx(0.2)


def test_run_reports_versions_load_spread_and_peers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a small pool, cycled several times over four rounds: only emptying turbojwt's token
    # cache before each sample keeps every first-sight call a first sight
    monkeypatch.setattr(_bench, "QUICK", _bench.Settings(rounds=4, sample_ms=5, quick=True))
    monkeypatch.setattr(_bench, "POOL_SIZE", 64)
    monkeypatch.delenv(_bench.TARGET_ENV, raising=False)
    json_path = tmp_path / "bench.json"
    args = argparse.Namespace(quick=True, json=open(json_path, "w", encoding="utf-8"))
    assert _bench.run(args) == 0
    report = capsys.readouterr().out
    assert "turbojwt " in report and "interpreter: " in report
    assert f"({turbojwt._turbojwt.__build__} build)" in report  # source or profile-guided
    assert "load average (1, 5, 15 min): " in report
    assert "spread of the rounds" in report
    assert "other libraries:" in report
    for peer in _bench.PEERS:
        assert f"- {peer.label}" in report
    assert "| HS256 decode (exp/aud/iss), first sight " in report
    assert "| HS256 decode (exp/aud/iss), repeated " in report
    data = json.loads(json_path.read_text())
    assert data["settings"]["pool_size"] == 64
    assert data["turbojwt"]["build"] == turbojwt._turbojwt.__build__
    assert {case["case"] for case in data["cases"]} >= {"hs256_decode", "hs256_decode_repeat"}
    first = next(case for case in data["cases"] if case["case"] == "hs256_decode")
    assert first["first_sight"] is True and first["turbojwt"]["median_us"] > 0
    for case in data["cases"]:
        if case["first_sight"]:
            assert case["turbojwt"]["ops_per_sample"] <= 64
            assert case["pyjwt"]["ops_per_sample"] <= 64
            if "token_cache" in case["turbojwt"]:  # an extension with the verified-token cache
                assert case["turbojwt"]["token_cache"]["hits"] == 0
    assert [peer["label"] for peer in data["peers"]] == [peer.label for peer in _bench.PEERS]


def test_render_marks_noisy_cells() -> None:
    column = column_for(None, _bench.pyjwt_style, "turbojwt")
    cell = _bench.Cell(CASES["hs256_encode"], column, ops_per_sample=1, samples_ns=[1000, 2000])
    assert _bench._format_cell(cell).endswith("*")
    quiet = _bench.Cell(CASES["hs256_encode"], column, ops_per_sample=1, samples_ns=[1000, 1010])
    assert not _bench._format_cell(quiet).endswith("*")
