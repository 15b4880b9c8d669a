"""Deactivate (``User.IsActive = false``) only users all of whose earlier changes succeeded; the others
are recorded as not deactivated, with the reason. Reactivation (rollback) is a plain write step."""

from __future__ import annotations

from deprovision.apply.context import RunContext
from deprovision.apply.operations import ops_for
from deprovision.apply.outcomes import describe_failure
from deprovision.apply.writes import write
from deprovision.plan.model import Change


class DeactivateStep:
    """``deactivate``: the gate, then one Collections write of the users that passed it."""

    name = "deactivate"

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        ready = gate_deactivation(ctx, changes)
        pending = ctx.pending(op for change in ready for op in ctx.ops(change))
        ctx.progress.start_phase(self.name, len(pending))
        write(ctx, self.name, pending)
        ctx.progress.end_phase(self.name)


def user_failures(ctx: RunContext, user_id: str) -> list[tuple[Change, int, set[str]]]:
    """(change, failed record count, error codes) of every failed change of ``user_id`` so far."""
    out = []
    for change in ctx.changes_of_user.get(user_id, []):
        if change.action == "deactivate":
            continue
        codes, n = set(), 0
        for key in ctx.keys.get(change.id, change.record_ids):
            o = ctx.state.other.get((change.id, key))
            if o is not None and o.outcome == "failed":
                n += 1
                codes.add(o.error_code or "UNKNOWN")
        if n:
            out.append((change, n, codes))
    return out


def gate_deactivation(ctx: RunContext, changes: list[Change]) -> list[Change]:
    """Deactivate only users all of whose earlier changes succeeded; skip the others with the reason."""
    ready = []
    batch = ctx.journal.next_batch_name("deactivate", "gate")
    for change in changes:
        ctx.keys[change.id] = [op.key for op in ops_for(change)]
        failures = user_failures(ctx, change.user_id)
        if not failures:
            ready.append(change)
            continue
        reason = "not deactivated because " + "; ".join(describe_failure(c, n, codes) for c, n, codes in failures)
        for key in ctx.keys.get(change.id, [change.user_id]):
            if not ctx.state.is_done(change.id, key):
                ctx.outcome(batch, change, key, "failed", "NOT_DEACTIVATED", reason)
    ctx.journal.sync()
    return ready
