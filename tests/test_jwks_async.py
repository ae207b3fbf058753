"""``AsyncPyJWKClient`` against a real HTTP server on 127.0.0.1.

Each test drives its own event loop with ``asyncio.run``; the server, keys and
clock are ``test_jwks_client_live.py``'s.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import turbojwt
import turbojwt.jwks_client
from test_jwks_client_live import (
    CALLERS,
    GATE_TIMEOUT,
    Clock,
    JWKSServer,
    Reply,
    SigningKey,
    clear_proxies,
    jwks,
    moved_clock,
    running_server,
    signing_keys,
)
from turbojwt import AsyncPyJWKClient
from turbojwt.exceptions import PyJWKClientConnectionError, PyJWKClientError
from turbojwt.jwks_client import MalformedJWKSError


@pytest.fixture
def keys() -> list[SigningKey]:
    return signing_keys()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


@pytest.fixture
def endpoint() -> Iterator[JWKSServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def clock() -> Iterator[Clock]:
    with moved_clock() as fake:
        yield fake


async def open_gate_after_requests(endpoint: JWKSServer, count: int) -> None:
    """Open the gate once ``count`` requests wait behind it, and the loop has run a while."""
    for _ in range(int(GATE_TIMEOUT / 0.01)):
        if endpoint.requests >= count:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    endpoint.gate.set()


def test_exported_beside_pyjwks_names_but_not_in_all() -> None:
    assert turbojwt.AsyncPyJWKClient is turbojwt.jwks_client.AsyncPyJWKClient
    assert "AsyncPyJWKClient" not in turbojwt.__all__


def test_token_verifies_with_the_fetched_key(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0], keys[1]))
    client = AsyncPyJWKClient(endpoint.url, headers={"User-Agent": "turbojwt-tests"})
    token = keys[1].token({"sub": "ada"})

    async def verify() -> tuple[Any, Any]:
        signing_key = await client.get_signing_key_from_jwt(token)
        return signing_key, await client.get_signing_key_from_jwt(token)

    first, second = asyncio.run(verify())

    assert turbojwt.decode(token, first.key, algorithms=["RS256"]) == {"sub": "ada"}
    assert second is first
    assert endpoint.requests == 1
    assert endpoint.request_headers[0]["User-Agent"] == "turbojwt-tests"
    assert client.uri == endpoint.url
    assert client.jwk_set_cache is client.sync_client.jwk_set_cache


def test_concurrent_tasks_on_a_cold_cache_share_one_fetch(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)
    endpoint.gate.clear()

    async def lookups() -> list[Any]:
        opener = asyncio.create_task(open_gate_after_requests(endpoint, 1))
        results = await asyncio.gather(
            *(client.get_signing_key(keys[0].kid) for _ in range(CALLERS))
        )
        await opener
        return results

    results = asyncio.run(lookups())

    assert endpoint.requests == 1
    assert all(result is results[0] for result in results)
    assert results[0].key_id == keys[0].kid


def test_concurrent_tasks_asking_for_a_new_kid_share_one_refresh(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)

    async def lookups() -> list[Any]:
        await client.get_signing_key(keys[0].kid)
        clock.advance(31)
        endpoint.serve(jwks(keys[0], keys[1]))
        endpoint.gate.clear()
        opener = asyncio.create_task(open_gate_after_requests(endpoint, 2))
        results = await asyncio.gather(
            *(client.get_signing_key(keys[1].kid) for _ in range(CALLERS))
        )
        await opener
        return results

    results = asyncio.run(lookups())

    assert endpoint.requests == 2
    assert all(result is results[0] for result in results)
    assert results[0].key_id == keys[1].kid


def test_random_kids_cause_at_most_one_refetch_per_cooldown(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)

    async def lookups() -> list[Any]:
        await client.get_signing_key(keys[0].kid)
        clock.advance(31)
        return await asyncio.gather(
            *(client.get_signing_key(f"random-{index}") for index in range(CALLERS)),
            return_exceptions=True,
        )

    results = asyncio.run(lookups())

    assert all(isinstance(result, PyJWKClientError) for result in results)
    assert endpoint.requests == 2


def test_event_loop_runs_while_a_fetch_is_in_flight(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)
    endpoint.gate.clear()

    async def lookup_beside_other_work() -> Any:
        lookup = asyncio.create_task(client.get_signing_key(keys[0].kid))
        # A fetch that blocked the loop would finish before this sleep returns,
        # since the server holds the reply until the gate opens.
        for _ in range(int(GATE_TIMEOUT / 0.01)):
            if endpoint.requests:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert not lookup.done()
        endpoint.gate.set()
        return await lookup

    assert asyncio.run(lookup_beside_other_work()).key_id == keys[0].kid


def test_cancelled_waiter_does_not_cancel_the_shared_fetch(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)
    endpoint.gate.clear()

    async def cancel_the_first() -> Any:
        first = asyncio.create_task(client.get_signing_key(keys[0].kid))
        second = asyncio.create_task(client.get_signing_key(keys[0].kid))
        await asyncio.sleep(0)
        first.cancel()
        await open_gate_after_requests(endpoint, 1)
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert asyncio.run(cancel_the_first()).key_id == keys[0].kid
    assert endpoint.requests == 1


def test_one_client_serves_several_event_loops(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)
    endpoint.gate.clear()
    results: list[Any] = []

    def loop_in_thread() -> None:
        results.append(asyncio.run(client.get_signing_key(keys[0].kid)))

    threads = [threading.Thread(target=loop_in_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    endpoint.wait_for_requests(1)
    threading.Timer(0.1, endpoint.gate.set).start()
    for thread in threads:
        thread.join(GATE_TIMEOUT * 2)

    assert len(results) == 4
    assert all(result is results[0] for result in results)
    assert endpoint.requests == 1


def test_expired_set_is_served_while_the_endpoint_fails(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url, lifespan=300, max_stale=600)

    async def outage() -> Any:
        signing_key = await client.get_signing_key(keys[0].kid)
        endpoint.reply = Reply(b"oops", status=500)
        clock.advance(301)
        for _ in range(10):
            assert await client.get_signing_key(keys[0].kid) is signing_key
        with pytest.raises(PyJWKClientConnectionError, match="HTTP Error 500"):
            await client.get_jwk_set(refresh=True)
        clock.advance(601)
        with pytest.raises(PyJWKClientConnectionError, match="HTTP Error 500"):
            await client.get_signing_key(keys[0].kid)

    asyncio.run(outage())
    assert endpoint.requests == 4


def test_expired_set_is_served_while_its_refresh_is_in_flight(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)

    async def lookup_during_refresh() -> None:
        known = await client.get_signing_key(keys[0].kid)
        clock.advance(301)
        endpoint.gate.clear()
        refresh = asyncio.create_task(client.get_signing_key(keys[0].kid))
        for _ in range(int(GATE_TIMEOUT / 0.01)):
            if endpoint.requests == 2:
                break
            await asyncio.sleep(0.01)
        assert await client.get_signing_key(keys[0].kid) is known
        assert not refresh.done()
        endpoint.gate.set()
        assert await refresh is known  # the refetched set is unchanged: same key

    asyncio.run(lookup_during_refresh())
    assert endpoint.requests == 2


def test_server_down_is_a_connection_error(endpoint: JWKSServer) -> None:
    client = AsyncPyJWKClient(endpoint.url, timeout=2)
    endpoint.close()

    with pytest.raises(PyJWKClientConnectionError, match="Fail to fetch data from the url"):
        asyncio.run(client.get_signing_key("key-0"))


def test_slow_server_times_out(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0]), delay=2.0)
    client = AsyncPyJWKClient(endpoint.url, timeout=0.2)

    with pytest.raises(PyJWKClientConnectionError, match="timed out"):
        asyncio.run(client.get_jwk_set())


def test_malformed_body_keeps_the_cached_set(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)

    async def refresh_to_garbage() -> None:
        cached = await client.get_jwk_set()
        endpoint.reply = Reply(b"<html>maintenance</html>")
        with pytest.raises(MalformedJWKSError, match="did not return valid JSON"):
            await client.get_jwk_set(refresh=True)
        assert await client.get_jwk_set() is cached

    asyncio.run(refresh_to_garbage())


def test_unchanged_members_keep_their_parsed_key(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)

    async def refetch() -> tuple[Any, Any]:
        first = await client.get_signing_key(keys[0].kid)
        endpoint.serve(jwks(keys[1], keys[0]))
        refreshed = await client.get_jwk_set(refresh=True)
        return first, refreshed[keys[0].kid]

    first, again = asyncio.run(refetch())
    assert again is first
    assert again.key is first.key


def test_cache_keys_memo_forgets_a_key_dropped_from_the_set(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0], keys[1]))
    client = AsyncPyJWKClient(endpoint.url, cache_keys=True, lifespan=300)

    async def revoke() -> None:
        memoised = await client.get_signing_key(keys[0].kid)
        endpoint.serve(jwks(keys[1]))
        clock.advance(301)  # the set expires, but the memo still answers
        assert await client.get_signing_key(keys[0].kid) is memoised
        assert endpoint.requests == 1
        await client.get_signing_key(keys[1].kid)  # refetches the set, without key-0
        with pytest.raises(PyJWKClientError, match='matches: "key-0"'):
            await client.get_signing_key(keys[0].kid)

    asyncio.run(revoke())
    assert endpoint.requests == 2


def test_fetch_data_fetches_every_time(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0]))
    client = AsyncPyJWKClient(endpoint.url)

    async def fetch_twice() -> list[Any]:
        return [await client.fetch_data(), await client.fetch_data()]

    assert asyncio.run(fetch_twice()) == [jwks(keys[0])] * 2
    assert endpoint.requests == 2


def test_patching_urllib_reaches_the_async_client(keys: list[SigningKey]) -> None:
    # Code and tests that mock urllib's opener for PyJWKClient work unchanged.
    with mock.patch("urllib.request.build_opener") as build_opener:
        response = build_opener.return_value.open.return_value
        response.__enter__ = mock.Mock(return_value=response)
        response.__exit__ = mock.Mock(return_value=False)
        response.read.return_value = json.dumps(jwks(keys[0]))
        client = AsyncPyJWKClient("https://issuer.example/jwks")

        signing_key = asyncio.run(client.get_signing_key(keys[0].kid))

    assert signing_key.key_id == keys[0].kid
    assert build_opener.return_value.open.call_count == 1


def test_invalid_uri_is_refused() -> None:
    with pytest.raises(PyJWKClientError, match="Invalid JWKS URI scheme"):
        AsyncPyJWKClient("file:///etc/passwd")
