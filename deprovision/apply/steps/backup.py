"""Back up, before anything is removed or reassigned: users, owners, the assignments the plan removes and
the owned records of the playbook's backup objects, as CSV with their SHA-256 in ``SHA256SUMS``."""

from __future__ import annotations

from collections import defaultdict

from deprovision.apply import audit_events
from deprovision.apply.backup import write_csv, write_sha256sums
from deprovision.apply.context import RunContext
from deprovision.apply.operations import ASSIGNMENT_FIELDS, USER_FIELD, change_object
from deprovision.apply.record_backup import write_files, write_records
from deprovision.apply.teams import TEAMS, read_team_rows, removed_rows
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
        digests["users.csv"] = _users(ctx, user_ids)
        owner_rows = (
            [c.object, rid, (c.before or {}).get("OwnerId") or c.user_id,
             (c.after or {}).get("OwnerId") or (c.successor.id if c.successor else ""), c.id]
            for c in plan.changes if c.action == "reassign_owner" for rid in c.record_ids)
        digests["owners.csv"] = write_csv(backup_dir / "owners.csv",
                                          ["Object", "Id", "OwnerId", "NewOwnerId", "ChangeId"], owner_rows)
        digests.update(_assignments(ctx))
        digests.update(_kept_teams(ctx))
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


def _users(ctx: RunContext, user_ids: list[str]) -> str:
    logins = {c.user_id: (c.record_ids[0] if c.record_ids else "") for c in ctx.plan.changes
              if c.action == "freeze"}
    current = {r["Id"]: r for r in ctx.reader.query_in(
        "SELECT Id, Username, IsActive, UserRoleId, ManagerId, ProfileId FROM User WHERE Id IN {ids}",
        user_ids)} if user_ids else {}
    rows = []
    for uid in user_ids:
        pu, row = ctx.users[uid], current.get(uid, {})
        rows.append([uid, pu.username, pu.is_active, pu.is_frozen, logins.get(uid, ""),
                     row.get("UserRoleId"), row.get("ManagerId"), row.get("ProfileId")])
    return write_csv(ctx.folder.backup_dir / "users.csv", [
        "Id", "Username", "IsActive", "IsFrozen", "UserLoginId", "UserRoleId", "ManagerId", "ProfileId"], rows)


def _assignments(ctx: RunContext) -> dict[str, str]:
    """One CSV per assignment object the plan removes rows of (every field needed to re-create a row)."""
    digests = {}
    removals: dict[str, dict[str, Change]] = defaultdict(dict)
    for c in ctx.plan.changes:
        if c.action.startswith("remove_") and change_object(c) in ASSIGNMENT_FIELDS:
            for rid in c.record_ids:
                removals[change_object(c)][rid] = c
    for obj, wanted in sorted(removals.items()):
        fields = ASSIGNMENT_FIELDS[obj]
        users = sorted({c.user_id for c in wanted.values()})
        rows = [r for r in ctx.reader.query_in(
            f"SELECT {', '.join(fields)} FROM {obj} WHERE {USER_FIELD[obj]} IN {{ids}}", users) if r["Id"] in wanted]
        digests[f"{obj}.csv"] = write_csv(
            ctx.folder.backup_dir / f"{obj}.csv", [*fields, "Label", "ChangeId"],
            ([*(r.get(f) for f in fields), wanted[r["Id"]].label, wanted[r["Id"]].id] for r in rows))
    return digests


def _kept_teams(ctx: RunContext) -> dict[str, str]:
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
        rows = read_team_rows(ctx.reader, spec, owners, set(change_of), removed)
        digests[spec.kept_file] = write_csv(
            ctx.folder.backup_dir / spec.kept_file, [*spec.fields, "ChangeId"],
            ([*(r.get(f) for f in spec.fields), change_of[r[spec.parent_field]].id] for r in rows))
    return digests
