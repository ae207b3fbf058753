"""A scripted HTTP server on 127.0.0.1 with one reply per path, for the fleet tests.

Each path answers with its :class:`Route`: a JSON document, a status, headers,
a delay, an ``ETag`` that turns a matching ``If-None-Match`` into ``304``, or a
connection reset. Every request is counted per path.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: Optional[str] = None  # sent, and a matching If-None-Match gets 304
    reset: bool = False  # close the connection with RST instead of answering


class FleetServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.request_headers: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, document: Any, **route: Any) -> Route:
        self.routes[path] = Route(json.dumps(document).encode(), **route)
        return self.routes[path]

    def set(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits[path]

    def record(self, path: str, headers: dict[str, str]) -> Optional[Route]:
        with self._lock:
            self.hits[path] += 1
            self.request_headers.append((path, headers))
            return self.routes.get(path)

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fleet: FleetServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fleet = fleet


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        fleet = self.server.fleet
        route = fleet.record(self.path, dict(self.headers.items()))
        if route is None:
            self._answer(404, b"{}", {})
            return
        if route.delay:
            fleet.stopping.wait(route.delay)
        if route.reset:
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
            if self.headers.get("If-None-Match") == route.etag:
                with fleet._lock:
                    fleet.not_modified[self.path] += 1
                self._answer(304, b"", headers)
                return
        self._answer(route.status, route.body, headers)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        return
