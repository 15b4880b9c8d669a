"""``plan_rollback``: a plan reversing what one run did (and only that), executed as a run of its own.

Newest first: reactivate, restore role, re-create removed assignments from the backup (new ids),
give records back to their original owners (only those still owned by the successor the run set),
unfreeze last (only logins the run froze). OAuth tokens and sessions cannot be restored.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from deprovision.apply.backup import read_csv
from deprovision.apply.executor import Executor, RunResult
from deprovision.apply.journal import read_journal
from deprovision.apply.operations import ASSIGNMENT_KEYS, ROLLBACK_STEPS, USER_FIELD, change_object
from deprovision.apply.runs import RunFolder, utc_now
from deprovision.apply.teams import TEAMS, kept_rows, present_keys
from deprovision.plan.model import ACTIONS, Change, Plan

REMOVALS = ("remove_permission_set", "remove_permission_set_group", "remove_permission_set_license",
            "remove_public_group", "remove_queue", "remove_package_license", "remove_territory",
            "remove_account_team", "remove_opportunity_team")
# repoint action -> (its rollback action, the User field it moved)
REPOINTS = {"repoint_manager": ("restore_manager", "ManagerId"),
            "repoint_delegated_approver": ("restore_delegated_approver", "DelegatedApproverId"),
            "repoint_hierarchy_field": ("restore_hierarchy_field", None)}  # None: the field the change names


def _succeeded(state, change: Change, key: str) -> bool:
    return state.succeeded(change.id, key)


def _change(action: str, user, obj: str, ids: list[str], before: dict, after: dict, label: str = "",
            source: Change | None = None) -> Change:
    suffix = source.id if source else ",".join(ids[:1])
    return Change(id=f"{user.id}:{action}:{suffix}", action=action, phase=ACTIONS[action][0], user_id=user.id,
                  username=user.username, object=obj, record_ids=ids, before=before, after=after, label=label,
                  count=len(ids))


def _createable(obj: str, row: dict[str, str], schema) -> dict[str, str]:
    """The backed-up values the org's describe of ``obj`` lets a create set."""
    createable = {f["name"].lower() for f in schema.fields(obj) if f.get("createable")}
    out = {}
    for name, value in row.items():
        if name == "Id" or not value or name.lower() not in createable:
            continue
        out[name] = value
    if obj == "PermissionSetAssignment" and out.get("PermissionSetGroupId"):
        out.pop("PermissionSetId", None)  # a group assignment is created from the group alone
    return out


def plan_rollback(client, run_dir: Path) -> tuple[Plan, list[str]]:
    """The rollback plan of the run in ``run_dir`` and notes on what cannot or will not be reversed."""
    folder = RunFolder(Path(run_dir))
    source = folder.read_plan()
    state = read_journal(folder.journal_path)
    users = {u.id: u for u in source.users}
    notes: list[str] = []
    changes: list[Change] = []
    backup_users = {r["Id"]: r for r in read_csv(folder.backup_dir / "users.csv")} \
        if (folder.backup_dir / "users.csv").exists() else {}

    done = defaultdict(list)  # action -> [(change, key)]
    for c in source.changes:
        for key in (c.record_ids or [c.user_id]):
            if _succeeded(state, c, key):
                done[c.action].append((c, key))

    ids = sorted({c.user_id for c in source.changes})
    current = {r["Id"]: r for r in client.query_in(
        "SELECT Id, IsActive, UserRoleId FROM User WHERE Id IN {ids}", ids)} if ids else {}
    logins = {r["Id"]: r for r in client.query_in(
        "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN {ids}", ids)} if ids else {}

    for c, _key in done.get("deactivate", []):
        if current.get(c.user_id, {}).get("IsActive") is False:
            changes.append(_change("reactivate", users[c.user_id], "User", [c.user_id],
                                   {"IsActive": False}, {"IsActive": True}, source=c))
        else:
            notes.append(f"{users[c.user_id].username}: already active again; not reactivated")
    for c, _key in done.get("clear_role", []):
        role = (c.before or {}).get("UserRoleId") or backup_users.get(c.user_id, {}).get("UserRoleId")
        if not role:
            continue
        if current.get(c.user_id, {}).get("UserRoleId"):
            notes.append(f"{users[c.user_id].username}: role changed since the run; left as it is")
            continue
        changes.append(_change("restore_role", users[c.user_id], "User", [c.user_id], {"UserRoleId": None},
                               {"UserRoleId": role}, label=c.label, source=c))
    changes += _restore_dependants(client, done, users, notes)
    changes += _restore_assignments(client, folder, done, users, notes)
    changes += _restore_owners(client, folder, done, users, notes)
    changes += _restore_kept_teams(client, folder, source, users)
    for c, key in done.get("freeze", []):
        user = users[c.user_id]
        if user.is_frozen:
            continue  # frozen before the run: not ours to unfreeze
        if logins.get(key, {}).get("IsFrozen"):
            changes.append(_change("unfreeze", user, "UserLogin", [key], {"IsFrozen": True}, {"IsFrozen": False},
                                   source=c))
    if done.get("revoke_oauth_token") or done.get("end_sessions") or any(
            c.action in ("revoke_oauth_token", "end_sessions") for c in source.changes):
        notes.append("OAuth tokens and sessions ended by the run cannot be restored; those users sign in again.")
    pb = source.playbook or {}
    plan = Plan(
        org_id=source.org_id, instance_url=source.instance_url,
        api_user=getattr(client, "api_user", None) or source.api_user,
        playbook={"name": f"rollback of {folder.run_id}", "path": pb.get("path"), "sha256": pb.get("sha256"),
                  "reason": f"rollback of run {folder.run_id} ({pb.get('reason') or pb.get('name') or ''})"},
        variables={}, created_at=utc_now(), users=source.users, changes=changes, warnings=[], fingerprint={},
    )
    return plan, notes


