"""Before an export: rows per object (aggregate COUNT, 5 per Composite call), file bytes, API calls.

Composite counts as one API call for the whole series and takes at most 5 queries of its 25 subrequests
("Send Multiple Requests Using Composite", REST API Developer Guide); Composite Batch would count each
subrequest ("Composite Batch": "Each subrequest counts against rate limits")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from deprovision.export.describe import COMPOSITE_SIZE, ObjectShape, discover
from deprovision.org.client import COMPOSITE_QUERIES

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient

ROWS_PER_RESULTS_PAGE = 50_000  # a Bulk API 2.0 results page (the server's default maxRecords)
BULK_CALLS = 3  # create the job, poll until complete (about once), read the first page
BYTES_PER_CELL = 14  # a rough average of one CSV cell (ids are 18, booleans 4-5, many cells empty)


@dataclass
class ObjectCount:
    name: str
    rows: int | None  # None: the org would not count it
    file_fields: list[str] = field(default_factory=list)
    file_bytes: int | None = None
    columns: int = 0


@dataclass
class Estimate:
    """What an export of the org will read."""

    objects: list[ObjectCount]
    skipped: dict[str, str]
    rows: int
    files: int
    file_bytes: int
    data_bytes: int
    api_calls: int
    uncounted: list[str]

    @property
    def bytes(self) -> int:
        return self.data_bytes + self.file_bytes

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["bytes"] = self.bytes
        return data


def _composite(client: OrgClient, soqls: list[str]) -> list[dict]:
    """Run queries through Composite (allOrNone false: each stands alone); one result per query, in order."""
    base = f"/services/data/v{client.api_version}/query?q="
    return client.composite([{"method": "GET", "url": base + quote(q), "referenceId": f"n{i}"}
                             for i, q in enumerate(soqls)])


def count_objects(client: OrgClient, shapes: list[ObjectShape]) -> list[ObjectCount]:
    """Rows per object, and the summed size of file fields where the org describes a size field."""
    soqls, where = [], []
    for i, shape in enumerate(shapes):
        soqls.append(f"SELECT COUNT() FROM {shape.name}")
        where.append((i, None))
        for file_field, size_field in shape.length_fields.items():
            soqls.append(f"SELECT SUM({size_field}) FROM {shape.name}")
            where.append((i, file_field))
    counts = [ObjectCount(s.name, None, list(s.file_fields), None if s.file_fields else 0, len(s.columns))
              for s in shapes]
    for (i, file_field), result in zip(where, _composite(client, soqls), strict=True):
        if result.get("httpStatusCode") != 200:
            continue
        body = result.get("body") or {}
        if file_field is None:
            counts[i].rows = int(body.get("totalSize") or 0)
        else:
            records = body.get("records") or [{}]
            counts[i].file_bytes = (counts[i].file_bytes or 0) + int(records[0].get("expr0") or 0)
    return counts


def estimate(client: OrgClient, objects: list[str] | None = None) -> Estimate:
    """Discover, count, and work out the export's size and API calls (describes and counts included)."""
    shapes, skipped = discover(client, objects)
    counts = count_objects(client, shapes)
    return summarise(shapes, skipped, counts)


def calls_for(count: ObjectCount) -> int:
    """API calls to export one object: its Bulk job, its results pages, one per file."""
    rows = count.rows or 0
    pages = max(1, -(-rows // ROWS_PER_RESULTS_PAGE))
    return BULK_CALLS + pages - 1 + rows * len(count.file_fields)


def summarise(shapes: list[ObjectShape], skipped: dict[str, str], counts: list[ObjectCount]) -> Estimate:
    rows = sum(c.rows or 0 for c in counts)
    files = sum((c.rows or 0) * len(c.file_fields) for c in counts)
    data_bytes = sum((c.rows or 0) * max(c.columns, 1) * BYTES_PER_CELL for c in counts)
    queries = len(counts) + sum(len(s.length_fields) for s in shapes)
    count_calls = -(-queries // COMPOSITE_QUERIES)  # five queries per Composite call, one API call each
    discovery = 1 + -(-len(shapes) // COMPOSITE_SIZE)  # describeGlobal, then 25 describes per Composite call
    calls = discovery + count_calls + sum(calls_for(c) for c in counts)
    return Estimate(objects=counts, skipped=skipped, rows=rows, files=files,
                    file_bytes=sum(c.file_bytes or 0 for c in counts), data_bytes=data_bytes, api_calls=calls,
                    uncounted=[c.name for c in counts if c.rows is None])
