"""The local org's route table and the request pipeline around it.

Pipeline for ``/services/data/vXX.X/...`` (the REST API): version check →
``Authorization: Bearer`` session → route match → injected latency and faults
→ API-call accounting (``Sforce-Limit-Info``) → the resource handler. The
versions list, OAuth, SOAP login and ``/_localorg/`` admin endpoints skip the
accounting and are never faulted; a SOAP ``update`` counts and is faulted by its own handler
(``resources/soap.py``). Anything unknown answers 404 ``NOT_FOUND``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from deprovision.localorg import errors
from deprovision.localorg.http import Request, Response

if TYPE_CHECKING:
    from deprovision.localorg.server import LocalOrgApp

SUPPORTED_VERSIONS = tuple(f"{v}.0" for v in range(50, 63))
NOT_FOUND_MESSAGE = "The requested resource does not exist"
_INHERITED_HEADERS = ("sforce-auto-assign", "sforce-query-options", "sforce-call-options")  # composite -> subrequests
_DATA_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?P<rest>/.*)?$")


@dataclass
class Ctx:
    """What a resource handler gets: the app, the caller, the API version and the path parameters."""

    app: LocalOrgApp
    request: Request
    version: str = SUPPORTED_VERSIONS[-1]
    user: dict = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    in_composite: bool = False
    usage: tuple[int, int] | None = None  # (used, max) daily API requests after this call was counted

    @property
    def store(self) -> Any:
        return self.app.store

    @property
    def base(self) -> str:
        """``/services/data/vXX.X`` for URLs in responses."""
        return f"/services/data/v{self.version}"

    @property
    def actor_id(self) -> str:
        return self.user.get("Id") or self.user.get("id") or ""

    def param(self, name: str) -> str:
        return self.params[name]


Handler = Callable[[Ctx, Request], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint: a path pattern relative to its family, the methods and handlers it answers."""

    pattern: re.Pattern
    handlers: dict[str, Handler]
    record_hint: str | None = None  # path parameter naming the record a fault mentions


