"""What past runs did: for each apply run, the changes whose records the journal shows as applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from deprovision.apply.journal import read_journal
from deprovision.apply.runs import RunFolder, list_runs, runs_root
from deprovision.clock import parse
from deprovision.plan.model import Change, Plan

ROLLED_BACK = ("succeeded", "partial")


@dataclass
class RunHistory:
    """One apply run: its plan, when it ran, and each applied change with the keys it applied."""

    run_id: str
    plan: Plan
    started: datetime | None
    finished: datetime | None
    done: list[tuple[Change, list[str]]] = field(default_factory=list)

    def done_of(self, action: str) -> list[tuple[Change, list[str]]]:
        return [(c, keys) for c, keys in self.done if c.action == action]


def _applied(folder: RunFolder, plan: Plan) -> list[tuple[Change, list[str]]]:
    state = read_journal(folder.journal_path)
    out = []
    for change in plan.changes:
        keys = [k for k in (change.record_ids or [change.user_id]) if state.succeeded(change.id, k)]
        if not keys and change.action in ("end_sessions", "revoke_oauth_token"):
            keys = list(state.ok.get(change.id, ()))
        if keys:
            out.append((change, keys))
    return out


def past_runs(state_dir: Path, *, since: datetime | None = None) -> list[RunHistory]:
    """Apply runs (oldest first) that applied something, started at or after ``since``; runs a rollback
    reversed are left out (what came back was put back on purpose)."""
    summaries = list_runs(state_dir)
    reversed_runs = {s.get("rollback_of") for s in summaries
                     if s.get("kind") == "rollback" and s.get("status") in ROLLED_BACK}
    out = []
    for summary in summaries:
        if summary.get("kind", "apply") != "apply" or summary.get("run_id") in reversed_runs:
            continue
        started = parse(summary.get("started"))
        if since is not None and (started is None or started < since):
            continue
        folder = RunFolder(runs_root(state_dir) / summary["run_id"])
        if not folder.plan_path.exists():
            continue
        plan = folder.read_plan()
        done = _applied(folder, plan)
        if done:
            out.append(RunHistory(summary["run_id"], plan, started, parse(summary.get("finished")) or started,
                                  done))
    return out
