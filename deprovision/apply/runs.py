"""Run folders: ids, ``summary.json``, the stored plan, and listing runs.

A run lives in ``<state>/runs/<run_id>/`` with ``plan.json``, ``backup/``,
``journal.jsonl`` and ``summary.json``. Run ids sort by start time.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deprovision.errors import InvalidInputError
from deprovision.plan.model import Plan

STATUS_RUNNING = "running"
STATUS_SUCCEEDED = "succeeded"
STATUS_PARTIAL = "partial"
STATUS_FAILED = "failed"
UNFINISHED = (STATUS_RUNNING, STATUS_PARTIAL, STATUS_FAILED)


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_run_id(now: datetime | None = None) -> str:
    """A sortable run id such as ``20261126T101500Z-3fa2``."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def runs_root(state_dir: Path) -> Path:
    return Path(state_dir) / "runs"


def plan_hash(plan: Plan) -> str:
    """SHA-256 of the plan's canonical JSON, change by change: the identity of "the same plan"."""
    digest = hashlib.sha256()

    def feed(value: Any) -> None:
        digest.update(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())
        digest.update(b"\n")

    head = {k: v for k, v in plan.__dict__.items() if k != "changes"}
    feed(json.loads(json.dumps(head, default=lambda o: o.__dict__)))
    for change in plan.changes:
        data = dict(change.__dict__)
        data.pop("record_ids_ref", None)  # where the ids were stored is not part of the plan
        if change.successor is not None:
            data["successor"] = change.successor.__dict__
        feed(data)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a saved plan's bytes and of its record-id sidecar: the cheap identity of a plan file."""
    from deprovision.plan.planfile import sidecar_path

    digest = hashlib.sha256(Path(path).read_bytes())
    sidecar = sidecar_path(Path(path))
    if sidecar.exists():
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


def playbook_key(plan: Plan) -> str:
    """Identity of "the same playbook run against the same org" (for resuming a playbook apply)."""
    pb = plan.playbook or {}
    parts = [plan.org_id, pb.get("sha256") or "", pb.get("name") or "",
             json.dumps(plan.variables or {}, sort_keys=True)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file, fsynced, then renamed."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class RunFolder:
    """One run's folder and its files."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def plan_path(self) -> Path:
        return self.path / "plan.json"

    @property
    def journal_path(self) -> Path:
        return self.path / "journal.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def backup_dir(self) -> Path:
        return self.path / "backup"

    def read_summary(self) -> dict[str, Any]:
        try:
            return json.loads(self.summary_path.read_text())
        except (OSError, ValueError):
            return {"run_id": self.run_id, "status": "unknown"}

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json_atomic(self.summary_path, summary)

    def update_summary(self, **fields: Any) -> dict[str, Any]:
        summary = self.read_summary()
        summary.update(fields)
        self.write_summary(summary)
        return summary

    def read_plan(self) -> Plan:
        from deprovision.plan.planfile import read_plan

        if not self.plan_path.exists():
            raise InvalidInputError(f"run {self.run_id}: its plan.json is missing")
        return read_plan(self.plan_path)


def create_run(state_dir: Path, plan: Plan, *, kind: str = "apply", extra: dict[str, Any] | None = None,
               plan_file: Path | None = None, digest: str | None = None) -> RunFolder:
    """Create a new run folder holding the plan and a ``running`` summary.

    ``plan_file``: the saved plan ``plan`` was read from; its bytes (and record-id sidecar) are copied
    as they are instead of writing the plan again.
    """
    root = runs_root(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        folder = RunFolder(root / new_run_id())
        try:
            folder.path.mkdir()
            break
        except FileExistsError:
            continue
    (folder.backup_dir).mkdir()
    from deprovision.plan.planfile import sidecar_path, write_plan

    if plan_file is not None:
        summary_extra = {"plan_file_sha256": file_digest(plan_file)}
        shutil.copyfile(plan_file, folder.plan_path)
        if sidecar_path(plan_file).exists():
            shutil.copyfile(sidecar_path(plan_file), sidecar_path(folder.plan_path))
    else:
        summary_extra = {}
        write_plan(plan, folder.plan_path)  # large record-id sets go to plan.json.records.gz
    summary = {
        "run_id": folder.run_id,
        "kind": kind,
        "status": STATUS_RUNNING,
        "plan_hash": digest or plan_hash(plan),
        "playbook_key": playbook_key(plan),
        "playbook": (plan.playbook or {}).get("name"),
        "playbook_path": (plan.playbook or {}).get("path"),
        "org_id": plan.org_id,
        "instance_url": plan.instance_url,
        "started": utc_now(),
        "finished": None,
        "users": len(plan.users),
        "changes": len(plan.changes),
        "failures": 0,
        "attempts": 0,
    }
    summary.update(summary_extra)
    summary.update(extra or {})
    folder.write_summary(summary)
    return folder


def open_run(state_dir: Path, run_id: str) -> RunFolder:
    """The folder of ``run_id``; InvalidInputError when there is none."""
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise InvalidInputError(f"no run '{run_id}'")
    folder = RunFolder(runs_root(state_dir) / run_id)
    if not folder.summary_path.exists() and not folder.plan_path.exists():
        raise InvalidInputError(f"no run '{run_id}' in {runs_root(state_dir)} (see `deprovision runs`)")
    return folder


def list_runs(state_dir: Path) -> list[dict[str, Any]]:
    """Every run's summary, oldest first."""
    root = runs_root(state_dir)
    if not root.is_dir():
        return []
    out = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        out.append(RunFolder(path).read_summary())
    return out


def find_run(state_dir: Path, *, plan_hash_value: str | None = None, playbook_key_value: str | None = None,
             file_digest_value: str | None = None,
             statuses: tuple[str, ...] = UNFINISHED, kind: str = "apply") -> RunFolder | None:
    """The newest run of ``kind`` matching the plan hash, plan file digest or playbook key, in ``statuses``."""
    for summary in reversed(list_runs(state_dir)):
        if summary.get("kind", "apply") != kind:
            continue
        if plan_hash_value and summary.get("plan_hash") != plan_hash_value:
            continue
        if file_digest_value and summary.get("plan_file_sha256") != file_digest_value:
            continue
        if playbook_key_value and summary.get("playbook_key") != playbook_key_value:
            continue
        if summary.get("status") in statuses:
            return RunFolder(runs_root(state_dir) / summary["run_id"])
    return None
