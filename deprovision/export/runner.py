"""``run_export``: every exportable object to CSV and every file body to disk, side by side, resumable.

A run reads what the org describes, skips objects and files an earlier run completed (the manifest and
the files' final names say so), reads the rest with a few threads (Bulk API 2.0 query jobs; REST query
where Bulk cannot), and finishes with ``SHA256SUMS``. A kill at any moment loses at most the objects and
files in flight: they were still ``.part`` files.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from deprovision.errors import InvalidInputError, OrgError
from deprovision.export import files as filestore
from deprovision.export.describe import ObjectShape, discover
from deprovision.export.estimate import count_objects, summarise
from deprovision.export.manifest import SUMS, Manifest, ObjectEntry, file_entries, now
from deprovision.export.progress import ExportProgress, human_bytes
from deprovision.export.reader import MAX_POLL, BulkUnavailable, bulk_to_file, error_text, rest_to_file
from deprovision.export.sink import PartFile, sha256_file

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient

DEFAULT_THREADS = 4


def _crash_after() -> tuple[str, int] | None:
    """``DEPROVISION_EXPORT_CRASH_AFTER=object:<n>|file:<n>|page:<n>``, only when ``DEPROVISION_TESTING=1``:
    SIGKILL after the n-th object or file completed, or the n-th Bulk results page written, in this process."""
    if os.environ.get("DEPROVISION_TESTING") != "1":
        return None
    kind, _, n = (os.environ.get("DEPROVISION_EXPORT_CRASH_AFTER") or "").partition(":")
    return (kind, int(n)) if kind and n.isdigit() else None


class _CrashPoint:
    def __init__(self) -> None:
        self.spec = _crash_after()
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def tick(self, kind: str) -> None:
        if not self.spec or self.spec[0] != kind:
            return
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if self.counts[kind] >= self.spec[1]:
                os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class ExportResult:
    """What one run did."""

    folder: Path
    manifest: Manifest
    read: list[str] = field(default_factory=list)  # objects read by this run
    reused: list[str] = field(default_factory=list)  # objects complete from an earlier run
    failed: dict[str, str] = field(default_factory=dict)
    files_read: int = 0
    api_calls: int = 0
    seconds: float = 0.0


def _open_manifest(folder: Path, client: OrgClient) -> Manifest:
    manifest = Manifest.load(folder)
    org_id = client.org_id
    if manifest is None:
        manifest = Manifest(org_id=org_id, instance_url=client.instance_url, started_at=now())
        manifest.attach(folder)
    elif manifest.org_id != org_id:
        raise InvalidInputError(f"{folder} holds an export of org {manifest.org_id}, not of {org_id}; "
                                f"choose another --out")
    return manifest


def _check_limits(client: OrgClient, needed: int, progress: ExportProgress) -> bool:
    """Refuse when the day's API allowance cannot cover the export; returns whether Bulk jobs are left."""
    limits = client.limits()
    daily = limits.get("DailyApiRequests") or {}
    remaining = daily.get("Remaining")
    if remaining is not None and int(remaining) < needed:
        raise OrgError(f"the export needs about {needed:,} API calls but the org has {int(remaining):,} left "
                       f"today; run it later or with --objects", error_code="REQUEST_LIMIT_EXCEEDED")
    jobs = (limits.get("DailyBulkV2QueryJobs") or {}).get("Remaining")
    if jobs is not None and int(jobs) <= 0:
        progress.message("export: no Bulk API 2.0 query jobs left today; reading through REST queries")
        return False
    return True


