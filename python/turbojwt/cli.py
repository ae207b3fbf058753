"""The ``turbojwt`` command (also ``python -m turbojwt``).

Subcommands: ``decode``, ``verify``, ``encode``, ``jwks``, ``bench`` and ``help``.
Standard library only. Exit status: 0 success (a valid token), 1 an invalid token or a
failed fetch, 2 a usage error.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, Optional, TextIO
from urllib.parse import urlparse

import turbojwt
from turbojwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWTError
from turbojwt.types import Options

__all__ = ["build_parser", "jwk_thumbprint", "main"]

PROG = "turbojwt"
TIME_CLAIMS = ("exp", "nbf", "iat")
HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"]
DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DISCOVERY_BYTES = 1 << 20
HTTP_TIMEOUT = 30.0

# RFC 7638 section 3.2: the members that make up the thumbprint of each key type.
THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}

_DURATION = re.compile(r"([+-]?)(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class UsageError(Exception):
    """A bad combination of arguments: reported like argparse's own errors (exit status 2)."""


class FetchError(Exception):
    """Keys or metadata could not be fetched (exit status 1)."""


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


class Inputs:
    """Reads arguments that may be ``-``; standard input can be read only once."""

    def __init__(self, stdin: TextIO) -> None:
        self.stdin = stdin
        self.stdin_used_by = ""

    def read_stdin(self, what: str) -> str:
        if self.stdin_used_by:
            raise UsageError(f"{what} and {self.stdin_used_by} cannot both be '-' (standard input)")
        self.stdin_used_by = what
        return self.stdin.read()

    def text(self, value: str, what: str) -> str:
        """``value`` itself, or standard input when it is ``-``."""
        return self.read_stdin(what) if value == "-" else value

    def file(self, path: str, what: str) -> str:
        """The content of file ``path``, or standard input when it is ``-``."""
        if path == "-":
            return self.read_stdin(what)
        try:
            with open(path, encoding="utf-8") as file:
                return file.read()
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read {what} {path!r}: {error}") from None

    def token(self, value: str) -> str:
        return self.text(value, "the token").strip()


def _parse_value(text: str) -> Any:
    """A claim value: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_claim_arguments(pairs: Sequence[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise UsageError(f"claim {pair!r} is not NAME=VALUE")
        claims[name] = _parse_value(value)
    return claims


def parse_time(text: str, now: int, option: str) -> int:
    """``+15m``, ``-30s``, ``2h`` (relative to now) or ``1767225600`` (a NumericDate)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise UsageError(
            f"{option} {text!r}: expected a duration like +15m, 30s, 2h, 1d (relative to now) "
            "or an absolute NumericDate in seconds"
        )
    sign, digits, unit = match.groups()
    if not sign and not unit:
        return int(digits)
    seconds = int(digits) * _UNIT_SECONDS[unit]
    return now - seconds if sign == "-" else now + seconds


# ---------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------


@dataclass
class VerifyKey:
    """What ``decode`` needs besides the token: the key and the algorithms it allows."""

    key: Any  # str, PyJWK or PyJWKSet
    algorithms: Optional[list[str]]  # None: the JWK's own algorithm
    issuer: Optional[str] = None  # from OIDC discovery, when --iss is not given


def add_key_arguments(parser: argparse.ArgumentParser, *, remote: bool) -> None:
    group = parser.add_argument_group("key (one of)")
    sources = group.add_mutually_exclusive_group()
    sources.add_argument("--secret", metavar="TEXT", help="an HMAC secret, given literally")
    sources.add_argument(
        "--key-file",
        metavar="PATH",
        help="a file holding a PEM or OpenSSH key, a JWK or JWK Set (JSON) or an HMAC "
        "secret (one trailing newline removed); '-' reads standard input",
    )
    sources.add_argument(
        "--key-env",
        metavar="NAME",
        help="an environment variable holding the key, in any form --key-file accepts",
    )
    if remote:
        sources.add_argument(
            "--jwks-url", metavar="URL", help="fetch the key named by the token's kid from a JWKS"
        )
        sources.add_argument(
            "--issuer-discovery",
            metavar="ISSUER",
            help="OpenID Connect discovery: read ISSUER/.well-known/openid-configuration, "
            "check that its issuer equals ISSUER exactly and use its jwks_uri; the token's "
            "iss must then be ISSUER unless --iss says otherwise",
        )


