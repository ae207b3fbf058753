"""The Arrow column path on a million HS256 tokens: speed per engine and peak memory.

Each measurement runs in a fresh subprocess, so its peak resident memory (``ru_maxrss``)
is its own; the tokens are made once and stored as a Parquet file the subprocesses read.
Reported per token: the wall time of the best of ``--repeat`` runs (the machine's cores are
all in use, so wall time is what a job takes), the process CPU time of that run, and the
peak memory above the process's memory just before the measured call, next to the size of
the input column and of the verdicts.

    .venv/bin/python benches/arrow_column.py [--tokens 1000000] [--repeat 3]
        [--engines pyarrow,pyarrow-array,decode_batch,pyjwt,polars,duckdb,spark]

The PyJWT loop and Spark are timed on a sample (``--sample``) and scaled: a million PyJWT
decodes take half a minute. A 'decode_batch' row is ``turbojwt.decode_batch`` over a Python
list of the same tokens, the dict-building path the column path is compared with.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECRET = "bench-secret-0123456789-0123456789-0123456789"
ISSUER = "https://issuer.example.com"
AUDIENCE = "https://api.example.com"


def make_tokens(count: int, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import turbojwt

    now = int(time.time())
    tokens = [
        turbojwt.encode(
            {
                "iss": ISSUER,
                "sub": f"user-{i:07d}",
                "aud": AUDIENCE,
                "exp": now + 86_400,
                "iat": now,
                "jti": f"{i:016x}",
                "scope": "read write",
                "tenant": f"tenant-{i % 97}",
            },
            SECRET,
        )
        for i in range(count)
    ]
    pq.write_table(pa.table({"token": tokens}), path)


def run_one(engine: str, path: str, sample: int, threads: int | None) -> dict[str, Any]:
    """In the subprocess: read the column, then time one engine on it."""
    import pyarrow as pa
    import pyarrow.compute
    import pyarrow.parquet as pq
    import turbojwt
    from turbojwt import arrow

    column = pq.read_table(path).column("token").combine_chunks()
    tokens = column.to_pylist() if engine in ("decode_batch", "pyjwt") else None
    kwargs: dict[str, Any] = {"algorithms": ["HS256"], "audience": AUDIENCE, "issuer": ISSUER}
    count = len(column)
    before = _rss_bytes()
    out_bytes = 0
    measured = count
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    if engine == "pyarrow":
        # A table: the verdicts' chunks as they are.
        table = pa.table(arrow.verify(column, SECRET, threads=threads, **kwargs))
        assert pa.compute.sum(table.column("valid")).as_py() == count
        out_bytes = table.nbytes
    elif engine == "pyarrow-array":
        # One struct array: the chunks joined (a copy of the verdicts).
        verdicts = pa.array(arrow.verify(column, SECRET, threads=threads, **kwargs))
        assert verdicts.field("valid").true_count == count
        out_bytes = verdicts.nbytes
    elif engine == "decode_batch":
        assert tokens is not None
        results = turbojwt.decode_batch(tokens, SECRET, threads=threads, **kwargs)
        assert not any(isinstance(r, Exception) for r in results)
    elif engine == "pyjwt":
        import jwt

        assert tokens is not None
        measured = min(sample, count)
        for token in tokens[:measured]:
            jwt.decode(token, SECRET, **kwargs)
    elif engine == "polars":
        import polars as pl

        frame = pl.from_arrow(pa.table({"token": column}))
        assert isinstance(frame, pl.DataFrame)
        verified = frame.select(
            pl.col("token")
            .map_batches(lambda c: pl.Series(arrow.verify(c, SECRET, threads=threads, **kwargs)))
            .alias("v")
        ).unnest("v")
        assert verified["valid"].sum() == count
        out_bytes = verified.estimated_size()
    elif engine == "duckdb":
        import duckdb

        connection = duckdb.connect()
        logs = pa.table({"token": column})
        connection.register("logs", logs)

        def verify_jwt(batch: Any) -> Any:
            return pa.chunked_array(arrow.verify(batch, SECRET, threads=threads, **kwargs))

        connection.create_function(
            "verify_jwt", verify_jwt, ["VARCHAR"], arrow.DUCKDB_VERDICT_TYPE, type="arrow"
        )
        ((valid,),) = connection.sql(
            "select count(*) from (select verify_jwt(token) as v from logs) where v.valid"
        ).fetchall()
        assert valid == count
    elif engine == "spark":
        import functools

        from pyspark.sql import SparkSession

        os.environ["PYSPARK_PYTHON"] = sys.executable
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        measured = min(sample, count)
        frame = spark.createDataFrame(pa.table({"token": column.slice(0, measured)}).to_pandas())
        start_wall, start_cpu = time.perf_counter(), time.process_time()  # session set up
        verify = functools.partial(arrow.verify_batches, key=SECRET, column="token", **kwargs)
        schema = f"token string, {arrow.SPARK_VERDICT_SCHEMA}"
        valid = frame.mapInArrow(verify, schema).where("valid").count()
        assert valid == measured
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    wall = time.perf_counter() - start_wall
    cpu = time.process_time() - start_cpu
    return {
        "engine": engine,
        "tokens": measured,
        "ns_per_token": wall / measured * 1e9,
        "cpu_ns_per_token": cpu / measured * 1e9,
        "peak_above_start": max(0, _peak_bytes() - before),
        "input_bytes": column.nbytes,
        "output_bytes": out_bytes,
    }


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--engines",
        default="pyarrow,pyarrow-array,decode_batch,pyjwt,polars,duckdb",
        help="comma-separated; also: spark",
    )
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "PARQUET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.sample, args.threads)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "tokens.parquet"
        make_tokens(args.tokens, path)
        results: dict[str, list[dict[str, Any]]] = {}
        # Interleaved rounds: each engine runs once per round, so load changes hit them alike.
        for _ in range(args.repeat):
            for engine in args.engines.split(","):
                command = [sys.executable, __file__, "--one", engine, str(path)]
                command += ["--sample", str(args.sample)]
                if args.threads:
                    command += ["--threads", str(args.threads)]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{engine}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                    continue
                results.setdefault(engine, []).append(json.loads(done.stdout.splitlines()[-1]))
    print(f"{args.tokens:,} HS256 tokens, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    best = {engine: min(runs, key=lambda r: r["ns_per_token"]) for engine, runs in results.items()}
    column_path = best.get("pyarrow")  # the column path read as a pyarrow table
    header = f"{'engine':<14}{'ns/token':>10}{'range':>16}{'CPU ns':>9}{'peak MiB':>10}"
    print(header + "   vs column path")
    for engine, runs in results.items():
        times = sorted(r["ns_per_token"] for r in runs)
        row = best[engine]
        ratio = row["ns_per_token"] / column_path["ns_per_token"] if column_path else float("nan")
        print(
            f"{engine:<14}{row['ns_per_token']:>10,.0f}{f'{times[0]:,.0f}-{times[-1]:,.0f}':>16}"
            f"{row['cpu_ns_per_token']:>9,.0f}{row['peak_above_start'] / 2**20:>10,.0f}"
            f"   {ratio:,.2f}x"
        )
    if column_path:
        mib = 2**20
        print(
            f"column path: input {column_path['input_bytes'] / mib:,.0f} MiB, verdicts "
            f"{column_path['output_bytes'] / mib:,.0f} MiB, peak above start "
            f"{column_path['peak_above_start'] / mib:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
