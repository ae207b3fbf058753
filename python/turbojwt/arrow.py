"""Columns of tokens: verify millions of JWTs from Arrow data, with no Python object per token.

``verify(tokens, key, algorithms=...)`` takes any Arrow array or stream of tokens through the
Arrow PyCapsule interface (a pyarrow ``Array``, ``ChunkedArray``, ``Table`` or
``RecordBatchReader``, a Polars ``Series`` or ``DataFrame``, a DuckDB relation, arro3,
nanoarrow...) of ``string``, ``large_string``, ``string_view``, ``binary``, ``large_binary``
or ``binary_view`` values, and ``decode``'s verification arguments. It returns one row per
token, as Arrow:

=========  ========================  ==================================================
column     type                      holds
=========  ========================  ==================================================
valid      bool                      whether ``decode`` accepts the token (null: no token)
error      string                    the PyJWT exception class ``decode`` raises, if any
message    string                    its message
alg, kid   string                    the header's ``alg`` and ``kid``
iss, sub   string                    the registered claims, where they are strings
aud        list<string>              ``aud`` as a list (a lone string becomes one item)
exp, nbf,  timestamp[us, UTC]        the time claims, where they are numbers in range
iat
jti        string                    the ``jti`` claim
claims     string                    the whole claims object as JSON text
=========  ========================  ==================================================

The header and claim columns are filled for valid tokens only. Every verdict is exactly
``decode``'s for the same token and arguments: signatures and claims are checked in Rust on
every core with the GIL released, and the few tokens that pass check cannot judge with
certainty (unusual headers or claims, most kinds of invalid token) are handed to ``decode``
itself. Bad signatures and expired tokens are refused natively, with ``decode``'s exception.

An array input gives a :class:`VerdictArray`; a stream input (a ``ChunkedArray``, a table, a
reader) gives a :class:`VerdictStream` that judges each input batch as it is read, so a
stream of any length is verified in bounded memory. Both expose ``__arrow_c_array__`` /
``__arrow_c_stream__``: wrap them with ``pyarrow.array``/``pyarrow.table``/
``pyarrow.RecordBatchReader.from_stream``, ``polars.Series``/``polars.DataFrame``, or let
DuckDB scan them. ``turbojwt`` itself needs no Arrow library.

``decode_unverified(tokens)`` reads tokens without checking signatures or claims, as
``decode(token, options={"verify_signature": False})`` does: for inspecting tokens, never
for trusting them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Union

from . import _turbojwt
from ._turbojwt import VerdictArray, VerdictStream
from .api_jwk import PyJWK, PyJWKSet
from .api_jws import get_unverified_header
from .api_jwt import _jwt_global_obj
from .batch import _Call
from .exceptions import PyJWKSetError

if TYPE_CHECKING:
    from .types import Options

__all__ = [
    "DUCKDB_VERDICT_TYPE",
    "SPARK_VERDICT_SCHEMA",
    "VERDICT_COLUMNS",
    "VerdictArray",
    "VerdictStream",
    "decode_unverified",
    "verify",
    "verify_batches",
]

#: The verdict columns, in order.
VERDICT_COLUMNS: tuple[str, ...] = tuple(_turbojwt.verdict_fields())

#: The verdict type in DuckDB's SQL, for the return type of an Arrow UDF (``docs/arrow.md``).
DUCKDB_VERDICT_TYPE = (
    "STRUCT(valid BOOLEAN, error VARCHAR, message VARCHAR, alg VARCHAR, kid VARCHAR, "
    "iss VARCHAR, sub VARCHAR, aud VARCHAR[], exp TIMESTAMP WITH TIME ZONE, "
    "nbf TIMESTAMP WITH TIME ZONE, iat TIMESTAMP WITH TIME ZONE, jti VARCHAR, claims VARCHAR)"
)

#: The verdict columns in Spark's DDL, to add to a ``mapInArrow`` schema (``docs/arrow.md``).
SPARK_VERDICT_SCHEMA = (
    "valid boolean, error string, message string, alg string, kid string, iss string, "
    "sub string, aud array<string>, exp timestamp, nbf timestamp, iat timestamp, "
    "jti string, claims string"
)

#: What ``verify`` returns.
Verdicts = Union[VerdictArray, VerdictStream]

_UNVERIFIED: Options = {"verify_signature": False}


def verify(
    tokens: Any,
    key: Any = "",
    algorithms: Sequence[str] | None = None,
    options: Options | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Container[str] | None = None,
    subject: str | None = None,
    leeway: float | timedelta = 0,
    *,
    column: str | None = None,
    threads: int | None = None,
) -> Verdicts:
    """Verify every token of an Arrow column as ``decode`` would; one verdict row per token.

    ``key`` may be a ``PyJWKSet``: each token is then checked with the key its ``kid``
    names (a token whose ``kid`` the set lacks is invalid with ``PyJWKSetError``).
    ``column`` names the token column of a table or record batch (a single column needs
    no name). ``threads`` bounds the worker threads (default: one per core).

    :raises TypeError: ``tokens`` is not Arrow data, or not strings or binary.
    :raises ValueError: ``column`` names no column, or the data is malformed.
    :raises PyJWTError: (or the builtin ``decode`` raises) for arguments no token could
        pass with, as ``decode_batch`` does, before any token is read.
    """
    call = _Call.prepare(
        "verify",
        True,
        key,
        algorithms,
        options,
        None,
        None,
        audience,
        issuer,
        subject,
        leeway,
        {},
    )
    if isinstance(key, PyJWKSet):
        keys: list[tuple[str | None, Any]] = [
            (jwk.key_id, jwk) for jwk in key.keys if jwk.key_id is not None
        ]
        fallback = _by_kid(call, key)
    else:
        keys = [(None, key)]
        fallback = _with_key(call, key)
    return _turbojwt.verify_arrow(
        _jwt_global_obj._engine,
        tokens,
        keys,
        call.algorithms,
        options,
        audience,
        issuer,
        subject,
        leeway,
        fallback,
        False,
        column,
        threads,
    )


def verify_batches(
    batches: Iterable[Any], key: Any = "", *, column: str, **arguments: Any
) -> Iterator[Any]:
    """Each pyarrow ``RecordBatch`` of ``batches`` with the verdict columns appended.

    The function Spark's ``DataFrame.mapInArrow`` takes, given the key and ``verify``'s
    arguments with ``functools.partial``; the output schema is the input's followed by
    :data:`SPARK_VERDICT_SCHEMA`. Needs pyarrow.
    """
    import pyarrow as pa

    for batch in batches:
        taken = set(batch.schema.names) & set(VERDICT_COLUMNS)
        if taken:
            raise ValueError(f"the input already has verdict column names: {sorted(taken)}")
        verdicts = pa.array(verify(batch.column(column), key, **arguments))
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, *verdicts.flatten()],
            names=[*batch.schema.names, *VERDICT_COLUMNS],
        )


def decode_unverified(
    tokens: Any, *, column: str | None = None, threads: int | None = None
) -> Verdicts:
    """Read every token of an Arrow column WITHOUT verifying its signature or claims.

    The verdicts are those of ``decode(token, options={"verify_signature": False})``: a
    token is invalid only when it is malformed. Never trust these claims; use ``verify``.
    """
    call = _Call.prepare(
        "decode_unverified",
        True,
        "",
        None,
        _UNVERIFIED,
        None,
        None,
        None,
        None,
        None,
        0,
        {},
    )
    return _turbojwt.verify_arrow(
        _jwt_global_obj._engine,
        tokens,
        [(None, "")],
        None,
        _UNVERIFIED,
        None,
        None,
        None,
        0,
        _with_key(call, ""),
        True,
        column,
        threads,
    )


class _Row(NamedTuple):
    """The columns of a token the ordinary path accepted (those the batch pass left)."""

    claims: str
    alg: str | None
    kid: str | None
    iss: str | None
    sub: str | None
    aud: list[str] | None
    exp: int | None
    nbf: int | None
    iat: int | None
    jti: str | None


def _outcome(decode: Callable[[], dict[str, Any]]) -> tuple[str, str] | _Row:
    """What ``decode_complete`` made of one token: ``(exception_class, message)``, or the
    columns of the token, read by the rules the Rust reader applies to the rest."""
    try:
        result = decode()
    except Exception as error:
        # A message quoting a lone surrogate is kept as its escape: Arrow text is UTF-8.
        message = str(error).encode("utf-8", "backslashreplace").decode("utf-8")
        return (type(error).__name__, message)
    header, claims = result["header"], result["payload"]
    aud = claims.get("aud")
    if isinstance(aud, str):
        aud = [aud]
    if not (isinstance(aud, list) and all(_text(item) is not None for item in aud)):
        aud = None
    return _Row(
        _json(claims),
        _text(header.get("alg")),
        _text(header.get("kid")),
        _text(claims.get("iss")),
        _text(claims.get("sub")),
        aud,
        _micros(claims.get("exp")),
        _micros(claims.get("nbf")),
        _micros(claims.get("iat")),
        _text(claims.get("jti")),
    )


def _text(value: Any) -> str | None:
    """``value`` if it is a string Arrow can hold (valid Unicode: no lone surrogate)."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _micros(value: Any) -> int | None:
    """Seconds since the epoch as whole microseconds, for a number in the timestamp's range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        micros = round(value * 1e6)
    else:
        micros = value * 1_000_000
    return micros if -(2**63) < micros < 2**63 else None


def _json(value: Any) -> str:
    # ASCII: a lone surrogate, which ``json.loads`` accepts, is kept as its escape, since
    # Arrow text must be valid UTF-8. ``default=str``: claims read by a custom JSON decoder
    # may hold values JSON has no type for.
    return json.dumps(value, separators=(",", ":"), default=str)


def _with_key(call: _Call, key: Any) -> Any:
    def fallback(token: str | bytes) -> tuple[str, str] | _Row:
        return _outcome(lambda: call._decode(token, key, None))

    return fallback


def _by_kid(call: _Call, key_set: PyJWKSet) -> Any:
    """``decode_batch``'s choice of key for a token of a JWK set, then ``decode``."""

    def fallback(token: str | bytes) -> tuple[str, str] | _Row:
        def decode() -> dict[str, Any]:
            kid = get_unverified_header(token).get("kid")
            try:
                key: PyJWK = key_set[str(kid)]
            except KeyError:
                raise PyJWKSetError(f'Unable to find a signing key that matches: "{kid}"') from None
            return call._decode(token, key, None)

        return _outcome(decode)

    return fallback