class _Exporter:
    def __init__(self, client: OrgClient, folder: Path, manifest: Manifest, progress: ExportProgress,
                 threads: int, poll_seconds: float, use_bulk: bool) -> None:
        self.client, self.folder, self.manifest, self.progress = client, folder, manifest, progress
        self.threads, self.poll_seconds, self.use_bulk = threads, poll_seconds, use_bulk
        self.crash = _CrashPoint()
        self.files_read = 0
        self._lock = threading.Lock()

    # -- objects --------------------------------------------------------------------------------
    def read_object(self, shape: ObjectShape, expected: int) -> ObjectEntry:
        entry = self.manifest.entry(shape.name)
        rel = f"data/{shape.name}.csv"
        sink = PartFile(self.folder / rel, self.progress.bytes)
        self.progress.object_started(shape.name, expected)
        t0 = time.monotonic()
        read_at = now()
        method = "bulk"

        def advance(n: int) -> None:
            self.progress.rows(shape.name, n)

        try:
            try:
                if not self.use_bulk:
                    raise BulkUnavailable("no Bulk API 2.0 query jobs left today")
                rows = bulk_to_file(self.client, shape.soql(), sink, advance, self.poll_seconds,
                                    on_page=lambda _n: self.crash.tick("page"))
            except BulkUnavailable as why:
                method = "rest"
                sink.reset()
                self.progress.message(f"{shape.name}: Bulk API refused ({why}); reading through REST query")
                rows = rest_to_file(self.client, shape.columns, shape.soql(), sink, advance)
            sink.commit()
        except (OrgError, OSError) as exc:
            sink.discard()
            entry.status, entry.error = "failed", error_text(exc)
            self.manifest.save()
            self.progress.object_done(shape.name, f"failed: {entry.error}")
            return entry
        entry.status, entry.error, entry.method, entry.read_at = "complete", "", method, read_at
        entry.rows, entry.bytes, entry.sha256, entry.path = rows, sink.bytes, sink.sha256, rel
        entry.columns, entry.file_fields = len(shape.columns), list(shape.file_fields)
        entry.files_complete = not shape.file_fields
        self.manifest.save()
        self.progress.object_done(shape.name, f"{rows:,} rows, {human_bytes(sink.bytes)} ({method}) in "
                                              f"{time.monotonic() - t0:.1f}s")
        self.crash.tick("object")
        return entry

    # -- files ----------------------------------------------------------------------------------
    def read_files(self, shape: ObjectShape, pool: ThreadPoolExecutor) -> None:
        entry = self.manifest.entry(shape.name)
        journal = filestore.FileJournal(self.folder / "files" / f"{shape.name}.jsonl")
        self.progress.object_started(f"{shape.name} files", entry.rows * len(shape.file_fields))
        inflight: set[Future] = set()
        errors: list[str] = []
        t0 = time.monotonic()
        try:
            for record_id in filestore.record_ids(self.folder / entry.path):
                for field_name in shape.file_fields:
                    if filestore.fetched(self.folder, shape.name, record_id, field_name):
                        self.progress.rows(f"{shape.name} files", 1)
                        continue
                    while len(inflight) >= self.threads * 2:  # bounded: memory stays flat
                        done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                        errors.extend(e for e in (self._outcome(f) for f in done) if e)
                    inflight.add(pool.submit(self._download, shape.name, record_id, field_name, journal))
            done, _ = wait(inflight)
            errors.extend(e for e in (self._outcome(f) for f in done) if e)
        finally:
            journal.close()
        if errors:
            entry.error = f"{len(errors)} file(s) failed, first: {errors[0]}"
            self.manifest.save()
            self.progress.object_done(f"{shape.name} files", f"failed: {entry.error}")
            return
        count = size = missing = 0
        for item in file_entries(journal.path):
            if item.get("missing"):
                missing += 1
            else:
                count, size = count + 1, size + int(item["bytes"])
        entry.files, entry.file_bytes, entry.files_missing, entry.files_complete = count, size, missing, True
        entry.error = ""
        self.manifest.save()
        self.progress.object_done(f"{shape.name} files", f"{count:,} files, {human_bytes(size)} in "
                                                         f"{time.monotonic() - t0:.1f}s"
                                  + (f"; {missing} without a body" if missing else ""))

    def _download(self, obj: str, record_id: str, field_name: str, journal: filestore.FileJournal) -> None:
        filestore.download(self.client, self.folder, obj, record_id, field_name, journal, self.progress.bytes)
        with self._lock:
            self.files_read += 1
        self.progress.rows(f"{obj} files", 1)
        self.crash.tick("file")

    @staticmethod
    def _outcome(future: Future) -> str:
        exc = future.exception()
        if exc is None:
            return ""
        if isinstance(exc, (OrgError, OSError)):
            return error_text(exc)
        raise exc


