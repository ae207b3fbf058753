"""Each PyJWS's algorithm registry decides what a name means, at every call.

turbojwt remembers, per thread, which native algorithm a registry gives a name; these
scenarios change registries between calls and expect PyJWT's answers each time. The token
cache is off, so every call resolves the name again.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jwt as pyjwt
import pytest
import turbojwt

SECRET = "registry-secret-" + "0123456789abcdef" * 4  # long enough for HMAC-SHA512
PAYLOAD = b'{"sub":"registry"}'


@pytest.fixture(autouse=True)
def token_cache_off() -> Iterator[None]:
    saved = turbojwt.token_cache_info()["max_entries"]
    turbojwt.set_token_cache(max_entries=0)
    yield
    turbojwt.set_token_cache(max_entries=saved)


@pytest.fixture(params=["pyjwt", "turbojwt"])
def lib(request: pytest.FixtureRequest) -> ModuleType:
    return {"pyjwt": pyjwt, "turbojwt": turbojwt}[request.param]


def outcome(call: Any) -> Any:
    """A call's result, or its exception's class name and message."""
    try:
        return call()
    except Exception as error:  # compared across libraries by name
        return (type(error).__name__, str(error))


def test_unregistering_a_name_takes_effect_at_once(lib: ModuleType) -> None:
    jws = lib.PyJWS()
    token = jws.encode(PAYLOAD, SECRET, algorithm="HS256")
    assert jws.decode(token, SECRET, algorithms=["HS256"]) == PAYLOAD
    jws.unregister_algorithm("HS256")
    assert outcome(lambda: jws.decode(token, SECRET, algorithms=["HS256"])) == (
        "InvalidAlgorithmError",
        "Algorithm not supported",
    )
    assert outcome(lambda: jws.encode(PAYLOAD, SECRET, algorithm="HS256")) == (
        "NotImplementedError",
        "Algorithm not supported",
    )


def test_a_name_given_another_hash_verifies_and_signs_with_it(lib: ModuleType) -> None:
    jws = lib.PyJWS()
    sha256_token = jws.encode(PAYLOAD, SECRET, algorithm="HS256")
    assert jws.decode(sha256_token, SECRET, algorithms=["HS256"]) == PAYLOAD
    hmac = lib.algorithms.HMACAlgorithm
    jws.unregister_algorithm("HS256")
    jws.register_algorithm("HS256", hmac(hmac.SHA512))
    # "HS256" now names HMAC-SHA512 for this instance: the SHA-256 tag no longer verifies,
    # and a new token carries a 64-byte tag under the same header.
    assert outcome(lambda: jws.decode(sha256_token, SECRET, algorithms=["HS256"])) == (
        "InvalidSignatureError",
        "Signature verification failed",
    )
    sha512_token = jws.encode(PAYLOAD, SECRET, algorithm="HS256")
    assert sha512_token != sha256_token
    assert sha512_token == pyjwt_sha512_as_hs256()
    assert jws.decode(sha512_token, SECRET, algorithms=["HS256"]) == PAYLOAD


def test_instances_with_different_registries_alternate_on_one_thread(lib: ModuleType) -> None:
    plain, altered = lib.PyJWS(), lib.PyJWS()
    hmac = lib.algorithms.HMACAlgorithm
    altered.unregister_algorithm("HS256")
    altered.register_algorithm("HS256", hmac(hmac.SHA384))
    plain_token = plain.encode(PAYLOAD, SECRET, algorithm="HS256")
    altered_token = altered.encode(PAYLOAD, SECRET, algorithm="HS256")
    for _ in range(3):
        assert plain.decode(plain_token, SECRET, algorithms=["HS256"]) == PAYLOAD
        assert altered.decode(altered_token, SECRET, algorithms=["HS256"]) == PAYLOAD
        assert outcome(lambda: plain.decode(altered_token, SECRET, algorithms=["HS256"]))[0] == (
            "InvalidSignatureError"
        )
        assert outcome(lambda: altered.decode(plain_token, SECRET, algorithms=["HS256"]))[0] == (
            "InvalidSignatureError"
        )


def pyjwt_sha512_as_hs256() -> str:
    """PyJWT's token when its "HS256" is HMAC-SHA512: what both libraries must make."""
    jws = pyjwt.PyJWS()
    hmac = pyjwt.algorithms.HMACAlgorithm
    jws.unregister_algorithm("HS256")
    jws.register_algorithm("HS256", hmac(hmac.SHA512))
    return jws.encode(PAYLOAD, SECRET, algorithm="HS256")
