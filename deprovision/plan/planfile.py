"""Plan files: ``PLAN.json`` plus, for large reassignments, ``PLAN.json.records.gz``.

Record ids of big reassignments go to a gzip sidecar next to the plan; each
such change keeps ``record_ids_ref`` = the sidecar's SHA-256, and loading
the plan checks that hash before filling the ids back in.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from deprovision.errors import InvalidInputError
from deprovision.plan.model import READABLE_VERSIONS, Plan
from deprovision.plan.render import plan_document

SIDECAR_THRESHOLD = 10_000  # record ids in the plan above which they move to the sidecar
SIDECAR_MIN_CHANGE = 20  # only reassignments with at least this many ids move


def sidecar_path(path: Path) -> Path:
    """Where the record-id sidecar of ``path`` lives."""
    return path.with_name(path.name + ".records.gz")


def write_plan(plan: Plan, path: Path, *, threshold: int = SIDECAR_THRESHOLD,
               min_change: int = SIDECAR_MIN_CHANGE, key: bytes | None = None) -> Path | None:
    """Write ``plan`` as JSON at ``path``; returns the sidecar's path when one was written.

    When the plan holds more than ``threshold`` record ids, the ids of every change with at least
    ``min_change`` of them go to the sidecar. With ``key`` the document carries its HMAC
    (``deprovision.plan.approval``).
    """
    data = plan_document(plan)
    total = sum(len(c["record_ids"]) for c in data["changes"])
    sidecar = sidecar_path(path)
    written = None
    moved = {}
    if total > threshold:
        moved = {c["id"]: c["record_ids"] for c in data["changes"]
                 if c["action"] == "reassign_owner" and len(c["record_ids"]) >= min_change}
    if moved:
        blob = gzip.compress(json.dumps(moved, separators=(",", ":")).encode(), mtime=0)
        digest = hashlib.sha256(blob).hexdigest()
        sidecar.write_bytes(blob)
        written = sidecar
        for change in data["changes"]:
            if change["id"] in moved:
                change["record_ids"] = []
                change["record_ids_ref"] = digest
    elif sidecar.exists():
        sidecar.unlink()
    if key is not None:
        from deprovision.plan.approval import sign_document

        sign_document(data, key)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
        out.write("\n")
    return written


def read_plan(path: Path, *, key: bytes | None = None) -> Plan:
    """Load a plan file (and its sidecar, hash checked); raises InvalidInputError on a bad file.

    With ``key`` the plan must carry a valid HMAC signature made with it.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"plan file {path} not found") from None
    except IsADirectoryError:
        raise InvalidInputError(f"plan file {path} is a folder") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"plan file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format_version") not in READABLE_VERSIONS:
        raise InvalidInputError(f"plan file {path}: unsupported format_version "
                                f"{data.get('format_version') if isinstance(data, dict) else None!r}")
    if key is not None:
        from deprovision.plan.approval import check_signature

        check_signature(data, key, str(path))
    data.pop("signature", None)
    if not isinstance(data.get("changes"), list) or not all(isinstance(c, dict) for c in data["changes"]):
        raise InvalidInputError(f"plan file {path} is not a valid plan: changes must be a list of objects")
    refs = {c.get("record_ids_ref") for c in data.get("changes", []) if c.get("record_ids_ref")}
    if refs:
        sidecar = sidecar_path(Path(path))
        try:
            blob = sidecar.read_bytes()
        except FileNotFoundError:
            raise InvalidInputError(f"plan file {path}: record-id file {sidecar.name} is missing") from None
        digest = hashlib.sha256(blob).hexdigest()
        if refs != {digest}:
            raise InvalidInputError(f"plan file {path}: {sidecar.name} does not match the plan (SHA-256 differs)")
        try:
            ids = json.loads(gzip.decompress(blob))
        except (OSError, EOFError, ValueError) as exc:
            raise InvalidInputError(f"plan file {path}: {sidecar.name} is not a record-id file ({exc})") from None
        if not isinstance(ids, dict):
            raise InvalidInputError(f"plan file {path}: {sidecar.name} is not a record-id file")
        for change in data["changes"]:
            if change.get("record_ids_ref"):
                change["record_ids"] = ids.get(change["id"], [])
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InvalidInputError(f"plan file {path} is not a valid plan: {exc}") from None
