"""turbojwt.set_key_cache_size / key_cache_info: the public face of the parsed-key caches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import turbojwt

SECRET = "k" * 32


@pytest.fixture
def restore_size() -> Iterator[None]:
    before = turbojwt.key_cache_info()["capacity"]
    yield
    turbojwt.set_key_cache_size(before)


def test_size_and_counts(restore_size: None) -> None:
    turbojwt.set_key_cache_size(7)
    assert turbojwt.key_cache_info()["capacity"] == 7
    token = turbojwt.encode({"sub": "a"}, SECRET, algorithm="HS256")
    assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == {"sub": "a"}
    info = turbojwt.key_cache_info()
    assert set(info) == {"capacity", "hmac", "asymmetric"}
    assert 1 <= info["hmac"] <= 3 * 7  # HMAC keys: the capacity per hash (HS256/384/512)


def test_zero_turns_caching_off(restore_size: None) -> None:
    turbojwt.set_key_cache_size(0)
    token = turbojwt.encode({"sub": "a"}, SECRET, algorithm="HS256")
    assert turbojwt.decode(token, SECRET, algorithms=["HS256"]) == {"sub": "a"}
    assert turbojwt.key_cache_info()["hmac"] == 0


@pytest.mark.parametrize(("size", "error"), [(-1, ValueError), (True, TypeError), (1.5, TypeError)])
def test_bad_sizes_change_nothing(restore_size: None, size: object, error: type) -> None:
    before = turbojwt.key_cache_info()["capacity"]
    with pytest.raises(error):
        turbojwt.set_key_cache_size(size)  # type: ignore[arg-type]
    assert turbojwt.key_cache_info()["capacity"] == before
