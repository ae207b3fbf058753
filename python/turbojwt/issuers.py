"""``IssuerRegistry``: verify tokens from many issuers, each by its own rules.

A service that accepts tokens from several identity providers (tenants,
partners, a migration from one provider to another) registers each issuer
with its audience, algorithms, leeway and key source:

* ``discovery``: the issuer's OpenID Connect (or RFC 8414) metadata names its
  ``jwks_uri`` and signing algorithms (:class:`~turbojwt.discovery.ProviderDiscovery`);
* ``jwks_uri``: a JWKS endpoint, read by a :class:`~turbojwt.PyJWKClient`;
* ``key`` or ``keys``: a static key, or a static JWK Set.

A token is routed by its ``iss`` claim, read without verifying anything: that
read picks the issuer's settings and nothing else. An ``iss`` that is not
registered is refused before any network request. The token is then verified
in full with that issuer's key, algorithms and audience, with ``issuer=``
enforced, so a token cannot name one issuer and pass with another's settings.

Every issuer's key set client is shared by ``jwks_uri``: two issuers on one
URI cause one fetch, and each client fetches at most once per cooldown for
tokens with unknown ``kid`` values.

``registry.verify_access`` makes the registry usable wherever
``turbojwt.auth.fastapi.BearerAuth`` takes a ``TokenIssuer``, and
``registry.decode_batch`` verifies a batch of tokens from several issuers by
delegating each issuer's share to :func:`turbojwt.decode_batch`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Optional, Union

from .api_jwk import PyJWK, PyJWKSet
from .api_jws import get_unverified_header
from .api_jwt import decode as _decode
from .api_jwt import decode_complete as _decode_complete
from .batch import BatchItem, RevocationCheck, decode_batch, revoke_listed
from .discovery import ProviderDiscovery
from .exceptions import (
    InvalidAlgorithmError,
    InvalidIssuerError,
    InvalidTokenError,
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWTError,
)
from .jwks_client import PyJWKClient

__all__ = ["IssuerRegistry", "UnknownIssuerError", "UnknownSigningKeyError"]

#: Settings of ``discovery_options`` that the registry's key set clients share.
_TRANSPORT_SETTINGS = frozenset(
    ("headers", "timeout", "ssl_context", "proxy", "fetch", "allowed_schemes")
)

#: Algorithms used when a discovered issuer advertises none (OpenID Connect's default).
DEFAULT_DISCOVERED_ALGORITHMS = ("RS256",)


class UnknownIssuerError(InvalidIssuerError):
    """The token's ``iss`` is missing, not a string, or not registered."""


class UnknownSigningKeyError(InvalidTokenError, PyJWKClientError):
    """The issuer's key set has no signing key for the token's ``kid``.

    An :class:`InvalidTokenError` (a bad token, answered 401), and also the
    :class:`PyJWKClientError` that the key set client raised.
    """


@dataclass
class IssuerSettings:
    """How the tokens of one issuer are verified (see :meth:`IssuerRegistry.add`)."""

    issuer: str
    audience: Union[str, Sequence[str], None]
    algorithms: Optional[list[str]]
    leeway: Union[float, timedelta]
    options: dict[str, Any]
    discovery: Optional[ProviderDiscovery] = None
    jwks_client: Optional[PyJWKClient] = None
    key: Any = None
    key_set: Optional[PyJWKSet] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        """Whether keys come over the network (so a verification may block on a fetch)."""
        return self.discovery is not None or self.jwks_client is not None

    def allowed_algorithms(self) -> list[str]:
        """The configured algorithms, narrowed by discovery to the advertised ones."""
        if self.discovery is None:
            return list(self.algorithms or ())
        advertised = self.discovery.signing_algorithms()
        if self.algorithms is None:
            return advertised or list(DEFAULT_DISCOVERED_ALGORITHMS)
        if not advertised:
            return list(self.algorithms)
        allowed = [name for name in self.algorithms if name in advertised]
        if not allowed:
            raise InvalidAlgorithmError(
                f"None of the algorithms allowed for {self.issuer!r} ({self.algorithms}) "
                f"is advertised by its discovery document ({advertised})"
            )
        return allowed

    def key_client(self) -> Optional[PyJWKClient]:
        if self.discovery is not None:
            return self.discovery.jwks_client()
        return self.jwks_client

    def key_for(self, token: Union[str, bytes]) -> Any:
        """The key that verifies ``token``: by its ``kid`` for a key set, else the static key."""
        client = self.key_client()
        if client is not None:
            kid = get_unverified_header(token).get("kid")
            return _signing_key(client, kid)
        if self.key_set is not None:
            kid = get_unverified_header(token).get("kid")
            try:
                return self.key_set[str(kid)]
            except KeyError:
                raise UnknownSigningKeyError(
                    f'Unable to find a signing key that matches: "{kid}"'
                ) from None
        return self.key


