"""The export's manifest: what was read, when, how much, with SHA-256; updated as each object completes.

Layout of an export folder::

    manifest.json          org id, times, one entry per object (rows, bytes, SHA-256, read_at), complete flag
    data/<Object>.csv      every row of every exported object
    files/<Object>.jsonl   one line per file (base64 body) downloaded: id, field, path, bytes, SHA-256
    files/<Object>/<Id>.<Field>
    SHA256SUMS             every file above (``sha256sum -c`` reads it); its own SHA-256 is in the manifest
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deprovision.errors import InvalidInputError
from deprovision.export.sink import write_atomic

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ObjectEntry:
    """One object of the export."""

    name: str
    status: str = "pending"  # pending | complete | failed
    rows: int = 0
    bytes: int = 0
    sha256: str = ""
    path: str = ""
    read_at: str = ""
    method: str = ""  # bulk | rest
    error: str = ""
    columns: int = 0
    file_fields: list[str] = field(default_factory=list)
    files: int = 0
    file_bytes: int = 0
    files_missing: int = 0  # bodies the org has none of (answered 404)
    files_complete: bool = False

    @property
    def done(self) -> bool:
        return self.status == "complete" and (self.files_complete or not self.file_fields)


@dataclass
class Manifest:
    """The whole manifest; ``save()`` rewrites it atomically (thread-safe)."""

    org_id: str
    instance_url: str = ""
    started_at: str = ""
    finished_at: str = ""
    complete: bool = False
    objects: dict[str, ObjectEntry] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    sums_sha256: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self._path: Path | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path) -> Manifest | None:
        path = folder / MANIFEST
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            objects = {k: ObjectEntry(**v) for k, v in data.pop("objects", {}).items()}
            manifest = cls(**data, objects=objects)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"{path}: not an export manifest ({exc})") from None
        manifest._path = path
        return manifest

    def attach(self, folder: Path) -> None:
        self._path = folder / MANIFEST

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["objects"] = {k: asdict(v) for k, v in sorted(self.objects.items())}
        return data

    def save(self) -> None:
        assert self._path is not None
        with self._lock:
            text = json.dumps(self.to_dict(), indent=2) + "\n"
            write_atomic(self._path, text.encode("utf-8"))

    def entry(self, name: str) -> ObjectEntry:
        with self._lock:
            return self.objects.setdefault(name, ObjectEntry(name))

    @property
    def totals(self) -> dict[str, int]:
        objs = self.objects.values()
        return {"objects": len(self.objects), "rows": sum(o.rows for o in objs),
                "bytes": sum(o.bytes + o.file_bytes for o in objs), "files": sum(o.files for o in objs)}


def file_entries(journal: Path) -> Iterator[dict]:
    """The lines of one object's file journal, the last line per path winning (a download repeated after
    a kill between recording and renaming)."""
    if not journal.exists():
        return iter(())
    latest: dict[str, dict] = {}
    with open(journal, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError:  # a line cut short by a kill: its file was never renamed
                continue
            latest[f"{item['id']}.{item['field']}"] = item
    return iter(latest.values())
