"""``RunContext``: what every step of one run shares (client, plan, journal, state, counters).

Steps record outcomes through the context so the journal (durable) and the in-memory state always
agree. Outcome methods take a lock: Bulk jobs of different objects run side by side.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from deprovision.apply.journal import Journal, read_journal
from deprovision.apply.operations import Op, ops_for
from deprovision.apply.parallel import ParallelReads
from deprovision.apply.progress import Progress
from deprovision.apply.runs import RunFolder
from deprovision.plan.model import Change, Plan


def crash_point() -> tuple[str, str] | None:
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


class RunContext:
    """The state of one run shared by its steps; resumes from the run folder's journal when there is one."""

    def __init__(self, client, plan: Plan, run_dir: Path, progress: Progress | None = None, *,
                 kind: str = "apply") -> None:
        self.client = client
        self.plan = plan
        self.kind = kind
        self.folder = RunFolder(Path(run_dir))
        self.progress = progress or Progress()
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
        self.crash = crash_point()
        self.batches_in_step = 0
        self.time_to_freeze: float | None = None
        self.t0 = time.monotonic()
        self.notes: list[str] = []
        self.failures: list[str] = []  # failures outside the plan's changes (colleagues' team rows not re-created)
        self.reader = ParallelReads(client)  # chunked reads side by side
        self.lock = threading.RLock()  # journal and state: Bulk jobs of several objects finish side by side

    # -- operations of a change ----------------------------------------------------------------
    def ops(self, change: Change, ops: list[Op] | None = None) -> list[Op]:
        """The record operations of ``change`` (``ops`` when a step mapped them itself); registers its keys."""
        ops = ops_for(change) if ops is None else ops
        keys = change.record_ids
        if not ops or len(keys) != len(ops) or any(op.key != k for op, k in zip(ops, keys, strict=False)):
            keys = [op.key for op in ops]
        self.keys[change.id] = keys  # usually the plan's own list: no copy of a million ids
        return ops

    def pending(self, ops: Iterable[Op]) -> list[Op]:
        """The operations the journal does not show as done."""
        return [op for op in ops if not self.state.is_done(op.change.id, op.key)]

    # -- outcomes ------------------------------------------------------------------------------
    def outcome(self, batch: str, change: Change, key: str, outcome: str,
                code: str | None = None, message: str | None = None) -> None:
        """Journal and remember one record's outcome."""
        with self.lock:
            self.journal.record(batch, change.id, key, outcome, error_code=code, message=message)
            self.state.set(change.id, key, outcome, code, message)

    def successes(self, batch: str, ops: list[Op]) -> None:
        """Record many successes at once (one journal line per record, written in one go)."""
        self.success_pairs(batch, ((op.change, op.key) for op in ops))

    def success_pairs(self, batch: str, pairs: Iterable[tuple[Change, str]]) -> None:
        by_change: dict[str, tuple[Change, list[str]]] = {}
        for change, key in pairs:
            by_change.setdefault(change.id, (change, []))[1].append(key)
        with self.lock:
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

    # -- batches and crash points --------------------------------------------------------------
    def batch_done(self, step: str, batch: str, n: int, **info) -> None:
        """Close a batch in the journal, advance progress, and honour a test crash point."""
        with self.lock:
            self.journal.batch_finished(batch, **info)
            self.progress.advance(n)
            self.batches_in_step += 1
            self.maybe_crash(step)

    def maybe_crash(self, step: str, *, end: bool = False, sent: bool = False) -> None:
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
