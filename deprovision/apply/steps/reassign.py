"""Reassign owners (and, in a rollback, restore them): ``OwnerId`` written with ``Sforce-Auto-Assign: FALSE``
through sObject Collections, or Bulk API 2.0 above the threshold; the Bulk jobs of different objects run
side by side.

Accounts and opportunities that carry colleagues' team rows go through the SOAP ``update`` call with
``OwnerChangeOptions`` (KeepAccountTeam / KeepSalesTeam) instead, 200 per call, because every REST path
deletes the team (``apply/teams.py``); afterwards the rows are checked and any row Salesforce still dropped
is re-created from the backup.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor

from deprovision.apply import audit_events
from deprovision.apply.context import RunContext
from deprovision.apply.operations import Op, change_object
from deprovision.apply.teams import TEAMS, TeamSpec, kept_rows, present_keys, read_team_rows, removed_rows
from deprovision.apply.writes import AUTO_ASSIGN_OFF, PollChain, write, write_soap
from deprovision.errors import OrgError
from deprovision.plan.model import Change

BULK_JOBS = 6  # Bulk jobs of different objects in flight at once


class ReassignStep:
    """``reassign`` (apply) or ``restore_owner`` (rollback): owner updates, each record to its own owner."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        by_obj: dict[str, list[Change]] = defaultdict(list)
        for change in changes:
            by_obj[change_object(change)].append(change)
        total = sum(0 if c.id in ctx.state.complete else len(c.record_ids) - len(ctx.state.ok.get(c.id, ()))
                    for c in changes)
        ctx.progress.start_phase(self.name, max(total, 0))
        jobs: list[Future] = []
        chain = PollChain()
        with ThreadPoolExecutor(max_workers=BULK_JOBS, thread_name_prefix="bulk-job") as pool:
            try:
                # one object at a time is turned into operations (a Bulk job's are freed once its CSV is
                # written); the jobs then run side by side while the next objects are prepared
                for obj in sorted(by_obj):
                    pending = ctx.pending(op for change in by_obj[obj] for op in ctx.ops(change))
                    spec = TEAMS.get(obj)
                    if spec is not None:
                        pending = self._keep_teams(ctx, spec, by_obj[obj], pending)
                    job = write(ctx, self.name, pending, headers=AUTO_ASSIGN_OFF, bulk=True, pool=pool, chain=chain)
                    if job is not None:
                        jobs.append(job)
            finally:
                for job in jobs:
                    job.result()
        ctx.progress.end_phase(self.name)

    def _keep_teams(self, ctx: RunContext, spec: TeamSpec, changes: list[Change], pending: list[Op]) -> list[Op]:
        """Send the records with colleagues' team rows through SOAP (team kept), check their rows and
        re-create any that was dropped; returns the other operations (Collections / Bulk)."""
        backup = kept_rows(ctx.folder, spec) if self.name == "reassign" else None
        if backup is not None:  # an apply run: the backup step found the rows (and a resume needs them all)
            expected = backup
        elif pending:  # a rollback: one query tells which records carry team rows now
            previous = {(c.before or {}).get("OwnerId") or c.user_id for c in changes}
            expected = read_team_rows(ctx.client, spec, previous, {op.key for op in pending}, removed_rows(ctx.plan))
        else:
            expected = []
        with_team = {r[spec.parent_field] for r in expected}
        write_soap(ctx, self.name, [op for op in pending if op.key in with_team], options={spec.keep_option: True})
        restore_dropped(ctx, self.name, spec, expected, changes)
        return [op for op in pending if op.key not in with_team]


def restore_dropped(ctx: RunContext, step: str, spec: TeamSpec, expected: list[dict],
                    changes: list[Change]) -> None:
    """Re-create (journaled, audited) every ``expected`` team row missing after its record changed owner."""
    owner_change = {rid: c for c in changes for rid in c.record_ids}
    moved = [r for r in expected if (c := owner_change.get(r[spec.parent_field])) is not None
             and ctx.state.succeeded(c.id, r[spec.parent_field])]
    if not moved:
        return
    present = present_keys(ctx.client, spec, {r[spec.parent_field] for r in moved})
    missing = [r for r in moved if spec.natural(r) not in present]
    if not missing:
        return
    batch = ctx.journal.next_batch_name(step, f"keep-team-{spec.obj}")
    keys = [(owner_change[r[spec.parent_field]], f"team:{r['Id']}") for r in missing]
    ctx.journal.batch_started(batch, step, ((c.id, k) for c, k in keys), objects=[spec.obj], kind="create")
    try:
        results = ctx.client.collection_create([{"attributes": {"type": spec.obj}, **spec.createable(r)}
                                                for r in missing])
    except OrgError as exc:
        results = None
        error = exc
    made: dict[str, list[tuple[dict, str]]] = defaultdict(list)
    failed: dict[str, list[tuple[dict, str, str | None]]] = defaultdict(list)
    for i, (row, (change, key)) in enumerate(zip(missing, keys, strict=True)):
        res = results[i] if results is not None else None
        if res is not None and res.success:
            ctx.outcome(batch, change, key, "success", message=f"re-created as {res.id}")
            made[change.id].append((row, res.id))
        else:
            code = res.error_code if res is not None else (error.error_code or "CALL_FAILED")
            message = res.message if res is not None else error.message
            ctx.outcome(batch, change, key, "failed", code, message)
            failed[change.id].append((row, code, message))
    ctx.batch_done(step, batch, 0, failed=sum(len(v) for v in failed.values()))
    by_id = {c.id: c for c in changes}
    for change_id in sorted(set(made) | set(failed)):
        _audit_restored(ctx, spec, by_id[change_id], made.get(change_id, []), failed.get(change_id, []))


def _audit_restored(ctx: RunContext, spec: TeamSpec, change: Change, made: list[tuple[dict, str]],
                    failed: list[tuple[dict, str, str | None]]) -> None:
    """One audit event per owner change whose colleagues' team rows Salesforce dropped and the run re-created."""
    user = ctx.users.get(change.user_id)
    fields = {
        "target_user": user.username if user else change.username, "target_user_id": change.user_id,
        "action": "keep_team_member", "object": spec.obj, "change_id": change.id,
        "label": f"{len(made) + len(failed)} {spec.obj} row(s) dropped by the owner change",
        "before": {"dropped": [r["Id"] for r, _ in made] + [r["Id"] for r, _, _ in failed]},
        "after": {"re_created": [new for _, new in made]},
        "record_ids": [new for _, new in made],
        "outcome": "success" if not failed else ("partial" if made else "failed"),
    }
    if failed:
        fields.update(error_code=failed[0][1], message=failed[0][2], failed_count=len(failed),
                      failed_ids=[r["Id"] for r, _, _ in failed][:50])
        ctx.failures.append(f"{fields['target_user']}: {len(failed)} colleague {spec.obj} row(s) dropped by the owner "
                         f"change could not be re-created ({failed[0][1]})")
    audit_events.event("change_applied" if not failed else "change_failed", **fields)
