"""``patch_pyjwt()``: every ``import jwt`` in the process resolves to turbojwt.

For programs whose PyJWT calls are made by libraries they do not own (Flask-JWT-Extended,
SimpleJWT, SDKs ...). After the patch, ``sys.modules["jwt"]`` is the ``turbojwt`` module
and ``sys.modules["jwt.<sub>"]`` the ``turbojwt.<sub>`` one, loaded or not yet: one set of
module objects under two names, so class identity holds and ``mock.patch("jwt.x.y")``
patches turbojwt.

Exceptions stay catchable whatever the import order:

* patched before anything imported PyJWT (``TURBOJWT_PATCH=1``, ``turbojwt-run``, or an
  early call), every module sees turbojwt's classes, and turbojwt raises them;
* patched after, PyJWT's modules are set aside, and until ``unpatch_pyjwt()`` the
  exception classes turbojwt raises are also subclasses of PyJWT's same-named ones, so
  ``except jwt.InvalidTokenError`` written against the PyJWT already imported still
  catches what turbojwt raises. Modules that bound PyJWT objects (``import jwt``,
  ``from jwt import decode``) keep them, and keep running PyJWT through them: a
  ``RuntimeWarning`` names them, since only an earlier patch can cover them.

Errors pickle as turbojwt's classes, by their ``turbojwt.exceptions`` names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import warnings
from collections.abc import Sequence
from types import ModuleType

PYJWT = "jwt"
TURBOJWT = __name__.partition(".")[0]


def _is_pyjwt_name(name: str) -> bool:
    return name == PYJWT or name.startswith(PYJWT + ".")


def _is_turbojwt_name(name: str) -> bool:
    return name == TURBOJWT or name.startswith(TURBOJWT + ".")


def _is_turbojwt_module(module: object) -> bool:
    return isinstance(module, ModuleType) and _is_turbojwt_name(module.__name__)


class _AliasLoader(importlib.abc.Loader):
    """Loads ``jwt.<sub>`` as the already-imported ``turbojwt.<sub>``, not as a copy."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder, replaced in sys.modules by exec_module

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds once this returns.
        sys.modules[module.__name__] = self._module


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``jwt`` and ``jwt.<sub>`` to ``turbojwt`` and ``turbojwt.<sub>``."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not _is_pyjwt_name(fullname):
            return None
        own_name = TURBOJWT + fullname[len(PYJWT) :]
        try:
            module = importlib.import_module(own_name)
        except ModuleNotFoundError as error:
            if error.name == own_name:
                return None  # the usual "No module named 'jwt.<sub>'" follows
            raise
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(module), is_package=hasattr(module, "__path__")
        )


class _Patch:
    """What patch_pyjwt() changed, for unpatch_pyjwt() to undo."""

    def __init__(
        self,
        finder: _AliasFinder,
        displaced: dict[str, ModuleType],
        rebased: list[tuple[type, tuple[type, ...]]],
    ) -> None:
        self.finder = finder
        self.displaced = displaced  # PyJWT's modules that were in sys.modules
        self.rebased = rebased  # (turbojwt class, its original __bases__)


_lock = threading.Lock()
_active: _Patch | None = None


def patch_pyjwt() -> None:
    """Make ``import jwt`` and every ``jwt.<submodule>`` resolve to turbojwt, process-wide.

    Idempotent. Best called before anything imports PyJWT; see the module docstring for
    what happens to modules that imported it earlier, which a ``RuntimeWarning`` names.
    """
    global _active
    with _lock:
        if _active is not None:
            return
        displaced = {
            name: module
            for name, module in list(sys.modules.items())
            if _is_pyjwt_name(name) and not _is_turbojwt_module(module)
        }
        rebased = _rebase_onto_pyjwt(displaced)
        for name in displaced:
            del sys.modules[name]
        for name, module in list(sys.modules.items()):
            if _is_turbojwt_name(name) and isinstance(module, ModuleType):
                sys.modules[PYJWT + name[len(TURBOJWT) :]] = module
        finder = _AliasFinder()
        sys.meta_path.insert(0, finder)
        _active = _Patch(finder, displaced, rebased)
    holders = _modules_holding(displaced)
    if holders:
        warnings.warn(_holders_message(holders), RuntimeWarning, stacklevel=2)


