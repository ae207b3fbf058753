"""Claims, keys and the two libraries shared by every benchmark."""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Protocol, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    PrivateKeyTypes,
    PublicKeyTypes,
)

# Module timed in the "turbojwt" column. Pointing it at `jwt` runs PyJWT in
# both columns, which exercises the benchmarks before turbojwt is built.
TARGET_ENV = "TURBOJWT_BENCH_TARGET"

SECRET = "bench-hs256-secret-0123456789abcdefghi"  # 38 bytes, above the 32-byte minimum
ISSUER = "https://auth.example.com"
AUDIENCE = "api.example.com"
VERIFY = {"audience": AUDIENCE, "issuer": ISSUER}

T = TypeVar("T")


class Benchmark(Protocol):
    """The part of pytest-benchmark's `benchmark` fixture these benches use."""

    group: str | None
    extra_info: dict[str, Any]

    def __call__(self, function_to_benchmark: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


def make_claims() -> dict[str, Any]:
    """The 11 claims of a typical access token, valid for a day: five registered, six custom."""
    now = int(time.time())
    return {
        "sub": "user-4096",
        "iat": now,
        "exp": now + 86_400,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "role": "admin",
        "tenant": "acme",
        "scope": "read write",
        "sid": "s-0007f3a2",
    }


@dataclass(frozen=True)
class KeyPair:
    private: PrivateKeyTypes
    public: PublicKeyTypes
    private_pem: str
    public_pem: str


def _key_pair(private: PrivateKeyTypes) -> KeyPair:
    public = private.public_key()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private, public, private_pem.decode(), public_pem.decode())


def generate_key_pairs() -> dict[str, KeyPair]:
    """One fresh key per asymmetric algorithm, indexed by JWS `alg`."""
    return {
        "RS256": _key_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": _key_pair(ec.generate_private_key(ec.SECP256R1())),
        "EdDSA": _key_pair(ed25519.Ed25519PrivateKey.generate()),
    }


def _is_unsupported(exc: BaseException) -> bool:
    # PyJWT raises NotImplementedError for an unknown algorithm on encode and
    # InvalidAlgorithmError chained from it on decode.
    return isinstance(exc, NotImplementedError) or isinstance(exc.__cause__, NotImplementedError)


@dataclass(frozen=True)
class Library:
    """A PyJWT-compatible module under its column name ("pyjwt" or "turbojwt")."""

    name: str
    module: ModuleType

    @property
    def version(self) -> str:
        # turbojwt's own release, not the PyJWT version it matches (its `__version__`).
        version = getattr(self.module, "__turbojwt_version__", None)
        return str(version or getattr(self.module, "__version__", "unknown"))

    def first_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `fn` once before timing; skip the case if turbojwt lacks the algorithm."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if self.name == "turbojwt" and _is_unsupported(exc):
                pytest.skip(f"turbojwt does not implement this algorithm yet: {exc!r}")
            raise


def load_pyjwt() -> Library:
    import jwt

    if jwt.__name__ != "jwt" or not jwt.decode.__module__.startswith("jwt."):
        pytest.fail(f"`jwt` is not the real PyJWT (it is {jwt.__name__}); run without the patch")
    return Library("pyjwt", jwt)


def load_target() -> Library:
    """The module for the turbojwt column, or a skip when it is not importable yet."""
    name = os.environ.get(TARGET_ENV, "turbojwt")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} is not importable ({exc}); build it with `maturin develop --release`")
    if not all(callable(getattr(module, function, None)) for function in ("encode", "decode")):
        pytest.skip(f"{name} has no encode()/decode() yet (is the extension built?)")
    return Library("turbojwt", module)


def label(benchmark: Benchmark, group: str, lib: Library) -> None:
    """Put both libraries' runs of a case in one table group, named by case."""
    benchmark.group = group
    benchmark.extra_info.update(lib=lib.name, module=lib.module.__name__, version=lib.version)
