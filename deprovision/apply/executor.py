"""``apply_plan``: the only writer to an org.

Runs a plan's changes in steps (freeze, backup, sessions and tokens, reassign, remove access,
deactivate), each batched across all users; journals every batch and record outcome so a run killed
at any moment resumes without applying anything twice; writes one audit event per change.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deprovision.apply import audit_events
from deprovision.apply.backup import write_csv, write_sha256sums
from deprovision.apply.batching import BULK_THRESHOLD, collection_batches
from deprovision.apply.journal import Journal, read_journal
from deprovision.apply.operations import (
    APPLY_STEPS,
    ASSIGNMENT_FIELDS,
    ASSIGNMENT_KEYS,
    DELETE_ORDER,
    USER_FIELD,
    Op,
    change_object,
    ops_for,
)
from deprovision.apply.parallel import ParallelReads
from deprovision.apply.progress import Progress
from deprovision.apply.runs import (
    STATUS_FAILED,
    STATUS_PARTIAL,
    STATUS_SUCCEEDED,
    RunFolder,
    utc_now,
)
from deprovision.errors import OrgError
from deprovision.localorg.schema import get_object
from deprovision.org.soql import soql_literal
from deprovision.plan.model import ACTIONS, Change, Plan

OAUTH_THREADS = 8
PARALLEL_STEPS = ("freeze",)  # steps whose Collections calls go out side by side
PARALLEL_CALLS = 5
AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}


@dataclass
class RunResult:
    """What a run did: status, counts, per-user failures in words, API usage, the audit chain head."""

    run_id: str
    status: str
    changes: int = 0
    applied: int = 0
    failed: int = 0
    skipped: int = 0
    records_applied: int = 0
    records_failed: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    api_calls: int = 0
    oauth_calls: int = 0
    seconds: float = 0.0
    time_to_freeze: float | None = None
    audit_head: str | None = None
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _crash_point() -> tuple[str, str] | None:
    """``DEPROVISION_CRASH_AFTER=<step>:<n|end>[:sent]``, honoured only when ``DEPROVISION_TESTING=1``.

    ``<step>:<n>`` kills the process (SIGKILL) after the n-th batch of the step is journaled;
    ``<step>:<n>:sent`` after the n-th call returned but before its outcomes are journaled (the org has
    applied it, the journal does not know); ``<step>:end`` after the step finished.
    """
    if os.environ.get("DEPROVISION_TESTING") != "1":
        return None
    spec = os.environ.get("DEPROVISION_CRASH_AFTER")
    if not spec or ":" not in spec:
        return None
    step, _, n = spec.partition(":")
    return step, n


def _token_key(delete_token: str) -> str:
    return "token:" + hashlib.sha256(delete_token.encode()).hexdigest()[:24]


class Executor:
    """Executes one plan into one run folder; resumes from the folder's journal when there is one."""

    def __init__(self, client, plan: Plan, run_dir: Path, progress: Progress | None = None, *,
                 steps=APPLY_STEPS, kind: str = "apply") -> None:
        self.client = client
        self.plan = plan
        self.folder = RunFolder(Path(run_dir))
        self.progress = progress or Progress()
        self.steps = steps
        self.kind = kind
        self.state = read_journal(self.folder.journal_path)
        self.resumed = self.state.attempts > 0
        self.journal = Journal(self.folder.journal_path, attempt=self.state.attempts + 1)
        self.users = {u.id: u for u in plan.users}
        self.changes = {c.id: c for c in plan.changes}
        self.keys: dict[str, list[str]] = {}  # change id -> record keys it covers (tokens/sessions: found live)
        self.doubt = self.state.doubt_keys()
        self.changes_of_user: dict[str, list[Change]] = defaultdict(list)
        for c in plan.changes:
            self.changes_of_user[c.user_id].append(c)
        self.oauth_calls = 0
        self.crash = _crash_point()
        self.batches_in_step = 0
        self.time_to_freeze: float | None = None
        self.t0 = time.monotonic()
        self.api_calls_at_start = getattr(client, "api_calls", 0)
        self.notes: list[str] = []
        self.reader = ParallelReads(client)  # chunked reads side by side

    # ------------------------------------------------------------------ outcomes
    def _outcome(self, batch: str, change: Change, key: str, outcome: str,
                 code: str | None = None, message: str | None = None) -> None:
        self.journal.record(batch, change.id, key, outcome, error_code=code, message=message)
        self.state.set(change.id, key, outcome, code, message)

    def _successes(self, batch: str, ops: list[Op]) -> None:
        """Record many successes at once (one journal line per record, written in one go)."""
        self._success_pairs(batch, ((op.change, op.key) for op in ops))

    def _success_pairs(self, batch: str, pairs: Iterable[tuple[Change, str]]) -> None:
        by_change: dict[str, tuple[Change, list[str]]] = {}
        for change, key in pairs:
            by_change.setdefault(change.id, (change, []))[1].append(key)
        for change, keys in by_change.values():
            self.journal.record_many(batch, change.id, keys)
            if change.id in self.state.complete:
                continue
            done = self.state.ok.setdefault(change.id, set())
            done.update(keys)
            for key in keys:
                self.state.other.pop((change.id, key), None)
            expected = self.keys.get(change.id)
            if expected is not None and len(done) >= len(expected) and done.issuperset(expected):
                self.state.mark_complete(change.id)

    def _pending(self, ops: Iterable[Op]) -> list[Op]:
        return [op for op in ops if not self.state.is_done(op.change.id, op.key)]

    def _maybe_crash(self, step: str, *, end: bool = False, sent: bool = False) -> None:
        if not self.crash or self.crash[0] != step:
            return
        point = self.crash[1]
        if sent:
            hit = point == f"{self.batches_in_step + 1}:sent"
        else:
            hit = (end and point == "end") or (not end and point == str(self.batches_in_step))
        if hit:
            self.journal.sync()
            os.kill(os.getpid(), signal.SIGKILL)

    # ------------------------------------------------------------------ the run
    def run(self) -> RunResult:
        """Execute every step; returns the result (per-record failures are results, not exceptions)."""
        self.journal.attempt(kind=self.kind)
        audit_events.bind(self.folder.run_id, self.plan, kind=self.kind)
        try:
            if not self.resumed:
                audit_events.event("run_started" if self.kind == "apply" else "rollback_started",
                                   users=len(self.plan.users), changes=len(self.plan.changes),
                                   plan_sha256=self.folder.read_summary().get("plan_hash"),
                                   rollback_of=self.folder.read_summary().get("rollback_of"))
            else:
                self.progress.message(f"Resuming run {self.folder.run_id} "
                                      f"({self.state.success_count():,}"
                                      " records already done).")
            by_step: dict[str, list[Change]] = defaultdict(list)
            action_step = {a: s for s, actions in self.steps for a in actions}
            for change in self.plan.changes:
                step = action_step.get(change.action)
                if step:
                    by_step[step].append(change)
            for step, _actions in self.steps:
                self.batches_in_step = 0
                if step == "backup":
                    if "backup" not in self.state.finished_phases:
                        self._backup()
                else:
                    self._run_step(step, by_step.get(step, []))
                self._audit_changes(by_step.get(step, []))
                self.journal.phase_finished(step)
                if step in ("freeze", "unfreeze"):
                    self.time_to_freeze = time.monotonic() - self.t0
                self._maybe_crash(step, end=True)
            return self._finish()
        finally:
            self.journal.close()
            self.progress.close()
            audit_events.unbind()

    def _run_step(self, step: str, changes: list[Change]) -> None:
        if step == "revoke_sessions":
            self._revoke_sessions(changes)
            return
        if step == "deactivate":
            changes = self._gate_deactivation(changes)
        if step in ("reassign", "restore_owner"):
            # one object at a time, so a million records never sit in memory as operations at once
            by_obj: dict[str, list[Change]] = defaultdict(list)
            for change in changes:
                by_obj[change_object(change)].append(change)
            total = sum(0 if c.id in self.state.complete else len(c.record_ids) - len(self.state.ok.get(c.id, ()))
                        for c in changes)
            self.progress.start_phase(step, max(total, 0))
            for obj in sorted(by_obj):
                pending = self._pending(op for change in by_obj[obj] for op in self._ops(change))
                self._write(step, pending, headers=AUTO_ASSIGN_OFF, bulk=True)
            self.progress.end_phase(step)
            return
        ops = [op for change in changes for op in self._ops(change)]
        pending = self._pending(ops)
        self.progress.start_phase(step, len(pending))
        if step == "remove_access":
            deletes = sorted((op for op in pending if op.kind == "delete"),
                             key=lambda op: DELETE_ORDER.get(op.obj, 9))
            self._write(step, deletes)
            self._write(step, [op for op in pending if op.kind != "delete"])
        else:
            self._write(step, pending)
        self.progress.end_phase(step)

    def _ops(self, change: Change) -> list[Op]:
        ops = ops_for(change)
        if change.action in ("freeze", "unfreeze"):
            ops = self._login_ops(change, ops)
        keys = change.record_ids
        if not ops or len(keys) != len(ops) or any(op.key != k for op, k in zip(ops, keys, strict=False)):
            keys = [op.key for op in ops]
        self.keys[change.id] = keys  # usually the plan's own list: no copy of a million ids
        return ops

    def _login_ops(self, change: Change, ops: list[Op]) -> list[Op]:
        """Freeze changes name UserLogin rows; a plan naming the User instead is mapped to its login."""
        if all(op.key.startswith("0Yw") for op in ops) and ops:
            return ops
        logins = {r["UserId"]: r["Id"] for r in self.client.query(
            f"SELECT Id, UserId FROM UserLogin WHERE UserId = {soql_literal(change.user_id)}")}
        login = logins.get(change.user_id)
        fields = ops[0].fields if ops else {"IsFrozen": change.action == "freeze"}
        return [Op(change, login, "UserLogin", "update", fields)] if login else []

    # ------------------------------------------------------------------ writing
    def _write(self, step: str, ops: list[Op], *, headers: dict[str, str] | None = None,
               bulk: bool = False) -> None:
        if not ops:
            return
        ops = self._recheck(ops)
        if not ops:
            return
        if bulk and len(ops) > BULK_THRESHOLD and ops[0].kind == "update":
            self._write_bulk(step, ops)
            return
        batches = list(collection_batches(ops, lambda op: op.obj, key_of=lambda op: op.key))
        if step in PARALLEL_STEPS and len(batches) > 1 and all(b[0].kind == "update" for b in batches):
            self._write_collections_parallel(step, batches, headers=headers)
            return
        for batch_ops in batches:
            self._write_collection(step, batch_ops, headers=headers)

    def _write_collections_parallel(self, step: str, batches: list[list[Op]], *,
                                    headers: dict[str, str] | None) -> None:
        """Send independent update calls side by side (freezing every login is the race against time)."""
        names = []
        for ops in batches:
            name = self.journal.next_batch_name(step, f"update-{ops[0].obj}")
            self.journal.batch_started(name, step, ((op.change.id, op.key) for op in ops), kind="update")
            names.append(name)

        def send(ops: list[Op]):
            try:
                return self.client.collection_update(
                    [{"attributes": {"type": op.obj}, "id": op.key, **op.fields} for op in ops], headers=headers)
            except OrgError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=min(PARALLEL_CALLS, len(batches))) as pool:
            answers = list(pool.map(send, batches))
        for name, ops, answer in zip(names, batches, answers, strict=True):
            self._maybe_crash(step, sent=True)
            failed = 0
            if isinstance(answer, OrgError):
                for op in ops:
                    self._outcome(name, op.change, op.key, "failed", answer.error_code or "CALL_FAILED",
                                  answer.message)
                failed = len(ops)
            else:
                self._successes(name, [op for op, res in zip(ops, answer, strict=False) if res.success])
                for op, res in zip(ops, answer, strict=False):
                    if not res.success:
                        failed += 1
                        self._outcome(name, op.change, op.key, "failed", res.error_code, res.message)
            self.journal.batch_finished(name, failed=failed)
            self.progress.advance(len(ops))
            self.batches_in_step += 1
            self._maybe_crash(step)

    def _write_collection(self, step: str, ops: list[Op], *, headers: dict[str, str] | None) -> None:
        kind = ops[0].kind
        batch = self.journal.next_batch_name(step, f"{kind}-{ops[0].obj}")
        self.journal.batch_started(batch, step, ((op.change.id, op.key) for op in ops), objects=sorted(
            {op.obj for op in ops}), kind=kind)
        try:
            if kind == "delete":
                results = self.client.collection_delete([op.key for op in ops])
            elif kind == "create":
                results = self.client.collection_create(
                    [{"attributes": {"type": op.obj}, **op.fields} for op in ops])
            else:
                results = self.client.collection_update(
                    [{"attributes": {"type": op.obj}, "id": op.key, **op.fields} for op in ops], headers=headers)
            self._maybe_crash(step, sent=True)
        except OrgError as exc:  # the whole call failed (after the client's retries)
            for op in ops:
                self._outcome(batch, op.change, op.key, "failed", exc.error_code or "CALL_FAILED", exc.message)
            self.journal.batch_finished(batch, failed=len(ops))
            self.progress.advance(len(ops))
            self.batches_in_step += 1
            self._maybe_crash(step)
            return
        failed = 0
        succeeded = [op for op, res in zip(ops, results, strict=False) if res.success]
        self._successes(batch, succeeded)
        for op, res in zip(ops, results, strict=False):
            if res.success:
                continue
            elif kind == "delete" and res.error_code == "ENTITY_IS_DELETED":
                self._outcome(batch, op.change, op.key, "skipped", res.error_code, "already removed")
            elif kind == "create" and res.error_code == "DUPLICATE_VALUE":
                self._outcome(batch, op.change, op.key, "skipped", res.error_code, "already present")
            else:
                failed += 1
                self._outcome(batch, op.change, op.key, "failed", res.error_code, res.message)
        self.journal.batch_finished(batch, failed=failed)
        self.progress.advance(len(ops))
        self.batches_in_step += 1
        self._maybe_crash(step)

    def _write_bulk(self, step: str, ops: list[Op]) -> None:
        """Bulk API 2.0 update of one object (used above ``BULK_THRESHOLD`` records)."""
        obj = ops[0].obj
        columns = ["Id", *sorted({name for op in ops for name in op.fields})]
        batch = self.journal.next_batch_name(step, f"bulk-{obj}")
        self.journal.batch_started(batch, step, ((op.change.id, op.key) for op in ops), objects=[obj],
                                   kind="bulk_update")
        by_key: dict[str, Change] = {op.key: op.change for op in ops}
        # every record carries the values of its own change (one change: one leaver's records to one successor)
        values_of: dict[str, list[Any]] = {}
        for op in ops:
            if op.change.id not in values_of:
                values_of[op.change.id] = [op.fields.get(name) for name in columns[1:]]
        ops.clear()  # the operations are no longer needed: free them before the job's results arrive
        total = len(by_key)
        try:
            result = self.client.bulk_ingest(obj, "update", columns,
                                             ([key, *values_of[change.id]] for key, change in by_key.items()))
            self._maybe_crash(step, sent=True)
        except OrgError as exc:
            for key, change in by_key.items():
                self._outcome(batch, change, key, "failed", exc.error_code or "BULK_FAILED", exc.message)
            self.journal.batch_finished(batch, failed=total)
            self.progress.advance(total)
            return
        succeeded = []
        for res in result.successes:  # by_key shrinks as results arrive: what is left was not processed
            change = by_key.pop(res.id or "", None)
            if change is not None:
                succeeded.append((change, res.id))
        result.successes.clear()
        self._success_pairs(batch, succeeded)
        del succeeded
        failed = 0
        for res in result.failures:
            change = by_key.pop(res.id or "", None)
            if change is not None:
                failed += 1
                self._outcome(batch, change, res.id, "failed", res.error_code, res.message)
        for key, change in by_key.items():
            failed += 1
            self._outcome(batch, change, key, "failed", "UNPROCESSED", "the bulk job did not process it")
        self.journal.batch_finished(batch, failed=failed, jobs=list(result.job_ids))
        self.progress.advance(total)
        self.batches_in_step += 1
        self._maybe_crash(step)

    # ------------------------------------------------------------------ resume: re-check in-doubt work
    def _recheck(self, ops: list[Op]) -> list[Op]:
        """Drop ops of a crashed batch that the org shows as already applied (so nothing is applied twice)."""
        doubt = [op for op in ops if (op.change.id, op.key) in self.doubt]
        if not doubt:
            return ops
        applied: set[str] = set()
        by_obj: dict[tuple[str, str], list[Op]] = defaultdict(list)
        for op in doubt:
            by_obj[(op.obj, op.kind)].append(op)
        for (obj, kind), group in by_obj.items():
            applied |= self._applied_in_org(obj, kind, group)
        batch = self.journal.next_batch_name("recheck", "org")
        for op in doubt:
            self.doubt.discard((op.change.id, op.key))
            if op.key in applied:
                self._outcome(batch, op.change, op.key, "success", message="found applied on resume")
        self.journal.sync()
        return [op for op in ops if op.key not in applied]

    def _applied_in_org(self, obj: str, kind: str, ops: list[Op]) -> set[str]:
        if kind == "delete":
            present = {r["Id"] for r in self.client.query_in(
                f"SELECT Id FROM {obj} WHERE Id IN {{ids}}", [op.key for op in ops])}
            return {op.key for op in ops} - present
        if kind == "create":
            keys = ASSIGNMENT_KEYS.get(obj)
            if not keys:
                return set()
            user_field = keys[0]
            found = {tuple(r.get(k) for k in keys) for r in self.client.query_in(
                f"SELECT {', '.join(keys)} FROM {obj} WHERE {user_field} IN {{ids}}",
                sorted({op.fields.get(user_field) for op in ops}))}
            return {op.key for op in ops if tuple(op.fields.get(k) for k in keys) in found}
        fields = sorted(ops[0].fields)
        if fields == ["OwnerId"] and len(ops) > 1000:
            # a bulk job in doubt: whatever is no longer owned by its old owner was transferred
            owners = sorted({(op.change.before or {}).get("OwnerId") or op.change.user_id for op in ops})
            still = {r["Id"] for r in self.client.query_in(
                f"SELECT Id FROM {obj} WHERE OwnerId IN {{ids}}", owners)}
            return {op.key for op in ops if op.key not in still}
        current = {r["Id"]: r for r in self.client.query_in(
            f"SELECT Id, {', '.join(fields)} FROM {obj} WHERE Id IN {{ids}}", [op.key for op in ops])}
        return {op.key for op in ops
                if op.key in current and all(current[op.key].get(f) == v for f, v in op.fields.items())}

    # ------------------------------------------------------------------ sessions and tokens
    def _users_with(self, changes: list[Change], action: str) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = defaultdict(list)
        for c in changes:
            if c.action == action:
                out[c.user_id].append(c)
        return out

    def _revoke_sessions(self, changes: list[Change]) -> None:
        session_users = self._users_with(changes, "end_sessions")
        token_users = self._users_with(changes, "revoke_oauth_token")
        # keys handled by an earlier attempt (revoked tokens no longer show up in the org)
        for change in changes:
            for key in self.state.keys_of(change.id):
                if key != change.id and key not in self.keys.get(change.id, []):
                    self.keys.setdefault(change.id, []).append(key)
        sessions = []
        if session_users:
            sessions = list(self.reader.query_in(
                "SELECT Id, UsersId FROM AuthSession WHERE UsersId IN {ids}", sorted(session_users)))
        tokens = []
        if token_users:
            tokens = list(self.reader.query_in(
                "SELECT UserId, AppName, DeleteToken FROM OauthToken WHERE UserId IN {ids}", sorted(token_users)))
        self.progress.start_phase("revoke_sessions", len(sessions) + len(tokens))
        ops = []
        for s in sessions:
            change = session_users[s["UsersId"]][0]
            ops.append(Op(change, s["Id"], "AuthSession", "delete"))
            if s["Id"] not in self.keys.get(change.id, []):
                self.keys.setdefault(change.id, []).append(s["Id"])
        self._write("revoke_sessions", self._pending(ops))
        self._revoke_tokens(token_users, tokens)
        # a planned change with nothing left to do at execution time is skipped, with the reason
        batch = self.journal.next_batch_name("revoke_sessions", "nothing-left")
        for users, what in ((session_users, "no open sessions left"), (token_users, "token no longer present")):
            for user_changes in users.values():
                for change in user_changes:
                    if not self.keys.get(change.id):
                        self.keys[change.id] = [change.id]
                        if not self.state.is_done(change.id, change.id):
                            self._outcome(batch, change, change.id, "skipped", message=what)
        self.journal.sync()
        self.progress.end_phase("revoke_sessions", f"{self.oauth_calls} OAuth revocations")

    def _revoke_tokens(self, token_users: dict[str, list[Change]], tokens: list[dict[str, Any]]) -> None:
        work: list[tuple[Change, str, str]] = []
        for tok in tokens:
            delete_token = tok.get("DeleteToken")
            if not delete_token:
                continue
            user_changes = token_users.get(tok["UserId"], [])
            change = next((c for c in user_changes if tok.get("AppName") and
                           tok["AppName"] in (c.label, (c.before or {}).get("AppName"))), None)
            change = change or (user_changes[0] if user_changes else None)
            if change is None:
                continue
            key = _token_key(delete_token)
            if key not in self.keys.get(change.id, []):
                self.keys.setdefault(change.id, []).append(key)
            if not self.state.is_done(change.id, key):
                work.append((change, key, delete_token))
        if not work:
            return
        batch = self.journal.next_batch_name("revoke_sessions", "oauth-revoke")
        self.journal.batch_started(batch, "revoke_sessions", [(c.id, k) for c, k, _ in work], kind="revoke")

        def revoke(item: tuple[Change, str, str]):
            change, key, token = item
            try:
                return item, self.client.revoke_token(token)
            except OrgError as exc:
                return item, exc

        with ThreadPoolExecutor(max_workers=OAUTH_THREADS) as pool:
            for (change, key, _token), res in pool.map(revoke, work):
                self.oauth_calls += 1
                if isinstance(res, OrgError):
                    self._outcome(batch, change, key, "failed", res.error_code or "REVOKE_FAILED", res.message)
                elif res.success:
                    self._outcome(batch, change, key, "success")
                else:
                    self._outcome(batch, change, key, "failed", res.error_code, res.message)
                self.progress.advance(1)
        self.journal.batch_finished(batch)
        self.batches_in_step += 1
        self._maybe_crash("revoke_sessions")

    # ------------------------------------------------------------------ backup
    def _backup(self) -> None:
        """Write the backup CSVs (users, owners, assignments, owned records) and record their SHA-256."""
        backup_dir = self.folder.backup_dir
        backup_dir.mkdir(exist_ok=True)
        self.progress.start_phase("backup", len(self.plan.changes))
        digests: dict[str, str] = {}
        user_ids = sorted(self.users)
        logins = {c.user_id: (c.record_ids[0] if c.record_ids else "") for c in self.plan.changes
                  if c.action == "freeze"}
        current = {r["Id"]: r for r in self.reader.query_in(
            "SELECT Id, Username, IsActive, UserRoleId, ManagerId, ProfileId FROM User WHERE Id IN {ids}",
            user_ids)} if user_ids else {}
        user_rows = []
        for uid in user_ids:
            pu, row = self.users[uid], current.get(uid, {})
            user_rows.append([uid, pu.username, pu.is_active, pu.is_frozen, logins.get(uid, ""),
                              row.get("UserRoleId"), row.get("ManagerId"), row.get("ProfileId")])
        digests["users.csv"] = write_csv(backup_dir / "users.csv", [
            "Id", "Username", "IsActive", "IsFrozen", "UserLoginId", "UserRoleId", "ManagerId", "ProfileId"],
            user_rows)
        owner_rows = (
            [c.object, rid, (c.before or {}).get("OwnerId") or c.user_id,
             (c.after or {}).get("OwnerId") or (c.successor.id if c.successor else ""), c.id]
            for c in self.plan.changes if c.action == "reassign_owner" for rid in c.record_ids)
        digests["owners.csv"] = write_csv(backup_dir / "owners.csv",
                                          ["Object", "Id", "OwnerId", "NewOwnerId", "ChangeId"], owner_rows)
        removals: dict[str, dict[str, Change]] = defaultdict(dict)
        for c in self.plan.changes:
            if c.action.startswith("remove_") and change_object(c) in ASSIGNMENT_FIELDS:
                for rid in c.record_ids:
                    removals[change_object(c)][rid] = c
        for obj, wanted in sorted(removals.items()):
            fields = ASSIGNMENT_FIELDS[obj]
            user_field = USER_FIELD[obj]
            users = sorted({c.user_id for c in wanted.values()})
            rows = [r for r in self.reader.query_in(
                f"SELECT {', '.join(fields)} FROM {obj} WHERE {user_field} IN {{ids}}", users) if r["Id"] in wanted]
            digests[f"{obj}.csv"] = write_csv(
                backup_dir / f"{obj}.csv", [*fields, "Label", "ChangeId"],
                ([*(r.get(f) for f in fields), wanted[r["Id"]].label, wanted[r["Id"]].id] for r in rows))
        for obj in self.plan.backup_objects or []:
            spec = get_object(obj)
            if spec is None or not spec.has_owner:
                continue
            fields = [f.name for f in spec.fields if f.name != "IsDeleted"]
            rows = self.client.query_in(f"SELECT {', '.join(fields)} FROM {obj} WHERE OwnerId IN {{ids}}", user_ids)
            name = f"records/{obj}.csv"
            digests[name] = write_csv(backup_dir / name, fields,
                                      ({k: v for k, v in r.items() if k != "attributes"} for r in rows))
        sums = write_sha256sums(backup_dir, digests)
        for name, digest in sorted(digests.items()):
            self.journal.file(f"backup/{name}", digest)
        self.journal.file("backup/SHA256SUMS", sums)
        audit_events.event("backup_written", outcome="success",
                           files={f"backup/{n}": d for n, d in sorted(digests.items())},
                           sha256sums=sums)
        self.progress.end_phase("backup", f"{len(digests)} files")

    # ------------------------------------------------------------------ deactivation gate
    def _user_failures(self, user_id: str) -> list[tuple[Change, int, set[str]]]:
        """(change, failed record count, error codes) of every failed change of ``user_id`` so far."""
        out = []
        for change in self.changes_of_user.get(user_id, []):
            if change.action == "deactivate":
                continue
            codes, n = set(), 0
            for key in self.keys.get(change.id, change.record_ids):
                o = self.state.other.get((change.id, key))
                if o is not None and o.outcome == "failed":
                    n += 1
                    codes.add(o.error_code or "UNKNOWN")
            if n:
                out.append((change, n, codes))
        return out

    def _gate_deactivation(self, changes: list[Change]) -> list[Change]:
        """Deactivate only users all of whose earlier changes succeeded; skip the others with the reason."""
        ready = []
        batch = self.journal.next_batch_name("deactivate", "gate")
        for change in changes:
            self.keys[change.id] = [op.key for op in ops_for(change)]
            failures = self._user_failures(change.user_id)
            if not failures:
                ready.append(change)
                continue
            reason = "not deactivated because " + "; ".join(describe_failure(c, n, codes) for c, n, codes in failures)
            for key in self.keys.get(change.id, [change.user_id]):
                if not self.state.is_done(change.id, key):
                    self._outcome(batch, change, key, "failed", "NOT_DEACTIVATED", reason)
        self.journal.sync()
        return ready

    # ------------------------------------------------------------------ audit and summary
    def _change_outcome(self, change: Change) -> tuple[str, list[str], list[tuple[str, str | None, str | None]]]:
        keys = self.keys.get(change.id)
        if keys is None:
            keys = [op.key for op in ops_for(change)] or [change.id]
        ok, bad = [], []
        skipped_only = True
        if change.id in self.state.complete:
            return "success", list(keys), []
        done = self.state.ok.get(change.id, set())
        for key in keys:
            if key in done:
                ok.append(key)
                skipped_only = False
                continue
            o = self.state.other.get((change.id, key))
            if o is None:
                bad.append((key, "NOT_ATTEMPTED", "not attempted"))
            elif o.outcome == "failed":
                bad.append((key, o.error_code, o.message))
            else:
                ok.append(key)
                if o.outcome == "success":
                    skipped_only = False
        if bad:
            return ("partial" if ok else "failed"), ok, bad
        return ("skipped" if skipped_only and keys else "success"), ok, bad

    def _audit_changes(self, changes: list[Change]) -> None:
        done = []
        for change in changes:
            if change.id in self.state.audited:
                continue
            outcome, ok, bad = self._change_outcome(change)
            user = self.users.get(change.user_id)
            fields: dict[str, Any] = {
                "target_user": user.username if user else change.username,
                "target_user_id": change.user_id,
                "action": change.action,
                "object": change_object(change),
                "label": change.label,
                "change_id": change.id,
                "before": change.before,
                "after": change.after,
                "outcome": outcome,
            }
            if change.action not in ("revoke_oauth_token",):
                ids = ok if outcome != "failed" else [k for k, _, _ in bad]
                fields["record_ids"] = ids  # the audit log moves large sets to a file named by its SHA-256
            else:
                fields["count"] = len(ok) + len(bad)
            if bad:
                fields["error_code"] = sorted({c or "UNKNOWN" for _, c, _ in bad})[0]
                fields["message"] = next((m for _, _, m in bad if m), None)
                fields["failed_count"] = len(bad)
                fields["failed_ids"] = [k for k, _, _ in bad][:50] if change.action != "revoke_oauth_token" else []
            name = {"success": "change_applied", "skipped": "change_skipped"}.get(outcome, "change_failed")
            audit_events.event(name, **fields)
            if outcome in ("success", "skipped"):
                done.append(change.id)
        if done:
            self.journal.audited(done)
            self.state.audited.update(done)

    def _finish(self) -> RunResult:
        result = RunResult(run_id=self.folder.run_id, status=STATUS_SUCCEEDED, changes=len(self.plan.changes),
                           resumed=self.resumed)
        per_user: dict[str, list[str]] = defaultdict(list)
        for change in self.plan.changes:
            outcome, ok, bad = self._change_outcome(change)
            result.records_applied += sum(1 for k in ok if self.state.succeeded(change.id, k))
            result.records_failed += len(bad)
            if outcome == "success":
                result.applied += 1
            elif outcome == "skipped":
                result.skipped += 1
            else:
                result.failed += 1
                user = self.users.get(change.user_id)
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
        if result.failed:
            result.status = STATUS_PARTIAL if result.applied or result.skipped else STATUS_FAILED
        result.api_calls = getattr(self.client, "api_calls", 0) - self.api_calls_at_start
        result.oauth_calls = self.oauth_calls
        result.seconds = round(time.monotonic() - self.t0, 3)
        result.time_to_freeze = round(self.time_to_freeze, 3) if self.time_to_freeze is not None else None
        audit_events.event("run_finished", outcome=result.status, changes=result.changes, applied=result.applied,
                           failed=result.failed, skipped=result.skipped, records_applied=result.records_applied,
                           records_failed=result.records_failed, api_calls=result.api_calls,
                           oauth_calls=result.oauth_calls, failures=result.failures[:100])
        result.audit_head = audit_events.chain_head()
        summary = self.folder.read_summary()
        previous_calls = summary.get("api_calls", 0) if self.resumed else 0
        self.folder.update_summary(
            status=result.status, finished=utc_now(), changes=result.changes, applied=result.applied,
            failed=result.failed, skipped=result.skipped, failures=result.failed,
            failure_lines=result.failures, records_applied=result.records_applied,
            records_failed=result.records_failed, api_calls=previous_calls + result.api_calls,
            oauth_calls=summary.get("oauth_calls", 0) + result.oauth_calls, seconds=result.seconds,
            time_to_freeze=result.time_to_freeze, audit_head=result.audit_head,
            attempts=self.state.attempts + 1)
        return result


