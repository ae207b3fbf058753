#!/usr/bin/env python3
"""Run PyJWT 2.15.1's own test suite against turbojwt.

PyJWT's tests are taken from its pinned, hash-verified sdist at run time and executed in a
scratch directory where ``import jwt`` (and every ``jwt.<sub>``) resolves to the target
module, so the suite exercises turbojwt exactly as it exercises PyJWT.

    python tests/pyjwt_suite/run_pyjwt_suite.py [--target MODULE] [--report-only] [-- PYTEST_ARGS]

``--target jwt`` runs the suite against PyJWT itself, as a check of the harness.

Exit status: 0 when every failure is listed in expected_failures.txt and every listed test
failed; 1 otherwise; 2 when the harness itself could not run (bad sdist, no PyJWT, ...).

The sdist comes from $PYJWT_SDIST, else the cache directory ($TURBOJWT_CACHE, default
<repo>/.cache/pyjwt-sdist/), else ``pip download`` (then cached).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

PYJWT_VERSION = "2.15.1"
PYJWT_SDIST_NAME = f"pyjwt-{PYJWT_VERSION}.tar.gz"
PYJWT_SDIST_SHA256 = "4f259e80cdfb6b3fc18a7de51fd1ef9ec79652f25019bae68975ca2468a34df8"

SUITE_DIR = Path(__file__).resolve().parent
REPO_ROOT = SUITE_DIR.parents[1]
EXPECTED_FAILURES_FILE = SUITE_DIR / "expected_failures.txt"
RESULTS_ENV = "PYJWT_SUITE_RESULTS"

PASSED, FAILED, SKIPPED, DESELECTED = "passed", "failed", "skipped", "deselected"
# When a test reports several phases (setup, call, teardown), the worst one decides.
_OUTCOME_RANK = {DESELECTED: 0, PASSED: 1, SKIPPED: 2, FAILED: 3}

PYTEST_INI = """\
[pytest]
# PyJWT's own warning policy, with its warning class taken from the module under test.
filterwarnings =
    error
    ignore::@TARGET@.warnings.InsecureKeyLengthWarning
"""

# Written next to the copied tests/; @TARGET@ is replaced by the target module's name.
CONFTEST = '''\
"""Point PyJWT's tests at the module under test, keep them offline, record outcomes."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import ipaddress
import json
import os
import socket
import sys
from types import ModuleType
from typing import Any

import pytest

TARGET = "@TARGET@"
ALIAS = "jwt"


class _SharedModuleLoader(importlib.abc.Loader):
    """Loads an alias name as the already-imported target module, not as a copy of it."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._own_spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self._module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias spec on the shared module; restore its own.
        module.__spec__ = self._own_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves `jwt` and `jwt.<sub>` to `TARGET` and `TARGET.<sub>`.

    sys.modules["jwt.x"] is then the very object sys.modules["TARGET.x"] is, so class
    identity holds and mock.patch("jwt.api_jwt.json.loads") patches the target. A target
    that fails to import raises: it must never fall through to an installed PyJWT.
    """

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        module = importlib.import_module(TARGET + fullname[len(ALIAS) :])
        return importlib.machinery.ModuleSpec(
            fullname, _SharedModuleLoader(module), is_package=hasattr(module, "__path__")
        )


def _install_alias() -> None:
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _AliasFinder())


if TARGET != ALIAS:
    _install_alias()


# --- offline guard: loopback connections only ---------------------------------------------

_DEAD_PROXY = "http://127.0.0.1:9"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class NetworkAccessBlocked(ConnectionError):
    """PyJWT's suite runs offline: only loopback addresses may be contacted."""


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    return _is_ip_literal(host) and ipaddress.ip_address(host.split("%")[0]).is_loopback


