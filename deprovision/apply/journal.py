"""The run journal: an append-only JSON Lines file that makes ``apply`` resumable.

Lines (``"k"`` is the kind):
- ``{"k": "attempt", "t": ...}``: apply started or resumed;
- ``{"k": "batch_started", "b": BATCH, "phase": P, "by_change": {CHANGE_ID: [KEY, ...]}}``: fsynced
  before a call is sent;
- ``{"k": "rec", "b": BATCH, "c": CHANGE_ID, "r": KEY, "o": "success"|"failed"|"skipped", ...}``:
  one per record outcome (``e`` errorCode, ``m`` message);
- ``{"k": "batch_finished", "b": BATCH}``: fsynced after the outcomes;
- ``{"k": "phase_finished", "phase": P}``, ``{"k": "file", "path": ..., "sha256": ...}``,
  ``{"k": "audited", "changes": [...]}``.

A record whose last outcome is ``success`` (or ``skipped``) is never sent again. Keys of a batch that
started but never finished are "in doubt": the executor re-reads them from the org before re-sending.
A torn last line (crash mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deprovision.apply.runs import utc_now

DONE_OUTCOMES = ("success", "skipped")


@dataclass
class RecordOutcome:
    """The last outcome of one record key within one change."""

    change_id: str
    key: str
    outcome: str
    error_code: str | None = None
    message: str | None = None


@dataclass
class JournalState:
    """What a journal says has happened so far.

    Successes are kept compactly (a set of keys per change: a run may move a million records);
    failures and skips, which are few, keep their error code and message.
    """

    ok: dict[str, set[str]] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)  # changes whose every key succeeded (keys not kept)
    other: dict[tuple[str, str], RecordOutcome] = field(default_factory=dict)
    started_batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished_batches: set[str] = field(default_factory=set)
    finished_phases: set[str] = field(default_factory=set)
    files: dict[str, str] = field(default_factory=dict)
    audited: set[str] = field(default_factory=set)
    attempts: int = 0
    lines: int = 0

    def set(self, change_id: str, key: str, outcome: str, error_code: str | None = None,
            message: str | None = None) -> None:
        if outcome == "success":
            if change_id in self.complete:
                return
            self.ok.setdefault(change_id, set()).add(key)
            self.other.pop((change_id, key), None)
        else:
            if change_id in self.complete:
                return  # a change once complete stays complete (its keys are not kept to re-open it)
            keys = self.ok.get(change_id)
            if keys:
                keys.discard(key)
            self.other[(change_id, key)] = RecordOutcome(change_id, key, outcome, error_code, message)

    def mark_complete(self, change_id: str) -> None:
        """Every key of ``change_id`` succeeded: keep one flag instead of the set of keys."""
        self.complete.add(change_id)
        self.ok.pop(change_id, None)

    def succeeded(self, change_id: str, key: str) -> bool:
        if change_id in self.complete:
            return True
        keys = self.ok.get(change_id)
        return bool(keys) and key in keys

    def get(self, change_id: str, key: str) -> RecordOutcome | None:
        if change_id in self.complete:
            return RecordOutcome(change_id, key, "success")
        keys = self.ok.get(change_id)
        if keys and key in keys:
            return RecordOutcome(change_id, key, "success")
        return self.other.get((change_id, key))

    def is_done(self, change_id: str, key: str) -> bool:
        if change_id in self.complete:
            return True
        keys = self.ok.get(change_id)
        if keys and key in keys:
            return True
        out = self.other.get((change_id, key))
        return out is not None and out.outcome in DONE_OUTCOMES

    def keys_of(self, change_id: str) -> list[str]:
        """Every key of ``change_id`` with a recorded outcome."""
        out = list(self.ok.get(change_id, ()))
        out += [k for (c, k) in self.other if c == change_id]
        return out

    def success_count(self) -> int:
        return sum(len(v) for v in self.ok.values())

    def in_doubt(self) -> list[dict[str, Any]]:
        """Batches that started and never finished (a crash hit them mid-flight)."""
        return [b for name, b in self.started_batches.items() if name not in self.finished_batches]

    def doubt_keys(self) -> set[tuple[str, str]]:
        """(change id, key) pairs of batches in doubt that have no outcome yet."""
        out = set()
        for batch in self.in_doubt():
            for change_id, keys in (batch.get("by_change") or {}).items():
                out.update((change_id, k) for k in keys)
            out.update(tuple(k) for k in batch.get("keys", []))
        return out


def read_journal(path: Path) -> JournalState:
    """Replay a journal file into a ``JournalState`` (an absent file is an empty journal)."""
    state = JournalState()
    if not path.exists():
        return state
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # torn write at the end of a crashed run
            state.lines += 1
            kind = line.get("k")
            if kind == "rec":
                state.set(line["c"], line["r"], line["o"], line.get("e"), line.get("m"))
            elif kind == "batch_started":
                state.started_batches[line["b"]] = line
                state.finished_batches.discard(line["b"])
            elif kind == "batch_finished":
                state.finished_batches.add(line["b"])
            elif kind == "phase_finished":
                state.finished_phases.add(line["phase"])
            elif kind == "file":
                state.files[line["path"]] = line["sha256"]
            elif kind == "audited":
                state.audited.update(line.get("changes", []))
            elif kind == "attempt":
                state.attempts += 1
    return state


class Journal:
    """Appends journal lines; ``sync()`` makes everything written so far durable."""

    def __init__(self, path: Path, *, attempt: int = 1) -> None:
        self.path = path
        self.attempt_no = attempt
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._batch_seq = 0
        self._lock = threading.RLock()  # Bulk jobs of several objects are journaled from several threads

    def close(self) -> None:
        if not self._fh.closed:
            self.sync()
            self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            self._fh.write(text)

    def sync(self) -> None:
        with self._lock:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def attempt(self, **info: Any) -> None:
        self._write({"k": "attempt", "t": utc_now(), **info})
        self.sync()

    def batch_started(self, batch: str, phase: str, keys: Iterable[tuple[str, str]], **info: Any) -> None:
        """Record (durably) that a batch of (change id, record key) pairs is about to be sent."""
        by_change: dict[str, list[str]] = {}
        for change_id, key in keys:
            by_change.setdefault(change_id, []).append(key)
        self._write({"k": "batch_started", "t": utc_now(), "b": batch, "phase": phase, "by_change": by_change,
                     **info})
        self.sync()

    def record(self, batch: str, change_id: str, key: str, outcome: str, *,
               error_code: str | None = None, message: str | None = None) -> None:
        line: dict[str, Any] = {"k": "rec", "b": batch, "c": change_id, "r": key, "o": outcome}
        if error_code:
            line["e"] = error_code
        if message:
            line["m"] = message
        self._write(line)

    def record_many(self, batch: str, change_id: str, keys: Iterable[str], outcome: str = "success") -> None:
        """One ``rec`` line per key, all with the same outcome and no error (the fast path for big batches)."""
        prefix = '{"k":"rec","b":' + json.dumps(batch) + ',"c":' + json.dumps(change_id) + ',"r":'
        suffix = ',"o":' + json.dumps(outcome) + "}\n"
        text = "".join(prefix + json.dumps(k) + suffix for k in keys)
        with self._lock:
            self._fh.write(text)

    def batch_finished(self, batch: str, **info: Any) -> None:
        self._write({"k": "batch_finished", "t": utc_now(), "b": batch, **info})
        self.sync()

    def phase_finished(self, phase: str, **info: Any) -> None:
        self._write({"k": "phase_finished", "t": utc_now(), "phase": phase, **info})
        self.sync()

    def file(self, path: str, sha256: str) -> None:
        self._write({"k": "file", "t": utc_now(), "path": path, "sha256": sha256})
        self.sync()

    def audited(self, change_ids: Iterable[str]) -> None:
        self._write({"k": "audited", "changes": list(change_ids)})
        self.sync()

    def next_batch_name(self, phase: str, label: str) -> str:
        with self._lock:
            self._batch_seq += 1
            seq = self._batch_seq
        return f"{phase}:{label}:a{self.attempt_no}:{seq:05d}"
