#!/usr/bin/env python3
"""Run Flask-JWT-Extended's own test suite on PyJWT, then with turbojwt patched in.

Flask-JWT-Extended makes its PyJWT calls itself: its users cannot edit its ``import jwt``.
Its test suite, taken from its pinned, hash-verified sdist, runs twice in fresh
interpreters: on PyJWT 2.15.1, then with ``TURBOJWT_PATCH=1`` (turbojwt's zero-code
switch). Every test must have the same outcome in both runs, and none may fail.

    python tests/consumers/run_flask_jwt_extended.py [-- PYTEST_ARGS]

Exit status: 0 when the runs agree test by test and nothing failed; 1 otherwise; 2 when
the harness itself could not run (bad sdist, no PyJWT 2.15.1, switch not installed ...).

The sdist and the suite's test requirements (Flask and python-dateutil, with their
dependencies, pinned below) are downloaded at run time into the cache directory
($TURBOJWT_CACHE, default <repo>/.cache/) under flask-jwt-extended/, never committed.
pytest and cryptography come from the running environment (turbojwt's dev extra).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

FJE_VERSION = "4.7.4"
FJE_SDIST_NAME = f"flask_jwt_extended-{FJE_VERSION}.tar.gz"
FJE_SDIST_SHA256 = "78fd0f460317facf3a0084a6457ffaf2f1dda9eefbd576f94cea35b0eadd5531"
PYJWT_VERSION = "2.15.1"
# Its tox.ini's test deps beyond pytest and cryptography, with their dependencies.
TEST_REQUIREMENTS = (
    "Flask==3.1.3",
    "Werkzeug==3.1.8",
    "Jinja2==3.1.6",
    "MarkupSafe==3.0.3",
    "itsdangerous==2.2.0",
    "click==8.4.0",
    "blinker==1.9.0",
    "python-dateutil==2.9.0.post0",
    "six==1.17.0",
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

# A pytest plugin, loaded with -p: each test's worst outcome over its phases, and which
# module `jwt` was, so that a run that never patched cannot pass for a patched one.
PROBE = """\
import json, os, sys

_RANK = {"passed": 0, "skipped": 1, "failed": 2}
_outcomes = {}
_collect_errors = []


def pytest_collectreport(report):
    if report.failed:
        _collect_errors.append(report.nodeid)


def pytest_runtest_logreport(report):
    previous = _outcomes.get(report.nodeid)
    if previous is None or _RANK[report.outcome] > _RANK[previous]:
        _outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish(session, exitstatus):
    jwt = sys.modules.get("jwt")
    with open(os.environ["CONSUMER_SUITE_RESULTS"], "w", encoding="utf-8") as stream:
        json.dump({
            "jwt": getattr(jwt, "__name__", None),
            "jwt_file": getattr(jwt, "__file__", None),
            "outcomes": _outcomes,
            "collect_errors": _collect_errors,
            "exit_status": int(exitstatus),
        }, stream)
