"""turbojwt.arrow on Spark in local mode: ``mapInArrow`` with ``verify_batches``.

Skipped without pyspark (and Java); CI installs both and sets TURBOJWT_REQUIRE_SPARK=1,
which turns the skip into a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import turbojwt
from turbojwt import arrow

REQUIRED = os.environ.get("TURBOJWT_REQUIRE_SPARK") == "1"
if not REQUIRED:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402

SECRET = "spark-secret-0123456789-0123456789-abc"
NOW = int(time.time())


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import turbojwt too
    session = (
        SparkSession.builder.master("local[2]")
        .appName("turbojwt-arrow")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_map_in_arrow_gives_decodes_verdicts(spark: Any) -> None:
    tokens = [
        turbojwt.encode({"sub": f"user-{i}", "aud": "api", "exp": NOW + 600}, SECRET)
        for i in range(2000)
    ]
    tokens[7] = turbojwt.encode({"sub": "late", "aud": "api", "exp": NOW - 60}, SECRET)
    tokens[8] = tokens[9][:-3] + "AAA"
    tokens[9] = "not-a-token"
    frame = spark.createDataFrame([(i, t) for i, t in enumerate(tokens)], "id long, token string")
    verify = functools.partial(
        arrow.verify_batches, key=SECRET, column="token", algorithms=["HS256"], audience="api"
    )
    schema = f"id long, token string, {arrow.SPARK_VERDICT_SCHEMA}"
    rows = frame.repartition(2).mapInArrow(verify, schema).orderBy("id").collect()
    assert len(rows) == len(tokens)
    for row, token in zip(rows, tokens):
        try:
            claims = turbojwt.decode(token, SECRET, algorithms=["HS256"], audience="api")
        except turbojwt.PyJWTError as error:
            assert (row.valid, row.error, row.message) == (False, type(error).__name__, str(error))
        else:
            assert row.valid and row.sub == claims["sub"] and row.aud == ["api"]
            assert row.exp.timestamp() == claims["exp"]
    errors = {row.error for row in rows}
    assert errors == {None, "ExpiredSignatureError", "InvalidSignatureError", "DecodeError"}
