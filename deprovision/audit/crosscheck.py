"""Salesforce's own record next to ours: Setup Audit Trail rows and a fresh re-check of the org."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deprovision.audit.redact import redact
from deprovision.audit.report import Report, RunReport, match_leaver
from deprovision.audit.times import parse_ts

# Our action -> the SetupAuditTrail Action Salesforce records for one record of it.
TRAIL_ACTIONS = {
    "freeze": "frozeuser", "unfreeze": "unfrozeuser", "deactivate": "deactivateduser",
    "reactivate": "activateduser", "remove_permission_set": "PermSetUnassign",
    "remove_permission_set_group": "PermSetGroupUnassign",
    "remove_permission_set_license": "PermSetLicenseUnassign", "remove_public_group": "groupMembership",
    "remove_queue": "queueMembership", "remove_package_license": "removeduserpackagelicense",
    "remove_territory": "tm2_userRemovedFromTerritory", "clear_role": "changedroleforusertonone",
    "repoint_manager": "changedManager", "restore_manager": "changedManager",  # one row per dependant
}


def cross_check(report: Report, client: Any, *, margin_seconds: int = 300) -> None:
    """Put Salesforce's SetupAuditTrail rows for each run's window next to our events."""
    from datetime import timedelta

    from deprovision.org.soql import soql_literal

    for run in report.runs:
        start = parse_ts(run.started_at)
        if start is None:
            continue
        end = parse_ts(run.finished_at) or parse_ts(report.generated_at) or datetime.now(UTC)
        soql = ("SELECT Action, Section, Display, CreatedDate, CreatedBy.Username FROM SetupAuditTrail "
                f"WHERE CreatedDate >= {soql_literal(start - timedelta(seconds=margin_seconds))} "
                f"AND CreatedDate <= {soql_literal(end + timedelta(seconds=margin_seconds))} "
                "ORDER BY CreatedDate")
        rows = [_trail_row(r) for r in client.query(soql)]
        compare_with_trail(run, rows)
        run.cross_checked = True


def _trail_row(record: dict[str, Any]) -> dict[str, Any]:
    created_by = record.get("CreatedBy") or {}
    return redact({"action": record.get("Action"), "section": record.get("Section"),
                   "display": record.get("Display") or "", "created": record.get("CreatedDate"),
                   "by": created_by.get("Username") if isinstance(created_by, dict) else None})


def _trail_owners(run: RunReport, rows: list[dict[str, Any]]) -> dict[int, str]:
    """Row index -> leaver key: the leaver whose username or id the Display names (first mention
    wins), else the one whose full name it names (real orgs often show names, not usernames)."""
    owners: dict[int, str] = {}
    for index, row in enumerate(rows):
        text = row["display"].lower()
        hits = []
        for key, leaver in run.leavers.items():
            positions = [text.find(n.lower()) for n in (leaver.username, leaver.user_id) if n]
            positions = [p for p in positions if p >= 0]
            if positions:
                hits.append((min(positions), key))
        if not hits:
            for key, leaver in run.leavers.items():
                found = re.search(rf"\b{re.escape(leaver.full_name)}\b", row["display"], re.I) \
                    if leaver.full_name else None
                if found:
                    hits.append((found.start(), key))
        if hits:
            owners[index] = min(hits)[1]
    return owners


def compare_with_trail(run: RunReport, rows: list[dict[str, Any]]) -> None:
    """Pair the trail rows with the run's leavers and note every change one side lacks."""
    owner = _trail_owners(run, rows)
    claimed = set(owner)
    for key, leaver in run.leavers.items():
        mine = [row for i, row in enumerate(rows) if owner.get(i) == key]
        leaver.trail = mine
        theirs: dict[str, int] = defaultdict(int)
        for row in mine:
            theirs[row["action"]] += 1
        ours: dict[str, int] = defaultdict(int)
        for action, step in leaver.steps.items():
            code = TRAIL_ACTIONS.get(action)
            if code and step.applied:
                ours[code] += step.records if action not in ("freeze", "deactivate", "clear_role",
                                                             "unfreeze", "reactivate") else 1
        leaver.trail_mismatches = []
        for code in sorted(set(ours) | set(theirs)):
            if ours.get(code, 0) > theirs.get(code, 0):
                leaver.trail_mismatches.append(
                    f"{code}: {ours[code]} in our log, {theirs.get(code, 0)} in Salesforce's audit trail")
            elif theirs.get(code, 0) > ours.get(code, 0):
                leaver.trail_mismatches.append(
                    f"{code}: {theirs[code]} in Salesforce's audit trail, {ours.get(code, 0)} in our log "
                    "(a change made outside this run?)")
        actor = (run.actor or {}).get("username")
        for row in leaver.trail:
            if actor and row.get("by") and row["by"] != actor:
                leaver.trail_mismatches.append(
                    f"{row['action']} at {row['created']} made by {row['by']}, not by {actor}")
    run.trail_only = [r for i, r in enumerate(rows) if i not in claimed]


def add_fresh_verification(report: Report, client: Any, state_dir: Path) -> None:
    """Re-read the org now (``deprovision verify``'s check) and attach the leftovers per leaver."""
    from deprovision.apply.runs import runs_root
    from deprovision.apply.verify import verify_run

    for run in report.runs:
        run_dir = runs_root(state_dir) / run.run_id
        if not run_dir.is_dir():
            run.notes.append(f"no run folder {run_dir}: cannot re-check the org for this run")
            continue
        leftovers = verify_run(client, run_dir)
        for leaver in run.leavers.values():
            leaver.fresh_leftovers = []
        for text in leftovers:
            leaver = match_leaver(run, text)
            if leaver:
                leaver.fresh_leftovers.append(text)
            else:
                run.run_leftovers.append(f"(now) {text}")
