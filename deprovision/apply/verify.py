"""``verify_run``: re-read the org and list every planned change of a run that does not hold (any more)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from deprovision.apply.backup import read_csv
from deprovision.apply.operations import ASSIGNMENT_KEYS, USER_FIELD, change_object
from deprovision.apply.owners_check import describe, owner_mismatches
from deprovision.apply.runs import RunFolder
from deprovision.apply.teams import TEAMS, kept_rows, present_keys
from deprovision.plan.model import Change, Plan

REGRANT_WORDS = {
    "remove_permission_set": "permission set {label} assigned again",
    "remove_permission_set_group": "permission set group {label} assigned again",
    "remove_permission_set_license": "permission set licence {label} assigned again",
    "remove_public_group": "member of public group {label} again",
    "remove_queue": "member of queue {label} again",
    "remove_package_license": "package licence {label} assigned again",
    "remove_territory": "territory {label} assigned again",
    "remove_account_team": "on the account team of {label} again",
    "remove_opportunity_team": "on the opportunity team of {label} again",
}
REPOINT_FIELDS = {"repoint_manager": ("ManagerId", "manager"),
                  "repoint_delegated_approver": ("DelegatedApproverId", "delegated approver"),
                  "restore_manager": ("ManagerId", "manager"),
                  "restore_delegated_approver": ("DelegatedApproverId", "delegated approver"),
                  # a custom User lookup to User: the field is the one the change names in ``after``
                  "repoint_hierarchy_field": (None, "hierarchy field"),
                  "restore_hierarchy_field": (None, "hierarchy field")}
OWNER_ACTIONS = ("reassign_owner", "restore_owner")


def _backup_rows(folder: RunFolder, obj: str) -> dict[str, dict[str, str]]:
    path = folder.backup_dir / f"{obj}.csv"
    return {r["Id"]: r for r in read_csv(path)} if path.exists() else {}


def verify_run(client, run_dir: Path, *, with_counts: bool = False):
    """Leftovers of run ``run_dir`` as lines ("nina.patel@acme.example: permission set X assigned again").

    With ``with_counts`` returns ``(leftovers, changes_checked)``.
    """
    folder = RunFolder(Path(run_dir))
    plan = folder.read_plan()
    from deprovision.schedule.run import due_now

    plan.changes = due_now(plan)  # a scheduled run's later changes are not due yet: nothing to check
    leftovers: list[str] = []
    checked = 0
    by_action: dict[str, list[Change]] = defaultdict(list)
    for c in plan.changes:
        by_action[c.action].append(c)
    name = {u.id: u.username for u in plan.users}

    def who(c: Change) -> str:
        return name.get(c.user_id, c.username)

    logins = by_action.get("freeze", []) + by_action.get("unfreeze", [])
    if logins:
        frozen = {r["UserId"]: r["IsFrozen"] for r in client.query_in(
            "SELECT UserId, IsFrozen FROM UserLogin WHERE UserId IN {ids}", sorted({c.user_id for c in logins}))}
        for c in logins:
            checked += 1
            if c.action == "freeze" and not frozen.get(c.user_id):
                leftovers.append(f"{who(c)}: login is not frozen")
            if c.action == "unfreeze" and frozen.get(c.user_id):
                leftovers.append(f"{who(c)}: login is frozen")
    user_changes = [c for a in ("deactivate", "clear_role", "reactivate", "restore_role")
                    for c in by_action.get(a, [])]
    if user_changes:
        current = {r["Id"]: r for r in client.query_in(
            "SELECT Id, IsActive, UserRoleId FROM User WHERE Id IN {ids}", sorted({c.user_id for c in user_changes}))}
        for c in user_changes:
            checked += 1
            row = current.get(c.user_id, {})
            if c.action == "deactivate" and row.get("IsActive"):
                leftovers.append(f"{who(c)}: user is active")
            if c.action == "reactivate" and not row.get("IsActive"):
                leftovers.append(f"{who(c)}: user is not active")
            if c.action == "clear_role" and row.get("UserRoleId"):
                leftovers.append(f"{who(c)}: has a role again")
            if c.action == "restore_role" and row.get("UserRoleId") != (c.after or {}).get("UserRoleId"):
                leftovers.append(f"{who(c)}: role is {row.get('UserRoleId') or 'none'}, the rollback set "
                                 f"{(c.after or {}).get('UserRoleId')}")
    restores = by_action.get("restore_assignment", [])
    checked += len(restores)
    leftovers += _check_restored_assignments(client, restores, who)
    leftovers += _check_assignments(client, folder, plan, by_action, who)
    checked += sum(len(by_action.get(a, [])) for a in REGRANT_WORDS)
    repoints = [c for action in REPOINT_FIELDS for c in by_action.get(action, [])]
    checked += len(repoints)
    leftovers += _check_repoints(client, plan, repoints, who)
    owner_changes = [c for a in OWNER_ACTIONS for c in by_action.get(a, [])]
    if owner_changes:
        mismatches, _records = owner_mismatches(client, owner_changes)
        checked += len(owner_changes)
        leftovers += describe(mismatches, who, _names(client, plan, {m.actual for m in mismatches if m.actual}
                                                      | {m.expected for m in mismatches}))
    kept, lines = _check_kept_teams(client, folder, plan)
    checked += kept
    leftovers += lines
    tokens = by_action.get("revoke_oauth_token", [])
    if tokens:
        checked += len(tokens)
        present = defaultdict(int)
        for r in client.query_in("SELECT UserId, AppName FROM OauthToken WHERE UserId IN {ids}",
                                 sorted({c.user_id for c in tokens})):
            present[r["UserId"]] += 1
        for user_id, n in sorted(present.items()):
            leftovers.append(f"{name.get(user_id, user_id)}: {n} OAuth token{'s' if n != 1 else ''} present")
    return (leftovers, checked) if with_counts else leftovers


def _check_assignments(client, folder: RunFolder, plan: Plan, by_action, who) -> list[str]:
    out = []
    by_obj: dict[str, list[Change]] = defaultdict(list)
    for action in REGRANT_WORDS:
        for c in by_action.get(action, []):
            by_obj[change_object(c)].append(c)
    for obj, changes in sorted(by_obj.items()):
        keys = ASSIGNMENT_KEYS.get(obj)
        backup = _backup_rows(folder, obj)
        users = sorted({c.user_id for c in changes})
        fields = sorted({"Id", *(keys or ())})
        rows = list(client.query_in(f"SELECT {', '.join(fields)} FROM {obj} WHERE {USER_FIELD[obj]} IN {{ids}}",
                                    users))
        ids_now = {r["Id"] for r in rows}
        natural_now = {tuple(r.get(k) for k in keys) for r in rows} if keys else set()
        for c in changes:
            for rid in c.record_ids:
                row = backup.get(rid)
                back = rid in ids_now
                if not back and row and keys:
                    back = tuple(row.get(k) or None for k in keys) in natural_now
                if back:
                    out.append(f"{who(c)}: " + REGRANT_WORDS[c.action].format(label=c.label or rid))
    return out


def _check_repoints(client, plan: Plan, repoints: list[Change], who) -> list[str]:
    """Dependants whose ManagerId / DelegatedApproverId / hierarchy field is not the user the plan (or rollback) set."""
    if not repoints:
        return []
    leavers = {u.id for u in plan.users}
    fields = {"ManagerId", "DelegatedApproverId"} | {_repoint_field(c) for c in repoints}
    fields = {f for f in fields if f and f.replace("_", "").isalnum()}  # API names only, never plan text
    now = {r["Id"]: r for r in client.query_in(
        f"SELECT Id, Username, {', '.join(sorted(fields))} FROM User WHERE Id IN {{ids}}",
        sorted({rid for c in repoints for rid in c.record_ids}))}
    out = []
    for c in repoints:
        field, role = _repoint_field(c), REPOINT_FIELDS[c.action][1]
        if field not in fields:
            out.append(f"{who(c)}: the plan names no valid User field to check ({c.action})")
            continue
        if c.action.endswith("hierarchy_field"):
            role = field
        planned = (c.after or {}).get(field)
        wrong = [rid for rid in c.record_ids if now.get(rid, {}).get(field) != planned]
        back = sorted(now[rid].get("Username") or rid for rid in wrong
                      if c.action.startswith("repoint") and now.get(rid, {}).get(field) in leavers)
        if back:
            out.append(f"{who(c)}: {role} of {len(back)} user{'s' if len(back) != 1 else ''} again "
                       f"({', '.join(back[:5])})")
        for rid in wrong:
            row = now.get(rid, {})
            if c.action.startswith("repoint") and row.get(field) in leavers:
                continue
            out.append(f"User {row.get('Username') or rid}: {field} is {row.get(field) or 'empty'}, "
                       f"the {'plan' if c.action.startswith('repoint') else 'rollback'} set {planned} [{who(c)}]")
    return out


def _repoint_field(c: Change) -> str | None:
    """The User field a re-point (or its restore) writes: fixed for manager / approver, named in ``after`` else."""
    field = REPOINT_FIELDS[c.action][0]
    if field is None:
        names = list(c.after or {})
        field = names[0] if len(names) == 1 else None
    return field


def _check_restored_assignments(client, restores: list[Change], who) -> list[str]:
    """A rollback's re-created assignments: each is present again (matched on the fields it was created with)."""
    out = []
    by_obj: dict[str, list[Change]] = defaultdict(list)
    for c in restores:
        by_obj[c.object].append(c)
    for obj, changes in sorted(by_obj.items()):
        keys = ASSIGNMENT_KEYS.get(obj)
        if not keys:
            continue
        user_field = USER_FIELD[obj]
        fields = sorted({*keys, *(k for c in changes for k in (c.after or {}) if k in ("PermissionSetGroupId",))})
        rows: dict[str, list[dict]] = defaultdict(list)
        for r in client.query_in(f"SELECT {', '.join(fields)} FROM {obj} WHERE {user_field} IN {{ids}}",
                                 sorted({(c.after or {}).get(user_field) or c.user_id for c in changes})):
            rows[r.get(user_field)].append(r)
        for c in changes:
            want = {k: v for k, v in (c.after or {}).items() if k in fields and v}
            user = want.get(user_field) or c.user_id
            if not any(all(r.get(k) == v for k, v in want.items()) for r in rows.get(user, [])):
                out.append(f"{who(c)}: {obj} {c.label or ''} not present again".replace("  ", " "))
    return out


