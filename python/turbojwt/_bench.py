"""`python -m turbojwt bench`: turbojwt against PyJWT and the other installed JWT libraries.

Standard library only (plus `cryptography` when it is installed: PyJWT needs it for the
asymmetric cases, turbojwt does not), and imported only by the command line, never by
`import turbojwt`.

Method: every (case, library) cell is checked once, then calibrated so that one sample
lasts about `sample_ms`; the samples are taken in interleaved rounds (each round times
every cell once, in alternating order, so machine noise hits every library alike) with the
garbage collector off, and each cell reports its median. The report says what could bias
it: the load average, the spread of the rounds, and which library could not run which case.

Decode cases come in two kinds. "First sight" cycles through a pool of POOL_SIZE distinct
tokens, at most POOL_SIZE calls per sample, and empties turbojwt's verified-token cache
(which admits a token on its second sight) before each sample, so every call is the first
sight of its token; the report shows the cache's hit count to prove it. "Repeated" decodes
one token over and over: the cost when an API sees the same bearer token on every request
of a session.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hmac
import importlib
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import Any, Callable, Optional, TextIO, Union

from turbojwt import _turbojwt
from turbojwt._bench_keys import PRIVATE_PEM, PUBLIC_PEM

TARGET_ENV = "TURBOJWT_BENCH_TARGET"

#: Distinct tokens per first-sight case (twice the 4096 entries of turbojwt's verified-token
#: cache), and the most calls in one of its samples: no token is decoded twice in a sample.
POOL_SIZE = 8192
#: The machine counts as busy when the 1-minute load average exceeds the CPU count less this.
BUSY_MARGIN = 0.5
#: A cell whose rounds spread more than this ((max - min) / median) is flagged.
NOISY_SPREAD = 0.25

DESCRIPTION = (
    "Time turbojwt against PyJWT (and any other installed JWT library) on common JWT "
    "operations and print a table."
)
EPILOG = f"""\
cases: HS256 decode (checking exp, aud and iss), first sight and repeated, and encode; then
RS256, ES256 and EdDSA decode and RS256 encode. First-sight rows cycle through {POOL_SIZE}
distinct tokens; repeated rows decode one token again and again. --quick leaves out the
RS256 first-sight rows (minting {POOL_SIZE} RSA signatures takes seconds). turbojwt runs
every case without `cryptography`; PyJWT needs it for the asymmetric ones. The PyJWT
column needs the real PyJWT importable as `jwt` (not the module patched to turbojwt).

other libraries, timed when importable, each with the cases its API supports: ryjwt,
oxyjwt, webtoken, pyjwt-rs (`jwt_rs`), clasp-jwt. The report lists, for each, what it ran
and why not the rest.

environment:
  {TARGET_ENV}=MODULE
      time MODULE in the turbojwt column instead of turbojwt, e.g. `jwt` to
      check the harness with PyJWT on both sides (speed-ups near 1.00)
