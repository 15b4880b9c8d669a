"""The record writers shared by steps: sObject Collections (one call after another or side by side) and
Bulk API 2.0. Each journals its batch before sending and every record's outcome after.

Every record is written with its own operation's values: a batch or job never takes values from its
first element.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from deprovision.apply.batching import BULK_THRESHOLD, collection_batches
from deprovision.apply.context import RunContext
from deprovision.apply.operations import Op
from deprovision.apply.recheck import recheck
from deprovision.errors import OrgError
from deprovision.org import bulk as bulk_api
from deprovision.plan.model import Change

PARALLEL_CALLS = 5
AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}


def record_of(op: Op) -> dict[str, Any]:
    """The Collections record of one update (its own values)."""
    return {"attributes": {"type": op.obj}, "id": op.key, **op.fields}


class PollChain:
    """Bulk jobs started side by side poll one at a time, in the order they started: a job polls once the
    jobs before it are finished (by then it is usually done too), so waiting jobs make no calls."""

    def __init__(self) -> None:
        self._last: threading.Event | None = None
        self._lock = threading.Lock()
        self.pace = bulk_api.Pace()  # how fast the org got through the jobs so far: times each first poll

    def link(self) -> tuple[Callable[[], None], threading.Event]:
        """(wait for my turn, the event to set when I am finished)."""
        with self._lock:
            before, mine = self._last, threading.Event()
            self._last = mine
        return (before.wait if before is not None else (lambda: None)), mine


def write(ctx: RunContext, step: str, ops: list[Op], *, headers: dict[str, str] | None = None,
          bulk: bool = False, parallel: bool = False, pool: Executor | None = None,
          chain: PollChain | None = None) -> Future | None:
    """Write ``ops`` (already pending): re-checked against the org when in doubt, then Bulk API 2.0
    (``bulk`` and above the threshold), parallel Collections calls (``parallel``) or one call after another.

    With ``pool`` a Bulk job runs there once its CSV is written; the job's future is returned.
    """
    if not ops:
        return None
    ops = recheck(ctx, ops)
    if not ops:
        return None
    if bulk and len(ops) > BULK_THRESHOLD and all(op.kind == "update" for op in ops):
        return write_bulk(ctx, step, ops, pool=pool, chain=chain)
    batches = list(collection_batches(ops, lambda op: op.obj, key_of=lambda op: op.key))
    if parallel and len(batches) > 1 and all(b[0].kind == "update" for b in batches):
        write_collections_parallel(ctx, step, batches, headers=headers)
        return
    for batch_ops in batches:
        write_collection(ctx, step, batch_ops, headers=headers)
    return None


def write_collections_parallel(ctx: RunContext, step: str, batches: list[list[Op]], *,
                               headers: dict[str, str] | None) -> None:
    """Send independent update calls side by side (freezing every login is the race against time)."""
    names = []
    for ops in batches:
        name = ctx.journal.next_batch_name(step, f"update-{ops[0].obj}")
        ctx.journal.batch_started(name, step, ((op.change.id, op.key) for op in ops), kind="update")
        names.append(name)

    def send(ops: list[Op]):
        try:
            return ctx.client.collection_update([record_of(op) for op in ops], headers=headers)
        except OrgError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(PARALLEL_CALLS, len(batches))) as pool:
        answers = list(pool.map(send, batches))
    for name, ops, answer in zip(names, batches, answers, strict=True):
        ctx.maybe_crash(step, sent=True)
        failed = 0
        if isinstance(answer, OrgError):
            for op in ops:
                ctx.outcome(name, op.change, op.key, "failed", answer.error_code or "CALL_FAILED", answer.message)
            failed = len(ops)
        else:
            ctx.successes(name, [op for op, res in zip(ops, answer, strict=False) if res.success])
            for op, res in zip(ops, answer, strict=False):
                if not res.success:
                    failed += 1
                    ctx.outcome(name, op.change, op.key, "failed", res.error_code, res.message)
        ctx.batch_done(step, name, len(ops), failed=failed)


def write_collection(ctx: RunContext, step: str, ops: list[Op], *, headers: dict[str, str] | None) -> None:
    """One sObject Collections call (update, create or delete) of at most 200 records."""
    kind = ops[0].kind
    batch = ctx.journal.next_batch_name(step, f"{kind}-{ops[0].obj}")
    ctx.journal.batch_started(batch, step, ((op.change.id, op.key) for op in ops), objects=sorted(
        {op.obj for op in ops}), kind=kind)
    try:
        if kind == "delete":
            results = ctx.client.collection_delete([op.key for op in ops])
        elif kind == "create":
            results = ctx.client.collection_create([{"attributes": {"type": op.obj}, **op.fields} for op in ops])
        else:
            results = ctx.client.collection_update([record_of(op) for op in ops], headers=headers)
        ctx.maybe_crash(step, sent=True)
    except OrgError as exc:  # the whole call failed (after the client's retries)
        for op in ops:
            ctx.outcome(batch, op.change, op.key, "failed", exc.error_code or "CALL_FAILED", exc.message)
        ctx.batch_done(step, batch, len(ops), failed=len(ops))
        return
    failed = 0
    ctx.successes(batch, [op for op, res in zip(ops, results, strict=False) if res.success])
    for op, res in zip(ops, results, strict=False):
        if res.success:
            continue
        elif kind == "delete" and res.error_code == "ENTITY_IS_DELETED":
            ctx.outcome(batch, op.change, op.key, "skipped", res.error_code, "already removed")
        elif kind == "create" and res.error_code == "DUPLICATE_VALUE":
            ctx.outcome(batch, op.change, op.key, "skipped", res.error_code, "already present")
        else:
            failed += 1
            ctx.outcome(batch, op.change, op.key, "failed", res.error_code, res.message)
    ctx.batch_done(step, batch, len(ops), failed=failed)


def write_bulk(ctx: RunContext, step: str, ops: list[Op], *, pool: Executor | None = None,
               chain: PollChain | None = None) -> Future | None:
    """Bulk API 2.0 update of one object (used above ``BULK_THRESHOLD`` records); each row carries the
    values of its own operation. The CSV is written here (the operations are freed once it is); the job
    runs here too, or in ``pool`` (jobs of several objects side by side: Salesforce runs them in parallel)."""
    obj = ops[0].obj
    columns = ["Id", *sorted({name for op in ops for name in op.fields})]
    batch = ctx.journal.next_batch_name(step, f"bulk-{obj}")
    ctx.journal.batch_started(batch, step, ((op.change.id, op.key) for op in ops), objects=[obj],
                              kind="bulk_update")
    by_key: dict[str, Change] = {op.key: op.change for op in ops}

    def rows():
        for op in ops:
            yield [op.key, *(op.fields.get(name) for name in columns[1:])]
        ops.clear()  # the CSV is written: free the operations before the job's results arrive

    parts = bulk_api.write_parts(columns, rows())
    turn, finished = chain.link() if chain is not None else (None, None)
    pace = chain.pace if chain is not None else None

    def run() -> None:
        try:
            _run_bulk(ctx, step, obj, batch, by_key, parts, turn, pace)
        finally:
            if finished is not None:
                finished.set()

    if pool is not None:
        return pool.submit(run)
    run()
    return None


def _run_bulk(ctx: RunContext, step: str, obj: str, batch: str, by_key: dict[str, Change],
              parts: list[tuple[str, int]], turn: Callable[[], None] | None = None,
              pace: bulk_api.Pace | None = None) -> None:
    """Run the job(s) of one object and journal every record's outcome."""
    total = len(by_key)
    try:
        result = bulk_api.ingest_parts(ctx.client, obj, "update", parts, turn=turn, pace=pace,
                                       ids_known=sum(n for _, n in parts) == total)  # rows are by_key, in order
        ctx.maybe_crash(step, sent=True)
    except OrgError as exc:
        for key, change in by_key.items():
            ctx.outcome(batch, change, key, "failed", exc.error_code or "BULK_FAILED", exc.message)
        with ctx.lock:
            ctx.journal.batch_finished(batch, failed=total)
            ctx.progress.advance(total)
        return
    succeeded = []
    if result.succeeded_rows:  # the uploaded rows are by_key's keys, in order (write_bulk wrote them so)
        keys = list(by_key)
        for start, count in result.succeeded_rows:
            succeeded.extend((by_key.pop(key), key) for key in keys[start:start + count])
        del keys
    for res in result.successes:  # by_key shrinks as results arrive: what is left was not processed
        change = by_key.pop(res.id or "", None)
        if change is not None:
            succeeded.append((change, res.id))
    result.successes.clear()
    ctx.success_pairs(batch, succeeded)
    del succeeded
    failed = 0
    for res in result.failures:
        change = by_key.pop(res.id or "", None)
        if change is not None:
            failed += 1
            ctx.outcome(batch, change, res.id, "failed", res.error_code, res.message)
    for key, change in by_key.items():
        failed += 1
        ctx.outcome(batch, change, key, "failed", "UNPROCESSED", "the bulk job did not process it")
    ctx.batch_done(step, batch, total, failed=failed, jobs=list(result.job_ids))


