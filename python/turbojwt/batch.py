"""Batch verification: many tokens per call, checked on every core.

``decode_batch(tokens, key, ...)`` takes ``decode``'s arguments and returns a list whose
element ``i`` is exactly what ``decode(tokens[i], key, ...)`` returns, or the exception
instance it raises. One bad token never affects another.

Signatures, JSON and claims are checked in Rust with the GIL released, spread over a thread
pool; only building the result dicts needs the GIL. A token the parallel pass cannot accept
with certainty (an invalid one, or one with unusual claims) is decoded by the ordinary
``decode`` path, so results and exceptions are ``decode``'s own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from itertools import islice
from typing import Any, Protocol, Union

from . import _turbojwt
from .api_jwk import PyJWK, PyJWKSet
from .api_jws import get_unverified_header
from .api_jwt import _jwt_global_obj
from .exceptions import PyJWKSetError, PyJWTError

__all__ = ["decode_batch", "decode_complete_batch", "decode_iter"]

#: An element of a batch result: the claims (or complete decode) or the exception.
BatchItem = Union[dict[str, Any], Exception]


class RevocationCheck(Protocol):
    """What a batch needs of a denylist: which of these ids are revoked, in one round trip."""

    def revoked(self, jtis: Iterable[str]) -> set[str]: ...


def revoke_listed(
    results: list[BatchItem], denylist: RevocationCheck, *, complete: bool
) -> list[BatchItem]:
    """Replace each valid result whose ``jti`` or ``fam`` is on the denylist.

    One ``revoked()`` question for the whole list; also used by ``TokenIssuer``.
    """
    from .auth.exceptions import RevokedTokenError  # the toolkit imports this module

    def ids_of(item: BatchItem) -> tuple[str, ...]:
        if isinstance(item, Exception):
            return ()
        claims = item["payload"] if complete else item
        values = (claims.get("jti"), claims.get("fam"))
        return tuple(value for value in values if isinstance(value, str))

    ids = [ids_of(item) for item in results]
    asked = {value for values in ids for value in values}
    revoked = denylist.revoked(asked) if asked else set()
    if not revoked:
        return results
    return [
        RevokedTokenError("Token has been revoked") if revoked.intersection(values) else item
        for item, values in zip(results, ids)
    ]


def decode_batch(
    tokens: Iterable[str | bytes],
    key: Any = "",
    algorithms: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Sequence[str] | None = None,
    subject: str | None = None,
    leeway: float | timedelta = 0,
    *,
    threads: int | None = None,
    denylist: RevocationCheck | None = None,
) -> list[BatchItem]:
    """``decode`` over many tokens: the claims dict or the exception, per token.

    ``key`` may also be a ``PyJWKSet``: each token is then checked with the key named by its
    ``kid`` header (a token whose ``kid`` the set lacks gets ``PyJWKSetError``).
    ``threads`` bounds the worker threads (default: one per core).
    ``denylist`` (a ``turbojwt.auth`` denylist store) is asked once for the whole batch; a
    valid token whose ``jti`` or ``fam`` (token family) it holds becomes
    ``RevokedTokenError``.
    """
    results = _batch(
        tokens, key, algorithms, options, audience, issuer, subject, leeway, threads, False
    )
    return results if denylist is None else revoke_listed(results, denylist, complete=False)


def decode_complete_batch(
    tokens: Iterable[str | bytes],
    key: Any = "",
    algorithms: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Sequence[str] | None = None,
    subject: str | None = None,
    leeway: float | timedelta = 0,
    *,
    threads: int | None = None,
    denylist: RevocationCheck | None = None,
) -> list[BatchItem]:
    """``decode_complete`` over many tokens (see ``decode_batch``)."""
    results = _batch(
        tokens, key, algorithms, options, audience, issuer, subject, leeway, threads, True
    )
    return results if denylist is None else revoke_listed(results, denylist, complete=True)


def decode_iter(
    tokens: Iterable[str | bytes],
    key: Any = "",
    algorithms: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Sequence[str] | None = None,
    subject: str | None = None,
    leeway: float | timedelta = 0,
    *,
    chunk_size: int = 10_000,
    threads: int | None = None,
    denylist: RevocationCheck | None = None,
) -> Iterator[BatchItem]:
    """``decode_batch`` over an iterable too large to hold: ``chunk_size`` tokens at a time."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    pending = iter(tokens)
    while chunk := list(islice(pending, chunk_size)):
        yield from decode_batch(
            chunk,
            key,
            algorithms,
            options,
            audience,
            issuer,
            subject,
            leeway,
            threads=threads,
            denylist=denylist,
        )


def _batch(
    tokens: Iterable[str | bytes],
    key: Any,
    algorithms: Sequence[str] | None,
    options: dict[str, Any] | None,
    audience: Any,
    issuer: Any,
    subject: str | None,
    leeway: float | timedelta,
    threads: int | None,
    complete: bool,
) -> list[BatchItem]:
    tokens = list(tokens)
    if isinstance(key, PyJWKSet):
        return _batch_by_kid(
            tokens, key, algorithms, options, audience, issuer, subject, leeway, threads, complete
        )
    engine = _jwt_global_obj._engine
    return _turbojwt.decode_batch(
        engine,
        tokens,
        key,
        algorithms,
        options,
        audience,
        issuer,
        subject,
        leeway,
        complete,
        threads,
    )


def _batch_by_kid(
    tokens: list[str | bytes],
    key_set: PyJWKSet,
    algorithms: Sequence[str] | None,
    options: dict[str, Any] | None,
    audience: Any,
    issuer: Any,
    subject: str | None,
    leeway: float | timedelta,
    threads: int | None,
    complete: bool,
) -> list[BatchItem]:
    """Group the tokens by the key their ``kid`` names; one native batch per key."""
    results: list[BatchItem | None] = [None] * len(tokens)
    groups: dict[int, tuple[PyJWK, list[int]]] = {}
    for index, token in enumerate(tokens):
        try:
            kid = get_unverified_header(token).get("kid")
            key = key_set[str(kid)]
        except PyJWTError as error:
            results[index] = error
            continue
        except KeyError:
            results[index] = PyJWKSetError(f'Unable to find a signing key that matches: "{kid}"')
            continue
        groups.setdefault(id(key), (key, []))[1].append(index)
    for key, indices in groups.values():
        batch = _turbojwt.decode_batch(
            _jwt_global_obj._engine,
            [tokens[i] for i in indices],
            key,
            algorithms,
            options,
            audience,
            issuer,
            subject,
            leeway,
            complete,
            threads,
        )
        for index, item in zip(indices, batch):
            results[index] = item
    missing = [index for index, item in enumerate(results) if item is None]
    if missing:  # pragma: no cover - every index is filled above
        raise RuntimeError(f"batch results missing for tokens {missing}")
    return [item for item in results if item is not None]
