"""``GET /services/data/vXX.X/limits``: the org's limits, with the daily API requests actually used."""

from __future__ import annotations

from deprovision.localorg import schema
from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import Ctx

DATA_STORAGE_MAX_MB = 1024
FILE_STORAGE_MAX_MB = 2048
BULK_V2_QUERY_JOBS_MAX = 10000
BULK_BATCHES_MAX = 15000
PERMISSION_SETS_MAX = 1500
CUSTOM_PERMISSION_SETS_MAX = 1000
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
    body: dict[str, dict] = {name: {"Max": n, "Remaining": n} for name, n in ORG_LIMITS}
    body.update({
        "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
        "DailyBulkApiBatches": {"Max": BULK_BATCHES_MAX, "Remaining": BULK_BATCHES_MAX - jobs.ingest_count()},
        "DailyBulkV2QueryJobs": {"Max": BULK_V2_QUERY_JOBS_MAX,
                                 "Remaining": BULK_V2_QUERY_JOBS_MAX - jobs.query_count()},
        "DataStorageMB": {"Max": DATA_STORAGE_MAX_MB, "Remaining": max(DATA_STORAGE_MAX_MB - storage, 0)},
        "FileStorageMB": {"Max": FILE_STORAGE_MAX_MB, "Remaining": FILE_STORAGE_MAX_MB},
        "PermissionSets": _permission_sets(ctx),
    })
    return Response.json(body)


# Every limit of the REST API Developer Guide's "List Organization Limits" example response (v66.0), in its
# order, with its Max; the ones the local org counts are filled in by ``limits``.
ORG_LIMITS: tuple[tuple[str, int], ...] = (
    ("ActiveScratchOrgs", 3), ("AnalyticsExternalDataSizeMB", 40960), ("ConcurrentAsyncGetReportInstances", 200),
    ("ConcurrentEinsteinDataInsightsStoryCreation", 5), ("ConcurrentEinsteinDiscoveryStoryCreation", 2),
    ("ConcurrentSyncReportRuns", 20), ("DailyAnalyticsDataflowJobExecutions", 60),
    ("DailyAnalyticsUploadedFilesSizeMB", 51200), ("DailyFunctionsApiCallLimit", 235000),
    ("DailyApiRequests", 0), ("DailyAsyncApexExecutions", 250000), ("DailyAsyncApexTests", 500),
    ("DailyBulkApiBatches", BULK_BATCHES_MAX), ("DailyBulkV2QueryFileStorageMB", 976562),
    ("DailyBulkV2QueryJobs", BULK_V2_QUERY_JOBS_MAX), ("DailyDeliveredPlatformEvents", 10000),
    ("DailyDurableGenericStreamingApiEvents", 10000), ("DailyDurableStreamingApiEvents", 10000),
    ("DailyEinsteinDataInsightsStoryCreation", 1000), ("DailyEinsteinDiscoveryPredictAPICalls", 50000),
    ("DailyEinsteinDiscoveryPredictionsByCDC", 5000000), ("DailyEinsteinDiscoveryStoryCreation", 100),
    ("DailyGenericStreamingApiEvents", 10000), ("DailyScratchOrgs", 6), ("DailyStandardVolumePlatformEvents", 10000),
    ("DailyStreamingApiEvents", 10000), ("DailyWorkflowEmails", 100000), ("DataStorageMB", DATA_STORAGE_MAX_MB),
    ("DurableStreamingApiConcurrentClients", 20), ("FileStorageMB", FILE_STORAGE_MAX_MB),
    ("HourlyAsyncReportRuns", 1200), ("HourlyDashboardRefreshes", 200), ("HourlyDashboardResults", 5000),
    ("HourlyDashboardStatuses", 999999999), ("HourlyLongTermIdMapping", 100000),
    ("HourlyManagedContentPublicRequests", 50000), ("HourlyODataCallout", 20000),
    ("HourlyPublishedPlatformEvents", 50000), ("HourlyPublishedStandardVolumePlatformEvents", 1000),
    ("HourlyShortTermIdMapping", 100000), ("HourlySyncReportRuns", 500), ("HourlyTimeBasedWorkflow", 1000),
    ("MassEmail", 5000), ("MonthlyEinsteinDiscoveryStoryCreation", 500), ("Package2VersionCreates", 6),
    ("Package2VersionCreatesWithoutValidation", 500), ("PermissionSets", PERMISSION_SETS_MAX),
    ("PlatformEventTriggersWithParallelProcessing", 5), ("PrivateConnectOutboundCalloutHourlyLimitMB", 0),
    ("SingleEmail", 5000), ("StreamingApiConcurrentClients", 20),
)


def _permission_sets(ctx: Ctx) -> dict:
    """``{"Max": 1500, "Remaining", "CreateCustom": {"Max": 1000, "Remaining"}}``: permission sets made in the
    org (not owned by a profile or a permission set group) count against both."""
    rows = ctx.store.select('SELECT COUNT(*) AS n FROM "PermissionSet" WHERE "IsDeleted" = 0 '
                            'AND COALESCE("IsOwnedByProfile", 0) = 0 AND "PermissionSetGroupId" IS NULL') \
        if hasattr(ctx.store, "select") else [{"n": 0}]
    n = int(rows[0]["n"])
    return {"Max": PERMISSION_SETS_MAX, "Remaining": max(PERMISSION_SETS_MAX - n, 0),
            "CreateCustom": {"Max": CUSTOM_PERMISSION_SETS_MAX, "Remaining": max(CUSTOM_PERMISSION_SETS_MAX - n, 0)}}
