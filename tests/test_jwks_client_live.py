"""``PyJWKClient`` against a real HTTP server on 127.0.0.1.

The server (stdlib ``http.server`` in a thread) answers each test's script: key
rotation, outages, slow and trickling responses, error statuses, redirects,
oversized and malformed bodies, and many callers at once. Lifespans and
cooldowns are crossed with a clock that moves ``time.monotonic`` forward
instead of sleeping.

The server and the fixtures are shared with ``test_jwks_async.py``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from unittest import mock

import pytest

# Builds keys with cryptography; the no-cryptography CI environment skips this file.
pytest.importorskip("cryptography")
import turbojwt
from cryptography.hazmat.primitives.asymmetric import rsa
from turbojwt.algorithms import RSAAlgorithm
from turbojwt.exceptions import (
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKSetError,
)
from turbojwt.jwk_set_cache import JWKSetCache
from turbojwt.jwks_client import MalformedJWKSError, UnusableJWKSError

# How long a held reply waits for its gate before it is sent anyway: a test
# that forgets to open the gate fails slowly instead of hanging.
GATE_TIMEOUT = 5.0
CALLERS = 50

# --- the server ---------------------------------------------------------------------


@dataclass
class Reply:
    """What the server sends to every request until it is told otherwise."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_length: bool = True  # False: no Content-Length, the body ends at close
    delay: float = 0.0  # seconds before the status line
    trickle: float = 0.0  # seconds between single body bytes


class JWKSServer:
    """A JWKS endpoint on 127.0.0.1 that counts requests and sends a scripted reply.

    Clearing ``gate`` holds every reply until the test sets it again.
    """

    def __init__(self) -> None:
        self.reply = Reply()
        self.paths: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(self)
        # A short poll interval makes shutdown() prompt.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/jwks"

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.paths)

    def serve(self, document: Any, **reply: Any) -> None:
        """Reply with ``document`` as JSON from now on."""
        self.reply = Reply(json.dumps(document).encode(), **reply)

    def record(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.paths.append(path)
            self.request_headers.append(headers)
            return self.reply

    def wait_for_requests(self, count: int) -> None:
        deadline = time.perf_counter() + GATE_TIMEOUT
        while self.requests < count and time.perf_counter() < deadline:
            time.sleep(0.005)
        assert self.requests >= count

    def close(self) -> None:
        """Stop answering: later connections are refused."""
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        self.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: JWKSServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.endpoint = endpoint


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        endpoint = self.server.endpoint
        reply = endpoint.record(self.path, dict(self.headers.items()))
        endpoint.gate.wait(GATE_TIMEOUT)
        try:
            self._send(reply, endpoint.stopping)
        except OSError:
            pass  # the client gave up first, as the timeout tests intend

    def _send(self, reply: Reply, stopping: threading.Event) -> None:
        if reply.delay:
            stopping.wait(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.content_length:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not reply.trickle:
            self.wfile.write(reply.body)
            return
        for index in range(len(reply.body)):
            self.wfile.write(reply.body[index : index + 1])
            self.wfile.flush()
            if stopping.wait(reply.trickle):
                return

    def log_message(self, format: str, *args: Any) -> None:
        return


# --- keys and tokens ------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        member = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**member, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, claims: Optional[dict[str, Any]] = None) -> str:
        return turbojwt.encode(
            claims or {"sub": "user-1"}, self.private, algorithm="RS256", headers={"kid": self.kid}
        )


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.jwk for key in keys]}


class Clock:
    """``time.monotonic`` moved forward on demand, so lifespans pass without sleeping."""

    def __init__(self, real: Callable[[], float]) -> None:
        self._real = real
        self.offset = 0.0

    def __call__(self) -> float:
        return self._real() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def run_threads(target: Callable[[], Any], count: int) -> list[Any]:
    """Results of ``target`` run by ``count`` threads released together (exceptions included)."""
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def work(index: int) -> None:
        barrier.wait()
        try:
            results[index] = target()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    return _join(threads, results)


def _join(threads: list[threading.Thread], results: list[Any]) -> list[Any]:
    for thread in threads:
        thread.join(GATE_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads)
    return results


# --- fixtures (test_jwks_async.py builds its own from the same helpers) ----------------


@functools.lru_cache(maxsize=1)
def signing_keys() -> list[SigningKey]:
    """Three RSA keys, generated once per run."""
    return [
        SigningKey(f"key-{index}", rsa.generate_private_key(public_exponent=65537, key_size=2048))
        for index in range(3)
    ]


def clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours proxy variables; the test server is reached directly.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def running_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def moved_clock() -> Iterator[Clock]:
    fake = Clock(time.monotonic)
    with mock.patch("time.monotonic", fake):
        yield fake


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


# --- the PyJWT contract over real HTTP -------------------------------------------------


def test_token_verifies_with_the_fetched_key(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0], keys[1]))
    client = turbojwt.PyJWKClient(endpoint.url, headers={"User-Agent": "turbojwt-tests"})
    token = keys[1].token({"sub": "ada"})

    signing_key = client.get_signing_key_from_jwt(token)
    claims = turbojwt.decode(token, signing_key.key, algorithms=["RS256"])

    assert claims == {"sub": "ada"}
    assert client.get_signing_key_from_jwt(token) is signing_key
    assert endpoint.requests == 1
    assert endpoint.request_headers[0]["User-Agent"] == "turbojwt-tests"


# --- key rotation and unknown kids -----------------------------------------------------


def test_rotated_in_key_is_fetched_by_one_refresh(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    client.get_signing_key(keys[0].kid)
    endpoint.serve(jwks(keys[0], keys[1]))

    # Right after a fetch the cooldown holds: PyJWT's behaviour.
    with pytest.raises(PyJWKClientError, match='matches: "key-1"'):
        client.get_signing_key(keys[1].kid)
    assert endpoint.requests == 1

    clock.advance(31)
    signing_key = client.get_signing_key_from_jwt(keys[1].token())

    assert turbojwt.decode(keys[1].token(), signing_key.key, algorithms=["RS256"])
    assert endpoint.requests == 2


def test_random_kids_cause_at_most_one_refetch_per_cooldown(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url, cooldown_duration=30)
    client.get_signing_key(keys[0].kid)

    for round_number in (1, 2):
        clock.advance(31)
        for _ in range(100):
            with pytest.raises(PyJWKClientError, match="Unable to find a signing key"):
                client.get_signing_key(uuid.uuid4().hex)
        assert endpoint.requests == 1 + round_number


def test_unknown_kid_after_a_failed_refresh_waits_for_the_cooldown(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    client.get_signing_key(keys[0].kid)
    clock.advance(31)
    endpoint.reply = Reply(b"down for maintenance", status=503)

    with pytest.raises(PyJWKClientConnectionError, match="HTTP Error 503"):
        client.get_signing_key("new-key")
    for _ in range(20):
        with pytest.raises(PyJWKClientError, match="Unable to find"):
            client.get_signing_key("new-key")

    assert endpoint.requests == 2
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid


def test_cache_keys_memo_forgets_a_key_dropped_from_the_set(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0], keys[1]))
    client = turbojwt.PyJWKClient(endpoint.url, cache_keys=True)
    client.get_signing_key(keys[0].kid)
    endpoint.serve(jwks(keys[1], keys[2]))  # key-0 is revoked

    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid  # memoised
    clock.advance(31)
    client.get_signing_key(keys[2].kid)  # refreshes the set, which drops key-0

    with pytest.raises(PyJWKClientError, match='matches: "key-0"'):
        client.get_signing_key(keys[0].kid)
    assert endpoint.requests == 2


# --- parsed keys are reused ------------------------------------------------------------


def test_unchanged_members_keep_their_parsed_key(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0], keys[1]))
    client = turbojwt.PyJWKClient(endpoint.url)
    first = client.get_signing_key(keys[0].kid)
    dropped = client.get_signing_key(keys[1].kid)

    endpoint.serve({"keys": [keys[2].jwk, dict(reversed(keys[0].jwk.items()))]})
    refreshed = client.get_jwk_set(refresh=True)

    assert refreshed[keys[0].kid] is first
    assert refreshed[keys[0].kid].key is first.key
    assert refreshed[keys[2].kid] is not dropped

    endpoint.serve(jwks(keys[0], keys[1]))  # key-1 comes back: it is parsed again
    again = client.get_jwk_set(refresh=True)
    assert again[keys[0].kid] is first
    assert again[keys[1].kid] is not dropped
    assert endpoint.requests == 3


