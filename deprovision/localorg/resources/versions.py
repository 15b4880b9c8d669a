"""``GET /services/data`` (the versions list, not counted) and ``GET /services/data/vXX.X`` (resources)."""

from __future__ import annotations

from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import SUPPORTED_VERSIONS, Ctx

_SEASONS = ("Winter", "Spring", "Summer")

# The resources a version lists, in the order of the REST API Developer Guide's "Resources by Version"
# example (v66.0); ``identity`` is the absolute URL of the caller's identity (``/id/ORG/USER``). The local
# org serves sobjects, query, queryAll, composite, limits, jobs and identity; the others answer NOT_FOUND.
RESOURCES = (
    "tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform", "chatter",
    "payments", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search",
    "smartdatadiscovery", "identity", "composite", "parameterizedSearch", "fingerprint", "theme", "nouns",
    "domino", "event", "serviceTemplates", "recent", "connect", "licensing", "limits", "process", "dedupe",
    "async-queries", "query", "jobs", "localizedvalue", "mobile", "emailConnect", "consent", "tokenizer",
    "compactLayouts", "async", "sobjects", "actions", "support",
)


def release_label(version: str) -> str:
    """Salesforce's release name for an API version: 50.0 is Winter '21, 62.0 is Winter '25."""
    n = int(float(version)) - 50
    return f"{_SEASONS[n % 3]} '{21 + n // 3}"


def versions_list(ctx: Ctx, request: Request) -> Response:
    """``[{"label", "url", "version"}]`` for every supported version, oldest first."""
    return Response.json([
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in SUPPORTED_VERSIONS
    ])


def resource_list(ctx: Ctx, request: Request) -> Response:
    """The resources available in one version (``identity`` for the session's user)."""
    host = request.header("Host") or "127.0.0.1"
    identity = f"https://{host}/id/{ctx.app.org_id}/{ctx.actor_id}"
    return Response.json({name: identity if name == "identity" else f"{ctx.base}/{name}" for name in RESOURCES})
