"""The fingerprint: what apply re-reads to tell whether a saved plan went stale.

Setup rows are compared one by one (``{Id: SystemModstamp}``): the target
users, their logins, and every assignment and membership they hold. Owned
records are compared per (object, owner) as a count and the newest
SystemModstamp from one aggregate query, so checking a million records costs
a handful of calls. The describes the plan relied on are compared by digest
(``OrgSchema``): a field added, removed or changed makes the plan stale. Only
objects the org has are read: a feature that is off is no rows, not an error.
"""

from __future__ import annotations

from typing import Any

from deprovision.plan import queries
from deprovision.plan.facts import Snapshot
from deprovision.plan.model import Plan
from deprovision.plan.validate import read_many

FINGERPRINT_VERSION = 1


def fingerprint_of(snapshot: Snapshot, user_ids: list[str],
                   repointed: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """The fingerprint of the rows ``snapshot`` read for ``user_ids`` (pure).

    ``repointed`` (User field -> {dependant id: leaver id}) adds the other users the plan re-points, so
    a dependant whose field moved since the plan makes it stale.
    """
    wanted = set(user_ids)
    users = {u.id: u for u in snapshot.targets if u.id in wanted}
    grants: dict[str, dict[str, str]] = {obj: {} for obj in queries.GRANTS if obj not in snapshot.unavailable}
    holders: dict[str, str] = {u.login_id: u.id for u in users.values() if u.login_id}
    for grant in snapshot.grants:
        if grant.user_id in wanted:
            grants[grant.object][grant.id] = grant.modstamp
            holders[grant.id] = grant.user_id
    owned: dict[str, dict[str, Any]] = {}
    for obj, where in sorted(snapshot.owned_where.items()):
        owners = {o.owner_id: [o.count, o.max_modstamp] for o in snapshot.owned
                  if o.object == obj and o.owner_id in wanted and o.count}
        owned[obj] = {"where": where, "owners": dict(sorted(owners.items()))}
    extra: dict[str, Any] = {"dependants": {f: dict(sorted(deps.items())) for f, deps in sorted(repointed.items())}} \
        if repointed else {}
    if snapshot.schema:
        extra["schema"] = dict(sorted(snapshot.schema.items()))
    return {
        **extra,
        "version": FINGERPRINT_VERSION,
        "names": {uid: users[uid].username for uid in sorted(users)},
        "users": {uid: users[uid].modstamp for uid in sorted(users)},
        "logins": {u.login_id: u.login_modstamp for u in sorted(users.values(), key=lambda u: u.id) if u.login_id},
        "grants": {obj: dict(sorted(rows.items())) for obj, rows in grants.items()},
        "owned": owned,
        "holders": dict(sorted(holders.items())),
    }


def fingerprint_reads(client: Any, plan: Plan) -> dict[str, tuple[str, list[str]]]:
    """The reads ``read_fingerprint`` makes (name -> ``query_in`` template and values), none depending on
    another: ``apply`` sends them with the plan validation's own reads."""
    old = plan.fingerprint
    schema = client.schema
    user_ids = sorted(old.get("users", {}))
    reads: dict[str, tuple[str, list[str]]] = {}
    if user_ids:
        reads["users"] = ("SELECT Id, Username, SystemModstamp FROM User WHERE Id IN {ids}", user_ids)
        reads["logins"] = (queries.LOGINS, user_ids)
        for obj, template in queries.GRANTS.items():
            if obj in old.get("grants", {}) and schema.has(obj):
                reads[f"grant:{obj}"] = (template, user_ids)
        for obj, spec in old.get("owned", {}).items():
            reads[f"owned:{obj}"] = (queries.owned_aggregate(obj, spec.get("where")), user_ids)
    if old.get("dependants"):
        wanted = sorted({d for deps in old["dependants"].values() for d in deps})
        fields = sorted(old["dependants"])
        reads["dependants"] = (f"SELECT Id, {', '.join(fields)} FROM User WHERE Id IN {{ids}}", wanted)
    return reads


def read_fingerprint(client: Any, plan: Plan, rows: dict[str, list[dict]] | None = None) -> dict[str, Any]:
    """Re-read the plan's rows from the org in the fingerprint's shape (only reads).

    The queries are independent, so they are sent side by side: the check stands between ``apply``
    and the freeze, and its waiting is what a leaver's access lasts. ``rows``: the answers of
    ``fingerprint_reads(client, plan)`` when the caller already read them (with other reads).
    """
    old = plan.fingerprint
    schema = client.schema
    reads = fingerprint_reads(client, plan)
    if rows is None or any(values and name not in rows for name, (_, values) in reads.items()):
        rows = read_many(client, reads)

    users = {row["Id"]: row["SystemModstamp"] for row in rows.get("users", [])}
    logins: dict[str, str] = {}
    holders: dict[str, str] = {}
    for row in rows.get("logins", []):
        logins[row["Id"]] = row["SystemModstamp"]
        holders[row["Id"]] = row["UserId"]
    grants: dict[str, dict[str, str]] = {obj: {} for obj in queries.GRANTS if obj in old.get("grants", {})}
    for obj in grants:
        for row in rows.get(f"grant:{obj}", []):
            if obj == "GroupMember" and (row.get("Group") or {}).get("Type") not in ("Regular", "Queue"):
                continue
            grants[obj][row["Id"]] = row["SystemModstamp"]
            holders[row["Id"]] = row[queries.GRANT_USER_FIELD[obj]]
    owned: dict[str, dict[str, Any]] = {}
    for obj, spec in old.get("owned", {}).items():
        owners = {row["OwnerId"]: [row["expr0"], row.get("expr1")]
                  for row in rows.get(f"owned:{obj}", []) if row.get("expr0")}
        owned[obj] = {"where": spec.get("where"), "owners": dict(sorted(owners.items()))}
    extra: dict[str, Any] = {}
    if old.get("schema"):
        extra["schema"] = dict(sorted(schema.digest(sorted(old["schema"])).items()))
    if old.get("dependants"):
        found = {r["Id"]: r for r in rows.get("dependants", [])}
        extra["dependants"] = {f: {d: found.get(d, {}).get(f) for d in sorted(deps)}
                               for f, deps in sorted(old["dependants"].items())}
    return {
        **extra,
        "version": FINGERPRINT_VERSION,
        "names": dict(old.get("names", {})),
        "users": dict(sorted(users.items())),
        "logins": dict(sorted(logins.items())),
        "grants": {obj: dict(sorted(found.items())) for obj, found in grants.items()},
        "owned": owned,
        "holders": dict(sorted(holders.items())),
    }


def stale_rows(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What moved between two fingerprints, one line each; empty when the plan still holds."""
    names = {**old.get("names", {}), **new.get("names", {})}

    def who(user_id: str) -> str:
        return names.get(user_id, user_id)

    holders = {**old.get("holders", {}), **new.get("holders", {})}

    def of(row_id: str) -> str:
        holder = holders.get(row_id)
        return f"{row_id} of {who(holder)}" if holder else row_id

    out: list[str] = []
    for obj, digest in sorted(old.get("schema", {}).items()):
        now = new.get("schema", {}).get(obj)
        if now is None:
            out.append(f"{obj}: no longer in the org (describeGlobal)")
        elif now != digest:
            out.append(f"{obj}: its describe changed (fields or flags) since the plan was made")
    old_users, new_users = old.get("users", {}), new.get("users", {})
    for uid in sorted(set(old_users) | set(new_users), key=who):
        if uid not in new_users:
            out.append(f"User {who(uid)} no longer found")
        elif old_users.get(uid) != new_users[uid]:
            out.append(f"User {who(uid)} changed")
    old_logins, new_logins = old.get("logins", {}), new.get("logins", {})
    for lid in sorted(set(old_logins) | set(new_logins)):
        if old_logins.get(lid) != new_logins.get(lid):
            out.append(f"UserLogin {of(lid)} changed")
    for obj in sorted(set(old.get("grants", {})) | set(new.get("grants", {}))):
        before, after = old.get("grants", {}).get(obj, {}), new.get("grants", {}).get(obj, {})
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
        for rid in added:
            out.append(f"{obj} {of(rid)} added")
        for rid in removed:
            out.append(f"{obj} {of(rid)} removed")
        for rid in changed:
            out.append(f"{obj} {of(rid)} changed")
    for field, deps in sorted(old.get("dependants", {}).items()):
        now = new.get("dependants", {}).get(field, {})
        for dep, leaver in sorted(deps.items()):
            if now.get(dep) != leaver:
                out.append(f"User {dep}: {field} {who(leaver)} → {who(now[dep]) if now.get(dep) else 'none'}")
    for obj in sorted(set(old.get("owned", {})) | set(new.get("owned", {}))):
        before = old.get("owned", {}).get(obj, {}).get("owners", {})
        after = new.get("owned", {}).get(obj, {}).get("owners", {})
        for uid in sorted(set(before) | set(after), key=who):
            b_count, b_stamp = before.get(uid, [0, None])
            a_count, a_stamp = after.get(uid, [0, None])
            if b_count != a_count:
                out.append(f"{obj} owned by {who(uid)}: {b_count:,} → {a_count:,} records")
            elif b_stamp != a_stamp:
                out.append(f"{obj} owned by {who(uid)}: records changed (newest SystemModstamp {b_stamp} → {a_stamp})")
    return out
