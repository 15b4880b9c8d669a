"""``GET /services/data`` (the versions list, not counted) and ``GET /services/data/vXX.X`` (resources)."""

from __future__ import annotations

from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import SUPPORTED_VERSIONS, Ctx

_SEASONS = ("Winter", "Spring", "Summer")

# The resources this local org serves under each version; nothing is listed that would answer 404.
RESOURCES = ("sobjects", "query", "queryAll", "composite", "limits")


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
    """The resources available in one version."""
    return Response.json({name: f"{ctx.base}/{name}" for name in RESOURCES})
