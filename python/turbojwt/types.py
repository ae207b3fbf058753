"""Typing helpers shared by the public API: option dictionaries and JWK data."""

from __future__ import annotations

from typing import Any, Callable, TypedDict

__all__ = ["FullOptions", "HashlibHash", "JWKDict", "Options", "SigOptions"]

JWKDict = dict[str, Any]
"""A decoded JSON Web Key (RFC 7517): the JSON object as a dict."""

HashlibHash = Callable[..., Any]
"""A hashlib constructor such as ``hashlib.sha256``."""


class SigOptions(TypedDict, total=False):
    """Options accepted by :class:`~turbojwt.api_jws.PyJWS`.

    A subset of :class:`Options`: only what signature handling looks at.
    """

    verify_signature: bool
    """Default ``True``: check the signature."""
    enforce_minimum_key_length: bool
    """Default ``False``: raise ``InvalidKeyError`` instead of warning about a short key."""


class Options(TypedDict, total=False):
    """Options for ``decode()`` and ``decode_complete()``; every key is optional.

    The ``exp``, ``iat``, ``nbf``, ``sub`` and ``jti`` checks only run when the
    claim is present. List a claim in ``require`` to make it mandatory.

    When ``verify_signature`` is ``False`` in the options of a call, each
    ``verify_*`` key that call does not set defaults to ``False`` as well.
    """

    verify_signature: bool
    """Default ``True``: check the signature."""
    require: list[str]
    """Default ``[]``: claims that must be present and not null (their values are not checked)."""
    strict_aud: bool
    """Default ``False``: ``aud`` must be a single string equal to a single string ``audience``."""
    verify_aud: bool
    """Default ``verify_signature``: ``aud`` must match ``audience``."""
    verify_exp: bool
    """Default ``verify_signature``: ``exp``, if present, must be in the future."""
    verify_iat: bool
    """Default ``verify_signature``: ``iat``, if present, must be an integer not in the future."""
    verify_iss: bool
    """Default ``verify_signature``: ``iss`` must match ``issuer``."""
    verify_jti: bool
    """Default ``verify_signature``: ``jti``, if present, must be a string."""
    verify_nbf: bool
    """Default ``verify_signature``: ``nbf``, if present, must be in the past."""
    verify_sub: bool
    """Default ``verify_signature``: ``sub``, if present, must be a string matching ``subject``."""
    enforce_minimum_key_length: bool
    """Default ``False``: raise ``InvalidKeyError`` instead of warning about a short key."""


class FullOptions(TypedDict):
    """:class:`Options` with every key present: the merged options a decoder works with."""

    verify_signature: bool
    require: list[str]
    strict_aud: bool
    verify_aud: bool
    verify_exp: bool
    verify_iat: bool
    verify_iss: bool
    verify_jti: bool
    verify_nbf: bool
    verify_sub: bool
    enforce_minimum_key_length: bool
