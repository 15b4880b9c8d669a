"""Compare every reassigned (or restored) record's owner in the org with the owner the plan named.

Reads ``Id, OwnerId`` by owner (the planned and the previous owners: a few chunked queries, or Bulk API
2.0 query jobs for large sets), then by id only for the records found with neither (moved elsewhere or
deleted). ``GROUP BY OwnerId`` counts would not say which record went where.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from deprovision.plan.model import Change

BULK_READ = 10_000  # above this many planned records of one object, read through Bulk API 2.0 query jobs
LISTED = 50  # record lines listed per object before only counts are given


@dataclass(frozen=True)
class Mismatch:
    """One record whose owner is not the planned one."""

    obj: str
    record_id: str
    expected: str
    actual: str | None  # None: the record is gone (deleted)
    previous: str  # the owner before the run (the leaver, or in a rollback the successor)
    change: Change


def expected_owner(c: Change) -> str:
    return (c.after or {}).get("OwnerId") or (c.successor.id if c.successor else "")


def previous_owner(c: Change) -> str:
    return (c.before or {}).get("OwnerId") or c.user_id


def _read_by_owner(client, obj: str, owners: list[str], big: bool) -> Iterable[dict]:
    if big and hasattr(client, "bulk_query"):
        from deprovision.org.soql import chunked_in

        for chunk in chunked_in(owners, max_chars=3500):
            yield from client.bulk_query(f"SELECT Id, OwnerId FROM {obj} WHERE OwnerId IN {chunk}")
        return
    yield from client.query_in(f"SELECT Id, OwnerId FROM {obj} WHERE OwnerId IN {{ids}}", owners)


def owner_mismatches(client, changes: list[Change]) -> tuple[list[Mismatch], int]:
    """(records whose owner is not the planned one, records checked) for owner-changing ``changes``."""
    out: list[Mismatch] = []
    checked = 0
    by_obj: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        by_obj[c.object].append(c)
    for obj, obj_changes in sorted(by_obj.items()):
        planned = {rid: c for c in obj_changes for rid in c.record_ids}
        checked += len(planned)
        owners = sorted({o for c in obj_changes for o in (expected_owner(c), previous_owner(c)) if o})
        now: dict[str, str] = {}
        for row in _read_by_owner(client, obj, owners, len(planned) > BULK_READ):
            if row["Id"] in planned:
                now[row["Id"]] = row["OwnerId"]
        missing = [rid for rid in planned if rid not in now]
        if missing:
            for row in client.query_in(f"SELECT Id, OwnerId FROM {obj} WHERE Id IN {{ids}}", missing):
                now[row["Id"]] = row["OwnerId"]
        for rid, c in planned.items():
            actual = now.get(rid)
            if actual != expected_owner(c):
                out.append(Mismatch(obj, rid, expected_owner(c), actual, previous_owner(c), c))
    return out, checked


def describe(mismatches: list[Mismatch], who, name_of) -> list[str]:
    """Lines for verify: per change a count of records still with the previous owner (the old wording),
    then every record moved to someone else (id, object, expected and actual owner), counts when many."""
    lines: list[str] = []
    still: Counter = Counter()
    drift: dict[str, list[Mismatch]] = defaultdict(list)
    for m in mismatches:
        if m.actual == m.previous:
            still[(m.change.id, m.obj)] += 1
        else:
            drift[m.obj].append(m)
    changes = {m.change.id: m.change for m in mismatches}
    for (change_id, obj), n in sorted(still.items()):
        c = changes[change_id]
        whose = "the user" if c.action == "reassign_owner" else f"{name_of(previous_owner(c))}"
        lines.append(f"{who(c)}: {n} {obj} record{'s' if n != 1 else ''} still owned by {whose}")
    for obj, items in sorted(drift.items()):
        if len(items) > LISTED:
            counts = Counter((m.expected, m.actual) for m in items)
            lines.append(f"{obj}: {len(items)} records not owned by the planned owner: " + "; ".join(
                f"{n} planned for {name_of(e)} owned by {name_of(a) if a else 'nobody (deleted)'}"
                for (e, a), n in counts.most_common()))
        for m in sorted(items, key=lambda m: m.record_id)[:LISTED]:
            actual = f"owned by {name_of(m.actual)} ({m.actual})" if m.actual else "deleted"
            lines.append(f"{m.obj} {m.record_id}: {actual}, the plan named {name_of(m.expected)} ({m.expected}) "
                         f"[{who(m.change)}]")
    return lines
