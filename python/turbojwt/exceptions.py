"""Exceptions, with PyJWT's names, hierarchy, messages and attributes.

Every class pickles. Where PyJWT lets a bare builtin (``TypeError``,
``UnicodeEncodeError`` ...) escape on a malformed token, turbojwt raises a
class that derives from both the fitting PyJWT exception and that builtin, so
``except DecodeError`` and an old ``except UnicodeEncodeError`` both catch it.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "ExpiredSignatureError",
    "ImmatureSignatureError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidIssuedAtError",
    "InvalidIssuerError",
    "InvalidJTIError",
    "InvalidKeyError",
    "InvalidSignatureError",
    "InvalidSubjectError",
    "InvalidTokenError",
    "MissingCryptographyError",
    "MissingRequiredClaimError",
    "PyJWKClientConnectionError",
    "PyJWKClientError",
    "PyJWKError",
    "PyJWKSetError",
    "PyJWTError",
]


class PyJWTError(Exception):
    """Base class for all exceptions."""


class InvalidTokenError(PyJWTError):
    """Base exception when ``decode()`` fails on a token."""


class DecodeError(InvalidTokenError):
    """Raised when a token cannot be decoded because it failed validation."""


class InvalidSignatureError(DecodeError):
    """Raised when a token's signature doesn't match the one provided as part of the token."""


class ExpiredSignatureError(InvalidTokenError):
    """Raised when a token's ``exp`` claim indicates that it has expired."""


class InvalidAudienceError(InvalidTokenError):
    """Raised when a token's ``aud`` claim does not match one of the expected audience values."""


class InvalidIssuerError(InvalidTokenError):
    """Raised when a token's ``iss`` claim does not match the expected issuer."""


class InvalidIssuedAtError(InvalidTokenError):
    """Raised when a token's ``iat`` claim is non-numeric."""


class ImmatureSignatureError(InvalidTokenError):
    """Raised when a token's ``nbf`` or ``iat`` claims represent a time in the future."""


class InvalidKeyError(PyJWTError):
    """Raised when the specified key is not in the proper format."""


class InvalidAlgorithmError(InvalidTokenError):
    """Raised when the specified algorithm is not recognized."""


class MissingRequiredClaimError(InvalidTokenError):
    """Raised when a claim that is required to be present is not contained in the claimset."""

    def __init__(self, claim: str) -> None:
        self.claim = claim

    def __str__(self) -> str:
        return f'Token is missing the "{self.claim}" claim'


class PyJWKError(PyJWTError):
    pass


class MissingCryptographyError(PyJWKError):
    """Raised if the algorithm requires ``cryptography`` to be installed and it is not."""


class PyJWKSetError(PyJWTError):
    pass


class PyJWKClientError(PyJWTError):
    pass


class PyJWKClientConnectionError(PyJWKClientError):
    pass


class InvalidSubjectError(InvalidTokenError):
    """Raised when a token's ``sub`` claim is not a string or doesn't match ``subject``."""


class InvalidJTIError(InvalidTokenError):
    """Raised when a token's ``jti`` claim is not a string."""


# PyJWT leaks these builtins on some malformed tokens; these keep both contracts.


class TokenUnicodeEncodeError(DecodeError, UnicodeEncodeError):
    """A ``str`` token that cannot be encoded as UTF-8 (PyJWT leaks ``UnicodeEncodeError``)."""

    def __str__(self) -> str:
        return UnicodeEncodeError.__str__(self)


class KeyTypeError(InvalidKeyError, TypeError):
    """A key of a type the algorithm cannot use (PyJWT leaks a bare ``TypeError``)."""


class JWKMemberError(InvalidKeyError, KeyError):
    """A JWK lacks a member its key type needs (PyJWT leaks a bare ``KeyError``)."""

    def __str__(self) -> str:
        return KeyError.__str__(self)


class UnsupportedJWKAlgorithmError(PyJWKError, NotImplementedError):
    """A JWK names an algorithm that takes no key, such as ``none`` (PyJWT leaks
    ``NotImplementedError``)."""
