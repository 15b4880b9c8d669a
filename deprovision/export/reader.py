"""One object's rows to CSV on disk: a Bulk API 2.0 query job streamed page by page, or a REST query.

Memory stays flat: results pages are copied to disk in chunks, never held whole.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from deprovision.errors import OrgError
from deprovision.export.sink import PartFile
from deprovision.org.bulk import csv_value
from deprovision.org.results import first_error

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient

CHUNK = 1 << 16
DONE_STATES = ("JobComplete", "Failed", "Aborted")
FIRST_POLL = 0.1  # seconds before the first look at a query job, then doubled up to MAX_POLL
MAX_POLL = 5.0  # a million-row job takes a minute: a poll every 5 s is a dozen calls, not hundreds
Advance = Callable[[int], None]  # rows written since the last call


class BulkUnavailable(Exception):
    """The org would not run this object's query as a Bulk API 2.0 job (fall back to REST)."""


def _url(client: OrgClient, path: str) -> str:
    return f"{client.instance_url}/services/data/v{client.api_version}/{path}"


def _headers(client: OrgClient, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.sf.session_id}", **extra}


def _checked(response, action: str):
    if response.status_code >= 300:
        from simple_salesforce.util import exception_handler

        exception_handler(response, action)
    return response


def bulk_to_file(client: OrgClient, soql: str, sink: PartFile, advance: Advance,
                 poll_seconds: float, on_page: Callable[[int], None] | None = None) -> int:
    """Run ``soql`` as a Bulk API 2.0 query job and copy every results page into ``sink``; returns rows.

    The job is polled after 0.1 s, then at doubling intervals up to ``poll_seconds`` (each poll is a call)."""
    def create() -> dict:
        response = client.http.post(_url(client, "jobs/query"), json={"operation": "query", "query": soql},
                                    headers=_headers(client, **{"Content-Type": "application/json"}))
        return _checked(response, "bulk query job").json()

    try:
        job = client._call("create bulk query job", create)
    except OrgError as exc:
        raise BulkUnavailable(f"{exc.error_code or ''}: {exc.message}") from None
    job_id = job["id"]
    wait = FIRST_POLL
    while job.get("state") not in DONE_STATES:  # small jobs finish at once: poll soon, then less often
        time.sleep(wait)
        wait = min(wait * 2, max(poll_seconds, FIRST_POLL))  # poll_seconds: the longest wait
        job = client._call("bulk query job state", lambda: _checked(
            client.http.get(_url(client, f"jobs/query/{job_id}"), headers=_headers(client)), "bulk job").json())
    if job["state"] != "JobComplete":
        raise BulkUnavailable(f"job {job_id} {job['state']}: {job.get('errorMessage', '')}")
    rows, locator, page = 0, "", 0
    while True:
        params = {"locator": locator} if locator else {}
        count, locator = _copy_page(client, job_id, params, sink, skip_header=page > 0)
        rows += count
        advance(count)
        page += 1
        if on_page:
            on_page(page)
        if not locator or locator == "null":
            return rows


def _copy_page(client: OrgClient, job_id: str, params: dict, sink: PartFile, *, skip_header: bool) -> tuple[int, str]:
    """Stream one results page into ``sink``; a page cut off mid-way is read again from its start."""
    url = _url(client, f"jobs/query/{job_id}/results")
    mark = sink.mark()

    def fetch() -> tuple[int, str]:
        sink.rewind(mark)
        response = _checked(client.http.get(url, params=params, headers=_headers(client, Accept="text/csv"),
                                            stream=True), "bulk query results")
        with response:
            pending = skip_header
            for block in response.iter_content(CHUNK):
                if pending:
                    newline = block.find(b"\n")
                    if newline < 0:
                        continue
                    block, pending = block[newline + 1:], False
                sink.write(block)
            return int(response.headers.get("Sforce-NumberOfRecords") or 0), response.headers.get("Sforce-Locator") or ""

    return client._call("bulk query results", fetch)


def rest_to_file(client: OrgClient, columns: list[str], soql: str, sink: PartFile, advance: Advance) -> int:
    """Read ``soql`` through REST query pages and write them as CSV (the same columns as a Bulk job)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    rows = reported = 0
    for record in client.query(soql):
        writer.writerow([_cell(record.get(c)) for c in columns])
        rows += 1
        if buffer.tell() > CHUNK:
            _flush(buffer, sink)
            advance(rows - reported)
            reported = rows
    _flush(buffer, sink)
    advance(rows - reported)
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, dict):  # a compound value that slipped through: keep it readable
        return str({k: v for k, v in value.items() if k != "attributes"})
    return csv_value(value)


def _flush(buffer: io.StringIO, sink: PartFile) -> None:
    sink.write(buffer.getvalue().encode("utf-8"))
    buffer.seek(0)
    buffer.truncate()


def error_text(exc: Exception) -> str:
    """A short reason for a failure, with Salesforce's error code when there is one."""
    if isinstance(exc, OrgError):
        return f"{exc.error_code}: {exc.message}" if exc.error_code else exc.message
    code, message, _ = first_error(getattr(exc, "content", None))
    return f"{code}: {message}" if code else f"{type(exc).__name__}: {exc}"
