"""``PyJWKClient``/``AsyncPyJWKClient`` settings for a fleet, on real servers on 127.0.0.1.

Stale-while-revalidate (``refresh_ahead``) against a slow server, with the
latency of every lookup measured; ``ETag``/``304`` and flipping ETags;
``Cache-Control`` clamps; connection resets, 5xx and oversized bodies; a
proxy; a ``fetch`` function reading a file; prefetch; counters and the event
hook; and floods of random ``kid`` values from threads and event loops at once,
with the fetches counted.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cryptography")
import turbojwt
from fleet_server import FleetServer, Route
from test_jwks_client_live import SigningKey, clear_proxies, jwks, moved_clock, signing_keys
from turbojwt import AsyncPyJWKClient, PyJWKClient
from turbojwt.exceptions import PyJWKClientConnectionError, PyJWKClientError
from turbojwt.jwks_client import FetchedDocument

PATH = "/jwks"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


@pytest.fixture
def keys() -> list[SigningKey]:
    return signing_keys()


@pytest.fixture
def server() -> Iterator[FleetServer]:
    fleet = FleetServer()
    try:
        yield fleet
    finally:
        fleet.close()


def random_kid_tokens(count: int) -> list[str]:
    """Tokens whose ``kid`` no set holds (HS256: only the header is read)."""
    return [
        turbojwt.encode(
            {"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": uuid.uuid4().hex}
        )
        for _ in range(count)
    ]


# --- stale-while-revalidate ------------------------------------------------------------



def wait_for_background_refresh(client: PyJWKClient, timeout: float = 20.0) -> None:
    """Until the client's background refresh thread has finished (bounded)."""
    deadline = time.monotonic() + timeout
    while client._background_refreshing and time.monotonic() < deadline:
        time.sleep(0.01)

def test_refresh_ahead_makes_no_lookup_wait_for_a_slow_server(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    """Lookups in the refresh window and past expiry are answered from the cache.

    The set lives 1 s and is refreshed from 0.5 s on; the refresh takes 1.5 s,
    so lookups run both before and after the old set's expiry. Every lookup
    of four threads is timed.
    """
    server.serve(PATH, jwks(keys[0]))
    client = PyJWKClient(server.url(PATH), lifespan=1.0, refresh_ahead=0.5)
    client.prefetch()
    server.serve(PATH, jwks(keys[0], keys[1]), delay=1.5)
    time.sleep(0.6)  # into the refresh window

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 1.6  # the refreshed set arrives at about 1.5 s

    def hammer() -> None:
        # Paced like request handlers (0.2 ms of other work per lookup), so that
        # the timings measure the client and not eight threads fighting for the GIL.
        own: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid
            own.append(time.perf_counter() - started)
            time.sleep(0.0002)
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    latencies.sort()
    worst = latencies[-1]
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"\nrefresh-ahead: {len(latencies)} lookups by 8 threads during a 1.5 s background "
        f"refresh: p99 {p99 * 1e6:.0f} us, max {worst * 1000:.2f} ms; "
        f"fetches {server.count(PATH)}, stats {client.stats.as_dict()}"
    )
    # A lookup that waited for the refresh would take about a second; scheduling noise on
    # a loaded machine stays far below that (measured: a few milliseconds).
    assert worst < 0.5
    assert server.count(PATH) == 2  # the prefetch and one background refresh
    assert client.stats.background_refreshes == 1
    assert client.stats.stale_served > 0  # lookups past the old set's expiry
    # The refreshed set is in use: the new key is found without another fetch (once the
    # background thread has stored it, which a loaded machine may delay).
    wait_for_background_refresh(client)
    assert client.get_signing_key(keys[1].kid).key_id == keys[1].kid
    assert server.count(PATH) == 2