"""

SECRET = "bench-hs256-secret-0123456789abcdefghi"  # 38 bytes, above the 32-byte minimum
ISSUER = "https://auth.example.com"
AUDIENCE = "api.example.com"


@dataclass(frozen=True)
class Settings:
    rounds: int
    sample_ms: float
    quick: bool = False


FULL = Settings(rounds=15, sample_ms=100)  # about a minute for all cases
QUICK = Settings(rounds=9, sample_ms=25, quick=True)  # about 10 s


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    alg: str
    kind: str  # "decode" or "encode"
    key_form: str  # "secret", "pem" (PEM text passed every call) or "object" (pre-loaded key)
    tokens: str = "one"  # decode: "pool" (first sight, distinct tokens) or "one" (repeated)


POOL, ONE = "pool", "one"

# fmt: off
CASES = (
    Case("hs256_decode", "HS256 decode (exp/aud/iss), first sight",
         "HS256", "decode", "secret", POOL),
    Case("hs256_decode_repeat", "HS256 decode (exp/aud/iss), repeated",
         "HS256", "decode", "secret", ONE),
    Case("hs256_encode", "HS256 encode", "HS256", "encode", "secret"),
    Case("rs256_decode_pem", "RS256 decode, PEM str per call, first sight",
         "RS256", "decode", "pem", POOL),
    Case("rs256_decode_obj", "RS256 decode, key object, first sight",
         "RS256", "decode", "object", POOL),
    Case("rs256_decode_pem_repeat", "RS256 decode, PEM str per call, repeated",
         "RS256", "decode", "pem", ONE),
    Case("rs256_encode_pem", "RS256 encode, PEM str per call", "RS256", "encode", "pem"),
    Case("es256_decode_pem", "ES256 decode, PEM str per call, first sight",
         "ES256", "decode", "pem", POOL),
    Case("eddsa_decode_pem", "EdDSA decode, PEM str per call, first sight",
         "EdDSA", "decode", "pem", POOL),
)
# fmt: on

NO_CRYPTOGRAPHY = (
    "`cryptography` is not installed: PyJWT cannot run the RS256, ES256 and EdDSA cases "
    "(turbojwt does not need it and runs them from PEM text); the key-object case is left "
    "out for every library, since its key objects are `cryptography`'s"
)
QUICK_SKIPS_RS256_POOL = (
    f"--quick: RS256 first-sight cases left out (their pool needs {POOL_SIZE} RSA signatures)"
)


# ---------------------------------------------------------------------------
# fixtures: claims, keys and tokens built here, independent of the libraries timed
# ---------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def have_cryptography() -> bool:
    try:
        import cryptography.hazmat.primitives.serialization  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    private: Any = None  # cryptography key objects, None without cryptography
    public: Any = None


@dataclass
class Fixtures:
    claims: dict[str, Any]
    key_pairs: dict[str, KeyPair]
    cryptography: bool
    minter: Optional[ModuleType] = None  # signs asymmetric tokens when cryptography is absent
    tokens: dict[str, str] = field(default_factory=dict)  # one token per algorithm
    pools: dict[str, list[str]] = field(default_factory=dict)  # first-sight tokens

    @classmethod
    def build(cls, minter: Optional[ModuleType] = None) -> Fixtures:
        now = int(time.time())
        claims = {
            "sub": "user-4096",
            "iat": now,
            "exp": now + 86_400,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "role": "admin",
            "tenant": "acme",
            "scope": "read write",
            "sid": "s-0007f3a2",
        }
        crypto = have_cryptography()
        fixtures = cls(claims, _load_key_pairs(crypto), crypto, minter)
        for alg in ("HS256", *fixtures.key_pairs):
            try:
                fixtures.tokens[alg] = fixtures.sign(alg, claims)
            except Exception:  # no way to sign this algorithm here: its cases are left out
                continue
        return fixtures

    def pool_claims(self, index: int) -> dict[str, Any]:
        # same size as `claims`: only the session id differs
        return {**self.claims, "sid": f"s-{index:08x}"}

    def mint_pool(self, alg: str) -> None:
        self.pools[alg] = [self.sign(alg, self.pool_claims(i)) for i in range(POOL_SIZE)]

    def sign(self, alg: str, claims: dict[str, Any]) -> str:
        if alg != "HS256" and not self.cryptography:
            if self.minter is None:
                raise ValueError(f"no way to sign {alg}")
            token: str = self.minter.encode(claims, self.key_pairs[alg].private_pem, algorithm=alg)
            return token
        header = {"alg": alg, "typ": "JWT"}
        signing_input = f"{_b64url(_json(header))}.{_b64url(_json(claims))}"
        data = signing_input.encode()
        if alg == "HS256":
            signature = hmac.digest(SECRET.encode(), data, "sha256")
        else:
            signature = _sign_asymmetric(alg, self.key_pairs[alg].private, data)
        return f"{signing_input}.{_b64url(signature)}"

    def verified_claims(self, alg: str, token: object) -> Any:
        """The payload of `token` if its signature is valid, else ValueError."""
        if not isinstance(token, str):
            raise ValueError(f"encode() returned {type(token).__name__}, not str")
        signing_input, _, signature_b64 = token.rpartition(".")
        signature = _b64url_decode(signature_b64)
        if alg == "HS256":
            expected = hmac.digest(SECRET.encode(), signing_input.encode(), "sha256")
            if not hmac.compare_digest(signature, expected):
                raise ValueError("bad HS256 signature")
        elif alg == "RS256" and self.cryptography:
            _verify_rs256(self.key_pairs[alg].public, signature, signing_input.encode())
        elif self.minter is not None:  # no independent verifier: the minting library checks
            return self.minter.decode(
                token, self.key_pairs[alg].public_pem, algorithms=[alg], audience=AUDIENCE
            )
        else:
            raise ValueError(f"no {alg} verifier here")
        return json.loads(_b64url_decode(signing_input.partition(".")[2]))


def _load_key_pairs(crypto: bool) -> dict[str, KeyPair]:
    if not crypto:
        return {alg: KeyPair(PRIVATE_PEM[alg], PUBLIC_PEM[alg]) for alg in PRIVATE_PEM}
    from cryptography.hazmat.primitives import serialization

    pairs = {}
    for alg, private_pem in PRIVATE_PEM.items():
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        public = serialization.load_pem_public_key(PUBLIC_PEM[alg].encode())
        pairs[alg] = KeyPair(private_pem, PUBLIC_PEM[alg], private, public)
    return pairs


def _sign_asymmetric(alg: str, private: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    if alg == "RS256":
        return bytes(private.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if alg == "ES256":
        # JWS wants r || s (RFC 7518 section 3.4), cryptography returns DER
        r, s = utils.decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bytes(private.sign(data))  # EdDSA


def _verify_rs256(public: Any, signature: bytes, data: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise ValueError("bad RS256 signature") from None


# ---------------------------------------------------------------------------
# adapters: how each library runs a case. An adapter returns a callable (decode: one
# token -> claims; encode: no argument -> token) or, when its API cannot run the case,
# the reason as a string.
# ---------------------------------------------------------------------------

Runner = Callable[..., object]
Adapter = Callable[[Any, Fixtures, Case], Union[Runner, str]]


def _keys(fx: Fixtures, case: Case) -> Union[tuple[Any, Any], str]:
    """(decode key, encode key) in the case's key form, or why there is none."""
    if case.key_form == "secret":
        return SECRET, SECRET
    pair = fx.key_pairs[case.alg]
    if case.key_form == "pem":
        return pair.public_pem, pair.private_pem
    if pair.public is None:
        return "needs `cryptography` key objects (not installed)"
    return pair.public, pair.private


