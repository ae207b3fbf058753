"""turbojwt: PyJWT's API on a Rust core.

``import turbojwt as jwt`` changes nothing in a program written against PyJWT 2.15.1 but its
speed: the same functions, classes, options, exceptions and module names.
"""

# Not in __all__, which stays PyJWT's: see docs/migration.md.
from ._patch import patch_pyjwt as patch_pyjwt
from ._patch import unpatch_pyjwt as unpatch_pyjwt
from .api_jwk import PyJWK, PyJWKSet
from .api_jws import (
    PyJWS,
    get_algorithm_by_name,
    get_unverified_header,
    register_algorithm,
    unregister_algorithm,
)
from .api_jwt import PyJWT, decode, decode_complete, encode
from .batch import decode_batch as decode_batch
from .batch import decode_complete_batch as decode_complete_batch
from .batch import decode_iter as decode_iter
from .discovery import ProviderDiscovery as ProviderDiscovery
from .exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKError,
    PyJWKSetError,
    PyJWTError,
)
from .issuers import IssuerRegistry as IssuerRegistry
from .jwks_client import AsyncPyJWKClient as AsyncPyJWKClient
from .jwks_client import PyJWKClient
from .key_cache import key_cache_info as key_cache_info
from .key_cache import set_key_cache_size as set_key_cache_size
from .limits import get_limits as get_limits
from .limits import set_limits as set_limits
from .token_cache import clear_token_cache as clear_token_cache
from .token_cache import set_token_cache as set_token_cache
from .token_cache import token_cache_info as token_cache_info
from .warnings import InsecureKeyLengthWarning

#: The PyJWT release whose behaviour turbojwt matches (consumers parse ``jwt.__version__``).
__version__ = "2.15.1"
#: turbojwt's own release.
__turbojwt_version__: str = "0.1.0"

__title__ = "turbojwt"
__description__ = "JSON Web Token implementation in Python, on a Rust core"
__url__ = "https://pypi.org/project/turbojwt/"
__uri__ = __url__
__doc__ = f"{__description__} <{__uri__}>"
__author__ = "The turbojwt developers"
__email__ = ""
__license__ = "MIT"
__copyright__ = "Copyright 2026 The turbojwt developers"

__all__ = [  # noqa: RUF022 - PyJWT's order
    "PyJWS",
    "PyJWT",
    "PyJWKClient",
    "PyJWK",
    "PyJWKSet",
    "decode",
    "decode_complete",
    "encode",
    "get_unverified_header",
    "register_algorithm",
    "unregister_algorithm",
    "get_algorithm_by_name",
    # Warnings
    "InsecureKeyLengthWarning",
    # Exceptions
    "DecodeError",
    "ExpiredSignatureError",
    "ImmatureSignatureError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidIssuedAtError",
    "InvalidIssuerError",
    "InvalidKeyError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "MissingRequiredClaimError",
    "PyJWKClientConnectionError",
    "PyJWKClientError",
    "PyJWKError",
    "PyJWKSetError",
    "PyJWTError",
]
