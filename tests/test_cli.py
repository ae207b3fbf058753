"""The ``turbojwt`` command line, run as a real process (``python -m turbojwt``).

Every test starts the command in a fresh interpreter and checks its exit status and
output: valid and invalid tokens, the key sources (literal, file, environment variable,
JWKS URL, OIDC discovery), standard input, ``--json`` output, NDJSON batches and usage
errors. The JWKS and discovery documents are served by a local ``http.server``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import pytest
import turbojwt
from _target import TARGET_IS_REFERENCE
from turbojwt.cli import jwk_thumbprint, parse_time

pytestmark = pytest.mark.skipif(
    TARGET_IS_REFERENCE, reason="the command line is turbojwt's own; PyJWT has another"
)

REPO = Path(__file__).resolve().parents[1]
KEYS = REPO / "tests" / "vectors" / "keys"
SECRET = "cli-test-secret-0123456789abcdefghijkl"  # above the 32-byte HMAC minimum
OTHER_SECRET = "another-secret-0123456789abcdefghijklm"
SUBCOMMANDS = ["decode", "verify", "encode", "jwks", "bench", "help"]

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW"
    "2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
    "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(*args: str, stdin: Optional[str] = None, env: Optional[dict[str, str]] = None) -> Result:
    environment = {**os.environ, **(env or {})}
    environment.pop("TURBOJWT_PATCH", None)
    completed = subprocess.run(
        [sys.executable, "-m", "turbojwt", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def hs256(claims: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    token: str = turbojwt.encode(claims, secret, algorithm="HS256", headers=headers or None)
    return token


def fresh_claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "user-1", "iat": now, "exp": now + 600, **extra}


# ---------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------


def test_decode_without_a_key_is_labelled_not_verified() -> None:
    claims = fresh_claims()
    result = run("decode", hs256(claims, kid="k1"))
    assert result.status == 0, result.stderr
    assert result.stdout.startswith("NOT VERIFIED")
    assert '"kid": "k1"' in result.stdout
    assert '"sub": "user-1"' in result.stdout
    expiry = datetime.fromtimestamp(claims["exp"], timezone.utc).isoformat()
    assert f"exp: {claims['exp']} = {expiry} (in " in result.stdout


def test_decode_does_not_check_signature_or_expiry_without_a_key() -> None:
    expired = hs256({"sub": "x", "exp": 1_000_000}, secret=OTHER_SECRET)
    result = run("decode", "--json", expired)
    assert result.status == 0, result.stderr
    assert result.json() == {
        "verified": False,
        "header": {"alg": "HS256", "typ": "JWT"},
        "claims": {"sub": "x", "exp": 1_000_000},
        "times": {"exp": "1970-01-12T13:46:40+00:00"},
    }


def test_decode_with_a_key_verifies() -> None:
    token = hs256(fresh_claims())
    good = run("decode", "--secret", SECRET, "--json", token)
    assert good.status == 0, good.stderr
    assert good.json()["verified"] is True
    bad = run("decode", "--secret", OTHER_SECRET, token)
    assert bad.status == 1
    assert bad.stdout.strip() == "INVALID: InvalidSignatureError: Signature verification failed"


def test_decode_reads_the_token_from_stdin() -> None:
    result = run("decode", "--json", "-", stdin=hs256({"sub": "piped"}) + "\n")
    assert result.status == 0, result.stderr
    assert result.json()["claims"] == {"sub": "piped"}


def test_decode_of_garbage_is_a_decode_error() -> None:
    result = run("decode", "--json", "not-a-token")
    assert result.status == 1
    assert result.json()["valid"] is False
    assert result.json()["error"] == "DecodeError"


# ---------------------------------------------------------------------------
# verify: key sources and checks
# ---------------------------------------------------------------------------


def test_verify_valid_token_with_literal_secret() -> None:
    result = run("verify", "--secret", SECRET, hs256(fresh_claims()))
    assert result.status == 0, result.stderr
    assert result.stdout.startswith("VALID")


def test_verify_json_output_parses() -> None:
    claims = fresh_claims(role="admin")
    result = run("verify", "--secret", SECRET, "--json", hs256(claims))
    assert result.status == 0, result.stderr
    output = result.json()
    assert output["valid"] is True
    assert output["claims"] == claims
    assert output["header"] == {"alg": "HS256", "typ": "JWT"}
    assert set(output["times"]) == {"iat", "exp"}


def test_verify_expired_token_exits_1_with_the_pyjwt_exception() -> None:
    token = hs256({"sub": "x", "exp": int(time.time()) - 3600})
    result = run("verify", "--secret", SECRET, token)
    assert result.status == 1
    assert result.stdout.strip() == "INVALID: ExpiredSignatureError: Signature has expired"
    as_json = run("verify", "--secret", SECRET, "--json", token)
    assert as_json.status == 1
    assert as_json.json() == {
        "valid": False,
        "error": "ExpiredSignatureError",
        "message": "Signature has expired",
    }


def test_verify_leeway_accepts_a_recently_expired_token() -> None:
    token = hs256({"sub": "x", "exp": int(time.time()) - 30})
    assert run("verify", "--secret", SECRET, token).status == 1
    assert run("verify", "--secret", SECRET, "--leeway", "120", token).status == 0


def test_verify_checks_audience_and_issuer() -> None:
    token = hs256(fresh_claims(aud="api", iss="https://issuer.example"))
    ok = run("verify", "--secret", SECRET, "--aud", "api", "--iss", "https://issuer.example", token)
    assert ok.status == 0, ok.stdout + ok.stderr
    either = run("verify", "--secret", SECRET, "--aud", "web", "--aud", "api", token)
    assert either.status == 0, either.stdout
    wrong_aud = run("verify", "--secret", SECRET, "--aud", "web", "--json", token)
    assert (wrong_aud.status, wrong_aud.json()["error"]) == (1, "InvalidAudienceError")
    wrong_iss = run("verify", "--secret", SECRET, "--aud", "api", "--iss", "other", "--json", token)
    assert (wrong_iss.status, wrong_iss.json()["error"]) == (1, "InvalidIssuerError")


def test_verify_require_names_a_missing_claim() -> None:
    result = run("verify", "--secret", SECRET, "--require", "jti", "--json", hs256(fresh_claims()))
    assert result.status == 1
    assert result.json()["error"] == "MissingRequiredClaimError"
    assert "jti" in result.json()["message"]


def test_verify_alg_restricts_the_accepted_algorithms() -> None:
    result = run("verify", "--secret", SECRET, "--alg", "HS512", "--json", hs256(fresh_claims()))
    assert result.status == 1
    assert result.json()["error"] == "InvalidAlgorithmError"


def test_verify_key_from_environment_variable() -> None:
    token = hs256(fresh_claims())
    good = run("verify", "--key-env", "CLI_TEST_KEY", token, env={"CLI_TEST_KEY": SECRET})
    assert good.status == 0, good.stderr
    bad = run("verify", "--key-env", "CLI_TEST_KEY", token, env={"CLI_TEST_KEY": OTHER_SECRET})
    assert bad.status == 1


def test_verify_key_file_with_a_trailing_newline(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.txt"
    key_file.write_text(SECRET + "\n")
    result = run("verify", "--key-file", str(key_file), hs256(fresh_claims()))
    assert result.status == 0, result.stdout + result.stderr


def test_verify_pem_key_file_es256() -> None:
    private_pem = (KEYS / "p256.pkcs8.pem").read_text()
    token = turbojwt.encode(fresh_claims(), private_pem, algorithm="ES256")
    public = str(KEYS / "p256.pub.pem")
    result = run("verify", "--key-file", public, "--alg", "ES256", "--json", token)
    assert result.status == 0, result.stdout + result.stderr
    assert result.json()["header"]["alg"] == "ES256"


def test_verify_pem_key_without_alg_is_a_usage_error() -> None:
    result = run("verify", "--key-file", str(KEYS / "p256.pub.pem"), hs256(fresh_claims()))
    assert result.status == 2
    assert "--alg is required with a PEM or OpenSSH key" in result.stderr


def test_verify_jwk_key_file_uses_the_jwk_algorithm() -> None:
    private_pem = (KEYS / "p256.pkcs8.pem").read_text()
    token = turbojwt.encode(fresh_claims(), private_pem, algorithm="ES256")
    result = run("verify", "--key-file", str(KEYS / "p256.pub.jwk.json"), token)
    assert result.status == 0, result.stdout + result.stderr


def test_verify_token_and_key_cannot_both_come_from_stdin() -> None:
    result = run("verify", "--key-file", "-", "-", stdin=SECRET)
    assert result.status == 2
    assert "cannot both be '-'" in result.stderr


# ---------------------------------------------------------------------------
# usage errors and help
# ---------------------------------------------------------------------------


def test_verify_without_a_key_is_a_usage_error() -> None:
    result = run("verify", hs256(fresh_claims()))
    assert result.status == 2
    assert "error: a key is required" in result.stderr
    assert result.stderr.startswith("usage: python -m turbojwt verify")


def test_unknown_option_is_a_usage_error() -> None:
    result = run("verify", "--secret", SECRET, "--no-such-option", "x")
    assert result.status == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_two_key_sources_are_a_usage_error() -> None:
    result = run("verify", "--secret", SECRET, "--key-env", "X", "token")
    assert result.status == 2
    assert "not allowed with argument" in result.stderr


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.status == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_missing_environment_variable_is_a_usage_error() -> None:
    result = run("verify", "--key-env", "CLI_TEST_UNSET_VARIABLE", "token")
    assert result.status == 2
    assert "environment variable CLI_TEST_UNSET_VARIABLE is not set" in result.stderr


def test_unreadable_key_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("verify", "--key-file", str(tmp_path / "missing.pem"), "token")
    assert result.status == 2
    assert "cannot read the key file" in result.stderr


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.status == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m turbojwt {command}")


def test_top_level_help_lists_every_subcommand() -> None:
    result = run("--help")
    assert result.status == 0
    for command in SUBCOMMANDS:
        assert f"    {command} " in result.stdout


def test_help_subcommand_prints_the_environment_report() -> None:
    result = run("help")
    assert result.status == 0, result.stderr
    report = result.json()
    assert report["pyjwt"] == {"version": turbojwt.__version__}
    # How the extension was optimised: release wheels are profile-guided, source builds not.
    assert report["turbojwt"]["build"] == turbojwt._turbojwt.__build__
    assert report["turbojwt"]["build"] in {"release", "release, profile-guided", "debug"}
    assert "emulates" in result.stderr and "not an installed PyJWT" in result.stderr


# ---------------------------------------------------------------------------
# encode
# ---------------------------------------------------------------------------


def test_encode_claims_from_arguments_with_json_values() -> None:
    result = run(
        "encode", "--secret", SECRET, "sub=user-7", "admin=true", "n=42", 'tags=["a"]', "v=1.5x"
    )
    assert result.status == 0, result.stderr
    token = result.stdout.strip()
    claims = turbojwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims == {"sub": "user-7", "admin": True, "n": 42, "tags": ["a"], "v": "1.5x"}


def test_encode_times_kid_and_round_trip_through_verify() -> None:
    before = int(time.time())
    result = run(
        "encode", "--secret", SECRET, "--kid", "k9", "--exp", "+15m", "--nbf=-1m", "--iat", "a=1"
    )
    after = int(time.time())
    assert result.status == 0, result.stderr
    token = result.stdout.strip()
    assert turbojwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k9", "typ": "JWT"}
    claims = turbojwt.decode(token, SECRET, algorithms=["HS256"])
    assert before + 900 <= claims["exp"] <= after + 900
    assert before - 60 <= claims["nbf"] <= after - 60
    assert before <= claims["iat"] <= after
    assert run("verify", "--secret", SECRET, token).status == 0


def test_encode_claims_from_json_on_stdin() -> None:
    result = run("encode", "--secret", SECRET, "--json", "-", "extra=x", stdin='{"sub": "s"}')
    assert result.status == 0, result.stderr
    claims = turbojwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims == {"sub": "s", "extra": "x"}


def test_encode_with_a_pem_key_file() -> None:
    result = run("encode", "--key-file", str(KEYS / "p256.pkcs8.pem"), "--alg", "ES256", "sub=e")
    assert result.status == 0, result.stderr
    public_pem = (KEYS / "p256.pub.pem").read_text()
    assert turbojwt.decode(result.stdout.strip(), public_pem, algorithms=["ES256"]) == {"sub": "e"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--secret", SECRET, "--exp", "soon"], "--exp 'soon': expected a duration"),
        (["--secret", SECRET, "novalue"], "claim 'novalue' is not NAME=VALUE"),
        (["--secret", SECRET, "--json", "[1]"], "--json must be a JSON object"),
        (["--secret", SECRET, "--json", "{"], "--json does not parse"),
        (["sub=x"], "a key is required"),
    ],
)
def test_encode_usage_errors(arguments: list[str], message: str) -> None:
    result = run("encode", *arguments)
    assert result.status == 2
    assert message in result.stderr


def test_parse_time_forms() -> None:
    now = 1_000_000
    assert parse_time("+15m", now, "--exp") == now + 900
    assert parse_time("2h", now, "--exp") == now + 7200
    assert parse_time("1d", now, "--exp") == now + 86400
    assert parse_time("-30s", now, "--nbf") == now - 30
    assert parse_time("1767225600", now, "--exp") == 1767225600


# ---------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------


def test_verify_batch_writes_one_ndjson_line_per_token(tmp_path: Path) -> None:
    valid = fresh_claims(n=1)
    tokens = [
        hs256(valid),
        hs256({"sub": "old", "exp": int(time.time()) - 3600}),
        hs256(fresh_claims(), secret=OTHER_SECRET),
        "garbage",
    ]
    batch = tmp_path / "tokens.txt"
    batch.write_text("\n".join(tokens[:2]) + "\n\n" + "\n".join(tokens[2:]) + "\n")
    result = run("verify", "--batch", str(batch), "--secret", SECRET)
    assert result.status == 1  # not every token is valid
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {"index": 0, "valid": True, "claims": valid}
    assert lines[1] == {
        "index": 1,
        "valid": False,
        "error": "ExpiredSignatureError",
        "message": "Signature has expired",
    }
    assert lines[2]["index"] == 2 and lines[2]["error"] == "InvalidSignatureError"
    assert lines[3]["index"] == 3 and lines[3]["error"] == "DecodeError"
    assert len(lines) == 4


def test_verify_batch_from_stdin_all_valid_exits_0() -> None:
    tokens = [hs256(fresh_claims(n=i)) for i in range(50)]
    result = run("verify", "--batch", "-", "--secret", SECRET, stdin="\n".join(tokens))
    assert result.status == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["claims"]["n"] for line in lines] == list(range(50))
    assert all(line["valid"] for line in lines)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_verify_batch_reads_a_parquet_or_csv_column(tmp_path: Path, suffix: str) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv
    import pyarrow.parquet

    valid = fresh_claims(n=1)
    tokens = [
        hs256(valid),
        hs256({"sub": "old", "exp": int(time.time()) - 3600}),
        hs256(fresh_claims(), secret=OTHER_SECRET),
        "garbage",
    ] * 3000  # several Parquet and CSV batches
    table = pa.table({"request": list(range(len(tokens))), "token": tokens})
    path = tmp_path / f"log{suffix}"
    if suffix == ".parquet":
        pyarrow.parquet.write_table(table, path, row_group_size=5000)
    else:
        pyarrow.csv.write_csv(table, path)
    result = run("verify", "--batch", str(path), "--column", "token", "--secret", SECRET)
    assert result.status == 1, result.stderr  # not every token is valid
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(tokens)
    assert [line["index"] for line in lines] == list(range(len(tokens)))
    assert lines[4] == {"index": 4, "valid": True, "claims": valid}
    assert lines[5] == {
        "index": 5,
        "valid": False,
        "error": "ExpiredSignatureError",
        "message": "Signature has expired",
    }
    assert [line.get("error") for line in lines[6:8]] == ["InvalidSignatureError", "DecodeError"]


def test_verify_batch_column_mistakes_are_usage_errors(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet

    path = tmp_path / "log.parquet"
    pyarrow.parquet.write_table(pa.table({"token": [hs256(fresh_claims())]}), path)
    missing = run("verify", "--batch", str(path), "--column", "tok", "--secret", SECRET)
    assert missing.status == 2
    assert "cannot read column 'tok'" in missing.stderr
    unnamed = run("verify", "--batch", str(path), "--secret", SECRET)
    assert unnamed.status == 2
    assert "name its token column with --column NAME" in unnamed.stderr
    text = tmp_path / "tokens.txt"
    text.write_text("x\n")
    wrong = run("verify", "--batch", str(text), "--column", "token", "--secret", SECRET)
    assert wrong.status == 2
    assert "--column reads a .parquet or .csv file" in wrong.stderr


def test_verify_batch_and_token_together_is_a_usage_error() -> None:
    result = run("verify", "--batch", "-", "--secret", SECRET, "token", stdin="")
    assert result.status == 2
    assert "either a TOKEN or --batch FILE" in result.stderr


# ---------------------------------------------------------------------------
# JWKS and OIDC discovery, served from 127.0.0.1
# ---------------------------------------------------------------------------


def _oct_jwk(secret: str, kid: str) -> dict[str, str]:
    encoded = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    return {"kty": "oct", "k": encoded, "kid": kid, "alg": "HS256", "use": "sig"}


class Issuer:
    """Serves /jwks.json and /.well-known/openid-configuration on a free local port."""

    def __init__(self) -> None:
        documents: dict[str, Any] = {}
        self.documents = documents
        ec_public = json.loads((KEYS / "p256.pub.jwk.json").read_text())
        self.jwks = {
            "keys": [
                _oct_jwk(SECRET, "hmac-1"),
                {**ec_public, "kid": "ec-1", "alg": "ES256"},
                {"kty": "RSA", "kid": "incomplete"},
            ]
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document = documents.get(self.path)
                if document is None:
                    self.send_error(404)
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        documents["/jwks.json"] = self.jwks
        documents["/.well-known/openid-configuration"] = {
            "issuer": self.base,
            "jwks_uri": self.base + "/jwks.json",
        }
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    try:
        yield server
    finally:
        server.close()


def test_jwks_lists_keys_with_thumbprints(issuer: Issuer) -> None:
    result = run("jwks", "--json", issuer.base + "/jwks.json")
    assert result.status == 0, result.stderr
    keys = result.json()["keys"]
    assert [key["kid"] for key in keys] == ["hmac-1", "ec-1", "incomplete"]
    assert keys[0] == {
        "kid": "hmac-1",
        "kty": "oct",
        "alg": "HS256",
        "use": "sig",
        "thumbprint": jwk_thumbprint(issuer.jwks["keys"][0]),
    }
    assert keys[1]["thumbprint"] == jwk_thumbprint(issuer.jwks["keys"][1])
    assert keys[2]["thumbprint"] is None  # no n or e: no thumbprint
    table = run("jwks", issuer.base + "/jwks.json")
    assert table.status == 0
    assert table.stdout.splitlines()[1].split() == ["kid", "kty", "alg", "use", "thumbprint"]
    assert "hmac-1" in table.stdout and keys[1]["thumbprint"] in table.stdout


def test_jwks_through_discovery(issuer: Issuer) -> None:
    result = run("jwks", "--discovery", "--json", issuer.base)
    assert result.status == 0, result.stderr
    assert result.json()["url"] == issuer.base + "/jwks.json"


def test_jwks_fetch_failure_exits_1(issuer: Issuer) -> None:
    result = run("jwks", issuer.base + "/missing.json")
    assert result.status == 1
    assert "PyJWKClientConnectionError" in result.stderr


def test_thumbprint_matches_rfc_7638_example() -> None:
    assert jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT
    assert jwk_thumbprint({"kty": "RSA", "n": RFC7638_JWK["n"]}) is None


def test_verify_with_jwks_url_picks_the_key_by_kid(issuer: Issuer) -> None:
    url = issuer.base + "/jwks.json"
    good = run("verify", "--jwks-url", url, "--json", hs256(fresh_claims(), kid="hmac-1"))
    assert good.status == 0, good.stdout + good.stderr
    private_pem = (KEYS / "p256.pkcs8.pem").read_text()
    ec_token = turbojwt.encode(
        fresh_claims(), private_pem, algorithm="ES256", headers={"kid": "ec-1"}
    )
    assert run("verify", "--jwks-url", url, ec_token).status == 0
    unknown = run("verify", "--jwks-url", url, "--json", hs256(fresh_claims(), kid="nope"))
    assert unknown.status == 1
    assert unknown.json()["error"] == "PyJWKClientError"
    forged = run(
        "verify", "--jwks-url", url, "--json", hs256(fresh_claims(), OTHER_SECRET, kid="hmac-1")
    )
    assert (forged.status, forged.json()["error"]) == (1, "InvalidSignatureError")


def test_verify_batch_with_jwks_url(issuer: Issuer) -> None:
    tokens = [hs256(fresh_claims(n=1), kid="hmac-1"), hs256(fresh_claims(n=2), kid="other")]
    result = run(
        "verify", "--batch", "-", "--jwks-url", issuer.base + "/jwks.json", stdin="\n".join(tokens)
    )
    assert result.status == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["valid"] is True and lines[0]["claims"]["n"] == 1
    assert lines[1]["valid"] is False and lines[1]["error"] == "PyJWKSetError"


def test_verify_with_issuer_discovery_checks_iss(issuer: Issuer) -> None:
    good = hs256(fresh_claims(iss=issuer.base), kid="hmac-1")
    result = run("verify", "--issuer-discovery", issuer.base, good)
    assert result.status == 0, result.stdout + result.stderr
    wrong_iss = hs256(fresh_claims(iss="https://elsewhere.example"), kid="hmac-1")
    rejected = run("verify", "--issuer-discovery", issuer.base, "--json", wrong_iss)
    assert (rejected.status, rejected.json()["error"]) == (1, "InvalidIssuerError")


def test_issuer_discovery_refuses_a_mismatched_issuer(issuer: Issuer) -> None:
    issuer.documents["/.well-known/openid-configuration"] = {
        "issuer": "https://impostor.example",
        "jwks_uri": issuer.base + "/jwks.json",
    }
    token = hs256(fresh_claims(iss=issuer.base), kid="hmac-1")
    result = run("verify", "--issuer-discovery", issuer.base, "--json", token)
    assert result.status == 1
    output = result.json()
    assert output["error"] == "FetchError"
    assert "names issuer 'https://impostor.example'" in output["message"]


# ---------------------------------------------------------------------------
# bench stays reachable
# ---------------------------------------------------------------------------


def test_python_dash_m_turbojwt_without_arguments_prints_help() -> None:
    result = run()
    assert result.status == 0
    assert "bench" in result.stdout and "verify" in result.stdout


def test_verify_batch_with_a_key_unfit_for_the_algorithm_fails_once_cleanly() -> None:
    tokens = [hs256(fresh_claims(n=i)) for i in range(2)]
    result = run(
        "verify", "--batch", "-", "--secret", SECRET, "--alg", "RS256", stdin="\n".join(tokens)
    )
    assert result.status == 1
    assert "Traceback" not in result.stderr
    assert "InvalidKeyError" in result.stderr
    assert result.stdout == ""