def _key_text(args: argparse.Namespace, inputs: Inputs) -> Optional[str]:
    """The key given by --secret, --key-file or --key-env, as text; None if none was."""
    if args.secret is not None:
        return str(args.secret)
    if args.key_file is not None:
        return _strip_secret(inputs.file(args.key_file, "the key file"))
    if args.key_env is not None:
        value = os.environ.get(args.key_env)
        if value is None:
            raise UsageError(f"environment variable {args.key_env} is not set")
        return _strip_secret(value)
    return None


def _strip_secret(text: str) -> str:
    # A secret saved with `echo` ends with a newline that is not part of it; PEM keeps its own.
    if _looks_like_pem_or_ssh(text):
        return text
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def _looks_like_pem_or_ssh(text: str) -> bool:
    head = text.lstrip()
    return head.startswith("-----BEGIN") or head.startswith(("ssh-", "ecdsa-sha2-"))


def _jwk_from_text(text: str) -> Any:
    """A PyJWK or PyJWKSet when ``text`` is a JSON object, else None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise UsageError(f"the key looks like JSON but does not parse: {error}") from None
    if not isinstance(data, dict):
        return None
    if "keys" in data:
        return turbojwt.PyJWKSet.from_dict(data)
    return turbojwt.PyJWK(data)


def local_verify_key(text: str, algorithms: Optional[list[str]]) -> VerifyKey:
    jwk = _jwk_from_text(text)
    if jwk is not None:
        return VerifyKey(jwk, algorithms)
    if algorithms:
        return VerifyKey(text, algorithms)
    if _looks_like_pem_or_ssh(text):
        raise UsageError(
            "--alg is required with a PEM or OpenSSH key (the token must not choose its "
            "own algorithm)"
        )
    return VerifyKey(text, list(HMAC_ALGORITHMS))


def _fetch_json(url: str, what: str) -> Any:
    if urlparse(url).scheme.lower() not in ("http", "https"):
        raise UsageError(f"{what} URL {url!r} must be http or https")
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            body = response.read(MAX_DISCOVERY_BYTES + 1)
    except OSError as error:
        raise FetchError(f"cannot fetch {what} from {url}: {error}") from None
    if len(body) > MAX_DISCOVERY_BYTES:
        raise FetchError(f"{what} at {url} is larger than {MAX_DISCOVERY_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError as error:
        raise FetchError(f"{what} at {url} is not JSON: {error}") from None


def discover_jwks_uri(issuer: str) -> str:
    """The ``jwks_uri`` of ``issuer``'s discovery document, whose ``issuer`` must be ``issuer``."""
    url = issuer.rstrip("/") + DISCOVERY_PATH
    document = _fetch_json(url, "the discovery document")
    if not isinstance(document, dict):
        raise FetchError(f"the discovery document at {url} is not a JSON object")
    if document.get("issuer") != issuer:
        raise FetchError(
            f"the discovery document at {url} names issuer {document.get('issuer')!r}, "
            f"not {issuer!r}"
        )
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise FetchError(f"the discovery document at {url} has no jwks_uri")
    return jwks_uri


def verify_key(
    args: argparse.Namespace, inputs: Inputs, token: Optional[str]
) -> Optional[VerifyKey]:
    """The key chosen on the command line, or None if none was given.

    From a JWKS: the key that ``token``'s ``kid`` names, or the whole set for a batch
    (``token`` None).
    """
    algorithms: Optional[list[str]] = args.alg or None
    text = _key_text(args, inputs)
    if text is not None:
        return local_verify_key(text, algorithms)
    issuer: Optional[str] = None
    if args.issuer_discovery is not None:
        issuer = args.issuer_discovery
        jwks_url = discover_jwks_uri(issuer)
    elif args.jwks_url is not None:
        jwks_url = args.jwks_url
    else:
        return None
    client = turbojwt.PyJWKClient(jwks_url, timeout=HTTP_TIMEOUT)
    key: Any = client.get_jwk_set() if token is None else client.get_signing_key_from_jwt(token)
    return VerifyKey(key, algorithms, issuer)


