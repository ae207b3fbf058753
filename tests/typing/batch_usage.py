"""Typed use of the batch functions, checked by ``mypy --strict`` in test_batch_arguments.

PyJWT's ``Options`` TypedDict is what ``decode`` takes, so the batch functions take it too.
"""

from __future__ import annotations

from collections.abc import Iterator

import turbojwt
from turbojwt.batch import BatchItem
from turbojwt.types import Options


def verify_many(tokens: list[str], key: str) -> list[BatchItem]:
    options: Options = {"verify_exp": True, "require": ["exp", "sub"], "strict_aud": False}
    claims = turbojwt.decode_batch(tokens, key, ["HS256"], options, audience="api")
    complete = turbojwt.decode_complete_batch(tokens, key, algorithms=["HS256"], options=options)
    return claims + complete


def stream(tokens: Iterator[str], key: str) -> Iterator[BatchItem]:
    options: Options = {"verify_signature": True}
    return turbojwt.decode_iter(tokens, key, ["HS256"], options, chunk_size=100, threads=2)
