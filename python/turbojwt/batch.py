"""Batch verification: many tokens per call, checked on every core.

``decode_batch(tokens, key, ...)`` takes ``decode``'s arguments, in ``decode``'s positional
order, and returns a list whose element ``i`` is exactly what ``decode(tokens[i], key, ...)``
returns, or the exception instance it raises. One bad token never affects another.
``decode_complete_batch`` is the same for ``decode_complete`` (whose positional order puts
``issuer`` before ``subject``). The batch-only parameters are keyword-only.

Arguments that no token could pass with are raised once, before any token is read, instead
of coming back once per token: no ``algorithms`` while verifying, ``options`` that is not a
dict, a key unusable with every allowed algorithm (``None``, an asymmetric key for HMAC, a
short secret under ``enforce_minimum_key_length``...), allowed algorithm names none of which
is supported, an ``audience`` that is neither a string nor an iterable. These are the
exceptions ``decode`` raises for such arguments.

Signatures, JSON and claims are checked in Rust with the GIL released, spread over a thread
pool; only building the result dicts needs the GIL. A token the parallel pass cannot accept
with certainty (an invalid one, or one with unusual claims) is decoded by the ordinary
``decode`` path, so results and exceptions are ``decode``'s own. With ``detached_payload``
every token is decoded by ``decode`` in turn.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Container, Iterable, Iterator, Sequence
from datetime import timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol, Union

from . import _turbojwt
from .api_jwk import PyJWK, PyJWKSet
from .api_jws import get_unverified_header
from .api_jwt import _jwt_global_obj
from .exceptions import DecodeError, InvalidSignatureError, PyJWKSetError, PyJWTError
from .utils import base64url_encode
from .warnings import RemovedInPyjwt3Warning

if TYPE_CHECKING:
    from .types import Options

__all__ = ["decode_batch", "decode_complete_batch", "decode_iter"]

#: An element of a batch result: the claims (or complete decode) or the exception.
BatchItem = Union[dict[str, Any], Exception]

# ``decode``'s own warning for a ``verify`` argument that contradicts ``verify_signature``.
_VERIFY_MISMATCH = (
    "The `verify` argument to `decode` does nothing in PyJWT 2.0 and newer. "
    "The equivalent is setting `verify_signature` to False in the `options` dictionary. "
    "This invocation has a mismatch between the kwarg and the option entry."
)


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
    options: Options | None = None,
    verify: bool | None = None,
    detached_payload: bytes | None = None,
    audience: str | Iterable[str] | None = None,
    subject: str | None = None,
    issuer: str | Container[str] | None = None,
    leeway: float | timedelta = 0,
    *,
    threads: int | None = None,
    denylist: RevocationCheck | None = None,
    **kwargs: Any,
) -> list[BatchItem]:
    """``decode`` over many tokens: the claims dict or the exception, per token.

    The arguments are ``decode``'s, in its order. ``key`` may also be a ``PyJWKSet``: each
    token is then checked with the key named by its ``kid`` header (a token whose ``kid``
    the set lacks gets ``PyJWKSetError``). ``threads`` bounds the worker threads (default:
    one per core). ``denylist`` (a ``turbojwt.auth`` denylist store) is asked once for the
    whole batch; a valid token whose ``jti`` or ``fam`` (token family) it holds becomes
    ``RevokedTokenError``. Unknown keyword arguments are ignored, as ``decode`` ignores
    them, with one ``RemovedInPyjwt3Warning`` whose text is ``decode``'s with this
    function's name ("passing additional kwargs to decode_batch() is deprecated ...").
    A ``verify`` that contradicts ``verify_signature`` gets ``decode``'s
    ``DeprecationWarning``, once.

    :raises TypeError: ``tokens`` is a single ``str`` or ``bytes``.
    :raises PyJWTError: (or the builtin ``decode`` raises) for arguments no token could
        pass with; see the module documentation.
    """
    _refuse_single_token(tokens, "decode_batch")
    call = _Call.prepare(
        "decode_batch",
        False,
        key,
        algorithms,
        options,
        verify,
        detached_payload,
        audience,
        issuer,
        subject,
        leeway,
        kwargs,
    )
    results = call.run(list(tokens), threads)
    return results if denylist is None else revoke_listed(results, denylist, complete=False)


def decode_complete_batch(
    tokens: Iterable[str | bytes],
    key: Any = "",
    algorithms: Sequence[str] | None = None,
    options: Options | None = None,
    verify: bool | None = None,
    detached_payload: bytes | None = None,
    audience: str | Iterable[str] | None = None,
    issuer: str | Container[str] | None = None,
    subject: str | None = None,
    leeway: float | timedelta = 0,
    *,
    threads: int | None = None,
    denylist: RevocationCheck | None = None,
    **kwargs: Any,
) -> list[BatchItem]:
    """``decode_complete`` over many tokens, in its argument order (see ``decode_batch``)."""
    _refuse_single_token(tokens, "decode_complete_batch")
    call = _Call.prepare(
        "decode_complete_batch",
        True,
        key,
        algorithms,
        options,
        verify,
        detached_payload,
        audience,
        issuer,
        subject,
        leeway,
        kwargs,
    )
    results = call.run(list(tokens), threads)
    return results if denylist is None else revoke_listed(results, denylist, complete=True)


def decode_iter(
    tokens: Iterable[str | bytes],
    key: Any = "",
    algorithms: Sequence[str] | None = None,
    options: Options | None = None,
    verify: bool | None = None,
    detached_payload: bytes | None = None,
    audience: str | Iterable[str] | None = None,
    subject: str | None = None,
    issuer: str | Container[str] | None = None,
    leeway: float | timedelta = 0,
    *,
    chunk_size: int = 10_000,
    threads: int | None = None,
    denylist: RevocationCheck | None = None,
    **kwargs: Any,
) -> Iterator[BatchItem]:
    """``decode_batch`` over an iterable too large to hold: ``chunk_size`` tokens at a time.

    The arguments are checked, and warned about, when ``decode_iter`` is called: before the
    first token is drawn from ``tokens``.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    _refuse_single_token(tokens, "decode_iter")
    call = _Call.prepare(
        "decode_iter",
        False,
        key,
        algorithms,
        options,
        verify,
        detached_payload,
        audience,
        issuer,
        subject,
        leeway,
        kwargs,
    )
    return _chunks(call, iter(tokens), chunk_size, threads, denylist)