def _names(client, plan: Plan, ids: set[str]) -> Callable[[str | None], str]:
    """A function naming a user or queue id (username, queue name), read in one call per kind."""
    names = {u.id: u.username for u in plan.users}
    for c in plan.changes:
        if c.successor is not None:
            names[c.successor.id] = c.successor.name
    users = sorted(i for i in ids if i and i not in names and i.startswith("005"))
    groups = sorted(i for i in ids if i and i not in names and i.startswith("00G"))
    if users:
        names.update({r["Id"]: r["Username"] for r in client.query_in(
            "SELECT Id, Username FROM User WHERE Id IN {ids}", users)})
    if groups:
        names.update({r["Id"]: r["Name"] for r in client.query_in(
            "SELECT Id, Name FROM Group WHERE Id IN {ids}", groups)})
    return lambda i: names.get(i, i) if i else "nobody"


def _check_kept_teams(client, folder: RunFolder, plan: Plan) -> tuple[int, list[str]]:
    """Colleagues' team rows the run kept on reassigned accounts and opportunities: each is still there."""
    checked, out = 0, []
    changes = {c.id: c for c in plan.changes}
    for spec in TEAMS.values():
        rows = kept_rows(folder, spec) or []
        if not rows:
            continue
        checked += len(rows)
        present = present_keys(client, spec, {r[spec.parent_field] for r in rows})
        for r in rows:
            if spec.natural(r) not in present:
                c = changes.get(r.get("ChangeId", ""))
                who = f" [{c.username}]" if c else ""
                out.append(f"{spec.obj} {r['Id']}: user {r['UserId']} is no longer on the {spec.parent.lower()} team "
                           f"of {spec.parent} {r[spec.parent_field]} (kept by the run){who}")
    return checked, out
