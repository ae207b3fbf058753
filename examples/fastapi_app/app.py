"""A FastAPI service that logs users in with a password and protects routes with JWTs.

Run it with ``APP_JWT_SECRET=... uvicorn examples.fastapi_app.app:app`` (see README.md).
All configuration comes from environment variables, read by ``Settings.from_env``.
"""

# No ``from __future__ import annotations``: the route signatures below use
# ``Annotated[..., Depends(auth)]`` with ``auth`` local to ``create_app``, and FastAPI can
# only see it when annotations are evaluated where the function is defined.
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional
from urllib.parse import urlsplit, urlunsplit

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from turbojwt.auth import (
    Denylist,
    MemoryDenylist,
    RedisDenylist,
    SQLiteDenylist,
    StoreUnavailableError,
    TokenIssuer,
    hmac_secret_from_env,
)
from turbojwt.auth.dpop import (
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProofError,
    UseDPoPNonceError,
    extract_credentials,
)
from turbojwt.auth.fastapi import service_unavailable
from turbojwt.auth.fastapi_dpop import DPoPAuth
from turbojwt.exceptions import InvalidTokenError

ISSUER = "turbojwt-example"
AUDIENCE = "turbojwt-example-api"
BACKENDS = ("turbojwt", "pyjwt")


@dataclass(frozen=True)
class Settings:
    secret: bytes
    denylist_url: str
    access_ttl: float = 15 * 60
    refresh_ttl: float = 14 * 24 * 3600
    backend: str = "turbojwt"
    store_timeout: float = 1.0
    store_probe_interval: float = 1.0
    revocation_loss: str = "refuse"
    public_url: Optional[str] = None

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        """Read the ``APP_*`` variables; only ``APP_JWT_SECRET`` is required.

        - ``APP_JWT_SECRET``: HS256 secret, at least 32 bytes (UTF-8).
        - ``APP_DENYLIST_URL``: ``sqlite:///relative.db``, ``sqlite:////absolute.db``,
          ``redis://host:port/db`` or ``memory://`` (one process only). Default: a SQLite
          file in the system temp directory.
        - ``APP_ACCESS_TTL`` / ``APP_REFRESH_TTL``: token lifetimes in seconds.
        - ``APP_JWT_BACKEND``: ``turbojwt`` (default) or ``pyjwt``, the library that signs
          and verifies, so the same app can be measured on both.
        - ``APP_PUBLIC_URL``: the scheme and host clients use (``https://api.example``), which
          DPoP proofs name in ``htu``, when a proxy in front rewrites them. Default: the
          URL the server sees.
        - ``APP_STORE_TIMEOUT``: how long a denylist call may wait, in seconds (default 1);
          ``APP_STORE_PROBE_INTERVAL``: how often a failed store is tried again (default 1).
        - ``APP_REVOCATION_LOSS``: ``refuse`` (default) or ``alert``, what happens to tokens
          issued before the store lost its data (see docs/auth.md, "Deployment").
        """
        env = os.environ if environ is None else environ
        backend = env.get("APP_JWT_BACKEND", "turbojwt")
        if backend not in BACKENDS:
            raise ValueError(f"APP_JWT_BACKEND must be one of {', '.join(BACKENDS)}")
        return cls(
            secret=hmac_secret_from_env("APP_JWT_SECRET", "HS256", environ=env),
            denylist_url=env.get("APP_DENYLIST_URL") or default_denylist_url(),
            access_ttl=float(env.get("APP_ACCESS_TTL", cls.access_ttl)),
            refresh_ttl=float(env.get("APP_REFRESH_TTL", cls.refresh_ttl)),
            backend=backend,
            store_timeout=float(env.get("APP_STORE_TIMEOUT", cls.store_timeout)),
            store_probe_interval=float(
                env.get("APP_STORE_PROBE_INTERVAL", cls.store_probe_interval)
            ),
            revocation_loss=env.get("APP_REVOCATION_LOSS", cls.revocation_loss),
            public_url=env.get("APP_PUBLIC_URL") or None,
        )


def default_denylist_url() -> str:
    directory = Path(tempfile.gettempdir()) / "turbojwt-example"
    directory.mkdir(exist_ok=True)
    return f"sqlite:///{directory / 'denylist.sqlite3'}"


