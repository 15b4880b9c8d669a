"""The thin HTTP layer of the local org: parse a request, format a response.

No Salesforce rule lives here: handlers receive a ``Request`` and return a
``Response``; store errors become Salesforce's wire shapes in ``Response.error``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from deprovision.localorg import errors

log = logging.getLogger(__name__)

MAX_BODY = 160 * 1024 * 1024  # Bulk API 2.0 accepts up to 150 MB per upload


@dataclass
class Request:
    """One HTTP request, already read from the socket."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    host: str = "127.0.0.1"

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes = b"",
              host: str | None = None) -> Request:
        """A request from a method, a target (path and query) and headers."""
        parts = urlsplit(target)
        lower = {k.lower(): v for k, v in headers.items()}
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        return cls(method.upper(), parts.path, query, lower, body, host or lower.get("host", "127.0.0.1"))

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON, or JSON_PARSER_ERROR the way Salesforce words it."""
        if not self.body.strip():
            raise errors.JSON_PARSER_ERROR("The request body is empty; a JSON body is required.")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.JSON_PARSER_ERROR(f"Unexpected character: was expecting a JSON value ({exc})") from None

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body merged over the query string."""
        merged = dict(self.query)
        try:
            merged.update(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            pass
        return merged


@dataclass
class Response:
    """One HTTP response before it is written."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data, separators=(",", ":"), default=str).encode("utf-8"),
                   "application/json;charset=UTF-8", dict(headers or {}))

    @classmethod
    def error(cls, exc: errors.SalesforceError) -> Response:
        """Salesforce's single-resource error body: a JSON array of ``{message, errorCode[, fields]}``."""
        return cls.json(exc.body(), exc.status)

    @classmethod
    def csv(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, text.encode("utf-8"), "text/csv", dict(headers or {}))

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status)

    def json_body(self) -> Any:
        """The body parsed back (composite subrequests embed it)."""
        if not self.body:
            return None
        if self.content_type and self.content_type.startswith("application/json"):
            return json.loads(self.body)
        return self.body.decode("utf-8")


class LocalOrgRequestHandler(BaseHTTPRequestHandler):
    """Reads requests (HTTP/1.1, keep-alive) and hands them to ``server.app.handle``."""

    protocol_version = "HTTP/1.1"
    server_version = "deprovision-localorg"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self._write(Response.json([{"message": str(exc), "errorCode": "JSON_PARSER_ERROR"}], 400))
            self.close_connection = True
            return
        request = Request.build(self.command, self.path, dict(self.headers.items()), body)
        try:
            response = self.server.app.handle(request)  # type: ignore[attr-defined]
        except Exception:  # a bug must not kill the connection silently
            log.exception("local org: unexpected error on %s %s", self.command, request.path)
            response = Response.json([{"message": "An unexpected error occurred. Please include this ErrorId "
                                                  "if you contact support: 0", "errorCode": "UNKNOWN_EXCEPTION"}],
                                     500)
        self._write(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type and response.body:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # the path only: query strings can carry secrets (revoke?token=...)
        log.debug("local org: %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("local org: connection message (%s)", type(self).__name__)