def unpatch_pyjwt() -> None:
    """Undo patch_pyjwt(): later imports of ``jwt`` get PyJWT again.

    Modules that imported ``jwt`` while patched keep turbojwt. No-op when not patched.
    """
    global _active
    with _lock:
        patch, _active = _active, None
        if patch is None:
            return
        if patch.finder in sys.meta_path:
            sys.meta_path.remove(patch.finder)
        for name, module in list(sys.modules.items()):
            if _is_pyjwt_name(name) and _is_turbojwt_module(module):
                del sys.modules[name]
        sys.modules.update(patch.displaced)
        for cls, bases in reversed(patch.rebased):
            cls.__bases__ = bases


def is_patched() -> bool:
    return _active is not None


# --- PyJWT imported first -----------------------------------------------------------------


def _rebase_onto_pyjwt(displaced: dict[str, ModuleType]) -> list[tuple[type, tuple[type, ...]]]:
    """Make turbojwt's exception classes subclass PyJWT's same-named ones.

    ``except`` matches by real subclassing, so this is what lets an ``except`` clause that
    names a class of the PyJWT imported earlier catch what turbojwt raises.

    Only classes whose first base is turbojwt's own can take an extra base: CPython
    refuses a new base with another instance layout, and PyJWT's root ``PyJWTError`` adds
    a ``__weakref__`` slot that ``Exception`` lacks. So the root ``PyJWTError``, which is
    never raised itself, and the warning classes, which derive from builtins, stay as
    they are; PyJWT's ``PyJWTError`` still catches everything turbojwt raises, through
    the subclasses.
    """
    from . import exceptions

    theirs = displaced.get(PYJWT + exceptions.__name__[len(TURBOJWT) :])
    if theirs is None:
        return []
    rebased: list[tuple[type, tuple[type, ...]]] = []
    for name, own in vars(exceptions).items():
        their = getattr(theirs, name, None)
        if not (isinstance(own, type) and isinstance(their, type)):
            continue
        original = own.__bases__
        if own.__module__ != exceptions.__name__ or original[0].__module__ != own.__module__:
            continue
        if issubclass(own, their):
            continue
        try:
            own.__bases__ = (*original, their)
        except TypeError:
            continue  # a PyJWT release whose hierarchy differs from 2.15.1's
        rebased.append((own, original))
    return rebased


def _modules_holding(displaced: dict[str, ModuleType]) -> dict[str, list[str]]:
    """Module name -> the global names through which it holds one of PyJWT's objects."""
    pyjwt_objects = {id(module) for module in displaced.values()}
    for module in displaced.values():
        for value in vars(module).values():
            # Classes, functions, bound methods (jwt.decode) and instances PyJWT defined.
            if _is_pyjwt_name(str(getattr(value, "__module__", ""))):
                pyjwt_objects.add(id(value))
    holders: dict[str, list[str]] = {}
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if _is_pyjwt_name(name) or _is_turbojwt_name(name) or not isinstance(namespace, dict):
            continue
        held = sorted(key for key, value in list(namespace.items()) if id(value) in pyjwt_objects)
        if held:
            holders[name] = held
    return holders


def _holders_message(holders: dict[str, list[str]]) -> str:
    listing = "; ".join(f"{name} ({', '.join(names)})" for name, names in sorted(holders.items()))
    return (
        "PyJWT was imported before turbojwt.patch_pyjwt(), and these modules still hold "
        f"PyJWT objects, through which they keep running PyJWT: {listing}. "
        "turbojwt's exception classes now subclass PyJWT's, so `except` clauses naming "
        "PyJWT's classes still catch turbojwt's errors. To run these modules on turbojwt "
        "too, patch before they import jwt: TURBOJWT_PATCH=1, turbojwt-run, or an earlier "
        "turbojwt.patch_pyjwt()."
    )