def pyjwt_style(module: Any, fx: Fixtures, case: Case) -> Union[Runner, str]:
    """PyJWT's API: decode(token, key, algorithms=, audience=, issuer=), encode(claims, key)."""
    keys = _keys(fx, case)
    if isinstance(keys, str):
        return keys
    decode_key, encode_key = keys
    if case.kind == "encode":
        return partial(module.encode, fx.claims, encode_key, algorithm=case.alg)
    return partial(
        module.decode, key=decode_key, algorithms=[case.alg], audience=AUDIENCE, issuer=ISSUER
    )


def pyjwt_adapter(module: Any, fx: Fixtures, case: Case) -> Union[Runner, str]:
    if case.alg != "HS256" and not fx.cryptography:
        return "needs `cryptography` for asymmetric keys (not installed; turbojwt does not)"
    return pyjwt_style(module, fx, case)


def ryjwt_adapter(module: Any, fx: Fixtures, case: Case) -> Union[Runner, str]:
    """ryjwt: key objects carry the algorithms and the expected audience and issuer."""
    checks = {"algorithms": [case.alg], "audience": AUDIENCE, "issuer": ISSUER}
    if case.key_form == "secret":
        key = module.SecretKey(SECRET, **checks)
        secret_runner: Runner = (
            partial(key.encode, fx.claims) if case.kind == "encode" else key.decode
        )
        return secret_runner
    pair = fx.key_pairs[case.alg]
    if case.kind == "encode":
        if case.key_form == "pem":  # the PEM is parsed on every call, as the case says
            return lambda: module.PrivateKey(pair.private_pem, algorithms=[case.alg]).encode(
                fx.claims
            )
        return partial(module.PrivateKey(pair.private_pem, algorithms=[case.alg]).encode, fx.claims)
    if case.key_form == "pem":
        return lambda token: module.PublicKey(pair.public_pem, **checks).decode(token)
    decode: Runner = module.PublicKey(pair.public_pem, **checks).decode  # its own key object
    return decode


