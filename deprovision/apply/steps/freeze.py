"""Freeze (and, in a rollback, unfreeze) logins: ``UserLogin.IsFrozen``, calls sent side by side."""

from __future__ import annotations

from deprovision.apply.context import RunContext
from deprovision.apply.operations import Op, ops_for
from deprovision.apply.writes import write
from deprovision.org.soql import soql_literal
from deprovision.plan.model import Change


class FreezeStep:
    """``freeze`` (the race against time: its Collections calls go out together) or ``unfreeze``."""

    def __init__(self, name: str, *, parallel: bool) -> None:
        self.name = name
        self.parallel = parallel

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        pending = ctx.pending(op for change in changes for op in ctx.ops(change, login_ops(ctx, change)))
        ctx.progress.start_phase(self.name, len(pending))
        write(ctx, self.name, pending, parallel=self.parallel)
        ctx.progress.end_phase(self.name)


def login_ops(ctx: RunContext, change: Change) -> list[Op]:
    """Freeze changes name UserLogin rows; a plan naming the User instead is mapped to its login."""
    ops = ops_for(change)
    if all(op.key.startswith("0Yw") for op in ops) and ops:
        return ops
    logins = {r["UserId"]: r["Id"] for r in ctx.client.query(
        f"SELECT Id, UserId FROM UserLogin WHERE UserId = {soql_literal(change.user_id)}")}
    login = logins.get(change.user_id)
    return [Op(change, login, "UserLogin", "update", {"IsFrozen": change.action == "freeze"})] if login else []
