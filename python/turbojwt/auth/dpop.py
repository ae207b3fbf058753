"""DPoP, proof of possession for access tokens (RFC 9449), on the resource server side.

A DPoP-bound access token carries ``cnf.jkt``, the RFC 7638 thumbprint of the client's
public key. The client sends it as ``Authorization: DPoP <token>`` together with a
``DPoP`` header: a fresh JWT (the *proof*) signed by that key, naming the request's method
(``htm``) and URI (``htu``), the time (``iat``), a unique id (``jti``) and the hash of the
access token (``ath``). A stolen token is useless without the private key, and a captured
proof cannot be replayed: each ``jti`` is accepted once.

``DPoPVerifier.verify(proof, method=..., url=..., access_token=...)`` runs the checks of
RFC 9449 section 4.3 and returns a ``DPoPProof``; ``check_binding(claims, proof)`` then
compares the token's ``cnf.jkt`` with the proof key. Every failure raises
``InvalidDPoPProofError`` (``error="invalid_dpop_proof"``), or ``UseDPoPNonceError``
(``error="use_dpop_nonce"``, with the nonce to retry with) when server nonces are on.

Replay protection uses the denylist stores' atomic ``consume``: ``MemoryDenylist`` for one
process, ``SQLiteDenylist`` or ``RedisDenylist`` when several processes or hosts serve the
same API. Proof keys are parsed by the Rust core (no ``cryptography`` needed) and cached by
their JWK members, since one client signs all its proofs with one key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import urlsplit, urlunsplit

from .._turbojwt import NativeKey, loads_payload
from ..api_jws import PyJWS
from ..exceptions import DecodeError, InvalidTokenError
from .exceptions import (
    MalformedAuthorizationError,
    MissingAuthorizationError,
    UnsupportedSchemeError,
)

if TYPE_CHECKING:
    from .denylist import Denylist

__all__ = [
    "DEFAULT_DPOP_ALGORITHMS",
    "DPoPBindingError",
    "DPoPNonces",
    "DPoPProof",
    "DPoPVerifier",
    "InvalidDPoPProofError",
    "UseDPoPNonceError",
    "access_token_hash",
    "check_binding",
    "confirmation_jkt",
    "extract_credentials",
    "jwk_thumbprint",
    "normalize_htu",
]

#: Asymmetric algorithms accepted for proofs unless a verifier is given others.
DEFAULT_DPOP_ALGORITHMS = ("ES256", "ES384", "ES512", "EdDSA", "PS256", "PS384", "PS512", "RS256")

# Everything the Rust core can verify with a public key; HS*, "none" never qualify.
_ASYMMETRIC = frozenset(
    (
        "ES256", "ES256K", "ES384", "ES512", "EdDSA", "Ed25519", "Ed448",
        "PS256", "PS384", "PS512", "RS256", "RS384", "RS512",
    )
)  # fmt: skip

# RFC 7638 section 3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
# RFC 7518 section 6 and RFC 8037: members that only a private (or symmetric) key has.
_PRIVATE_MEMBERS = frozenset(("d", "p", "q", "dp", "dq", "qi", "oth", "k"))

# RFC 7235 token68, after the scheme and one or more spaces.
_CREDENTIALS = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +([A-Za-z0-9._~+/-]+=*))?")

_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")

_KEY_CACHE_SIZE = 1024
_TOKEN_CACHE_SIZE = 1024


@functools.lru_cache(maxsize=_TOKEN_CACHE_SIZE)
def _is_token68(token: str) -> bool:
    """Whether ``token`` is an RFC 7235 token68, remembered per token string.

    A client sends the same access token with every request until it expires, and the
    regular expression walks each of its characters (1 µs for a 600-character token); a
    string's answer never changes, so a cache keyed by the string cannot answer wrongly.
    """
    return _TOKEN68.fullmatch(token) is not None


class InvalidDPoPProofError(InvalidTokenError):
    """The ``DPoP`` header holds no valid proof for this request (``invalid_dpop_proof``)."""

    error = "invalid_dpop_proof"


class UseDPoPNonceError(InvalidDPoPProofError):
    """The proof lacks the server's current nonce; retry with ``nonce`` (``use_dpop_nonce``)."""

    error = "use_dpop_nonce"

    def __init__(self, message: str, nonce: str) -> None:
        super().__init__(message)
        self.nonce = nonce

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.nonce))


