"""mkdocs hooks: the command-line reference shows the help text of the installed CLI.

A page line ``<!-- turbojwt-cli-help COMMAND -->`` becomes the output of
``turbojwt COMMAND --help`` (``main`` for the top-level help), so the page
cannot drift from the parser.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from typing import Any

_MARKER = re.compile(r"^<!-- turbojwt-cli-help (\S+) -->$", re.MULTILINE)


def _help(command: str) -> str:
    from turbojwt.cli import main

    arguments = ["--help"] if command == "main" else [command, "--help"]
    output = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
    try:
        with contextlib.redirect_stdout(output), contextlib.suppress(SystemExit):
            main(arguments, prog="turbojwt")
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    text = output.getvalue()
    if not text.strip():
        raise RuntimeError(f"turbojwt {command} --help printed nothing")
    return f"```text\n{text.rstrip()}\n```"


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _MARKER.sub(lambda match: _help(match.group(1)), markdown)