def open_denylist(
    url: str,
    *,
    timeout: float = 1.0,
    probe_interval: float = 1.0,
    on_revocations_lost: Any = "refuse",
) -> Denylist:
    options: dict[str, Any] = {
        "timeout": timeout,
        "probe_interval": probe_interval,
        "on_revocations_lost": on_revocations_lost,
    }
    if url.startswith("sqlite:///"):
        # SQLAlchemy's convention: three slashes, then the path (a fourth makes it absolute).
        return SQLiteDenylist(url.removeprefix("sqlite:///"), **options)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisDenylist(url, **options)  # needs the redis package: turbojwt[redis]
    if url == "memory://":
        return MemoryDenylist()
    raise ValueError(f"Unsupported denylist URL: {url!r}")


class DenylistUnreachableError(RuntimeError):
    """The denylist did not answer at start-up; the app refuses to start without it."""


def check_denylist(denylist: Denylist, url: str) -> None:
    """One lookup against the store, so a wrong URL or a stopped server stops the start."""
    try:
        denylist.is_revoked("startup-check")
    except StoreUnavailableError as exc:
        reason = exc.__cause__ or exc
        message = (
            f"The denylist at {redact_url(url)} is unreachable ({reason}): refusing to start. "
            "Start the store or point APP_DENYLIST_URL at a reachable one."
        )
        logging.getLogger("uvicorn.error").error(message)
        # The cause is in the message; its chained traceback would only bury it.
        raise DenylistUnreachableError(message) from None


def redact_url(url: str) -> str:
    """``url`` without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def jwt_backend(name: str) -> Any:
    """The module that encodes and decodes: None selects turbojwt itself."""
    if name == "pyjwt":
        import jwt

        return jwt
    return None


# --- users -------------------------------------------------------------------------------


def hash_password(password: str, salt: bytes) -> bytes:
    # 16 MiB and tens of milliseconds per hash, so a stolen table is slow to attack.
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


@dataclass(frozen=True)
class User:
    username: str
    salt: bytes
    password_hash: bytes
    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


class UserStore:
    """An in-memory user table; passwords are kept only as salted scrypt hashes."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        # Unknown usernames are checked against this, so they take as long as known ones.
        self._decoy = User("", salt=secrets.token_bytes(16), password_hash=bytes(32))

    def add(
        self,
        username: str,
        password: str,
        *,
        scopes: Iterable[str] = (),
        roles: Iterable[str] = (),
    ) -> None:
        salt = secrets.token_bytes(16)
        self._users[username] = User(
            username, salt, hash_password(password, salt), tuple(scopes), tuple(roles)
        )

    def authenticate(self, username: str, password: str) -> Optional[User]:
        user = self._users.get(username, self._decoy)
        candidate = hash_password(password, user.salt)
        if hmac.compare_digest(candidate, user.password_hash) and user is not self._decoy:
            return user
        return None


def demo_users() -> UserStore:
    users = UserStore()
    users.add("alice", "wonderland", scopes=["profile:read"])
    users.add(
        "root",
        "correct horse battery staple",
        scopes=["profile:read", "admin:read"],
        roles=["admin"],
    )
    return users


# --- HTTP --------------------------------------------------------------------------------


class LoginRequest(BaseModel):
    username: str
    password: str


class RefreshRequest(BaseModel):
    refresh_token: str


