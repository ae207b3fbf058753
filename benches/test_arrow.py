"""The Arrow column path against decode_batch on the same tokens (pytest-benchmark).

100,000 distinct HS256 tokens, each with exp, aud and iss checked; the column is a pyarrow
``string`` array and the verdicts are taken back as a pyarrow struct array, as a pyarrow
user would. The million-token comparison per engine, with memory, is
``benches/arrow_column.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from benches.support import SECRET, VERIFY, Benchmark, Library, label, load_target

pa = pytest.importorskip("pyarrow")

TOKENS = 100_000


@pytest.fixture(scope="module")
def tokens(pyjwt: Library, claims: dict[str, Any]) -> list[str]:
    encode = pyjwt.module.encode
    return [encode({**claims, "sid": f"s{i}"}, SECRET) for i in range(TOKENS)]


def test_column_path(benchmark: Benchmark, tokens: list[str]) -> None:
    from turbojwt import arrow

    target = load_target()
    column = pa.array(tokens, type=pa.string())

    def verify() -> int:
        verdicts = pa.array(arrow.verify(column, SECRET, algorithms=["HS256"], **VERIFY))
        return int(verdicts.field("valid").true_count)

    label(benchmark, f"HS256 x{TOKENS}", target)
    benchmark.extra_info["mode"] = "arrow.verify"
    assert benchmark(verify) == TOKENS


def test_decode_batch(benchmark: Benchmark, tokens: list[str]) -> None:
    target = load_target()
    decode_batch = target.module.decode_batch

    def batch() -> int:
        return len(decode_batch(tokens, SECRET, algorithms=["HS256"], **VERIFY))

    label(benchmark, f"HS256 x{TOKENS}", target)
    benchmark.extra_info["mode"] = "decode_batch"
    assert benchmark(batch) == TOKENS
