"""Each turbojwt module has every module-level name of the PyJWT 2.15.1 module it replaces.

Code written against PyJWT reaches into its modules: ``mock.patch("jwt.api_jwt.datetime")``
to move the clock, ``jwt.algorithms.RSAPrivateKey`` or ``jwt.api_jws.binascii`` in type
checks and patches. So ``dir()`` of each PyJWT module is a subset of turbojwt's, save the
few names listed below with their reason, and where PyJWT's name is an import from outside
the package (the standard library, ``typing``, ``cryptography``) turbojwt's is the same
object. turbojwt's own extra names are allowed.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType
from typing import Any, get_origin

import pytest

SUBMODULES = [
    "algorithms",
    "api_jwk",
    "api_jws",
    "api_jwt",
    "exceptions",
    "help",
    "jwk_set_cache",
    "jwks_client",
    "types",
    "utils",
    "warnings",
]
MODULES = ["", *SUBMODULES]  # "" is the package itself

# (module, name) -> why turbojwt's module does not have it.
DELIBERATE: dict[tuple[str, str], str] = {
    ("api_jwt", "__annotations__"): (
        "made by the compiler for PyJWT's type aliases declared under TYPE_CHECKING; turbojwt "
        "declares none at module level, and the empty dict is no API"
    ),
}
if sys.version_info < (3, 10):
    DELIBERATE[("algorithms", "TypeAlias")] = (
        "PyJWT takes it from typing_extensions before Python 3.10; turbojwt has no dependencies"
    )
if sys.version_info < (3, 11):
    DELIBERATE[("algorithms", "Never")] = (
        "PyJWT takes it from typing_extensions before Python 3.11 (without cryptography); "
        "turbojwt has no dependencies"
    )


def module_pair(name: str) -> tuple[ModuleType, ModuleType]:
    suffix = f".{name}" if name else ""
    return importlib.import_module(f"jwt{suffix}"), importlib.import_module(f"turbojwt{suffix}")


#: Names the interpreter adds to a module at run time, not part of its source: the warnings
#: machinery creates ``__warningregistry__`` in a module a warning was attributed to.
RUNTIME_ARTEFACTS = frozenset({"__warningregistry__"})


def missing_names(name: str) -> list[str]:
    pyjwt_module, turbojwt_module = module_pair(name)
    return sorted(
        attribute
        for attribute in set(dir(pyjwt_module)) - set(dir(turbojwt_module))
        if (name, attribute) not in DELIBERATE and attribute not in RUNTIME_ARTEFACTS
    )


def is_foreign_import(attribute: str, value: Any) -> bool:
    """A module, class or function PyJWT imports from outside itself under its own name.

    turbojwt must hold the same object. Aliases PyJWT builds (``JWKDict = dict[str, Any]``,
    ``AllowedRSAKeys = Never`` without cryptography) are its own definitions, not imports.
    """
    if isinstance(value, ModuleType):
        return value.__name__.rpartition(".")[2] == attribute and not value.__name__.startswith(
            "jwt"
        )
    if get_origin(value) is not None or getattr(value, "__name__", None) != attribute:
        return False
    origin = getattr(value, "__module__", None)
    return (
        callable(value)
        and isinstance(origin, str)
        and not (origin == "jwt" or origin.startswith("jwt."))
    )


@pytest.mark.parametrize("name", MODULES, ids=[name or "jwt" for name in MODULES])
def test_every_pyjwt_name_exists(name: str) -> None:
    assert missing_names(name) == []


@pytest.mark.parametrize("name", MODULES, ids=[name or "jwt" for name in MODULES])
def test_imported_names_are_the_same_objects(name: str) -> None:
    pyjwt_module, turbojwt_module = module_pair(name)
    different = [
        attribute
        for attribute in dir(pyjwt_module)
        if not attribute.startswith("__")
        and (name, attribute) not in DELIBERATE
        and is_foreign_import(attribute, getattr(pyjwt_module, attribute))
        and getattr(turbojwt_module, attribute) is not getattr(pyjwt_module, attribute)
    ]
    assert different == []


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodule_attributes_of_the_package(name: str) -> None:
    """``jwt.algorithms`` and friends: the package's attribute is its own submodule."""
    pyjwt_module, turbojwt_module = module_pair(name)
    assert getattr(importlib.import_module("jwt"), name) is pyjwt_module
    assert getattr(importlib.import_module("turbojwt"), name) is turbojwt_module


def test_the_clock_name_of_api_jwt_is_the_datetime_class() -> None:
    """What ``mock.patch("jwt.api_jwt.datetime")`` replaces, and what it restores."""
    import datetime

    from turbojwt import api_jwt

    assert api_jwt.datetime is datetime.datetime
    assert api_jwt.timezone is datetime.timezone
    assert api_jwt.timedelta is datetime.timedelta


def test_every_pyjwt_name_exists_without_cryptography() -> None:
    """The same comparison in an interpreter where ``cryptography`` is not installed."""
    code = f"""
import importlib.abc, importlib, json, sys

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Absent())
missing = {{}}
for name in {MODULES!r}:
    suffix = "." + name if name else ""
    theirs = importlib.import_module("jwt" + suffix)
    ours = importlib.import_module("turbojwt" + suffix)
    missing[name] = sorted(set(dir(theirs)) - set(dir(ours)))
print(json.dumps([importlib.import_module("jwt").algorithms.has_crypto, missing]))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    has_crypto, missing = json.loads(result.stdout)
    assert has_crypto is False
    assert {
        module: [name for name in names if (module, name) not in DELIBERATE]
        for module, names in missing.items()
    } == {name: [] for name in MODULES}
