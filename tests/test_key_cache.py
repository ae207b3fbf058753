"""turbojwt.set_key_cache_size / key_cache_info: the public face of the parsed-key caches."""

from __future__ import annotations

import threading
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


def test_keys_evicted_under_threads_are_never_confused(restore_size: None) -> None:
    """More secrets than the cache holds, on several threads: each thread's own front of
    recently used keys must follow evictions and never verify with another secret."""
    turbojwt.set_key_cache_size(2)
    secrets = [f"secret-{index}-".ljust(40, "x") for index in range(6)]
    tokens = [turbojwt.encode({"n": index}, secret) for index, secret in enumerate(secrets)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for step in range(600):
                index = (step * 7 + offset) % len(secrets)
                assert turbojwt.decode(tokens[index], secrets[index], algorithms=["HS256"]) == {
                    "n": index
                }
                wrong = secrets[(index + 1 + step % 5) % len(secrets)]
                with pytest.raises(turbojwt.InvalidSignatureError):
                    turbojwt.decode(tokens[index], wrong, algorithms=["HS256"])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    saved = turbojwt.token_cache_info()
    turbojwt.set_token_cache(max_entries=0)  # every decode verifies its signature
    try:
        threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        turbojwt.set_token_cache(max_entries=saved["max_entries"], max_bytes=saved["max_bytes"])
    assert errors == []
    assert turbojwt.key_cache_info()["hmac"] <= 3 * 2
