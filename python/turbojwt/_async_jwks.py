"""``AsyncPyJWKClient``: :class:`~turbojwt.PyJWKClient` for asyncio applications.

The client wraps a :class:`PyJWKClient` and keeps its behaviour: same caches,
cooldown, stale serving, bounds and errors. A lookup the cache answers runs
inline on the event loop and never suspends. A fetch runs the blocking client
in a worker thread, and every caller that needs a fetch meanwhile awaits that
same one.

Why a worker thread and not an asyncio HTTP client:

* a JWKS is fetched once per lifespan, so one short-lived thread per fetch
  costs nothing measurable, and the loop is never blocked;
* the fetch is exactly :class:`PyJWKClient`'s: urllib with its TLS context,
  environment proxies, refused redirects and size and time bounds, and tests
  that patch ``urllib.request`` reach both clients;
* asyncio streams would mean a second HTTP/1.1 client (TLS, chunked bodies,
  proxies) to get right, for no gain at that rate, and ``httpx``/``aiohttp``
  would be a dependency.

The shared fetch is a :class:`concurrent.futures.Future`, not an
:class:`asyncio.Future`: any event loop, in any thread, can await it through
:func:`asyncio.wrap_future`, so one client may serve several loops. It is
marked running before anyone awaits it, so a waiter that is cancelled does not
cancel the fetch for the others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from ssl import SSLContext
from typing import Any, Optional, Union

from .api_jwk import PyJWK, PyJWKSet
from .api_jwt import decode_complete as decode_token
from .exceptions import PyJWKClientError
from .jwk_set_cache import JWKSetCache
from .jwks_client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    EventHook,
    FetchFunction,
    JWKSClientStats,
    PyJWKClient,
)

__all__ = ["AsyncPyJWKClient"]


class AsyncPyJWKClient:
    """Fetches a JWK Set over HTTP(S) and looks signing keys up by ``kid``, for asyncio.

    Takes :class:`PyJWKClient`'s arguments with the same meaning, and offers
    its methods as coroutines. ``cache_keys`` memoises :meth:`get_signing_key`
    in an LRU of ``max_cached_keys`` entries, emptied when a fetched set
    differs from the last.

    The blocking client underneath, which holds the cache, is
    :attr:`sync_client`; PyJWT's attributes (``uri``, ``jwk_set_cache`` ...)
    read through to it.
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
        """See :class:`PyJWKClient`.

        With ``refresh_ahead``, the refresh of a set nearing (or just past) its
        expiry runs in a background thread; no task awaits it.

        :raises PyJWKClientError: on an invalid URI scheme or parameter.
        """
        self.sync_client = PyJWKClient(
            uri,
            cache_jwk_set=cache_jwk_set,
            lifespan=lifespan,
            headers=headers,
            timeout=timeout,
            ssl_context=ssl_context,
            cooldown_duration=cooldown_duration,
            max_response_bytes=max_response_bytes,
            max_stale=max_stale,
            honor_cache_control=honor_cache_control,
            min_lifespan=min_lifespan,
            max_lifespan=max_lifespan,
            refresh_ahead=refresh_ahead,
            conditional_requests=conditional_requests,
            proxy=proxy,
            fetch=fetch,
            allowed_schemes=allowed_schemes,
            prefetch=prefetch,
            on_event=on_event,
        )
        self._memo = _KeyMemo(max_cached_keys) if cache_keys else None
        self._flight_guard = threading.Lock()
        self._flight: Optional[concurrent.futures.Future[PyJWKSet]] = None

    @property
    def uri(self) -> str:
        return self.sync_client.uri

    @property
    def headers(self) -> dict[str, Any]:
        return self.sync_client.headers

    @property
    def timeout(self) -> float:
        return self.sync_client.timeout

    @property
    def ssl_context(self) -> Optional[SSLContext]:
        return self.sync_client.ssl_context

    @property
    def cooldown_duration(self) -> float:
        return self.sync_client.cooldown_duration

    @property
    def jwk_set_cache(self) -> Optional[JWKSetCache]:
        return self.sync_client.jwk_set_cache

    @property
    def stats(self) -> JWKSClientStats:
        """The counters of :attr:`sync_client`: fetches, failures, stale sets served..."""
        return self.sync_client.stats

    async def prefetch(self) -> PyJWKSet:
        """Fetch the set now and wait for it (e.g. in a lifespan handler).

        :raises PyJWKClientError: the fetch failed.
        """
        return await self.get_jwk_set(refresh=True)

    async def fetch_data(self) -> Any:
        """:meth:`PyJWKClient.fetch_data` in a worker thread: each call fetches."""
        return await asyncio.to_thread(self.sync_client.fetch_data)

    async def get_jwk_set(self, refresh: bool = False) -> PyJWKSet:
        """As :meth:`PyJWKClient.get_jwk_set`; concurrent callers share one fetch."""
        if not refresh:
            jwk_set = self.sync_client._jwk_set_without_fetching()
            if jwk_set is None and self._flight is not None:
                # While a fetch is in flight, an expired set may stand in.
                jwk_set = self.sync_client._stale_jwk_set()
            if jwk_set is not None:
                return jwk_set
        return await self._shared_fetch(refresh)

    async def get_signing_keys(self, refresh: bool = False) -> list[PyJWK]:
        """As :meth:`PyJWKClient.get_signing_keys`."""
        return PyJWKClient._get_signing_keys_from_jwk_set(await self.get_jwk_set(refresh))

    async def get_signing_key(self, kid: str) -> PyJWK:
        """As :meth:`PyJWKClient.get_signing_key`: one refresh on a miss, after the cooldown.

        :raises PyJWKClientError: no key matches, even after the refresh.
        """
        version = self.sync_client._key_loader.version
        if self._memo is not None:
            memoised = self._memo.get(kid, version)
            if memoised is not None:
                return memoised
        signing_key = self.sync_client._indexed_signing_key(kid)
        if signing_key is None:
            signing_key = PyJWKClient.match_kid(await self.get_signing_keys(), kid)
        # No suspension between that lookup and this check, unless the lookup
        # itself fetched, which started the cooldown.
        if not signing_key:
            if self.sync_client._refresh_is_cooling_down():
                self.sync_client._refused_refresh(kid)
            else:
                signing_keys = await self.get_signing_keys(refresh=True)
                self.sync_client._last_successful_fetch = time.monotonic()
                signing_key = PyJWKClient.match_kid(signing_keys, kid)
        if not signing_key:
            raise PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
        if self._memo is not None:
            self._memo.put(kid, signing_key, self.sync_client._key_loader.version)
        return signing_key

    async def get_signing_key_from_jwt(self, token: Union[str, bytes]) -> PyJWK:
        """The signing key named by the ``kid`` header of ``token`` (read unverified)."""
        unverified = decode_token(token, options={"verify_signature": False})
        return await self.get_signing_key(unverified["header"].get("kid"))

    match_kid = staticmethod(PyJWKClient.match_kid)

    async def _shared_fetch(self, refresh: bool) -> PyJWKSet:
        """The set from the fetch in flight, or from a new one that others may join.

        A caller that wants ``refresh`` may join a fetch that started just
        before it asked: that fetch still returns the endpoint's current set.
        """
        with self._flight_guard:
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = concurrent.futures.Future()
                flight.set_running_or_notify_cancel()
        if leader:
            threading.Thread(
                target=self._fetch_into,
                args=(flight, contextvars.copy_context(), refresh),
                name="turbojwt-jwks-fetch",
                daemon=True,
            ).start()
        return await asyncio.wrap_future(flight)

    def _fetch_into(
        self,
        flight: concurrent.futures.Future[PyJWKSet],
        context: contextvars.Context,
        refresh: bool,
    ) -> None:
        # Runs in the fetch thread, in the leader's context (as asyncio.to_thread does).
        try:
            jwk_set = context.run(self.sync_client.get_jwk_set, refresh)
        except BaseException as error:
            self._land(flight)
            flight.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            self._land(flight)
            flight.set_result(jwk_set)

    def _land(self, flight: concurrent.futures.Future[PyJWKSet]) -> None:
        # Cleared before the waiters wake, so that a later miss starts a new fetch.
        with self._flight_guard:
            if self._flight is flight:
                self._flight = None


class _KeyMemo:
    """``cache_keys`` for the async client: an LRU of lookups, valid for one key set version."""

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, PyJWK]] = OrderedDict()

    def get(self, kid: str, version: int) -> Optional[PyJWK]:
        with self._lock:
            entry = self._entries.get(kid)
            if entry is None:
                return None
            if entry[0] != version:
                self._entries.clear()  # the set changed since: every entry is suspect
                return None
            self._entries.move_to_end(kid)
            return entry[1]

    def put(self, kid: str, key: PyJWK, version: int) -> None:
        if self._max_size <= 0:
            return
        with self._lock:
            self._entries[kid] = (version, key)
            self._entries.move_to_end(kid)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
