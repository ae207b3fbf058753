"""turbojwt.patch_pyjwt(), the TURBOJWT_PATCH switch and turbojwt-run.

The patch changes process-wide state (sys.modules, the exception hierarchy) and import
order is its subject, so every scenario runs in a fresh interpreter: a snippet that ends
by printing its observations as JSON, which the test then checks.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest
import turbojwt

REPO = Path(__file__).resolve().parents[1]
SWITCH_SOURCES = REPO / "wheel-data" / "platlib"
PYJWT_VERSION = "2.15.1"
PYJWT_SUBMODULES = [
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
KEY = "k" * 32

PRELUDE = f"""\
import importlib, json, pickle, sys, warnings
warnings.simplefilter("always")
KEY = {KEY!r}
SUBMODULES = {PYJWT_SUBMODULES!r}

def report(**facts):
    print(json.dumps(facts))

def all_resolve_to_turbojwt():
    return all(
        importlib.import_module("jwt." + name) is importlib.import_module("turbojwt." + name)
        for name in SUBMODULES
    )

def caught(call, cls):
    try:
        call()
    except cls:
        return True
    except Exception:
        return False
    return False
"""

# Makes `import turbojwt` fail the way a missing or broken extension does.
BLOCK_EXTENSION = """\
import importlib.abc, sys

