"""Back up, before anything is removed or reassigned: users, owners, the assignments the plan removes and
the owned records of the playbook's backup objects, as CSV with their SHA-256 in ``SHA256SUMS``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from deprovision.apply import audit_events
from deprovision.apply.backup import write_csv, write_sha256sums
from deprovision.apply.context import RunContext
from deprovision.apply.operations import ASSIGNMENT_FIELDS, USER_FIELD, change_object
from deprovision.apply.record_backup import write_files, write_records
from deprovision.apply.teams import TEAMS, read_team_rows, removed_rows, team_read
from deprovision.plan.model import Change


class BackupStep:
    """``backup``: written once per run (a resumed run keeps the files of its first attempt)."""

    name = "backup"

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        if self.name in ctx.state.finished_phases:
            return
        backup_dir = ctx.folder.backup_dir
        backup_dir.mkdir(exist_ok=True)
        plan = ctx.plan
        ctx.progress.start_phase(self.name, len(plan.changes))
        digests: dict[str, str] = {}
        user_ids = sorted(ctx.users)
        reader = _prefetch(ctx, user_ids)
        digests["users.csv"] = _users(ctx, reader, user_ids)
        owner_rows = (
            [c.object, rid, (c.before or {}).get("OwnerId") or c.user_id,
             (c.after or {}).get("OwnerId") or (c.successor.id if c.successor else ""), c.id]
            for c in plan.changes if c.action == "reassign_owner" for rid in c.record_ids)
        digests["owners.csv"] = write_csv(backup_dir / "owners.csv",
                                          ["Object", "Id", "OwnerId", "NewOwnerId", "ChangeId"], owner_rows)
        digests.update(_assignments(ctx, reader))
        digests.update(_kept_teams(ctx, reader))
        for obj in plan.backup_objects or []:  # every field the org describes, custom and managed included
            expected = sum(counts.get(obj, 0) for counts in (plan.backup_counts or {}).values())
            digests.update(write_records(ctx.client, backup_dir, obj, user_ids, expected))
        if plan.backup_files:
            digests.update(write_files(ctx.client, backup_dir, user_ids))
        sums = write_sha256sums(backup_dir, digests)
        for name, digest in sorted(digests.items()):
            ctx.journal.file(f"backup/{name}", digest)
        ctx.journal.file("backup/SHA256SUMS", sums)
        audit_events.event("backup_written", outcome="success",
                           files={f"backup/{n}": d for n, d in sorted(digests.items())}, sha256sums=sums)
        ctx.progress.end_phase(self.name, f"{len(digests)} files")


USERS = "SELECT Id, Username, IsActive, UserRoleId, ManagerId, ProfileId FROM User WHERE Id IN {ids}"


class _Prefetched:
    """A reader whose ``query_in`` answers the reads fetched together beforehand (the same template and
    values); any other read goes to the org as usual."""

    def __init__(self, reader: Any, reads: list[tuple[str, list[str]]]) -> None:
        self._reader = reader
        wanted = {f"r{i}": (t, list(v)) for i, (t, v) in enumerate(reads) if v}
        rows = reader.query_in_many(wanted) if wanted and hasattr(reader, "query_in_many") else {}
        self._rows = {(t, tuple(v)): rows[name] for name, (t, v) in wanted.items() if name in rows}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def query_in(self, template: str, values: Any, **kwargs: Any) -> Iterator[dict]:
        values = list(values)
        found = None if kwargs else self._rows.get((template, tuple(values)))
        return iter(found) if found is not None else self._reader.query_in(template, values, **kwargs)


def _prefetch(ctx: RunContext, user_ids: list[str]) -> _Prefetched:
    """The backup's reads of users, assignments and team rows, independent of each other, fetched
    together through Composite (up to 5 queries per API call)."""
    reads = [(USERS, user_ids)]
    for obj, wanted in sorted(_removals(ctx).items()):
        reads.append(_assignment_read(obj, wanted))
    for spec in TEAMS.values():
        changes = [c for c in ctx.plan.changes if c.action == "reassign_owner" and c.object == spec.parent]
        if changes:
            reads.append(team_read(spec, {(c.before or {}).get("OwnerId") or c.user_id for c in changes}))
    return _Prefetched(ctx.reader, reads)


def _users(ctx: RunContext, reader: Any, user_ids: list[str]) -> str:
    logins = {c.user_id: (c.record_ids[0] if c.record_ids else "") for c in ctx.plan.changes
              if c.action == "freeze"}
    current = {r["Id"]: r for r in reader.query_in(USERS, user_ids)} if user_ids else {}
    rows = []
    for uid in user_ids:
        pu, row = ctx.users[uid], current.get(uid, {})
        rows.append([uid, pu.username, pu.is_active, pu.is_frozen, logins.get(uid, ""),
                     row.get("UserRoleId"), row.get("ManagerId"), row.get("ProfileId")])
    return write_csv(ctx.folder.backup_dir / "users.csv", [
        "Id", "Username", "IsActive", "IsFrozen", "UserLoginId", "UserRoleId", "ManagerId", "ProfileId"], rows)


def _removals(ctx: RunContext) -> dict[str, dict[str, Change]]:
    """Assignment object -> the rows the plan removes (id -> change)."""
    removals: dict[str, dict[str, Change]] = defaultdict(dict)
    for c in ctx.plan.changes:
        if c.action.startswith("remove_") and change_object(c) in ASSIGNMENT_FIELDS:
            for rid in c.record_ids:
                removals[change_object(c)][rid] = c
    return removals


def _assignment_read(obj: str, wanted: dict[str, Change]) -> tuple[str, list[str]]:
    fields = ASSIGNMENT_FIELDS[obj]
    return (f"SELECT {', '.join(fields)} FROM {obj} WHERE {USER_FIELD[obj]} IN {{ids}}",
            sorted({c.user_id for c in wanted.values()}))


def _assignments(ctx: RunContext, reader: Any) -> dict[str, str]:
    """One CSV per assignment object the plan removes rows of (every field needed to re-create a row)."""
    digests = {}
    for obj, wanted in sorted(_removals(ctx).items()):
        fields = ASSIGNMENT_FIELDS[obj]
        rows = [r for r in reader.query_in(*_assignment_read(obj, wanted)) if r["Id"] in wanted]
        digests[f"{obj}.csv"] = write_csv(
            ctx.folder.backup_dir / f"{obj}.csv", [*fields, "Label", "ChangeId"],
            ([*(r.get(f) for f in fields), wanted[r["Id"]].label, wanted[r["Id"]].id] for r in rows))
    return digests


def _kept_teams(ctx: RunContext, reader: Any) -> dict[str, str]:
    """Colleagues' team rows on the accounts and opportunities the plan reassigns (``<Team>-kept.csv``):
    the reassign step keeps them through SOAP, checks them afterwards and re-creates any that was dropped."""
    digests = {}
    removed = removed_rows(ctx.plan)
    for spec in TEAMS.values():
        changes = [c for c in ctx.plan.changes if c.action == "reassign_owner" and c.object == spec.parent]
        if not changes:
            continue
        change_of = {rid: c for c in changes for rid in c.record_ids}
        owners = {(c.before or {}).get("OwnerId") or c.user_id for c in changes}
        rows = read_team_rows(reader, spec, owners, set(change_of), removed)
        digests[spec.kept_file] = write_csv(
            ctx.folder.backup_dir / spec.kept_file, [*spec.fields, "ChangeId"],
            ([*(r.get(f) for f in spec.fields), change_of[r[spec.parent_field]].id] for r in rows))
    return digests
