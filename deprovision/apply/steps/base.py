"""The ``Step`` interface and the plain step: write each change's record operations."""

from __future__ import annotations

from typing import Protocol

from deprovision.apply.context import RunContext
from deprovision.apply.writes import write
from deprovision.plan.model import Change


class Step(Protocol):
    """One step of a run: ``run`` executes the step's changes (their outcomes go to ``ctx``)."""

    name: str

    def run(self, ctx: RunContext, changes: list[Change]) -> None: ...


class WriteStep:
    """Writes every pending record operation of its changes through sObject Collections."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        pending = ctx.pending(op for change in changes for op in ctx.ops(change))
        ctx.progress.start_phase(self.name, len(pending))
        write(ctx, self.name, pending)
        ctx.progress.end_phase(self.name)
