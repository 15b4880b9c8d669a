"""Everything a leaver owns: which objects can be owned by a user (from describe), and how many records of
each the leavers own, counted with one aggregate per object (``GROUP BY OwnerId`` over every leaver, the IN
list chunked only when it is long), five aggregates per Composite call.

Composite counts as one API call for the whole series, and takes at most 5 query subrequests of its 25
("Send Multiple Requests Using Composite", REST API Developer Guide); Composite Batch would count every
subrequest ("Composite Batch": "Each subrequest counts against rate limits")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from deprovision.org.client import composite_chunks
from deprovision.org.soql import chunked_in

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
    """How many records of each object every user in ``user_ids`` owns: aggregates in Composite calls
    (allOrNone false, so an object the org refuses to count does not stop the others)."""
    result = OwnedCounts({o.name: {} for o in objects}, {})
    if not objects or not user_ids:
        return result
    base = f"/services/data/v{client.api_version}/query?q="
    subrequests = [(obj, owned_aggregate(obj, chunk)) for chunk in chunked_in(sorted(user_ids), max_chars=IN_BUDGET)
                   for obj in objects]
    calls = [{"method": "GET", "url": base + quote(soql), "referenceId": f"c{i}"}
             for i, (_, soql) in enumerate(subrequests)]
    answers = client.composite(calls)
    result.round_trips += len(composite_chunks(calls))
    for (obj, _), sub in zip(subrequests, answers, strict=False):
        body_of = sub.get("body")
        if sub.get("httpStatusCode") != 200 or not isinstance(body_of, dict):
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
