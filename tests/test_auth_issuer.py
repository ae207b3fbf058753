"""``TokenIssuer``: token pairs, where each kind is accepted, rotation, revocation, keys.

Every scenario that touches revocation runs on both embedded stores (memory and SQLite).
Time is controlled through the issuer's ``clock``: tokens minted by a clock in the past are
expired (or not) by the real clock that ``decode`` reads.
"""

from __future__ import annotations

import base64
import json
import re
import time
import warnings
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import jwt as pyjwt
import pytest
import turbojwt
from _target import forge
from turbojwt.auth import (
    Denylist,
    KeyRing,
    MemoryDenylist,
    MissingRoleError,
    MissingScopeError,
    RefreshTokenReuseError,
    RevokedTokenError,
    SQLiteDenylist,
    TokenIssuer,
    TokenPair,
    TokenTypeError,
)
from turbojwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)
from turbojwt.warnings import InsecureKeyLengthWarning

SECRET = b"issuer-test-secret-0123456789-abcdef"
OTHER_SECRET = b"another-secret-0123456789-abcdefghij"
ISSUER = "https://auth.example"
AUDIENCE = "api"
KEYS = Path(__file__).parent / "vectors" / "keys"
HOUR = 3600.0

# (algorithm, private key file, public key file): PEM text, usable without cryptography.
ASYMMETRIC = [
    ("ES256", "p256.pkcs8.pem", "p256.pub.pem"),
    ("EdDSA", "ed25519.pkcs8.pem", "ed25519.pub.pem"),
    ("RS256", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
]


class Clock:
    """A clock the test sets; it starts at the real time."""

    def __init__(self, offset: float = 0.0) -> None:
        self.now = time.time() + offset

    def __call__(self) -> float:
        return self.now


class RecordingDenylist:
    """A ``MemoryDenylist`` that records every call, to count round trips."""

    def __init__(self) -> None:
        self.store = MemoryDenylist()
        self.calls: list[tuple[str, Any]] = []

    def revoke(self, jti: str, expires_at: float) -> None:
        self.calls.append(("revoke", (jti, expires_at)))
        self.store.revoke(jti, expires_at)

    def is_revoked(self, jti: str) -> bool:
        self.calls.append(("is_revoked", jti))
        return self.store.is_revoked(jti)

    def revoked(self, jtis: Iterable[str]) -> set[str]:
        jtis = list(jtis)
        self.calls.append(("revoked", jtis))
        return self.store.revoked(jtis)

    def consume(self, jti: str, expires_at: float) -> bool:
        self.calls.append(("consume", (jti, expires_at)))
        return self.store.consume(jti, expires_at)

    def purge_expired(self) -> int:
        return self.store.purge_expired()

    def close(self) -> None:
        self.store.close()

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture(params=["memory", "sqlite"])
def denylist(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Denylist]:
    store: Denylist = (
        MemoryDenylist() if request.param == "memory" else SQLiteDenylist(tmp_path / "d.db")
    )
    yield store
    store.close()


def make_issuer(key: Any = SECRET, algorithm: str | None = None, **options: Any) -> TokenIssuer:
    options.setdefault("issuer", ISSUER)
    options.setdefault("audience", AUDIENCE)
    return TokenIssuer(key, algorithm, **options)


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) without any check, read by PyJWT as an independent decoder."""
    claims = pyjwt.decode(token, options={"verify_signature": False})
    return pyjwt.get_unverified_header(token), claims


def outcome(call: Callable[[], Any]) -> Any:
    """The result, or (exception class, message) — comparable across call styles."""
    try:
        return call()
    except Exception as error:
        return type(error), str(error)


def as_outcome(result: Any) -> Any:
    return (type(result), str(result)) if isinstance(result, Exception) else result


def b64url_json(value: Any) -> str:
    data = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- what a pair holds ---


def test_pair_claims_and_headers() -> None:
    clock = Clock()
    clock.now = float(int(clock.now)) + 0.75
    issuer = make_issuer(clock=clock)
    pair = issuer.issue(
        "alice", scopes=["read", "write"], roles=["editor"], claims={"tenant": "t1", "n": [1]}
    )
    now = int(clock.now)

    access_header, access = unverified(pair.access_token)
    refresh_header, refresh = unverified(pair.refresh_token)
    assert access_header == {"alg": "HS256", "typ": "at+jwt"}
    assert refresh_header == {"alg": "HS256", "typ": "JWT"}
    assert access == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 15 * 60,
        "jti": access["jti"],
        "token_use": "access",
        "fam": access["fam"],
        "scope": "read write",
        "roles": ["editor"],
        "tenant": "t1",
        "n": [1],
    }
    assert refresh == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 14 * 24 * 3600,
        "jti": refresh["jti"],
        "token_use": "refresh",
        "fam": access["fam"],
        "granted_scope": "read write",  # no "scope": a refresh token grants nothing itself
        "roles": ["editor"],
        "tenant": "t1",
        "n": [1],
    }
    assert access["jti"] != refresh["jti"]
    for value in (access["jti"], access["fam"]):
        assert isinstance(value, str) and len(value) >= 22  # 16 random bytes, base64url


def test_pair_response() -> None:
    pair = make_issuer(access_ttl=300, refresh_ttl=timedelta(days=1)).issue("alice")
    assert isinstance(pair, TokenPair)
    assert pair.token_type == "Bearer"
    assert pair.expires_in == 300
    assert pair.refresh_expires_in == 86400
    assert pair.as_dict() == {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": 86400,
    }
    with pytest.raises(AttributeError):
        pair.access_token = "x"  # type: ignore[misc]


def test_optional_claims_are_omitted() -> None:
    pair = TokenIssuer(SECRET).issue("alice")
    _, access = unverified(pair.access_token)
    _, refresh = unverified(pair.refresh_token)
    assert set(access) == {"sub", "iat", "nbf", "exp", "jti", "token_use", "fam"}
    assert set(refresh) == {"sub", "iat", "nbf", "exp", "jti", "token_use", "fam"}


def test_each_issue_starts_a_family_and_every_jti_is_unique() -> None:
    issuer = make_issuer()
    pairs = [issuer.issue("alice") for _ in range(50)]
    claims = [unverified(t)[1] for p in pairs for t in (p.access_token, p.refresh_token)]
    assert len({c["jti"] for c in claims}) == 100
    assert len({c["fam"] for c in claims}) == 50


def test_scopes_and_roles_are_normalised() -> None:
    issuer = make_issuer()
    _, access = unverified(issuer.issue("a", scopes="read  write read", roles="admin").access_token)
    assert access["scope"] == "read write"
    assert access["roles"] == ["admin"]
    _, access = unverified(issuer.issue("a", scopes=("x", "y", "x"), roles=["r", "r"]).access_token)
    assert access["scope"] == "x y"
    assert access["roles"] == ["r"]


@pytest.mark.parametrize(
    ("scopes", "roles"),
    [(["read write"], None), ([""], None), ([1], None), (None, [""]), (None, [None])],
)
def test_invalid_scopes_and_roles_are_refused(scopes: Any, roles: Any) -> None:
    with pytest.raises(ValueError):
        make_issuer().issue("alice", scopes=scopes, roles=roles)


@pytest.mark.parametrize("subject", ["", None, 42])
def test_subject_must_be_a_string(subject: Any) -> None:
    with pytest.raises(ValueError, match="subject"):
        make_issuer().issue(subject)


@pytest.mark.parametrize(
    "name",
    [
        "iss",
        "aud",
        "sub",
        "iat",
        "nbf",
        "exp",
        "jti",
        "token_use",
        "fam",
        "scope",
        "scp",
        "roles",
        "granted_scope",
    ],
)
def test_custom_claims_may_not_override_managed_names(name: str) -> None:
    with pytest.raises(ValueError, match=f"Custom claims may not set: {name}$"):
        make_issuer().issue("alice", claims={"ok": 1, name: "x"})


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError, match="access_ttl"):
        TokenIssuer(SECRET, access_ttl=0)
    with pytest.raises(ValueError, match="refresh_ttl"):
        TokenIssuer(SECRET, refresh_ttl=timedelta(seconds=-5))
    with pytest.raises(ValueError, match="access_ttl"):
        TokenIssuer(SECRET, access_ttl=float("inf"))
    with pytest.raises(ValueError, match="leeway"):
        TokenIssuer(SECRET, leeway=-1)
    with pytest.raises(ValueError, match="'none'"):
        TokenIssuer(SECRET, "none")


# --- each kind only where it belongs ---


def test_access_token_verifies_as_access_only() -> None:
    issuer = make_issuer()
    pair = issuer.issue("alice", claims={"tenant": "t1"})
    claims = issuer.verify_access(pair.access_token)
    assert claims == unverified(pair.access_token)[1]
    with pytest.raises(TokenTypeError) as info:
        issuer.verify_refresh(pair.access_token)
    assert str(info.value) == "Expected a refresh token"
    with pytest.raises(TokenTypeError, match="Expected a refresh token"):
        issuer.refresh(pair.access_token)


def test_refresh_token_verifies_as_refresh_only() -> None:
    issuer = make_issuer()
    pair = issuer.issue("alice")
    assert issuer.verify_refresh(pair.refresh_token) == unverified(pair.refresh_token)[1]
    with pytest.raises(TokenTypeError) as info:
        issuer.verify_access(pair.refresh_token)
    assert str(info.value) == "Expected an access token"


@pytest.mark.parametrize("token_use", ["id", "ACCESS", "", 1, ["access"]])
def test_other_token_use_values_are_refused(token_use: Any) -> None:
    now = int(time.time())
    claims = {"sub": "a", "iat": now, "exp": now + 60, "jti": "j", "token_use": token_use}
    token = forge({"alg": "HS256", "typ": "JWT"}, claims, SECRET)
    issuer = TokenIssuer(SECRET)
    with pytest.raises(TokenTypeError):
        issuer.verify_access(token)
    with pytest.raises(TokenTypeError):
        issuer.verify_refresh(token)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "token_use"])
def test_required_claims(claim: str) -> None:
    now = int(time.time())
    claims = {"sub": "a", "iat": now, "exp": now + 60, "jti": "j", "token_use": "access"}
    del claims[claim]
    token = forge({"alg": "HS256"}, claims, SECRET)
    with pytest.raises(MissingRequiredClaimError) as info:
        TokenIssuer(SECRET).verify_access(token)
    assert info.value.claim == claim


# --- signature, issuer, audience, algorithm ---


def test_foreign_signature_is_refused() -> None:
    pair = make_issuer(OTHER_SECRET).issue("alice")
    with pytest.raises(InvalidSignatureError):
        make_issuer().verify_access(pair.access_token)


def test_issuer_and_audience_are_checked() -> None:
    with pytest.raises(InvalidIssuerError):
        make_issuer().verify_access(make_issuer(issuer="https://evil").issue("a").access_token)
    with pytest.raises(InvalidAudienceError):
        make_issuer().verify_access(make_issuer(audience="other").issue("a").access_token)
    with pytest.raises(MissingRequiredClaimError):  # the token names no audience
        make_issuer().verify_access(make_issuer(audience=None).issue("a").access_token)


def test_other_algorithms_are_refused() -> None:
    # The same secret under HS512 (shorter than SHA-512's output: opted in to, with a warning).
    with pytest.warns(InsecureKeyLengthWarning):
        hs512 = make_issuer(algorithm="HS512", allow_short_secret=True)
    token = hs512.issue("alice").access_token
    with pytest.raises(InvalidAlgorithmError):
        make_issuer().verify_access(token)
    _, claims = unverified(token)
    unsigned = f"{b64url_json({'alg': 'none'})}.{b64url_json(claims)}."
    with pytest.raises(InvalidAlgorithmError):
        make_issuer().verify_access(unsigned)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b"])
def test_garbage_is_a_decode_error(token: str) -> None:
    with pytest.raises(DecodeError):
        make_issuer().verify_access(token)


# --- time ---


def test_access_token_from_the_past_is_expired_but_its_refresh_is_not() -> None:
    clock = Clock(offset=-HOUR)
    issuer = make_issuer(clock=clock, access_ttl=60)
    pair = issuer.issue("alice")
    with pytest.raises(ExpiredSignatureError):
        issuer.verify_access(pair.access_token)
    assert issuer.verify_refresh(pair.refresh_token)["sub"] == "alice"
    clock.now = time.time()
    fresh = issuer.refresh(pair.refresh_token)
    assert issuer.verify_access(fresh.access_token)["sub"] == "alice"


def test_expired_refresh_token() -> None:
    issuer = make_issuer(clock=Clock(offset=-2 * HOUR), access_ttl=60, refresh_ttl=HOUR)
    pair = issuer.issue("alice")
    with pytest.raises(ExpiredSignatureError):
        issuer.refresh(pair.refresh_token)
    with pytest.raises(ExpiredSignatureError):
        issuer.verify_refresh(pair.refresh_token)


def test_leeway_extends_acceptance() -> None:
    minted = make_issuer(clock=Clock(offset=-HOUR), access_ttl=60).issue("alice").access_token
    with pytest.raises(ExpiredSignatureError):
        make_issuer(leeway=HOUR - 120).verify_access(minted)
    assert make_issuer(leeway=timedelta(hours=1)).verify_access(minted)["sub"] == "alice"


def test_tokens_from_the_future_are_not_yet_valid() -> None:
    pair = make_issuer(clock=Clock(offset=HOUR)).issue("alice")
    with pytest.raises(ImmatureSignatureError):
        make_issuer().verify_access(pair.access_token)
    assert make_issuer(leeway=2 * HOUR).verify_access(pair.access_token)["sub"] == "alice"


# --- scopes and roles ---


def test_scopes_and_roles_at_verification() -> None:
    issuer = make_issuer()
    token = issuer.issue("alice", scopes="read write", roles=["editor"]).access_token
    assert issuer.verify_access(token, scopes=["read"], roles=["editor"])["sub"] == "alice"
    assert issuer.verify_access(token, scopes="write read")["sub"] == "alice"
    with pytest.raises(MissingScopeError) as scope_info:
        issuer.verify_access(token, scopes=["read", "admin"])
    assert scope_info.value.missing == {"admin"}
    with pytest.raises(MissingRoleError) as role_info:
        issuer.verify_access(token, roles=["editor", "admin"])
    assert str(role_info.value) == "Token lacks required role(s): admin"


def test_token_checks_precede_scope_checks() -> None:
    issuer = make_issuer()
    refresh_token = issuer.issue("alice").refresh_token
    with pytest.raises(TokenTypeError):
        issuer.verify_access(refresh_token, scopes=["admin"])


# --- refresh rotation ---


def test_refresh_gives_a_new_pair_in_the_same_family(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    first = issuer.issue("alice", scopes=["read"], roles=["editor"], claims={"tenant": "t1"})
    second = issuer.refresh(first.refresh_token)
    third = issuer.refresh(second.refresh_token)
    old = issuer.verify_access(first.access_token)
    new = issuer.verify_access(third.access_token, scopes=["read"], roles=["editor"])
    assert new["sub"] == "alice" and new["tenant"] == "t1"
    assert new["fam"] == old["fam"]
    assert new["jti"] != old["jti"]
    refresh_claims = issuer.verify_refresh(third.refresh_token)
    assert refresh_claims["granted_scope"] == "read" and "scope" not in refresh_claims
    # the refresh tokens already exchanged are spent
    for spent in (first.refresh_token, second.refresh_token):
        with pytest.raises(RevokedTokenError):
            issuer.verify_refresh(spent)


def test_refresh_token_reuse_revokes_the_family(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    first = issuer.issue("alice")
    bystander = issuer.issue("alice")  # another login: another family
    second = issuer.refresh(first.refresh_token)
    assert issuer.verify_access(second.access_token)["sub"] == "alice"

    with pytest.raises(RefreshTokenReuseError) as info:
        issuer.refresh(first.refresh_token)
    assert str(info.value) == "Refresh token reuse detected; the token family is revoked"

    for token in (first.access_token, second.access_token):
        with pytest.raises(RevokedTokenError, match="Token has been revoked"):
            issuer.verify_access(token)
    with pytest.raises(RevokedTokenError):
        issuer.verify_refresh(second.refresh_token)
    # the new refresh token cannot buy a way back in
    with pytest.raises(RevokedTokenError) as again:
        issuer.refresh(second.refresh_token)
    assert type(again.value) is RevokedTokenError
    with pytest.raises(RevokedTokenError):
        issuer.refresh(first.refresh_token)
    assert issuer.verify_access(bystander.access_token)["sub"] == "alice"
    assert issuer.refresh(bystander.refresh_token).access_token


def test_refresh_records_use_until_the_token_expires() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store, leeway=5)
    pair = issuer.issue("alice")
    _, claims = unverified(pair.refresh_token)
    issuer.refresh(pair.refresh_token)
    assert store.calls[0] == ("revoked", [claims["fam"]])
    assert store.calls[1] == ("consume", (claims["jti"], claims["exp"] + 5))
    assert len(store.calls) == 2


def test_refresh_without_a_denylist_cannot_detect_reuse() -> None:
    issuer = make_issuer()
    pair = issuer.issue("alice")
    assert issuer.refresh(pair.refresh_token).access_token
    assert issuer.refresh(pair.refresh_token).access_token  # documented limitation


def test_refresh_with_a_revoked_family(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    pair = issuer.issue("alice")
    issuer.logout(pair.refresh_token)
    with pytest.raises(RevokedTokenError) as info:
        issuer.refresh(pair.refresh_token)
    assert type(info.value) is RevokedTokenError


# --- revoking ---


def test_revoke_access_token(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    pair = issuer.issue("alice")
    issuer.revoke(pair.access_token)
    with pytest.raises(RevokedTokenError, match="Token has been revoked"):
        issuer.verify_access(pair.access_token)
    issuer.revoke(pair.access_token)  # idempotent
    # only that token: its family still refreshes
    assert issuer.verify_access(issuer.refresh(pair.refresh_token).access_token)


def test_revoke_refresh_token(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    pair = issuer.issue("alice")
    issuer.revoke(pair.refresh_token)
    with pytest.raises(RevokedTokenError):
        issuer.verify_refresh(pair.refresh_token)
    assert issuer.verify_access(pair.access_token)["sub"] == "alice"
    # presenting a revoked refresh token counts as reuse
    with pytest.raises(RefreshTokenReuseError):
        issuer.refresh(pair.refresh_token)
    with pytest.raises(RevokedTokenError):
        issuer.verify_access(pair.access_token)


def test_revoke_keeps_the_entry_until_the_token_expires() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store, leeway=30)
    token = issuer.issue("alice").access_token
    _, claims = unverified(token)
    issuer.revoke(token)
    assert store.calls == [("revoke", (claims["jti"], claims["exp"] + 30))]


def test_revoking_an_expired_token_is_a_no_op() -> None:
    store = RecordingDenylist()
    token = make_issuer(clock=Clock(offset=-HOUR), access_ttl=60).issue("alice").access_token
    make_issuer(denylist=store).revoke(token)
    assert store.calls == []


def test_revoking_an_invalid_token_raises() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store)
    with pytest.raises(InvalidSignatureError):
        issuer.revoke(make_issuer(OTHER_SECRET).issue("alice").access_token)
    with pytest.raises(DecodeError):
        issuer.revoke("garbage")
    assert store.calls == []


def test_revoke_family(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    pair = issuer.issue("alice")
    family = unverified(pair.access_token)[1]["fam"]
    issuer.revoke_family(family, expires_at=time.time() - 1)  # already over: no effect
    assert issuer.verify_access(pair.access_token)
    issuer.revoke_family(family, time.time() + HOUR)
    with pytest.raises(RevokedTokenError):
        issuer.verify_access(pair.access_token)
    with pytest.raises(RevokedTokenError):
        issuer.verify_refresh(pair.refresh_token)


def test_revoke_family_until_is_the_deprecated_name_of_expires_at() -> None:
    denylist = RecordingDenylist()
    issuer = make_issuer(denylist=denylist)
    with pytest.warns(DeprecationWarning, match=r"until=.*expires_at=") as caught:
        issuer.revoke_family("fam-1", until=1234.5)
    assert denylist.calls == [("revoke", ("fam-1", 1234.5))]
    assert caught[0].filename == __file__  # the caller's line, not turbojwt's
    with pytest.raises(TypeError, match="not both"):
        issuer.revoke_family("fam-1", 1.0, until=2.0)
    with pytest.raises(TypeError, match="expires_at"):
        issuer.revoke_family("fam-1")


# --- keys are checked when the issuer is built ---


@pytest.mark.parametrize(
    ("key", "algorithm", "message"),
    [
        (None, "HS256", "The key is None: HS256 needs a key"),
        ("", "HS256", "The key cannot be used with HS256: HMAC key must not be empty"),
        (b"", "HS512", "The key cannot be used with HS512: HMAC key must not be empty"),
        (12345, "HS256", "The key cannot be used with HS256"),
        (b"short", "HS256", "The key is a 5-byte HMAC secret; HS256 needs at least 32 bytes"),
        (SECRET, "HS384", "The key is a 36-byte HMAC secret; HS384 needs at least 48 bytes"),
        (SECRET, "RS256", "The key cannot be used with RS256"),
        (SECRET, "ES256", "a secret string is for HS256, HS384 or HS512)"),
        ((KEYS / "rsa2048.pub.pem").read_text(), "HS256", "asymmetric key"),
    ],
)
def test_unusable_keys_are_refused_at_construction(key: Any, algorithm: str, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=re.escape(message)):
        TokenIssuer(key, algorithm)


def test_short_secret_refusal_says_how_to_opt_in() -> None:
    with pytest.raises(InvalidKeyError, match="allow_short_secret=True"):
        TokenIssuer(b"s" * 31)
    assert TokenIssuer(b"s" * 32).issue("alice")  # exactly the hash output is enough


def test_a_public_key_cannot_be_the_signing_key() -> None:
    public = (KEYS / "rsa2048.pub.pem").read_text()
    with pytest.raises(InvalidKeyError, match="The key cannot sign RS256 tokens"):
        TokenIssuer(public, "RS256")


def test_a_verify_key_that_does_not_match_is_refused() -> None:
    with pytest.raises(InvalidKeyError, match="verify_key does not verify HS256 tokens"):
        TokenIssuer(SECRET, verify_key=OTHER_SECRET)
    with pytest.raises(InvalidKeyError, match="The verify_key cannot be used with HS256"):
        TokenIssuer(SECRET, verify_key=12345)
    private = (KEYS / "p256.pkcs8.pem").read_text()
    other_public = (KEYS / "rsa2048.pub.pem").read_text()
    with pytest.raises(InvalidKeyError, match="The verify_key cannot be used with ES256"):
        TokenIssuer(private, "ES256", verify_key=other_public)


def test_an_unknown_algorithm_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="Unknown algorithm 'HS999'"):
        TokenIssuer(SECRET, "HS999")


def test_an_accepted_short_secret_warns_once_at_the_callers_line(denylist: Denylist) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        issuer = TokenIssuer(b"short", allow_short_secret=True, denylist=denylist)
        pair = issuer.issue("alice", scopes="read")
        assert issuer.verify_access(pair.access_token, scopes="read")["sub"] == "alice"
        [claims] = issuer.verify_access_batch([pair.access_token])
        assert isinstance(claims, dict)
        rotated = issuer.refresh(pair.refresh_token)
        issuer.logout(rotated.refresh_token, rotated.access_token)
    assert [w.category for w in caught] == [InsecureKeyLengthWarning]
    assert "5 bytes long" in str(caught[0].message)
    assert caught[0].filename == __file__
    # The tokens are ordinary HS256 tokens under that secret.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT's own key-length warning
        assert pyjwt.decode(pair.access_token, b"short", ["HS256"])


def test_a_short_ring_secret_needs_the_opt_in_too() -> None:
    with pytest.raises(InvalidKeyError, match="key 'k1' is a 5-byte HMAC secret"):
        KeyRing({"k1": b"short"}, current="k1")
    ring = KeyRing({"k1": b"short"}, current="k1", allow_short_secret=True)
    with pytest.raises(InvalidKeyError, match="The key 'k2' is None: HS256 needs a key"):
        ring.add("k2", None)
    with pytest.warns(InsecureKeyLengthWarning) as caught:
        issuer = TokenIssuer(ring)
    assert caught[0].filename == __file__
    assert issuer.verify_access(issuer.issue("alice").access_token)["sub"] == "alice"


def test_logout(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist)
    session = issuer.issue("alice")
    rotated = issuer.refresh(session.refresh_token)
    other = issuer.issue("alice")
    issuer.logout(rotated.refresh_token, other.access_token)
    for token in (session.access_token, rotated.access_token, other.access_token):
        with pytest.raises(RevokedTokenError):
            issuer.verify_access(token)
    with pytest.raises(RevokedTokenError):
        issuer.refresh(rotated.refresh_token)
    # the other session lost its access token, not its family
    assert issuer.verify_access(issuer.refresh(other.refresh_token).access_token)


def test_logout_revokes_the_access_token_too() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store)
    pair = issuer.issue("alice")
    _, access = unverified(pair.access_token)
    issuer.logout(pair.refresh_token, pair.access_token)
    revoked = {args[0] for name, args in store.calls if name == "revoke"}
    assert revoked == {access["fam"], access["jti"]}


def test_logout_accepts_an_expired_refresh_token(denylist: Denylist) -> None:
    issuer = make_issuer(denylist=denylist, clock=Clock(offset=-2 * HOUR), refresh_ttl=HOUR)
    pair = issuer.issue("alice")
    issuer.logout(pair.refresh_token)
    assert denylist.is_revoked(unverified(pair.refresh_token)[1]["fam"]) is False  # past
    issuer = make_issuer(denylist=denylist)
    with pytest.raises(ExpiredSignatureError):
        issuer.verify_refresh(pair.refresh_token)
    issuer.logout(pair.refresh_token)  # still signed by us: its family ends
    assert denylist.is_revoked(unverified(pair.refresh_token)[1]["fam"])


def test_logout_checks_both_tokens_before_revoking() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store)
    pair = issuer.issue("alice")
    with pytest.raises(TokenTypeError):
        issuer.logout(pair.access_token)
    with pytest.raises(InvalidSignatureError):
        issuer.logout(pair.refresh_token, make_issuer(OTHER_SECRET).issue("a").access_token)
    assert "revoke" not in store.names()


def test_revocation_needs_a_denylist() -> None:
    issuer = make_issuer()
    pair = issuer.issue("alice")
    with pytest.raises(RuntimeError, match=r"TokenIssuer\.revoke needs a denylist"):
        issuer.revoke(pair.access_token)
    with pytest.raises(RuntimeError, match="needs a denylist"):
        issuer.logout(pair.refresh_token)
    with pytest.raises(RuntimeError, match="needs a denylist"):
        issuer.revoke_family("f", time.time() + 60)


def test_verification_asks_the_denylist_once_for_jti_and_family() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store)
    pair = issuer.issue("alice")
    _, claims = unverified(pair.access_token)
    issuer.verify_access(pair.access_token)
    assert store.calls == [("revoked", [claims["jti"], claims["fam"]])]


# --- batches ---


def batch_tokens(issuer: TokenIssuer) -> list[str]:
    past = make_issuer(clock=Clock(offset=-HOUR), access_ttl=60, denylist=issuer.denylist)
    revoked_pair = issuer.issue("carol", scopes="read")
    reused = issuer.issue("dave", scopes="read")
    issuer.revoke(revoked_pair.access_token)
    issuer.refresh(reused.refresh_token)
    with pytest.raises(RefreshTokenReuseError):
        issuer.refresh(reused.refresh_token)
    good = issuer.issue("alice", scopes="read write", roles=["admin"])
    return [
        good.access_token,
        issuer.issue("bob", scopes="read").access_token,
        issuer.issue("erin").access_token,
        good.refresh_token,
        revoked_pair.access_token,
        reused.access_token,  # revoked through its family
        past.issue("frank", scopes="read").access_token,
        make_issuer(OTHER_SECRET).issue("mallory", scopes="read").access_token,
        "garbage",
        good.access_token,  # twice
    ]


@pytest.mark.parametrize(
    "requirements",
    [{}, {"scopes": ["read"]}, {"scopes": "read write", "roles": ["admin"]}, {"roles": "x"}],
)
def test_batch_equals_one_by_one(denylist: Denylist, requirements: dict[str, Any]) -> None:
    issuer = make_issuer(denylist=denylist)
    tokens = batch_tokens(issuer)
    batch = issuer.verify_access_batch(tokens, **requirements)
    one_by_one = [outcome(lambda t=t: issuer.verify_access(t, **requirements)) for t in tokens]
    assert [as_outcome(r) for r in batch] == one_by_one
    kinds = {type(r) for r in batch}
    assert {
        RevokedTokenError,
        TokenTypeError,
        ExpiredSignatureError,
        InvalidSignatureError,
        DecodeError,
    } <= kinds
    if not requirements:
        assert [type(r) for r in batch].count(dict) == 4


def test_batch_asks_the_denylist_once() -> None:
    store = RecordingDenylist()
    issuer = make_issuer(denylist=store)
    tokens = [issuer.issue(f"user{i}").access_token for i in range(20)]
    issuer.revoke(tokens[3])
    store.calls.clear()
    results = issuer.verify_access_batch(tokens)
    assert store.names() == ["revoked"]
    assert len(store.calls[0][1]) == 40  # every jti and family, in one call
    assert isinstance(results[3], RevokedTokenError)
    assert all(isinstance(r, dict) for i, r in enumerate(results) if i != 3)


def test_batch_without_a_denylist_and_empty_batch() -> None:
    issuer = make_issuer()
    assert issuer.verify_access_batch([]) == []
    pair = issuer.issue("alice")
    tokens = [pair.access_token, pair.refresh_token]
    assert [as_outcome(r) for r in issuer.verify_access_batch(tokens)] == [
        outcome(lambda t=t: issuer.verify_access(t)) for t in tokens
    ]


# --- key rings ---


def test_key_ring_rotation(denylist: Denylist) -> None:
    ring = KeyRing({"k1": SECRET}, current="k1")
    issuer = make_issuer(ring, denylist=denylist)
    old = issuer.issue("alice")
    assert unverified(old.access_token)[0] == {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}
    assert unverified(old.refresh_token)[0] == {"alg": "HS256", "typ": "JWT", "kid": "k1"}

    ring.rotate("k2", OTHER_SECRET)
    new = issuer.issue("bob")
    assert unverified(new.access_token)[0]["kid"] == "k2"
    assert issuer.verify_access(old.access_token)["sub"] == "alice"  # old key still verifies
    assert issuer.verify_access(new.access_token)["sub"] == "bob"
    refreshed = issuer.refresh(old.refresh_token)  # and old refresh tokens rotate onto k2
    assert unverified(refreshed.access_token)[0]["kid"] == "k2"

    tokens = [old.access_token, new.access_token, refreshed.access_token, "garbage"]
    assert [as_outcome(r) for r in issuer.verify_access_batch(tokens)] == [
        outcome(lambda t=t: issuer.verify_access(t)) for t in tokens
    ]

    ring.remove("k1")
    with pytest.raises(InvalidTokenError) as info:
        issuer.verify_access(old.access_token)
    assert str(info.value) == "Unknown key id"
    assert issuer.verify_access(new.access_token)["sub"] == "bob"
    results = issuer.verify_access_batch([old.access_token, new.access_token])
    assert as_outcome(results[0]) == (InvalidTokenError, "Unknown key id")
    assert isinstance(results[1], dict)


def test_key_ring_refuses_unknown_and_missing_kids() -> None:
    ring = KeyRing({"k1": SECRET}, current="k1")
    issuer = make_issuer(ring)
    _, claims = unverified(issuer.issue("alice").access_token)
    for header in ({"alg": "HS256", "kid": "k9"}, {"alg": "HS256"}, {"alg": "HS256", "kid": ""}):
        token = forge(header, claims, SECRET)
        with pytest.raises(InvalidTokenError, match="Unknown key id"):
            issuer.verify_access(token)
    with pytest.raises(InvalidTokenError):
        issuer.verify_access(forge({"alg": "HS256", "kid": 1}, claims, SECRET))


def test_key_material_in_the_header_is_ignored() -> None:
    ring = KeyRing({"k1": SECRET}, current="k1")
    issuer = make_issuer(ring)
    _, claims = unverified(issuer.issue("alice").access_token)
    attacker_key = b"attacker-secret-0123456789-abcdefgh"
    jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(attacker_key).rstrip(b"=").decode()}
    for header in (
        {"alg": "HS256", "kid": "k1", "jwk": jwk},
        {"alg": "HS256", "kid": "k1", "jku": "https://evil.example/jwks.json"},
    ):
        with pytest.raises(InvalidSignatureError):
            issuer.verify_access(forge(header, claims, attacker_key))


def test_key_ring_and_issuer_must_agree() -> None:
    ring = KeyRing({"k1": SECRET * 2}, current="k1", algorithm="HS384")
    assert TokenIssuer(ring).algorithm == "HS384"
    assert TokenIssuer(ring, "HS384").algorithm == "HS384"
    with pytest.raises(ValueError, match="KeyRing is for HS384"):
        TokenIssuer(ring, "HS256")
    with pytest.raises(ValueError, match="verify_keys"):
        TokenIssuer(ring, verify_key=SECRET)


# --- asymmetric keys ---


def read_key(name: str) -> bytes:
    return (KEYS / name).read_bytes()


@pytest.mark.parametrize(("algorithm", "private_file", "public_file"), ASYMMETRIC)
def test_asymmetric_issuer(algorithm: str, private_file: str, public_file: str) -> None:
    private, public = read_key(private_file), read_key(public_file)
    signer = make_issuer(private, algorithm)  # derives its verification key
    pair = signer.issue("alice", scopes="read")
    assert unverified(pair.access_token)[0] == {"alg": algorithm, "typ": "at+jwt"}
    assert signer.verify_access(pair.access_token, scopes=["read"])["sub"] == "alice"
    assert signer.verify_refresh(pair.refresh_token)["sub"] == "alice"
    # a verifier holding only the public key
    verifier = make_issuer(private, algorithm, verify_key=public)
    assert verifier.verify_access(pair.access_token)["sub"] == "alice"
    assert (
        turbojwt.decode(
            pair.access_token, public, algorithms=[algorithm], audience=AUDIENCE, issuer=ISSUER
        )["sub"]
        == "alice"
    )
    with pytest.raises(TokenTypeError):
        verifier.verify_access(pair.refresh_token)
    # an HMAC token signed with the public key text (algorithm confusion) is refused
    _, claims = unverified(pair.access_token)
    with pytest.raises(InvalidAlgorithmError):
        verifier.verify_access(forge({"alg": "HS256"}, claims, public))


@pytest.mark.parametrize(("algorithm", "private_file", "public_file"), ASYMMETRIC)
def test_asymmetric_key_ring(algorithm: str, private_file: str, public_file: str) -> None:
    ring = KeyRing({"sig-1": read_key(private_file)}, "sig-1", algorithm)
    issuer = make_issuer(ring, denylist=MemoryDenylist())
    pair = issuer.refresh(issuer.issue("alice").refresh_token)
    assert unverified(pair.access_token)[0] == {"alg": algorithm, "typ": "at+jwt", "kid": "sig-1"}
    assert issuer.verify_access(pair.access_token)["sub"] == "alice"
    verify_only = KeyRing(
        {"sig-1": read_key(private_file)},
        "sig-1",
        algorithm,
        verify_keys={"sig-1": read_key(public_file)},
    )
    assert make_issuer(verify_only).verify_access(pair.access_token)["sub"] == "alice"


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
def test_cryptography_generated_keys(algorithm: str) -> None:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    def generate() -> Any:
        if algorithm == "ES256":
            return ec.generate_private_key(ec.SECP256R1())
        if algorithm == "EdDSA":
            return ed25519.Ed25519PrivateKey.generate()
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    first, second, attacker = generate(), generate(), generate()
    ring = KeyRing({"a": first}, "a", algorithm)
    issuer = make_issuer(ring, denylist=MemoryDenylist())
    old = issuer.issue("alice")
    ring.rotate("b", second)
    new = issuer.issue("bob")
    assert issuer.verify_access(old.access_token)["sub"] == "alice"
    assert issuer.verify_access(new.access_token)["sub"] == "bob"
    # the same tokens verify with PyJWT and the public keys
    assert (
        pyjwt.decode(
            new.access_token,
            second.public_key(),
            algorithms=[algorithm],
            audience=AUDIENCE,
            issuer=ISSUER,
        )["sub"]
        == "bob"
    )

    # a token signed by the attacker, whose public key rides in the header, is refused
    from turbojwt.algorithms import get_default_algorithms

    jwk = json.loads(get_default_algorithms()[algorithm].to_jwk(attacker.public_key()))
    _, claims = unverified(new.access_token)
    forged = turbojwt.encode(claims, attacker, algorithm, headers={"kid": "b", "jwk": jwk})
    with pytest.raises(InvalidSignatureError):
        issuer.verify_access(forged)

    ring.remove("a")
    with pytest.raises(InvalidTokenError, match="Unknown key id"):
        issuer.verify_access(old.access_token)
    single = make_issuer(second, algorithm)
    assert single.verify_access(single.issue("carol").access_token)["sub"] == "carol"


# --- the PyJWT backend ---


def test_pyjwt_backend_issues_the_same_tokens() -> None:
    clock = Clock()
    native = make_issuer(clock=clock)
    on_pyjwt = make_issuer(clock=clock, backend=pyjwt)
    pair = on_pyjwt.issue("alice", scopes="read", roles=["r"], claims={"tenant": "t1"})
    from_pyjwt = native.verify_access(pair.access_token)
    assert on_pyjwt.verify_access(pair.access_token) == from_pyjwt
    assert unverified(pair.access_token)[0] == {"alg": "HS256", "typ": "at+jwt"}
    other = native.issue("alice", scopes="read", roles=["r"], claims={"tenant": "t1"})
    mine = on_pyjwt.verify_access(other.access_token)
    assert set(mine) == set(from_pyjwt)
    assert {k: v for k, v in mine.items() if k not in ("jti", "fam")} == {
        k: v for k, v in from_pyjwt.items() if k not in ("jti", "fam")
    }


def test_pyjwt_backend_raises_turbojwt_exceptions() -> None:
    issuer = make_issuer(backend=pyjwt)
    pair = issuer.issue("alice")
    cases: list[tuple[Callable[[], Any], type[Exception]]] = [
        (lambda: issuer.verify_access(pair.access_token + "x"), InvalidSignatureError),
        (lambda: issuer.verify_access("garbage"), DecodeError),
        (
            lambda: issuer.verify_access(make_issuer(audience="x").issue("a").access_token),
            InvalidAudienceError,
        ),
        (
            lambda: issuer.verify_access(
                make_issuer(clock=Clock(-HOUR), access_ttl=60).issue("a").access_token
            ),
            ExpiredSignatureError,
        ),
        (lambda: issuer.verify_access(pair.refresh_token), TokenTypeError),
    ]
    for call, expected in cases:
        with pytest.raises(expected) as info:
            call()
        assert type(info.value) is expected
        assert type(info.value).__module__.startswith("turbojwt")
        native_error = outcome(lambda call=call: call())
        assert native_error == (expected, str(info.value))
    now = int(time.time())
    no_jti = forge({"alg": "HS256"}, {"sub": "a", "iat": now, "exp": now + 60}, SECRET)
    with pytest.raises(MissingRequiredClaimError) as missing:
        TokenIssuer(SECRET, backend=pyjwt).verify_access(no_jti)
    assert missing.value.claim == "jti"
    assert isinstance(missing.value.__cause__, pyjwt.MissingRequiredClaimError)


def test_pyjwt_backend_errors_match_turbojwt_errors() -> None:
    native, on_pyjwt = make_issuer(), make_issuer(backend=pyjwt)
    tokens = batch_tokens(make_issuer(denylist=MemoryDenylist()))
    for token in tokens[3:]:
        assert outcome(lambda t=token: on_pyjwt.verify_access(t)) == outcome(
            lambda t=token: native.verify_access(t)
        )


def test_pyjwt_backend_rotation_and_batches(denylist: Denylist) -> None:
    issuer = make_issuer(backend=pyjwt, denylist=denylist)
    tokens = batch_tokens(issuer)
    assert [as_outcome(r) for r in issuer.verify_access_batch(tokens)] == [
        outcome(lambda t=t: issuer.verify_access(t)) for t in tokens
    ]
    native = make_issuer(denylist=denylist)
    assert [as_outcome(r) for r in native.verify_access_batch(tokens)] == [
        as_outcome(r) for r in issuer.verify_access_batch(tokens)
    ]


def test_turbojwt_module_as_backend() -> None:
    issuer = make_issuer(backend=turbojwt)
    pair = issuer.issue("alice")
    assert make_issuer().verify_access(pair.access_token)["sub"] == "alice"
    with pytest.raises(InvalidSignatureError) as info:
        issuer.verify_access(pair.access_token + "x")
    assert info.value.__cause__ is None  # raised as is, not translated


def test_backend_must_look_like_pyjwt() -> None:
    with pytest.raises(AttributeError):
        TokenIssuer(SECRET, backend=object())


def test_a_small_rsa_key_warns_once_at_the_callers_line() -> None:
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        issuer = TokenIssuer(private, "RS256")
        token = issuer.issue("alice").access_token
        assert issuer.verify_access(token)["sub"] == "alice"
        assert isinstance(issuer.verify_access_batch([token])[0], dict)
    assert [w.category for w in caught] == [InsecureKeyLengthWarning]
    assert "1024 bits" in str(caught[0].message)
    assert caught[0].filename == __file__
