"""OpenID Connect and OAuth 2.0 authorization server discovery.

:class:`ProviderDiscovery` reads an issuer's metadata document, from
``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0, section 4)
or ``/.well-known/oauth-authorization-server`` (RFC 8414, section 3), and:

* refuses a document whose ``issuer`` is not exactly the configured issuer
  (OpenID Connect Discovery 4.3, RFC 8414 3.3), so that one provider cannot
  stand in for another;
* takes its ``jwks_uri``, whose scheme must be allowed, and the signing
  algorithms it advertises (only asymmetric ones: an advertised ``HS256`` or
  ``none`` is never taken for tokens verified with public keys);
* caches the document by the rules of :class:`~turbojwt.PyJWKClient`'s key set:
  ``Cache-Control: max-age`` clamped to ``[min_lifespan, max_lifespan]``,
  ``ETag``/``304``, served stale for ``max_stale`` seconds when a refresh
  fails, failures retried at most once per ``cooldown_duration``, one fetch
  in flight at a time, bounded size and time, no redirects;
* hands out the :class:`~turbojwt.PyJWKClient` of the ``jwks_uri``, one per URI.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Collection, Mapping
from ssl import SSLContext
from typing import Any, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

from .algorithms import requires_cryptography
from .exceptions import PyJWKClientConnectionError, PyJWKClientError
from .jwks_client import (
    EventHook,
    FetchFunction,
    JWKSClientStats,
    PyJWKClient,
    _allowed_schemes,
    _check_scheme,
    _freshness_lifetime,
    _validators_of,
    fetch_document,
)

__all__ = ["DiscoveryConnectionError", "DiscoveryError", "ProviderDiscovery", "well_known_uri"]

#: Bound on a metadata document: real ones are a few kilobytes.
DEFAULT_MAX_DOCUMENT_BYTES = 1 << 18

#: Metadata fields read, in order, for the algorithms that sign the tokens to verify.
DEFAULT_ALGORITHM_FIELDS = (
    "id_token_signing_alg_values_supported",
    "access_token_signing_alg_values_supported",
)

_KINDS = ("openid", "oauth", "auto")


class DiscoveryError(PyJWKClientError):
    """The metadata document cannot be fetched or is not acceptable."""


class DiscoveryConnectionError(DiscoveryError, PyJWKClientConnectionError):
    """The discovery endpoint could not be reached (also a ``PyJWKClientConnectionError``)."""


def well_known_uri(issuer: str, kind: str = "openid") -> str:
    """The metadata URI of ``issuer``.

    * ``"openid"``: the issuer, without a trailing ``/``, followed by
      ``/.well-known/openid-configuration``;
    * ``"oauth"``: ``/.well-known/oauth-authorization-server`` inserted between
      the host and the issuer's path (RFC 8414 3.1).
    """
    if kind == "openid":
        return issuer.rstrip("/") + "/.well-known/openid-configuration"
    if kind == "oauth":
        parts = urlsplit(issuer)
        path = "/.well-known/oauth-authorization-server" + parts.path.rstrip("/")
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    raise ValueError(f"kind must be 'openid' or 'oauth', not {kind!r}")


class ProviderDiscovery:
    """The metadata of one issuer, fetched from its well-known URI and cached.

    Thread-safe; a fresh cached document is answered without a lock.
    """

    def __init__(
        self,
        issuer: str,
        *,
        kind: str = "openid",
        headers: Optional[dict[str, Any]] = None,
        timeout: float = 10,
        ssl_context: Optional[SSLContext] = None,
        proxy: Optional[str] = None,
        fetch: Optional[FetchFunction] = None,
        allowed_schemes: Optional[Collection[str]] = None,
        max_response_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        lifespan: float = 3600,
        min_lifespan: float = 60,
        max_lifespan: float = 86400,
        max_stale: float = 86400,
        cooldown_duration: float = 30,
        honor_cache_control: bool = True,
        algorithm_fields: Collection[str] = DEFAULT_ALGORITHM_FIELDS,
        jwks_options: Optional[Mapping[str, Any]] = None,
        jwks_client_for: Optional[Callable[[str], PyJWKClient]] = None,
        on_event: Optional[EventHook] = None,
        background_refresh: bool = True,
    ) -> None:
        """
        :param issuer: the issuer identifier, exactly as tokens carry it in ``iss``.
        :param kind: ``"openid"`` (``openid-configuration``), ``"oauth"``
            (RFC 8414's ``oauth-authorization-server``) or ``"auto"`` (the
            first, then the second when the first fails).
        :param jwks_options: keyword arguments for the :class:`PyJWKClient` of
            the ``jwks_uri`` (``refresh_ahead``, ``cooldown_duration`` ...); the
            transport settings (``headers``, ``timeout``, ``ssl_context``,
            ``proxy``, ``fetch``, ``allowed_schemes``) default to this object's.
        :param jwks_client_for: builds (or shares) the client of a ``jwks_uri``
            instead; :class:`~turbojwt.IssuerRegistry` passes one that keeps
            one client per URI across issuers.
        :param background_refresh: serve an expired document (within
            ``max_stale``) while a background thread fetches its successor,
            instead of making the caller wait for the fetch.

        The other parameters mean what they mean for :class:`PyJWKClient`.

        :raises PyJWKClientError: on an invalid issuer scheme or parameter.
        """
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, not {kind!r}")
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer must be a non-empty string")
        self.allowed_schemes = _allowed_schemes(allowed_schemes, fetch is not None)
        _check_scheme(issuer, self.allowed_schemes, "issuer URL")
        for name, value in (
            ("lifespan", lifespan),
            ("min_lifespan", min_lifespan),
            ("max_stale", max_stale),
            ("cooldown_duration", cooldown_duration),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise PyJWKClientError(f"{name} must be finite and >= 0, not {value!r}")
        if not max_lifespan >= min_lifespan:
            raise PyJWKClientError("max_lifespan must be greater than or equal to min_lifespan")
        self.issuer = issuer
        self.kind = kind
        self.headers: dict[str, Any] = {} if headers is None else headers
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.fetch = fetch
        self.max_response_bytes = max_response_bytes
        self.lifespan = lifespan
        self.min_lifespan = min_lifespan
        self.max_lifespan = max_lifespan
        self.max_stale = max_stale
        self.cooldown_duration = cooldown_duration
        self.honor_cache_control = honor_cache_control
        self.algorithm_fields = tuple(algorithm_fields)
        self.jwks_options: dict[str, Any] = dict(jwks_options or {})
        self.on_event = on_event
        #: Counters: ``fetches``, ``fetch_failures``, ``not_modified``, ``stale_served``,
        #: ``background_refreshes``.
        self.stats = JWKSClientStats()
        self._jwks_client_for = jwks_client_for
        self._lock = threading.Lock()
        # (document, stored at, expires at), replaced as a whole.
        self._entry: Optional[tuple[dict[str, Any], float, float]] = None
        self._validators: dict[str, str] = {}
        self._source: Optional[str] = None  # the well-known URI that answered
        self._last_failure: Optional[tuple[float, PyJWKClientError]] = None
        self._jwks_clients: dict[str, PyJWKClient] = {}
        self.background_refresh = background_refresh
        self._background_guard = threading.Lock()
        self._background_refreshing = False

    @property
    def uris(self) -> list[str]:
        """The well-known URIs tried, in order."""
        if self.kind == "auto":
            return [well_known_uri(self.issuer, "openid"), well_known_uri(self.issuer, "oauth")]
        return [well_known_uri(self.issuer, self.kind)]

    def metadata(self, refresh: bool = False) -> dict[str, Any]:
        """The issuer's metadata document, from the cache while it is fresh.

        With ``background_refresh``, an expired document within ``max_stale``
        is returned at once while its successor is fetched in a background
        thread, so that no caller waits on the network once a document is cached.

        :raises DiscoveryError: no acceptable document could be fetched, and
            no cached one may stand in. Within ``cooldown_duration`` of a
            failure, the failure is raised again without a request.
        """
        entry = self._entry
        if not refresh and entry is not None:
            now = time.monotonic()
            if now <= entry[2]:
                return entry[0]
            if self.background_refresh and now <= entry[2] + self.max_stale:
                self._refresh_in_background()
                self.stats.add("stale_served")
                self._emit("stale_served")
                return entry[0]
        return self._update(refresh)

    def _update(self, refresh: bool) -> dict[str, Any]:
        with self._lock:
            entry = self._entry
            now = time.monotonic()
            if not refresh and entry is not None and now <= entry[2]:
                return entry[0]  # fetched while this caller waited
            failure = self._last_failure
            if failure is not None and now - failure[0] < self.cooldown_duration:
                stale = self._stale(now)
                if stale is not None:
                    return stale
                raise failure[1]
            try:
                return self._fetch()
            except PyJWKClientError as error:
                failed = error if isinstance(error, DiscoveryError) else _as_discovery_error(error)
                self._last_failure = (time.monotonic(), failed)
                self.stats.add("fetch_failures")
                self._emit("fetch_failed", error=failed)
                stale = self._stale(time.monotonic())
                if stale is not None:
                    return stale
                raise failed from error

    def _refresh_in_background(self) -> None:
        with self._background_guard:
            if self._background_refreshing:
                return
            self._background_refreshing = True
        self.stats.add("background_refreshes")
        self._emit("background_refresh")
        try:
            threading.Thread(
                target=self._background_update, name="turbojwt-discovery-refresh", daemon=True
            ).start()
        except RuntimeError:  # the interpreter is shutting down
            self._background_refreshing = False

    def _background_update(self) -> None:
        try:
            self._update(False)
        except PyJWKClientError:
            pass  # recorded by _update; callers go on with the cached document
        finally:
            with self._background_guard:
                self._background_refreshing = False

    def prefetch(self) -> dict[str, Any]:
        """Fetch the document and the key set now, e.g. at start-up.

        :raises PyJWKClientError: either fetch failed.
        """
        document = self.metadata(refresh=True)
        self.jwks_client().prefetch()
        return document

    @property
    def jwks_uri(self) -> str:
        """The ``jwks_uri`` of the current document."""
        return str(self.metadata()["jwks_uri"])

    def signing_algorithms(self) -> list[str]:
        """The asymmetric algorithms the document advertises for signing tokens.

        Read from the first of ``algorithm_fields`` that lists any; empty when
        none does (OpenID Connect's default for ID tokens is ``RS256``).
        """
        document = self.metadata()
        for name in self.algorithm_fields:
            values = document.get(name)
            if isinstance(values, list):
                algorithms = [
                    value
                    for value in values
                    if isinstance(value, str) and value in requires_cryptography
                ]
                if algorithms:
                    return algorithms
        return []

    def jwks_client(self) -> PyJWKClient:
        """The key set client of the current ``jwks_uri`` (a new URI gets a new client)."""
        uri = self.jwks_uri
        client = self._jwks_clients.get(uri)
        if client is not None:
            return client
        with self._lock:
            client = self._jwks_clients.get(uri)
            if client is None:
                if self._jwks_client_for is not None:
                    client = self._jwks_client_for(uri)
                else:
                    client = PyJWKClient(uri, **self._jwks_settings())
                # Only the current URI's client is kept.
                self._jwks_clients = {uri: client}
            return client

    def _jwks_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "headers": self.headers,
            "timeout": self.timeout,
            "ssl_context": self.ssl_context,
            "proxy": self.proxy,
            "fetch": self.fetch,
            "allowed_schemes": self.allowed_schemes,
        }
        settings.update(self.jwks_options)
        return settings

    def _stale(self, now: float) -> Optional[dict[str, Any]]:
        entry = self._entry
        if entry is None or now > entry[2] + self.max_stale:
            return None
        self.stats.add("stale_served")
        self._emit("stale_served")
        return entry[0]

    def _fetch(self) -> dict[str, Any]:
        # Called with the lock held.
        errors: list[PyJWKClientError] = []
        for uri in self.uris:
            try:
                return self._fetch_from(uri)
            except DiscoveryError:
                raise  # a document that answered but is wrong: no fallback
            except PyJWKClientError as error:
                errors.append(error)
        raise errors[-1]

    def _fetch_from(self, uri: str) -> dict[str, Any]:
        conditional = self._validators if uri == self._source and self._entry is not None else {}
        headers = {**self.headers, **conditional} if conditional else self.headers
        started = time.monotonic()
        self.stats.add("fetches")
        fetched = fetch_document(
            uri,
            headers,
            timeout=self.timeout,
            ssl_context=self.ssl_context,
            proxy=self.proxy,
            fetch=self.fetch,
            max_response_bytes=self.max_response_bytes,
            what="discovery endpoint",
        )
        fresh_for = _freshness_lifetime(fetched.headers)
        if fetched.status == 304:
            if not conditional or self._entry is None:
                raise PyJWKClientConnectionError(
                    'Fail to fetch data from the url, err: "304 Not Modified '
                    'answered a request that was not conditional"'
                )
            document = self._entry[0]
            self.stats.add("not_modified")
            self._emit("not_modified", seconds=time.monotonic() - started)
        else:
            document = self._checked(fetched.body)
            self._validators = _validators_of(fetched.headers)
            self._source = uri
            self._emit("fetch", seconds=time.monotonic() - started)
        if fresh_for is None or not self.honor_cache_control:
            lifespan = self.lifespan
        else:
            lifespan = min(max(fresh_for, self.min_lifespan), self.max_lifespan)
        now = time.monotonic()
        self._entry = (document, now, now + lifespan)
        self._last_failure = None
        return document

    def _checked(self, body: Any) -> dict[str, Any]:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as error:
            raise DiscoveryError(f"The discovery document is not valid JSON: {error}") from error
        if not isinstance(document, dict):
            raise DiscoveryError("The discovery document is not a JSON object")
        issuer = document.get("issuer")
        if issuer != self.issuer:
            raise DiscoveryError(
                f"The discovery document names issuer {issuer!r}, "
                f"not the configured {self.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise DiscoveryError("The discovery document has no jwks_uri")
        try:
            _check_scheme(jwks_uri, self.allowed_schemes, "jwks_uri")
        except PyJWKClientError as error:
            raise DiscoveryError(str(error)) from error
        return document

    def _emit(self, event: str, **details: Any) -> None:
        hook = self.on_event
        if hook is None:
            return
        try:
            hook(event, {"uri": self.uris[0], "issuer": self.issuer, **details})
        except Exception:  # pragma: no cover - a monitoring hook must not break discovery
            pass


def _as_discovery_error(error: PyJWKClientError) -> DiscoveryError:
    if isinstance(error, PyJWKClientConnectionError):
        return DiscoveryConnectionError(str(error))
    return DiscoveryError(str(error))
