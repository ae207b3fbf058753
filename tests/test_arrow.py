"""turbojwt.arrow: columns of tokens through pyarrow, Polars and DuckDB, verdicts as decode's.

Every verdict here is compared with ``decode_complete`` on the same token (the replay in
``column_replay.py`` does the same for the attack and differential suites).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import turbojwt
from _target import lane_mix
from turbojwt import arrow
from turbojwt.api_jwk import PyJWKSet

pa = pytest.importorskip("pyarrow")

SECRET = "arrow-secret-0123456789-0123456789-abc"
NOW = int(time.time())
ALGORITHMS = ["HS256"]


def hs256(claims: dict[str, Any], key: str = SECRET, **headers: Any) -> str:
    return turbojwt.encode(claims, key, headers=headers or None)


MIXED: list[Any] = [
    hs256({"sub": "ok", "iss": "me", "aud": "api", "exp": NOW + 600, "iat": NOW, "jti": "1"}),
    hs256({"sub": "list audience", "aud": ["api", "web"], "exp": NOW + 600.25}),
    hs256({"sub": "expired", "aud": "api", "exp": NOW - 600}),
    hs256({"sub": "immature", "aud": "api", "nbf": NOW + 600}),
    hs256({"sub": "elsewhere", "aud": "elsewhere"}),
    hs256({"sub": "forged", "aud": "api"}, key="another-secret-0123456789-0123456789"),
    hs256({"sub": "with kid", "aud": "api"}, kid="k1"),
    hs256({"sub": 5, "aud": "api"}),
    hs256({"aud": "api", "exp": "soon"}),
    hs256({"aud": "api", "dup": 1})[:-4] + "AAAA",
    turbojwt.encode({"aud": "api"}, SECRET, algorithm="HS512"),
    turbojwt.encode({"aud": "api"}, None, algorithm=None),
    "not.a.token",
    "garbage",
    "",
    None,
]


def decode_outcome(token: Any, key: Any = SECRET, **kwargs: Any) -> dict[str, Any]:
    """The verdict row ``decode_complete`` implies for ``token`` (typed columns aside)."""
    if token is None:
        return {"valid": None, "error": None, "message": None, "claims": None}
    try:
        result = turbojwt.decode_complete(token, key, **kwargs)
    except Exception as error:
        return {
            "valid": False,
            "error": type(error).__name__,
            "message": str(error),
            "claims": None,
        }
    return {"valid": True, "error": None, "message": None, "claims": result["payload"]}


def rows(verdicts: Any) -> list[dict[str, Any]]:
    table = pa.table(verdicts) if hasattr(verdicts, "__arrow_c_stream__") else None
    if isinstance(verdicts, arrow.VerdictArray):
        table = pa.Table.from_struct_array(pa.array(verdicts))
    assert table is not None
    out = []
    for row in table.to_pylist():
        claims = row["claims"]
        out.append(
            {
                "valid": row["valid"],
                "error": row["error"],
                "message": row["message"],
                "claims": None if claims is None else json.loads(claims),
            }
        )
    return out


def assert_verdicts_are_decodes(verdicts: Any, tokens: list[Any], **kwargs: Any) -> None:
    assert rows(verdicts) == [decode_outcome(token, **kwargs) for token in tokens]


@pytest.mark.parametrize(
    "arrow_type",
    ["string", "large_string", "string_view", "binary", "large_binary", "binary_view"],
)
def test_every_token_type_gives_decodes_verdicts(arrow_type: str) -> None:
    kind = getattr(pa, arrow_type)()
    values = [t.encode() if isinstance(t, str) and "binary" in arrow_type else t for t in MIXED]
    column = pa.array(values, type=kind)
    verdicts = arrow.verify(column, SECRET, algorithms=ALGORITHMS, audience="api")
    assert isinstance(verdicts, arrow.VerdictArray)
    assert len(verdicts) == len(MIXED)
    assert_verdicts_are_decodes(verdicts, MIXED, algorithms=ALGORITHMS, audience="api")


def test_typed_columns() -> None:
    column = pa.array([*MIXED[:2], MIXED[6], None])
    table = pa.array(arrow.verify(column, SECRET, algorithms=ALGORITHMS, audience="api"))
    assert table.type == pa.struct(
        [
            ("valid", pa.bool_()),
            ("error", pa.string()),
            ("message", pa.string()),
            ("alg", pa.string()),
            ("kid", pa.string()),
            ("iss", pa.string()),
            ("sub", pa.string()),
            ("aud", pa.list_(pa.string())),
            ("exp", pa.timestamp("us", tz="UTC")),
            ("nbf", pa.timestamp("us", tz="UTC")),
            ("iat", pa.timestamp("us", tz="UTC")),
            ("jti", pa.string()),
            ("claims", pa.string()),
        ]
    )
    first, second, third, null = table.cast(
        pa.struct(
            [(f.name, pa.int64() if pa.types.is_timestamp(f.type) else f.type) for f in table.type]
        )
    ).to_pylist()
    assert first["alg"] == "HS256" and first["kid"] is None
    assert (first["iss"], first["sub"], first["aud"], first["jti"]) == ("me", "ok", ["api"], "1")
    assert (first["exp"], first["iat"], first["nbf"]) == ((NOW + 600) * 10**6, NOW * 10**6, None)
    assert second["aud"] == ["api", "web"] and second["exp"] == (NOW + 600) * 10**6 + 250_000
    assert third["kid"] == "k1"
    assert set(null.values()) == {None}


def test_counts_and_repr() -> None:
    verdicts = arrow.verify(pa.array(MIXED), SECRET, algorithms=ALGORITHMS, audience="api")
    valid = sum(
        1 for t in MIXED if decode_outcome(t, algorithms=ALGORITHMS, audience="api")["valid"]
    )
    assert verdicts.counts() == (valid, len(MIXED) - valid - 1, 1)
    assert (
        repr(verdicts) == f"<VerdictArray: {valid} valid, {len(MIXED) - valid - 1} invalid, 1 null>"
    )


def test_natively_refused_tokens_carry_decodes_exceptions() -> None:
    expired = [hs256({"sub": str(i), "exp": NOW - 1000}) for i in range(100)]
    forged = [hs256({"sub": str(i)}, key="x" * 40) for i in range(100)]
    tokens = expired + forged
    assert_verdicts_are_decodes(
        arrow.verify(pa.array(tokens), SECRET, algorithms=ALGORITHMS), tokens, algorithms=ALGORITHMS
    )


def test_macs_signed_four_tokens_at_a_time_keep_decodes_verdicts() -> None:
    # The column path computes HS256 MACs for four tokens at once (see `lane_mix`); nulls too.
    tokens: list[Any] = list(lane_mix(SECRET))
    for i in range(7, 240, 11):
        tokens[i] = None
    kwargs: dict[str, Any] = {"algorithms": ["HS256", "HS384"]}
    verdicts = arrow.verify(pa.array(tokens), SECRET, **kwargs)
    assert_verdicts_are_decodes(verdicts, tokens, **kwargs)
    errors = [row["error"] for row in rows(verdicts)]
    assert errors.count("InvalidSignatureError") >= 70
    assert errors.count(None) >= 130  # the valid tokens and the nulls


def test_a_stream_of_large_arrays_comes_back_in_chunks() -> None:
    tokens = [hs256({"sub": str(i), "exp": NOW + 600}) for i in range(10_000)]
    verdicts = arrow.verify(pa.chunked_array([tokens]), SECRET, algorithms=ALGORITHMS)
    batches = list(pa.RecordBatchReader.from_stream(verdicts))
    assert [b.num_rows for b in batches] == [4096, 4096, 1808]
    whole = arrow.verify(pa.array(tokens), SECRET, algorithms=ALGORITHMS)
    assert pa.table(whole).column("claims").num_chunks == 3  # as a stream: the chunks
    assert len(pa.array(whole)) == 10_000  # as one array: joined once
    assert whole.counts() == (10_000, 0, 0)


def test_large_column_on_each_thread_count() -> None:
    tokens = [hs256({"sub": str(i), "exp": NOW + 600, "aud": "api"}) for i in range(9000)]
    tokens[17] = "broken"
    tokens[5000] = hs256({"sub": "late", "exp": NOW - 5})
    expected = [decode_outcome(t, algorithms=ALGORITHMS, audience="api") for t in tokens]
    for threads in (1, 2, None):
        verdicts = arrow.verify(
            pa.array(tokens), SECRET, algorithms=ALGORITHMS, audience="api", threads=threads
        )
        assert rows(verdicts) == expected


def test_streams_give_streams_judged_as_read() -> None:
    chunked = pa.chunked_array([MIXED[:5], MIXED[5:9], [], MIXED[9:]], type=pa.string())
    verdicts = arrow.verify(chunked, SECRET, algorithms=ALGORITHMS, audience="api")
    assert isinstance(verdicts, arrow.VerdictStream)
    reader = pa.RecordBatchReader.from_stream(verdicts)
    batches = list(reader)
    assert [b.num_rows for b in batches] == [5, 4, len(MIXED) - 9]  # no empty batch
    assert_verdicts_are_decodes(
        pa.Table.from_batches(batches), MIXED, algorithms=ALGORITHMS, audience="api"
    )
    assert "read" in repr(verdicts)
    with pytest.raises(RuntimeError, match="already been read"):
        pa.table(verdicts)


def test_tables_and_readers_take_the_named_column() -> None:
    table = pa.table({"tenant": ["a"] * len(MIXED), "token": MIXED})
    verdicts = arrow.verify(table, SECRET, algorithms=ALGORITHMS, audience="api", column="token")
    assert_verdicts_are_decodes(pa.table(verdicts), MIXED, algorithms=ALGORITHMS, audience="api")
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=3))
    verdicts = arrow.verify(reader, SECRET, algorithms=ALGORITHMS, audience="api", column="token")
    assert_verdicts_are_decodes(pa.table(verdicts), MIXED, algorithms=ALGORITHMS, audience="api")
    one_column = pa.table({"token": MIXED})
    assert_verdicts_are_decodes(
        pa.table(arrow.verify(one_column, SECRET, algorithms=ALGORITHMS, audience="api")),
        MIXED,
        algorithms=ALGORITHMS,
        audience="api",
    )
    with pytest.raises(ValueError, match=r'pass column= to choose one of \["tenant", "token"\]'):
        arrow.verify(table, SECRET, algorithms=ALGORITHMS)
    with pytest.raises(ValueError, match='no column named "tok"'):
        arrow.verify(table, SECRET, algorithms=ALGORITHMS, column="tok")
    with pytest.raises(ValueError, match="chooses a column of a table"):
        arrow.verify(pa.array(["x"]), SECRET, algorithms=ALGORITHMS, column="token")


def test_wrong_inputs_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="must be an Arrow array or stream"):
        arrow.verify(["a.b.c"], SECRET, algorithms=ALGORITHMS)
    with pytest.raises(TypeError, match="must be strings or binary"):
        arrow.verify(pa.array([1, 2]), SECRET, algorithms=ALGORITHMS)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        arrow.verify(pa.array(["a"]), SECRET, algorithms=ALGORITHMS, threads=0)
    # Arguments no token could pass with are refused once, as decode_batch refuses them.
    with pytest.raises(turbojwt.exceptions.DecodeError, match="algorithms"):
        arrow.verify(pa.array(MIXED), SECRET)
    assert len(arrow.verify(pa.array([], type=pa.string()), SECRET, algorithms=ALGORITHMS)) == 0


def test_text_that_is_not_utf8_is_an_invalid_token() -> None:
    # Strings are read as bytes, unchecked for UTF-8: a producer's invalid text is judged
    # as decode judges the text it stands for (with U+FFFD for each bad sequence).
    good = MIXED[0].encode()
    values = good + b"\xff\xfe" + good
    offsets = pa.py_buffer(pa.array([0, len(good), len(good) + 2], pa.int32()).buffers()[1])
    column = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(values)])
    with pytest.raises(pa.ArrowInvalid):
        column.validate(full=True)  # pyarrow agrees the column is not valid UTF-8
    table = rows(arrow.verify(column, SECRET, algorithms=ALGORITHMS, audience="api"))
    assert table == [
        decode_outcome(MIXED[0], algorithms=ALGORITHMS, audience="api"),
        decode_outcome("\ufffd\ufffd", algorithms=ALGORITHMS, audience="api"),
    ]
    assert table[1]["error"] == "DecodeError"


def test_jwk_set_picks_the_key_by_kid() -> None:
    keys = {"a": "a-secret-0123456789-0123456789-0123", "b": "b-secret-0123456789-0123456789-0123"}
    jwks = PyJWKSet.from_dict(
        {
            "keys": [
                {
                    "kty": "oct",
                    "kid": kid,
                    "alg": "HS256",
                    "k": turbojwt.utils.base64url_encode(k.encode()).decode(),
                }
                for kid, k in keys.items()
            ]
        }
    )
    tokens = [
        hs256({"sub": "a"}, key=keys["a"], kid="a"),
        hs256({"sub": "b"}, key=keys["b"], kid="b"),
        hs256({"sub": "swapped"}, key=keys["a"], kid="b"),
        hs256({"sub": "unknown"}, key=keys["a"], kid="c"),
        hs256({"sub": "no kid"}, key=keys["a"]),
    ]
    got = rows(arrow.verify(pa.array(tokens), jwks))
    assert [(r["valid"], r["error"]) for r in got] == [
        (True, None),
        (True, None),
        (False, "InvalidSignatureError"),
        (False, "PyJWKSetError"),
        (False, "PyJWKSetError"),
    ]
    assert [r["claims"]["sub"] for r in got[:2]] == ["a", "b"]
    assert got[3]["message"] == 'Unable to find a signing key that matches: "c"'
    expected = turbojwt.decode_batch(tokens, jwks)
    assert [r["valid"] for r in got] == [not isinstance(e, Exception) for e in expected]


def test_decode_unverified_checks_nothing_but_the_form() -> None:
    verdicts = rows(arrow.decode_unverified(pa.array(MIXED)))
    options = {"verify_signature": False}
    assert verdicts == [decode_outcome(t, options=options) for t in MIXED]
    forged = next(v for v, t in zip(verdicts, MIXED) if t is MIXED[5])
    assert forged["valid"] is True  # unverified: a forged signature is not looked at


def test_polars_map_batches() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"tenant": ["t1"] * len(MIXED), "token": MIXED})
    verified = frame.with_columns(
        pl.col("token")
        .map_batches(
            lambda tokens: pl.Series(
                arrow.verify(tokens, SECRET, algorithms=ALGORITHMS, audience="api")
            )
        )
        .alias("verdict")
    ).unnest("verdict")
    expected = [decode_outcome(t, algorithms=ALGORITHMS, audience="api") for t in MIXED]
    assert verified["valid"].to_list() == [e["valid"] for e in expected]
    assert verified["error"].to_list() == [e["error"] for e in expected]
    assert verified.filter(pl.col("valid"))["sub"].to_list() == ["ok", "list audience", "with kid"]
    # A DataFrame is a stream of record batches: name the column.
    table = pl.DataFrame(arrow.verify(frame, SECRET, algorithms=ALGORITHMS, column="token"))
    assert table.height == len(MIXED)


def test_duckdb_arrow_udf_and_query_over_verdicts() -> None:
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("numpy")  # DuckDB's Arrow UDFs need it
    connection = duckdb.connect()
    logs = pa.table({"token": MIXED})
    connection.register("logs", logs)

    def verify_jwt(tokens: Any) -> Any:
        return pa.chunked_array(arrow.verify(tokens, SECRET, algorithms=ALGORITHMS, audience="api"))

    connection.create_function(
        "verify_jwt", verify_jwt, ["VARCHAR"], arrow.DUCKDB_VERDICT_TYPE, type="arrow",
        null_handling="special",
    )  # fmt: skip
    result = connection.sql(
        "select v.valid, v.error, v.sub from (select verify_jwt(token) as v from logs)"
    ).fetchall()
    expected = [decode_outcome(t, algorithms=ALGORITHMS, audience="api") for t in MIXED]
    assert [(valid, error) for valid, error, _ in result] == [
        (e["valid"], e["error"]) for e in expected
    ]
    verdicts = pa.table(arrow.verify(logs, SECRET, algorithms=ALGORITHMS, audience="api"))  # noqa: F841 (scanned by name)
    counts = dict(
        connection.sql(
            "select case when valid then 'valid' else coalesce(error, 'no token') end, count(*) "
            "from verdicts group by all"
        ).fetchall()
    )
    assert counts["valid"] == sum(1 for e in expected if e["valid"])
    assert counts["InvalidSignatureError"] == sum(
        1 for e in expected if e["error"] == "InvalidSignatureError"
    )


def test_a_stream_read_on_another_thread() -> None:
    import threading

    verdicts = arrow.verify(pa.chunked_array([MIXED]), SECRET, algorithms=ALGORITHMS)
    read: list[Any] = []
    reader = threading.Thread(target=lambda: read.append(pa.table(verdicts)))
    reader.start()
    reader.join()
    assert_verdicts_are_decodes(read[0], MIXED, algorithms=ALGORITHMS)


def test_an_input_stream_that_fails_fails_the_verdict_stream() -> None:
    schema = pa.schema([("token", pa.string())])

    def batches() -> Any:
        yield pa.record_batch([pa.array(MIXED[:3])], schema=schema)
        raise OSError("the log file went away")

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    verdicts = pa.RecordBatchReader.from_stream(arrow.verify(reader, SECRET, algorithms=ALGORITHMS))
    assert verdicts.read_next_batch().num_rows == 3
    with pytest.raises(pa.ArrowException, match=r"tokens failed .*the log file went away"):
        verdicts.read_next_batch()