class BlockExtension(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "turbojwt._turbojwt":
            raise ImportError("extension unavailable (test)", name=name)
        return None

sys.meta_path.insert(0, BlockExtension())
"""

# A module written against PyJWT, imported before the patch in some scenarios.
LEGACY_MODULE = """\
import jwt
from jwt import InvalidTokenError, decode


def check(token, decode_function):
    try:
        decode_function(token, "k" * 32, algorithms=["HS256"])
    except InvalidTokenError:
        return "caught"
    return "accepted"
"""


def python(
    *args: str,
    switch: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, like the test's own, with TURBOJWT_PATCH=switch (unset if None)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TURBOJWT_PATCH", "PYTHONWARNINGS")}
    if switch is not None:
        env["TURBOJWT_PATCH"] = switch
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def observe(code: str, *, switch: str | None = None, cwd: Path | None = None) -> Any:
    """Run PRELUDE + code in a fresh interpreter; return what its report(...) printed."""
    result = python("-c", PRELUDE + textwrap.dedent(code), switch=switch, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def legacy_dir(tmp_path: Path) -> Path:
    (tmp_path / "legacy_auth.py").write_text(LEGACY_MODULE)
    (tmp_path / "bystander.py").write_text("import jwt as _unused\ndel _unused\n")
    return tmp_path


# --- patched before anything imports PyJWT ------------------------------------------------


def test_import_jwt_and_every_submodule_resolve_to_turbojwt() -> None:
    facts = observe(
        """
        import turbojwt
        with warnings.catch_warnings(record=True) as caught_warnings:
            turbojwt.patch_pyjwt()
        import jwt
        from jwt.api_jwt import decode
        names = {getattr(module, "__name__", "") for module in list(sys.modules.values())}
        report(
            same_module=jwt is turbojwt,
            submodules=all_resolve_to_turbojwt(),
            decode=decode is turbojwt.api_jwt.decode,
            version=jwt.__version__,
            warnings=len(caught_warnings),
            pyjwt_loaded=any(name == "jwt" or name.startswith("jwt.") for name in names),
        )
        """
    )
    assert facts == {
        "same_module": True,
        "submodules": True,
        "decode": True,
        "version": PYJWT_VERSION,
        "warnings": 0,
        "pyjwt_loaded": False,
    }


def test_patch_is_idempotent_and_silent_when_pyjwt_was_not_imported() -> None:
    facts = observe(
        """
        import turbojwt, turbojwt._patch
        with warnings.catch_warnings(record=True) as caught_warnings:
            turbojwt.patch_pyjwt()
            turbojwt.patch_pyjwt()
        import jwt
        finders = [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]
        report(finders=len(finders), warnings=len(caught_warnings), same=jwt is turbojwt)
        """
    )
    assert facts == {"finders": 1, "warnings": 0, "same": True}


def test_unknown_submodule_is_not_found_under_either_name() -> None:
    facts = observe(
        """
        import turbojwt
        turbojwt.patch_pyjwt()
        try:
            import jwt.no_such_module
        except ModuleNotFoundError as error:
            report(message=str(error), name=error.name)
        """
    )
    assert facts == {
        "message": "No module named 'jwt.no_such_module'",
        "name": "jwt.no_such_module",
    }


def test_exceptions_are_turbojwts_and_caught_by_their_jwt_names() -> None:
    facts = observe(
        """
        import turbojwt
        turbojwt.patch_pyjwt()
        import jwt
        from jwt.exceptions import DecodeError, InvalidSignatureError
        token = jwt.encode({"a": 1}, KEY)
        try:
            jwt.decode(token, "x" * 32, algorithms=["HS256"])
        except InvalidSignatureError as error:
            raised = error
        report(
            identity=DecodeError is turbojwt.exceptions.DecodeError,
            top_level=jwt.InvalidSignatureError is turbojwt.InvalidSignatureError,
            raised_type=type(raised) is InvalidSignatureError,
            via_base=caught(lambda: jwt.decode("x", KEY, algorithms=["HS256"]), jwt.PyJWTError),
        )
        """
    )
    assert facts == {"identity": True, "top_level": True, "raised_type": True, "via_base": True}


def test_errors_pickle_as_turbojwt_classes() -> None:
    facts = observe(
        """
        import turbojwt
        turbojwt.patch_pyjwt()
        import jwt
        errors = []
        for call in (
            lambda: jwt.decode("not.a.token", KEY, algorithms=["HS256"]),
            lambda: jwt.decode(jwt.encode({"exp": 1}, KEY), KEY, algorithms=["HS256"]),
            lambda: jwt.decode(jwt.encode({}, KEY), KEY, algorithms=["HS256"],
                               options={"require": ["sub"]}),
        ):
            try:
                call()
            except jwt.PyJWTError as error:
                errors.append(error)
        out = []
        for error in errors:
            copy = pickle.loads(pickle.dumps(error))
            out.append([type(copy) is type(error), type(copy).__module__, type(copy).__name__,
                        str(copy) == str(error), copy.args == error.args,
                        getattr(copy, "claim", None)])
        report(errors=out)
        """
    )
    assert facts["errors"] == [
        [True, "turbojwt.exceptions", "DecodeError", True, True, None],
        [True, "turbojwt.exceptions", "ExpiredSignatureError", True, True, None],
        [True, "turbojwt.exceptions", "MissingRequiredClaimError", True, True, "sub"],
    ]


def test_pickled_error_loads_in_an_unpatched_interpreter() -> None:
    pickled = observe(
        """
        import turbojwt
        turbojwt.patch_pyjwt()
        import jwt
        try:
            jwt.decode("x", KEY, algorithms=["HS256"])
        except jwt.DecodeError as error:
            report(hex=pickle.dumps(error).hex())
        """
    )["hex"]
    facts = observe(
        f"""
        error = pickle.loads(bytes.fromhex({pickled!r}))
        report(cls=type(error).__module__ + "." + type(error).__name__, message=str(error),
               jwt_loaded="jwt" in sys.modules)
        """
    )
    assert facts == {
        "cls": "turbojwt.exceptions.DecodeError",
        "message": "Not enough segments",
        "jwt_loaded": False,
    }


# --- PyJWT imported before the patch ------------------------------------------------------


def test_modules_holding_pyjwt_objects_are_named_in_a_warning(legacy_dir: Path) -> None:
    facts = observe(
        """
        import legacy_auth, bystander
        import turbojwt
        with warnings.catch_warnings(record=True) as caught_warnings:
            turbojwt.patch_pyjwt()
            turbojwt.patch_pyjwt()
        import jwt
        report(
            categories=[w.category.__name__ for w in caught_warnings],
            messages=[str(w.message) for w in caught_warnings],
            now_turbojwt=jwt is turbojwt and all_resolve_to_turbojwt(),
            legacy_keeps_pyjwt=legacy_auth.jwt.__name__,
        )
        """,
        cwd=legacy_dir,
    )
    assert facts["categories"] == ["RuntimeWarning"]
    message = facts["messages"][0]
    assert "PyJWT was imported before turbojwt.patch_pyjwt()" in message
    assert "legacy_auth (InvalidTokenError, decode, jwt)" in message
    assert "bystander" not in message
    assert facts["now_turbojwt"] is True
    assert facts["legacy_keeps_pyjwt"] == "jwt"


def test_pyjwt_classes_catch_what_turbojwt_raises_when_pyjwt_came_first(
    legacy_dir: Path,
) -> None:
    facts = observe(
        """
        import legacy_auth
        import jwt as pyjwt
        import turbojwt
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            turbojwt.patch_pyjwt()
        import jwt
        expired = jwt.encode({"exp": 1}, KEY)
        calls = {
            "DecodeError": lambda: jwt.decode("x", KEY, algorithms=["HS256"]),
            "InvalidSignatureError": lambda: jwt.decode(jwt.encode({}, "y" * 32), KEY,
                                                        algorithms=["HS256"]),
            "ExpiredSignatureError": lambda: jwt.decode(expired, KEY, algorithms=["HS256"]),
            "ImmatureSignatureError": lambda: jwt.decode(jwt.encode({"nbf": 2**40}, KEY), KEY,
                                                         algorithms=["HS256"]),
            "InvalidAudienceError": lambda: jwt.decode(jwt.encode({"aud": "a"}, KEY), KEY,
                                                       algorithms=["HS256"], audience="b"),
            "MissingRequiredClaimError": lambda: jwt.decode(jwt.encode({}, KEY), KEY,
                algorithms=["HS256"], options={"require": ["exp"]}),
            "InvalidAlgorithmError": lambda: jwt.decode(jwt.encode({}, KEY), KEY,
                                                        algorithms=["HS384"]),
            "InvalidKeyError": lambda: jwt.PyJWK({"kty": "foo"}),
        }
        outcomes = {}
        for name, call in calls.items():
            try:
                call()
            except Exception as error:
                outcomes[name] = [
                    type(error).__module__,
                    isinstance(error, getattr(pyjwt.exceptions, type(error).__name__)),
                    isinstance(error, pyjwt.exceptions.PyJWTError),
                ]
        report(
            outcomes=outcomes,
            legacy=legacy_auth.check(expired, jwt.decode),
            pickled=type(pickle.loads(pickle.dumps(turbojwt.DecodeError("m")))).__module__,
        )
        """,
        cwd=legacy_dir,
    )
    assert facts["legacy"] == "caught"
    assert facts["pickled"] == "turbojwt.exceptions"
    for name, outcome in facts["outcomes"].items():
        assert outcome == ["turbojwt.exceptions", True, True], name
    assert len(facts["outcomes"]) == 8


def test_unpatch_restores_pyjwt_and_the_exception_hierarchy(legacy_dir: Path) -> None:
    facts = observe(
        """
        import legacy_auth
        original = sys.modules["jwt"]
        import turbojwt
        bases_before = turbojwt.DecodeError.__bases__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            turbojwt.patch_pyjwt()
        rebased = turbojwt.DecodeError.__bases__ != bases_before
        import jwt.help
        turbojwt.unpatch_pyjwt()
        turbojwt.unpatch_pyjwt()
        import jwt
        import jwt.exceptions
        report(
            rebased=rebased,
            restored=jwt is original and jwt.exceptions is original.exceptions,
            bases=turbojwt.DecodeError.__bases__ == bases_before,
            subclass=issubclass(turbojwt.DecodeError, original.DecodeError),
            aliases=sorted(n for n, m in sys.modules.items()
                           if n.startswith("jwt") and m.__name__.startswith("turbojwt")),
            finders=[type(f).__name__ for f in sys.meta_path if "Alias" in type(f).__name__],
        )
        """,
        cwd=legacy_dir,
    )
    assert facts == {
        "rebased": True,
        "restored": True,
        "bases": True,
        "subclass": False,
        "aliases": [],
        "finders": [],
    }


def test_unpatch_then_import_loads_pyjwt_and_patch_works_again() -> None:
    facts = observe(
        """
        import turbojwt
        turbojwt.unpatch_pyjwt()  # not patched: nothing to undo
        turbojwt.patch_pyjwt()
        import jwt as first
        turbojwt.unpatch_pyjwt()
        import jwt as second
        second_is_pyjwt = second.__name__ == "jwt" and "site-packages" in second.__file__
        raised_pyjwt = caught(lambda: second.decode("x", KEY, algorithms=["HS256"]),
                              second.exceptions.DecodeError)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            turbojwt.patch_pyjwt()
        import jwt as third
        report(first=first is turbojwt, second=second_is_pyjwt, raised=raised_pyjwt,
               third=third is turbojwt and all_resolve_to_turbojwt())
        """
    )
    assert facts == {"first": True, "second": True, "raised": True, "third": True}


# --- the TURBOJWT_PATCH switch ------------------------------------------------------------


def test_env_switch_patches_at_the_first_import_of_jwt() -> None:
    facts = observe(
        """
        loaded_at_start = "turbojwt" in sys.modules
        import jwt.exceptions
        import jwt
        report(loaded_at_start=loaded_at_start, name=jwt.__name__,
               submodules=all_resolve_to_turbojwt())
        """,
        switch="1",
    )
    assert facts == {"loaded_at_start": False, "name": "turbojwt", "submodules": True}


@pytest.mark.parametrize("value", ["1", "true", "ON", " yes "])
def test_env_switch_values_that_patch(value: str) -> None:
    assert observe("import jwt\nreport(name=jwt.__name__)", switch=value) == {"name": "turbojwt"}


@pytest.mark.parametrize("value", [None, "", "0", "false", "off"])
def test_env_switch_values_that_do_not_patch(value: str | None) -> None:
    facts = observe(
        "import jwt\nreport(name=jwt.__name__, hook='_turbojwt_autopatch' in sys.modules)",
        switch=value,
    )
    assert facts == {"name": "jwt", "hook": value is not None}


def test_env_switch_warns_on_an_unknown_value() -> None:
    result = python("-c", "import jwt; print(jwt.__name__)", switch="maybe")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "jwt"
    assert "RuntimeWarning: TURBOJWT_PATCH='maybe' is neither" in result.stderr


def test_env_switch_backs_off_to_pyjwt_when_the_extension_cannot_load() -> None:
    result = python(
        "-c",
        BLOCK_EXTENSION + "import jwt; print(jwt.__name__, jwt.__file__, jwt.decode.__module__)",
        switch="1",
    )
    assert result.returncode == 0, result.stderr
    name, path, decode_module = result.stdout.split()
    assert (name, decode_module) == ("jwt", "jwt.api_jwt")
    assert Path(path).parent.name == "jwt"
    assert "RuntimeWarning: turbojwt cannot be loaded (extension unavailable (test))" in (
        result.stderr
    )
    assert "`import jwt` stays PyJWT" in result.stderr


# --- turbojwt-run -------------------------------------------------------------------------

PROGRAM = """\
import os, subprocess, sys
import jwt
child = subprocess.run([sys.executable, "-c", "import jwt; print(jwt.__name__)"],
                       capture_output=True, text=True, check=True).stdout.strip()
print(jwt.__name__, child, __name__, os.environ["TURBOJWT_PATCH"], sys.path[0], *sys.argv)
raise SystemExit(int(sys.argv[-1]))
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "app" / "program.py"
    path.parent.mkdir()
    path.write_text(PROGRAM)
    return path


def test_run_script_with_the_patch(program: Path) -> None:
    result = python("-m", "turbojwt.run", str(program), "--flag", "3")
    assert result.returncode == 3, result.stderr
    assert result.stdout.split() == [
        "turbojwt",
        "turbojwt",  # a child interpreter inherits the switch
        "__main__",
        "1",
        str(program.parent),
        str(program),
        "--flag",
        "3",
    ]


def test_run_module_with_the_patch(program: Path) -> None:
    result = python("-m", "turbojwt.run", "-m", "program", "0", cwd=program.parent)
    assert result.returncode == 0, result.stderr
    *observed, path0, argv0, argv1 = result.stdout.split()
    assert observed == ["turbojwt", "turbojwt", "__main__", "1"]
    # Like `python -m`: the working directory first on sys.path, the module's file in argv[0].
    assert (Path(path0), Path(argv0), argv1) == (program.parent.resolve(), program.resolve(), "0")


def test_turbojwt_run_console_script(program: Path) -> None:
    script = Path(sysconfig.get_path("scripts")) / "turbojwt-run"
    assert script.is_file(), "turbojwt-run is not installed: pip install -e ."
    result = subprocess.run(
        [str(script), str(program), "0"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["turbojwt", "turbojwt", "__main__"]


@pytest.mark.parametrize(
    ("argv", "status", "output"),
    [
        ([], 2, "usage: turbojwt-run"),
        (["-m"], 2, "usage: turbojwt-run"),
        (["-c", "pass"], 2, "usage: turbojwt-run"),
        (["missing.py"], 2, "can't open file 'missing.py'"),
        (["--help"], 0, "usage: turbojwt-run"),
    ],
)
def test_run_usage_errors(tmp_path: Path, argv: list[str], status: int, output: str) -> None:
    result = python("-m", "turbojwt.run", *argv, cwd=tmp_path)
    assert result.returncode == status
    assert output in (result.stdout if status == 0 else result.stderr)


def test_run_backs_off_to_pyjwt_when_the_extension_cannot_load(program: Path) -> None:
    code = BLOCK_EXTENSION + (
        "import _turbojwt_autopatch; sys.exit(_turbojwt_autopatch.main(sys.argv[1:]))"
    )
    result = python("-c", code, str(program), "0")
    assert result.returncode == 0, result.stderr
    # Patched it is not; the child interpreter, whose extension loads, is.
    assert result.stdout.split()[:3] == ["jwt", "turbojwt", "__main__"]
    assert "turbojwt cannot be loaded" in result.stderr


# --- what is installed --------------------------------------------------------------------


def test_the_switch_is_installed_from_this_checkout() -> None:
    spec = importlib.util.find_spec("_turbojwt_autopatch")
    assert spec is not None and spec.origin is not None, "pip install -e . to install it"
    site_dir = Path(spec.origin).parent
    for name in ("_turbojwt_autopatch.py", "turbojwt-autopatch.pth"):
        installed = site_dir / name
        assert installed.read_bytes() == (SWITCH_SOURCES / name).read_bytes(), (
            f"{installed} is stale: pip install -e ."
        )
    assert str(site_dir) in sys.path


def test_turbojwt_installs_no_top_level_jwt_package() -> None:
    files = importlib.metadata.files("turbojwt") or []
    top_level = {Path(str(f)).parts[0] for f in files}
    assert "jwt" not in top_level
    assert not any(part.startswith("jwt.") for part in top_level)
    # An editable install puts python/ itself on sys.path.
    assert not (REPO / "python" / "jwt").exists()


def test_patch_functions_are_not_in_all() -> None:
    assert callable(turbojwt.patch_pyjwt) and callable(turbojwt.unpatch_pyjwt)
    assert not {"patch_pyjwt", "unpatch_pyjwt"} & set(turbojwt.__all__)
