"""Shared fixtures: the module under test, the PyJWT reference, a private redis-server."""

from __future__ import annotations

import contextlib
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


def pytest_report_header() -> str:
    return f"turbojwt compatibility target: {TARGET_NAME} (reference: PyJWT {ref.__version__})"


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
