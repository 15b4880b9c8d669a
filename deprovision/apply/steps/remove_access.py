"""Remove access: delete assignments, memberships, licences, territories and team rows (licences last),
then the updates (clear role, re-point dependants' ManagerId / DelegatedApproverId)."""

from __future__ import annotations

from deprovision.apply.context import RunContext
from deprovision.apply.operations import DELETE_ORDER
from deprovision.apply.writes import write
from deprovision.plan.model import Change


class RemoveAccessStep:
    """``remove_access``: deletes in ``DELETE_ORDER``, then updates."""

    name = "remove_access"

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        pending = ctx.pending(op for change in changes for op in ctx.ops(change))
        ctx.progress.start_phase(self.name, len(pending))
        deletes = sorted((op for op in pending if op.kind == "delete"), key=lambda op: DELETE_ORDER.get(op.obj, 9))
        write(ctx, self.name, deletes)
        write(ctx, self.name, [op for op in pending if op.kind != "delete"])
        ctx.progress.end_phase(self.name)
