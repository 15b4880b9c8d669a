"""Resume: operations of a batch that was sent but never recorded are re-read from the org, so nothing
is applied twice. Each operation is compared with its own values."""

from __future__ import annotations

from collections import defaultdict

from deprovision.apply.context import RunContext
from deprovision.apply.operations import ASSIGNMENT_KEYS, Op

BIG_DOUBT = 1000  # above this many owner updates in doubt, read by owner instead of by id


def recheck(ctx: RunContext, ops: list[Op]) -> list[Op]:
    """Drop ops of a crashed batch that the org shows as already applied (recorded as successes)."""
    doubt = [op for op in ops if (op.change.id, op.key) in ctx.doubt]
    if not doubt:
        return ops
    applied: set[str] = set()
    by_obj: dict[tuple[str, str], list[Op]] = defaultdict(list)
    for op in doubt:
        by_obj[(op.obj, op.kind)].append(op)
    for (obj, kind), group in by_obj.items():
        applied |= applied_in_org(ctx.client, obj, kind, group)
    batch = ctx.journal.next_batch_name("recheck", "org")
    for op in doubt:
        ctx.doubt.discard((op.change.id, op.key))
        if op.key in applied:
            ctx.outcome(batch, op.change, op.key, "success", message="found applied on resume")
    ctx.journal.sync()
    return [op for op in ops if op.key not in applied]


def applied_in_org(client, obj: str, kind: str, ops: list[Op]) -> set[str]:
    """Keys of ``ops`` whose effect the org already shows (each op checked against its own values)."""
    if kind == "delete":
        present = {r["Id"] for r in client.query_in(
            f"SELECT Id FROM {obj} WHERE Id IN {{ids}}", [op.key for op in ops])}
        return {op.key for op in ops} - present
    if kind == "create":
        keys = ASSIGNMENT_KEYS.get(obj)
        if not keys:
            return set()
        user_field = keys[0]
        found = {tuple(r.get(k) for k in keys) for r in client.query_in(
            f"SELECT {', '.join(keys)} FROM {obj} WHERE {user_field} IN {{ids}}",
            sorted({op.fields.get(user_field) for op in ops}))}
        return {op.key for op in ops if tuple(op.fields.get(k) for k in keys) in found}
    fields = sorted({name for op in ops for name in op.fields})
    if fields == ["OwnerId"] and len(ops) > BIG_DOUBT:
        # a bulk job in doubt: read the records the planned owners hold now (few calls), then each
        # record counts as applied only when its owner is the one its own operation names
        owners = sorted({op.fields["OwnerId"] for op in ops if op.fields.get("OwnerId")})
        now = {r["Id"]: r["OwnerId"] for r in client.query_in(
            f"SELECT Id, OwnerId FROM {obj} WHERE OwnerId IN {{ids}}", owners)}
        return {op.key for op in ops if now.get(op.key) == op.fields.get("OwnerId")}
    current = {r["Id"]: r for r in client.query_in(
        f"SELECT Id, {', '.join(fields)} FROM {obj} WHERE Id IN {{ids}}", [op.key for op in ops])}
    return {op.key for op in ops
            if op.key in current and all(current[op.key].get(f) == v for f, v in op.fields.items())}