def _restore_assignments(client, folder: RunFolder, done, users, notes: list[str]) -> list[Change]:
    out = []
    by_obj: dict[str, list[tuple[Change, str]]] = defaultdict(list)
    for action in REMOVALS:
        for c, key in done.get(action, []):
            by_obj[change_object(c)].append((c, key))
    for obj, items in sorted(by_obj.items()):
        path = folder.backup_dir / f"{obj}.csv"
        backup = {r["Id"]: r for r in read_csv(path)} if path.exists() else {}
        keys = ASSIGNMENT_KEYS[obj]
        present = {tuple(r.get(k) for k in keys) for r in client.query_in(
            f"SELECT {', '.join(keys)} FROM {obj} WHERE {USER_FIELD[obj]} IN {{ids}}",
            sorted({c.user_id for c, _ in items}))}
        for c, key in items:
            row = backup.get(key)
            if row is None:
                notes.append(f"{users[c.user_id].username}: no backup row for {obj} {key}; not restored")
                continue
            if tuple(row.get(k) or None for k in keys) in present:
                notes.append(f"{users[c.user_id].username}: {c.label or obj} is assigned again already")
                continue
            after = _createable(obj, row, client.schema)
            out.append(_change("restore_assignment", users[c.user_id], obj, [key], {}, after, label=c.label,
                               source=c))
    return out


def _restore_dependants(client, done, users, notes: list[str]) -> list[Change]:
    """Point other users' ManagerId / DelegatedApproverId back at the leaver, only where the run's value stays."""
    out = []
    items = [(c, key) for action in REPOINTS for c, key in done.get(action, [])]
    if not items:
        return out
    fields = sorted({_repoint_field(c) for c, _ in items} | {"ManagerId", "DelegatedApproverId"})
    now = {r["Id"]: r for r in client.query_in(
        f"SELECT Id, Username, {', '.join(fields)} FROM User WHERE Id IN {{ids}}",
        sorted({key for _, key in items}))}
    by_change: dict[str, tuple[Change, list[str]]] = {}
    for c, key in items:
        field = _repoint_field(c)
        if now.get(key, {}).get(field) == (c.after or {}).get(field):
            by_change.setdefault(c.id, (c, []))[1].append(key)
        else:
            who = now.get(key, {}).get("Username") or key
            notes.append(f"{users[c.user_id].username}: {field} of {who} changed since the run; left as it is")
    for c, ids in by_change.values():
        action, field = REPOINTS[c.action][0], _repoint_field(c)
        restored = _change(action, users[c.user_id], "User", sorted(ids), {field: (c.after or {}).get(field)},
                           {field: c.user_id}, label=f"{len(ids)} user{'s' if len(ids) != 1 else ''}", source=c)
        out.append(restored)
    return out


def _repoint_field(c: Change) -> str:
    """The User field a repoint change moved (a hierarchy field is named by the change itself)."""
    return REPOINTS[c.action][1] or next(iter(c.before))


