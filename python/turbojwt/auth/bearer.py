"""Bearer tokens from ``Authorization`` headers (RFC 6750 section 2.1).

``extract_bearer(value)`` returns the token of ``Bearer <token>`` and raises a subclass of
``AuthorizationHeaderError`` for anything else:

- ``None``, ``""`` or whitespace only: ``MissingAuthorizationError``;
- another scheme (``Basic ...``, or a token without a scheme): ``UnsupportedSchemeError``;
- ``Bearer`` without a token, with several, with a tab before the token, or with characters
  outside token68 (letters, digits, ``-._~+/``, then ``=`` padding):
  ``MalformedAuthorizationError``.

The scheme is matched case-insensitively, spaces and tabs around the value are ignored,
and ``bytes`` are read as Latin-1. The parser is the Rust core's, called directly.
"""

from __future__ import annotations

from .._turbojwt import extract_bearer

__all__ = ["extract_bearer"]
