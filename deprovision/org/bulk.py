"""Bulk API 2.0: ingest jobs from CSV written here (fixed column order) and streaming query jobs."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from deprovision.errors import OrgError
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


MAX_PART_BYTES = 100 * 1024 * 1024  # one upload per job, at most 100 MB of CSV (150 MB after base64)
FIRST_POLL = 0.25  # seconds after the upload is closed: small jobs are often done by then
FASTEST_ROWS_PER_SECOND = 10_000  # no ingest job is done sooner than this rate allows: the first poll waits
MIN_POLL = 0.1
DONE_STATES = ("JobComplete", "Failed", "Aborted")
# Operations whose rows name the record they write: when every row succeeded, the successes are the uploaded
# Ids and successfulResults need not be read (insert and upsert read it for the Ids the org gave)
KNOWN_ID_OPERATIONS = ("update", "delete", "hard_delete")


def first_poll(total: int, since_close: float) -> float:
    """Seconds until a job's first status poll: not before it can have finished (``total`` rows at the
    fastest rate, at least ``FIRST_POLL``), counted from when its upload was closed."""
    return max(0.0, max(FIRST_POLL, total / FASTEST_ROWS_PER_SECOND) - since_close)


def next_poll(elapsed: float, processed: int, total: int, previous: float, max_wait: float,
              last: tuple[float, int] | None = None) -> float:
    """Seconds until the next status poll: the remaining time at the rate seen so far (a little over, so
    one poll usually finds the job done), or twice the last wait when nothing moved; at most ``max_wait``.

    ``last``: (elapsed, processed) at the poll before; when the job went slower since (jobs started beside
    it share the org's capacity), the remaining time is reckoned at that slower rate.
    """
    if processed > 0 and elapsed > 0 and total > processed:
        seconds_per_row = elapsed / processed
        if last is not None and processed > last[1] and elapsed > last[0]:
            seconds_per_row = max(seconds_per_row, (elapsed - last[0]) / (processed - last[1]))
        remaining = (total - processed) * seconds_per_row
        return max(MIN_POLL, min(max_wait, remaining * 1.1 + 0.05))
    return max(MIN_POLL, min(max_wait, previous * 2))


def write_parts(columns: list[str], rows: Iterable[list]) -> list[tuple[str, int]]:
    """The rows as CSV files of at most ``MAX_PART_BYTES`` each (header in each): [(path, rows)]."""
    if len(set(columns)) != len(columns) or not columns:
        raise ValueError("bulk columns must be non-empty and unique")
    parts: list[tuple[str, int]] = []
    out = None
    writer = None
    count = size = 0
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(columns)
    try:
        for row in rows:
            row = list(row)
            if len(row) != len(columns):
                raise ValueError(f"bulk row {count + 1} has {len(row)} values for {len(columns)} columns")
            if out is None or size >= MAX_PART_BYTES:
                if out is not None:
                    out.close()
                    parts[-1] = (parts[-1][0], count)
                fd, path = tempfile.mkstemp(prefix="deprovision-bulk-", suffix=".csv")
                out = os.fdopen(fd, "w", encoding="utf-8", newline="")
                out.write(header.getvalue())
                writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
                parts.append((path, 0))
                count = 0
                size = len(header.getvalue())
            cells = [csv_value(v) for v in row]
            writer.writerow(cells)
            count += 1
            size += sum(len(c) for c in cells) + len(cells) + 2
        if out is not None:
            out.close()
            parts[-1] = (parts[-1][0], count)
    except BaseException:
        if out is not None:
            out.close()
        for path, _ in parts:
            _unlink(path)
        raise
    return parts


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Pace:
    """How fast the org has been getting through the ingest jobs run side by side: seconds from a job's
    close to each of its rows being processed, as the last informative poll of any of them measured it.

    A job polled once the jobs before it are finished waits until its own rows at this pace are done
    (jobs of one run share the org's capacity, so an earlier job's pace predicts a later one's) instead
    of a poll that finds it still in progress. A poll that found a job in progress measures the pace; so
    does one that found it done after an earlier poll had found it in progress (it ended in between),
    never a first poll that found it done (it may have ended long before).
    """

    def __init__(self) -> None:
        self._seconds_per_row = 0.0
        self._lock = threading.Lock()

    def record(self, elapsed: float, rows: int) -> None:
        if rows > 0 and elapsed > 0:
            with self._lock:
                self._seconds_per_row = elapsed / rows

    def expected(self, total: int) -> float:
        """Seconds after its close that a job of ``total`` rows is expected done (0 before any measure)."""
        with self._lock:
            return total * self._seconds_per_row


def _run_job(client: OrgClient, obj: str, operation: str, path: str, total: int,
             turn: Callable[[], None] | None = None, pace: Pace | None = None) -> dict:
    """Create, upload, close and poll one ingest job; its final job info (the poll that saw it end).

    Calls: create, upload, close, the polls, then the caller's results reads.
    """
    bulk2 = client.sf.bulk2.__getattr__(obj)._client  # looked up per attempt: a re-login replaces client.sf
    job = bulk2.create_job(operation)
    job_id = job["id"]
    try:
        with open(path, encoding="utf-8") as fh:
            bulk2.upload_job_data(job_id, fh.read())
        bulk2.close_job(job_id)
        closed = time.monotonic()
        if turn is not None:  # jobs run side by side; their polls wait for the jobs started before them
            turn()
        info = _wait_for(bulk2, job_id, False, client.bulk_poll_seconds, total, closed, pace=pace)
        return {**info, "job_id": job_id, "numberRecordsTotal": total}
    except BaseException:
        try:
            info = bulk2.get_job(job_id, False)
            if info.get("state") in ("Open", "UploadComplete", "InProgress"):
                bulk2.abort_job(job_id, False)
        except Exception:  # the original error matters more than a failed abort
            pass
        raise


def ingest(client: OrgClient, obj: str, operation: str, columns: list[str], rows: Iterable[list]) -> BulkResult:
    """Upload ``rows`` as one or more ingest jobs (100 MB each) and collect per-record successes and failures.

    The first status poll comes when the job can have finished (a quarter of a second after the upload,
    or its rows at 10,000 a second); later polls are timed by the job's own progress, at most
    ``client.bulk_poll_seconds`` apart. Failed results are read only when the job reports failures,
    unprocessed records only when it did not process every row. Successful results
    are read for insert and upsert (the Ids the org gave), and for update and delete only when some row
    did not succeed: when the final job info counts every row processed and none failed, the successes
    are the uploaded Ids (Get Job Info: numberRecordsProcessed, numberRecordsFailed).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"bulk operation must be one of {', '.join(OPERATIONS)}")
    if operation in ("delete", "hard_delete") and columns != ["Id"]:
        raise ValueError("bulk delete takes exactly one column: Id")
    return ingest_parts(client, obj, operation, write_parts(columns, rows))


def all_succeeded(job: dict, total: int) -> bool:
    """Whether the final job info says every one of its ``total`` uploaded rows succeeded: all processed,
    none failed (Bulk API 2.0 Developer Guide, Get Job Info: numberRecordsProcessed, numberRecordsFailed)."""
    processed, failed = job.get("numberRecordsProcessed"), job.get("numberRecordsFailed")
    if processed is None or failed is None:
        return False
    try:
        return int(processed) == total and int(failed) == 0
    except (TypeError, ValueError):
        return False


def uploaded_ids(path: str) -> list[RecordResult] | None:
    """A success for each row of a part ``write_parts`` wrote, by its ``Id`` (read as a stream: a part can
    hold a million rows); None when the part has no Id column."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, None) or []]
        if "id" not in header:
            return None
        index = header.index("id")
        return [RecordResult.ok(row[index]) for row in reader if row]


def ingest_parts(client: OrgClient, obj: str, operation: str, parts: list[tuple[str, int]], *,
                 turn: Callable[[], None] | None = None, pace: Pace | None = None,
                 ids_known: bool = False) -> BulkResult:
    """Run one ingest job per CSV part written by ``write_parts`` (the files are removed afterwards).

    ``turn``, when given, is called once a job's upload is closed and before its first status poll: it
    returns when this job may poll (after the jobs started earlier are finished). Salesforce processes
    the jobs side by side meanwhile, and only one job is polled at a time. ``pace``, shared by those
    jobs, times a job's first poll by how fast the earlier ones went. ``ids_known``: the caller knows
    which Id each uploaded row holds, so a part whose every row succeeded is reported as a row range
    (``succeeded_rows``) instead of an Id read back per row.
    """
    action = f"bulk {operation} {obj}"
    result = BulkResult()
    first_row = 0
    try:
        for path, total in parts:
            start, first_row = first_row, first_row + total
            job = client._call(action, lambda p=path, n=total: _run_job(client, obj, operation, p, n, turn, pace),
                               idempotent=operation != "insert")
            job_id = job["job_id"]
            result.job_ids.append(job_id)

            def read(kind: str, j: str = job_id) -> str:
                return client._call(action, lambda: client.sf.bulk2.__getattr__(obj)._client.get_ingest_results(
                    j, kind))

            every = operation in KNOWN_ID_OPERATIONS and all_succeeded(job, total)
            if every and ids_known:
                _unlink(path)
                result.succeeded_rows.append((start, total))
                continue
            known = uploaded_ids(path) if every else None
            _unlink(path)
            if known is not None:  # every uploaded row succeeded: the successes are the Ids it uploaded
                result.successes.extend(known)
                del known
                continue
            for row in iter_csv(read("successfulResults")):
                result.successes.append(RecordResult.ok(row.get("sf__Id") or row.get("Id")))
            if int(job.get("numberRecordsFailed") or 0) > 0:
                for row in iter_csv(read("failedResults")):
                    code, _, message = (row.get("sf__Error") or "").partition(":")
                    result.failures.append(RecordResult.failed(row.get("sf__Id") or row.get("Id") or None,
                                                               code or "UNKNOWN", message or None))
            if int(job.get("numberRecordsProcessed") or 0) < total:
                result.unprocessed += len(parse_csv(read("unprocessedRecords")))
        return result
    finally:
        for path, _ in parts:
            _unlink(path)


def _wait_for(bulk2: Any, job_id: str, is_query: bool, max_wait: float, total: int = 0,
              started: float | None = None, *, pace: Pace | None = None) -> dict:
    """Poll a job until it ends (first poll after ``FIRST_POLL``); its final info, or OrgError if it failed.
    ``started``: when the job's upload was closed (the progress rate is measured from then). ``pace``: the
    first poll also waits (at most ``max_wait`` more) until the job's rows at the pace the jobs beside it
    showed are done, and this job's polls measure that pace in turn."""
    started = time.monotonic() if started is None else started
    since = time.monotonic() - started
    wait = first_poll(total, since)  # a job whose turn came late may be done already
    if pace is not None:
        wait = max(wait, min(pace.expected(total) - since, max_wait))
    in_progress = False
    last: tuple[float, int] | None = None
    while True:
        if wait > 0:
            time.sleep(wait)
        info = bulk2.get_job(job_id, is_query)
        state = info.get("state")
        elapsed = time.monotonic() - started
        if state in DONE_STATES:
            if state != "JobComplete":
                raise OrgError(f"bulk job {job_id} {state}: {info.get('errorMessage') or 'no message'}",
                               error_code="BULK_JOB_FAILED")
            if pace is not None and in_progress:  # it ended since the last poll: a fair measure
                pace.record(elapsed, total)
            return info
        processed = int(info.get("numberRecordsProcessed") or 0)
        if pace is not None:
            pace.record(elapsed, processed)
        wait = next_poll(elapsed, processed, total, max(wait, FIRST_POLL), max_wait, last)
        in_progress, last = True, (elapsed, processed)


class QueryJob:
    """A Bulk API 2.0 query job, created at once and read later: the jobs of several objects run side by
    side in the org ("Bulk API 2.0 and Bulk API Developer Guide", query jobs are processed asynchronously),
    and each is waited for only when its rows are wanted.

    Calls: create, the status polls (the first as soon as the job is a quarter of a second old), then one
    per results page of ``page`` rows (``maxRecords``).
    """

    def __init__(self, client: OrgClient, soql: str, *, include_deleted: bool = False,
                 page: int = QUERY_PAGE) -> None:
        match = _FROM_RE.search(soql)
        if not match:
            raise ValueError("bulk_query needs a SELECT ... FROM query")
        self.client = client
        self.soql = soql
        self.obj = match.group(1)
        self.operation = "queryAll" if include_deleted else "query"
        self.page = page
        self.job_id: str | None = None
        self.created = 0.0

    def _bulk2(self) -> Any:
        return self.client.sf.bulk2.__getattr__(self.obj)._client  # per attempt: a re-login replaces sf

    def _create(self) -> None:
        job = self._bulk2().create_job(self.operation, query=self.soql)
        self.job_id, self.created = job["id"], time.monotonic()

    def start(self) -> QueryJob:
        """Create the job (retried on transient errors); a refused query raises here."""
        self.client._call("bulk query", self._create)
        return self

    def rows(self) -> Iterator[dict]:
        """Yield the job's rows as dicts of strings (``""`` for null), page by page.

        Waiting for the job and reading its first page are retried on transient errors (a new job each
        time); a failure on a later page is final, since rows were already handed out.
        """
        def first() -> tuple[Any, dict]:
            if self.job_id is None:
                self._create()
            try:
                bulk2 = self._bulk2()
                _wait_for(bulk2, self.job_id, True, self.client.bulk_poll_seconds, 0, self.created)
                return bulk2, bulk2.get_query_results(self.job_id, "", self.page)
            except BaseException:
                self.job_id = None  # a retry starts a new job
                raise

        bulk2, page = self.client._call("bulk query", first)
        job_id = self.job_id
        while True:
            yield from iter_csv(page["records"])
            if not page.get("locator"):
                return
            try:
                page = bulk2.get_query_results(job_id, page["locator"], self.page)
            except Exception as exc:
                raise to_org_error(exc, "bulk query") from None


def query(client: OrgClient, soql: str, *, include_deleted: bool = False,
          page: int = QUERY_PAGE) -> Iterator[dict]:
    """Yield the rows of a Bulk API 2.0 query job, page by page (``page`` rows per results call).

    Creating the job, waiting for it and reading its first page are retried on transient errors (a new
    job each time); a failure on a later page is final, since rows were already handed out.
    """
    job = QueryJob(client, soql, include_deleted=include_deleted, page=page)
    yield from job.rows()
