"""Bulk API 2.0: ingest jobs from CSV written here (fixed column order) and streaming query jobs."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from deprovision.org.results import BulkResult, RecordResult, to_org_error

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient

OPERATIONS = ("insert", "update", "upsert", "delete", "hard_delete")
QUERY_PAGE = 10_000  # rows per results page of a query job
_FROM_RE = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


def csv_value(value: Any) -> str:
    """One CSV cell as Bulk API 2.0 reads it (``#N/A`` would null a field; None leaves it alone)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(out, columns: list[str], rows: Iterable[list]) -> int:
    """Write header and rows to ``out`` in exactly ``columns`` order (LF line endings); returns the row count."""
    if len(set(columns)) != len(columns) or not columns:
        raise ValueError("bulk columns must be non-empty and unique")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    count = 0
    for row in rows:
        row = list(row)
        if len(row) != len(columns):
            raise ValueError(f"bulk row {count + 1} has {len(row)} values for {len(columns)} columns")
        writer.writerow([csv_value(v) for v in row])
        count += 1
    return count


def parse_csv(text: str) -> list[dict[str, str]]:
    """Rows of a CSV answer as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def iter_csv(text: str) -> Iterator[dict[str, str]]:
    """Rows of a CSV answer as dicts, one at a time (a job's results can hold a million rows)."""
    return csv.DictReader(io.StringIO(text))


def ingest(client: OrgClient, obj: str, operation: str, columns: list[str], rows: Iterable[list]) -> BulkResult:
    """Upload ``rows`` as one or more ingest jobs and collect per-record successes and failures."""
    if operation not in OPERATIONS:
        raise ValueError(f"bulk operation must be one of {', '.join(OPERATIONS)}")
    if operation in ("delete", "hard_delete") and columns != ["Id"]:
        raise ValueError("bulk delete takes exactly one column: Id")
    action = f"bulk {operation} {obj}"
    fd, path = tempfile.mkstemp(prefix="deprovision-bulk-", suffix=".csv")
    result = BulkResult()
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = write_csv(out, columns, rows)
        if count == 0:
            return result

        def handler():  # looked up per call: a re-login replaces client.sf
            return client.sf.bulk2.__getattr__(obj)

        jobs = client._call(action, lambda: getattr(handler(), operation)(csv_file=path,
                                                                           wait=client.bulk_poll_seconds),
                            idempotent=operation != "insert")
        for job in jobs:
            job_id = job["job_id"]
            result.job_ids.append(job_id)
            ok = client._call(action, lambda j=job_id: handler().get_successful_records(j))
            for row in iter_csv(ok):
                result.successes.append(RecordResult.ok(row.get("sf__Id") or row.get("Id")))
            failed = client._call(action, lambda j=job_id: handler().get_failed_records(j))
            for row in iter_csv(failed):
                code, _, message = (row.get("sf__Error") or "").partition(":")
                result.failures.append(RecordResult.failed(row.get("sf__Id") or row.get("Id") or None,
                                                           code or "UNKNOWN", message or None))
            if int(job.get("numberRecordsProcessed", 0)) < int(job.get("numberRecordsTotal", 0)):
                unprocessed = client._call(action, lambda j=job_id: handler().get_unprocessed_records(j))
                result.unprocessed += len(parse_csv(unprocessed))
        return result
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def query(client: OrgClient, soql: str, *, include_deleted: bool = False) -> Iterator[dict]:
    """Yield the rows of a Bulk API 2.0 query job, page by page.

    Creating the job and reading its first page are retried on transient errors (a new job each
    time); a failure on a later page is final, since rows were already handed out.
    """
    match = _FROM_RE.search(soql)
    if not match:
        raise ValueError("bulk_query needs a SELECT ... FROM query")
    obj = match.group(1)

    def start() -> tuple[Iterator[str], str | None]:
        handler = client.sf.bulk2.__getattr__(obj)
        method = handler.query_all if include_deleted else handler.query
        pages = method(soql, max_records=QUERY_PAGE, wait=client.bulk_poll_seconds)
        return pages, next(pages, None)

    pages, page = client._call("bulk query", start)
    while page is not None:
        yield from parse_csv(page)
        try:
            page = next(pages, None)
        except Exception as exc:
            raise to_org_error(exc, "bulk query") from None
