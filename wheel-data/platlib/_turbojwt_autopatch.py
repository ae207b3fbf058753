"""turbojwt's zero-code switches: ``TURBOJWT_PATCH=1`` and ``turbojwt-run``.

Both make every ``import jwt`` in a program resolve to turbojwt, through
``turbojwt.patch_pyjwt()``, without editing the program or the libraries it uses.

* ``turbojwt-autopatch.pth``, installed next to this module, calls
  :func:`install_from_environment` at interpreter start when ``TURBOJWT_PATCH`` is set.
* ``turbojwt-run`` (or ``python -m turbojwt.run``) runs a script or module with the patch
  applied, and sets ``TURBOJWT_PATCH=1`` for the interpreters it starts.

This module is top-level, outside the ``turbojwt`` package, on purpose: importing it loads
nothing of turbojwt, so interpreter start stays as fast as before, and when turbojwt's
compiled extension cannot load the switch warns and leaves PyJWT in place instead of
breaking the program. The patch itself is applied at the first ``import jwt``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

ENV_VAR = "TURBOJWT_PATCH"
PYJWT = "jwt"

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})

USAGE = """\
usage: turbojwt-run script.py [args ...]
       turbojwt-run -m module [args ...]

Run a Python program with every `import jwt` resolving to turbojwt (PyJWT's API on a Rust
core), its libraries' imports included. Arguments are passed on as `python` would; the
interpreters the program starts inherit TURBOJWT_PATCH=1 and are patched too.
"""


def requested(value: str | None) -> bool:
    """Whether a ``TURBOJWT_PATCH`` value asks for the patch; an unknown value warns."""
    if value is None:
        return False
    normalized = value.strip().lower()
    if normalized in _ON:
        return True
    if normalized not in _OFF:
        warnings.warn(
            f"{ENV_VAR}={value!r} is neither 1/true/yes/on nor 0/false/no/off; "
            "turbojwt is not patched in",
            RuntimeWarning,
            stacklevel=2,
        )
    return False


def apply() -> bool:
    """Patch turbojwt in for PyJWT now; if turbojwt cannot load, warn and leave PyJWT."""
    try:
        import turbojwt
    except ImportError as error:
        warnings.warn(
            f"turbojwt cannot be loaded ({error}); `import jwt` stays PyJWT",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    turbojwt.patch_pyjwt()
    return True


class _PatchOnFirstImport(importlib.abc.MetaPathFinder):
    """Applies the patch when ``jwt`` is first imported, then leaves ``sys.meta_path``."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PYJWT:  # `import jwt.x` imports `jwt` first
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        apply()
        # Patched, turbojwt's own finder now leads sys.meta_path; if not, PyJWT is found
        # as usual. This finder is out of the list the import system is walking, so ask
        # the others here rather than return None and have one of them skipped.
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                find_spec(fullname, path, target) if find_spec is not None else None
            )
            if spec is not None:
                return spec
        return None


def install() -> None:
    """Patch at the first ``import jwt``, or now if ``jwt`` is already imported."""
    if PYJWT in sys.modules:
        apply()
    elif not any(isinstance(finder, _PatchOnFirstImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnFirstImport())


def install_from_environment() -> None:
    """The ``.pth`` file's entry point: install when ``TURBOJWT_PATCH`` asks for it."""
    if requested(os.environ.get(ENV_VAR)):
        install()


def main(argv: Sequence[str] | None = None) -> int:
    """``turbojwt-run``: run a script or ``-m module`` with the patch, like ``python`` would."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE, end="")
        return 0
    if not args or args == ["-m"] or (args[0].startswith("-") and args[0] != "-m"):
        print(USAGE, end="", file=sys.stderr)
        return 2
    if args[0] != "-m" and not os.path.exists(args[0]):
        print(f"turbojwt-run: can't open file {args[0]!r}: no such file", file=sys.stderr)
        return 2

    os.environ[ENV_VAR] = "1"  # interpreters the program starts are patched too
    install()
    # sys.path[0] is where this runner was found; make it what `python` would have put there.
    replace_path0 = bool(sys.path) and not getattr(sys.flags, "safe_path", False)
    if args[0] == "-m":
        if replace_path0:
            sys.path[0] = os.getcwd()
        sys.argv = args[1:]  # run_module puts the module's file in argv[0]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        if replace_path0:
            sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