def describe_failure(change: Change, n: int, codes: set[str]) -> str:
    """One clause naming what did not happen: "2 Account records could not be reassigned (INACTIVE_OWNER_OR_USER)"."""
    code_text = ", ".join(sorted(codes))
    action = change.action
    if action == "reassign_owner":
        what = f"{n} {change.object} record{'s' if n != 1 else ''} could not be reassigned"
    elif action == "revoke_oauth_token":
        what = f"{n} OAuth token{'s' if n != 1 else ''} ({change.label or 'app'}) could not be revoked"
    elif action == "end_sessions":
        what = f"{n} session{'s' if n != 1 else ''} could not be ended"
    elif action == "freeze":
        what = "the login could not be frozen"
    elif action == "clear_role":
        what = "the role could not be cleared"
    elif action in ("repoint_manager", "repoint_delegated_approver"):
        field = "manager" if action == "repoint_manager" else "delegated approver"
        what = f"the {field} of {n} user{'s' if n != 1 else ''} could not be re-pointed"
    elif action.startswith("remove_"):
        noun = ACTIONS.get(action, ("", "", action, action))[2].replace("remove ", "").replace("from ", "")
        what = f"{noun} {change.label} could not be removed".strip()
    elif action.startswith("restore") or action in ("reactivate", "unfreeze"):
        what = f"{ACTIONS.get(action, ('', '', action, action))[2]} {change.label} failed".replace("  ", " ")
    else:
        what = f"{action} failed"
    return f"{what} ({code_text})"


def apply_plan(client, plan: Plan, run_dir: Path, *, progress: Progress | None = None) -> RunResult:
    """Execute ``plan`` against the org into ``run_dir``, resuming from its journal when there is one."""
    return Executor(client, plan, run_dir, progress).run()
