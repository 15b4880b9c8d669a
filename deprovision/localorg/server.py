"""The local org's HTTPS server: lifecycle, TLS and the per-server state.

``LocalOrgServer`` serves the Salesforce REST API subset of ``routes.py`` on
127.0.0.1 over TLS (a self-signed certificate from ``tls.py``, kept next to
the database and reused across restarts), HTTP/1.1 with keep-alive, one thread
per connection, state in the SQLite store.

    server = LocalOrgServer(db_path, seed="demo")
    server.start()                 # background thread
    server.instance_url, server.access_token, server.ca_bundle, server.org_id
    server.stop()
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from deprovision.localorg import errors
from deprovision.localorg.faults import FaultInjector
from deprovision.localorg.http import LocalOrgRequestHandler, Request, Response
from deprovision.localorg.tls import ensure_certificate

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
IDLE_TIMEOUT_S = 120  # idle keep-alive connections are closed after this


class LocalOrgApp:
    """Everything one served org holds besides the store: faults, query cursors, bulk jobs, the router."""

    def __init__(self, store: Any, faults: FaultInjector, org_id: str) -> None:
        from deprovision.localorg.resources.bulk import BulkJobs
        from deprovision.localorg.resources.query import QueryCursors
        from deprovision.localorg.routes import Router

        self.store = store
        self.faults = faults
        self.org_id = org_id
        self.cursors = QueryCursors(store)
        self.jobs = BulkJobs()
        self.router = Router(self)

    def handle(self, request: Request) -> Response:
        return self.router.handle(request)

    def authenticate(self, request: Request) -> dict:
        """The user of the request's ``Authorization: Bearer`` session, or 401 INVALID_SESSION_ID."""
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token.strip():
            raise errors.INVALID_SESSION_ID("Session expired or invalid")
        return self.store.user_for_token(token.strip())

    def limit_info(self) -> str:
        """``api-usage=N/M`` without counting a call."""
        usage = getattr(self.store, "api_usage", None)
        if callable(usage):
            used, limit = usage()
            return f"api-usage={used}/{limit}"
        return "api-usage=0/0"


class _TLSHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server doing the TLS handshake in each connection's own thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: LocalOrgApp, ssl_context: ssl.SSLContext) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, LocalOrgRequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(IDLE_TIMEOUT_S)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("local org: TLS handshake failed from %s: %s", client_address, exc)
            return
        with self._open_lock:
            self._open.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(tls)
            with contextlib.suppress(OSError):
                tls.shutdown(socket.SHUT_RDWR)
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("local org: connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class LocalOrgServer:
    """A served local org. See the module docstring."""

    def __init__(self, db_path: str | Path, port: int = 0, latency_ms: int = 0, fail_rate: float = 0.0,
                 fault_seed: int = 0, cert_dir: str | Path | None = None, seed: str | None = None,
                 seed_options: dict | None = None, shape: dict | None = None) -> None:
        self.db_path = Path(db_path)
        self.shape = shape  # shapes.py: the org's shape when the database is new
        self.port = port
        self.cert_dir = Path(cert_dir) if cert_dir else self.db_path.parent
        self.seed = seed
        self.seed_options = dict(seed_options or {})
        self.faults = FaultInjector(latency_ms, fail_rate, fault_seed)
        self.store: Any = None
        self.app: LocalOrgApp | None = None
        self._httpd: _TLSHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._access_token: str | None = None
        self._ca_bundle: Path | None = None
        self.seeded = False  # True when start() built the seed data

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalOrgServer:
        """Open (and seed, when new) the store, bind the port and serve in a background thread."""
        if self._httpd is not None:
            return self
        from deprovision.localorg.store import Store

        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with _seed_lock(self.db_path):  # two processes starting on a new file seed it once
            is_new = not self.db_path.exists() or self.db_path.stat().st_size == 0
            self.store = Store.open(self.db_path, shape=self.shape)
            if self.seed and (is_new or not _has_users(self.store)):
                from deprovision.localorg import seed as seed_module

                seed_module.build(self.store, self.seed, **self.seed_options)
                self.seeded = True
        org_id = _org_id(self.store)
        self.app = LocalOrgApp(self.store, self.faults, org_id)
        cert = ensure_certificate(self.cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert.cert, cert.key)
        self._ca_bundle = cert.cert
        try:
            self._httpd = _TLSHTTPServer((HOST, self.port), self.app, context)
        except OSError:
            self.store.close()
            raise
        self.port = self._httpd.server_address[1]
        self._access_token = self.store.issue_token(api_user_id(self.store))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"localorg-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and the store."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.app is not None:
            self.app.jobs.shutdown()
            self.app.cursors.close_all()
        close = getattr(self.store, "close", None)
        if callable(close):
            close()

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop cleanly (for ``deprovision localorg serve``)."""
        stopping = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stopping.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            while not stopping.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> LocalOrgServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- what clients need -------------------------------------------------------------------
    @property
    def instance_url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def access_token(self) -> str:
        """A session of the org's admin (API) user; a secret: never print or log it."""
        if self._access_token is None:
            raise RuntimeError("the local org is not started")
        return self._access_token

    @property
    def ca_bundle(self) -> str:
        """The PEM file clients trust (``requests.Session.verify``)."""
        if self._ca_bundle is None:
            raise RuntimeError("the local org is not started")
        return str(self._ca_bundle)

    @property
    def org_id(self) -> str:
        if self.app is None:
            raise RuntimeError("the local org is not started")
        return self.app.org_id

    def connection_info(self) -> dict[str, str]:
        """What ``deprovision localorg serve`` prints."""
        return {"instance_url": self.instance_url, "access_token": self.access_token,
                "ca_bundle": self.ca_bundle, "org_id": self.org_id}


@contextlib.contextmanager
def _seed_lock(db_path: Path) -> Iterator[None]:
    """An exclusive lock on ``.<db name>.lock`` next to the database while it is opened and seeded."""
    with open(db_path.parent / f".{db_path.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _first_row(store: Any, soql: str) -> dict | None:
    result = store.query(soql)
    return result.records[0] if result.records else None


def _has_users(store: Any) -> bool:
    return _first_row(store, "SELECT Id FROM User LIMIT 1") is not None


def _org_id(store: Any) -> str:
    row = _first_row(store, "SELECT Id FROM Organization LIMIT 1")
    return row["Id"] if row else "00D000000000000AAA"


def api_user_id(store: Any) -> str:
    """The org's API user: the store's choice when it names one, else the first active administrator."""
    named = getattr(store, "api_user_id", None)
    named = named() if callable(named) else named
    if named:
        return named
    row = _first_row(store, "SELECT Id FROM User WHERE IsActive = true AND Profile.Name = 'System Administrator' "
                            "ORDER BY CreatedDate LIMIT 1")
    if row is None:
        row = _first_row(store, "SELECT Id FROM User WHERE IsActive = true ORDER BY CreatedDate LIMIT 1")
    if row is None:
        raise errors.NOT_FOUND("the local org has no active user to issue a session to")
    return row["Id"]