# ---------------------------------------------------------------------------
# decoding and rendering
# ---------------------------------------------------------------------------


def _decode_options(args: argparse.Namespace) -> Options:
    return Options(require=list(args.require)) if args.require else Options()


def _audience(args: argparse.Namespace) -> Any:
    if not args.aud:
        return None
    return args.aud[0] if len(args.aud) == 1 else list(args.aud)


def _resolve_single(key: Any, token: str) -> Any:
    """A JWK Set given as a key file: the member named by the token's ``kid``."""
    if isinstance(key, turbojwt.PyJWKSet):
        kid = turbojwt.get_unverified_header(token).get("kid")
        try:
            return key[str(kid)]
        except KeyError:
            raise turbojwt.PyJWKSetError(
                f'Unable to find a signing key that matches: "{kid}"'
            ) from None
    return key


def verified_decode(args: argparse.Namespace, key: VerifyKey, token: str) -> dict[str, Any]:
    """``decode_complete`` with every check the arguments ask for."""
    complete: dict[str, Any] = turbojwt.decode_complete(
        token,
        _resolve_single(key.key, token),
        algorithms=key.algorithms,
        options=_decode_options(args),
        audience=_audience(args),
        issuer=args.iss if args.iss is not None else key.issuer,
        leeway=args.leeway,
    )
    return complete


def unverified_decode(token: str) -> dict[str, Any]:
    complete: dict[str, Any] = turbojwt.decode_complete(token, options={"verify_signature": False})
    return complete


def _relative(seconds: float) -> str:
    magnitude = int(abs(seconds))
    if magnitude == 0:
        return "now"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if magnitude >= size:
            parts.append(f"{magnitude // size}{unit}")
            magnitude %= size
    if magnitude:
        parts.append(f"{magnitude}s")
    text = " ".join(parts[:2])
    return f"in {text}" if seconds > 0 else f"{text} ago"


