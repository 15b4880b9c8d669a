"""Bulk API 2.0: ingest jobs (``jobs/ingest``) and query jobs (``jobs/query``).

Ingest: create (state ``Open``, ``contentUrl``) → ``PUT .../batches`` CSV (201) →
``PATCH {"state": "UploadComplete"}`` → one of a few worker threads processes the rows
through the store, so every rule applies per row (owner updates never run
assignment rules: ``Sforce-Auto-Assign`` is not a bulk header) → ``JobComplete``.
Results: ``successfulResults/`` (``sf__Id,sf__Created,<columns>``),
``failedResults/`` (``sf__Id,sf__Error,<columns>``, the error as ``CODE:message``),
``unprocessedrecords/`` (rows an abort left untouched). CSV is parsed by header
name and honours ``columnDelimiter`` and ``lineEnding``.

Query: create (``UploadComplete``) → the worker streams the SOQL engine's rows to
a CSV file on disk → ``JobComplete``; ``results?locator=&maxRecords=`` pages it
with ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (the string ``null`` at the end).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import itertools
import os
import re
import secrets
import tempfile
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deprovision.localorg import errors, ids, schema
from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import Ctx

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
CHUNK = 200  # rows per store transaction, as Salesforce processes ingest data in chunks of 200
DEFAULT_MAX_RECORDS = 50_000
NULL_VALUE = "#N/A"  # Bulk API: this value sets a field to null; an empty value leaves it unchanged
_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _job_id() -> str:
    return ids.make_id("750", secrets.randbelow(10**9) + 1)


def _invalid_state(message: str) -> errors.SalesforceError:
    return errors.SalesforceError(message, error_code="INVALIDJOBSTATE", status=409)


def _bad_request(message: str) -> errors.SalesforceError:
    return errors.SalesforceError(message, error_code="API_ERROR", status=400)


def _csv_line(values: list[Any], delimiter: str, line_ending: str) -> str:
    """One CSV line with every value quoted, as Salesforce writes result files."""
    return delimiter.join('"' + str(v).replace('"', '""') + '"' for v in values) + line_ending


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class _ResultFile:
    """Result lines of an ingest job, kept on disk (a million rows must not sit in memory)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.count = 0
        self._handle: Any = None
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        with self._lock:
            if self._handle is None:
                fd, self.path = tempfile.mkstemp(prefix="bulkresult-", suffix=".csv")
                self._handle = os.fdopen(fd, "wb")
            self._handle.write(line.encode("utf-8"))
            self.count += 1

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.append(line)

    def read(self) -> bytes:
        with self._lock:
            if self.path is None:
                return b""
            self._handle.flush()
            with open(self.path, "rb") as handle:
                return handle.read()

    def discard(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            if self.path:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            self.path = None


@dataclass
class _Job:
    id: str
    kind: str  # "ingest" | "query"
    operation: str
    object: str
    created_by: str
    api_version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    query: str | None = None
    state: str = "Open"
    created: str = field(default_factory=_now)
    modstamp: str = field(default_factory=_now)
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    started: float = 0.0
    processing_ms: int = 0
    uploads: list[bytes] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    successes: _ResultFile = field(default_factory=_ResultFile)
    failures: _ResultFile = field(default_factory=_ResultFile)
    unprocessed: _ResultFile = field(default_factory=_ResultFile)
    abort: threading.Event = field(default_factory=threading.Event)
    result_path: str | None = None
    row_offsets: array = field(default_factory=lambda: array("q"))
    header_line: bytes = b""
    viewer: Any = None  # a query job reads as its creator (``visibility``)

    @property
    def delimiter(self) -> str:
        return DELIMITERS[self.column_delimiter]

    @property
    def newline(self) -> str:
        return LINE_ENDINGS[self.line_ending]

    def touch(self, state: str | None = None) -> None:
        if state:
            self.state = state
        self.modstamp = _now()

    def info(self) -> dict:
        out: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object, "createdById": self.created_by,
            "createdDate": self.created, "systemModstamp": self.modstamp, "state": self.state,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.api_version),
            "jobType": "V2Ingest" if self.kind == "ingest" else "V2Query", "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.kind == "ingest":
            if self.external_id_field:
                out["externalIdFieldName"] = self.external_id_field
            out["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
            out["numberRecordsFailed"] = self.failed
        out.update({"numberRecordsProcessed": self.processed, "retries": 0,
                    "totalProcessingTime": self.processing_ms, "apiActiveProcessingTime": self.processing_ms,
                    "apexProcessingTime": 0})
        if self.error_message:
            out["errorMessage"] = self.error_message
        return out

    def discard_files(self) -> None:
        for results in (self.successes, self.failures, self.unprocessed):
            results.discard()
        if self.result_path:
            try:
                os.unlink(self.result_path)
            except OSError:
                pass
            self.result_path = None


BULK_WORKERS = 4  # jobs processed side by side, as Salesforce runs Bulk API 2.0 jobs in parallel


class BulkJobs:
    """The Bulk API 2.0 jobs of one served org, processed by a few worker threads side by side (Salesforce
    processes jobs in parallel; their writes still take the store's lock a 200-row transaction at a time)."""

    def __init__(self, workers: int = BULK_WORKERS) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="localorg-bulk")
        self._ingest_created = 0
        self._query_created = 0

    def add(self, job: _Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            if job.kind == "ingest":
                self._ingest_created += 1
            else:
                self._query_created += 1

    def get(self, job_id: str, kind: str) -> _Job:
        job = self._jobs.get(ids.to18(job_id) if ids.is_valid_id(job_id) else job_id)
        if job is None or job.kind != kind:
            raise errors.NOT_FOUND("The requested resource does not exist")
        return job

    def remove(self, job: _Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        job.discard_files()

    def all(self, kind: str) -> list[_Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.kind == kind]

    def submit(self, fn: Any, *args: Any) -> None:
        self._worker.submit(fn, *args)

    def ingest_count(self) -> int:
        return self._ingest_created

    def query_count(self) -> int:
        return self._query_created

    def shutdown(self) -> None:
        for job in list(self._jobs.values()):
            job.abort.set()
        self._worker.shutdown(wait=True, cancel_futures=True)
        for job in list(self._jobs.values()):
            job.discard_files()


# --- ingest ----------------------------------------------------------------------------------------

def _options(body: dict) -> tuple[str, str]:
    delimiter = str(body.get("columnDelimiter") or "COMMA").upper()
    line_ending = str(body.get("lineEnding") or "LF").upper()
    if delimiter not in DELIMITERS:
        raise _bad_request(f"Invalid column delimiter: {delimiter}")
    if line_ending not in LINE_ENDINGS:
        raise _bad_request(f"Invalid line ending: {line_ending}")
    if str(body.get("contentType") or "CSV").upper() != "CSV":
        raise _bad_request("Only CSV content is supported")
    return delimiter, line_ending


def create_ingest_job(ctx: Ctx, request: Request) -> Response:
    """``POST jobs/ingest``: a new job in state ``Open``."""
    body = request.json()
    if not isinstance(body, dict):
        raise errors.JSON_PARSER_ERROR("The request body must be a JSON object.")
    operation = str(body.get("operation") or "")
    if operation not in OPERATIONS:
        raise _bad_request(f"Invalid operation: {operation or '(none)'}")
    spec = schema.get_object(str(body.get("object") or ""))
    if spec is None:
        raise errors.INVALID_TYPE(f"sObject type '{body.get('object')}' is not supported.")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        external = external or "Id"
        if spec.field(external) is None:
            raise errors.INVALID_FIELD(f"No such column '{external}' on sobject of type {spec.name}")
    delimiter, line_ending = _options(body)
    job = _Job(_job_id(), "ingest", operation, spec.name, ctx.actor_id, ctx.version, delimiter, line_ending,
               external if operation == "upsert" else None)
    ctx.app.jobs.add(job)
    return Response.json(job.info(), 200)


def list_ingest_jobs(ctx: Ctx, request: Request) -> Response:
    return Response.json({"done": True, "records": [j.info() for j in ctx.app.jobs.all("ingest")],
                          "nextRecordsUrl": None})


def get_ingest_job(ctx: Ctx, request: Request) -> Response:
    return Response.json(ctx.app.jobs.get(ctx.param("job"), "ingest").info())


def upload_batch(ctx: Ctx, request: Request) -> Response:
    """``PUT jobs/ingest/{id}/batches``: CSV data; 201 with no body."""
    job = ctx.app.jobs.get(ctx.param("job"), "ingest")
    if job.state != "Open":
        raise _invalid_state(f"Job {job.id} is not in the Open state; data can only be uploaded to an open job")
    content_type = (request.header("Content-Type") or "").lower()
    if not content_type.startswith("text/csv"):
        raise errors.SalesforceError("Content-Type must be text/csv", error_code="INVALIDCONTENTTYPE", status=400)
    if not request.body.strip():
        raise _bad_request("The uploaded CSV data is empty")
    job.uploads.append(request.body)
    job.touch()
    return Response.empty(201)


def patch_ingest_job(ctx: Ctx, request: Request) -> Response:
    """``PATCH jobs/ingest/{id}`` with ``{"state": "UploadComplete"}`` or ``{"state": "Aborted"}``."""
    job = ctx.app.jobs.get(ctx.param("job"), "ingest")
    state = (request.json() or {}).get("state") if isinstance(request.json(), dict) else None
    if state == "UploadComplete":
        if job.state != "Open":
            raise _invalid_state(f"Job {job.id} is not Open")
        job.touch("UploadComplete")
        answer = job.info()
        ctx.app.jobs.submit(_process_ingest, ctx.store, job)
        return Response.json(answer)
    elif state == "Aborted":
        if job.state not in ("Open", "UploadComplete", "InProgress"):
            raise _invalid_state(f"Job {job.id} is already {job.state}")
        job.abort.set()
        if job.state in ("Open", "UploadComplete"):
            _abort_pending(job)
        job.touch("Aborted")
    else:
        raise _bad_request(f"Invalid state change: {state}")
    return Response.json(job.info())


def delete_ingest_job(ctx: Ctx, request: Request) -> Response:
    job = ctx.app.jobs.get(ctx.param("job"), "ingest")
    if job.state in ("UploadComplete", "InProgress"):
        raise _invalid_state(f"Job {job.id} is {job.state}; abort it or wait for it to finish before deleting")
    ctx.app.jobs.remove(job)
    return Response.empty(204)


def _results(job: _Job, first: list[str], results: _ResultFile) -> Response:
    body = results.read()
    header = _csv_line(first + job.columns, job.delimiter, job.newline) if (job.columns or body) else ""
    return Response(200, header.encode("utf-8") + body, "text/csv")


def successful_results(ctx: Ctx, request: Request) -> Response:
    job = ctx.app.jobs.get(ctx.param("job"), "ingest")
    return _results(job, ["sf__Id", "sf__Created"], job.successes)


def failed_results(ctx: Ctx, request: Request) -> Response:
    job = ctx.app.jobs.get(ctx.param("job"), "ingest")
    return _results(job, ["sf__Id", "sf__Error"], job.failures)


def unprocessed_records(ctx: Ctx, request: Request) -> Response:
    job = ctx.app.jobs.get(ctx.param("job"), "ingest")
    return _results(job, [], job.unprocessed)


def _parse_upload(job: _Job, data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    """The header (names stripped) and a stream of the non-empty rows."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=job.delimiter)
    rows = (r for r in reader if r and any(cell != "" for cell in r))
    header = next(rows, None)
    return ([h.strip() for h in header] if header else []), rows


def _abort_pending(job: _Job) -> None:
    for data in job.uploads:
        header, rows = _parse_upload(job, data)
        job.columns = job.columns or header
        job.unprocessed.extend(_csv_line(r, job.delimiter, job.newline) for r in rows)
    job.uploads.clear()


def _convert(spec: schema.ObjectSpec, name: str, raw: str) -> Any:
    if raw == NULL_VALUE:
        return None
    f = spec.field(name)
    if f is None:
        return raw  # the store answers INVALID_FIELD
    if f.type == schema.BOOLEAN:
        lowered = raw.strip().lower()
        return True if lowered in ("true", "1", "yes") else False if lowered in ("false", "0", "no") else raw
    if f.type == schema.INT:
        try:
            return int(raw)
        except ValueError:
            return raw
    if f.type in (schema.DOUBLE, schema.CURRENCY):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _apply_row(store: Any, job: _Job, spec: schema.ObjectSpec, values: dict[str, str]) -> tuple[str, bool]:
    """Apply one row; returns (record id, created)."""
    record_id = next((v for k, v in values.items() if k.lower() == "id"), "")
    fields = {k: _convert(spec, k, v) for k, v in values.items() if k.lower() != "id" and v != ""}
    actor = job.created_by
    if job.operation == "insert":
        if record_id:
            raise errors.INVALID_FIELD("The Id field should not be specified in the sobject data.")
        return store.create(spec.name, fields, actor_id=actor), True
    if job.operation in ("delete", "hardDelete"):
        if not record_id:
            raise errors.SalesforceError("Id not specified in a delete request", ["Id"], error_code="MISSING_ARGUMENT")
        store.delete(spec.name, record_id, actor_id=actor)
        return record_id, False
    if job.operation == "update":
        if not record_id:
            raise errors.MALFORMED_ID("Id not specified in an update call", ["Id"])
        store.update(spec.name, record_id, fields, actor_id=actor, auto_assign=False)
        return record_id, False
    # upsert
    key = job.external_id_field or "Id"
    if key.lower() == "id":
        if record_id:
            store.update(spec.name, record_id, fields, actor_id=actor, auto_assign=False)
            return record_id, False
        return store.create(spec.name, fields, actor_id=actor), True
    from deprovision.org.soql import soql_literal

    match_value = values.get(key, "")
    if match_value == "":
        raise errors.REQUIRED_FIELD_MISSING(f"Required fields are missing: [{key}]", [key])
    found = store.query(f"SELECT Id FROM {spec.name} WHERE {key} = {soql_literal(match_value)} LIMIT 2").records
    if len(found) > 1:
        raise errors.DUPLICATE_VALUE(f"duplicate value found: {key} duplicates value on more than one record")
    if found:
        fields.pop(key, None)
        store.update(spec.name, found[0]["Id"], fields, actor_id=actor, auto_assign=False)
        return found[0]["Id"], False
    return store.create(spec.name, fields, actor_id=actor), True


def _process_ingest(store: Any, job: _Job) -> None:
    """Worker: every uploaded row through the store, in transactions of 200 rows."""
    job.started = time.monotonic()
    job.touch("InProgress")
    spec = schema.get_object(job.object)
    try:
        for data in job.uploads:
            header, rows = _parse_upload(job, data)
            if not header:
                continue
            job.columns = job.columns or header
            owner_column = _owner_only(job, header)
            while chunk := list(itertools.islice(rows, CHUNK)):
                if job.abort.is_set():
                    job.unprocessed.extend(_csv_line(r, job.delimiter, job.newline) for r in chunk)
                    job.unprocessed.extend(_csv_line(r, job.delimiter, job.newline) for r in rows)
                    break
                with store.transaction():
                    if owner_column is not None:
                        _process_owner_chunk(store, job, spec, header, owner_column, chunk)
                    else:
                        for row in chunk:
                            _process_row(store, job, spec, header, row)
            if job.abort.is_set():
                break
        job.uploads.clear()
        if job.state != "Aborted":
            job.touch("JobComplete")
    except Exception as exc:  # a bug or a broken upload fails the job, as Salesforce reports it
        job.error_message = f"{type(exc).__name__}: {exc}"
        job.touch("Failed")
    finally:
        job.processing_ms = int((time.monotonic() - job.started) * 1000)


def _owner_only(job: _Job, header: list[str]) -> int | None:
    """The OwnerId column of an update job whose columns are Id and OwnerId alone (else None)."""
    names = [h.strip().lower() for h in header]
    if job.operation != "update" or sorted(names) != ["id", "ownerid"]:
        return None
    return names.index("ownerid")


def _process_owner_chunk(store: Any, job: _Job, spec: schema.ObjectSpec, header: list[str], owner_column: int,
                         chunk: list[list[str]]) -> None:
    """A chunk of an Id/OwnerId update job through ``Store.update_owners`` (the same rules as row by row);
    rows it cannot take (a missing or extra value) go through ``_process_row``."""
    id_column = 1 - owner_column
    fit = [i for i, row in enumerate(chunk) if len(row) == len(header) and row[owner_column] != ""
           and row[id_column] != ""]
    outcomes = dict(zip(fit, store.update_owners(
        spec.name, [(chunk[i][id_column], _convert(spec, "OwnerId", chunk[i][owner_column])) for i in fit],
        actor_id=job.created_by), strict=True))
    for i, row in enumerate(chunk):
        if i not in outcomes:
            _process_row(store, job, spec, header, row)
            continue
        values = dict(zip(header, row, strict=True))
        ordered = [values.get(c, "") for c in job.columns]
        problem = outcomes[i]
        if problem is None:
            job.successes.append(_csv_line([row[id_column], _text(False), *ordered], job.delimiter, job.newline))
        else:
            job.failed += 1
            job.failures.append(_csv_line([row[id_column], f"{problem.error_code}:{problem.message}", *ordered],
                                          job.delimiter, job.newline))
        job.processed += 1


def _process_row(store: Any, job: _Job, spec: schema.ObjectSpec, header: list[str], row: list[str]) -> None:
    line_values = row + [""] * (len(header) - len(row))
    if len(row) > len(header):
        job.failed += 1
        job.processed += 1
        job.failures.append(_csv_line(["", "INVALID_FIELD:Too many values in the row", *row[:len(header)]],
                                      job.delimiter, job.newline))
        return
    values = dict(zip(header, line_values, strict=True))
    ordered = [values.get(c, "") for c in job.columns]
    try:  # each store write is its own savepoint: a refused row leaves nothing behind
        record_id, created = _apply_row(store, job, spec, values)
        job.successes.append(_csv_line([record_id, _text(created), *ordered], job.delimiter, job.newline))
    except errors.SalesforceError as exc:
        job.failed += 1
        given = next((v for k, v in values.items() if k.lower() == "id"), "")
        job.failures.append(_csv_line([given, f"{exc.error_code}:{exc.message}", *ordered],
                                      job.delimiter, job.newline))
    job.processed += 1


# --- query -----------------------------------------------------------------------------------------

def create_query_job(ctx: Ctx, request: Request) -> Response:
    """``POST jobs/query``: validated at once, processed on the worker (state ``UploadComplete``)."""
    body = request.json()
    if not isinstance(body, dict):
        raise errors.JSON_PARSER_ERROR("The request body must be a JSON object.")
    operation = str(body.get("operation") or "query")
    if operation not in ("query", "queryAll"):
        raise _bad_request(f"Invalid operation: {operation}")
    soql = str(body.get("query") or "").strip()
    if not soql:
        raise errors.MALFORMED_QUERY("A query is required")
    from deprovision.localorg.soql import compile_soql

    compile_soql(soql)  # MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE answer at once, as Salesforce does
    delimiter, line_ending = _options(body)
    m = _FROM.search(soql)
    job = _Job(_job_id(), "query", operation, m.group(1) if m else "", ctx.actor_id, ctx.version,
               delimiter, line_ending, query=soql, state="UploadComplete")
    spec = schema.get_object(job.object)
    if spec is not None:
        job.object = spec.name
    from deprovision.localorg.resources.query import running_user

    job.viewer = running_user(ctx)
    ctx.app.jobs.add(job)
    created = job.info()  # as created: the worker may finish before this response is written
    ctx.app.jobs.submit(_process_query, ctx.store, job)
    return Response.json(created)


def list_query_jobs(ctx: Ctx, request: Request) -> Response:
    return Response.json({"done": True, "records": [j.info() for j in ctx.app.jobs.all("query")],
                          "nextRecordsUrl": None})


def get_query_job(ctx: Ctx, request: Request) -> Response:
    return Response.json(ctx.app.jobs.get(ctx.param("job"), "query").info())


def patch_query_job(ctx: Ctx, request: Request) -> Response:
    job = ctx.app.jobs.get(ctx.param("job"), "query")
    body = request.json()
    if not isinstance(body, dict) or body.get("state") != "Aborted":
        raise _bad_request("Only {\"state\": \"Aborted\"} can be set on a query job")
    if job.state not in ("UploadComplete", "InProgress"):
        raise _invalid_state(f"Job {job.id} is already {job.state}")
    job.abort.set()
    job.touch("Aborted")
    return Response.json(job.info())


def delete_query_job(ctx: Ctx, request: Request) -> Response:
    job = ctx.app.jobs.get(ctx.param("job"), "query")
    if job.state in ("UploadComplete", "InProgress"):
        raise _invalid_state(f"Job {job.id} is {job.state}; abort it before deleting")
    ctx.app.jobs.remove(job)
    return Response.empty(204)


def _columns(soql: str) -> list[str]:
    """The CSV header: the selected fields in requested order, relationship fields as ``Owner.Username``."""
    from deprovision.localorg.soql import column_metadata

    def walk(columns: list[dict], prefix: str) -> list[str]:
        names: list[str] = []
        for column in columns:
            if column.get("joinColumns"):
                names.extend(walk(column["joinColumns"], f"{prefix}{column['columnName']}."))
            else:
                names.append(f"{prefix}{column['columnName']}")
        return names

    return walk(column_metadata(soql).get("columnMetadata", []), "")


def _value(record: dict, path: str) -> Any:
    """``Owner.Username`` of a REST-shaped record; None when a parent on the way is null."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _process_query(store: Any, job: _Job) -> None:
    """Worker: stream the rows into a CSV file, remembering where each row starts."""
    from deprovision.localorg.resources.query import open_stream, store_lock

    job.started = time.monotonic()
    job.touch("InProgress")
    fd, path = tempfile.mkstemp(prefix=f"bulkquery-{job.id}-", suffix=".csv")
    job.result_path = path
    try:
        with os.fdopen(fd, "wb") as out:
            _, rows = open_stream(store, job.query or "", job.operation == "queryAll", job.api_version, job.viewer)
            columns = _columns(job.query or "")
            job.header_line = _csv_line(columns, job.delimiter, job.newline).encode("utf-8")
            position = 0
            while not job.abort.is_set():
                with store_lock(store):
                    page = [next(rows, None) for _ in range(1000)]
                page = [r for r in page if r is not None]
                if not page:
                    break
                for record in page:
                    line = _csv_line([_text(_value(record, c)) for c in columns], job.delimiter, job.newline)
                    encoded = line.encode("utf-8")
                    job.row_offsets.append(position)
                    out.write(encoded)
                    position += len(encoded)
                job.processed = len(job.row_offsets)
            job.row_offsets.append(position)  # the end of the last row
        if job.state != "Aborted":
            job.touch("JobComplete")
    except errors.SalesforceError as exc:
        job.error_message = f"{exc.error_code}: {exc.message}"
        job.touch("Failed")
    except Exception as exc:
        job.error_message = f"{type(exc).__name__}: {exc}"
        job.touch("Failed")
    finally:
        job.processing_ms = int((time.monotonic() - job.started) * 1000)


def _decode_locator(locator: str | None) -> int:
    if not locator:
        return 0
    try:
        return int(base64.b64decode(locator.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise _bad_request(f"Invalid locator: {locator}") from None


def query_results(ctx: Ctx, request: Request) -> Response:
    """``GET jobs/query/{id}/results?locator=&maxRecords=``: one page of CSV with its header row."""
    job = ctx.app.jobs.get(ctx.param("job"), "query")
    if job.state != "JobComplete" or job.result_path is None:
        raise _invalid_state(f"Job {job.id} is {job.state}; results are available once it is JobComplete")
    start = _decode_locator(request.query.get("locator"))
    try:
        max_records = int(request.query.get("maxRecords") or DEFAULT_MAX_RECORDS)
    except ValueError:
        raise _bad_request("maxRecords must be a number") from None
    if max_records < 1:
        raise _bad_request("maxRecords must be positive")
    total = len(job.row_offsets) - 1
    start = min(start, total)
    end = min(start + max_records, total)
    with open(job.result_path, "rb") as handle:
        handle.seek(job.row_offsets[start])
        data = handle.read(job.row_offsets[end] - job.row_offsets[start])
    locator = base64.b64encode(str(end).encode()).decode() if end < total else "null"
    body = job.header_line + data
    return Response(200, body, "text/csv", {"Sforce-NumberOfRecords": str(end - start), "Sforce-Locator": locator})