def _check_destination(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise NetworkAccessBlocked(f"connection to {address!r} blocked: suite runs offline")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_destination(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_destination(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # A DNS query is network traffic too.
    if host is None or _is_loopback(host) or _is_ip_literal(str(host)):
        return _real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"lookup of {host!r} blocked: suite runs offline")


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ[_var] = os.environ[_var.lower()] = _DEAD_PROXY
# Loopback test servers must be reached directly, not through the dead proxy.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "localhost,127.0.0.1,::1"


# --- outcome recording (JSON lines, flushed per event so a crash loses nothing) ------------


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    chosen = (errors or lines or [""])[-1].removeprefix("E ").strip()
    return chosen[:200]


class _OutcomeRecorder:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")

    def _write(self, **record: Any) -> None:
        self._file.write(json.dumps(record) + "\\n")
        self._file.flush()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._write(kind="collected", nodeids=[item.nodeid for item in session.items])

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self._write(kind="deselected", nodeids=[item.nodeid for item in items])

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._write(kind="collect_error", nodeid=report.nodeid,
                        reason=_one_line(report.longreprtext))

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._write(kind="started", nodeid=nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        reason = ""
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            reason = _one_line(getattr(crash, "message", None) or report.longreprtext)
        self._write(kind="outcome", nodeid=report.nodeid, when=report.when,
                    outcome=report.outcome, reason=reason)

    def pytest_unconfigure(self) -> None:
        self._file.close()


def pytest_configure(config: pytest.Config) -> None:
    results_path = os.environ.get("PYJWT_SUITE_RESULTS")
    if results_path:
        config.pluginmanager.register(_OutcomeRecorder(results_path), "pyjwt-suite-recorder")
'''


class SuiteError(Exception):
    """The harness could not produce a verdict (exit status 2)."""


# --- the PyJWT sdist ---------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sdist(path: Path) -> Path:
    actual = sha256_of(path)
    if actual != PYJWT_SDIST_SHA256:
        raise SuiteError(
            f"{path}: sha256 {actual} is not the pinned {PYJWT_SDIST_SHA256}; refusing to use it"
        )
    return path


def sdist_cache_dir() -> Path:
    configured = os.environ.get("TURBOJWT_CACHE")
    return Path(configured) if configured else REPO_ROOT / ".cache" / "pyjwt-sdist"


def download_sdist(destination: Path) -> Path:
    """pip-download the sdist into a scratch directory; only a verified file reaches the cache."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"pyjwt=={PYJWT_VERSION}",
            "--dest",
            scratch,
        ]
        if subprocess.run(command, check=False).returncode != 0:
            raise SuiteError(f"could not download the PyJWT {PYJWT_VERSION} sdist with pip")
        downloaded = sorted(Path(scratch).glob("*.tar.gz"))
        if len(downloaded) != 1:
            raise SuiteError(f"pip download left {len(downloaded)} archives, expected one")
        os.replace(verify_sdist(downloaded[0]), destination)
    return destination


def obtain_sdist() -> Path:
    explicit = os.environ.get("PYJWT_SDIST")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SuiteError(f"PYJWT_SDIST={explicit} is not a file")
        return verify_sdist(path)
    cached = sdist_cache_dir() / PYJWT_SDIST_NAME
    if cached.is_file():
        return verify_sdist(cached)
    return download_sdist(cached)


def extract_tests(sdist: Path, destination: Path) -> None:
    """Copy the sdist's tests/ into destination/tests; its jwt/ package is never extracted."""
    prefix = f"pyjwt-{PYJWT_VERSION}/tests/"
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.name.startswith(prefix):
                continue
            relative = PurePosixPath(member.name[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise SuiteError(f"unsafe path in sdist: {member.name}")
            target = destination / "tests" / relative
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                source = archive.extractfile(member)
                if source is None:
                    raise SuiteError(f"unreadable sdist member: {member.name}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
            else:
                raise SuiteError(f"unexpected link or device in sdist: {member.name}")
    if not (destination / "tests" / "__init__.py").is_file():
        raise SuiteError(f"{sdist} has no tests/ package")


def check_module_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name, flags=re.ASCII):
        raise SuiteError(f"not a module name: {name!r}")
    return name


def prepare_tree(sdist: Path, destination: Path, target: str) -> None:
    """A runnable copy of PyJWT's tests with `jwt` resolving to `target`."""
    check_module_name(target)
    destination.mkdir(parents=True)
    extract_tests(sdist, destination)
    (destination / "pytest.ini").write_text(PYTEST_INI.replace("@TARGET@", target))
    (destination / "conftest.py").write_text(CONFTEST.replace("@TARGET@", target))


# --- running pytest and reading its records ----------------------------------------------


@dataclass
class NodeResult:
    outcome: str
    reason: str = ""


@dataclass
class RunRecords:
    collected: list[str] = field(default_factory=list)
    deselected: set[str] = field(default_factory=set)
    collect_errors: dict[str, str] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    results: dict[str, NodeResult] = field(default_factory=dict)


def read_records(path: Path) -> RunRecords:
    records = RunRecords()
    if not path.exists():
        return records
    # A test has a result once its teardown is reported; one cut short by a crash has none.
    phases: dict[str, NodeResult] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        kind = record["kind"]
        if kind == "collected":
            records.collected.extend(record["nodeids"])
        elif kind == "deselected":
            records.deselected.update(record["nodeids"])
        elif kind == "started":
            records.started.add(record["nodeid"])
        elif kind == "collect_error":
            records.collect_errors[record["nodeid"]] = record["reason"]
        elif kind == "outcome":
            node, outcome = record["nodeid"], record["outcome"]
            worst = phases.get(node)
            if worst is None or _OUTCOME_RANK[outcome] > _OUTCOME_RANK[worst.outcome]:
                worst = phases[node] = NodeResult(outcome, record["reason"])
            if record["when"] == "teardown":
                records.results[node] = worst
    return records


def run_pytest(
    tree: Path, pytest_args: Sequence[str], *, show_output: bool = True
) -> tuple[int, RunRecords]:
    results_path = tree / "results.jsonl"
    env = dict(os.environ)
    env[RESULTS_ENV] = str(results_path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Only the plugins PyJWT's suite needs: none beyond pytest itself.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    completed = subprocess.run(
        command,
        cwd=tree,
        env=env,
        check=False,
        stdout=None if show_output else subprocess.PIPE,
        stderr=None if show_output else subprocess.STDOUT,
        text=True,
    )
    if not show_output and completed.returncode != 0:
        print(completed.stdout, end="")
    return completed.returncode, read_records(results_path)


def collect_baseline(sdist: Path, scratch: Path) -> list[str]:
    """Node ids of the suite as collected against PyJWT itself."""
    try:
        installed = importlib.metadata.version("pyjwt")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != PYJWT_VERSION:
        raise SuiteError(
            f"the baseline needs PyJWT {PYJWT_VERSION} installed (found {installed}); "
            f"pip install pyjwt=={PYJWT_VERSION}"
        )
    tree = scratch / "baseline"
    prepare_tree(sdist, tree, "jwt")
    returncode, records = run_pytest(tree, ["--collect-only", "-q", "tests"], show_output=False)
    if returncode != 0 or records.collect_errors or not records.collected:
        raise SuiteError(f"collecting PyJWT's suite against PyJWT itself failed ({returncode})")
    return records.collected


# --- verdict ------------------------------------------------------------------------------


@dataclass
class SuiteOutcome:
    results: dict[str, NodeResult]
    collected_per_file: dict[str, int]
    pytest_returncode: int

    def with_outcome(self, outcome: str) -> list[str]:
        return sorted(node for node, result in self.results.items() if result.outcome == outcome)


def merge_results(baseline: Iterable[str], records: RunRecords, returncode: int) -> SuiteOutcome:
    """Outcomes for every test of the baseline and of the run; a baseline test with no result
    (its file failed to import, or pytest died) counts as failed."""
    results = dict(records.results)
    for node in records.deselected:
        results.setdefault(node, NodeResult(DESELECTED))
    for node in baseline:
        if node not in results:
            results[node] = NodeResult(FAILED, missing_result_reason(node, records, returncode))
    collected_per_file: dict[str, int] = defaultdict(int)
    for node in records.collected:
        collected_per_file[file_of(node)] += 1
    return SuiteOutcome(results, dict(collected_per_file), returncode)


def missing_result_reason(node: str, records: RunRecords, returncode: int) -> str:
    file_error = records.collect_errors.get(file_of(node))
    if file_error:
        return f"not collected: {file_error}"
    if node in records.started:
        return f"started but never finished: pytest died (exit status {returncode})"
    if not records.collected:
        return f"pytest stopped before collecting (exit status {returncode}); see its output"
    return f"no result (pytest exit status {returncode})"


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


_ENTRY = re.compile(r"^(?P<nodeid>\S+)\s+#\s*(?P<reason>\S.*)$")


def read_expected_failures(path: Path) -> dict[str, str]:
    """Node id -> reason. Every entry needs a reason after `#`; whole-line comments are free."""
    expected: dict[str, str] = {}
    if not path.exists():
        return expected
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry = _ENTRY.match(line)
        if entry is None:
            raise SuiteError(f"{path.name}:{number}: expected `<node id>  # <reason>`")
        nodeid = entry["nodeid"]
        if nodeid in expected:
            raise SuiteError(f"{path.name}:{number}: {nodeid} is listed twice")
        expected[nodeid] = entry["reason"]
    return expected


@dataclass
class Verdict:
    unexpected_failures: list[str]
    stale_entries: list[tuple[str, str]]  # (node id, what happened instead)
    expected_failure_count: int
    run_incomplete: bool

    @property
    def ok(self) -> bool:
        return not (self.unexpected_failures or self.stale_entries or self.run_incomplete)


def judge(outcome: SuiteOutcome, expected: dict[str, str]) -> Verdict:
    failed = set(outcome.with_outcome(FAILED))
    stale = []
    for node in sorted(expected):
        result = outcome.results.get(node)
        if result is None:
            stale.append((node, "not in the suite"))
        elif result.outcome not in (FAILED, DESELECTED):
            stale.append((node, result.outcome))
    return Verdict(
        unexpected_failures=sorted(failed - expected.keys()),
        stale_entries=stale,
        expected_failure_count=len(failed & expected.keys()),
        # 0: all passed, 1: some failed; anything else means pytest itself went wrong.
        run_incomplete=outcome.pytest_returncode not in (0, 1),
    )


# --- report -------------------------------------------------------------------------------


def summary_line(outcome: SuiteOutcome) -> str:
    return ", ".join(
        f"{len(outcome.with_outcome(kind))} {kind}" for kind in (PASSED, FAILED, SKIPPED)
    )


def per_file_table(outcome: SuiteOutcome) -> list[str]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for node, result in outcome.results.items():
        counts[file_of(node)][result.outcome] += 1
    for name, collected in outcome.collected_per_file.items():
        counts[name]["collected"] = collected
    columns = ("collected", PASSED, FAILED, SKIPPED)
    width = max([len("file"), len("total"), *map(len, counts)])
    rows = [f"{'file':<{width}}" + "".join(f"{column:>11}" for column in columns)]
    totals: dict[str, int] = defaultdict(int)
    for name in sorted(counts):
        rows.append(f"{name:<{width}}" + "".join(f"{counts[name][c]:>11}" for c in columns))
        for column in columns:
            totals[column] += counts[name][column]
    rows.append(f"{'total':<{width}}" + "".join(f"{totals[c]:>11}" for c in columns))
    return rows


def print_report(outcome: SuiteOutcome, verdict: Verdict, expected: dict[str, str]) -> None:
    print()
    if not outcome.collected_per_file:
        # Nothing ran: one line says more than the same reason repeated for every test.
        print(f"pytest collected nothing (exit status {outcome.pytest_returncode}); see above.")
    elif verdict.unexpected_failures:
        count = len(verdict.unexpected_failures)
        print(f"Failures not listed in {EXPECTED_FAILURES_FILE.name} ({count}):")
        for node in verdict.unexpected_failures:
            print(f"  {node}  # {outcome.results[node].reason}")
    if verdict.stale_entries:
        count = len(verdict.stale_entries)
        print(f"Listed in {EXPECTED_FAILURES_FILE.name} but did not fail ({count}); remove them:")
        for node, instead in verdict.stale_entries:
            print(f"  {node}  ({instead})")
    if verdict.run_incomplete:
        print(f"pytest exited with status {outcome.pytest_returncode}: the run did not complete.")
    if expected:
        print(f"{verdict.expected_failure_count} listed expected failures still fail.")
    print()
    print("\n".join(per_file_table(outcome)))
    print(summary_line(outcome))


# --- entry point --------------------------------------------------------------------------


def module_location(name: str) -> str:
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        spec = None
    return (spec.origin or "namespace package") if spec is not None else "NOT IMPORTABLE"


def run_suite(target: str, pytest_args: Sequence[str] = ()) -> SuiteOutcome:
    check_module_name(target)
    sdist = obtain_sdist()
    print(f"PyJWT {PYJWT_VERSION} test suite against {target} ({module_location(target)})")
    print(f"tests from {sdist} (sha256 verified)", flush=True)
    with tempfile.TemporaryDirectory(prefix="pyjwt-suite-") as scratch_name:
        scratch = Path(scratch_name)
        baseline = collect_baseline(sdist, scratch)
        tree = scratch / "run"
        prepare_tree(sdist, tree, target)
        returncode, records = run_pytest(
            tree,
            ["-q", "--tb=short", "-rN", "--continue-on-collection-errors", *pytest_args, "tests"],
        )
    return merge_results(baseline, records, returncode)


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """The harness's own options, and the arguments after `--` (for pytest)."""
    own, pytest_args = list(argv), []
    if "--" in own:
        split = own.index("--")
        own, pytest_args = own[:split], own[split + 1 :]
    parser = argparse.ArgumentParser(
        description=f"Run PyJWT {PYJWT_VERSION}'s test suite against a PyJWT-compatible module.",
        usage="%(prog)s [--target MODULE] [--report-only] [-- PYTEST_ARGS...]",
    )
    parser.add_argument(
        "--target", default="turbojwt", metavar="MODULE", help="module to test (default: turbojwt)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="report results without failing on them"
    )
    return parser.parse_args(own), pytest_args


def main(argv: Sequence[str] | None = None) -> int:
    options, pytest_args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        expected = read_expected_failures(EXPECTED_FAILURES_FILE)
        outcome = run_suite(options.target, pytest_args)
    except SuiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    verdict = judge(outcome, expected)
    print_report(outcome, verdict, expected)
    return 0 if verdict.ok or options.report_only else 1


if __name__ == "__main__":
    sys.exit(main())
