"""Everything a leaver owns: which objects can be owned by a user (from describe), and how many records of
each the leavers own, counted with one aggregate per object, 25 objects per Composite Batch call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from deprovision.org.soql import chunked_in

BATCH_SIZE = 25  # Composite Batch: at most 25 subrequests per call
IN_BUDGET = 3000  # characters of one IN list (the URL of a subrequest stays well under the limits)


@dataclass(frozen=True)
class OwnerObject:
    """An object whose OwnerId can be a user, with what its describe says about reassigning it."""

    name: str
    queue_ownable: bool  # OwnerId may reference Group (queues, where QueueSobject lists the object)
    reassignable: bool  # the object and its OwnerId are updateable
    name_field: str | None
    has_modstamp: bool


def owner_objects(schema: Any) -> dict[str, OwnerObject]:
    """Every queryable data object whose OwnerId can reference User, as the org describes it."""
    out: dict[str, OwnerObject] = {}
    entries = schema.objects()
    for name, describe in schema.describe_many(schema.owner_candidates()).items():
        if not describe or schema.is_setup(name):
            continue
        fields = {f["name"]: f for f in describe.get("fields", [])}
        owner = fields.get("OwnerId")
        if not owner or "User" not in (owner.get("referenceTo") or []):
            continue
        updateable = bool(entries.get(name, {}).get("updateable", describe.get("updateable"))) and bool(
            owner.get("updateable"))
        out[name] = OwnerObject(name, "Group" in owner["referenceTo"], updateable, schema.name_field(name),
                                "SystemModstamp" in fields)
    return dict(sorted(out.items()))


def owned_aggregate(obj: OwnerObject, ids_list: str) -> str:
    """Records per owner (and the newest SystemModstamp, which the stale-plan check compares)."""
    stamp = ", MAX(SystemModstamp)" if obj.has_modstamp else ""
    return f"SELECT OwnerId, COUNT(Id){stamp} FROM {obj.name} WHERE OwnerId IN {ids_list} GROUP BY OwnerId"


@dataclass
class OwnedCounts:
    """Per object: owner id -> (records, newest SystemModstamp); objects the org refused to count, why."""

    counts: dict[str, dict[str, tuple[int, str | None]]]
    errors: dict[str, str]
    round_trips: int = 0


def count_owned(client: Any, objects: list[OwnerObject], user_ids: list[str]) -> OwnedCounts:
    """How many records of each object every user in ``user_ids`` owns: aggregates in Composite Batch calls."""
    result = OwnedCounts({o.name: {} for o in objects}, {})
    if not objects or not user_ids:
        return result
    version = client.api_version
    subrequests = [(obj, owned_aggregate(obj, chunk)) for chunk in chunked_in(sorted(user_ids), max_chars=IN_BUDGET)
                   for obj in objects]
    for start in range(0, len(subrequests), BATCH_SIZE):
        part = subrequests[start:start + BATCH_SIZE]
        body = {"haltOnError": False, "batchRequests": [
            {"method": "GET", "url": f"v{version}/query?q={quote(soql)}"} for _, soql in part]}
        answer = client.rest_post("composite/batch", body, action="count owned records")
        result.round_trips += 1
        for (obj, _), sub in zip(part, answer.get("results", []), strict=False):
            body_of = sub.get("result")
            if sub.get("statusCode") != 200 or not isinstance(body_of, dict):
                result.errors[obj.name] = _error_text(body_of)
                continue
            for row in body_of.get("records", []):
                if row.get("OwnerId") and row.get("expr0"):
                    result.counts[obj.name][row["OwnerId"]] = (int(row["expr0"]), row.get("expr1"))
    return result


def _error_text(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code, message = body[0].get("errorCode"), " ".join(str(body[0].get("message", "")).split())
        return f"{code}: {message}" if code else message
    return "the org refused the count"