def oxyjwt_adapter(module: Any, fx: Fixtures, case: Case) -> Union[Runner, str]:
    """oxyjwt: PyJWT-like, but asymmetric keys must be its DecodingKey/EncodingKey objects."""
    if case.key_form == "secret":
        return pyjwt_style(module, fx, case)
    pair = fx.key_pairs[case.alg]
    loader = {"RS256": "rsa", "ES256": "ec", "EdDSA": "ed"}[case.alg]
    from_public = getattr(module.DecodingKey, f"from_{loader}_pem")
    from_private = getattr(module.EncodingKey, f"from_{loader}_pem")
    if case.kind == "encode":
        if case.key_form == "pem":
            return lambda: module.encode(
                fx.claims, from_private(pair.private_pem), algorithm=case.alg
            )
        return partial(module.encode, fx.claims, from_private(pair.private_pem), algorithm=case.alg)
    checks = {"algorithms": [case.alg], "audience": AUDIENCE, "issuer": ISSUER}
    if case.key_form == "pem":
        return lambda token: module.decode(token, from_public(pair.public_pem), **checks)
    return partial(module.decode, key=from_public(pair.public_pem), **checks)


def clasp_adapter(module: Any, fx: Fixtures, case: Case) -> Union[Runner, str]:
    """clasp-jwt verifies only, and has no expected-audience option."""
    if case.kind == "encode":
        return "API not supported: clasp-jwt verifies tokens but cannot sign them"
    return (
        "API not supported: clasp-jwt cannot be given an expected audience, so it rejects "
        "these tokens, which carry `aud`"
    )


@dataclass(frozen=True)
class Peer:
    label: str
    modules: tuple[str, ...]  # import names, first found wins
    distribution: str
    adapter: Adapter


PEERS = (
    Peer("ryjwt", ("ryjwt",), "ryjwt", ryjwt_adapter),
    Peer("oxyjwt", ("oxyjwt",), "oxyjwt", oxyjwt_adapter),
    Peer("webtoken", ("webtoken",), "webtoken", pyjwt_style),
    Peer("pyjwt-rs", ("jwt_rs",), "pyjwt-rs", pyjwt_style),
    Peer("clasp-jwt", ("clasp_jwt", "clasp"), "clasp-jwt", clasp_adapter),
)


# ---------------------------------------------------------------------------
# the columns
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str  # "turbojwt", "PyJWT" or a peer's name
    module: Optional[ModuleType]
    absent_because: str = ""
    adapter: Adapter = pyjwt_style
    distribution: str = ""

    @property
    def version(self) -> str:
        # turbojwt's own release, not the PyJWT version it matches (its `__version__`).
        version = getattr(self.module, "__turbojwt_version__", None)
        if version is None and self.distribution:
            try:
                version = importlib.metadata.version(self.distribution)
            except importlib.metadata.PackageNotFoundError:
                version = None
        return str(version or getattr(self.module, "__version__", "?"))

    @property
    def module_name(self) -> str:
        return self.module.__name__ if self.module else ""


def load_target() -> Column:
    name = os.environ.get(TARGET_ENV, "turbojwt")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise SystemExit(f"cannot import {name}: {exc}") from None
    if not all(callable(getattr(module, function, None)) for function in ("encode", "decode")):
        raise SystemExit(f"{name} has no encode()/decode(): is the extension built?")
    return Column("turbojwt", module, adapter=pyjwt_style)


def load_pyjwt() -> Column:
    try:
        import jwt
    except ImportError:
        return Column("PyJWT", None, "PyJWT is not installed")
    decode_module = getattr(getattr(jwt, "decode", None), "__module__", "") or ""
    if jwt.__name__ != "jwt" or not decode_module.startswith("jwt."):
        return Column("PyJWT", None, "`jwt` is patched to turbojwt, so PyJWT cannot be timed")
    return Column("PyJWT", jwt, adapter=pyjwt_adapter, distribution="PyJWT")


def load_peer(peer: Peer) -> Column:
    for name in peer.modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        except Exception as exc:  # installed but broken
            return Column(peer.label, None, f"fails to import ({type(exc).__name__}: {exc})")
        return Column(peer.label, module, adapter=peer.adapter, distribution=peer.distribution)
    return Column(peer.label, None, "not installed")


# ---------------------------------------------------------------------------
# one cell: check once, calibrate, sample
# ---------------------------------------------------------------------------


@dataclass
class Cell:
    case: Case
    column: Column
    operation: Optional[Callable[[], object]] = None
    ops_per_sample: int = 0
    samples_ns: list[int] = field(default_factory=list)
    note: str = ""
    failed: bool = False
    cache_hits: int = 0  # turbojwt's verified-token cache, while this cell was timed
    cache_lookups: int = 0

    @property
    def median_us(self) -> Optional[float]:
        if not self.samples_ns:
            return None
        return statistics.median(self.samples_ns) / self.ops_per_sample / 1e3

    @property
    def spread(self) -> Optional[float]:
        """(max - min) / median of the rounds: how far apart the samples were."""
        if len(self.samples_ns) < 2:
            return None
        median = statistics.median(self.samples_ns)
        return (max(self.samples_ns) - min(self.samples_ns)) / median if median else None


