"""``PyJWKClient``: signing keys fetched from a JWKS endpoint, with caching.

HTTP goes through ``urllib.request`` (looked up at call time, so it can be
mocked), redirects are refused, and only ``http``/``https`` URIs are accepted.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import urllib.request
from functools import lru_cache
from ssl import SSLContext
from typing import Any, Optional
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

from .api_jwk import PyJWK, PyJWKSet
from .api_jwt import decode_complete as decode_token
from .exceptions import PyJWKClientConnectionError, PyJWKClientError
from .jwk_set_cache import JWKSetCache

__all__ = ["PyJWKClient"]


class _NoRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Refuses every redirect.

    A redirect could send the request, and its headers (often credentials),
    to a host the caller never named; the 3xx surfaces as an ``HTTPError``.
    """

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> Optional[urllib.request.Request]:
        return None


class PyJWKClient:
    """Fetches a JWK Set over HTTP(S) and looks signing keys up by ``kid``.

    Two caches, both optional:

    * the JWK Set cache (``cache_jwk_set``, on by default) keeps the parsed set
      for ``lifespan`` seconds;
    * the signing key cache (``cache_keys``, off by default) memoises
      :meth:`get_signing_key` in an LRU of ``max_cached_keys`` entries, with no
      expiry.

    An unknown ``kid`` triggers one forced refresh, but, when the set cache
    is on, not within ``cooldown_duration`` seconds of the last successful
    fetch, so that tokens with random ``kid`` values cannot make every lookup
    hit the endpoint. ``cooldown_duration=0`` turns this off.
    """

    def __init__(
        self,
        uri: str,
        cache_keys: bool = False,
        max_cached_keys: int = 16,
        cache_jwk_set: bool = True,
        lifespan: float = 300,
        headers: Optional[dict[str, Any]] = None,
        timeout: float = 30,
        ssl_context: Optional[SSLContext] = None,
        cooldown_duration: float = 30,
    ) -> None:
        """
        :param uri: the JWKS endpoint; must be ``http`` or ``https``.
        :param cache_keys: memoise :meth:`get_signing_key` per ``kid``.
        :param max_cached_keys: size of that memo.
        :param cache_jwk_set: cache the fetched JWK Set.
        :param lifespan: seconds a cached JWK Set stays valid; must be > 0.
        :param headers: extra HTTP request headers.
        :param timeout: HTTP timeout in seconds.
        :param ssl_context: TLS settings for ``https``.
        :param cooldown_duration: minimum seconds between forced refreshes
            caused by an unknown ``kid``; finite and >= 0.
        :raises PyJWKClientError: on an invalid URI scheme, cooldown or lifespan.
        """
        # urllib would also open file:, ftp: and data: URIs; a URI that came
        # from untrusted input (a token's ``jku``) must not reach those.
        scheme = urlparse(uri).scheme.lower()
        if scheme not in ("http", "https"):
            raise PyJWKClientError(
                f"Invalid JWKS URI scheme {scheme!r}: only 'http' and 'https' are supported."
            )
        if cooldown_duration < 0:
            raise PyJWKClientError(
                "Cooldown duration must be greater than or equal to 0, "
                f'the input is "{cooldown_duration}"'
            )
        if not math.isfinite(cooldown_duration):
            raise PyJWKClientError(
                f'Cooldown duration must be finite, the input is "{cooldown_duration}"'
            )

        self.uri = uri
        self.headers: dict[str, Any] = {} if headers is None else headers
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.cooldown_duration = cooldown_duration
        self._last_successful_fetch: Optional[float] = None
        # Serialises lookups, so concurrent misses on one unknown kid cause
        # one refresh rather than one each.
        self._client_lock = threading.RLock()

        self.jwk_set_cache: Optional[JWKSetCache] = None
        if cache_jwk_set:
            if lifespan <= 0:
                raise PyJWKClientError(
                    f'Lifespan must be greater than 0, the input is "{lifespan}"'
                )
            self.jwk_set_cache = JWKSetCache(lifespan)

        if cache_keys:
            self.get_signing_key = lru_cache(maxsize=max_cached_keys)(  # type: ignore[method-assign]
                self.get_signing_key
            )

    def fetch_data(self) -> Any:
        """Download and parse the JWK Set; on success, cache it.

        A failed fetch leaves the cache as it was, so an outage of the
        endpoint does not wipe keys that are still valid.

        :returns: the decoded JSON object.
        :raises PyJWKClientConnectionError: the request failed (including any
            redirect, HTTP error status, timeout or truncated body).
        :raises PyJWKClientError: the body is JSON but not an object.
        :raises PyJWKSetError: the set cache is on and the body has no usable key.
        """
        try:
            request = urllib.request.Request(url=self.uri, headers=self.headers)
            opener = urllib.request.build_opener(*self._url_handlers())
            with opener.open(request, timeout=self.timeout) as response:
                payload = json.load(response)
        except (URLError, TimeoutError, http.client.HTTPException) as error:
            if isinstance(error, HTTPError):
                error.close()  # an HTTPError holds the open response
            raise PyJWKClientConnectionError(
                f'Fail to fetch data from the url, err: "{error}"'
            ) from error

        jwk_set = self._as_jwk_set_payload(payload)
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(jwk_set)
        self._last_successful_fetch = time.monotonic()
        return jwk_set

    def _url_handlers(self) -> list[urllib.request.BaseHandler]:
        handlers: list[urllib.request.BaseHandler] = [_NoRedirectHandler()]
        if self.ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context))
        return handlers

    def get_jwk_set(self, refresh: bool = False) -> PyJWKSet:
        """The JWK Set, from the cache unless it is empty, expired or ``refresh`` is set.

        :raises PyJWKClientError: the endpoint did not return a JSON object.
        """
        data: Any = None
        if self.jwk_set_cache is not None and not refresh:
            data = self.jwk_set_cache.get()
        fetched = data is None
        if fetched:
            data = self.fetch_data()

        # A cache hit is already parsed. A fetch is parsed again because
        # ``fetch_data`` may be overridden to filter or change the payload.
        if isinstance(data, PyJWKSet):
            jwk_set = data
        else:
            jwk_set = PyJWKSet.from_dict(self._as_jwk_set_payload(data))
        # Cache what is returned, not what ``fetch_data`` cached.
        if fetched and self.jwk_set_cache is not None:
            self.jwk_set_cache.put(jwk_set)
        return jwk_set

    @staticmethod
    def _as_jwk_set_payload(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise PyJWKClientError("The JWKS endpoint did not return a JSON object")
        return data

    def get_signing_keys(self, refresh: bool = False) -> list[PyJWK]:
        """The keys of the set that have a ``kid`` and a ``use`` of ``"sig"`` or none.

        :raises PyJWKClientError: there is no such key.
        """
        return self._get_signing_keys_from_jwk_set(self.get_jwk_set(refresh))

    @staticmethod
    def _get_signing_keys_from_jwk_set(jwk_set: PyJWKSet) -> list[PyJWK]:
        signing_keys = [
            key for key in jwk_set.keys if key.public_key_use in ("sig", None) and key.key_id
        ]
        if not signing_keys:
            raise PyJWKClientError("The JWKS endpoint did not contain any signing keys")
        return signing_keys

    def get_signing_key(self, kid: str) -> PyJWK:
        """The signing key whose ``kid`` is ``kid``.

        On a miss the set is fetched again once, unless the cooldown after the
        last successful fetch is still running.

        :raises PyJWKClientError: no key matches, even after the refresh.
        """
        with self._client_lock:
            signing_key = self.match_kid(self.get_signing_keys(), kid)
            if not signing_key and not self._refresh_is_cooling_down():
                signing_keys = self.get_signing_keys(refresh=True)
                self._last_successful_fetch = time.monotonic()
                signing_key = self.match_kid(signing_keys, kid)
            if not signing_key:
                raise PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
            return signing_key

    def _refresh_is_cooling_down(self) -> bool:
        # Without the set cache every lookup fetches anyway, so no cooldown.
        return (
            self.jwk_set_cache is not None
            and self._last_successful_fetch is not None
            and time.monotonic() - self._last_successful_fetch < self.cooldown_duration
        )

    def get_signing_key_from_jwt(self, token: str | bytes) -> PyJWK:
        """The signing key named by the ``kid`` header of ``token`` (read unverified)."""
        unverified = decode_token(token, options={"verify_signature": False})
        return self.get_signing_key(unverified["header"].get("kid"))

    @staticmethod
    def match_kid(signing_keys: list[PyJWK], kid: str) -> Optional[PyJWK]:
        """The first key in ``signing_keys`` whose ``kid`` equals ``kid``, or ``None``."""
        for key in signing_keys:
            if key.key_id == kid:
                return key
        return None
