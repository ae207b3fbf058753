"""Shared fixtures: the module under test, the PyJWT reference, a private redis-server."""

from __future__ import annotations

import contextlib
import os
import warnings
from types import ModuleType
from typing import Iterator

import pytest
from _target import TARGET_NAME, ref, tj
from hypothesis import settings
from redis_server import running_redis_server

# No example database: runs leave nothing behind in the repository, and a failure
# prints the blob that reproduces it.
settings.register_profile("turbojwt", database=None, deadline=None, print_blob=True)
settings.load_profile("turbojwt")

# Hypothesis imports libcst to suggest a patch for a failing example. Some libcst
# releases warn on import, and under ``filterwarnings = error`` that warning would turn
# the real failure into a pytest INTERNALERROR, so import it now, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import libcst  # noqa: F401


# TURBOJWT_COLUMN_REPLAY=1: every turbojwt.decode / decode_complete a test makes is also
# judged by the Arrow column path and compared (tests/column_replay.py).
COLUMN_REPLAY = os.environ.get("TURBOJWT_COLUMN_REPLAY") == "1"
if COLUMN_REPLAY:
    import column_replay

    column_replay.install()


def pytest_report_header() -> str:
    replay = ", every decode replayed through the column path" if COLUMN_REPLAY else ""
    return (
        f"turbojwt compatibility target: {TARGET_NAME} (reference: PyJWT {ref.__version__})"
        f"{replay}"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if COLUMN_REPLAY:
        terminalreporter.write_line(column_replay.summary())


@pytest.fixture(scope="session")
def target() -> ModuleType:
    """The module under test (``$TURBOJWT_TEST_TARGET``, default ``turbojwt``)."""
    return tj


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """PyJWT 2.15.1, whose behaviour the target reproduces."""
    return ref


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private redis-server for the whole run (skips, or fails in CI, when missing)."""
    with running_redis_server() as server:
        yield server.url