def _is_unsupported(exc: BaseException) -> bool:
    # PyJWT's API raises NotImplementedError for an unknown algorithm on encode
    # and InvalidAlgorithmError chained from it on decode.
    return isinstance(exc, NotImplementedError) or isinstance(exc.__cause__, NotImplementedError)


def prepare(cell: Cell, fx: Fixtures) -> None:
    """Build the cell's operation and run it once; on any problem leave a note instead."""
    module, case = cell.column.module, cell.case
    if module is None:
        return
    try:
        runner = cell.column.adapter(module, fx, case)
    except Exception as exc:  # the library lacks something the adapter uses
        cell.note = f"API not supported ({type(exc).__name__}: {exc})"
        return
    if isinstance(runner, str):
        cell.note = runner
        return
    if case.kind == "encode":
        operation: Callable[[], object] = runner
        expected = fx.claims
    elif case.tokens == "pool":
        operation = _cycling(runner, fx.pools[case.alg])
        expected = fx.pool_claims(0)
    else:
        operation = partial(runner, fx.tokens[case.alg])
        expected = fx.claims
    try:
        result = operation()
    except Exception as exc:
        if _is_unsupported(exc):
            cell.note = f"{case.alg} not supported ({type(exc).__name__}: {exc})"
        else:
            cell.note, cell.failed = f"raised {type(exc).__name__}: {exc}", True
        return
    try:
        claims = fx.verified_claims(case.alg, result) if case.kind == "encode" else result
    except Exception as exc:
        claims = f"unverifiable token ({exc})"
    if claims != expected:
        cell.note, cell.failed = f"wrong result: {claims!r:.100}", True
        return
    cell.operation = operation


def _cycling(runner: Runner, tokens: list[str]) -> Callable[[], object]:
    """A call on the next token of the pool, round and round (starting with the first)."""
    next_token = itertools.cycle(tokens).__next__

    def operation() -> object:
        return runner(next_token())

    return operation


def time_loop(operation: Callable[[], object], count: int) -> int:
    """Nanoseconds for `count` calls, with the garbage collector off (as timeit does)."""
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        calls = itertools.repeat(None, count)
        start = time.perf_counter_ns()
        for _ in calls:
            operation()
        return time.perf_counter_ns() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(operation: Callable[[], object], sample_ns: float) -> int:
    """Calls per sample so that one sample lasts about `sample_ns`."""
    count = 1
    while True:
        elapsed = max(time_loop(operation, count), 1)
        if elapsed * 5 >= sample_ns:
            return max(1, round(count * sample_ns / elapsed))
        count *= 2 if elapsed * 50 >= sample_ns else 10


# ---------------------------------------------------------------------------
# progress and report
# ---------------------------------------------------------------------------


