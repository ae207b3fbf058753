"""``PyJWKClient``: signing keys fetched from a JWKS endpoint, with caching.

PyJWT's client, with its API, caching and messages, plus what a long-running
service needs from one:

* a set whose refresh fails keeps serving for ``max_stale`` seconds past its
  expiry, and so does it while another caller's refresh is in flight;
* ``Cache-Control: max-age`` sets how long a fetched set stays fresh, within
  ``[min_lifespan, max_lifespan]``;
* fetches nobody asked for explicitly (an unknown ``kid``, a retry after a
  failure) happen at most once per ``cooldown_duration``;
* callers that miss at the same time share one fetch;
* a response is read up to ``max_response_bytes``, within about ``timeout``;
* a body that is not a usable JWKS raises :class:`PyJWKClientError` and never
  replaces the cached set;
* a key unchanged since the last fetch keeps its :class:`PyJWK`, so the native
  key the Rust core parsed from it is reused;
* ``refresh_ahead``: a set nearing its expiry is refreshed in the background
  while lookups go on using it (stale-while-revalidate), so once a set is
  cached no lookup waits on the network for it;
* conditional requests: the ``ETag`` and ``Last-Modified`` of the cached set
  are sent back, and ``304 Not Modified`` renews it without a body;
* ``proxy``, ``ssl_context``, or a ``fetch`` function for any other transport
  (a file, an object store);
* :attr:`PyJWKClient.stats` counts fetches, failures, ``304`` answers, stale
  sets served, background refreshes and refused refetches; ``on_event`` is
  told of each.

HTTP goes through ``urllib.request`` (looked up at call time, so it can be
mocked), redirects are refused, and only ``http``/``https`` URIs are accepted
(``allowed_schemes`` narrows that, e.g. to ``https`` alone).
:class:`AsyncPyJWKClient` is the same client for asyncio applications.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.request
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from ssl import SSLContext
from typing import Any, Callable, Optional, Union
from urllib.error import HTTPError, URLError  # noqa: F401 - PyJWT's module namespace
from urllib.parse import urlparse

from .api_jwk import PyJWK, PyJWKSet
from .api_jwt import decode_complete as decode_token
from .exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError
from .jwk_set_cache import JWKSetCache
from .types import JWKDict

__all__ = ["AsyncPyJWKClient", "FetchedDocument", "JWKSClientStats", "PyJWKClient"]

_logger = logging.getLogger(__name__)

#: Default bound on a JWKS response body. Real key sets are a few kilobytes.
DEFAULT_MAX_RESPONSE_BYTES = 1 << 20
_READ_CHUNK_BYTES = 1 << 16
# Seconds and counts in HTTP headers: ASCII digits only, and not absurdly many.
_HEADER_NUMBER = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class FetchedDocument:
    """What a ``fetch`` function returns when it has more to say than the body.

    ``status`` is 200, or 304 to say that the cached document is still current
    (only when the request carried ``If-None-Match`` or ``If-Modified-Since``).
    ``headers`` are looked up case-insensitively: ``Cache-Control``, ``Age``,
    ``ETag`` and ``Last-Modified`` are read.
    """

    body: Union[bytes, str] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


#: A transport of the caller's own: ``fetch(uri, headers, timeout)`` returns the
#: body, or a :class:`FetchedDocument`. Any exception it raises is a failed fetch.
FetchFunction = Callable[[str, Mapping[str, str], float], Union[bytes, str, FetchedDocument]]

#: ``on_event(event, details)``: told of ``"fetch"``, ``"fetch_failed"``,
#: ``"not_modified"``, ``"stale_served"``, ``"background_refresh"`` and
#: ``"refresh_refused"``; ``details`` holds at least ``"uri"``.
EventHook = Callable[[str, dict[str, Any]], None]


class JWKSClientStats:
    """Counters of one client, safe to read at any time (see :meth:`as_dict`).

    * ``fetches``: requests made (by HTTP or the ``fetch`` function), failed ones included;
    * ``fetch_failures``: requests that failed, or whose answer was refused;
    * ``not_modified``: ``304`` answers that renewed the cached document;
    * ``stale_served``: lookups answered by an expired set (outage, refresh in flight);
    * ``background_refreshes``: refreshes started ahead of expiry or behind a stale set;
    * ``refresh_refused``: unknown ``kid`` lookups that did not fetch (cooldown).
    """

    FIELDS = (
        "fetches",
        "fetch_failures",
        "not_modified",
        "stale_served",
        "background_refreshes",
        "refresh_refused",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.FIELDS, 0)

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("_counts")
        if counts is None or name not in counts:
            raise AttributeError(name)
        return int(counts[name])

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __repr__(self) -> str:
        return f"JWKSClientStats({self.as_dict()})"


class MalformedJWKSError(PyJWKClientError, json.JSONDecodeError):
    """The JWKS endpoint's response is not JSON.

    Also a :class:`json.JSONDecodeError`, the error PyJWT lets escape here, so
    handlers written for PyJWT still catch it.
    """

    def __str__(self) -> str:
        return f"The JWKS endpoint did not return valid JSON: {self.args[0]}"


class UnusableJWKSError(PyJWKClientError, PyJWKSetError):
    """The JWKS endpoint's response holds no key that can be used.

    Also a :class:`PyJWKSetError`, the error PyJWT raises here.
    """


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


class _KeyLoader:
    """Loads JWK Sets, keeping the :class:`PyJWK` of every member that did not change.

    A member is recognised by its canonical JSON. Its ``PyJWK`` keeps its
    ``key`` object, by which the Rust core caches the parsed native key, so
    an unchanged key is neither loaded nor parsed again. Only the keys of the
    last set are kept: memory follows the size of one set.
    """

    def __init__(self) -> None:
        self._known: dict[str, PyJWK] = {}
        #: Bumped whenever a loaded set's members differ from the previous set's.
        self.version = 0

    def load(self, payload: dict[str, Any]) -> PyJWKSet:
        """The set in ``payload``, as :meth:`PyJWKSet.from_dict` loads it.

        :raises PyJWKSetError: as ``PyJWKSet`` does; the known keys stay.
        """
        loaded: dict[str, PyJWK] = {}

        def load_key(member: JWKDict) -> PyJWK:
            canonical = _canonical_json(member)
            if canonical is None:
                return PyJWK(member)
            key = loaded.get(canonical)
            if key is None:
                key = self._known.get(canonical) or PyJWK(member)
            loaded[canonical] = key
            return key

        jwk_set = PyJWKSet._from_members(payload.get("keys", []), load_key)
        if loaded.keys() != self._known.keys():
            self.version += 1
        self._known = loaded
        return jwk_set


class _KidIndex:
    """The signing keys of one cache entry by ``kid``, with when that entry expires.

    Checking the entry, the cache's lifespan and the clock against it answers
    a lookup without the calls ``JWKSetCache.get`` makes.
    """

    __slots__ = ("entry", "expires_at", "keys", "lifespan", "refresh_at")

    def __init__(
        self,
        entry: Any,
        lifespan: float,
        expires_at: float,
        keys: dict[str, PyJWK],
        refresh_at: float = math.inf,
    ) -> None:
        self.entry = entry
        self.lifespan = lifespan
        self.expires_at = expires_at
        self.keys = keys
        #: From this moment on a lookup starts a background refresh (``refresh_ahead``).
        self.refresh_at = refresh_at

    @classmethod
    def of(
        cls,
        cache: JWKSetCache,
        index_by_kid: Callable[[PyJWKSet], dict[str, PyJWK]],
        refresh_ahead: float = 0,
    ) -> _KidIndex:
        entry = cache.jwk_set_with_timestamp
        if entry is None:
            return cls(None, cache.lifespan, -math.inf, {}, -math.inf)
        keys = index_by_kid(entry.get_jwk_set())
        expires_at = cache._expiry_of(entry)
        # Without refresh_ahead, the refresh moment is the expiry: past it, no answer.
        refresh_at = min(
            _refresh_moment(entry.get_timestamp(), expires_at, refresh_ahead), expires_at
        )
        return cls(entry, cache.lifespan, expires_at, keys, refresh_at)


def _refresh_moment(stored_at: float, expires_at: float, refresh_ahead: float) -> float:
    """When a set stored at ``stored_at`` and expiring at ``expires_at`` is refreshed ahead.

    At most half its lifespan ahead, so that a short lifespan (a small
    ``max-age``) cannot make every lookup start a refresh.
    """
    if refresh_ahead <= 0 or not math.isfinite(expires_at):
        return math.inf
    return expires_at - min(refresh_ahead, (expires_at - stored_at) / 2)


def _canonical_json(member: JWKDict) -> Optional[str]:
    try:
        return json.dumps(member, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON data: a subclass's fetch_data made it
        return None


class PyJWKClient:
    """Fetches a JWK Set over HTTP(S) and looks signing keys up by ``kid``.

    Two caches, both optional:

    * the JWK Set cache (``cache_jwk_set``, on by default) keeps the parsed set
      for ``lifespan`` seconds, or for the response's ``Cache-Control: max-age``;
    * the signing key cache (``cache_keys``, off by default) memoises
      :meth:`get_signing_key` in an LRU of ``max_cached_keys`` entries. It has
      no expiry, but it is emptied whenever a fetched set differs from the last.

    An unknown ``kid`` triggers one forced refresh, but, when the set cache
    is on, not within ``cooldown_duration`` seconds of the last fetch, so that
    tokens with random ``kid`` values cannot make every lookup hit the
    endpoint. ``cooldown_duration=0`` turns this off.

    One client may be shared by any number of threads: a cache hit takes no
    lock, and callers that need a fetch at the same time share one.
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
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_stale: float = 600,
        honor_cache_control: bool = True,
        min_lifespan: float = 30,
        max_lifespan: float = 86400,
        refresh_ahead: float = 0,
        conditional_requests: bool = True,
        proxy: Optional[str] = None,
        fetch: Optional[FetchFunction] = None,
        allowed_schemes: Optional[Collection[str]] = None,
        prefetch: bool = False,
        on_event: Optional[EventHook] = None,
    ) -> None:
        """
        :param uri: the JWKS endpoint; must be ``http`` or ``https`` (see
            ``allowed_schemes`` and ``fetch``).
        :param cache_keys: memoise :meth:`get_signing_key` per ``kid``.
        :param max_cached_keys: size of that memo.
        :param cache_jwk_set: cache the fetched JWK Set.
        :param lifespan: seconds a cached JWK Set stays valid when the response
            sets no ``max-age``; must be > 0.
        :param headers: extra HTTP request headers.
        :param timeout: seconds allowed for each network operation, and for
            the whole response (checked between reads, so a response never
            takes much more than twice this).
        :param ssl_context: TLS settings for ``https``.
        :param cooldown_duration: minimum seconds between fetches that no
            caller asked for explicitly: the refresh for an unknown ``kid``,
            and the retry of a failed refresh; finite and >= 0.
        :param max_response_bytes: largest response body accepted.
        :param max_stale: seconds past its expiry that a cached set is still
            served when its refresh fails, or while another caller's refresh
            is in flight; 0 serves no expired set (PyJWT's behaviour).
        :param honor_cache_control: let ``Cache-Control: max-age`` (less the
            ``Age`` header; ``no-cache`` and ``no-store`` count as 0) set the
            lifespan of each fetched set, instead of ``lifespan``.
        :param min_lifespan: least lifespan taken from ``Cache-Control``, so a
            ``max-age=0`` cannot make every request fetch.
        :param max_lifespan: greatest lifespan taken from ``Cache-Control``.
        :param refresh_ahead: seconds before a cached set expires (at most half
            its lifespan) from which a lookup starts a refresh in a background
            thread and goes on with the cached set; past expiry, a set within
            ``max_stale`` is likewise served while it is refreshed behind it.
            0 (the default, PyJWT's behaviour): the lookup that finds the set
            expired fetches its successor and waits for it.
        :param conditional_requests: send the cached set's ``ETag``
            (``If-None-Match``) and ``Last-Modified`` (``If-Modified-Since``),
            and take ``304 Not Modified`` as "still current".
        :param proxy: an ``http``/``https`` proxy URL for this client's requests;
            ``""`` ignores the proxy environment variables; ``None`` (default)
            follows them, as urllib does.
        :param fetch: ``fetch(uri, headers, timeout)`` replaces HTTP: it returns
            the body (``bytes`` or ``str``) or a :class:`FetchedDocument`. Size
            bounds, parsing, caching and every other rule still apply.
        :param allowed_schemes: URI schemes accepted; default ``http`` and
            ``https``, or any scheme when ``fetch`` is given. Without ``fetch``
            only a subset of ``http``/``https`` may be named.
        :param prefetch: start fetching the set in a background thread now,
            so that the first lookup finds it cached (or waits for that fetch).
            :meth:`prefetch` fetches and waits.
        :param on_event: ``on_event(event, details)``, called for every event
            :attr:`stats` counts; it must be quick and must not raise.
        :raises PyJWKClientError: on an invalid URI scheme or parameter.
        """
        self.allowed_schemes = _allowed_schemes(allowed_schemes, fetch is not None)
        _check_scheme(uri, self.allowed_schemes, "JWKS URI")
        if proxy:
            _check_scheme(proxy, frozenset(("http", "https")), "proxy URL")
        if not (math.isfinite(refresh_ahead) and refresh_ahead >= 0):
            raise PyJWKClientError(
                "Refresh ahead must be finite and greater than or equal to 0, "
                f'the input is "{refresh_ahead}"'
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
        _check_extra_parameters(max_response_bytes, max_stale, min_lifespan, max_lifespan)

        self.uri = uri
        self.headers: dict[str, Any] = {} if headers is None else headers
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.cooldown_duration = cooldown_duration
        self.max_response_bytes = max_response_bytes
        self.max_stale = max_stale
        self.honor_cache_control = honor_cache_control
        self.min_lifespan = min_lifespan
        self.max_lifespan = max_lifespan
        self.refresh_ahead = refresh_ahead
        self.conditional_requests = conditional_requests
        self.proxy = proxy
        self.fetch = fetch
        self.on_event = on_event
        #: Counters of fetches, failures, stale sets served...: see :class:`JWKSClientStats`.
        self.stats = JWKSClientStats()
        # The last document fetched, its validators and freshness, for a 304.
        self._last_payload: Optional[dict[str, Any]] = None
        self._validators: dict[str, str] = {}
        self._last_fresh_for: Optional[float] = None
        # Whether a background refresh is running (at most one per client).
        self._background_guard = threading.Lock()
        self._background_refreshing = False
        self._last_successful_fetch: Optional[float] = None
        self._last_failed_fetch: Optional[float] = None
        # The lifespan the last response asked for, from fetch_data to get_jwk_set.
        self._fetched_lifespan: Optional[float] = None
        self._key_loader = _KeyLoader()
        # Matches no cache entry (a NaN lifespan equals nothing), so it is rebuilt at once.
        self._kid_index = _KidIndex(None, math.nan, -math.inf, {})
        # The key loader's version when the ``cache_keys`` memo was last valid.
        self._memo_version = 0
        # Held while fetching and while handling an unknown kid, so that
        # concurrent misses cause one fetch rather than one each.
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
        if prefetch:
            self._refresh_in_background()

    def fetch_data(self) -> Any:
        """Download and parse the JWK Set; on success, cache it.

        A failed fetch leaves the cache as it was, so an outage of the
        endpoint does not wipe keys that are still valid. A ``304 Not
        Modified`` answer to a conditional request returns (and renews) the
        cached document.

        :returns: the decoded JSON object.
        :raises PyJWKClientConnectionError: the request failed (including any
            redirect, HTTP error status, timeout or truncated body).
        :raises MalformedJWKSError: the body is not JSON.
        :raises PyJWKClientError: the body is too large, or JSON but not an object.
        :raises UnusableJWKSError: the set cache is on and the body has no usable key.
        """
        with self._client_lock:
            conditional = self._conditional_headers()
            headers = {**self.headers, **conditional} if conditional else self.headers
            started = time.monotonic()
            self.stats.add("fetches")
            try:
                fetched = fetch_document(
                    self.uri,
                    headers,
                    timeout=self.timeout,
                    ssl_context=self.ssl_context,
                    proxy=self.proxy,
                    fetch=self.fetch,
                    max_response_bytes=self.max_response_bytes,
                    what="JWKS endpoint",
                )
                if fetched.status == 304:
                    payload = self._last_payload
                    if not conditional or payload is None:
                        raise PyJWKClientConnectionError(
                            'Fail to fetch data from the url, err: "304 Not Modified '
                            'answered a request that was not conditional"'
                        )
                    fresh_for = _freshness_lifetime(fetched.headers)
                    if fresh_for is None:
                        fresh_for = self._last_fresh_for
                else:
                    payload = self._as_jwk_set_payload(_parse_json(fetched.body))
                    fresh_for = _freshness_lifetime(fetched.headers)
                lifespan = self._lifespan_for(fresh_for)
                if self.jwk_set_cache is not None:
                    self.jwk_set_cache.put(self._load_jwk_set(payload), lifespan=lifespan)
            except (PyJWKClientError, PyJWKSetError) as error:
                self.stats.add("fetch_failures")
                self._emit("fetch_failed", error=error, seconds=time.monotonic() - started)
                raise
            if fetched.status == 304:
                self.stats.add("not_modified")
                self._emit("not_modified", seconds=time.monotonic() - started)
            else:
                self._last_payload = payload
                self._validators = _validators_of(fetched.headers)
                self._emit("fetch", seconds=time.monotonic() - started)
            self._last_fresh_for = fresh_for
            self._fetched_lifespan = lifespan
            self._last_successful_fetch = time.monotonic()
            return payload

    def prefetch(self) -> PyJWKSet:
        """Fetch the set now and wait for it, e.g. at start-up, so no request waits later.

        :raises PyJWKClientError: the fetch failed.
        """
        return self.get_jwk_set(refresh=True)

    def _conditional_headers(self) -> dict[str, str]:
        """``If-None-Match``/``If-Modified-Since`` for the cached set, when a 304 could renew it."""
        if (
            not self.conditional_requests
            or not self._validators
            or self._last_payload is None
            or self.jwk_set_cache is None
            or self.jwk_set_cache.jwk_set_with_timestamp is None
        ):
            return {}
        present = {name.lower() for name in self.headers}
        return {
            name: value for name, value in self._validators.items() if name.lower() not in present
        }

    def _emit(self, event: str, **details: Any) -> None:
        hook = self.on_event
        if hook is None:
            return
        try:
            hook(event, {"uri": self.uri, **details})
        except Exception:  # a monitoring hook must not break a lookup
            _logger.exception("on_event hook failed for %s", event)

    def _lifespan_for(self, fresh_for: Optional[float]) -> Optional[float]:
        """The lifespan of a fetched set: ``None`` means the cache's own ``lifespan``."""
        if fresh_for is None or not self.honor_cache_control:
            return None
        return min(max(fresh_for, self.min_lifespan), self.max_lifespan)

    def _load_jwk_set(self, payload: dict[str, Any]) -> PyJWKSet:
        try:
            jwk_set = self._key_loader.load(payload)
        except PyJWKSetError as error:
            raise UnusableJWKSError(*error.args) from error
        return jwk_set

    def get_jwk_set(self, refresh: bool = False) -> PyJWKSet:
        """The JWK Set, from the cache unless it is empty, expired or ``refresh`` is set.

        Without ``refresh``, an expired set is still served for up to
        ``max_stale`` seconds when fetching its successor fails, or while
        another caller is fetching it.

        :raises PyJWKClientError: the fetch failed and no set may stand in.
        """
        if not refresh:
            jwk_set = self._jwk_set_without_fetching()
            if jwk_set is not None:
                return jwk_set
        if not self._client_lock.acquire(blocking=False):
            # A fetch is in flight: serve the expired set if it may stand
            # in, else wait for that fetch rather than start another.
            stale = None if refresh else self._stale_jwk_set()
            if stale is not None:
                return stale
            self._client_lock.acquire()
        try:
            if not refresh:
                jwk_set = self._jwk_set_without_fetching()  # fetched while we waited
                if jwk_set is not None:
                    return jwk_set
            return self._fetch_jwk_set(serve_stale=not refresh)
        finally:
            self._client_lock.release()

    def _jwk_set_without_fetching(self) -> Optional[PyJWKSet]:
        """The set to serve when that needs no request, else ``None``.

        That is the cached set while it is fresh, or the expired one while
        the retry after a failed refresh is cooling down.
        """
        cache = self.jwk_set_cache
        if cache is None:
            return None
        jwk_set = cache.get()
        if jwk_set is not None:
            if self.refresh_ahead > 0 and self._nearing_expiry(cache):
                self._refresh_in_background()
            return jwk_set
        if self.refresh_ahead > 0:
            # Stale-while-revalidate: the expired set answers while its
            # successor is fetched behind it.
            jwk_set = self._stale_jwk_set()
            if jwk_set is not None:
                self._refresh_in_background()
                return jwk_set
        if _within(self._last_failed_fetch, self.cooldown_duration):
            jwk_set = self._stale_jwk_set()
        return jwk_set

    def _stale_jwk_set(self) -> Optional[PyJWKSet]:
        if self.jwk_set_cache is None or self.max_stale <= 0:
            return None
        jwk_set = self.jwk_set_cache.get_stale(self.max_stale)
        if jwk_set is not None:
            self.stats.add("stale_served")
            self._emit("stale_served")
        return jwk_set

    def _nearing_expiry(self, cache: JWKSetCache) -> bool:
        """Whether the cached entry is within ``refresh_ahead`` of its expiry."""
        entry = cache.jwk_set_with_timestamp
        expiry_of = getattr(cache, "_expiry_of", None)
        if entry is None or expiry_of is None:
            return False
        moment = _refresh_moment(entry.get_timestamp(), expiry_of(entry), self.refresh_ahead)
        return time.monotonic() > moment

    def _refresh_in_background(self) -> None:
        """Start a refresh in a daemon thread, unless one runs or a failed one is cooling down."""
        if self._background_refreshing:
            return
        with self._background_guard:
            if self._background_refreshing or _within(
                self._last_failed_fetch, self.cooldown_duration
            ):
                return
            self._background_refreshing = True
        self.stats.add("background_refreshes")
        self._emit("background_refresh")
        try:
            threading.Thread(
                target=self._background_refresh, name="turbojwt-jwks-refresh", daemon=True
            ).start()
        except RuntimeError:  # the interpreter is shutting down
            self._background_refreshing = False

    def _background_refresh(self) -> None:
        try:
            with self._client_lock:
                # Someone else may have refreshed the set while this thread started.
                cache = self.jwk_set_cache
                if (
                    cache is not None
                    and cache.get() is not None
                    and not (self.refresh_ahead > 0 and self._nearing_expiry(cache))
                ):
                    return
                self._fetch_jwk_set(serve_stale=True)
        except Exception as error:  # recorded by the fetch; lookups go on with the cached set
            _logger.debug("Background refresh of %s failed: %s", self.uri, error)
        finally:
            with self._background_guard:
                self._background_refreshing = False

    def _fetch_jwk_set(self, *, serve_stale: bool) -> PyJWKSet:
        # Called with the client lock held.
        self._fetched_lifespan = None
        try:
            data = self.fetch_data()
            # ``fetch_data`` may be overridden to filter or change the payload,
            # so what it returns is loaded (unchanged keys are reused) and cached.
            if isinstance(data, PyJWKSet):
                jwk_set = data
            else:
                jwk_set = self._load_jwk_set(self._as_jwk_set_payload(data))
        except (PyJWKClientError, PyJWKSetError) as error:
            self._last_failed_fetch = time.monotonic()
            stale = self._stale_jwk_set() if serve_stale else None
            if stale is None:
                raise
            _logger.warning("Serving the expired JWK Set of %s: %s", self.uri, error)
            return stale
        self._last_failed_fetch = None
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(jwk_set, lifespan=self._fetched_lifespan)
        self._forget_memoised_keys_if_changed()
        return jwk_set

    def _forget_memoised_keys_if_changed(self) -> None:
        # ``cache_keys`` memoises lookups; a changed set may have dropped a
        # key (a revocation), which the memo must not go on serving.
        version = self._key_loader.version
        if version != self._memo_version:
            cache_clear = getattr(self.get_signing_key, "cache_clear", None)
            if cache_clear is not None:
                cache_clear()
            self._memo_version = version

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
        last fetch is still running.

        :raises PyJWKClientError: no key matches, even after the refresh.
        """
        signing_key = self._indexed_signing_key(kid)
        if signing_key is not None:
            return signing_key
        if self.jwk_set_cache is not None:
            # The common case, a key of the cached set, takes no lock.
            signing_key = self.match_kid(self.get_signing_keys(), kid)
            if signing_key:
                return signing_key
        with self._client_lock:
            # Looked up again: another caller may have refreshed the set meanwhile.
            signing_key = self.match_kid(self.get_signing_keys(), kid)
            if not signing_key:
                if self._refresh_is_cooling_down():
                    self._refused_refresh(kid)
                else:
                    signing_keys = self.get_signing_keys(refresh=True)
                    self._last_successful_fetch = time.monotonic()
                    signing_key = self.match_kid(signing_keys, kid)
            if not signing_key:
                raise PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
            return signing_key

    def _indexed_signing_key(self, kid: Any) -> Optional[PyJWK]:
        """The key for ``kid`` in the fresh cached set, through a ``kid`` index: the hot path.

        ``None`` means "take the full lookup": the set is not cached or not
        fresh, the kid is unknown, the cache is an application's own class,
        or a lookup method is overridden or patched (the index could disagree).
        """
        cache = self.jwk_set_cache
        if type(cache) is not JWKSetCache or self._lookup_is_replaced():
            return None
        index = self._kid_index
        if cache.jwk_set_with_timestamp is not index.entry or cache.lifespan != index.lifespan:
            index = self._kid_index = _KidIndex.of(cache, self._index_by_kid, self.refresh_ahead)
        now = time.monotonic()
        if now > index.refresh_at:
            if now > index.expires_at:
                return None
            self._refresh_in_background()
        try:
            return index.keys.get(kid)
        except TypeError:  # an unhashable kid: the full lookup compares it
            return None

    def _index_by_kid(self, jwk_set: PyJWKSet) -> dict[str, PyJWK]:
        try:
            signing_keys = self._get_signing_keys_from_jwk_set(jwk_set)
        except PyJWKClientError:
            return {}  # the full lookup raises the error
        index: dict[str, PyJWK] = {}
        for key in signing_keys:
            if isinstance(key.key_id, str):
                index.setdefault(key.key_id, key)  # match_kid takes the first match
        return index

    def _lookup_is_replaced(self) -> bool:
        """Whether a subclass, or a mock on the class or the instance, replaced a lookup method."""
        cls = type(self)
        attributes = self.__dict__
        # Spelled out rather than looped over: this runs on every lookup.
        return (
            cls.get_jwk_set is not _OWN_GET_JWK_SET
            or cls.get_signing_keys is not _OWN_GET_SIGNING_KEYS
            or cls.match_kid is not _OWN_MATCH_KID
            or cls._get_signing_keys_from_jwk_set is not _OWN_SIGNING_KEYS_OF
            or "get_jwk_set" in attributes
            or "get_signing_keys" in attributes
            or "match_kid" in attributes
            or "_get_signing_keys_from_jwk_set" in attributes
        )

    def _refresh_is_cooling_down(self) -> bool:
        # Without the set cache every lookup fetches anyway, so no cooldown.
        # A failed fetch cools down too: an endpoint that is down is not
        # asked again for every token that names an unknown kid.
        return self.jwk_set_cache is not None and (
            _within(self._last_successful_fetch, self.cooldown_duration)
            or _within(self._last_failed_fetch, self.cooldown_duration)
        )

    def _refused_refresh(self, kid: Any) -> None:
        self.stats.add("refresh_refused")
        self._emit("refresh_refused", kid=kid)

    def get_signing_key_from_jwt(self, token: Union[str, bytes]) -> PyJWK:
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


# The lookup methods the kid index stands in for, as PyJWKClient defines them.
_OWN_GET_JWK_SET = PyJWKClient.get_jwk_set
_OWN_GET_SIGNING_KEYS = PyJWKClient.get_signing_keys
_OWN_MATCH_KID = PyJWKClient.match_kid
_OWN_SIGNING_KEYS_OF = PyJWKClient._get_signing_keys_from_jwk_set


def _check_extra_parameters(
    max_response_bytes: int, max_stale: float, min_lifespan: float, max_lifespan: float
) -> None:
    if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
        raise PyJWKClientError(
            f'Max response bytes must be an int, the input is "{max_response_bytes!r}"'
        )
    if max_response_bytes <= 0:
        raise PyJWKClientError(
            f'Max response bytes must be greater than 0, the input is "{max_response_bytes}"'
        )
    for name, value in (("Max stale", max_stale), ("Min lifespan", min_lifespan)):
        if not (math.isfinite(value) and value >= 0):
            raise PyJWKClientError(
                f'{name} must be finite and greater than or equal to 0, the input is "{value}"'
            )
    if not max_lifespan >= min_lifespan:
        raise PyJWKClientError(
            "Max lifespan must be greater than or equal to min lifespan, "
            f'the input is "{max_lifespan}"'
        )


def _within(moment: Optional[float], seconds: float) -> bool:
    """Whether ``moment`` (a ``time.monotonic()`` reading) was less than ``seconds`` ago."""
    return moment is not None and time.monotonic() - moment < seconds


def _too_large(limit: int, what: str = "JWKS endpoint") -> PyJWKClientError:
    return PyJWKClientError(f"The {what} returned more than {limit} bytes")


def _header(response: Any, name: str) -> Optional[str]:
    """A response header, or ``None`` (also for a mocked response without real headers)."""
    getter = getattr(getattr(response, "headers", None), "get", None)
    value = getter(name) if callable(getter) else None
    return value if isinstance(value, str) else None


# The response headers a fetch keeps, lower-cased.
_KEPT_HEADERS = ("cache-control", "age", "etag", "last-modified")


def _kept_headers(response: Any) -> dict[str, str]:
    kept = {}
    for name in _KEPT_HEADERS:
        value = _header(response, name)
        if value is not None:
            kept[name] = value
    return kept


def _validators_of(headers: Mapping[str, str]) -> dict[str, str]:
    """The conditional request headers that revalidate a response with these headers."""
    validators = {}
    etag = headers.get("etag")
    if isinstance(etag, str) and etag and len(etag) <= 1024:
        validators["If-None-Match"] = etag
    modified = headers.get("last-modified")
    if isinstance(modified, str) and modified and len(modified) <= 64:
        validators["If-Modified-Since"] = modified
    return validators


def _allowed_schemes(
    allowed: Optional[Collection[str]], custom_fetch: bool
) -> Optional[frozenset[str]]:
    """The schemes a client accepts; ``None``: any (a ``fetch`` function decides)."""
    if allowed is None:
        return None if custom_fetch else frozenset(("http", "https"))
    if isinstance(allowed, str):
        allowed = (allowed,)
    schemes = frozenset(scheme.lower() for scheme in allowed)
    if not schemes:
        raise PyJWKClientError("allowed_schemes must name at least one scheme")
    if not custom_fetch and not schemes <= {"http", "https"}:
        # urllib would also open file:, ftp: and data: URIs.
        raise PyJWKClientError(
            "Without a fetch function only 'http' and 'https' may be allowed, "
            f"the input is {sorted(schemes)!r}"
        )
    return schemes


def _check_scheme(uri: str, allowed: Optional[frozenset[str]], what: str) -> None:
    if allowed is None:
        return
    # A URI that came from untrusted input (a token's ``jku``, a discovery
    # document) must not reach file:, ftp: or data: through urllib.
    scheme = urlparse(uri).scheme.lower()
    if scheme not in allowed:
        if what == "JWKS URI" and allowed == {"http", "https"}:
            raise PyJWKClientError(
                f"Invalid JWKS URI scheme {scheme!r}: only 'http' and 'https' are supported."
            )
        names = " and ".join(repr(name) for name in sorted(allowed))
        raise PyJWKClientError(f"Invalid {what} scheme {scheme!r}: only {names} allowed.")


def fetch_document(
    uri: str,
    headers: Mapping[str, Any],
    *,
    timeout: float,
    ssl_context: Optional[SSLContext] = None,
    proxy: Optional[str] = None,
    fetch: Optional[FetchFunction] = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    what: str = "JWKS endpoint",
) -> FetchedDocument:
    """GET ``uri``: the body (at most ``max_response_bytes``) and the caching headers.

    The status is 200 or 304; redirects and every other status are errors.
    ``fetch``, when given, replaces HTTP.

    :raises PyJWKClientConnectionError: the request failed.
    :raises PyJWKClientError: the body is larger than ``max_response_bytes``.
    """
    if fetch is not None:
        return _fetch_with(fetch, uri, headers, timeout, max_response_bytes, what)
    deadline = time.monotonic() + timeout
    try:
        request = urllib.request.Request(url=uri, headers=dict(headers))
        opener = urllib.request.build_opener(*_url_handlers(ssl_context, proxy))
        with opener.open(request, timeout=timeout) as response:
            body = _read_body(response, deadline, timeout, max_response_bytes, what)
            kept = _kept_headers(response)
    except (OSError, http.client.HTTPException) as error:
        # OSError covers URLError, TimeoutError and a connection reset mid-body.
        if isinstance(error, HTTPError):
            kept = _kept_headers(error)
            error.close()  # an HTTPError holds the open response
            if error.code == 304:
                return FetchedDocument(b"", kept, 304)
        raise PyJWKClientConnectionError(
            f'Fail to fetch data from the url, err: "{error}"'
        ) from error
    return FetchedDocument(body, kept, 200)


def _fetch_with(
    fetch: FetchFunction,
    uri: str,
    headers: Mapping[str, Any],
    timeout: float,
    limit: int,
    what: str,
) -> FetchedDocument:
    try:
        result = fetch(uri, dict(headers), timeout)
    except PyJWKClientError:
        raise
    except Exception as error:
        raise PyJWKClientConnectionError(
            f'Fail to fetch data from the url, err: "{error}"'
        ) from error
    if isinstance(result, FetchedDocument):
        kept = {name.lower(): value for name, value in result.headers.items()}
        document = FetchedDocument(result.body, kept, result.status)
    elif isinstance(result, (bytes, bytearray, str)):
        document = FetchedDocument(bytes(result) if isinstance(result, bytearray) else result)
    else:
        raise PyJWKClientError(
            f"The fetch function returned {type(result).__name__}, not bytes, str "
            "or FetchedDocument"
        )
    if document.status not in (200, 304):
        raise PyJWKClientConnectionError(
            f'Fail to fetch data from the url, err: "status {document.status}"'
        )
    if not isinstance(document.body, (bytes, str)):
        raise PyJWKClientError("The fetch function returned a body that is not bytes or str")
    size = len(document.body.encode() if isinstance(document.body, str) else document.body)
    if size > limit:
        raise _too_large(limit, what)
    return document


def _url_handlers(
    ssl_context: Optional[SSLContext], proxy: Optional[str]
) -> list[urllib.request.BaseHandler]:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirectHandler()]
    if ssl_context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
    if proxy is not None:
        handlers.append(
            urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {})
        )
    return handlers


def _read_body(
    response: Any, deadline: float, timeout: float, limit: int, what: str
) -> Union[bytes, str]:
    """At most ``limit`` bytes of the body, read by ``deadline``.

    A real HTTP response is read in chunks, checking the deadline between
    them, so a server that trickles bytes cannot hold the caller for long
    (each read also has the socket ``timeout``). Anything else an opener
    may return is read with one call, as ``json.load`` would.
    """
    declared = _header(response, "Content-Length")
    if declared is not None and _HEADER_NUMBER.fullmatch(declared) and int(declared) > limit:
        raise _too_large(limit, what)
    if not isinstance(response, http.client.HTTPResponse):
        body: Union[bytes, str] = response.read(limit + 1)
    else:
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the response took longer than {timeout} s")
            chunk = response.read1(min(_READ_CHUNK_BYTES, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
    if len(body) > limit:
        raise _too_large(limit, what)
    return body


def _freshness_lifetime(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds a response may be cached for by its ``Cache-Control``, or ``None``.

    ``headers`` are the kept ones, lower-cased.
    """
    cache_control = headers.get("cache-control")
    if not isinstance(cache_control, str):
        return None
    directives: dict[str, str] = {}
    for directive in cache_control.split(","):
        name, _, value = directive.partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    max_age = directives.get("max-age")
    if max_age is None or not _HEADER_NUMBER.fullmatch(max_age):
        return None
    age = headers.get("age")
    age_seconds = int(age) if isinstance(age, str) and _HEADER_NUMBER.fullmatch(age.strip()) else 0
    return float(max(int(max_age) - age_seconds, 0))


def _parse_json(body: Union[bytes, str]) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedJWKSError(error.msg, error.doc, error.pos) from error
    except (ValueError, RecursionError) as error:
        # Not UTF-8, an integer too long to convert, or nested too deeply.
        raise MalformedJWKSError(str(error) or type(error).__name__, "", 0) from error


# At the end: the async client builds on the classes above.
from ._async_jwks import AsyncPyJWKClient  # noqa: E402
