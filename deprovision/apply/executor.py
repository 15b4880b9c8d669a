"""``apply_plan``: the only writer to an org.

The executor is the loop: for each step of the run (``operations.APPLY_STEPS`` or ``ROLLBACK_STEPS``) it
hands the step its changes (``apply/steps/``, one module per step), then writes one audit event per
change, journals the step as finished and honours the test crash points. Steps journal every batch and
record outcome through the shared ``RunContext``, so a run killed at any moment resumes without applying
anything twice.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from deprovision.apply import audit_events
from deprovision.apply.context import RunContext
from deprovision.apply.operations import APPLY_STEPS
from deprovision.apply.outcomes import RunResult, audit_changes, change_outcome, describe_failure
from deprovision.apply.progress import Progress
from deprovision.apply.runs import STATUS_FAILED, STATUS_PARTIAL, STATUS_SUCCEEDED, utc_now
from deprovision.apply.steps import STEPS
from deprovision.plan.model import Change, Plan

__all__ = ["Executor", "RunResult", "apply_plan", "describe_failure"]


class Executor:
    """Executes one plan into one run folder; resumes from the folder's journal when there is one."""

    def __init__(self, client, plan: Plan, run_dir: Path, progress: Progress | None = None, *,
                 steps=APPLY_STEPS, kind: str = "apply", api_calls_at_start: int = 0) -> None:
        """``api_calls_at_start``: the client's call count the run's figure starts from. 0 (the default)
        counts every call the client made, so the plan read, stale-plan check and preflight of the same
        command are in the run's figure; a caller running several plans through one client passes the
        count before each."""
        self.ctx = RunContext(client, plan, run_dir, progress, kind=kind)
        self.steps = steps
        self.kind = kind
        self.api_calls_at_start = api_calls_at_start

    def run(self) -> RunResult:
        """Execute every step; returns the result (per-record failures are results, not exceptions)."""
        ctx = self.ctx
        plan = ctx.plan
        ctx.journal.attempt(kind=self.kind)
        audit_events.bind(ctx.folder.run_id, plan, kind=self.kind)
        try:
            if not ctx.resumed:
                summary = ctx.folder.read_summary()
                audit_events.event("run_started" if self.kind == "apply" else "rollback_started",
                                   users=len(plan.users), changes=len(plan.changes),
                                   plan_sha256=summary.get("plan_hash"), rollback_of=summary.get("rollback_of"))
            else:
                ctx.progress.message(f"Resuming run {ctx.folder.run_id} ({ctx.state.success_count():,}"
                                     " records already done).")
            by_step: dict[str, list[Change]] = defaultdict(list)
            action_step = {a: s for s, actions in self.steps for a in actions}
            for change in plan.changes:
                step = action_step.get(change.action)
                if step:
                    by_step[step].append(change)
            for name, _actions in self.steps:
                ctx.batches_in_step = 0
                STEPS[name].run(ctx, by_step.get(name, []))
                audit_changes(ctx, by_step.get(name, []))
                ctx.journal.phase_finished(name)
                if name in ("freeze", "unfreeze"):
                    ctx.time_to_freeze = time.monotonic() - ctx.t0
                ctx.maybe_crash(name, end=True)
            return self._finish()
        finally:
            ctx.journal.close()
            ctx.progress.close()
            audit_events.unbind()

    def _finish(self) -> RunResult:
        ctx = self.ctx
        result = RunResult(run_id=ctx.folder.run_id, status=STATUS_SUCCEEDED, changes=len(ctx.plan.changes),
                           resumed=ctx.resumed)
        per_user: dict[str, list[str]] = defaultdict(list)
        for change in ctx.plan.changes:
            outcome, ok, bad = change_outcome(ctx, change)
            result.records_applied += sum(1 for k in ok if ctx.state.succeeded(change.id, k))
            result.records_failed += len(bad)
            if outcome == "success":
                result.applied += 1
            elif outcome == "skipped":
                result.skipped += 1
            else:
                result.failed += 1
                user = ctx.users.get(change.user_id)
                name = user.username if user else change.username
                if change.action == "deactivate" and bad[0][1] == "NOT_DEACTIVATED":
                    per_user[name].insert(0, bad[0][2] or "not deactivated")
                elif change.action == "deactivate":
                    per_user[name].insert(0, f"not deactivated: {bad[0][2] or 'refused'} ({bad[0][1]})")
                else:
                    codes = {c or "UNKNOWN" for _, c, _ in bad}
                    per_user[name].append(describe_failure(change, len(bad), codes))
        for name, lines in per_user.items():
            result.failures.append(f"{name}: {'; '.join(dict.fromkeys(lines))}")
        result.failures += ctx.failures
        result.notes = list(ctx.notes)
        if result.failed or ctx.failures:
            result.status = STATUS_PARTIAL if result.applied or result.skipped else STATUS_FAILED
        result.api_calls = getattr(ctx.client, "api_calls", 0) - self.api_calls_at_start
        result.oauth_calls = ctx.oauth_calls
        result.seconds = round(time.monotonic() - ctx.t0, 3)
        result.time_to_freeze = round(ctx.time_to_freeze, 3) if ctx.time_to_freeze is not None else None
        audit_events.event("run_finished", outcome=result.status, changes=result.changes, applied=result.applied,
                           failed=result.failed, skipped=result.skipped, records_applied=result.records_applied,
                           records_failed=result.records_failed, api_calls=result.api_calls,
                           oauth_calls=result.oauth_calls, failures=result.failures[:100])
        result.audit_head = audit_events.chain_head()
        summary = ctx.folder.read_summary()
        previous_calls = summary.get("api_calls", 0) if ctx.resumed else 0
        ctx.folder.update_summary(
            status=result.status, finished=utc_now(), changes=result.changes, applied=result.applied,
            failed=result.failed, skipped=result.skipped, failures=result.failed,
            failure_lines=result.failures, records_applied=result.records_applied,
            records_failed=result.records_failed, api_calls=previous_calls + result.api_calls,
            oauth_calls=summary.get("oauth_calls", 0) + result.oauth_calls, seconds=result.seconds,
            time_to_freeze=result.time_to_freeze, audit_head=result.audit_head,
            attempts=ctx.state.attempts + 1)
        return result


def apply_plan(client, plan: Plan, run_dir: Path, *, progress: Progress | None = None,
               api_calls_at_start: int = 0) -> RunResult:
    """Execute ``plan`` against the org into ``run_dir``, resuming from its journal when there is one.

    The run's API calls are the client's since ``api_calls_at_start`` (0: every call this client made, so
    the plan, stale-plan check, preflight and limits reads of the same command are counted too).
    """
    return Executor(client, plan, run_dir, progress, api_calls_at_start=api_calls_at_start).run()
