"""Full-record backups from describe: every field the org lists for an object (custom and managed fields
included; base64 and compound fields left out, their parts are fields of their own), the leavers' records
only, as CSV. A wide object is read in several queries of at most ``FIELDS_PER_QUERY`` fields, joined by Id.
Above ``BULK_BACKUP_THRESHOLD`` records an object is read with Bulk API 2.0. With ``files``, the leavers'
ContentVersion VersionData and Attachment Body are streamed to disk and hashed like every backup file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deprovision.apply.backup import write_csv
from deprovision.errors import DeprovisionError
from deprovision.org.soql import chunked_in

FIELDS_PER_QUERY = 400  # fields per SELECT (SOQL statements stay far below 100,000 characters)
BULK_BACKUP_THRESHOLD = 10_000  # records of one object above which the backup reads through Bulk API 2.0
_SKIPPED_TYPES = {"base64", "address", "location"}  # bodies are files; compound fields repeat their parts
FILE_OBJECTS = {"ContentVersion": "VersionData", "Attachment": "Body"}  # object -> its base64 body field


def backup_fields(schema: Any, obj: str) -> list[str]:
    """Every field of ``obj`` the backup keeps, Id first; raises when the org cannot back the object up."""
    describe = schema.describe(obj)
    if describe is None:
        raise DeprovisionError(f"cannot back up {obj}: the org has no such object (describeGlobal)")
    if not describe.get("queryable", True):
        raise DeprovisionError(f"cannot back up {obj}: the org does not let it be queried")
    names = [f["name"] for f in describe.get("fields", []) if f.get("type") not in _SKIPPED_TYPES]
    if "OwnerId" not in names:
        raise DeprovisionError(f"cannot back up {obj}: it has no OwnerId, so no records are the leavers'")
    return ["Id", *[n for n in names if n != "Id"]]


def _groups(fields: list[str]) -> list[list[str]]:
    rest = [f for f in fields if f != "Id"]
    size = FIELDS_PER_QUERY - 1
    return [["Id", *rest[i:i + size]] for i in range(0, len(rest), size)] or [["Id"]]


def _rows(client: Any, obj: str, fields: list[str], owners: list[str], use_bulk: bool) -> Iterator[dict]:
    template = f"SELECT {', '.join(fields)} FROM {obj} WHERE OwnerId IN {{ids}}"
    if not use_bulk:
        for row in client.query_in(template, owners):
            yield {k: v for k, v in row.items() if k != "attributes"}
        return
    for chunk in chunked_in(owners):
        yield from client.bulk_query(template.replace("{ids}", chunk))


def write_records(client: Any, backup_dir: Path, obj: str, owners: list[str], expected: int) -> dict[str, str]:
    """``records/<obj>.csv`` with every backed-up field of the owners' records; {file name: SHA-256}."""
    fields = backup_fields(client.schema, obj)
    use_bulk = expected > BULK_BACKUP_THRESHOLD
    first, *others = _groups(fields)
    extra: dict[str, dict] = {}  # Id -> the other groups' values (wide objects only)
    for group in others:
        for row in _rows(client, obj, group, owners, use_bulk):
            extra.setdefault(row["Id"], {}).update(row)
    rows = ({**row, **extra.get(row["Id"], {})} for row in _rows(client, obj, first, owners, use_bulk))
    name = f"records/{obj}.csv"
    return {name: write_csv(backup_dir / name, fields, rows)}


def write_files(client: Any, backup_dir: Path, owners: list[str]) -> dict[str, str]:
    """The owners' file bodies under ``files/<object>/<Id>``, streamed, each with its SHA-256."""
    digests: dict[str, str] = {}
    for obj, body in FILE_OBJECTS.items():
        if not client.schema.has(obj):
            continue
        for row in client.query_in(f"SELECT Id FROM {obj} WHERE OwnerId IN {{ids}}", owners):
            name = f"files/{obj}/{row['Id']}"
            digests[name] = _download(client, f"sobjects/{obj}/{row['Id']}/{body}", backup_dir / name)
    return digests


def _download(client: Any, path: str, target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    response = client.rest_get(path, action=f"download {path}", stream=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as fh:
        for block in response.iter_content(1 << 16):
            fh.write(block)
            digest.update(block)
    tmp.replace(target)
    return digest.hexdigest()
