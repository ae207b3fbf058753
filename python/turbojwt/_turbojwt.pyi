"""Type stubs for turbojwt's Rust core (``turbojwt._turbojwt``)."""

from typing import Any

class JwsEngine:
    registry: dict[str, Any]
    def __init__(
        self, registry: dict[str, Any], options: dict[str, Any], header_typ: Any
    ) -> None: ...
    def rebind(
        self,
        *,
        registry: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        header_typ: Any = None,
    ) -> None: ...
    def decode_complete(
        self,
        jwt: str | bytes,
        key: Any = "",
        algorithms: Any = None,
        options: Any = None,
        detached_payload: bytes | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]: ...
    def decode(
        self,
        jwt: str | bytes,
        key: Any = "",
        algorithms: Any = None,
        options: Any = None,
        detached_payload: bytes | None = None,
        **kwargs: Any,
    ) -> Any: ...
    def encode(
        self,
        payload: bytes,
        key: Any,
        algorithm: str | None = "HS256",
        headers: dict[str, Any] | None = None,
        json_encoder: Any = None,
        is_payload_detached: bool = False,
        sort_headers: bool = True,
    ) -> str: ...
    def get_unverified_header(self, jwt: str | bytes) -> dict[str, Any]: ...
    def load(self, jwt: str | bytes) -> tuple[bytes, bytes, dict[str, Any], bytes]: ...
    def validate_headers(self, headers: Any, *, encoding: bool = False) -> None: ...

class JwtEngine:
    def __init__(self, jws: JwsEngine, options: Any) -> None: ...
    def rebind(self, *, jws: JwsEngine | None = None, options: Any = None) -> None: ...
    def decode(
        self,
        jwt: str | bytes,
        key: Any = "",
        algorithms: Any = None,
        options: Any = None,
        verify: bool | None = None,
        detached_payload: bytes | None = None,
        audience: Any = None,
        subject: str | None = None,
        issuer: Any = None,
        leeway: Any = 0,
        **kwargs: Any,
    ) -> dict[str, Any]: ...
    def decode_complete(
        self,
        jwt: str | bytes,
        key: Any = "",
        algorithms: Any = None,
        options: Any = None,
        verify: bool | None = None,
        detached_payload: bytes | None = None,
        audience: Any = None,
        issuer: Any = None,
        subject: str | None = None,
        leeway: Any = 0,
        **kwargs: Any,
    ) -> dict[str, Any]: ...
    def encode(
        self,
        payload: dict[str, Any],
        key: Any,
        algorithm: str | None = "HS256",
        headers: dict[str, Any] | None = None,
        json_encoder: Any = None,
        sort_headers: bool = True,
    ) -> str: ...

#: How the extension was optimised: "release", "release, profile-guided" or "debug".
__build__: str

def decode_segment(segment: bytes, name: str) -> bytes: ...
def loads_payload(data: bytes) -> dict[str, Any]: ...
def dumps_compact(obj: Any, cls: Any = None, sort_keys: bool = False) -> bytes: ...
def prepare_claims(payload: Any) -> dict[str, Any]: ...
def now() -> float: ...
def hmac_sign(hash: str, key: bytes, msg: bytes) -> bytes: ...
def hmac_verify(hash: str, key: bytes, msg: bytes, sig: bytes) -> bool: ...
def set_key_cache_size(size: int) -> None: ...
def key_cache_info() -> dict[str, int]: ...  # capacity, hmac, asymmetric
def validate_claims(
    payload: dict[str, Any],
    options: Any,
    audience: Any = None,
    issuer: Any = None,
    subject: Any = None,
    leeway: Any = None,
) -> None: ...
def validate_required_claims(payload: dict[str, Any], claims: Any) -> None: ...
def validate_iat(payload: dict[str, Any], now: float, leeway: Any) -> None: ...
def validate_nbf(payload: dict[str, Any], now: float, leeway: Any) -> None: ...
def validate_exp(payload: dict[str, Any], now: float, leeway: Any) -> None: ...
def validate_iss(payload: dict[str, Any], issuer: Any) -> None: ...
def validate_aud(payload: dict[str, Any], audience: Any, strict: bool = False) -> None: ...
def validate_sub(payload: dict[str, Any], subject: Any = None) -> None: ...
def validate_jti(payload: dict[str, Any]) -> None: ...
def decode_batch(
    engine: JwtEngine,
    tokens: Any,
    key: Any = "",
    algorithms: Any = None,
    options: Any = None,
    audience: Any = None,
    issuer: Any = None,
    subject: Any = None,
    leeway: Any = 0,
    complete: bool = False,
    threads: int | None = None,
) -> list[Any]: ...
def batch_native_count() -> int: ...