class DPoPBindingError(InvalidTokenError):
    """The access token is bound to another key, or is bound and came without a proof.

    Answered with ``error="invalid_token"``: the token cannot be used this way.
    """


@dataclass(frozen=True)
class DPoPProof:
    """A verified proof: the key's thumbprint (``jkt``), its JWK, and the proof's claims."""

    jkt: str
    jwk: dict[str, Any]
    claims: dict[str, Any]
    algorithm: str


_object_new = object.__new__


def _new_proof(jkt: str, jwk: dict[str, Any], claims: dict[str, Any], alg: str) -> DPoPProof:
    """``DPoPProof(jkt=jkt, jwk=jwk, claims=claims, algorithm=alg)``, at half the cost.

    A frozen dataclass's ``__init__`` stores each field with ``object.__setattr__``; filling
    the instance dictionary at once gives the same object (no ``__post_init__``, no slots).
    """
    proof = _object_new(DPoPProof)
    proof.__dict__.update(jkt=jkt, jwk=jwk, claims=claims, algorithm=alg)
    return proof


# --- small pieces ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _same_text(a: str, b: str) -> bool:
    """``a == b`` in constant time, for any two strings.

    ``hmac.compare_digest`` takes ASCII strings only, and a claim decoded from JSON may hold
    anything, lone surrogates (``"\\ud800"``) included, which strict UTF-8 cannot encode.
    ``surrogatepass`` encodes every string, and different strings to different bytes.
    """
    if a.isascii() and b.isascii():  # every real thumbprint and nonce: no encoding
        return hmac.compare_digest(a, b)
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (EC, OKP or RSA), base64url."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError(f"Unsupported key type for a thumbprint: {kty!r}")
    required: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise ValueError(f"JWK member {name!r} is missing or not a string")
        required[name] = value
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@functools.lru_cache(maxsize=4096)
def access_token_hash(access_token: str) -> str:
    """The ``ath`` value for ``access_token``: base64url(SHA-256(its ASCII bytes))."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def normalize_htu(url: str) -> str:
    """``url`` as ``htu`` compares it: scheme and host lowercase, default port, no query.

    RFC 9449 section 4.3 compares URIs after RFC 3986 syntax- and scheme-based
    normalisation (sections 6.2.2 and 6.2.3): the scheme and host are case-insensitive,
    ``:80``/``:443`` are the defaults of http/https, an empty path is ``/``, and the query
    and fragment are not part of ``htu``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"Invalid port in {url!r}") from None
    if port is not None and not (
        (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    ):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def confirmation_jkt(claims: Mapping[str, Any]) -> Optional[str]:
    """The ``cnf.jkt`` of a token's claims, or None for an unbound token."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    if type(cnf) is dict or isinstance(cnf, Mapping):
        jkt = cnf.get("jkt")
        if jkt is not None:
            if not isinstance(jkt, str):
                raise DPoPBindingError("The token's cnf.jkt is not a string")
            return jkt
    return None


def check_binding(claims: Mapping[str, Any], proof: Optional[DPoPProof]) -> None:
    """Refuse a token whose ``cnf.jkt`` does not match the proof key (RFC 9449 7.1).

    With ``proof=None`` (a bearer request) a bound token is refused: presenting a
    DPoP-bound token as a bearer token would strip its protection. With a proof, the
    token must be bound, to that key.
    """
    jkt = confirmation_jkt(claims)
    if proof is None:
        if jkt is not None:
            raise DPoPBindingError("A DPoP-bound token needs the DPoP scheme and a proof")
        return
    if jkt is None:
        raise DPoPBindingError("The token is not bound to a DPoP key")
    if not _same_text(jkt, proof.jkt):
        raise InvalidDPoPProofError("The proof key does not match the token's cnf.jkt")


def extract_credentials(
    authorization: Union[str, bytes, None], schemes: Iterable[str] = ("Bearer", "DPoP")
) -> tuple[str, str]:
    """``(scheme, token)`` of an ``Authorization`` header whose scheme is in ``schemes``.

    The scheme comes back spelled as in ``schemes`` (it matches case-insensitively).
    Raises the same errors as ``extract_bearer``: ``MissingAuthorizationError``,
    ``UnsupportedSchemeError`` or ``MalformedAuthorizationError``.
    """
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    if authorization is not None:
        # The common case, one space and a token68: no _CREDENTIALS match, and the token's
        # own check answered from the cache after its first request.
        scheme_text, space, token = authorization.partition(" ")
        if space and _is_token68(token):
            for scheme in schemes:
                if scheme_text == scheme:
                    return scheme, token
    if authorization is None or not authorization.strip(" \t"):
        raise MissingAuthorizationError("Authorization header is missing")
    value = authorization.strip(" \t")
    match = _CREDENTIALS.fullmatch(value)
    scheme_text = value.split(" ", 1)[0].split("\t", 1)[0]
    wanted = {scheme.lower(): scheme for scheme in schemes}
    found = wanted.get(scheme_text.lower())
    if found is None:
        raise UnsupportedSchemeError(f"Authorization scheme must be {' or '.join(schemes)}")
    if match is None or match.group(2) is None:
        raise MalformedAuthorizationError(
            f"Authorization header must be '{found} <token>' with one token68 token"
        )
    return found, match.group(2)


# --- nonces ------------------------------------------------------------------------------


class DPoPNonces:
    """Server-provided nonces (RFC 9449 section 8), stateless and shared by processes.

    A nonce is an HMAC of the current time window under ``secret``; the current and the
    previous window's nonces are accepted, so a nonce lives between ``lifetime`` and twice
    that. Every process given the same secret issues and accepts the same nonces.
    """

    def __init__(
        self,
        secret: Optional[bytes] = None,
        *,
        lifetime: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (math.isfinite(lifetime) and lifetime >= 1):
            raise ValueError("lifetime must be at least one second")
        self._secret = secrets.token_bytes(32) if secret is None else bytes(secret)
        if len(self._secret) < 16:
            raise ValueError("The nonce secret must be at least 16 bytes")
        self.lifetime = lifetime
        self._clock = clock

    def _nonce(self, window: int) -> str:
        digest = hmac.new(self._secret, window.to_bytes(8, "big"), hashlib.sha256).digest()
        return _b64url(digest[:24])

    def current(self) -> str:
        """The nonce to hand out now (in a ``DPoP-Nonce`` header)."""
        return self._nonce(int(self._clock() // self.lifetime))

    def is_valid(self, nonce: object) -> bool:
        if not isinstance(nonce, str):
            return False
        window = int(self._clock() // self.lifetime)
        return any(_same_text(nonce, self._nonce(w)) for w in (window, window - 1))


# --- the verifier ------------------------------------------------------------------------


class DPoPVerifier:
    """Verifies DPoP proofs (RFC 9449 section 4.3) and remembers their ``jti``.

    - ``replay_store``: a denylist store whose ``consume`` accepts each proof once
      (``MemoryDenylist``; ``SQLiteDenylist`` or ``RedisDenylist`` across processes).
    - ``algorithms``: the accepted asymmetric algorithms (advertised in ``algs``).
    - ``max_age``: how old a proof's ``iat`` may be, in seconds; ``max_skew``: how far in
      the future it may be (the client's clock may run ahead). A proof is remembered for
      ``max_age + max_skew`` seconds, the time it could be accepted at all.
    - ``nonces``: a ``DPoPNonces`` to require server nonces; None (default) for none.
    """

    def __init__(
        self,
        replay_store: Denylist,
        *,
        algorithms: Iterable[str] = DEFAULT_DPOP_ALGORITHMS,
        max_age: float = 60.0,
        max_skew: float = 5.0,
        nonces: Optional[DPoPNonces] = None,
        clock: Callable[[], float] = time.time,
        key_prefix: str = "dpop:",
    ) -> None:
        self.algorithms = tuple(algorithms)
        if not self.algorithms:
            raise ValueError("DPoPVerifier needs at least one algorithm")
        refused = [alg for alg in self.algorithms if alg not in _ASYMMETRIC]
        if refused:
            raise ValueError(f"DPoP proofs need asymmetric algorithms, not {', '.join(refused)}")
        if not (max_age > 0 and max_skew >= 0):
            raise ValueError("max_age must be positive and max_skew not negative")
        self.replay_store = replay_store
        self.max_age = float(max_age)
        self.max_skew = float(max_skew)
        self.nonces = nonces
        self._clock = clock
        self._key_prefix = key_prefix
        self._allowed = frozenset(self.algorithms)
        self._jws = PyJWS()
        # The core's JWS split (PyJWS._load without the Python frame around it).
        self._load = self._jws._engine.load
        # Encoded proof header -> its checked alg, key, thumbprint and jwk.
        self._headers: dict[str, _CheckedHeader] = {}

    @property
    def blocking(self) -> bool:
        """Whether ``verify`` may wait on I/O (the replay store's ``blocking``)."""
        return bool(getattr(self.replay_store, "blocking", True))

    def __repr__(self) -> str:
        return (
            f"DPoPVerifier(algorithms={self.algorithms!r}, max_age={self.max_age!r}, "
            f"replay_store={self.replay_store!r}, nonces={self.nonces is not None})"
        )

    def challenge_params(self) -> str:
        """The ``algs="..."`` parameter of a ``WWW-Authenticate: DPoP`` challenge."""
        return f'algs="{" ".join(self.algorithms)}"'

    def verify(
        self,
        proof: Union[str, Iterable[str], None],
        *,
        method: str,
        url: str,
        access_token: Optional[str] = None,
        consume: bool = True,
    ) -> DPoPProof:
        """Check ``proof`` for a ``method`` request to ``url``; return what it proves.

        ``proof`` is the ``DPoP`` header value, or the list of all of them (exactly one is
        allowed). ``access_token`` is required at a resource server (the proof's ``ath``
        must hash it) and None at a token endpoint. ``consume=False`` skips recording the
        ``jti``, for a caller that calls ``consume_jti`` once its other checks passed.
        """
        if type(proof) is list and len(proof) == 1 and type(proof[0]) is str:
            proof = proof[0]
        if not isinstance(proof, str) or not proof or "," in proof or " " in proof:
            proof = _single_proof(proof)
        # One client sends the same header (typ, alg, jwk) with every proof: its checks and
        # its key are remembered by the header's encoded form, and a proof under a
        # remembered header is verified by the key without the header being parsed again.
        segment = proof[: proof.find(".")]
        checked = self._headers.get(segment)
        if checked is not None and checked[4]:
            alg, key, jkt, jwk, _ = checked
            try:
                payload: Optional[bytes] = key.verify_jws(alg, proof)
            except Exception as exc:  # the messages of the full parse below
                raise InvalidDPoPProofError(
                    f"The DPoP proof is not a well-formed JWT: {exc}"
                ) from None
            if payload is None:
                raise InvalidDPoPProofError("The DPoP proof's signature does not verify")
            payload_bytes = payload
        else:
            try:
                payload_bytes, signing_input, header, signature = self._load(proof)
            except Exception as exc:  # whatever a malformed JWS makes the parser raise
                raise InvalidDPoPProofError(
                    f"The DPoP proof is not a well-formed JWT: {exc}"
                ) from None
            if checked is None:
                checked = self._check_header(header)
                if len(self._headers) >= _KEY_CACHE_SIZE:
                    self._headers.clear()
                self._headers[segment] = checked
            alg, key, jkt, jwk, _ = checked
            try:
                valid = key.verify(alg, signing_input, signature)
            except Exception:  # a signature of the wrong length for the key, say
                valid = False
            if not valid:
                raise InvalidDPoPProofError("The DPoP proof's signature does not verify")

        try:
            claims = loads_payload(payload_bytes)
        except (ValueError, DecodeError):
            raise InvalidDPoPProofError("The DPoP proof's payload is not a JSON object") from None
        jti = claims.get("jti")
        htm = claims.get("htm")
        htu = claims.get("htu")
        iat: Any = claims.get("iat")
        if type(jti) is not str or not jti:
            raise InvalidDPoPProofError("The DPoP proof's jti claim is missing")
        if not jti.isascii() and not _is_unicode(jti):
            raise InvalidDPoPProofError(_BAD_JTI)
        if type(htm) is not str or not htm:
            raise InvalidDPoPProofError("The DPoP proof's htm claim is missing")
        if type(htu) is not str or not htu:
            raise InvalidDPoPProofError("The DPoP proof's htu claim is missing")
        if type(iat) not in (int, float) or not math.isfinite(iat):
            raise InvalidDPoPProofError("The DPoP proof's iat claim is missing or not a number")

        if htm != method:
            raise InvalidDPoPProofError(f"The DPoP proof is for {htm} requests, not {method}")
        if "?" in htu or "#" in htu:
            raise InvalidDPoPProofError("The DPoP proof's htu must have no query or fragment")
        # The same string normalises the same: only a different spelling is normalised.
        if htu != url and _htu_key(htu) != _htu_key(url):
            raise InvalidDPoPProofError("The DPoP proof's htu does not match the request URI")

        now = self._clock()
        if iat < now - self.max_age:
            raise InvalidDPoPProofError("The DPoP proof is too old (iat)")
        if iat > now + self.max_skew:
            raise InvalidDPoPProofError("The DPoP proof is issued in the future (iat)")

        if access_token is not None:
            ath = claims.get("ath")
            # compare_digest takes ASCII strings as they are; an ath or a token that is not
            # ASCII (a lone surrogate, say) cannot match, as a hash is base64url.
            if (
                type(ath) is not str
                or not (ath.isascii() and access_token.isascii())
                or not hmac.compare_digest(ath, access_token_hash(access_token))
            ):
                raise InvalidDPoPProofError("The DPoP proof's ath does not match the access token")

        if self.nonces is not None and not self.nonces.is_valid(claims.get("nonce")):
            raise UseDPoPNonceError(
                "Authorization server requires nonce in DPoP proof", self.nonces.current()
            )

        result = _new_proof(jkt, dict(jwk), claims, alg)
        if consume:
            self.consume_jti(result)
        return result

    def consume_jti(self, proof: DPoPProof) -> None:
        """Record the proof's ``jti``; raise ``InvalidDPoPProofError`` if it was seen.

        Keyed by the proof key and the ``jti`` (hashed, so a long ``jti`` costs no more),
        and kept for as long as the ``iat`` window could accept the proof.
        """
        iat = float(proof.claims["iat"])
        expires_at = max(iat, self._clock()) + self.max_age + self.max_skew
        try:
            replay_key = f"{proof.jkt}\x00{proof.claims['jti']}".encode()
        except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
            raise InvalidDPoPProofError(_BAD_JTI) from None
        digest = hashlib.sha256(replay_key).hexdigest()
        if not self.replay_store.consume(self._key_prefix + digest, expires_at):
            raise InvalidDPoPProofError("The DPoP proof was already used (jti replay)")

    def _check_header(self, header: dict[str, Any]) -> _CheckedHeader:
        """The header's typ, alg and jwk checks; the key and its thumbprint."""
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != "dpop+jwt":
            raise InvalidDPoPProofError("The DPoP proof's typ must be dpop+jwt")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._allowed:
            raise InvalidDPoPProofError(
                f"The DPoP proof's alg must be one of {', '.join(self.algorithms)}"
            )
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise InvalidDPoPProofError("The DPoP proof has no jwk header")
        if _PRIVATE_MEMBERS.intersection(jwk):
            raise InvalidDPoPProofError("The DPoP proof's jwk must be a public key")
        kty = jwk.get("kty")
        members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
        if members is None:
            raise InvalidDPoPProofError(f"Unsupported DPoP key type: {kty!r}")
        values = [jwk.get(name) for name in members]
        if not all(isinstance(value, str) for value in values):
            raise InvalidDPoPProofError("The DPoP proof's jwk lacks required members")
        try:
            key = NativeKey.from_jwk(dict(zip(members, values)))  # type: ignore[arg-type]
        except Exception as exc:  # the core's ValueError for a bad curve point, say
            raise InvalidDPoPProofError(
                f"The DPoP proof's jwk is not a usable key: {exc}"
            ) from None
        if key.is_private:
            raise InvalidDPoPProofError("The DPoP proof's jwk must be a public key")
        if not _key_fits(key, alg):
            raise InvalidDPoPProofError(f"The DPoP proof's jwk is not a {alg} key")
        # The core's verify_jws reads no header, so it takes only a header without "b64"
        # (RFC 7797's unencoded payloads, which the full parse handles).
        return alg, key, jwk_thumbprint(jwk), jwk, "b64" not in header


_BAD_JTI = "The DPoP proof's jti claim is not a valid Unicode string"


def _is_unicode(text: str) -> bool:
    """Whether ``text`` is free of lone surrogates (JSON lets ``"\\ud800"`` through)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


#: What ``_check_header`` keeps per header: alg, key, thumbprint, jwk, and whether a
#: proof under it may skip the header's parse (``NativeKey.verify_jws``).
_CheckedHeader = tuple[str, NativeKey, str, dict[str, Any], bool]


@functools.lru_cache(maxsize=1024)
def _htu_key(url: str) -> str:
    """``normalize_htu``, remembered: a server sees the same few URLs again and again."""
    try:
        return normalize_htu(url)
    except ValueError:
        return "\x00invalid\x00" + url  # never equal to a valid URL's form


_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "secp256k1"}


def _key_fits(key: NativeKey, alg: str) -> bool:
    if alg in _CURVES:
        return key.kty == "EC" and key.curve == _CURVES[alg]
    if alg.startswith(("RS", "PS")):
        return key.kty == "RSA" and (key.key_size or 0) >= 2048
    return key.kty == "OKP"


def _single_proof(proof: object) -> str:
    """The one proof in ``proof`` (a header value, or the list of them), stripped."""
    if proof is None:
        raise InvalidDPoPProofError("The request has no DPoP proof header")
    if not isinstance(proof, str):
        # Bytes iterate as numbers, and other objects do not iterate at all.
        if isinstance(proof, (bytes, bytearray, memoryview)) or not isinstance(proof, Iterable):
            raise InvalidDPoPProofError(_not_a_string(proof))
        values = list(proof)
        if len(values) != 1:
            raise InvalidDPoPProofError(
                "The request has no DPoP proof header"
                if not values
                else "The request must carry exactly one DPoP proof header"
            )
        proof = values[0]
        if not isinstance(proof, str):
            raise InvalidDPoPProofError(_not_a_string(proof))
    proof = proof.strip(" \t")
    if not proof or "," in proof or " " in proof:
        raise InvalidDPoPProofError("The request must carry exactly one DPoP proof")
    return proof


def _not_a_string(value: object) -> str:
    return f"The DPoP proof header must be a string, not {type(value).__name__}"
