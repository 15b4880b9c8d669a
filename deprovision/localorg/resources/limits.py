"""``GET /services/data/vXX.X/limits``: the org's limits, with the daily API requests actually used."""

from __future__ import annotations

from deprovision.localorg import schema
from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import Ctx

DATA_STORAGE_MAX_MB = 1024
FILE_STORAGE_MAX_MB = 2048
BULK_V2_QUERY_JOBS_MAX = 10000
BULK_BATCHES_MAX = 15000
RECORD_KB = 2  # Salesforce counts most records as 2 KB of data storage


def _data_storage_mb(ctx: Ctx) -> int:
    rows = 0
    for spec in schema.current().objects:
        if spec.setup:
            continue
        rows += ctx.store.select(f'SELECT COUNT(*) AS n FROM "{spec.name}" WHERE "IsDeleted" = 0')[0]["n"]
    return (rows * RECORD_KB + 1023) // 1024


def limits(ctx: Ctx, request: Request) -> Response:
    """``{"DailyApiRequests": {"Max", "Remaining"}, ...}`` as Salesforce names them."""
    used, limit = ctx.usage or (0, 0)
    jobs = ctx.app.jobs
    storage = _data_storage_mb(ctx)
    body = {
        "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
        "DailyBulkApiBatches": {"Max": BULK_BATCHES_MAX, "Remaining": BULK_BATCHES_MAX - jobs.ingest_count()},
        "DailyBulkV2QueryJobs": {"Max": BULK_V2_QUERY_JOBS_MAX,
                                 "Remaining": BULK_V2_QUERY_JOBS_MAX - jobs.query_count()},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DataStorageMB": {"Max": DATA_STORAGE_MAX_MB, "Remaining": max(DATA_STORAGE_MAX_MB - storage, 0)},
        "FileStorageMB": {"Max": FILE_STORAGE_MAX_MB, "Remaining": FILE_STORAGE_MAX_MB},
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "HourlyODataCallout": {"Max": 10000, "Remaining": 10000},
    }
    return Response.json(body)
