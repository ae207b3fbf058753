"""Run the benchmarks and print PyJWT/turbojwt speed ratios as a markdown table.

    python benches/ratios.py [--json FILE] [extra pytest arguments, e.g. -k hs256]

pytest's own output goes to stderr, so stdout holds only the table, ready to
paste into docs/benchmarks.md. Cells are pytest-benchmark medians, with GC
disabled while timing; ratio = PyJWT time / turbojwt time (above 1 = faster).
Set TURBOJWT_BENCH_TARGET=jwt to time PyJWT in the turbojwt column too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("pyjwt", "turbojwt")
COLUMN_TITLES = {"pyjwt": "PyJWT", "turbojwt": "turbojwt"}


def run_pytest(json_path: Path, pytest_args: list[str]) -> int:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "benches",
        "--benchmark-only",
        "--benchmark-disable-gc",
        f"--benchmark-json={json_path}",
        "-q",
        "-rs",
        *pytest_args,
    ]
    # stdout of the child goes to our stderr, keeping our stdout for the table
    return subprocess.run(command, cwd=REPO_ROOT, stdout=sys.stderr, check=False).returncode


def format_us(seconds: float | None) -> str:
    if seconds is None:
        return "skipped"
    us = seconds * 1e6
    if us >= 1000:
        return f"{us:,.0f}"
    if us >= 100:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def format_ratio(baseline: float | None, candidate: float | None) -> str:
    if baseline is None or candidate is None:
        return "-"
    ratio = baseline / candidate
    return f"{ratio:.0f}x" if ratio >= 100 else f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def medians_by_case(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{case: {column: median seconds}}, cases in the order they ran.

    A column is the library, or "library/mode" for benchmarks that record a mode (a loop
    against decode_batch, one thread against two).
    """
    cases: dict[str, dict[str, float]] = {}
    for bench in report["benchmarks"]:
        info = bench["extra_info"]
        column = f"{info['lib']}/{info['mode']}" if "mode" in info else info["lib"]
        cases.setdefault(bench["group"], {})[column] = bench["stats"]["median"]
    return cases


def render_modes(cases: dict[str, dict[str, float]]) -> list[str]:
    """Rows for cases timed in several modes: each column's median per run."""
    lines: list[str] = []
    for case, medians in cases.items():
        if any("/" in column for column in medians):
            cells = ", ".join(
                f"{column} {format_us(seconds)}" for column, seconds in medians.items()
            )
            lines.append(f"| {case} | {cells} |")
    return lines


def versions(report: dict[str, Any]) -> dict[str, str]:
    """{library: "module version"} as recorded by the benchmarks."""
    return {
        info["lib"]: f"{info['module']} {info['version']}"
        for info in (bench["extra_info"] for bench in report["benchmarks"])
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        "| case | PyJWT µs | turbojwt µs | ratio (PyJWT/turbojwt) |",
        "|---|---:|---:|---:|",
    ]
    cases = medians_by_case(report)
    plain = {case: m for case, m in cases.items() if not any("/" in column for column in m)}
    # HS256 first, then the rest in the order they ran (sorted() is stable)
    for case in sorted(plain, key=lambda name: not name.startswith("HS256")):
        medians = cases[case]
        pyjwt, turbojwt = (medians.get(lib) for lib in LIBRARIES)
        lines.append(
            f"| {case} | {format_us(pyjwt)} | {format_us(turbojwt)} "
            f"| {format_ratio(pyjwt, turbojwt)} |"
        )
    modes = render_modes(cases)
    if modes:
        lines += [
            "",
            "| case (one run decodes many tokens) | median µs per run |",
            "|---|---|",
            *modes,
        ]
    machine = report.get("machine_info", {})
    ran = versions(report)
    lines += [
        "",
        "Median per operation; columns: "
        + ", ".join(f"{COLUMN_TITLES[lib]} = {ran[lib]}" for lib in LIBRARIES if lib in ran)
        + f"; {machine.get('python_implementation', 'Python')} "
        f"{machine.get('python_version', '?')} on {machine.get('machine', '?')}, "
        f"pytest-benchmark {report.get('version', '?')}, GC disabled while timing.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Unknown arguments are passed on to pytest.",
    )
    parser.add_argument("--json", type=Path, help="keep pytest-benchmark's JSON report here")
    args, pytest_args = parser.parse_known_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        json_path: Path = args.json or Path(tmp, "benchmarks.json")
        status = run_pytest(json_path.resolve(), pytest_args)
        if not json_path.exists():
            print(f"pytest exited with {status} and wrote no report", file=sys.stderr)
            return status or 1
        report = json.loads(json_path.read_text(encoding="utf-8"))
    print(render(report))
    return status


if __name__ == "__main__":
    sys.exit(main())