def test_a_changed_member_is_parsed_again(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    first = client.get_signing_key(keys[0].kid)

    endpoint.serve({"keys": [{**keys[0].jwk, "use": None}]})
    changed = client.get_jwk_set(refresh=True)[keys[0].kid]

    assert changed is not first
    assert changed.public_key_use is None


# --- the cached-key fast path answers as the full lookup does ---------------------------


class SkipsKeyZero(turbojwt.PyJWKClient):
    def get_signing_keys(self, refresh: bool = False) -> list[Any]:
        return [key for key in super().get_signing_keys(refresh) if key.key_id != "key-0"]


def test_subclass_lookup_is_honoured_with_a_warm_cache(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0], keys[1]))
    client = SkipsKeyZero(endpoint.url)
    client.get_signing_key(keys[1].kid)

    with pytest.raises(PyJWKClientError, match='matches: "key-0"'):
        client.get_signing_key(keys[0].kid)


@pytest.mark.parametrize("target", ["instance", "class"])
@pytest.mark.parametrize("method", ["get_jwk_set", "get_signing_keys", "match_kid"])
def test_patched_lookup_is_honoured_with_a_warm_cache(
    endpoint: JWKSServer, keys: list[SigningKey], method: str, target: str
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    for _ in range(2):  # the second lookup is answered from the kid index
        client.get_signing_key(keys[0].kid)
    impostor = {**keys[1].jwk, "kid": keys[0].kid}
    replacement = {
        "get_jwk_set": mock.Mock(return_value=turbojwt.PyJWKSet([impostor])),
        "get_signing_keys": mock.Mock(return_value=[turbojwt.PyJWK(impostor)]),
        "match_kid": mock.Mock(return_value=turbojwt.PyJWK(impostor)),
    }[method]
    owner: Any = client if target == "instance" else turbojwt.PyJWKClient

    with mock.patch.object(owner, method, replacement):
        found = client.get_signing_key(keys[0].kid)

    assert replacement.called
    assert found.key.public_numbers() == keys[1].private.public_key().public_numbers()


def test_application_cache_class_is_honoured(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    class EmptiedCache(JWKSetCache):
        def get(self) -> Any:
            return None  # e.g. a shared cache another worker invalidated

    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url, cooldown_duration=0)
    client.get_signing_key(keys[0].kid)
    client.jwk_set_cache = EmptiedCache(300)

    client.get_signing_key(keys[0].kid)
    assert endpoint.requests == 2


def test_first_of_duplicate_kids_wins(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve({"keys": [keys[1].jwk | {"kid": "same"}, keys[2].jwk | {"kid": "same"}]})
    client = turbojwt.PyJWKClient(endpoint.url)

    for _ in range(2):  # the first lookup builds the index, the second reads it
        found = client.get_signing_key("same")
        assert found is client.get_jwk_set().keys[0]


def test_changed_cache_lifespan_takes_effect(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url, lifespan=300)
    for _ in range(2):  # the second lookup is answered from the kid index
        client.get_signing_key(keys[0].kid)
    assert client.jwk_set_cache is not None

    client.jwk_set_cache.lifespan = 10
    clock.advance(11)
    client.get_signing_key(keys[0].kid)
    assert endpoint.requests == 2


def test_unhashable_kid_is_not_found(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    client.get_signing_key(keys[0].kid)

    with pytest.raises(PyJWKClientError, match="Unable to find"):
        client.get_signing_key(["key-0"])  # type: ignore[arg-type]


# --- outages: stale keys for a bounded time --------------------------------------------


def test_server_down_before_any_fetch_is_a_connection_error(endpoint: JWKSServer) -> None:
    client = turbojwt.PyJWKClient(endpoint.url, timeout=2)
    endpoint.close()

    with pytest.raises(PyJWKClientConnectionError, match="Fail to fetch data from the url"):
        client.get_signing_key("key-0")


def test_expired_set_is_served_while_the_server_is_down(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url, lifespan=300, max_stale=600, timeout=2)
    signing_key = client.get_signing_key(keys[0].kid)
    endpoint.close()

    clock.advance(301)
    assert client.get_signing_key(keys[0].kid) is signing_key
    # An explicit refresh reports the outage, as PyJWT does, and keeps the set.
    with pytest.raises(PyJWKClientConnectionError):
        client.get_jwk_set(refresh=True)
    clock.advance(598)
    assert client.get_signing_key(keys[0].kid) is signing_key

    clock.advance(2)  # now 601 s past expiry
    with pytest.raises(PyJWKClientConnectionError, match="Fail to fetch data from the url"):
        client.get_signing_key(keys[0].kid)


def test_failed_refresh_is_retried_once_per_cooldown(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url, lifespan=300, cooldown_duration=30)
    signing_key = client.get_signing_key(keys[0].kid)
    endpoint.reply = Reply(b"oops", status=500)

    clock.advance(301)
    for _ in range(20):
        assert client.get_signing_key(keys[0].kid) is signing_key
    assert endpoint.requests == 2

    clock.advance(31)
    assert client.get_signing_key(keys[0].kid) is signing_key
    assert endpoint.requests == 3

    endpoint.serve(jwks(keys[1]))  # back, with a rotated key
    clock.advance(31)
    assert client.get_signing_key(keys[1].kid).key_id == keys[1].kid
    assert endpoint.requests == 4
    with pytest.raises(PyJWKClientError, match="Unable to find"):
        client.get_signing_key(keys[0].kid)


def test_max_stale_zero_is_pyjwts_behaviour(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url, max_stale=0)
    client.get_signing_key(keys[0].kid)
    endpoint.reply = Reply(b"oops", status=500)

    clock.advance(301)
    with pytest.raises(PyJWKClientConnectionError, match="HTTP Error 500"):
        client.get_signing_key(keys[0].kid)


@pytest.mark.parametrize("status", [500, 502, 404, 401])
def test_error_status_keeps_the_cached_set(
    endpoint: JWKSServer, keys: list[SigningKey], status: int
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    cached = client.get_jwk_set()
    endpoint.reply = Reply(b"{}", status=status)

    with pytest.raises(PyJWKClientConnectionError, match=f"HTTP Error {status}"):
        client.get_jwk_set(refresh=True)

    assert client.jwk_set_cache is not None
    assert client.jwk_set_cache.get() is cached
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid
    assert endpoint.requests == 2


# --- time and size bounds --------------------------------------------------------------


def test_server_slower_than_the_timeout(endpoint: JWKSServer, keys: list[SigningKey]) -> None:
    endpoint.serve(jwks(keys[0]), delay=2.0)
    client = turbojwt.PyJWKClient(endpoint.url, timeout=0.2)

    with pytest.raises(PyJWKClientConnectionError, match="timed out"):
        client.get_jwk_set()


def test_trickling_body_is_cut_off_at_the_timeout(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    # Each byte arrives well within the socket timeout; only the deadline for
    # the whole body stops a server that would take minutes.
    endpoint.serve(jwks(keys[0]), trickle=0.01, content_length=False)
    client = turbojwt.PyJWKClient(endpoint.url, timeout=0.5)

    with pytest.raises(PyJWKClientConnectionError, match=r"took longer than 0\.5 s"):
        client.get_jwk_set()


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "until-close"])
def test_oversized_body_is_refused(
    endpoint: JWKSServer, keys: list[SigningKey], content_length: bool
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    cached = client.get_jwk_set()
    document = {"keys": [keys[0].jwk], "padding": "x" * 2000}
    endpoint.serve(document, content_length=content_length)
    small = turbojwt.PyJWKClient(endpoint.url, max_response_bytes=2000)
    client.max_response_bytes = 2000

    for target in (small, client):
        with pytest.raises(PyJWKClientError, match="returned more than 2000 bytes") as raised:
            target.get_jwk_set(refresh=True)
        assert not isinstance(raised.value, PyJWKClientConnectionError)
    assert client.jwk_set_cache is not None
    assert client.jwk_set_cache.get() is cached


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "until-close"])
def test_body_of_exactly_the_limit_is_accepted(
    endpoint: JWKSServer, keys: list[SigningKey], content_length: bool
) -> None:
    endpoint.serve(jwks(keys[0]), content_length=content_length)
    size = len(endpoint.reply.body)
    client = turbojwt.PyJWKClient(endpoint.url, max_response_bytes=size)

    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_refused(endpoint: JWKSServer, status: int) -> None:
    endpoint.reply = Reply(status=status, headers={"Location": endpoint.url + "/elsewhere"})
    client = turbojwt.PyJWKClient(endpoint.url, headers={"Authorization": "Bearer secret"})

    with pytest.raises(PyJWKClientConnectionError, match=f"HTTP Error {status}"):
        client.get_jwk_set()
    assert endpoint.paths == ["/jwks"]


# --- malformed bodies ------------------------------------------------------------------

MALFORMED = [
    pytest.param(b"<html>oops</html>", MalformedJWKSError, "did not return valid JSON", id="html"),
    pytest.param(b"", MalformedJWKSError, "did not return valid JSON", id="empty"),
    pytest.param(b'{"keys": [', MalformedJWKSError, "did not return valid JSON", id="truncated"),
    pytest.param(b"\xff\xfe\x00{", MalformedJWKSError, "did not return valid JSON", id="not-utf8"),
    pytest.param(b"[" * 200_000, MalformedJWKSError, "did not return valid JSON", id="deep"),
    pytest.param(b"[]", PyJWKClientError, "did not return a JSON object", id="array"),
    pytest.param(b'"keys"', PyJWKClientError, "did not return a JSON object", id="string"),
    pytest.param(b"{}", UnusableJWKSError, "did not contain any keys", id="no-keys"),
    pytest.param(b'{"keys": []}', UnusableJWKSError, "did not contain any keys", id="empty-keys"),
    pytest.param(b'{"keys": "x"}', UnusableJWKSError, "Invalid JWK Set value", id="keys-str"),
    pytest.param(
        b'{"keys": [1, {"kty": "oct"}, {"kty": "RSA", "n": "!", "e": "AQAB"}]}',
        UnusableJWKSError,
        "did not contain any usable keys",
        id="no-usable-member",
    ),
]


@pytest.mark.parametrize(("body", "error", "message"), MALFORMED)
def test_malformed_body_is_a_clear_error_and_keeps_the_cached_set(
    endpoint: JWKSServer,
    keys: list[SigningKey],
    body: bytes,
    error: type[Exception],
    message: str,
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    cached = client.get_jwk_set()
    endpoint.reply = Reply(body)

    with pytest.raises(error, match=message) as raised:
        client.get_jwk_set(refresh=True)
    with pytest.raises(error, match=message):
        turbojwt.PyJWKClient(endpoint.url).get_signing_key(keys[0].kid)

    assert isinstance(raised.value, PyJWKClientError)
    assert client.jwk_set_cache is not None
    assert client.jwk_set_cache.get() is cached
    assert client.get_signing_key(keys[0].kid) is cached[keys[0].kid]


def test_malformed_errors_keep_pyjwts_exception_types(endpoint: JWKSServer) -> None:
    # PyJWT lets json.JSONDecodeError escape and raises PyJWKSetError for a
    # set without usable keys; handlers written for those still catch them.
    endpoint.reply = Reply(b"not json")
    with pytest.raises(json.JSONDecodeError):
        turbojwt.PyJWKClient(endpoint.url).get_jwk_set()

    endpoint.reply = Reply(b'{"keys": []}')
    with pytest.raises(PyJWKSetError, match="did not contain any keys"):
        turbojwt.PyJWKClient(endpoint.url).get_jwk_set()


def test_partly_malformed_set_skips_the_bad_members(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    broken = {**keys[1].jwk, "n": "!!not-base64url!!"}
    endpoint.serve({"keys": ["junk", {"kty": "nope"}, broken, keys[0].jwk]})
    client = turbojwt.PyJWKClient(endpoint.url)

    assert [key.key_id for key in client.get_signing_keys()] == [keys[0].kid]
    assert client.get_signing_key(keys[0].kid).key_id == keys[0].kid


# --- Cache-Control ---------------------------------------------------------------------

CACHE_CONTROL = [
    # (response headers, client arguments, seconds still fresh, seconds expired)
    pytest.param({"Cache-Control": "public, max-age=120"}, {}, 110, 130, id="max-age"),
    pytest.param({"Cache-Control": 'max-age="120"'}, {}, 110, 130, id="quoted"),
    pytest.param({"Cache-Control": "max-age=120", "Age": "60"}, {}, 50, 70, id="age"),
    pytest.param({"Cache-Control": "max-age=5"}, {}, 25, 35, id="min-lifespan"),
    pytest.param({"Cache-Control": "no-cache"}, {"min_lifespan": 10}, 5, 15, id="no-cache"),
    pytest.param({"Cache-Control": "no-store, max-age=100"}, {}, 25, 35, id="no-store"),
    pytest.param({"Cache-Control": "max-age=999999"}, {"max_lifespan": 3600}, 3590, 3610, id="max"),
    pytest.param({"Cache-Control": "max-age=-1"}, {}, 290, 310, id="invalid"),
    pytest.param({"Cache-Control": "private"}, {}, 290, 310, id="no-max-age"),
    pytest.param({}, {}, 290, 310, id="absent"),
    pytest.param(
        {"Cache-Control": "max-age=30"}, {"honor_cache_control": False}, 290, 310, id="ignored"
    ),
]


@pytest.mark.parametrize(("headers", "arguments", "fresh", "expired"), CACHE_CONTROL)
def test_cache_control_max_age_sets_the_lifespan(
    endpoint: JWKSServer,
    keys: list[SigningKey],
    clock: Clock,
    headers: dict[str, str],
    arguments: dict[str, Any],
    fresh: float,
    expired: float,
) -> None:
    endpoint.serve(jwks(keys[0]), headers=headers)
    client = turbojwt.PyJWKClient(endpoint.url, lifespan=300, **arguments)
    client.get_signing_key(keys[0].kid)

    clock.advance(fresh)
    client.get_signing_key(keys[0].kid)
    assert endpoint.requests == 1

    clock.advance(expired - fresh)
    client.get_signing_key(keys[0].kid)
    assert endpoint.requests == 2


# --- many callers at once --------------------------------------------------------------


def test_concurrent_threads_on_a_cold_cache_share_one_fetch(
    endpoint: JWKSServer, keys: list[SigningKey]
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    endpoint.gate.clear()
    opener = threading.Timer(0.2, endpoint.gate.set)
    opener.start()

    results = run_threads(lambda: client.get_signing_key(keys[0].kid), CALLERS)

    opener.join()
    assert endpoint.requests == 1
    assert all(result is results[0] for result in results)
    assert results[0].key_id == keys[0].kid


def test_concurrent_threads_asking_for_a_new_kid_share_one_refresh(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    client.get_signing_key(keys[0].kid)
    clock.advance(31)
    endpoint.serve(jwks(keys[0], keys[1]))
    endpoint.gate.clear()
    opener = threading.Timer(0.2, endpoint.gate.set)
    opener.start()

    results = run_threads(lambda: client.get_signing_key(keys[1].kid), CALLERS)

    opener.join()
    assert endpoint.requests == 2
    assert all(result is results[0] for result in results)
    assert results[0].key_id == keys[1].kid


def test_known_keys_are_served_while_an_unknown_kid_is_refreshed(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    known = client.get_signing_key(keys[0].kid)
    clock.advance(31)
    endpoint.gate.clear()
    refresh = threading.Thread(target=lambda: client.get_jwk_set(refresh=True))
    refresh.start()
    endpoint.wait_for_requests(2)

    # The refresh is held by the server; a lookup that waited for it could
    # not return before the gate opens.
    assert client.get_signing_key(keys[0].kid) is known
    assert refresh.is_alive()

    endpoint.gate.set()
    refresh.join(GATE_TIMEOUT)


def test_expired_set_is_served_while_its_refresh_is_in_flight(
    endpoint: JWKSServer, keys: list[SigningKey], clock: Clock
) -> None:
    endpoint.serve(jwks(keys[0]))
    client = turbojwt.PyJWKClient(endpoint.url)
    known = client.get_signing_key(keys[0].kid)
    clock.advance(301)
    endpoint.gate.clear()
    refresh = threading.Thread(target=lambda: client.get_signing_key(keys[0].kid))
    refresh.start()
    endpoint.wait_for_requests(2)

    assert client.get_signing_key(keys[0].kid) is known
    assert refresh.is_alive()

    endpoint.gate.set()
    refresh.join(GATE_TIMEOUT)
    assert endpoint.requests == 2


# --- parameters and the cache ----------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_response_bytes": 0}, "Max response bytes must be greater than 0"),
        ({"max_response_bytes": 1.5}, "Max response bytes must be an int"),
        ({"max_stale": -1}, "Max stale must be finite"),
        ({"max_stale": float("inf")}, "Max stale must be finite"),
        ({"min_lifespan": float("nan")}, "Min lifespan must be finite"),
        ({"min_lifespan": 60, "max_lifespan": 30}, "Max lifespan must be greater than or equal"),
    ],
)
def test_invalid_extra_parameters(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(PyJWKClientError, match=message):
        turbojwt.PyJWKClient("https://example.test/jwks", **arguments)


def test_extra_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        turbojwt.PyJWKClient(  # type: ignore[call-arg]
            "https://example.test/jwks", False, 16, True, 300, None, 30, None, 30, 1024
        )


def test_cache_entry_lifespan_and_stale_window(keys: list[SigningKey], clock: Clock) -> None:
    cache = JWKSetCache(lifespan=10)
    cache.put(jwks(keys[0]), lifespan=100)

    clock.advance(50)
    assert cache.get() is not None
    clock.advance(54)  # 4 s past expiry
    assert cache.is_expired()
    assert cache.get() is None
    assert cache.get_stale(5) is not None
    clock.advance(2)
    assert cache.get_stale(5) is None

    cache.put(jwks(keys[0]))  # the cache's own lifespan again
    clock.advance(11)
    assert cache.get() is None
