"""``/_localorg/``: change faults and org settings of a running local org (tests and demos).

Not part of Salesforce's API; served only on 127.0.0.1, never counted or faulted.
- ``GET /_localorg/faults`` → the fault settings;
  ``POST /_localorg/faults`` with ``{"latency_ms", "fail_rate", "fault_seed", "kinds", "fail_next"}``
  (any subset) changes them; ``fail_next: ["UNABLE_TO_LOCK_ROW", ...]`` faults exactly the next requests.
- ``GET /_localorg/settings`` → the org settings; ``POST /_localorg/settings`` with any
  ``OrgSettings`` fields (``daily_api_limit``, ``token_max_uses``, ...) and optionally ``api_usage``
  (today's used API requests) changes them; they persist in the org's database.
"""

from __future__ import annotations

import dataclasses

from deprovision.localorg import errors
from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import Ctx


def _bad(message: str) -> Response:
    return Response.json([{"message": message, "errorCode": "INVALID_INPUT"}], 400)


def get_faults(ctx: Ctx, request: Request) -> Response:
    return Response.json(ctx.app.faults.settings.as_dict() | {"injected": ctx.app.faults.injected})


def set_faults(ctx: Ctx, request: Request) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    try:
        settings = ctx.app.faults.configure(**{k: body.get(k) for k in
                                               ("latency_ms", "fail_rate", "fault_seed", "kinds", "fail_next")})
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return Response.json(settings.as_dict())


def get_settings(ctx: Ctx, request: Request) -> Response:
    used, limit = ctx.store.api_usage()
    return Response.json(dataclasses.asdict(ctx.store.settings) | {"api_usage": used, "api_limit": limit})


def set_settings(ctx: Ctx, request: Request) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    changes = dict(body)
    usage = changes.pop("api_usage", None)
    try:
        if changes:
            ctx.store.configure(**changes)
        if usage is not None:
            ctx.store.set_api_usage(int(usage))
    except (ValueError, TypeError, errors.SalesforceError) as exc:
        return _bad(str(exc))
    return get_settings(ctx, request)