def _signing_key(client: PyJWKClient, kid: Any) -> PyJWK:
    try:
        return client.get_signing_key(kid)
    except PyJWKClientConnectionError:
        raise
    except PyJWKClientError as error:
        if str(error).startswith("Unable to find a signing key"):
            raise UnknownSigningKeyError(str(error)) from error
        raise


class IssuerRegistry:
    """Verifies tokens by their ``iss``: each issuer with its own audience, keys and rules.

    Thread-safe. Issuers may be added and removed while tokens are verified.
    """

    def __init__(
        self,
        *,
        denylist: Optional[RevocationCheck] = None,
        jwks_options: Optional[Mapping[str, Any]] = None,
        discovery_options: Optional[Mapping[str, Any]] = None,
        require: Sequence[str] = ("exp",),
    ) -> None:
        """
        :param denylist: a ``turbojwt.auth`` denylist store: a valid token whose
            ``jti`` or ``fam`` it holds is refused (``RevokedTokenError``).
        :param jwks_options: default keyword arguments of every
            :class:`PyJWKClient` the registry builds (``refresh_ahead``,
            ``cooldown_duration``, ``ssl_context``, ``proxy`` ...).
        :param discovery_options: default keyword arguments of every
            :class:`ProviderDiscovery` (``timeout``, ``lifespan`` ...). Its
            transport settings (``headers``, ``timeout``, ``ssl_context``,
            ``proxy``, ``fetch``, ``allowed_schemes``) apply to the key set
            clients too, unless ``jwks_options`` sets them.
        :param require: claims every token must carry, besides ``iss``.
        """
        self.denylist = denylist
        self.jwks_options: dict[str, Any] = dict(jwks_options or {})
        self.discovery_options: dict[str, Any] = dict(discovery_options or {})
        self.require = tuple(require)
        self._issuers: dict[str, IssuerSettings] = {}
        self._clients: dict[str, PyJWKClient] = {}
        self._lock = threading.Lock()

    # --- configuration ------------------------------------------------------------------

    def add(
        self,
        issuer: str,
        *,
        audience: Union[str, Sequence[str], None] = None,
        algorithms: Optional[Sequence[str]] = None,
        leeway: Union[float, timedelta] = 0,
        options: Optional[Mapping[str, Any]] = None,
        require: Optional[Sequence[str]] = None,
        discovery: Union[bool, str, ProviderDiscovery] = False,
        jwks_uri: Optional[str] = None,
        jwks_client: Optional[PyJWKClient] = None,
        key: Any = None,
        keys: Union[PyJWKSet, Mapping[str, Any], None] = None,
        **extra: Any,
    ) -> IssuerSettings:
        """Register ``issuer`` (exactly as its tokens spell ``iss``), replacing any previous entry.

        Exactly one key source:

        * ``discovery``: ``True`` or ``"openid"`` reads
          ``/.well-known/openid-configuration``, ``"oauth"`` RFC 8414's
          ``/.well-known/oauth-authorization-server``, ``"auto"`` tries both,
          or a :class:`ProviderDiscovery` of the caller's. The default when
          no other source is given;
        * ``jwks_uri``, or ``jwks_client`` (a client of the caller's);
        * ``key`` (one static key) or ``keys`` (a JWK Set: a :class:`PyJWKSet`
          or its JSON object), with ``algorithms``.

        :param audience: the ``aud`` required (one value, or any of several).
        :param algorithms: allowed algorithms. Required for static keys and a
            ``jwks_uri``; with discovery, the default is what the document
            advertises, and a given list is narrowed to it.
        :param leeway: clock skew allowed for ``exp``, ``nbf`` and ``iat``.
        :param options: ``decode`` options (``verify_signature``, ``verify_iss``
            and ``verify_aud`` may not be turned off).
        :param require: claims required besides ``iss``; default the registry's.
        :param extra: further ``decode`` keyword arguments (``subject`` ...).
        :raises ValueError: no key source, several, or unsafe options.
        """
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer must be a non-empty string")
        sources = [
            name
            for name, value in (
                ("discovery", discovery),
                ("jwks_uri", jwks_uri),
                ("jwks_client", jwks_client),
                ("key", key),
                ("keys", keys),
            )
            if value is not None and value is not False
        ]
        if len(sources) > 1:
            raise ValueError(f"give one key source for {issuer!r}, not {' and '.join(sources)}")
        if not sources:
            discovery = True
        if (key is not None or keys is not None or jwks_uri or jwks_client) and not algorithms:
            raise ValueError(f"algorithms are required for the keys of {issuer!r}")
        decode_options = dict(options or {})
        for name in ("verify_signature", "verify_iss", "verify_aud"):
            if decode_options.get(name, True) is False:
                raise ValueError(f"options[{name!r}] may not be turned off in a registry")
        required = list(self.require if require is None else require)
        if "iss" not in required:
            required.append("iss")
        decode_options["require"] = sorted(set(decode_options.get("require", ())) | set(required))

        settings = IssuerSettings(
            issuer=issuer,
            audience=audience,
            algorithms=None if algorithms is None else list(algorithms),
            leeway=leeway,
            options=decode_options,
            extra=dict(extra),
        )
        if isinstance(discovery, ProviderDiscovery):
            if discovery.issuer != issuer:
                raise ValueError(
                    f"the discovery object is for {discovery.issuer!r}, not {issuer!r}"
                )
            settings.discovery = discovery
        elif discovery:
            kind = "openid" if discovery is True else str(discovery)
            settings.discovery = ProviderDiscovery(
                issuer, kind=kind, jwks_client_for=self._client_for, **self.discovery_options
            )
        elif jwks_uri:
            settings.jwks_client = self._client_for(jwks_uri)
        elif jwks_client is not None:
            settings.jwks_client = jwks_client
        elif keys is not None:
            settings.key_set = (
                keys if isinstance(keys, PyJWKSet) else PyJWKSet.from_dict(dict(keys))
            )
        else:
            settings.key = key
        with self._lock:
            self._issuers = {**self._issuers, issuer: settings}
        return settings

    def remove(self, issuer: str) -> None:
        """Stop accepting tokens from ``issuer``."""
        with self._lock:
            issuers = dict(self._issuers)
            issuers.pop(issuer, None)
            self._issuers = issuers

    def __contains__(self, issuer: object) -> bool:
        return issuer in self._issuers

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._issuers))

    def __len__(self) -> int:
        return len(self._issuers)

    def settings(self, issuer: str) -> IssuerSettings:
        """The settings registered for ``issuer``.

        :raises UnknownIssuerError: it is not registered.
        """
        try:
            return self._issuers[issuer]
        except KeyError:
            raise UnknownIssuerError(f"Unknown issuer: {issuer!r}") from None

    @property
    def blocking(self) -> bool:
        """Whether verifying may wait on the network (a key set or discovery fetch).

        ``BearerAuth`` then verifies in the thread pool, off the event loop.
        """
        return (
            self.denylist is not None and bool(getattr(self.denylist, "blocking", True))
        ) or any(settings.remote for settings in self._issuers.values())

    def _client_for(self, uri: str) -> PyJWKClient:
        """The one client of ``uri``, shared by every issuer that names it."""
        with self._lock:
            client = self._clients.get(uri)
            if client is None:
                # The transport given for discovery applies to key sets too, unless
                # jwks_options says otherwise.
                settings = {
                    name: value
                    for name, value in self.discovery_options.items()
                    if name in _TRANSPORT_SETTINGS
                }
                settings.update(self.jwks_options)
                client = self._clients[uri] = PyJWKClient(uri, **settings)
            return client

    def prefetch(self) -> dict[str, Optional[Exception]]:
        """Fetch every remote issuer's metadata and keys now; per issuer, ``None`` or the error."""
        outcome: dict[str, Optional[Exception]] = {}
        for issuer, settings in list(self._issuers.items()):
            try:
                if settings.discovery is not None:
                    settings.discovery.prefetch()
                elif settings.jwks_client is not None:
                    settings.jwks_client.prefetch()
                outcome[issuer] = None
            except PyJWTError as error:
                outcome[issuer] = error
        return outcome

    # --- verification -------------------------------------------------------------------

    def issuer_of(self, token: Union[str, bytes]) -> str:
        """The registered issuer named by the token's ``iss`` (read without verification).

        :raises DecodeError: the token is malformed.
        :raises UnknownIssuerError: ``iss`` is missing or not registered.
        """
        payload = _decode(token, options={"verify_signature": False})
        issuer = payload.get("iss")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise UnknownIssuerError(
                "Token has no iss claim" if issuer is None else f"Unknown issuer: {issuer!r}"
            )
        return issuer

    def decode(self, token: Union[str, bytes]) -> dict[str, Any]:
        """The verified claims of ``token``, by the rules of the issuer it names.

        :raises InvalidTokenError: ``UnknownIssuerError``, ``UnknownSigningKeyError``,
            or whatever ``decode`` raises for that issuer's settings.
        :raises PyJWKClientError: the issuer's keys cannot be fetched.
        """
        settings = self.settings(self.issuer_of(token))
        claims: dict[str, Any] = _decode(token, **self._decode_arguments(settings, token))
        return claims

    def decode_complete(self, token: Union[str, bytes]) -> dict[str, Any]:
        """As :meth:`decode`, returning ``decode_complete``'s header, payload and signature."""
        settings = self.settings(self.issuer_of(token))
        complete: dict[str, Any] = _decode_complete(
            token, **self._decode_arguments(settings, token)
        )
        return complete

    def verify_access(
        self,
        token: str,
        *,
        scopes: Union[Iterable[str], str] = (),
        roles: Union[Iterable[str], str] = (),
        check_revoked: bool = True,
    ) -> dict[str, Any]:
        """The claims of a valid, unrevoked token granting ``scopes`` and ``roles``.

        What ``turbojwt.auth.fastapi.BearerAuth`` asks of its issuer, so a
        registry can stand in for a ``TokenIssuer`` there.
        ``check_revoked=False`` skips the denylist.
        """
        from .auth.scopes import require  # the toolkit imports this package

        claims = self.decode(token)
        if self.denylist is not None and check_revoked:
            (checked,) = revoke_listed([claims], self.denylist, complete=False)
            if isinstance(checked, Exception):
                raise checked
        if scopes or roles:
            require(claims, scopes, roles)
        return claims

    def _decode_arguments(
        self, settings: IssuerSettings, token: Union[str, bytes]
    ) -> dict[str, Any]:
        return {
            **settings.extra,
            "key": settings.key_for(token),
            "algorithms": settings.allowed_algorithms(),
            "options": settings.options,
            "audience": settings.audience,
            "issuer": settings.issuer,
            "leeway": settings.leeway,
        }

    def decode_batch(
        self, tokens: Iterable[Union[str, bytes]], *, threads: Optional[int] = None
    ) -> list[BatchItem]:
        """:meth:`decode` over tokens from any number of issuers: per token, claims or exception.

        Tokens are grouped by issuer; each group is verified by one
        :func:`turbojwt.decode_batch` call with that issuer's settings (a key
        set when its keys come from a JWKS). A token of an unknown issuer, or
        whose ``kid`` its issuer's set lacks after at most one refresh, gets
        its error; so does every token of an issuer whose keys cannot be fetched.
        """
        if isinstance(tokens, (str, bytes, bytearray)):
            raise TypeError("decode_batch() takes an iterable of tokens; wrap one token in a list")
        tokens = list(tokens)
        results: list[Optional[BatchItem]] = [None] * len(tokens)
        groups: dict[str, list[int]] = {}
        for index, token in enumerate(tokens):
            try:
                groups.setdefault(self.issuer_of(token), []).append(index)
            except PyJWTError as error:
                results[index] = error
        for issuer, indices in groups.items():
            group = [tokens[index] for index in indices]
            try:
                items = self._decode_group(self.settings(issuer), group, threads)
            except PyJWTError as error:
                items = [error] * len(group)
            for index, item in zip(indices, items):
                results[index] = item
        return [
            item if item is not None else InvalidTokenError("Token was not verified")
            for item in results
        ]

    def _decode_group(
        self, settings: IssuerSettings, tokens: list[Union[str, bytes]], threads: Optional[int]
    ) -> list[BatchItem]:
        client = settings.key_client()
        key: Any
        if client is not None:
            key = _signing_set(client, tokens)
        elif settings.key_set is not None:
            key = settings.key_set
        else:
            key = settings.key
        return decode_batch(
            tokens,
            key,
            settings.allowed_algorithms(),
            options=settings.options,  # type: ignore[arg-type]
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway,
            threads=threads,
            denylist=self.denylist,
            **settings.extra,
        )


def _signing_set(client: PyJWKClient, tokens: list[Union[str, bytes]]) -> PyJWKSet:
    """The client's signing keys as a set, after one lookup per ``kid`` it lacks.

    Each lookup of an unknown ``kid`` refreshes at most once per cooldown, as
    :meth:`PyJWKClient.get_signing_key` does for single tokens.
    """
    known = {key.key_id for key in client.get_signing_keys()}
    for kid in {_kid_of(token) for token in tokens} - known:
        if isinstance(kid, str):
            try:
                _signing_key(client, kid)
            except UnknownSigningKeyError:
                pass  # that token gets PyJWKSetError from decode_batch
    signing = PyJWKSet.__new__(PyJWKSet)
    signing.keys = client.get_signing_keys()
    return signing


def _kid_of(token: Union[str, bytes]) -> Any:
    try:
        kid = get_unverified_header(token).get("kid")
    except PyJWTError:
        return None
    return kid if isinstance(kid, str) else None
