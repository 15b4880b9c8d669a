"""Which objects and fields an export reads, from the org's own describes (``client.schema``, the cached
schema service): objects by their describe flags, columns by their field types."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deprovision.errors import OrgError

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient

COMPOSITE_SIZE = 25  # Composite / Composite Batch: at most 25 subrequests per call
# Field types that cannot be read as columns: base64 bodies are files, compound fields repeat their parts,
# complexvalue (metadata-like values) cannot be queried in bulk.
FILE_TYPE = "base64"
COMPOUND_TYPES = ("address", "location", "complexvalue")
# Objects that describe as exportable but hold secrets or live sessions, not data (CumulusCI keeps a
# similar short list of objects known not to extract).
NOT_EXTRACTED = {
    "OauthToken": "OAuth tokens are credentials, not data",
    "AuthSession": "live sessions, not data",
}


@dataclass
class ObjectShape:
    """One object to export: its readable columns and its file (base64) fields."""

    name: str
    columns: list[str]
    file_fields: list[str] = field(default_factory=list)
    length_fields: dict[str, str] = field(default_factory=dict)  # file field -> its size field, when described

    def soql(self) -> str:
        return f"SELECT {', '.join(self.columns)} FROM {self.name}"


def _exportable(entry: dict) -> bool:
    """Queryable and replicateable, as describeGlobal says (retrieveable stands in where the org omits
    ``replicateable``)."""
    replicateable = entry.get("replicateable", entry.get("retrieveable", False))
    return bool(entry.get("queryable")) and bool(replicateable) and not entry.get("deprecatedAndHidden")


def global_objects(client: OrgClient) -> list[dict]:
    """describeGlobal's entries, as the org sends them (the client's cached schema service)."""
    return list(client.schema.objects().values())


def exportable_names(client: OrgClient, only: Iterable[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Names of the objects to export, and the objects left out with the reason."""
    wanted = {n.lower() for n in only} if only else None
    names, skipped = [], {}
    for entry in global_objects(client):
        name = entry.get("name", "")
        if wanted is not None and name.lower() not in wanted:
            continue
        if name in NOT_EXTRACTED:
            skipped[name] = NOT_EXTRACTED[name]
        elif _exportable(entry):
            names.append(name)
        else:
            skipped[name] = "not queryable or not replicateable"
    if wanted is not None:
        found = {n.lower() for n in names} | {n.lower() for n in skipped}
        missing = sorted(w for w in wanted if w not in found)
        if missing:
            raise OrgError(f"the org describes no object called {', '.join(missing)}")
    return sorted(names), skipped


def describe_objects(client: OrgClient, names: list[str]) -> dict[str, dict]:
    """Full describes of ``names`` (fetched 25 per call and cached by the schema service)."""
    described = client.schema.describe_many(names)
    missing = [n for n in names if not described.get(n)]
    if missing:
        raise OrgError(f"the org did not describe {', '.join(missing[:10])}")
    return {n: described[n] for n in names}


def shape_of(describe: dict) -> ObjectShape:
    """Columns (every field but files and compound fields) and file fields of one describe."""
    columns, files = [], []
    fields = describe.get("fields", [])
    by_name = {f.get("name", ""): f for f in fields}
    for f in fields:
        kind = f.get("type")
        if kind == FILE_TYPE:
            files.append(f["name"])
        elif kind not in COMPOUND_TYPES:
            columns.append(f["name"])
    lengths = {}
    for name in files:  # Attachment.Body -> BodyLength; ContentVersion.VersionData -> ContentSize
        for candidate in (f"{name}Length", "ContentSize"):
            if by_name.get(candidate, {}).get("type") == "int":
                lengths[name] = candidate
                break
    return ObjectShape(describe["name"], columns, files, lengths)


def discover(client: OrgClient, only: Iterable[str] | None = None) -> tuple[list[ObjectShape], dict[str, str]]:
    """Every object to export with its columns and files, and the objects left out (with why)."""
    names, skipped = exportable_names(client, only)
    describes = describe_objects(client, names)
    shapes = []
    for name in names:
        shape = shape_of(describes[name])
        if "Id" not in shape.columns:
            skipped[name] = "has no Id field"
            continue
        shapes.append(shape)
    return shapes, skipped
