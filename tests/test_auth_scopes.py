"""Scopes and roles read from claims, the checks on them, and the auth exception classes."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import turbojwt
from turbojwt.auth import (
    InsufficientScopeError,
    MissingRoleError,
    MissingScopeError,
    RefreshTokenReuseError,
    RevokedTokenError,
    TokenTypeError,
    require,
    require_roles,
    require_scopes,
    roles_of,
    scopes_of,
)

# --- reading ---


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "read write"}, {"read", "write"}),
        ({"scope": "read"}, {"read"}),
        ({"scope": "read  write "}, {"read", "write"}),
        ({"scope": ""}, set()),
        ({"scope": ["read", "write"]}, {"read", "write"}),
        ({"scope": ("read",)}, {"read"}),
        ({"scope": ["read", 1, None, ["x"]]}, {"read"}),  # non-strings grant nothing
        ({"scp": ["read", "write"]}, {"read", "write"}),  # Azure AD / Okta
        ({"scp": "read write"}, {"read", "write"}),
        ({"scope": "a", "scp": "b"}, {"a"}),  # scope wins when both are present
        ({"scope": "", "scp": "b"}, set()),  # ... even when it is empty
        ({"scope": 7}, set()),
        ({"scope": None}, set()),
        ({"scope": {"read": True}}, set()),
        ({"scope": {"read"}}, set()),  # not JSON, but never a grant
        ({}, set()),
        ({"roles": ["read"]}, set()),
    ],
)
def test_scopes_of(claims: dict[str, Any], scopes: set[str]) -> None:
    assert scopes_of(claims) == frozenset(scopes)
    assert isinstance(scopes_of(claims), frozenset)


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"roles": ["admin", "ops"]}, {"admin", "ops"}),
        ({"roles": ("admin",)}, {"admin"}),
        ({"roles": "admin"}, {"admin"}),
        ({"roles": "admin ops"}, {"admin ops"}),  # one role name, not a list
        ({"roles": ["admin", 3]}, {"admin"}),
        ({"roles": 3}, set()),
        ({"roles": None}, set()),
        ({"scope": "admin"}, set()),
        ({}, set()),
    ],
)
def test_roles_of(claims: dict[str, Any], roles: set[str]) -> None:
    assert roles_of(claims) == frozenset(roles)


# --- requiring ---

CLAIMS = {"sub": "alice", "scope": "read write", "roles": ["editor"]}


@pytest.mark.parametrize(
    ("scopes", "roles"),
    [
        ((), ()),
        (["read"], ()),
        (["read", "write"], ["editor"]),
        ("read write", "editor"),  # strings: space-separated scopes, one role
        ({"write"}, {"editor"}),
    ],
)
def test_require_passes(scopes: Any, roles: Any) -> None:
    require(CLAIMS, scopes=scopes, roles=roles)


def test_no_requirement_passes_on_empty_claims() -> None:
    require({})
    require_scopes({}, [])
    require_roles({}, ())


def test_missing_scopes_are_listed_sorted() -> None:
    with pytest.raises(MissingScopeError) as info:
        require(CLAIMS, scopes=["write", "zeta", "admin", "read"])
    assert info.value.missing == frozenset({"zeta", "admin"})
    assert str(info.value) == "Token lacks required scope(s): admin, zeta"


def test_missing_roles_are_listed() -> None:
    with pytest.raises(MissingRoleError) as info:
        require(CLAIMS, roles=["editor", "admin"])
    assert info.value.missing == frozenset({"admin"})
    assert str(info.value) == "Token lacks required role(s): admin"


def test_scopes_are_checked_before_roles() -> None:
    with pytest.raises(MissingScopeError) as info:
        require(CLAIMS, scopes=["admin"], roles=["root"])
    assert info.value.missing == {"admin"}


def test_a_scope_string_is_split_on_spaces() -> None:
    with pytest.raises(MissingScopeError) as info:
        require(CLAIMS, scopes="read delete")
    assert info.value.missing == {"delete"}


def test_a_role_string_is_one_role() -> None:
    # Not iterated character by character: "ed" is not granted by "editor".
    with pytest.raises(MissingRoleError) as info:
        require({"roles": ["e", "d"]}, roles="ed")
    assert info.value.missing == {"ed"}


def test_scopes_are_not_roles() -> None:
    with pytest.raises(MissingRoleError):
        require({"scope": "admin"}, roles=["admin"])
    with pytest.raises(MissingScopeError):
        require({"roles": ["admin"]}, scopes=["admin"])


def test_wrappers() -> None:
    require_scopes(CLAIMS, ["read"])
    require_roles(CLAIMS, ["editor"])
    with pytest.raises(MissingScopeError):
        require_scopes(CLAIMS, ["admin"])
    with pytest.raises(MissingRoleError):
        require_roles(CLAIMS, ["admin"])


def test_scp_claim_grants_scopes() -> None:
    require({"scp": ["api.read"]}, scopes=["api.read"])
    with pytest.raises(MissingScopeError):
        require({"scp": ["api.read"]}, scopes=["api.write"])


# --- the exception classes ---


def test_hierarchy() -> None:
    for cls in (MissingScopeError, MissingRoleError):
        assert issubclass(cls, InsufficientScopeError)
    assert issubclass(RefreshTokenReuseError, RevokedTokenError)
    for cls in (InsufficientScopeError, RevokedTokenError, TokenTypeError):
        assert issubclass(cls, turbojwt.InvalidTokenError)
    # Other permission errors can still be raised through the base class.
    assert str(InsufficientScopeError(["b", "a"])) == "Token lacks required permission(s): a, b"


def test_constructors_take_what_is_missing() -> None:
    error = MissingScopeError(iter(["b", "a", "b"]))
    assert error.missing == frozenset({"a", "b"})
    assert str(error) == "Token lacks required scope(s): a, b"


@pytest.mark.parametrize("cls", [InsufficientScopeError, MissingScopeError, MissingRoleError])
def test_insufficient_scope_errors_pickle(cls: type[InsufficientScopeError]) -> None:
    error = cls(["write", "admin"])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert copy.missing == frozenset({"write", "admin"})
    assert str(copy) == str(error)


@pytest.mark.parametrize("cls", [TokenTypeError, RevokedTokenError, RefreshTokenReuseError])
def test_message_errors_pickle(cls: type[Exception]) -> None:
    copy = pickle.loads(pickle.dumps(cls("why")))
    assert type(copy) is cls
    assert str(copy) == "why"