class Progress:
    """A bar redrawn in place on a terminal; one plain line per phase otherwise."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = max(total, 1), 0, stream
        self.interactive = stream.isatty()
        self.phase = ""

    def start(self, phase: str) -> None:
        self.phase = phase
        if self.interactive:
            self._draw()
        else:
            print(f"bench: [{self._percent():3d}%] {phase}", file=self.stream, flush=True)

    def advance(self) -> None:
        self.done += 1
        if self.interactive:
            self._draw()

    def finish(self, message: str) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
        print(f"bench: {message}", file=self.stream, flush=True)

    def _percent(self) -> int:
        return min(100, 100 * self.done // self.total)

    def _draw(self) -> None:
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r\033[K[{bar}] {self._percent():3d}% {self.phase}")
        self.stream.flush()


def _format_us(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _format_cell(cell: Cell) -> str:
    if cell.failed:
        return "error"
    if cell.note:
        return "n/a"
    noisy = (cell.spread or 0.0) > NOISY_SPREAD
    return _format_us(cell.median_us) + ("*" if noisy else "")


def _speedup(target: Cell, pyjwt: Cell) -> Optional[float]:
    mine, theirs = target.median_us, pyjwt.median_us
    return None if mine is None or theirs is None else theirs / mine


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _micro(stream: TextIO) -> str:
    # "µs" unless the output encoding cannot carry it
    try:
        "µ".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "u"
    return "µ"


# ---------------------------------------------------------------------------
# what the report says about the run itself
# ---------------------------------------------------------------------------


def load_average() -> Optional[tuple[float, float, float]]:
    try:
        return os.getloadavg()
    except (AttributeError, OSError):  # not on Windows
        return None


def busy_warning(loads: Sequence[Optional[tuple[float, float, float]]], cpus: int) -> Optional[str]:
    """A warning when a 1-minute load average exceeds the CPU count less BUSY_MARGIN."""
    threshold = cpus - BUSY_MARGIN
    high = [load[0] for load in loads if load is not None and load[0] > threshold]
    if not high:
        return None
    return (
        f"the machine is busy: 1-minute load average {max(high):.2f} is above {threshold:g} "
        f"({cpus} CPUs less {BUSY_MARGIN:g}); timings are noisy, rerun on an idle machine"
    )


def _format_load(load: Optional[tuple[float, float, float]]) -> str:
    return "unavailable" if load is None else " ".join(f"{value:.2f}" for value in load)


def _cache_info_function(module: Optional[ModuleType]) -> Optional[Callable[[], Any]]:
    """turbojwt's `token_cache_info`, when the extension has a verified-token cache."""
    native = getattr(module, "_turbojwt", None)
    function = getattr(native, "token_cache_info", None)
    return function if callable(function) else None


def _cache_clear_function(module: Optional[ModuleType]) -> Optional[Callable[[], Any]]:
    """turbojwt's `clear_token_cache`, which also forgets the tokens seen once."""
    function = getattr(getattr(module, "_turbojwt", None), "clear_token_cache", None)
    return function if callable(function) else None


def _cache_counts(info: Callable[[], Any]) -> tuple[int, int]:
    stats = info()
    return int(stats.get("hits", 0)), int(stats.get("misses", 0))


def interpreter() -> str:
    gil = getattr(sys, "_is_gil_enabled", None)
    threading = "" if gil is None else f", GIL {'on' if gil() else 'off'}"
    return (
        f"{platform.python_implementation()} {platform.python_version()} "
        f"({sys.executable}{threading})"
    )


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def _format_spread(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.0%}"


def _cache_notes(rows: list[list[Cell]]) -> list[str]:
    notes = []
    for kind, label in (("pool", "first-sight"), ("one", "repeated")):
        cells = [
            row[0]
            for row in rows
            if row[0].case.kind == "decode" and row[0].case.tokens == kind and row[0].cache_lookups
        ]
        if cells:
            hits = sum(cell.cache_hits for cell in cells)
            lookups = sum(cell.cache_lookups for cell in cells)
            notes.append(
                f"turbojwt's verified-token cache answered {hits:,} of {lookups:,} {label} "
                f"decodes ({hits / lookups:.0%})"
            )
    return notes


def _peer_summary(column: Column, cells: list[Cell]) -> str:
    if column.module is None:
        return f"- {column.label}: {column.absent_because}"
    ran = [cell for cell in cells if cell.samples_ns]
    line = f"- {column.label} {column.version}: ran {len(ran)} of {len(cells)} cases"
    skipped = [f"{cell.case.title}: {cell.note}" for cell in cells if cell.note]
    return line + "".join(f"\n    - {item}" for item in skipped)