def write_soap(ctx: RunContext, step: str, ops: list[Op], *, options: dict[str, bool]) -> None:
    """Owner updates through the SOAP ``update`` call with ``OwnerChangeOptions`` (``options``: the
    ``soap_update`` keywords, e.g. ``keep_account_team``), 200 records per call, each with its own values."""
    if not ops:
        return
    ops = recheck(ctx, ops)
    for batch_ops in collection_batches(ops, lambda op: op.obj, key_of=lambda op: op.key):
        obj = batch_ops[0].obj
        batch = ctx.journal.next_batch_name(step, f"soap-{obj}")
        ctx.journal.batch_started(batch, step, ((op.change.id, op.key) for op in batch_ops), objects=[obj],
                                  kind="soap_update", options=sorted(k for k, v in options.items() if v))
        try:
            results = ctx.client.soap_update([record_of(op) for op in batch_ops], **options)
            ctx.maybe_crash(step, sent=True)
        except OrgError as exc:
            for op in batch_ops:
                ctx.outcome(batch, op.change, op.key, "failed", exc.error_code or "CALL_FAILED", exc.message)
            ctx.batch_done(step, batch, len(batch_ops), failed=len(batch_ops))
            continue
        ctx.successes(batch, [op for op, res in zip(batch_ops, results, strict=False) if res.success])
        failed = 0
        for op, res in zip(batch_ops, results, strict=False):
            if not res.success:
                failed += 1
                ctx.outcome(batch, op.change, op.key, "failed", res.error_code, res.message)
        ctx.batch_done(step, batch, len(batch_ops), failed=failed)
