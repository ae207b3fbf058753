"""``python -m turbojwt.run script.py [args]`` / ``-m module [args]``: run with the patch.

The same as the ``turbojwt-run`` command, whose code lives in the top-level
``_turbojwt_autopatch`` module so that it can back off to PyJWT when turbojwt's extension
cannot load; ``python -m turbojwt.run`` imports the turbojwt package first, so it needs
a turbojwt that loads.
"""

from __future__ import annotations

import sys

from _turbojwt_autopatch import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