def render(
    rows: list[list[Cell]],
    columns: list[Column],
    settings: Settings,
    notes: list[str],
    loads: tuple[Optional[tuple[float, float, float]], Optional[tuple[float, float, float]]],
    out: TextIO,
) -> str:
    target, pyjwt = columns[0], columns[1]
    shown = [0, 1] + [i for i in range(2, len(columns)) if columns[i].module is not None]
    us = f"{_micro(out)}s/op"
    header = [
        "case",
        f"turbojwt {us}",
        f"PyJWT {us}",
        "speed-up (x)",
        *(f"{columns[i].label} {us}" for i in shown[2:]),
    ]
    table = []
    for row in rows:
        speedup = _speedup(row[0], row[1])
        table.append(
            [
                row[0].case.title,
                _format_cell(row[0]),
                _format_cell(row[1]),
                "-" if speedup is None else f"{speedup:.2f}" if speedup < 10 else f"{speedup:.1f}",
                *(_format_cell(row[i]) for i in shown[2:]),
            ]
        )
    versions = f"turbojwt {target.version}"
    if target.module_name != "turbojwt":
        versions += f" (module `{target.module_name}` via {TARGET_ENV})"
    else:
        versions += f" ({_turbojwt.__build__} build)"
    versions += f" vs PyJWT {pyjwt.version}" if pyjwt.module else ""
    versions += "".join(f", {columns[i].label} {columns[i].version}" for i in shown[2:])
    timed = [cell for row in rows for cell in row if cell.spread is not None]
    spreads = sorted(timed, key=lambda cell: cell.spread or 0.0)
    lines = [
        f"{versions}; {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        f"interpreter: {interpreter()}",
        f"load average (1, 5, 15 min): {_format_load(loads[0])} at start, "
        f"{_format_load(loads[1])} at end",
        f"median of {settings.rounds} interleaved rounds of about {settings.sample_ms:g} ms "
        "per cell, GC off while timing; speed-up = PyJWT time / turbojwt time",
        f"first sight = each call decodes the next of {POOL_SIZE:,} distinct tokens, at most "
        f"{POOL_SIZE:,} calls per sample, turbojwt's verified-token cache emptied before each; "
        "repeated = one token decoded again and again",
    ]
    if spreads:
        worst = spreads[-1]
        lines.append(
            "spread of the rounds, (max - min) / median per cell: median "
            f"{_format_spread(statistics.median(cell.spread or 0.0 for cell in spreads))}, "
            f"worst {_format_spread(worst.spread)} ({worst.case.title}, {worst.column.label}); "
            f"* marks cells above {NOISY_SPREAD:.0%}"
        )
    lines += ["", _markdown_table(header, table)]
    peers = columns[2:]
    if peers:
        lines += ["", "other libraries:"]
        lines += [
            _peer_summary(column, [row[i] for row in rows]) for i, column in enumerate(peers, 2)
        ]
    bullets = [f"- {note}" for note in notes]
    if pyjwt.module is None:
        bullets.append(f"- PyJWT column: {pyjwt.absent_because}")
    bullets += [
        f"- {cell.case.title}, {cell.column.label}: {cell.note}"
        for row in rows
        for cell in row[:2]
        if cell.note
    ]
    bullets += [f"- {note}" for note in _cache_notes(rows)]
    if bullets:
        lines += ["", "notes:", *bullets]
    return "\n".join(lines)


def _cell_json(cell: Cell) -> dict[str, Any]:
    data: dict[str, Any] = {
        "median_us": cell.median_us,
        "samples_us": [ns / cell.ops_per_sample / 1e3 for ns in cell.samples_ns],
        "ops_per_sample": cell.ops_per_sample,
        "spread": cell.spread,
        "note": cell.note,
    }
    if cell.cache_lookups:
        data["token_cache"] = {"hits": cell.cache_hits, "lookups": cell.cache_lookups}
    return data


def to_json(
    rows: list[list[Cell]],
    columns: list[Column],
    settings: Settings,
    notes: list[str],
    loads: tuple[Optional[tuple[float, float, float]], Optional[tuple[float, float, float]]],
) -> dict[str, Any]:
    target, pyjwt, peers = columns[0], columns[1], columns[2:]
    return {
        "turbojwt": {
            "module": target.module_name,
            "version": target.version,
            "build": _turbojwt.__build__,
        },
        "pyjwt": {"version": pyjwt.version} if pyjwt.module else None,
        "peers": [
            {
                "label": column.label,
                "version": column.version if column.module else None,
                "absent_because": column.absent_because,
            }
            for column in peers
        ],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": {"start": loads[0], "end": loads[1]},
        "settings": {
            "rounds": settings.rounds,
            "sample_ms": settings.sample_ms,
            "gc": "off",
            "pool_size": POOL_SIZE,
        },
        "notes": notes,
        "cases": [
            {
                "case": row[0].case.name,
                "title": row[0].case.title,
                "first_sight": row[0].case.tokens == "pool" and row[0].case.kind == "decode",
                "turbojwt": _cell_json(row[0]),
                "pyjwt": _cell_json(row[1]),
                "speedup": _speedup(row[0], row[1]),
                "peers": {cell.column.label: _cell_json(cell) for cell in row[2:]},
            }
            for row in rows
        ],
    }


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer, shorter samples, no RS256 first-sight rows (about 10 s, not a minute)",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        type=argparse.FileType("w", encoding="utf-8"),
        help="also write every sample and the settings to FILE as JSON",
    )