def route(path: str, **handlers: Handler) -> Route:
    """A route from a path like ``sobjects/{type}/{id}`` and ``GET=...``, ``PATCH=...`` handlers."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.strip("/"))
    hint = "id" if "{id}" in path else None
    return Route(re.compile(f"^{regex}$"), {m.upper(): h for m, h in handlers.items()}, hint)


def _match(routes: list[Route], path: str) -> tuple[Route, dict[str, str]] | None:
    for candidate in routes:
        m = candidate.pattern.match(path)
        if m:
            return candidate, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def _method_not_allowed(method: str, allowed: dict[str, Handler]) -> Response:
    names = ",".join(sorted(set(allowed) | ({"HEAD"} if "GET" in allowed else set())))
    return Response.error(errors.METHOD_NOT_ALLOWED(f"HTTP Method '{method}' not allowed. Allowed are {names}"))


class Router:
    """Dispatches a request to a resource handler and applies the pipeline."""

    def __init__(self, app: LocalOrgApp) -> None:
        from deprovision.localorg.resources import admin, oauth, soap, versions

        self.app = app
        self.rest_routes = build_rest_routes()
        self.plain_routes: list[Route] = [
            route("services/data", GET=versions.versions_list),
            route("services/oauth2/token", POST=oauth.token),
            route("services/oauth2/revoke", POST=oauth.revoke, GET=oauth.revoke),
            route("services/oauth2/userinfo", GET=oauth.userinfo, POST=oauth.userinfo),
            route("id/{org}/{user}", GET=oauth.identity),
            route("services/Soap/u/{version}", POST=soap.endpoint),  # partner API: login, update
            route("services/Soap/u/{version}/{org}", POST=soap.endpoint),
            route("_localorg/faults", GET=admin.get_faults, POST=admin.set_faults),
            route("_localorg/settings", GET=admin.get_settings, POST=admin.set_settings),
        ]

    def handle(self, request: Request) -> Response:
        """Answer one request from the wire."""
        try:
            if request.method == "POST" and "_HttpMethod" in request.query:
                request.method = request.query.pop("_HttpMethod").upper()
            data = _DATA_PATH.match(request.path.rstrip("/") or "/")
            if data:
                return self._rest(request, data.group("version"), (data.group("rest") or "").strip("/"))
            found = _match(self.plain_routes, request.path.strip("/"))
            if found is None:
                return Response.error(errors.NOT_FOUND(NOT_FOUND_MESSAGE))
            matched, params = found
            handler = matched.handlers.get("GET" if request.method == "HEAD" else request.method)
            if handler is None:
                return _method_not_allowed(request.method, matched.handlers)
            return handler(Ctx(self.app, request, params=params), request)
        except errors.SalesforceError as exc:
            return Response.error(exc)

    def _rest(self, request: Request, version: str, rest: str) -> Response:
        if version not in SUPPORTED_VERSIONS:
            return Response.error(errors.NOT_FOUND(NOT_FOUND_MESSAGE))
        user = self.app.authenticate(request)
        ctx = Ctx(self.app, request, version, user)
        found = _match(self.rest_routes, rest)
        if found is None:
            return Response.error(errors.NOT_FOUND(NOT_FOUND_MESSAGE))
        matched, params = found
        handler = matched.handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            return _method_not_allowed(request.method, matched.handlers)
        ctx.params = params
        self.app.faults.delay()
        fault = self.app.faults.draw(params.get(matched.record_hint) if matched.record_hint else None)
        if fault is not None:
            return Response.error(fault)
        try:
            used, limit = self.app.store.count_api_call()
        except errors.SalesforceError as exc:
            response = Response.error(exc)
            response.headers["Sforce-Limit-Info"] = self.app.limit_info()
            return response
        ctx.usage = (used, limit)
        try:
            response = handler(ctx, request)
        except errors.SalesforceError as exc:
            response = Response.error(exc)
        used, limit = ctx.usage
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
        return response

    def dispatch_sub(self, parent: Ctx, method: str, url: str, body: Any = None,
                     headers: dict[str, str] | None = None) -> Response:
        """Run a Composite subrequest: same session, no extra accounting, no faults."""
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        inherited = {k: v for k, v in parent.request.headers.items() if k in _INHERITED_HEADERS}
        sub = Request.build(method, url, inherited | {k.lower(): v for k, v in (headers or {}).items()}, payload,
                            parent.request.host)
        data = _DATA_PATH.match(sub.path.rstrip("/"))
        if not data or data.group("version") not in SUPPORTED_VERSIONS:
            return Response.error(errors.NOT_FOUND(NOT_FOUND_MESSAGE))
        found = _match(self.rest_routes, (data.group("rest") or "").strip("/"))
        if found is None:
            return Response.error(errors.NOT_FOUND(NOT_FOUND_MESSAGE))
        matched, params = found
        handler = matched.handlers.get(sub.method)
        if handler is None:
            return _method_not_allowed(sub.method, matched.handlers)
        ctx = Ctx(self.app, sub, data.group("version"), parent.user, params, in_composite=True, usage=parent.usage)
        try:
            return handler(ctx, sub)
        except errors.SalesforceError as exc:
            return Response.error(exc)


def build_rest_routes() -> list[Route]:
    """Every REST resource under ``/services/data/vXX.X/``, most specific first."""
    from deprovision.localorg.resources import bulk, collections, composite, limits, query, sobjects, versions

    return [
        route("", GET=versions.resource_list),
        route("query", GET=query.query),
        route("queryAll", GET=query.query_all),
        route("query/{locator}", GET=query.query_more),
        route("queryAll/{locator}", GET=query.query_more),
        route("limits", GET=limits.limits),
        route("sobjects", GET=sobjects.describe_global),
        route("sobjects/{type}", GET=sobjects.basic_info, POST=sobjects.create),
        route("sobjects/{type}/describe", GET=sobjects.describe),
        route("sobjects/{type}/{id}", GET=sobjects.retrieve, PATCH=sobjects.update, DELETE=sobjects.delete),
        route("sobjects/{type}/{field}/{value}", GET=sobjects.retrieve_by_field, PATCH=sobjects.upsert),
        route("composite/sobjects", POST=collections.create, PATCH=collections.update,
              DELETE=collections.delete),
        route("composite/sobjects/{type}", GET=collections.retrieve, POST=collections.retrieve),
        route("composite/batch", POST=composite.batch),
        route("composite", POST=composite.composite),
        route("jobs/ingest", POST=bulk.create_ingest_job, GET=bulk.list_ingest_jobs),
        route("jobs/ingest/{job}", GET=bulk.get_ingest_job, PATCH=bulk.patch_ingest_job,
              DELETE=bulk.delete_ingest_job),
        route("jobs/ingest/{job}/batches", PUT=bulk.upload_batch),
        route("jobs/ingest/{job}/successfulResults", GET=bulk.successful_results),
        route("jobs/ingest/{job}/failedResults", GET=bulk.failed_results),
        route("jobs/ingest/{job}/unprocessedrecords", GET=bulk.unprocessed_records),
        route("jobs/ingest/{job}/unprocessedRecords", GET=bulk.unprocessed_records),
        route("jobs/query", POST=bulk.create_query_job, GET=bulk.list_query_jobs),
        route("jobs/query/{job}", GET=bulk.get_query_job, PATCH=bulk.patch_query_job,
              DELETE=bulk.delete_query_job),
        route("jobs/query/{job}/results", GET=bulk.query_results),
    ]
