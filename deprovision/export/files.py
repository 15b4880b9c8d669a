"""File bodies (base64 fields: ContentVersion.VersionData, Attachment.Body, Document.Body) streamed to disk.

``GET /sobjects/{Object}/{Id}/{Field}`` answers the raw bytes; they are copied in chunks into
``files/<Object>/<Id>.<Field>.part``, hashed on the way, recorded in the object's journal, then renamed.
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from deprovision.errors import OrgError
from deprovision.export.manifest import now
from deprovision.export.reader import CHUNK, _checked, _headers, _url
from deprovision.export.sink import PartFile

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient


def record_ids(csv_path: Path) -> Iterator[str]:
    """The Id column of an exported object's CSV, read row by row."""
    with open(csv_path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("Id"):
                yield row["Id"]


def file_path(folder: Path, obj: str, record_id: str, field: str) -> Path:
    return folder / "files" / obj / f"{record_id}.{field}"


def missing_marker(folder: Path, obj: str, record_id: str, field: str) -> Path:
    """Where a body the org does not hold is remembered (so a resume does not ask again)."""
    return folder / "files" / obj / f"{record_id}.{field}.none"


def fetched(folder: Path, obj: str, record_id: str, field: str) -> bool:
    """Whether an earlier run already completed this file (or learnt the org has none)."""
    return file_path(folder, obj, record_id, field).exists() or missing_marker(folder, obj, record_id, field).exists()


class FileJournal:
    """``files/<Object>.jsonl``: one line per file, written before the file gets its final name."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()

    def add(self, item: dict) -> None:
        line = json.dumps(item, separators=(",", ":")) + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()


def download(client: OrgClient, folder: Path, obj: str, record_id: str, field: str, journal: FileJournal,
             on_write=None) -> int:
    """Fetch one file body to disk; returns its size (0 when the org holds no body for it)."""
    target = file_path(folder, obj, record_id, field)
    sink = PartFile(target, on_write)
    url = _url(client, f"sobjects/{obj}/{record_id}/{field}")
    read_at = now()

    def fetch() -> None:
        sink.reset()
        response = _checked(client.http.get(url, headers=_headers(client), stream=True), f"download {obj}")
        with response:
            for block in response.iter_content(CHUNK):
                sink.write(block)

    try:
        client._call(f"download {obj} {record_id} {field}", fetch, record_id=record_id)
    except OrgError as exc:
        sink.discard()
        if exc.status == 404 or exc.error_code == "NOT_FOUND":
            journal.add({"id": record_id, "field": field, "missing": exc.error_code or "NOT_FOUND",
                         "read_at": read_at})
            missing_marker(folder, obj, record_id, field).touch()
            return 0
        raise
    sink.close()
    rel = target.relative_to(folder).as_posix()
    journal.add({"id": record_id, "field": field, "path": rel, "bytes": sink.bytes, "sha256": sink.sha256,
                 "read_at": read_at})
    sink.commit()
    return sink.bytes