def select_cases(fx: Fixtures, settings: Settings) -> tuple[list[Case], list[str]]:
    """The cases this run can time, and notes on the ones it leaves out."""
    notes = []
    if not fx.cryptography:
        notes.append(NO_CRYPTOGRAPHY)
    unsigned = sorted({case.alg for case in CASES} - set(fx.tokens))
    if unsigned:
        notes.append(f"{', '.join(unsigned)} cases left out: no library here can sign them")
    cases = [
        case
        for case in CASES
        if case.alg in fx.tokens
        and (case.key_form != "object" or fx.cryptography)
        and not (settings.quick and case.alg == "RS256" and case.tokens == "pool")
    ]
    if settings.quick and "RS256" in fx.tokens:
        notes.append(QUICK_SKIPS_RS256_POOL)
    return cases, notes


def run(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else FULL
    target, pyjwt = load_target(), load_pyjwt()
    columns = [target, pyjwt, *(load_peer(peer) for peer in PEERS)]
    cpus = os.cpu_count() or 1
    load_start = load_average()
    warning = busy_warning([load_start], cpus)
    if warning:
        print(f"bench: WARNING: {warning}", file=sys.stderr, flush=True)
    started = time.perf_counter()

    fixtures = Fixtures.build(minter=target.module)
    cases, notes = select_cases(fixtures, settings)
    rows = [[Cell(case, column) for column in columns] for case in cases]
    cells = [cell for row in rows for cell in row]
    progress = Progress(len(cells) * (1 + settings.rounds), sys.stderr)

    pool_algs = sorted(
        {case.alg for case in cases if case.kind == "decode" and case.tokens == "pool"}
    )
    progress.start(f"minting {POOL_SIZE:,} first-sight tokens for {', '.join(pool_algs)}")
    for alg in pool_algs:
        fixtures.mint_pool(alg)

    progress.start("checking and calibrating")
    for cell in cells:
        prepare(cell, fixtures)
        if cell.operation is not None:
            cell.ops_per_sample = calibrate(cell.operation, settings.sample_ms * 1e6)
            if cell.case.tokens == POOL and cell.case.kind == "decode":
                # no token twice in one sample (shorter samples for the fastest cells)
                cell.ops_per_sample = min(cell.ops_per_sample, POOL_SIZE)
        progress.advance()

    cache_info = _cache_info_function(target.module)
    # Emptied before each first-sight sample of turbojwt: within a sample every token is
    # new to the cache, as it would be without the cycling.
    cache_clear = _cache_clear_function(target.module)
    timed = [cell for cell in cells if cell.operation is not None]
    for round_number in range(settings.rounds):
        progress.start(f"round {round_number + 1}/{settings.rounds}")
        # alternate the order so no library always runs right after another
        for cell in timed if round_number % 2 == 0 else reversed(timed):
            assert cell.operation is not None
            counted = cache_info is not None and cell.column is target
            if cache_clear is not None and cell.column is target and cell.case.tokens == POOL:
                cache_clear()
            before = _cache_counts(cache_info) if counted and cache_info else (0, 0)
            cell.samples_ns.append(time_loop(cell.operation, cell.ops_per_sample))
            if counted and cache_info:
                hits, misses = _cache_counts(cache_info)
                cell.cache_hits += hits - before[0]
                cell.cache_lookups += hits - before[0] + misses - before[1]
            progress.advance()
        progress.done += len(cells) - len(timed)  # untimed cells count as done
    progress.finish(f"done in {time.perf_counter() - started:.1f} s")

    loads = (load_start, load_average())
    warning = busy_warning(loads, cpus)
    if warning:
        notes.insert(0, f"WARNING: {warning}")
    noisy = [cell for cell in timed if (cell.spread or 0.0) > NOISY_SPREAD]
    if noisy:
        notes.append(
            f"{len(noisy)} cell(s) spread more than {NOISY_SPREAD:.0%} between rounds (marked *)"
        )
    print(render(rows, columns, settings, notes, loads, sys.stdout))
    if args.json:  # opened by argparse, so a bad path fails before the timing starts
        with args.json as file:
            json.dump(to_json(rows, columns, settings, notes, loads), file, indent=1)
            file.write("\n")
    ours = [cell for row in rows for cell in row[:2]]
    return 1 if any(cell.failed for cell in ours) else 0
