"""``drift --fix``: an ordinary plan (``plan.model.Plan``) that removes again what came back.

The plan is made the way every plan is made: a playbook (built here, in memory, for the users with
findings) is planned against the org (``read_snapshot`` + ``compute_plan``), so it carries a fingerprint
and the source runs' protect rules, and ``apply PLAN.json`` checks it like any saved plan. Of what that
playbook would do, the plan keeps only the changes that undo a finding.
"""

from __future__ import annotations

from typing import Any

from deprovision.clock import iso, now
from deprovision.drift.detect import Finding
from deprovision.drift.history import RunHistory
from deprovision.org.soql import soql_literal
from deprovision.plan.model import Plan

# finding fix action -> the playbook's revoke key
_REVOKE_KEYS = {"remove_permission_set": "permission_sets", "remove_permission_set_group": "permission_set_groups",
                "remove_permission_set_license": "permission_set_licenses", "remove_public_group": "public_groups",
                "remove_queue": "queues", "remove_package_license": "package_licenses",
                "remove_territory": "territories", "remove_account_team": "teams",
                "remove_opportunity_team": "teams"}


def _protect(runs: list[RunHistory]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {"usernames": set(), "ids": set(), "profiles": set()}
    for run in runs:
        protect = (run.plan.rules or {}).get("protect") or {}
        for key in out:
            out[key].update(protect.get(key) or [])
    return {k: sorted(v) for k, v in out.items()}


def _successors(client, findings: list[Finding]) -> dict[str, str]:
    """Owner id -> successor rule (``id:005...`` for a user, ``queue:DEVELOPER_NAME`` for a queue)."""
    owners = sorted({f.fix["successor"] for f in findings if f.fix.get("action") == "reassign_owner"
                     and f.fix.get("successor")})
    rules = {o: f"id:{o}" for o in owners if o.startswith("005")}
    queues = [o for o in owners if o.startswith("00G")]
    for row in client.query_in("SELECT Id, DeveloperName FROM Group WHERE Id IN {ids}", queues) if queues else ():
        rules[row["Id"]] = f"queue:{row['DeveloperName']}"
    return rules


def fix_playbook(client, findings: list[Finding], runs: list[RunHistory]):
    """The playbook that would take the users with findings out again (in memory, never written)."""
    from deprovision.playbook.model import Playbook

    actions = {f.fix.get("action") for f in findings}
    revoke: dict[str, Any] = {key: "all" for action, key in _REVOKE_KEYS.items() if action in actions}
    if "end_sessions" in actions:
        revoke["sessions"] = True
    if "revoke_oauth_token" in actions:
        revoke["oauth_tokens"] = "all"
    if "clear_role" in actions:
        revoke["role"] = True
    successors = _successors(client, findings)
    objects: dict[str, dict[str, str]] = {}
    for f in findings:
        rule = successors.get(f.fix.get("successor") or "")
        if f.fix.get("action") == "reassign_owner" and rule:
            ids = sorted(set(f.record_ids) | set(objects.get(f.object, {}).get("_ids", [])))
            objects[f.object] = {"to": rule, "_ids": ids}
    reassign = {obj: {"to": r["to"], "where": "Id IN (" + ", ".join(soql_literal(i) for i in r["_ids"]) + ")"}
                for obj, r in objects.items()}
    users = sorted({f.user_id for f in findings})
    run_ids = sorted({f.run_id for f in findings})
    data: dict[str, Any] = {
        "version": 1, "name": "drift-fix",
        "reason": f"drift fix of run{'s' if len(run_ids) != 1 else ''} {', '.join(run_ids)}",
        "users": {"ids": users, "on_missing": "warn"},
        "protect": _protect(runs), "limits": {"max_users": max(25, len(users))},
        "actions": {"freeze": bool(actions & {"freeze", "end_sessions"}), "deactivate": "deactivate" in actions},
    }
    if revoke:
        data["actions"]["revoke"] = revoke
    if reassign:
        data["actions"]["reassign"] = {"objects": reassign}
    return Playbook.model_validate(data)


def _wanted(findings: list[Finding]) -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    """(user, action) pairs and (user, action, record id) triples the findings call for."""
    pairs, triples = set(), set()
    for f in findings:
        action = f.fix.get("action")
        if action in ("freeze", "end_sessions"):
            pairs |= {(f.user_id, "freeze"), (f.user_id, "end_sessions")}
        elif action in ("deactivate", "clear_role", "revoke_oauth_token"):
            pairs.add((f.user_id, action))
        else:
            triples |= {(f.user_id, action, rid) for rid in f.record_ids}
    return pairs, triples


def fix_plan(client, findings: list[Finding], runs: list[RunHistory]) -> Plan:
    """The plan removing again everything in ``findings`` (planned against the org now)."""
    from deprovision.plan import compute_plan, read_snapshot
    from deprovision.plan.validate import attach_rules

    playbook = fix_playbook(client, findings, runs)
    plan = attach_rules(compute_plan(playbook, read_snapshot(client, playbook), created_at=iso(now())), playbook)
    pairs, triples = _wanted(findings)
    kept = []
    for change in plan.changes:
        if (change.user_id, change.action) in pairs:
            kept.append(change)
            continue
        ids = [rid for rid in change.record_ids if (change.user_id, change.action, rid) in triples]
        if ids:
            change.record_ids, change.count = ids, len(ids) if change.action == "reassign_owner" else change.count
            kept.append(change)
    plan.changes = kept
    plan.playbook = {**plan.playbook, "path": "", "sha256": ""}
    return plan
