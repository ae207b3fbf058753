"""`python -m turbojwt bench`: turbojwt against PyJWT, side by side in one process.

Standard library only (plus `cryptography` for the asymmetric cases when it is
installed), and imported only by `turbojwt.__main__`, never by `import turbojwt`.

Method: every (case, library) cell is checked once, then calibrated so that one
sample lasts about `sample_ms`; the samples are taken in interleaved rounds (each
round times every cell once, in alternating order, so machine noise hits both
libraries alike) with the garbage collector off, and each cell reports its median.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hmac
import importlib
import itertools
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import Any, Callable, TextIO

TARGET_ENV = "TURBOJWT_BENCH_TARGET"

DESCRIPTION = "Time turbojwt against PyJWT on common JWT operations and print a table."
EPILOG = f"""\
cases: HS256 decode (checking exp, aud and iss) and encode, then RS256, ES256
and EdDSA decode and RS256 encode when turbojwt supports them and the
`cryptography` package is installed. The PyJWT column needs the real PyJWT
importable as `jwt` (not the module patched to turbojwt).

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


FULL = Settings(rounds=15, sample_ms=100)  # about 25 s for all cases
QUICK = Settings(rounds=9, sample_ms=25)  # about 5 s


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    alg: str
    kind: str  # "decode" or "encode"
    key_form: str  # "secret", "pem" (PEM text passed every call) or "object" (pre-loaded key)


NO_CRYPTOGRAPHY = (
    "RS256, ES256 and EdDSA cases skipped: the `cryptography` package is not installed"
)

CASES = (
    Case("hs256_decode", "HS256 decode (exp/aud/iss)", "HS256", "decode", "secret"),
    Case("hs256_encode", "HS256 encode", "HS256", "encode", "secret"),
    Case("rs256_decode_pem", "RS256 decode, PEM str per call", "RS256", "decode", "pem"),
    Case("rs256_decode_obj", "RS256 decode, key object", "RS256", "decode", "object"),
    Case("rs256_encode_pem", "RS256 encode, PEM str per call", "RS256", "encode", "pem"),
    Case("es256_decode_pem", "ES256 decode, PEM str per call", "ES256", "decode", "pem"),
    Case("eddsa_decode_pem", "EdDSA decode, PEM str per call", "EdDSA", "decode", "pem"),
)


# ---------------------------------------------------------------------------
# fixtures: claims, keys and tokens built here, independent of both libraries
# ---------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class KeyPair:
    private: Any  # cryptography private key
    public: Any  # cryptography public key
    private_pem: str
    public_pem: str


@dataclass
class Fixtures:
    claims: dict[str, Any]
    key_pairs: dict[str, KeyPair]  # empty without cryptography
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls) -> Fixtures:
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
        fixtures = cls(claims, _generate_key_pairs())
        for alg in ("HS256", *fixtures.key_pairs):
            fixtures.tokens[alg] = fixtures.sign(alg, claims)
        return fixtures

    def sign(self, alg: str, claims: dict[str, Any]) -> str:
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
        elif alg == "RS256":
            _verify_rs256(self.key_pairs[alg].public, signature, signing_input.encode())
        else:
            raise ValueError(f"no {alg} verifier here")
        return json.loads(_b64url_decode(signing_input.partition(".")[2]))


