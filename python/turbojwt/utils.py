"""Encoding helpers: base64url, unsigned integers, ECDSA signatures, key sniffing.

Results and exceptions match PyJWT's helpers of the same names, including the
builtin errors that escape on bad input, because callers (and the algorithm
classes) rely on both.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Optional, Union

try:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurve
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )
except ImportError:  # pragma: no cover - exercised in the no-cryptography CI job
    pass

__all__ = [
    "base64url_decode",
    "base64url_encode",
    "bytes_from_int",
    "bytes_to_number",
    "der_to_raw_signature",
    "force_bytes",
    "from_base64url_uint",
    "is_pem_format",
    "is_ssh_key",
    "number_to_bytes",
    "raw_to_der_signature",
    "to_base64url_uint",
]


def force_bytes(value: Union[bytes, str]) -> bytes:
    """Return ``value`` as bytes, encoding a ``str`` as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError("Expected a string or bytes value")


def base64url_decode(input: Union[bytes, str]) -> bytes:
    """Decode unpadded base64url.

    Like PyJWT this is lenient: characters outside the alphabet are dropped by
    the stdlib decoder. Token segments are checked strictly elsewhere.
    """
    data = force_bytes(input)
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def base64url_encode(input: bytes) -> bytes:
    """Encode as base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(input).rstrip(b"=")


def bytes_from_int(val: int, *, bit_length: Optional[int] = None) -> bytes:
    """Big-endian bytes of a non-negative int, ``bit_length`` bits wide if given."""
    width = val.bit_length() if bit_length is None else bit_length
    return val.to_bytes((width + 7) // 8, "big", signed=False)


def to_base64url_uint(val: int, *, bit_length: Optional[int] = None) -> bytes:
    """base64url of an unsigned int, as JWK members (``n``, ``e``, ``x`` ...) store it."""
    if val < 0:
        raise ValueError("Must be a positive integer")
    # Zero has no significant bytes, but JWA requires at least one octet.
    return base64url_encode(bytes_from_int(val, bit_length=bit_length) or b"\x00")


def from_base64url_uint(val: Union[bytes, str]) -> int:
    """Inverse of :func:`to_base64url_uint`."""
    return int.from_bytes(base64url_decode(force_bytes(val)), "big")


def number_to_bytes(num: int, num_bytes: int) -> bytes:
    """Big-endian bytes of ``num``, zero-padded on the left to ``num_bytes``.

    Goes through hex on purpose: a number wider than ``num_bytes`` yields more
    bytes (or ``binascii.Error`` for an odd digit count) rather than
    ``OverflowError``, exactly as PyJWT behaves.
    """
    return binascii.unhexlify(b"%0*x" % (2 * num_bytes, num))


def bytes_to_number(string: bytes) -> int:
    """Big-endian unsigned int of ``string``; empty input raises ``ValueError``."""
    return int(binascii.hexlify(string), 16)


def _coordinate_size(curve: EllipticCurve) -> int:
    return (curve.key_size + 7) // 8


def der_to_raw_signature(der_sig: bytes, curve: EllipticCurve) -> bytes:
    """Convert a DER ECDSA signature to the JWS ``r || s`` form."""
    size = _coordinate_size(curve)
    r, s = decode_dss_signature(der_sig)
    return number_to_bytes(r, size) + number_to_bytes(s, size)


def raw_to_der_signature(raw_sig: bytes, curve: EllipticCurve) -> bytes:
    """Convert a JWS ``r || s`` ECDSA signature to DER."""
    size = _coordinate_size(curve)
    if len(raw_sig) != 2 * size:
        raise ValueError("Invalid signature")
    r = bytes_to_number(raw_sig[:size])
    s = bytes_to_number(raw_sig[size:])
    return bytes(encode_dss_signature(r, s))


# PEM labels recognised by the `pem` project (hynek/pem), as PyJWT uses them.
_PEMS = {
    b"CERTIFICATE",
    b"TRUSTED CERTIFICATE",
    b"PRIVATE KEY",
    b"PUBLIC KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"OPENSSH PRIVATE KEY",
    b"DSA PRIVATE KEY",
    b"RSA PRIVATE KEY",
    b"RSA PUBLIC KEY",
    b"EC PRIVATE KEY",
    b"DH PARAMETERS",
    b"NEW CERTIFICATE REQUEST",
    b"CERTIFICATE REQUEST",
    b"SSH2 PUBLIC KEY",
    b"SSH2 ENCRYPTED PRIVATE KEY",
    b"X509 CRL",
}

# Markers may overlap (``-----BEGIN A-----BEGIN B-----``), so the pattern is a
# zero-width lookahead that reports a marker at every position it starts.
# The dash-or-space variants are the ones cryptography's loader accepts.
_PEM_MARKER_RE = re.compile(
    rb"(?=(----[- ](BEGIN|END) (" + b"|".join(map(re.escape, sorted(_PEMS))) + rb")[- ]----))"
)


def is_pem_format(key: bytes) -> bool:
    """True if ``key`` holds a BEGIN marker followed later by the matching END marker."""
    # For each label, where its most recent BEGIN marker ends.
    begin_ends: dict[bytes, int] = {}
    for match in _PEM_MARKER_RE.finditer(key):
        marker_start, marker_end = match.span(1)
        kind, label = match.group(2), match.group(3)
        if kind == b"BEGIN":
            begin_ends[label] = marker_end
        elif label in begin_ends and begin_ends[label] < marker_start:
            return True
    return False


# The public key formats cryptography's OpenSSH loader understands.
_SSH_KEY_FORMATS = (
    b"ssh-ed25519",
    b"ssh-rsa",
    b"ssh-dss",
    b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521",
)


def is_ssh_key(key: bytes) -> bool:
    """True if ``key`` starts like an OpenSSH public key line."""
    return key.startswith(_SSH_KEY_FORMATS)
