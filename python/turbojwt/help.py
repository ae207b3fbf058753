"""Environment report for bug reports: ``python -m turbojwt.help``.

``info()`` has the keys PyJWT's ``jwt.help.info()`` has, so tools that parse it
keep working. ``"pyjwt"`` carries the PyJWT version whose behaviour turbojwt
reproduces; turbojwt's own version is under ``"turbojwt"``.
"""

from __future__ import annotations

import json
import platform
import sys
from types import ModuleType

from . import __version__ as pyjwt_version
from . import _turbojwt

# PyJWT's module attributes, kept for code that reads them.
cryptography: ModuleType | None
try:
    import cryptography
except ModuleNotFoundError:  # pragma: no cover - exercised without the crypto extra
    cryptography = None
cryptography_version: str = "" if cryptography is None else cryptography.__version__

__all__ = ["info", "main"]


def _platform() -> dict[str, str]:
    try:
        return {"system": platform.system(), "release": platform.release()}
    except OSError:  # uname() can fail in restricted sandboxes
        return {"system": "Unknown", "release": "Unknown"}


def _implementation() -> dict[str, str]:
    name = platform.python_implementation()
    if name == "CPython":
        version = platform.python_version()
    elif name == "PyPy":
        pypy = sys.pypy_version_info  # type: ignore[attr-defined]
        version = f"{pypy.major}.{pypy.minor}.{pypy.micro}"
        if pypy.releaselevel != "final":
            version += pypy.releaselevel
    else:
        version = "Unknown"
    return {"name": name, "version": version}


def _cryptography_version() -> str:
    return cryptography_version


def _turbojwt_version() -> str:
    # Prefer the installed distribution; a source checkout has no metadata.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("turbojwt")
    except PackageNotFoundError:
        from . import __turbojwt_version__

        return __turbojwt_version__


def info() -> dict[str, dict[str, str]]:
    """Collect platform, interpreter and library versions for a bug report."""
    return {
        "platform": _platform(),
        "implementation": _implementation(),
        "cryptography": {"version": _cryptography_version()},
        "pyjwt": {"version": pyjwt_version},
        # Release wheels are profile-guided and builds from source are not (docs/design.md).
        "turbojwt": {"version": _turbojwt_version(), "build": _turbojwt.__build__},
    }


EMULATED_NOTE = (
    f'"pyjwt" is the PyJWT version whose API and behaviour turbojwt emulates ({pyjwt_version}), '
    'not an installed PyJWT; turbojwt\'s own version is under "turbojwt".'
)


def main() -> None:
    """Print :func:`info` as indented JSON with sorted keys.

    Standard output stays PyJWT's JSON, for tools that parse it; the note that the
    ``"pyjwt"`` version is the emulated one goes to standard error.
    """
    print(json.dumps(info(), sort_keys=True, indent=2))
    sys.stderr.write(f"note: {EMULATED_NOTE}\n")


if __name__ == "__main__":
    main()