def iso_time(value: Any) -> Optional[str]:
    """A NumericDate as an ISO 8601 UTC date, or None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def time_fields(claims: Mapping[str, Any]) -> dict[str, str]:
    fields = {}
    for name in TIME_CLAIMS:
        iso = iso_time(claims.get(name))
        if iso is not None:
            fields[name] = iso
    return fields


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


def render_token(status: str, complete: Mapping[str, Any], out: TextIO) -> None:
    claims = complete["payload"]
    lines = [status, "header:", _pretty(complete["header"]), "claims:", _pretty(claims)]
    times = time_fields(claims)
    if times:
        now = time.time()
        lines.append("times (UTC):")
        for name, iso in times.items():
            lines.append(f"  {name}: {claims[name]} = {iso} ({_relative(claims[name] - now)})")
    print("\n".join(lines), file=out)


def _print_json(value: Any, out: TextIO) -> None:
    print(json.dumps(value, ensure_ascii=False, default=repr), file=out)


def _error_fields(error: BaseException) -> dict[str, Any]:
    return {"error": type(error).__name__, "message": str(error)}


def report_invalid(error: BaseException, as_json: bool, out: TextIO) -> int:
    if as_json:
        _print_json({"valid": False, **_error_fields(error)}, out)
    else:
        print(f"INVALID: {type(error).__name__}: {error}", file=out)
    return 1


# ---------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------


def run_decode(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    token = inputs.token(args.token)
    try:
        key = verify_key(args, inputs, token)
        if key is None:
            complete = unverified_decode(token)
        else:
            complete = verified_decode(args, key, token)
    except (PyJWTError, FetchError) as error:
        return report_invalid(error, args.json, out)
    verified = key is not None
    if args.json:
        _print_json(
            {
                "verified": verified,
                "header": complete["header"],
                "claims": complete["payload"],
                "times": time_fields(complete["payload"]),
            },
            out,
        )
    else:
        status = (
            "VERIFIED: signature and claims checked"
            if verified
            else "NOT VERIFIED: no key given, the signature and claims were not checked"
        )
        render_token(status, complete, out)
    return 0


def run_verify(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    if args.batch is not None:
        if args.token is not None:
            raise UsageError("give either a TOKEN or --batch FILE, not both")
        return run_verify_batch(args, inputs, out)
    if args.token is None:
        raise UsageError("a TOKEN (or '-' for standard input) or --batch FILE is required")
    token = inputs.token(args.token)
    try:
        key = verify_key(args, inputs, token)
        if key is None:
            raise UsageError(
                "a key is required: --secret, --key-file, --key-env, --jwks-url or "
                "--issuer-discovery"
            )
        complete = verified_decode(args, key, token)
    except (PyJWTError, FetchError) as error:
        return report_invalid(error, args.json, out)
    if args.json:
        _print_json(
            {
                "valid": True,
                "header": complete["header"],
                "claims": complete["payload"],
                "times": time_fields(complete["payload"]),
            },
            out,
        )
    else:
        render_token("VALID: signature and claims checked", complete, out)
    return 0


def batch_lines(results: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for index, result in enumerate(results):
        if isinstance(result, Exception):
            yield {"index": index, "valid": False, **_error_fields(result)}
        else:
            yield {"index": index, "valid": True, "claims": result}


def _column_source(path: str, column: Optional[str]) -> Any:
    """The token column of a Parquet or CSV file, as an Arrow stream (needs pyarrow)."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise UsageError(f"--column reads a .parquet or .csv file, not {path!r}")
    if column is None:
        raise UsageError(f"{path} is a table: name its token column with --column NAME")
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("reading Parquet or CSV needs pyarrow: pip install pyarrow") from None
    try:
        if suffix == ".parquet":
            table = pq.ParquetFile(path)
            schema = pa.schema([table.schema_arrow.field(column)])
            return pa.RecordBatchReader.from_batches(schema, table.iter_batches(columns=[column]))
        options = pa_csv.ConvertOptions(include_columns=[column])
        return pa_csv.open_csv(path, convert_options=options)
    except (OSError, ValueError, KeyError) as error:  # a missing file or column
        raise UsageError(f"cannot read column {column!r} of {path}: {error}") from None


def _column_lines(verdicts: Any) -> Iterable[dict[str, Any]]:
    import pyarrow as pa

    index = 0
    for batch in pa.RecordBatchReader.from_stream(verdicts):
        for row in batch.select(["valid", "error", "message", "claims"]).to_pylist():
            if row["valid"]:
                yield {"index": index, "valid": True, "claims": json.loads(row["claims"])}
            elif row["valid"] is None:  # an empty cell: no token
                yield {"index": index, "valid": None}
            else:
                yield {
                    "index": index,
                    "valid": False,
                    "error": row["error"],
                    "message": row["message"],
                }
            index += 1


def _batch_error(error: Exception) -> int:
    """Report an error that stops a whole ``--batch`` run; its exit status."""
    print(f"{PROG} verify: {type(error).__name__}: {error}", file=sys.stderr)
    return 1


def _batch_key(args: argparse.Namespace, inputs: Inputs) -> Optional[VerifyKey]:
    """The key of a ``--batch`` run, for every token; None once a failure is reported.

    A run without a key is a usage error; a key that cannot be had (a JWKS that does not
    load, say) is reported on stderr like the other errors that stop the whole run.
    """
    try:
        key = verify_key(args, inputs, None)
    except (PyJWTError, FetchError) as error:
        _batch_error(error)
        return None
    if key is None:
        raise UsageError(
            "a key is required: --secret, --key-file, --key-env, --jwks-url or --issuer-discovery"
        )
    return key


