"""PyJWT's warnings, and ``TokenLimitWarning``, turbojwt's only one of its own."""

from __future__ import annotations


class RemovedInPyjwt3Warning(DeprecationWarning):
    """Warning for features that will be removed in PyJWT 3."""


class InsecureKeyLengthWarning(UserWarning):
    """Emitted when a cryptographic key is shorter than the minimum recommended length."""


class TokenLimitWarning(UserWarning):
    """Emitted by ``encode`` when the token it made would be refused by ``decode``.

    turbojwt refuses tokens over ``max_token_bytes`` and JSON nested deeper than
    ``max_json_depth`` (see ``turbojwt.limits``); PyJWT has no such limits.
    """