def _chunks(
    call: _Call,
    pending: Iterator[str | bytes],
    chunk_size: int,
    threads: int | None,
    denylist: RevocationCheck | None,
) -> Iterator[BatchItem]:
    while chunk := list(islice(pending, chunk_size)):
        results = call.run(chunk, threads)
        yield from (
            results if denylist is None else revoke_listed(results, denylist, complete=False)
        )


def _refuse_single_token(tokens: object, function: str) -> None:
    """A ``str`` or ``bytes`` is one token, not an iterable of them: refuse it."""
    if isinstance(tokens, (str, bytes, bytearray)):
        raise TypeError(
            f"{function}() takes an iterable of tokens, not a single "
            f"{type(tokens).__name__}; wrap one token in a list"
        )


class _Call:
    """The arguments of one batch call, checked once: what each token is decoded with."""

    __slots__ = (
        "algorithms",
        "audience",
        "complete",
        "detached_payload",
        "issuer",
        "key",
        "leeway",
        "options",
        "subject",
    )

    def __init__(
        self,
        complete: bool,
        key: Any,
        algorithms: Any,
        options: Options | None,
        detached_payload: bytes | None,
        audience: Any,
        issuer: Any,
        subject: str | None,
        leeway: float | timedelta,
    ) -> None:
        self.complete = complete
        self.key = key
        self.algorithms = algorithms
        self.options = options
        self.detached_payload = detached_payload
        self.audience = audience
        self.issuer = issuer
        self.subject = subject
        self.leeway = leeway

    @classmethod
    def prepare(
        cls,
        function: str,
        complete: bool,
        key: Any,
        algorithms: Any,
        options: Options | None,
        verify: bool | None,
        detached_payload: bytes | None,
        audience: Any,
        issuer: Any,
        subject: str | None,
        leeway: float | timedelta,
        kwargs: dict[str, Any],
    ) -> _Call:
        """Warn as ``decode`` warns, once; raise what no token could pass with, once.

        ``stacklevel=3`` names the line that called the public batch function.
        """
        if kwargs:
            warnings.warn(
                f"passing additional kwargs to {function}() is deprecated and will be removed "
                f"in pyjwt version 3. Unsupported kwargs: {tuple(kwargs.keys())}",
                RemovedInPyjwt3Warning,
                stacklevel=3,
            )
        # ``decode`` reads ``options`` this way: an object without ``get`` fails here as there.
        verify_signature = True if options is None else options.get("verify_signature", True)
        if verify is not None and verify != verify_signature:
            warnings.warn(_VERIFY_MISMATCH, DeprecationWarning, stacklevel=3)
        if isinstance(algorithms, Iterator):
            algorithms = list(algorithms)  # read more than once below
        call = cls(
            complete, key, algorithms, options, detached_payload, audience, issuer, subject, leeway
        )
        call._check_arguments(bool(verify_signature))
        return call

    def _decode(self, token: Any, key: Any, detached_payload: bytes | None) -> dict[str, Any]:
        engine = _jwt_global_obj._engine
        if self.complete:
            return engine.decode_complete(
                token,
                key,
                self.algorithms,
                self.options,
                None,
                detached_payload,
                self.audience,
                self.issuer,
                self.subject,
                self.leeway,
            )
        return engine.decode(
            token,
            key,
            self.algorithms,
            self.options,
            None,
            detached_payload,
            self.audience,
            self.subject,
            self.issuer,
            self.leeway,
        )

    def _check_arguments(self, verify_signature: bool) -> None:
        """Decode stand-in tokens to surface, with ``decode``'s own exceptions, bad arguments.

        1. An empty token fails in ``decode`` at "Not enough segments" unless an argument
           check before it fails (``algorithms`` missing, ``options`` unusable).
        2. A token per allowed algorithm, with an empty signature, fails at the signature
           unless the key cannot be used with that algorithm; the key must be usable with
           at least one of them.
        3. The claim checks on an empty payload fail with a ``PyJWTError`` (a claim is
           missing) unless an argument has the wrong type.
        """
        key = self.key
        if isinstance(key, PyJWKSet):
            key = key.keys[0]  # what each token's key will be: one of the set's PyJWKs
        try:
            self._decode("", key, None)
        except DecodeError as error:
            if str(error) != "Not enough segments":
                raise
        if verify_signature and not isinstance(key, PyJWK):
            self._check_key(key)
        merged = _jwt_global_obj._merge_options(self.options)
        try:
            _turbojwt.validate_claims(
                {}, merged, self.audience, self.issuer, self.subject, self.leeway
            )
        except PyJWTError:
            pass

    def _check_key(self, key: Any) -> None:
        algorithms = self.algorithms
        if isinstance(algorithms, str):
            registered = _jwt_global_obj._jws._algorithms
            names = [name for name in registered if name in algorithms] or [algorithms]
        else:
            names = [name for name in algorithms if isinstance(name, str)]
        first_error: Exception | None = None
        for name in names:
            try:
                self._decode(_signature_probe(name), key, None)
            except InvalidSignatureError:
                return  # the key was used: only the (empty) signature failed
            except Exception as error:
                first_error = first_error or error
            else:  # pragma: no cover - no algorithm accepts an empty signature
                return
        if first_error is not None:
            raise first_error

    def run(self, tokens: list[str | bytes], threads: int | None) -> list[BatchItem]:
        if isinstance(self.key, PyJWKSet):
            return self._run_by_kid(tokens, self.key, threads)
        return self._run(tokens, self.key, threads)

    def _run(self, tokens: list[Any], key: Any, threads: int | None) -> list[BatchItem]:
        if self.detached_payload is not None:
            # The parallel pass has no detached payload: decode each token in turn.
            results: list[BatchItem] = []
            for token in tokens:
                try:
                    results.append(self._decode(token, key, self.detached_payload))
                except Exception as error:
                    results.append(error)
            return results
        return _turbojwt.decode_batch(
            _jwt_global_obj._engine,
            tokens,
            key,
            self.algorithms,
            self.options,
            self.audience,
            self.issuer,
            self.subject,
            self.leeway,
            self.complete,
            threads,
        )

    def _run_by_kid(
        self, tokens: list[str | bytes], key_set: PyJWKSet, threads: int | None
    ) -> list[BatchItem]:
        """Group the tokens by the key their ``kid`` names; one batch per key."""
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
                results[index] = PyJWKSetError(
                    f'Unable to find a signing key that matches: "{kid}"'
                )
                continue
            groups.setdefault(id(key), (key, []))[1].append(index)
        for key, indices in groups.values():
            batch = self._run([tokens[i] for i in indices], key, threads)
            for index, item in zip(indices, batch):
                results[index] = item
        missing = [index for index, item in enumerate(results) if item is None]
        if missing:  # pragma: no cover - every index is filled above
            raise RuntimeError(f"batch results missing for tokens {missing}")
        return [item for item in results if item is not None]


_PROBES: dict[str, str] = {}


def _signature_probe(alg: str) -> str:
    """A token with header ``{"alg": alg}``, an empty payload and an empty signature."""
    probe = _PROBES.get(alg)
    if probe is None:
        header = base64url_encode(json.dumps({"alg": alg, "typ": "JWT"}).encode()).decode()
        probe = f"{header}.e30."
        if len(_PROBES) < 64:
            _PROBES[alg] = probe
    return probe