def run_verify_batch(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    if args.column is not None or Path(args.batch).suffix.lower() in (".parquet", ".csv"):
        return _run_verify_column(args, inputs, out)
    text = inputs.file(args.batch, "the batch file")
    tokens = [line.strip() for line in text.splitlines() if line.strip()]
    key = _batch_key(args, inputs)
    if key is None:
        return 1
    try:
        results = turbojwt.decode_batch(
            tokens,
            key.key,
            algorithms=key.algorithms,
            options=_decode_options(args),
            audience=_audience(args),
            issuer=args.iss if args.iss is not None else key.issuer,
            leeway=args.leeway,
        )
    except PyJWTError as error:
        # A set-up error (a key that fits none of the algorithms) is raised once for the batch.
        return _batch_error(error)
    all_valid = True
    for line in batch_lines(results):
        all_valid = all_valid and bool(line["valid"])
        _print_json(line, out)
    return 0 if all_valid else 1


def _run_verify_column(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    """``--batch FILE --column NAME``: the column path, for Parquet and CSV files."""
    from . import arrow

    batches = _column_source(args.batch, args.column)
    key = _batch_key(args, inputs)
    if key is None:
        return 1
    try:
        verdicts = arrow.verify(
            batches,
            key.key,
            algorithms=key.algorithms,
            options=_decode_options(args),
            audience=_audience(args),
            issuer=args.iss if args.iss is not None else key.issuer,
            leeway=args.leeway,
            column=args.column,
        )
    except (PyJWTError, TypeError) as error:
        return _batch_error(error)
    all_valid = True
    for line in _column_lines(verdicts):
        all_valid = all_valid and bool(line["valid"])
        _print_json(line, out)
    return 0 if all_valid else 1


def encode_key(args: argparse.Namespace, inputs: Inputs) -> Any:
    text = _key_text(args, inputs)
    if args.alg == "none":
        if text is not None:
            raise UsageError("--alg none signs nothing: give no key")
        return None
    if text is None:
        raise UsageError("a key is required: --secret, --key-file or --key-env")
    jwk = _jwk_from_text(text)
    if isinstance(jwk, turbojwt.PyJWKSet):
        raise UsageError("encode needs one key, not a JWK Set")
    return text if jwk is None else jwk.key


def encode_claims(args: argparse.Namespace, inputs: Inputs) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if args.json is not None:
        text = inputs.text(args.json, "--json")
        try:
            loaded = json.loads(text)
        except ValueError as error:
            raise UsageError(f"--json does not parse: {error}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--json must be a JSON object")
        claims.update(loaded)
    claims.update(parse_claim_arguments(args.claims))
    now = int(time.time())
    if args.iat:
        claims["iat"] = now
    if args.exp is not None:
        claims["exp"] = parse_time(args.exp, now, "--exp")
    if args.nbf is not None:
        claims["nbf"] = parse_time(args.nbf, now, "--nbf")
    return claims


def run_encode(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    claims = encode_claims(args, inputs)
    key = encode_key(args, inputs)
    headers = {"kid": args.kid} if args.kid is not None else None
    try:
        token = turbojwt.encode(claims, key, algorithm=args.alg, headers=headers)
    except (PyJWTError, NotImplementedError, TypeError, ValueError) as error:
        print(f"{PROG} encode: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(token, file=out)
    return 0


def jwk_thumbprint(jwk: Mapping[str, Any]) -> Optional[str]:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``, base64url; None if a member is missing."""
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        return None
    canonical = json.dumps(
        {name: jwk[name] for name in members},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def describe_keys(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    keys = payload.get("keys")
    if not isinstance(keys, list):
        raise FetchError("the JWKS has no 'keys' list")
    rows = []
    for member in keys:
        if not isinstance(member, dict):
            rows.append({"kid": None, "kty": None, "alg": None, "use": None, "thumbprint": None})
            continue
        row = {name: member.get(name) for name in ("kid", "kty", "alg", "use")}
        row["thumbprint"] = jwk_thumbprint(member)
        rows.append(row)
    return rows


def run_jwks(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    try:
        url = discover_jwks_uri(args.url) if args.discovery else args.url
        client = turbojwt.PyJWKClient(url, cache_jwk_set=False, timeout=HTTP_TIMEOUT)
        rows = describe_keys(client.fetch_data())
    except (PyJWKClientError, PyJWKClientConnectionError, FetchError) as error:
        print(f"{PROG} jwks: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if args.json:
        _print_json({"url": url, "keys": rows}, out)
        return 0
    columns = ("kid", "kty", "alg", "use", "thumbprint")
    cells = [["-" if row[name] is None else str(row[name]) for name in columns] for row in rows]
    widths = [max(len(line[i]) for line in [list(columns), *cells]) for i in range(len(columns))]
    print(f"{len(rows)} key(s) at {url}", file=out)
    for line in [list(columns), *cells]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip(), file=out)
    return 0


def run_bench(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    from turbojwt import _bench

    status: int = _bench.run(args)
    return status


def run_help(args: argparse.Namespace, inputs: Inputs, out: TextIO) -> int:
    from turbojwt import help as help_module

    help_module.main()
    return 0


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    checks = parser.add_argument_group("checks")
    checks.add_argument(
        "--alg",
        action="append",
        metavar="ALG",
        help="an accepted algorithm (repeatable); default: HS256/HS384/HS512 for a secret, "
        "the JWK's own algorithm for a JWK; required for a PEM or OpenSSH key",
    )
    checks.add_argument(
        "--aud", action="append", metavar="AUD", help="accepted audience (repeatable)"
    )
    checks.add_argument("--iss", metavar="ISS", help="required issuer")
    checks.add_argument(
        "--leeway",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="clock skew allowed for exp/nbf/iat",
    )
    checks.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="CLAIM",
        help="a claim that must be present (repeatable)",
    )


VERIFY_EPILOG = """\
exit status: 0 the token is valid, 1 it is not (the PyJWT exception class and message are
printed) or the keys could not be fetched, 2 a usage error.

--batch FILE reads one token per line (blank lines skipped; '-' is standard input), checks
them all with turbojwt.decode_batch and writes one JSON line per token, in order:
  {"index": 0, "valid": true, "claims": {...}}
  {"index": 1, "valid": false, "error": "ExpiredSignatureError", "message": "..."}
The exit status is then 0 only if every token is valid. With --column NAME, FILE is a
Parquet or CSV file and NAME its token column, read and verified a batch at a time
through turbojwt.arrow (pyarrow needed); an empty cell gives {"index": 2, "valid": null}.

examples:
  turbojwt verify --secret s3cret-of-at-least-32-bytes.... TOKEN
  turbojwt verify --key-file public.pem --alg RS256 --aud api --iss https://issuer -
  turbojwt verify --issuer-discovery https://accounts.example.com --aud my-client TOKEN
  turbojwt verify --batch tokens.txt --key-env JWT_SECRET > results.ndjson
  turbojwt verify --batch access-log.parquet --column token --key-env JWT_SECRET
"""

ENCODE_EPILOG = """\
claims: NAME=VALUE arguments, VALUE parsed as JSON when it parses (42, true, ["a"],
"quoted") and kept as a string otherwise, on top of --json. Times: +15m, 30s, 2h, 1d, -5m
are relative to now (write a negative one as --nbf=-5m); a bare number is an absolute
NumericDate.

examples:
  turbojwt encode --secret "$SECRET" sub=user-1 admin=true --exp +15m --iat
  echo '{"sub": "user-1"}' | turbojwt encode --json - --key-file private.pem --alg RS256 --kid k1
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser(
    prog: str = PROG,
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each subcommand's parser (for reporting usage errors)."""
    from turbojwt import _bench

    parser = argparse.ArgumentParser(
        prog=prog,
        description="JSON Web Token tools on turbojwt: decode, verify, encode, list JWKS keys.",
        epilog="Run '%(prog)s COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"turbojwt {turbojwt.__turbojwt_version__} (PyJWT {turbojwt.__version__} API)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers: dict[str, argparse.ArgumentParser] = {}

    decode = commands.add_parser(
        "decode",
        help="show a token's header and claims (verified only when a key is given)",
        description="Show a token's header and claims, with exp/nbf/iat as ISO dates. Without "
        "a key nothing is verified and the output says NOT VERIFIED; with a key the token is "
        "checked as by 'verify'.",
        formatter_class=_Formatter,
    )
    decode.add_argument("token", metavar="TOKEN", help="the token; '-' reads standard input")
    decode.add_argument("--json", action="store_true", help="one JSON object on standard output")
    add_key_arguments(decode, remote=True)
    _add_check_arguments(decode)
    decode.set_defaults(handler=run_decode)
    subparsers["decode"] = decode

    verify = commands.add_parser(
        "verify",
        help="verify a token (or many, as NDJSON) against a key",
        description="Verify a token's signature and claims. A key is required.",
        epilog=VERIFY_EPILOG,
        formatter_class=_Formatter,
    )
    verify.add_argument(
        "token", metavar="TOKEN", nargs="?", help="the token; '-' reads standard input"
    )
    verify.add_argument(
        "--batch", metavar="FILE", help="verify one token per line of FILE ('-': standard input)"
    )
    verify.add_argument(
        "--column",
        metavar="NAME",
        help="with --batch: FILE is Parquet or CSV and NAME its token column (needs pyarrow)",
    )
    verify.add_argument("--json", action="store_true", help="one JSON object on standard output")
    add_key_arguments(verify, remote=True)
    _add_check_arguments(verify)
    verify.set_defaults(handler=run_verify)
    subparsers["verify"] = verify

    encode = commands.add_parser(
        "encode",
        help="sign claims into a token",
        description="Sign claims into a token and print it.",
        epilog=ENCODE_EPILOG,
        formatter_class=_Formatter,
    )
    encode.add_argument("claims", nargs="*", metavar="NAME=VALUE", help="a claim")
    encode.add_argument(
        "--json", metavar="JSON", help="claims as a JSON object; '-' reads standard input"
    )
    encode.add_argument("--exp", metavar="TIME", help="expiry, e.g. +15m")
    encode.add_argument("--nbf", metavar="TIME", help="not before, e.g. +0s or --nbf=-1m")
    encode.add_argument("--iat", action="store_true", help="set iat to now")
    encode.add_argument("--alg", default="HS256", metavar="ALG", help="algorithm (default: HS256)")
    encode.add_argument("--kid", metavar="KID", help="key id for the header")
    add_key_arguments(encode, remote=False)
    encode.set_defaults(handler=run_encode)
    subparsers["encode"] = encode

    jwks = commands.add_parser(
        "jwks",
        help="list the keys of a JWKS URL with their RFC 7638 thumbprints",
        description="Fetch a JWK Set and list its keys: kid, kty, alg, use and the RFC 7638 "
        "SHA-256 thumbprint (base64url).",
        formatter_class=_Formatter,
    )
    jwks.add_argument("url", metavar="URL", help="the JWKS URL (or the issuer, with --discovery)")
    jwks.add_argument(
        "--discovery",
        action="store_true",
        help="URL is an OpenID Connect issuer: take jwks_uri from its discovery document",
    )
    jwks.add_argument("--json", action="store_true", help="one JSON object on standard output")
    jwks.set_defaults(handler=run_jwks)
    subparsers["jwks"] = jwks

    bench = commands.add_parser(
        "bench",
        help="time turbojwt against PyJWT and other installed JWT libraries",
        description=_bench.DESCRIPTION,
        epilog=_bench.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _bench.add_arguments(bench)
    bench.set_defaults(handler=run_bench)
    subparsers["bench"] = bench

    help_command = commands.add_parser(
        "help",
        help="print the environment report for bug reports (as python -m turbojwt.help)",
        description='Print platform, interpreter and library versions as JSON. The "pyjwt" '
        "version is the PyJWT release whose API turbojwt emulates, not an installed PyJWT.",
    )
    help_command.set_defaults(handler=run_help)
    subparsers["help"] = help_command
    return parser, subparsers


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)


def main(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> int:
    """Run the command line; returns the exit status."""
    parser, subparsers = build_parser(prog)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    inputs = Inputs(sys.stdin)
    try:
        status: int = args.handler(args, inputs, sys.stdout)
    except UsageError as error:
        _usage_error(subparsers[args.command], str(error))
    except BrokenPipeError:  # the reader went away (piped into `head`): stop quietly
        # Point stdout at /dev/null so that the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
