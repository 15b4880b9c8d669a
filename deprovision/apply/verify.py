"""``verify_run``: re-read the org and list every planned change of a run that does not hold (any more)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from deprovision.apply.backup import read_csv
from deprovision.apply.operations import ASSIGNMENT_KEYS, USER_FIELD, change_object
from deprovision.apply.runs import RunFolder
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
                  "repoint_delegated_approver": ("DelegatedApproverId", "delegated approver")}


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

    freezes = by_action.get("freeze", [])
    if freezes:
        users = sorted({c.user_id for c in freezes})
        frozen = {r["UserId"]: r["IsFrozen"] for r in client.query_in(
            "SELECT UserId, IsFrozen FROM UserLogin WHERE UserId IN {ids}", users)}
        for c in freezes:
            checked += 1
            if not frozen.get(c.user_id):
                leftovers.append(f"{who(c)}: login is not frozen")
    user_changes = by_action.get("deactivate", []) + by_action.get("clear_role", [])
    if user_changes:
        current = {r["Id"]: r for r in client.query_in(
            "SELECT Id, IsActive, UserRoleId FROM User WHERE Id IN {ids}", sorted({c.user_id for c in user_changes}))}
        for c in user_changes:
            checked += 1
            row = current.get(c.user_id, {})
            if c.action == "deactivate" and row.get("IsActive"):
                leftovers.append(f"{who(c)}: user is active")
            if c.action == "clear_role" and row.get("UserRoleId"):
                leftovers.append(f"{who(c)}: has a role again")
    leftovers += _check_assignments(client, folder, plan, by_action, who)
    checked += sum(len(by_action.get(a, [])) for a in REGRANT_WORDS)
    repoints = [c for action in REPOINT_FIELDS for c in by_action.get(action, [])]
    checked += len(repoints)
    leftovers += _check_repoints(client, plan, repoints, who)
    reassigns = by_action.get("reassign_owner", [])
    checked += len(reassigns)
    leftovers += _check_owners(client, reassigns, who)
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
    """Dependants whose ManagerId / DelegatedApproverId names a leaver again."""
    if not repoints:
        return []
    leavers = {u.id for u in plan.users}
    now = {r["Id"]: r for r in client.query_in(
        "SELECT Id, Username, ManagerId, DelegatedApproverId FROM User WHERE Id IN {ids}",
        sorted({rid for c in repoints for rid in c.record_ids}))}
    out = []
    for c in repoints:
        field, role = REPOINT_FIELDS[c.action]
        back = sorted(now[rid].get("Username") or rid for rid in c.record_ids
                      if now.get(rid, {}).get(field) in leavers)
        if back:
            out.append(f"{who(c)}: {role} of {len(back)} user{'s' if len(back) != 1 else ''} again "
                       f"({', '.join(back[:5])})")
    return out


def _check_owners(client, reassigns: list[Change], who) -> list[str]:
    out = []
    by_obj: dict[str, list[Change]] = defaultdict(list)
    for c in reassigns:
        by_obj[c.object].append(c)
    for obj, changes in sorted(by_obj.items()):
        owners = sorted({(c.before or {}).get("OwnerId") or c.user_id for c in changes})
        still = {r["Id"]: r["OwnerId"] for r in client.query_in(
            f"SELECT Id, OwnerId FROM {obj} WHERE OwnerId IN {{ids}}", owners)}
        for c in changes:
            n = sum(1 for rid in c.record_ids if rid in still)
            if n:
                out.append(f"{who(c)}: {n} {obj} record{'s' if n != 1 else ''} still owned by the user")
    return out