def create_app(settings: Optional[Settings] = None, users: Optional[UserStore] = None) -> FastAPI:
    settings = Settings.from_env() if settings is None else settings
    users = demo_users() if users is None else users
    denylist = open_denylist(
        settings.denylist_url,
        timeout=settings.store_timeout,
        probe_interval=settings.store_probe_interval,
        on_revocations_lost=settings.revocation_loss,
    )
    issuer = TokenIssuer(
        settings.secret,
        "HS256",
        issuer=ISSUER,
        audience=AUDIENCE,
        access_ttl=settings.access_ttl,
        refresh_ttl=settings.refresh_ttl,
        denylist=denylist,
        backend=jwt_backend(settings.backend),
    )
    # DPoP proofs (RFC 9449): each one is accepted once, remembered in the same store as
    # revoked tokens, so every worker process refuses a replay.
    dpop = DPoPVerifier(denylist)
    # Bearer or DPoP; a token bound to a DPoP key (issued by /login to a client that sent
    # a proof) is accepted only with a fresh proof from that key.
    auth = DPoPAuth(issuer, dpop, schemes=("Bearer", "DPoP"), public_url=settings.public_url)
    require_admin = auth.require(scopes=["admin:read"], roles=["admin"])
    # A low-stakes route that stays up while the denylist is down (each pass is logged).
    fail_open = auth.require(fail_open=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to start without the store: every protected route would fail until it came.
        check_denylist(denylist, settings.denylist_url)
        yield
        denylist.close()

    app = FastAPI(title="turbojwt example", lifespan=lifespan)

    def token_endpoint_proof(request: Request) -> Optional[DPoPProof]:
        """The verified DPoP proof of a /login or /refresh request, if it carries one.

        RFC 9449 section 5: a bad proof at the token endpoint is a 400 ``invalid_dpop_proof``
        (or ``use_dpop_nonce``) error response.
        """
        proofs = request.headers.getlist("DPoP")
        if not proofs:
            return None
        try:
            return dpop.verify(proofs, method=request.method, url=auth.request_url(request))
        except StoreUnavailableError as exc:
            raise service_unavailable(exc) from exc
        except InvalidDPoPProofError as exc:
            headers = {"DPoP-Nonce": exc.nonce} if isinstance(exc, UseDPoPNonceError) else None
            raise TokenEndpointError(exc.error, str(exc), headers) from exc

    @app.exception_handler(TokenEndpointError)
    async def token_endpoint_error(request: Request, exc: TokenEndpointError) -> JSONResponse:
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, status_code=400, headers=exc.headers)

    # /health, /me and /admin do no blocking work, so they are ``async`` and run on the event
    # loop. Password hashing and denylist I/O (login, refresh, logout, and the ``auth``
    # dependency itself) are plain functions, which FastAPI runs in its thread pool.
    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        response.headers["X-Worker-Pid"] = str(os.getpid())  # which worker answered
        return {"status": "ok", "backend": settings.backend}

    @app.post("/login")
    def login(body: LoginRequest, request: Request) -> dict[str, Any]:
        # With a DPoP proof the tokens are bound to its key: token_type "DPoP", cnf.jkt.
        proof = token_endpoint_proof(request)
        user = users.authenticate(body.username, body.password)
        if user is None:
            raise HTTPException(401, detail="Invalid username or password")
        pair = issuer.issue(
            user.username,
            scopes=user.scopes,
            roles=user.roles,
            dpop_jkt=None if proof is None else proof.jkt,
        )
        return pair.as_dict()

    @app.get("/me")
    async def me(claims: Annotated[dict[str, Any], Depends(auth)]) -> dict[str, Any]:
        return claims

    @app.get("/hello")
    async def hello(claims: Annotated[dict[str, Any], Depends(fail_open)]) -> dict[str, str]:
        return {"message": f"Hello, {claims['sub']}"}

    @app.get("/admin")
    async def admin(claims: Annotated[dict[str, Any], Depends(require_admin)]) -> dict[str, Any]:
        return {"message": f"Hello, administrator {claims['sub']}"}

    @app.post("/refresh")
    def refresh(body: RefreshRequest, request: Request) -> dict[str, Any]:
        # A bound refresh token is exchanged only with a proof from its key.
        proof = token_endpoint_proof(request)
        try:
            jkt = None if proof is None else proof.jkt
            return issuer.refresh(body.refresh_token, dpop_jkt=jkt).as_dict()
        except StoreUnavailableError as exc:
            raise service_unavailable(exc) from exc
        except InvalidTokenError as exc:
            # RFC 6749 section 5.2: an invalid, expired, revoked or reused refresh token (or
            # an access token in its place) is a 400 ``invalid_grant`` error response.
            raise TokenEndpointError("invalid_grant", str(exc)) from exc

    @app.post("/logout", status_code=204)
    def logout(
        body: RefreshRequest,
        request: Request,
        _claims: Annotated[dict[str, Any], Depends(auth)],
    ) -> Response:
        # ``auth`` has vouched for the access token; logout revokes it with the family.
        _scheme, access_token = extract_credentials(request.headers.get("Authorization"))
        try:
            issuer.logout(body.refresh_token, access_token)
        except StoreUnavailableError as exc:
            raise service_unavailable(exc) from exc
        except InvalidTokenError as exc:
            raise HTTPException(401, detail=str(exc)) from exc
        return Response(status_code=204)

    return app


class TokenEndpointError(Exception):
    """An OAuth 2.0 error response of /login or /refresh (RFC 6749 section 5.2)."""

    def __init__(
        self, error: str, description: str, headers: Optional[dict[str, str]] = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.headers = headers


def __getattr__(name: str) -> Any:
    # ``uvicorn examples.fastapi_app.app:app`` looks ``app`` up after the import. Building it
    # on that first access lets tests import this module without the environment set.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
