"""PyJWT's warnings, and no others."""

from __future__ import annotations


class RemovedInPyjwt3Warning(DeprecationWarning):
    """Warning for features that will be removed in PyJWT 3."""


class InsecureKeyLengthWarning(UserWarning):
    """Emitted when a cryptographic key is shorter than the minimum recommended length."""