"""


class HarnessError(Exception):
    """The harness could not produce a verdict (exit status 2)."""


# --- downloads, cached ---------------------------------------------------------------------


def cache_dir() -> Path:
    return Path(os.environ.get("TURBOJWT_CACHE") or REPO_ROOT / ".cache") / "flask-jwt-extended"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified(path: Path) -> Path:
    actual = sha256_of(path)
    if actual != FJE_SDIST_SHA256:
        raise HarnessError(f"{path}: sha256 {actual} is not the pinned {FJE_SDIST_SHA256}")
    return path


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    if subprocess.run(command, check=False).returncode != 0:
        raise HarnessError(f"failed: {' '.join(command)}")


def obtain_sdist() -> Path:
    cached = cache_dir() / FJE_SDIST_NAME
    if cached.is_file():
        return verified(cached)
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent) as scratch:
        pip(
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            scratch,
            f"flask-jwt-extended=={FJE_VERSION}",
        )
        os.replace(verified(Path(scratch) / FJE_SDIST_NAME), cached)
    return cached


def obtain_requirements() -> Path:
    """A directory holding TEST_REQUIREMENTS, for PYTHONPATH; installed once per interpreter."""
    key = "\n".join((sys.implementation.cache_tag, platform.machine(), *TEST_REQUIREMENTS))
    target = cache_dir() / f"deps-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if (target / ".complete").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent))
    try:
        pip(
            "install",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--target",
            str(scratch),
            *TEST_REQUIREMENTS,
        )
        (scratch / ".complete").write_text("\n".join(TEST_REQUIREMENTS) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def extract(sdist: Path, destination: Path) -> None:
    """The package and its tests/, regular files only, nothing outside destination."""
    prefix = f"flask_jwt_extended-{FJE_VERSION}/"
    wanted = ("flask_jwt_extended", "tests")
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.name.startswith(prefix):
                continue
            relative = PurePosixPath(member.name[len(prefix) :])
            if not relative.parts or relative.parts[0] not in wanted:
                continue
            if relative.is_absolute() or ".." in relative.parts:
                raise HarnessError(f"unsafe path in sdist: {member.name}")
            if member.isfile():
                source = archive.extractfile(member)
                if source is None:
                    raise HarnessError(f"unreadable sdist member: {member.name}")
                target = destination.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
            elif not member.isdir():
                raise HarnessError(f"unexpected link or device in sdist: {member.name}")
    if not (destination / "tests" / "__init__.py").is_file():
        raise HarnessError(f"{sdist} has no tests/ package")


# --- the two runs ----------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    jwt: str | None
    jwt_file: str | None
    outcomes: dict[str, str]
    collect_errors: list[str]
    exit_status: int

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    def summary(self) -> str:
        return ", ".join(
            f"{self.count(outcome)} {outcome}" for outcome in (PASSED, FAILED, SKIPPED)
        )


def run_suite(
    label: str, tree: Path, requirements: Path, *, patched: bool, pytest_args: Sequence[str]
) -> Run:
    results = tree / f"results-{'patched' if patched else 'pyjwt'}.json"
    env = {k: v for k, v in os.environ.items() if k != "TURBOJWT_PATCH"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(tree / "probe"), str(requirements), env.get("PYTHONPATH")])
    )
    env["CONSUMER_SUITE_RESULTS"] = str(results)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # none of the environment's plugins
    if patched:
        env["TURBOJWT_PATCH"] = "1"
    print(f"\n==> Flask-JWT-Extended {FJE_VERSION}'s tests {label}", flush=True)
    plugins = ["-p", "consumer_probe", "-p", "no:cacheprovider"]
    options = ["-q", "--tb=short", "--disable-warnings"]
    command = [sys.executable, "-m", "pytest", *plugins, *options, *pytest_args, "tests"]
    subprocess.run(command, cwd=tree, env=env, check=False)
    if not results.is_file():
        raise HarnessError(f"pytest left no results {label}: see its output above")
    return Run(label=label, **json.loads(results.read_text(encoding="utf-8")))


def problems(baseline: Run, patched: Run) -> list[str]:
    found = []
    if baseline.jwt != "jwt":
        found.append(f"the baseline ran on {baseline.jwt} ({baseline.jwt_file}), not PyJWT")
    if patched.jwt != "turbojwt":
        found.append(f"the patched run ran on {patched.jwt} ({patched.jwt_file}), not turbojwt")
    for run in (baseline, patched):
        if not run.outcomes:
            found.append(f"no test ran {run.label}")
        if run.exit_status not in (0, 1):  # 1: tests failed, listed below
            found.append(f"pytest exited with status {run.exit_status} {run.label}")
        if run.collect_errors:
            found.append(f"collection errors {run.label}: {', '.join(run.collect_errors)}")
        failed = sorted(node for node, outcome in run.outcomes.items() if outcome == FAILED)
        if failed:
            found.append(f"failed {run.label}: {', '.join(failed)}")
    for node in sorted(baseline.outcomes.keys() | patched.outcomes.keys()):
        before, after = baseline.outcomes.get(node), patched.outcomes.get(node)
        if before != after:
            found.append(f"{node}: {before} on PyJWT, {after} with turbojwt patched in")
    return found


def check_environment() -> None:
    try:
        installed = importlib.metadata.version("pyjwt")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != PYJWT_VERSION:
        raise HarnessError(f"the baseline needs PyJWT {PYJWT_VERSION} (found {installed})")
    if importlib.util.find_spec("_turbojwt_autopatch") is None:
        raise HarnessError("turbojwt's TURBOJWT_PATCH switch is not installed: pip install -e .")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    elif args:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check_environment()
        sdist = obtain_sdist()
        requirements = obtain_requirements()
        with tempfile.TemporaryDirectory(prefix="flask-jwt-extended-") as scratch:
            tree = Path(scratch)
            extract(sdist, tree)
            (tree / "probe").mkdir()
            (tree / "probe" / "consumer_probe.py").write_text(PROBE)
            baseline = run_suite(
                f"on PyJWT {PYJWT_VERSION}", tree, requirements, patched=False, pytest_args=args
            )
            patched = run_suite(
                "with turbojwt patched in (TURBOJWT_PATCH=1)",
                tree,
                requirements,
                patched=True,
                pytest_args=args,
            )
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    found = problems(baseline, patched)
    print()
    for run in (baseline, patched):
        print(f"Flask-JWT-Extended {FJE_VERSION} {run.label}: {run.summary()}")
    if found:
        print(f"\n{len(found)} problem(s):", *found, sep="\n  ")
        return 1
    print(f"Same outcome for each of the {len(patched.outcomes)} tests.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
