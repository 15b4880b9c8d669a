"""``drift --fix``: an ordinary plan (``plan.model.Plan``) that removes again what came back.

It is rendered, saved and applied like any plan (``deprovision apply PLAN.json``), as a run of its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deprovision.clock import iso, now
from deprovision.drift.detect import Finding
from deprovision.drift.history import RunHistory
from deprovision.drift.read import OrgView
from deprovision.plan.model import ACTIONS, PHASES, Change, Plan, PlanUser, Successor


def _change(f: Finding, action: str, obj: str, ids: list[str], before: dict[str, Any], after: dict[str, Any],
            label: str, suffix: str, successor: Successor | None = None) -> Change:
    return Change(id=f"{f.user_id}:{action}:{suffix}", action=action, phase=ACTIONS[action][0], user_id=f.user_id,
                  username=f.username, object=obj, record_ids=ids, before=before, after=after, label=label,
                  successor=successor, count=len(ids) if action == "reassign_owner" else 0)


def _changes_for(f: Finding, sources: dict[str, Change]) -> list[Change]:
    fix = f.fix
    action = fix.get("action")
    if action == "deactivate":
        return [_change(f, "deactivate", "User", [f.user_id], {"IsActive": True}, {"IsActive": False}, "user",
                        "user")]
    if action == "freeze":
        return [_change(f, "freeze", "UserLogin", list(f.record_ids), {"IsFrozen": False}, {"IsFrozen": True},
                        "login", f.record_ids[0])]
    if action == "clear_role":
        return [_change(f, "clear_role", "User", [f.user_id], {"UserRoleId": fix.get("role")},
                        {"UserRoleId": None}, "role", "role")]
    if action and action.startswith("remove_"):
        return [_change(f, action, f.object, list(f.record_ids), dict(fix.get("before") or {}), {},
                        fix.get("label") or "", f.record_ids[0])]
    if action == "reassign_owner":
        source = sources.get(fix.get("change_id") or "")
        successor = source.successor if source else None
        owner = fix.get("successor") or (successor.id if successor else None)
        if not owner:
            return []
        n = len(f.record_ids)
        return [_change(f, "reassign_owner", f.object, list(f.record_ids), {"OwnerId": f.user_id},
                        {"OwnerId": owner}, f"{n} {f.object}", f"{f.object}:{owner}",
                        successor=replace(successor) if successor else None)]
    if action == "end_sessions":
        return [_change(f, "end_sessions", "AuthSession", [], {"sessions": "any"}, {"sessions": 0}, "sessions",
                        "sessions")]
    if action == "revoke_oauth_token":
        app = fix.get("app") or "app"
        return [_change(f, "revoke_oauth_token", "OauthToken", [], {"AppName": app}, {"AppName": app, "tokens": 0},
                        app, app)]
    return []


def fix_plan(client, findings: list[Finding], runs: list[RunHistory], view: OrgView) -> Plan:
    """The plan removing again everything in ``findings`` (one change per thing, per user)."""
    sources = {c.id: c for run in runs for c in run.plan.changes}
    planned: dict[str, PlanUser] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        for user in run.plan.users:
            planned[user.id] = user
    changes: dict[str, Change] = {}
    for finding in findings:
        for change in _changes_for(finding, sources):
            changes.setdefault(change.id, change)
    users = []
    for user_id in sorted({c.user_id for c in changes.values()}):
        row, login = view.users.get(user_id, {}), view.logins.get(user_id, {})
        base = planned.get(user_id)
        if base is None:
            continue
        users.append(replace(base, is_active=bool(row.get("IsActive", base.is_active)),
                             is_frozen=bool(login.get("IsFrozen", base.is_frozen))))
    order = {p: i for i, p in enumerate(PHASES)}
    ordered = sorted(changes.values(), key=lambda c: (order.get(c.phase, 99), c.username, c.action, c.id))
    run_ids = sorted({f.run_id for f in findings})
    api_user = getattr(client, "api_user", None) or {}
    return Plan(
        org_id=getattr(client, "org_id", "") or "", instance_url=getattr(client, "instance_url", "") or "",
        api_user={"id": api_user.get("id", ""), "username": api_user.get("username", "")},
        playbook={"name": "drift-fix", "path": None, "sha256": None,
                  "reason": f"drift fix of run{'s' if len(run_ids) != 1 else ''} {', '.join(run_ids)}"},
        variables={}, created_at=iso(now()), users=users, changes=ordered, warnings=[], fingerprint={})