class NativeKey:
    """A parsed RSA, EC or OKP key (used when ``cryptography`` is not installed)."""

    @staticmethod
    def from_pem(data: bytes) -> NativeKey: ...
    @staticmethod
    def from_der(data: bytes) -> NativeKey: ...
    @staticmethod
    def from_openssh(data: bytes) -> NativeKey: ...
    @staticmethod
    def from_jwk(members: dict[str, str]) -> NativeKey: ...
    @property
    def kty(self) -> str: ...
    @property
    def curve(self) -> str | None: ...
    @property
    def is_private(self) -> bool: ...
    @property
    def key_size(self) -> int | None: ...
    @property
    def encoding(self) -> str: ...
    def sign(self, alg: str, msg: bytes) -> bytes: ...
    def verify(self, alg: str, msg: bytes, sig: bytes) -> bool: ...
    def verify_jws(self, alg: str, token: str | bytes) -> bytes | None:
        """The decoded payload of compact JWS ``token`` if its signature is a valid ``alg``
        signature by this key, else ``None``. The header segment is not read: the caller has
        checked it. Malformed segments raise ``DecodeError`` as ``PyJWS`` does."""
    def jwk_components(self) -> dict[str, bytes]: ...

def set_limits(
    *, max_token_bytes: int | None = None, max_json_depth: int | None = None
) -> None: ...
def get_limits() -> tuple[int, int]: ...  # max_token_bytes, max_json_depth
def extract_bearer(authorization: str | bytes | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value (RFC 6750 2.1).

    The scheme matches case-insensitively; spaces and tabs around the value are ignored;
    ``bytes`` are read as Latin-1. Raises ``MissingAuthorizationError`` for ``None`` or a
    blank value, ``UnsupportedSchemeError`` for another scheme, and
    ``MalformedAuthorizationError`` unless exactly one token68 token follows ``Bearer``
    and one or more spaces (all from ``turbojwt.auth.exceptions``). ``TypeError`` for
    any other type.
    """

def set_token_cache(*, max_entries: int | None = None, max_bytes: int | None = None) -> None: ...
def token_cache_info() -> dict[str, int | bool]: ...
def clear_token_cache() -> None: ...
def fast_entry(engine: JwtEngine, which: str) -> Any: ...

class VerdictArray:
    """The verdicts on an array of tokens (see ``turbojwt.arrow``)."""

    def __len__(self) -> int: ...
    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_array__(
        self, requested_schema: object | None = None
    ) -> tuple[object, object]: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def counts(self) -> tuple[int, int, int]:
        """How many tokens are valid, invalid and null."""

class VerdictStream:
    """The verdicts on a stream of tokens, judged as they are read; readable once."""

    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

def verdict_fields() -> list[str]: ...
def verify_arrow(
    engine: JwtEngine,
    source: Any,
    keys: list[tuple[str | None, Any]],
    algorithms: Any,
    options: Any,
    audience: Any,
    issuer: Any,
    subject: Any,
    leeway: Any,
    fallback: Any,
    unverified: bool,
    column: str | None = None,
    threads: int | None = None,
) -> VerdictArray | VerdictStream: ...
