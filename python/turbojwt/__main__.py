"""``python -m turbojwt``: the ``turbojwt`` command line (see :mod:`turbojwt.cli`)."""

from __future__ import annotations

import sys

from turbojwt.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m turbojwt"))