def run_export(client: OrgClient, folder: Path, *, objects: list[str] | None = None,
               threads: int = DEFAULT_THREADS, progress: ExportProgress | None = None,
               poll_seconds: float | None = None) -> ExportResult:
    """Export the org into ``folder`` (resuming an unfinished export there); the manifest says what holds."""
    t0 = time.monotonic()
    calls0 = client.api_calls
    progress = progress or ExportProgress()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # the whole org's data: the owner only
    manifest = _open_manifest(folder, client)
    was_complete, manifest.complete = manifest.complete, False
    shapes, skipped = discover(client, objects)
    manifest.skipped = skipped
    dropped = False
    if objects is None:  # objects the org no longer describes leave the manifest
        names = {s.name for s in shapes}
        dropped = any(k not in names for k in manifest.objects)
        manifest.objects = {k: v for k, v in manifest.objects.items() if k in names}
    result = ExportResult(folder, manifest)
    entry_of = {s.name: manifest.objects.get(s.name, ObjectEntry(s.name)) for s in shapes}
    pending = [s for s in shapes if entry_of[s.name].status != "complete"]
    result.reused = [s.name for s in shapes if s not in pending]
    if was_complete and not dropped and all(e.done for e in entry_of.values()):
        manifest.complete = True  # nothing to read: the manifest, and so its digest, stay as they were
        result.api_calls, result.seconds = client.api_calls - calls0, time.monotonic() - t0
        return result
    counts = {c.name: c for c in count_objects(client, pending)} if pending else {}
    estimate = summarise(pending, {}, list(counts.values()))
    use_bulk = _check_limits(client, estimate.api_calls, progress)
    manifest.save()
    progress.start(len(shapes), estimate.rows)
    exporter = _Exporter(client, folder, manifest, progress, max(1, threads),
                         poll_seconds if poll_seconds is not None else MAX_POLL, use_bulk)
    for name in result.reused:
        progress.object_done(name, "complete from an earlier run")
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="export") as pool:
        futures = {pool.submit(exporter.read_object, s, counts[s.name].rows or 0): s for s in pending}
        for future in futures:
            entry = future.result()
            if entry.status == "complete":
                result.read.append(entry.name)
        with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="export-file") as files_pool:
            for shape in shapes:
                entry = manifest.objects.get(shape.name)
                if shape.file_fields and entry and entry.status == "complete" and not entry.files_complete:
                    exporter.read_files(shape, files_pool)
    result.failed = {n: e.error for n, e in manifest.objects.items() if not e.done}
    result.files_read = exporter.files_read
    if not result.failed:
        finish(folder, manifest)
    else:
        manifest.save()
    result.api_calls = client.api_calls - calls0
    result.seconds = time.monotonic() - t0
    return result


def finish(folder: Path, manifest: Manifest) -> None:
    """Write SHA256SUMS (every CSV, every file journal, every file) and mark the manifest complete."""
    lines_path = folder / SUMS
    tmp = lines_path.with_name(SUMS + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for _name, entry in sorted(manifest.objects.items()):
            out.write(f"{entry.sha256}  {entry.path}\n")
        for name, entry in sorted(manifest.objects.items()):
            if not entry.file_fields:
                continue
            journal = folder / "files" / f"{name}.jsonl"
            digest, _ = sha256_file(journal)
            out.write(f"{digest}  files/{name}.jsonl\n")
            for item in file_entries(journal):
                if not item.get("missing"):
                    out.write(f"{item['sha256']}  {item['path']}\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, lines_path)
    manifest.sums_sha256, _ = sha256_file(lines_path)
    manifest.complete = True
    manifest.finished_at = now()
    manifest.save()


def summary_text(result: ExportResult) -> str:
    totals = result.manifest.totals
    return (f"Export of org {result.manifest.org_id} in {result.folder}: {totals['objects']:,} objects, "
            f"{totals['rows']:,} rows, {totals['files']:,} files, {human_bytes(totals['bytes'])}; "
            f"{len(result.read)} read now, {len(result.reused)} complete from an earlier run; "
            f"{result.api_calls:,} API calls, {result.seconds:.1f}s.")