def _generate_key_pairs() -> dict[str, KeyPair]:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    except ImportError:
        return {}

    def pair(private: Any) -> KeyPair:
        public = private.public_key()
        private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return KeyPair(private, public, private_pem.decode(), public_pem.decode())

    return {
        "RS256": pair(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": pair(ec.generate_private_key(ec.SECP256R1())),
        "EdDSA": pair(ed25519.Ed25519PrivateKey.generate()),
    }


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
# the two columns
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str  # "turbojwt" or "PyJWT"
    module: ModuleType | None
    absent_because: str = ""

    @property
    def version(self) -> str:
        # turbojwt's own release, not the PyJWT version it matches (its `__version__`).
        version = getattr(self.module, "__turbojwt_version__", None)
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
    return Column("turbojwt", module)


def load_pyjwt() -> Column:
    try:
        import jwt
    except ImportError:
        return Column("PyJWT", None, "PyJWT is not installed")
    decode_module = getattr(getattr(jwt, "decode", None), "__module__", "") or ""
    if jwt.__name__ != "jwt" or not decode_module.startswith("jwt."):
        return Column("PyJWT", None, "`jwt` is patched to turbojwt, so PyJWT cannot be timed")
    return Column("PyJWT", jwt)


# ---------------------------------------------------------------------------
# one cell: check once, calibrate, sample
# ---------------------------------------------------------------------------


@dataclass
class Cell:
    case: Case
    column: Column
    operation: Callable[[], object] | None = None
    ops_per_sample: int = 0
    samples_ns: list[int] = field(default_factory=list)
    note: str = ""
    failed: bool = False

    @property
    def median_us(self) -> float | None:
        if not self.samples_ns:
            return None
        return statistics.median(self.samples_ns) / self.ops_per_sample / 1e3


def _operation(module: ModuleType, case: Case, fx: Fixtures) -> Callable[[], object]:
    if case.key_form == "secret":
        decode_key: Any = SECRET
        encode_key: Any = SECRET
    else:
        pair = fx.key_pairs[case.alg]
        decode_key = pair.public_pem if case.key_form == "pem" else pair.public
        encode_key = pair.private_pem if case.key_form == "pem" else pair.private
    if case.kind == "encode":
        return partial(module.encode, fx.claims, encode_key, algorithm=case.alg)
    return partial(
        module.decode,
        fx.tokens[case.alg],
        decode_key,
        algorithms=[case.alg],
        audience=AUDIENCE,
        issuer=ISSUER,
    )


def _is_unsupported(exc: BaseException) -> bool:
    # PyJWT's API raises NotImplementedError for an unknown algorithm on encode
    # and InvalidAlgorithmError chained from it on decode.
    return isinstance(exc, NotImplementedError) or isinstance(exc.__cause__, NotImplementedError)


def prepare(cell: Cell, fx: Fixtures) -> None:
    """Build the cell's operation and run it once; on any problem leave a note instead."""
    module, case = cell.column.module, cell.case
    if module is None:
        return
    operation = _operation(module, case, fx)
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
    if claims != fx.claims:
        cell.note, cell.failed = f"wrong result: {claims!r:.100}", True
        return
    cell.operation = operation


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


def _format_us(value: float | None) -> str:
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
    return _format_us(cell.median_us)


def _speedup(target: Cell, pyjwt: Cell) -> float | None:
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


def render(
    pairs: list[tuple[Cell, Cell]],
    target: Column,
    pyjwt: Column,
    settings: Settings,
    notes: list[str],
    out: TextIO,
) -> str:
    us = f"{_micro(out)}s/op"
    header = ["case", f"turbojwt {us}", f"PyJWT {us}", "speed-up (x)"]
    rows = []
    for mine, theirs in pairs:
        speedup = _speedup(mine, theirs)
        rows.append(
            [
                mine.case.title,
                _format_cell(mine),
                _format_cell(theirs),
                "-" if speedup is None else f"{speedup:.2f}" if speedup < 10 else f"{speedup:.1f}",
            ]
        )
    versions = f"turbojwt {target.version}"
    if target.module_name != "turbojwt":
        versions += f" (module `{target.module_name}` via {TARGET_ENV})"
    versions += f" vs PyJWT {pyjwt.version}" if pyjwt.module else ""
    lines = [
        f"{versions}; {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        f"median of {settings.rounds} interleaved rounds of about {settings.sample_ms:g} ms "
        "per cell, GC off while timing; speed-up = PyJWT time / turbojwt time",
        "",
        _markdown_table(header, rows),
    ]
    bullets = [f"- {note}" for note in notes]
    if pyjwt.module is None:
        bullets.append(f"- PyJWT column: {pyjwt.absent_because}")
    bullets += [
        f"- {cell.case.title}, {cell.column.label}: {cell.note}"
        for pair in pairs
        for cell in pair
        if cell.note
    ]
    if bullets:
        lines += ["", "notes:", *bullets]
    return "\n".join(lines)


def _cell_json(cell: Cell) -> dict[str, Any]:
    return {
        "median_us": cell.median_us,
        "samples_us": [ns / cell.ops_per_sample / 1e3 for ns in cell.samples_ns],
        "ops_per_sample": cell.ops_per_sample,
        "note": cell.note,
    }


def to_json(
    pairs: list[tuple[Cell, Cell]], target: Column, pyjwt: Column, settings: Settings
) -> dict[str, Any]:
    return {
        "turbojwt": {"module": target.module_name, "version": target.version},
        "pyjwt": {"version": pyjwt.version} if pyjwt.module else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "settings": {"rounds": settings.rounds, "sample_ms": settings.sample_ms, "gc": "off"},
        "cases": [
            {
                "case": mine.case.name,
                "title": mine.case.title,
                "turbojwt": _cell_json(mine),
                "pyjwt": _cell_json(theirs),
                "speedup": _speedup(mine, theirs),
            }
            for mine, theirs in pairs
        ],
    }


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="fewer, shorter samples (under 10 s instead of ~25 s)"
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        type=argparse.FileType("w", encoding="utf-8"),
        help="also write every sample and the settings to FILE as JSON",
    )


def run(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else FULL
    target, pyjwt = load_target(), load_pyjwt()
    started = time.perf_counter()

    fixtures = Fixtures.build()
    cases = [case for case in CASES if case.alg == "HS256" or case.alg in fixtures.key_pairs]
    notes = [] if len(cases) == len(CASES) else [NO_CRYPTOGRAPHY]
    pairs = [(Cell(case, target), Cell(case, pyjwt)) for case in cases]
    cells = [cell for pair in pairs for cell in pair]
    progress = Progress(len(cells) * (1 + settings.rounds), sys.stderr)

    progress.start("checking and calibrating")
    for cell in cells:
        prepare(cell, fixtures)
        if cell.operation is not None:
            cell.ops_per_sample = calibrate(cell.operation, settings.sample_ms * 1e6)
        progress.advance()

    timed = [cell for cell in cells if cell.operation is not None]
    for round_number in range(settings.rounds):
        progress.start(f"round {round_number + 1}/{settings.rounds}")
        # alternate the order so neither library always runs right after the other
        for cell in timed if round_number % 2 == 0 else reversed(timed):
            assert cell.operation is not None
            cell.samples_ns.append(time_loop(cell.operation, cell.ops_per_sample))
            progress.advance()
        progress.done += len(cells) - len(timed)  # untimed cells count as done
    progress.finish(f"done in {time.perf_counter() - started:.1f} s")

    print(render(pairs, target, pyjwt, settings, notes, sys.stdout))
    if args.json:  # opened by argparse, so a bad path fails before the timing starts
        with args.json as file:
            json.dump(to_json(pairs, target, pyjwt, settings), file, indent=1)
            file.write("\n")
    return 1 if any(cell.failed for cell in cells) else 0
