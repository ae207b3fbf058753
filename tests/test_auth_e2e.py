"""End to end: the example app in a real uvicorn server, driven over loopback HTTP.

One scenario (login, expiry, refresh rotation, reuse detection, logout) runs against each
denylist store: a SQLite file, and a real redis-server. Set TURBOJWT_REQUIRE_REDIS=1 to
fail instead of skipping when redis-server is not installed.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis_server import import_redis_client

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCESS_TTL = 2
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def example_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Run ``uvicorn examples.fastapi_app.app:app`` until the block exits; yield its URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "examples.fastapi_app.app:app",
        "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, url, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the example app exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(
        f"the example app did not answer within {STARTUP_TIMEOUT} s:\n{log_path.read_text()}"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(response: httpx.Response) -> str:
    header: str = response.headers.get("WWW-Authenticate", "")
    assert header.startswith('Bearer realm="api"'), header
    return header


def login(client: httpx.Client, username: str, password: str) -> dict[str, Any]:
    response = client.post("/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == ACCESS_TTL
    return pair


def wait_past_expiry(client: httpx.Client, access_token: str) -> None:
    exp = client.get("/me", headers=bearer(access_token)).json()["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.2)


def run_scenario(url: str, backend: str) -> None:
    with httpx.Client(base_url=url, timeout=10.0) as client:
        assert client.get("/health").json() == {"status": "ok", "backend": backend}

        # Login: a wrong password and an unknown user are refused alike.
        for username, password in [("alice", "not-her-password"), ("mallory", "wonderland")]:
            refused = client.post("/login", json={"username": username, "password": password})
            assert refused.status_code == 401
            assert refused.json() == {"detail": "Invalid username or password"}
        pair = login(client, "alice", "wonderland")

        # The protected routes.
        me = client.get("/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 200
        assert me.json()["sub"] == "alice"
        assert me.json()["token_use"] == "access"
        anonymous = client.get("/me")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith('Bearer realm="api", DPoP ')
        not_admin = client.get("/admin", headers=bearer(pair["access_token"]))
        assert not_admin.status_code == 403
        assert 'error="insufficient_scope"' in challenge(not_admin)
        assert 'scope="admin:read"' in challenge(not_admin)
        root = login(client, "root", "correct horse battery staple")
        admin = client.get("/admin", headers=bearer(root["access_token"]))
        assert admin.status_code == 200
        assert admin.json() == {"message": "Hello, administrator root"}

        # The access token expires; the refresh token still works.
        wait_past_expiry(client, pair["access_token"])
        expired = client.get("/me", headers=bearer(pair["access_token"]))
        assert expired.status_code == 401
        assert 'error="invalid_token"' in challenge(expired)

        refreshed = client.post("/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        new_pair = refreshed.json()
        assert new_pair["refresh_token"] != pair["refresh_token"]
        assert client.get("/me", headers=bearer(new_pair["access_token"])).status_code == 200

        # Reuse of the rotated refresh token revokes the whole family.
        # RFC 6749 section 5.2: the token endpoint answers 400 invalid_grant.
        reused = client.post("/refresh", json={"refresh_token": pair["refresh_token"]})
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_grant"
        assert "reuse" in reused.json()["error_description"].lower()
        cut_off = client.get("/me", headers=bearer(new_pair["access_token"]))
        assert cut_off.status_code == 401
        assert 'error_description="Token has been revoked"' in challenge(cut_off)
        descendant = client.post("/refresh", json={"refresh_token": new_pair["refresh_token"]})
        assert descendant.status_code == 400
        assert descendant.json()["error"] == "invalid_grant"
        # An access token in place of the refresh token: the same error, not a 401.
        wrong_type = client.post("/refresh", json={"refresh_token": new_pair["access_token"]})
        assert wrong_type.status_code == 400
        assert wrong_type.json()["error"] == "invalid_grant"
        assert "WWW-Authenticate" not in wrong_type.headers

        # Another login starts a new family, unaffected; logout revokes it.
        session = login(client, "alice", "wonderland")
        assert client.get("/me", headers=bearer(session["access_token"])).status_code == 200
        logout = client.post(
            "/logout",
            json={"refresh_token": session["refresh_token"]},
            headers=bearer(session["access_token"]),
        )
        assert logout.status_code == 204, logout.text
        after = client.get("/me", headers=bearer(session["access_token"]))
        assert after.status_code == 401
        assert 'error_description="Token has been revoked"' in challenge(after)
        gone = client.post("/refresh", json={"refresh_token": session["refresh_token"]})
        assert gone.status_code == 400
        assert gone.json()["error"] == "invalid_grant"

        # root's family was never touched by alice's revocations.
        rotated = client.post("/refresh", json={"refresh_token": root["refresh_token"]})
        assert rotated.status_code == 200, rotated.text


def app_env(denylist_url: str, backend: str) -> dict[str, str]:
    return {
        "APP_JWT_SECRET": secrets.token_urlsafe(32),
        "APP_DENYLIST_URL": denylist_url,
        "APP_ACCESS_TTL": str(ACCESS_TTL),
        "APP_REFRESH_TTL": "600",
        "APP_JWT_BACKEND": backend,
    }


@pytest.mark.parametrize("backend", ["turbojwt", "pyjwt"])
def test_scenario_with_sqlite_denylist(tmp_path: Path, backend: str) -> None:
    env = app_env(f"sqlite:///{tmp_path / 'denylist.sqlite3'}", backend)
    with example_server(env, tmp_path / "server.log") as url:
        run_scenario(url, backend)


def test_scenario_with_redis_denylist(tmp_path: Path, redis_url: str) -> None:
    import_redis_client()  # the app's RedisDenylist needs the client package
    with example_server(app_env(redis_url, "turbojwt"), tmp_path / "server.log") as url:
        run_scenario(url, "turbojwt")


def test_unreachable_redis_denylist_refuses_to_start(tmp_path: Path) -> None:
    """A closed Redis port: the server exits non-zero at start-up and says why."""
    import_redis_client()
    port = free_port()  # nothing listens on it once free_port has closed its socket
    env = app_env(f"redis://127.0.0.1:{port}/0", "turbojwt")
    command = [
        sys.executable, "-m", "uvicorn", "examples.fastapi_app.app:app",
        "--host", "127.0.0.1", "--port", str(free_port()), "--log-level", "warning",
    ]  # fmt: skip
    finished = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0, output
    assert f"The denylist at redis://127.0.0.1:{port}/0 is unreachable" in output, output
    assert "refusing to start" in output, output
