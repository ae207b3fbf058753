"""PyJWKSet says which members it skipped and why, in its error and in the debug log.

HMAC (``oct``) and malformed members only: this file needs no ``cryptography``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import turbojwt
from turbojwt.exceptions import PyJWKSetError

SECRET_K = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw"  # base64url of a secret
USABLE = {"kty": "oct", "k": SECRET_K, "alg": "HS256", "kid": "good"}
UNUSABLE: list[Any] = [
    7,
    {"kty": "oct", "k": SECRET_K, "alg": "HS999", "kid": "unknown-alg"},
    {"kid": "no-kty"},
    {"kty": "XYZ", "kid": "odd-kty"},
]


def test_a_set_without_usable_members_says_what_was_skipped_and_why() -> None:
    with pytest.raises(PyJWKSetError) as raised:
        turbojwt.PyJWKSet(UNUSABLE)
    message = str(raised.value)
    assert message.startswith("The JWK Set did not contain any usable keys. Skipped member 0:")
    assert "cryptography" not in message  # turbojwt loads every key type without it
    assert "member 0: not a JSON object but int" in message
    assert "member 1 (kid 'unknown-alg'): PyJWKError: Unable to find an algorithm" in message
    assert "member 2 (kid 'no-kty'): InvalidKeyError: kty is not found" in message
    assert "member 3 (kid 'odd-kty'): InvalidKeyError: Unsupported kty: XYZ" in message


def test_the_error_never_quotes_key_material() -> None:
    with pytest.raises(PyJWKSetError) as raised:
        turbojwt.PyJWKSet.from_dict({"keys": UNUSABLE})
    assert SECRET_K not in str(raised.value)
    assert "'k': '...'" in str(raised.value)


def test_many_skipped_members_are_counted_past_the_first_five() -> None:
    members = [{"kid": f"k{index}"} for index in range(8)]
    with pytest.raises(PyJWKSetError) as raised:
        turbojwt.PyJWKSet(members)
    message = str(raised.value)
    assert "(kid 'k4')" in message
    assert "(kid 'k5')" not in message
    assert message.endswith("; and 3 more")


def test_each_skipped_member_is_logged_at_debug_level_with_its_kid(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="turbojwt"):
        key_set = turbojwt.PyJWKSet([*UNUSABLE, USABLE])
    assert [key.key_id for key in key_set.keys] == ["good"]
    records = [r for r in caplog.records if r.name.startswith("turbojwt")]
    assert [r.levelno for r in records] == [logging.DEBUG] * len(UNUSABLE)
    messages = [r.getMessage() for r in records]
    assert messages[0] == "JWK Set member 0 skipped: not a JSON object but int"
    assert messages[1].startswith("JWK Set member 1 (kid 'unknown-alg') skipped: PyJWKError")
    assert "(kid 'no-kty')" in messages[2]
    assert "(kid 'odd-kty')" in messages[3]
    assert all(SECRET_K not in message for message in messages)


def test_a_usable_set_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="turbojwt"):
        turbojwt.PyJWKSet([USABLE])
    assert [r for r in caplog.records if r.name.startswith("turbojwt")] == []
