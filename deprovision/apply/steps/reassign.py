"""Reassign owners (and, in a rollback, restore them): ``OwnerId`` written with ``Sforce-Auto-Assign: FALSE``,
one object at a time through sObject Collections, or Bulk API 2.0 above the threshold."""

from __future__ import annotations

from collections import defaultdict

from deprovision.apply.context import RunContext
from deprovision.apply.operations import change_object
from deprovision.apply.writes import AUTO_ASSIGN_OFF, write
from deprovision.plan.model import Change


class ReassignStep:
    """``reassign`` (apply) or ``restore_owner`` (rollback): owner updates, each record to its own owner."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        # one object at a time, so a million records never sit in memory as operations at once
        by_obj: dict[str, list[Change]] = defaultdict(list)
        for change in changes:
            by_obj[change_object(change)].append(change)
        total = sum(0 if c.id in ctx.state.complete else len(c.record_ids) - len(ctx.state.ok.get(c.id, ()))
                    for c in changes)
        ctx.progress.start_phase(self.name, max(total, 0))
        for obj in sorted(by_obj):
            pending = ctx.pending(op for change in by_obj[obj] for op in ctx.ops(change))
            write(ctx, self.name, pending, headers=AUTO_ASSIGN_OFF, bulk=True)
        ctx.progress.end_phase(self.name)