def test_refresh_ahead_async_tasks_never_await_the_refresh(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    server.serve(PATH, jwks(keys[0]))

    async def main() -> tuple[float, int]:
        client = AsyncPyJWKClient(server.url(PATH), lifespan=1.0, refresh_ahead=0.5)
        await client.prefetch()
        server.serve(PATH, jwks(keys[0], keys[1]), delay=1.0)
        await asyncio.sleep(0.6)
        worst = 0.0
        count = 0
        stop = time.monotonic() + 1.2

        async def task() -> None:
            nonlocal worst, count
            while time.monotonic() < stop:
                started = time.perf_counter()
                await client.get_signing_key(keys[0].kid)
                worst = max(worst, time.perf_counter() - started)
                count += 1
                await asyncio.sleep(0)

        await asyncio.gather(*(task() for _ in range(8)))
        await asyncio.to_thread(wait_for_background_refresh, client.sync_client)
        assert (await client.get_signing_key(keys[1].kid)).key_id == keys[1].kid
        return worst, count

    worst, count = asyncio.run(main())
    print(f"\nasync refresh-ahead: {count} lookups, max latency {worst * 1000:.2f} ms")
    assert worst < 0.5  # waiting for the 1 s refresh would take over 0.5 s
    assert server.count(PATH) == 2


def test_refresh_ahead_is_at_most_half_the_lifespan(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    """``max-age=0`` with a large ``refresh_ahead``: refreshes stay one per half lifespan."""
    server.serve(PATH, jwks(keys[0]), headers={"Cache-Control": "max-age=0"})
    with moved_clock() as clock:
        client = PyJWKClient(server.url(PATH), refresh_ahead=3600, min_lifespan=10)
        client.get_signing_key(keys[0].kid)
        for _ in range(1000):
            client.get_signing_key(keys[0].kid)
        assert server.count(PATH) == 1
        clock.advance(5.5)  # past half of the 10 s lifespan
        client.get_signing_key(keys[0].kid)
        deadline = time.perf_counter() + 5
        while server.count(PATH) < 2 and time.perf_counter() < deadline:
            time.sleep(0.01)
        for _ in range(1000):
            client.get_signing_key(keys[0].kid)
        time.sleep(0.2)
        assert server.count(PATH) == 2


def test_failed_background_refresh_keeps_serving_and_cools_down(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    server.serve(PATH, jwks(keys[0]))
    with moved_clock() as clock:
        client = PyJWKClient(server.url(PATH), lifespan=100, refresh_ahead=50, cooldown_duration=30)
        client.prefetch()
        server.set(PATH, Route(b"oops", status=503))
        clock.advance(60)
        for _ in range(200):
            assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid
            time.sleep(0.001)
        time.sleep(0.2)
        assert server.count(PATH) == 2  # one background attempt, then the cooldown
        assert client.stats.fetch_failures == 1
        clock.advance(31)
        client.get_signing_key(keys[0].kid)
        time.sleep(0.3)
        assert server.count(PATH) == 3


# --- conditional requests ------------------------------------------------------------------


def test_etag_revalidation_gets_304_and_keeps_the_keys(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    server.serve(PATH, jwks(keys[0]), etag='"v1"', headers={"Cache-Control": "max-age=60"})
    with moved_clock() as clock:
        client = PyJWKClient(server.url(PATH))
        first = client.get_signing_key(keys[0].kid)
        clock.advance(61)
        again = client.get_signing_key(keys[0].kid)
        assert again is first  # the same parsed key
        assert server.count(PATH) == 2
        assert server.not_modified[PATH] == 1
        assert client.stats.not_modified == 1
        assert server.request_headers[-1][1].get("If-None-Match") == '"v1"'
        # The 304's max-age renewed the set: no request for another 60 s.
        clock.advance(59)
        client.get_signing_key(keys[0].kid)
        assert server.count(PATH) == 2

        # The ETag flips with a new body: the new set replaces the old.
        server.serve(PATH, jwks(keys[1]), etag='"v2"', headers={"Cache-Control": "max-age=60"})
        clock.advance(2)
        assert client.get_signing_key(keys[1].kid).key_id == keys[1].kid
        with pytest.raises(PyJWKClientError, match="Unable to find"):
            client.get_signing_key(keys[0].kid)  # dropped; the refresh is cooling down
        assert server.not_modified[PATH] == 1


def test_conditional_requests_off_sends_no_validator(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    server.serve(PATH, jwks(keys[0]), etag='"v1"')
    client = PyJWKClient(server.url(PATH), conditional_requests=False)
    client.get_jwk_set()
    client.get_jwk_set(refresh=True)
    assert all("If-None-Match" not in headers for _, headers in server.request_headers)
    assert server.not_modified[PATH] == 0


def test_last_modified_is_sent_back(server: FleetServer, keys: list[SigningKey]) -> None:
    stamp = "Wed, 02 Dec 2026 08:00:00 GMT"
    server.serve(PATH, jwks(keys[0]), headers={"Last-Modified": stamp})
    client = PyJWKClient(server.url(PATH))
    client.get_jwk_set()
    client.get_jwk_set(refresh=True)
    assert server.request_headers[-1][1].get("If-Modified-Since") == stamp


# --- Cache-Control clamps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("max-age=0", 30.0), ("no-store", 30.0), ("max-age=999999", 86400.0), ("max-age=120", 120.0)],
)
def test_cache_control_is_clamped(
    server: FleetServer, keys: list[SigningKey], header: str, expected: float
) -> None:
    server.serve(PATH, jwks(keys[0]), headers={"Cache-Control": header})
    client = PyJWKClient(server.url(PATH), min_lifespan=30, max_lifespan=86400)
    for _ in range(100):
        client.get_signing_key(keys[0].kid)
    assert server.count(PATH) == 1
    assert client._fetched_lifespan == expected


# --- misbehaving servers --------------------------------------------------------------------


def test_connection_reset_is_a_connection_error_then_stale(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    server.set(PATH, Route(reset=True))
    client = PyJWKClient(server.url(PATH), lifespan=10)
    with pytest.raises(PyJWKClientConnectionError):
        client.get_jwk_set()
    assert client.stats.fetch_failures == 1
    server.serve(PATH, jwks(keys[0]))
    with moved_clock() as clock:
        clock.advance(31)  # past the failure's cooldown
        client.get_signing_key(keys[0].kid)
        server.set(PATH, Route(reset=True))
        clock.advance(11)
        assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid  # stale
        assert client.stats.stale_served >= 1


def test_oversized_and_5xx_count_as_failures(server: FleetServer, keys: list[SigningKey]) -> None:
    server.set(PATH, Route(b"x" * 5000))
    client = PyJWKClient(server.url(PATH), max_response_bytes=4096)
    with pytest.raises(PyJWKClientError, match="more than 4096 bytes"):
        client.get_jwk_set()
    server.set(PATH, Route(b"{}", status=502))
    with pytest.raises(PyJWKClientConnectionError):
        client.get_jwk_set(refresh=True)
    assert client.stats.as_dict()["fetch_failures"] == 2
    assert client.stats.fetches == 2


# --- transports -----------------------------------------------------------------------------


def test_proxy_url_is_used(server: FleetServer, keys: list[SigningKey]) -> None:
    """The proxy (the loopback server) gets the absolute URI of a host that does not exist."""
    target = "http://jwks.invalid/keys"
    server.serve(target, jwks(keys[0]))
    client = PyJWKClient(target, proxy=server.base)
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid
    assert server.count(target) == 1


def test_empty_proxy_ignores_the_environment(
    server: FleetServer, keys: list[SigningKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    server.serve(PATH, jwks(keys[0]))
    with pytest.raises(PyJWKClientConnectionError):
        PyJWKClient(server.url(PATH)).get_jwk_set()
    assert PyJWKClient(server.url(PATH), proxy="").get_jwk_set().keys


def test_proxy_scheme_is_checked() -> None:
    with pytest.raises(PyJWKClientError, match="proxy URL"):
        PyJWKClient("https://example.test/jwks", proxy="socks5://127.0.0.1:1080")


def test_fetch_function_reads_a_file(tmp_path: Path, keys: list[SigningKey]) -> None:
    import json

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(keys[0])))
    calls: list[tuple[str, Mapping[str, str], float]] = []

    def read_file(uri: str, headers: Mapping[str, str], timeout: float) -> bytes:
        calls.append((uri, headers, timeout))
        return Path(uri.removeprefix("file://")).read_bytes()

    client = PyJWKClient(f"file://{path}", fetch=read_file, timeout=3)
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid
    assert calls == [(f"file://{path}", {}, 3)]


def test_fetch_function_304_and_errors(keys: list[SigningKey]) -> None:
    import json

    answers: list[Any] = [
        FetchedDocument(json.dumps(jwks(keys[0])), {"ETag": "e1", "Cache-Control": "max-age=5"}),
        FetchedDocument(status=304),
        OSError("bucket unavailable"),
        b"x" * 3000,
        12,
    ]
    seen: list[Mapping[str, str]] = []

    def fetch(uri: str, headers: Mapping[str, str], timeout: float) -> Any:
        seen.append(dict(headers))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = PyJWKClient("s3://bucket/jwks.json", fetch=fetch, max_response_bytes=2000)
    client.get_jwk_set()
    client.get_jwk_set(refresh=True)
    assert seen[1] == {"If-None-Match": "e1"}
    assert client.stats.not_modified == 1
    with pytest.raises(PyJWKClientConnectionError, match="bucket unavailable"):
        client.fetch_data()
    with pytest.raises(PyJWKClientError, match="more than 2000 bytes"):
        client.fetch_data()
    with pytest.raises(PyJWKClientError, match="returned int"):
        client.fetch_data()


def test_allowed_schemes() -> None:
    with pytest.raises(PyJWKClientError, match="only 'https' allowed"):
        PyJWKClient("http://example.test/jwks", allowed_schemes=("https",))
    PyJWKClient("https://example.test/jwks", allowed_schemes=("https",))
    with pytest.raises(PyJWKClientError, match="only 'http' and 'https' may be allowed"):
        PyJWKClient("file:///etc/passwd", allowed_schemes=("file",))
    with pytest.raises(PyJWKClientError, match="only 'http' and 'https' are supported"):
        PyJWKClient("file:///etc/passwd")
    with pytest.raises(PyJWKClientError, match="only 's3' allowed"):
        PyJWKClient("file:///etc/passwd", fetch=lambda *a: b"", allowed_schemes=["s3"])


def test_new_keywords_keep_pyjwts_signature() -> None:
    import inspect

    parameters = inspect.signature(PyJWKClient).parameters
    positional = [p.name for p in parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == [
        "uri",
        "cache_keys",
        "max_cached_keys",
        "cache_jwk_set",
        "lifespan",
        "headers",
        "timeout",
        "ssl_context",
        "cooldown_duration",
    ]
    for name in ("refresh_ahead", "proxy", "fetch", "prefetch", "on_event", "allowed_schemes"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["refresh_ahead"].default == 0


# --- prefetch, counters, events -------------------------------------------------------------


def test_prefetch_in_the_background(server: FleetServer, keys: list[SigningKey]) -> None:
    server.serve(PATH, jwks(keys[0]), delay=0.3)
    client = PyJWKClient(server.url(PATH), prefetch=True)
    # The first lookup joins the prefetch instead of starting a second request.
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid
    assert server.count(PATH) == 1


def test_events_are_reported(server: FleetServer, keys: list[SigningKey]) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    server.serve(PATH, jwks(keys[0]))
    client = PyJWKClient(
        server.url(PATH), on_event=lambda name, details: events.append((name, details))
    )
    client.get_signing_key(keys[0].kid)
    with pytest.raises(PyJWKClientError):
        client.get_signing_key("nope")  # the first fetch started the cooldown
    server.set(PATH, Route(status=500))
    with pytest.raises(PyJWKClientConnectionError):
        client.fetch_data()
    names = [name for name, _ in events]
    assert names == ["fetch", "refresh_refused", "fetch_failed"]
    assert all(details["uri"] == server.url(PATH) for _, details in events)
    assert events[1][1]["kid"] == "nope"
    assert isinstance(events[2][1]["error"], PyJWKClientConnectionError)


def test_a_failing_hook_does_not_break_lookups(server: FleetServer, keys: list[SigningKey]) -> None:
    def broken(name: str, details: dict[str, Any]) -> None:
        raise RuntimeError("monitoring is down")

    server.serve(PATH, jwks(keys[0]))
    client = PyJWKClient(server.url(PATH), on_event=broken)
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid


# --- floods ---------------------------------------------------------------------------------


def test_random_kid_flood_from_threads_and_event_loops(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    """10,000 tokens with random kids over about 2 s: fetches follow the cooldown only.

    Eight threads call the blocking client and two event loops the async
    client built on the same URL, each its own client, at the same time.
    """
    server.serve(PATH, jwks(keys[0]))
    sync_server_path = PATH
    tokens = random_kid_tokens(10_000)
    cooldown = 0.5
    sync_client = PyJWKClient(server.url(sync_server_path), cooldown_duration=cooldown)
    async_path = "/jwks-async"
    server.serve(async_path, jwks(keys[0]))
    async_client = AsyncPyJWKClient(server.url(async_path), cooldown_duration=cooldown)
    shares = [tokens[index::10] for index in range(10)]
    refused = [0] * 10
    spread = 2.0
    started = time.monotonic()

    def thread_work(index: int) -> None:
        pause = spread / len(shares[index])
        for token in shares[index]:
            with pytest.raises(PyJWKClientError):
                sync_client.get_signing_key_from_jwt(token)
            refused[index] += 1
            time.sleep(pause * random.random())

    def loop_work(index: int) -> None:
        async def main() -> None:
            pause = spread / len(shares[index])
            for token in shares[index]:
                with pytest.raises(PyJWKClientError):
                    await async_client.get_signing_key_from_jwt(token)
                refused[index] += 1
                await asyncio.sleep(pause * random.random())

        asyncio.run(main())

    threads = [threading.Thread(target=thread_work, args=(index,)) for index in range(8)]
    threads += [threading.Thread(target=loop_work, args=(index,)) for index in (8, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    assert sum(refused) == 10_000
    allowed = 1 + int(elapsed / cooldown) + 1
    sync_fetches, async_fetches = server.count(sync_server_path), server.count(async_path)
    print(
        f"\nrandom-kid flood: 10,000 tokens in {elapsed:.2f} s, cooldown {cooldown} s: "
        f"{sync_fetches} fetches (threads), {async_fetches} fetches (event loops), "
        f"allowed {allowed} each; sync stats {sync_client.stats.as_dict()}"
    )
    assert sync_fetches <= allowed
    assert async_fetches <= allowed
    assert sync_client.stats.refresh_refused >= 8000 - allowed


def test_cold_cache_threads_and_event_loops_share_one_fetch(
    server: FleetServer, keys: list[SigningKey]
) -> None:
    """One async client used by 20 threads and 3 event loops on a cold cache: one fetch."""
    server.serve(PATH, jwks(keys[0]), delay=0.3)
    client = AsyncPyJWKClient(server.url(PATH))
    barrier = threading.Barrier(23)
    errors: list[BaseException] = []

    def in_thread() -> None:
        barrier.wait()
        try:
            client.sync_client.get_signing_key(keys[0].kid)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def in_loop() -> None:
        async def main() -> None:
            await asyncio.gather(*(client.get_signing_key(keys[0].kid) for _ in range(20)))

        barrier.wait()
        try:
            asyncio.run(main())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=in_thread) for _ in range(20)]
    threads += [threading.Thread(target=in_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert server.count(PATH) == 1
