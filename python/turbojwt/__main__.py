"""Command line: `python -m turbojwt bench`."""

from __future__ import annotations

import argparse
import sys

from turbojwt import _bench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m turbojwt", description="turbojwt tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench = commands.add_parser(
        "bench",
        help="time turbojwt against PyJWT",
        description=_bench.DESCRIPTION,
        epilog=_bench.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _bench.add_arguments(bench)
    bench.set_defaults(handler=_bench.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
