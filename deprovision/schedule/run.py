"""Run what has come due of a scheduled plan into its run folder, and say what waits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from deprovision.apply import audit_events
from deprovision.apply.executor import Executor, RunResult
from deprovision.apply.operations import APPLY_STEPS
from deprovision.apply.runs import RunFolder, list_runs, runs_root
from deprovision.clock import iso, parse
from deprovision.clock import now as clock_now
from deprovision.plan.model import Change, Plan
from deprovision.schedule.split import CUT_ACCESS

STATUS_SCHEDULED = "scheduled"
_CUT_STEPS = ("export", "freeze", "revoke_sessions")  # a wind-down exports the org before it revokes


def _due(change: Change, moment: datetime) -> bool:
    at = parse(change.due_at)
    return at is None or at <= moment


def due_now(plan: Plan, moment: datetime | None = None) -> list[Change]:
    """The changes of ``plan`` due at ``moment`` (default now): all of them unless the plan is scheduled."""
    moment = moment or clock_now()
    return [c for c in plan.changes if _due(c, moment)]


def pending_of(plan: Plan, moment: datetime) -> list[dict[str, Any]]:
    """What waits, by time: ``[{"at", "changes", "users"}]``, soonest first."""
    waiting: dict[str, list[Change]] = defaultdict(list)
    for change in plan.changes:
        if not _due(change, moment):
            waiting[change.due_at or ""].append(change)
    return [{"at": at, "changes": len(cs), "users": sorted({c.username for c in cs})}
            for at, cs in sorted(waiting.items())]


def run_due(client, plan: Plan, folder: RunFolder, *, progress=None,
            moment: datetime | None = None) -> RunResult | None:
    """Apply the changes of ``plan`` due at ``moment`` (default now) into ``folder``; None when nothing new is
    due. A run with work left afterwards has status ``scheduled`` and its ``pending`` in ``summary.json``."""
    moment = moment or clock_now()
    summary = folder.read_summary()
    due = [c for c in plan.changes if _due(c, moment)]
    later = [c for c in plan.changes if not _due(c, moment)]
    ran_until = parse(summary.get("ran_until"))
    fresh = [c for c in due if ran_until is None or (parse(c.due_at) and parse(c.due_at) > ran_until)]
    if summary.get("status") == STATUS_SCHEDULED and not fresh:
        return None
    # said before the writes: a run killed part-way still shows what waits
    folder.update_summary(pending=pending_of(plan, moment) if later else [],
                          next_due=min(c.due_at for c in later) if later else None)
    if not later:
        result = Executor(client, plan, folder.path, progress).run()
    else:
        if not due:
            folder.update_summary(status=STATUS_SCHEDULED, ran_until=iso(moment))
            return None
        steps = APPLY_STEPS if any(c.action not in CUT_ACCESS for c in due) else tuple(
            s for s in APPLY_STEPS if s[0] in _CUT_STEPS)
        result = Executor(client, replace(plan, changes=due), folder.path, progress, steps=steps).run()
    pending = pending_of(plan, moment)
    fields: dict[str, Any] = {"pending": pending, "next_due": pending[0]["at"] if pending else None,
                              "ran_until": iso(moment), "changes": len(plan.changes)}
    if pending and result.status == "succeeded":
        fields["status"] = result.status = STATUS_SCHEDULED
    folder.update_summary(**fields)
    if pending:
        audit_events.bind(folder.run_id, plan)
        try:
            audit_events.event("run_scheduled", outcome=STATUS_SCHEDULED, next_due=fields["next_due"],
                               pending=pending, done_changes=len(due))
        finally:
            audit_events.unbind()
    return result


def due_runs(state_dir: Path, moment: datetime) -> list[RunFolder]:
    """Runs with work that has come due by ``moment`` (scheduled, or stopped part-way with work left); a run
    rolled back waits for nothing any more."""
    out = []
    summaries = list_runs(state_dir)
    rolled_back = {s.get("rollback_of") for s in summaries if s.get("kind") == "rollback"
                   and s.get("status") in ("succeeded", "partial")}
    for summary in summaries:
        pending = summary.get("pending") or []
        if summary.get("kind", "apply") != "apply" or not pending or summary.get("run_id") in rolled_back:
            continue
        if summary.get("status") != STATUS_SCHEDULED or any(parse(p["at"]) and parse(p["at"]) <= moment
                                                            for p in pending):
            out.append(RunFolder(runs_root(state_dir) / summary["run_id"]))
    return out