def _restore_owners(client, folder: RunFolder, done, users, notes: list[str]) -> list[Change]:
    """Give records back to their original owner where the successor this run set still owns them."""
    out = []
    by_obj: dict[str, list[tuple[Change, str]]] = defaultdict(list)
    for c, key in done.get("reassign_owner", []):
        by_obj[c.object].append((c, key))
    for obj, items in sorted(by_obj.items()):
        successors = sorted({_new_owner(c) for c, _ in items if _new_owner(c)})
        owned_now = {r["Id"]: r["OwnerId"] for r in client.query_in(
            f"SELECT Id, OwnerId FROM {obj} WHERE OwnerId IN {{ids}}", successors)}
        groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        moved: dict[str, int] = defaultdict(int)
        for c, key in items:
            if owned_now.get(key) == _new_owner(c):
                original = (c.before or {}).get("OwnerId") or c.user_id
                groups[(c.id, original, _new_owner(c))].append(key)
            else:
                moved[c.user_id] += 1
        for user_id, n in sorted(moved.items()):
            notes.append(f"{users[user_id].username}: {n} {obj} record{'s' if n != 1 else ''} changed owner since "
                         "the run; skipped (left as they are)")
        source_changes = {c.id: c for c, _ in items}
        for (change_id, original, successor), ids in groups.items():
            c = source_changes[change_id]
            user = users[c.user_id]
            if original == user.id and not user.is_active:
                notes.append(f"{user.username}: was inactive before the run; {len(ids)} {obj} records stay with "
                             "the successor")
                continue
            out.append(_change("restore_owner", user, obj, ids, {"OwnerId": successor}, {"OwnerId": original},
                               label=f"{len(ids)} {obj}", source=c))
    return out


def _restore_kept_teams(client, folder: RunFolder, source: Plan, users) -> list[Change]:
    """Colleagues' team rows the run was to keep but that are missing now: re-created from the backup
    (before the owners are given back, which keeps them through SOAP)."""
    out = []
    changes = {c.id: c for c in source.changes}
    for spec in TEAMS.values():
        rows = kept_rows(folder, spec) or []
        if not rows:
            continue
        present = present_keys(client, spec, {r[spec.parent_field] for r in rows})
        for r in rows:
            c = changes.get(r.get("ChangeId", ""))
            if c is None or spec.natural(r) in present:
                continue
            label = f"colleague {r['UserId']} on {spec.parent} {r[spec.parent_field]}"
            out.append(_change("restore_assignment", users[c.user_id], spec.obj, [r["Id"]], {},
                               spec.createable(r), label=label))
    return out


def _new_owner(c: Change) -> str | None:
    return (c.after or {}).get("OwnerId") or (c.successor.id if c.successor else None)


def execute_rollback(client, plan: Plan, run_dir: Path, *, progress=None, api_calls_at_start: int = 0) -> RunResult:
    """Run a rollback plan (steps newest first) into its own run folder; its API calls count from
    ``api_calls_at_start`` of the client (0: the rollback's own planning reads included)."""
    return Executor(client, plan, run_dir, progress, steps=ROLLBACK_STEPS, kind="rollback",
                    api_calls_at_start=api_calls_at_start).run()


def render_rollback(plan: Plan) -> str:
    """The rollback's diff in words, per user, newest first (what will be put back)."""
    lines = [f"deprovision rollback: {plan.playbook.get('name')}", f"org {plan.org_id} ({plan.instance_url})", ""]
    users = {u.id: u for u in plan.users}
    order = {a: i for i, (_, actions) in enumerate(ROLLBACK_STEPS) for a in actions}
    by_user: dict[str, list[Change]] = defaultdict(list)
    for c in plan.changes:
        by_user[c.user_id].append(c)
    for user_id, changes in sorted(by_user.items(), key=lambda kv: users[kv[0]].username):
        lines.append(f"{users[user_id].username}")
        for c in sorted(changes, key=lambda c: order.get(c.action, 99)):
            if c.action == "reactivate":
                lines.append("+ reactivate user  (inactive → active)")
            elif c.action == "unfreeze":
                lines.append("~ unfreeze login  (frozen → active)")
            elif c.action in ("restore_manager", "restore_delegated_approver", "restore_hierarchy_field"):
                field = next(iter(c.after))
                n = len(c.record_ids)
                lines.append(f"~ {ACTIONS[c.action][2]} {n} user{'s' if n != 1 else ''}  "
                             f"({field} {c.before.get(field)} → "
                             f"{c.after.get(field)})")
            elif c.action == "restore_role":
                lines.append(f"+ restore role {c.label}".rstrip() + "  (no role → role)")
            elif c.action == "restore_assignment":
                lines.append(f"+ restore {c.object} {c.label}  (removed → assigned, new id)")
            elif c.action == "restore_owner":
                lines.append(f"← give {len(c.record_ids)} {c.object} back  (owner {c.before.get('OwnerId')} → "
                             f"{c.after.get('OwnerId')})")
        lines.append("")
    records = sum(len(c.record_ids) for c in plan.changes if c.action == "restore_owner")
    lines.append(f"Rollback: {len(by_user)} users, {len(plan.changes)} changes ({records:,} records).")
    return "\n".join(lines)
