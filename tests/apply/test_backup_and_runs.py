"""Backup CSVs with SHA-256, run folders, run ids, finding a run to resume."""

from __future__ import annotations

import hashlib
import re

from deprovision.apply import runs
from deprovision.apply.backup import check_sha256sums, read_csv, write_csv, write_sha256sums
from deprovision.plan.model import Change, Plan, PlanUser


def _plan(n_changes: int = 1) -> Plan:
    user = PlanUser(id="005000000000001AAA", username="nina.patel@acme.example", name="Nina Patel",
                    email="nina.patel@acme.example", is_active=True, is_frozen=False, profile="Standard User",
                    role=None, manager_id=None)
    changes = [Change(id=f"005000000000001AAA:freeze:{i}", action="freeze", phase="freeze", user_id=user.id,
                      username=user.username, object="UserLogin", record_ids=["0Yw000000000001AAA"],
                      before={"IsFrozen": False}, after={"IsFrozen": True}) for i in range(n_changes)]
    return Plan(org_id="00D000000000001AAA", instance_url="https://127.0.0.1:1", api_user={"id": "005x"},
                playbook={"name": "leavers", "sha256": "ab" * 32, "reason": "HR-1"}, variables={},
                created_at="2026-11-26T10:00:00Z", users=[user], changes=changes, warnings=[], fingerprint={})


def test_write_csv_returns_the_sha256_of_the_file(tmp_path) -> None:
    path = tmp_path / "b" / "x.csv"
    digest = write_csv(path, ["Id", "Flag", "Note"], [["001", True, None], {"Id": "002", "Flag": False,
                                                                             "Note": 'a "quote", comma'}])
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    rows = read_csv(path)
    assert rows == [{"Id": "001", "Flag": "true", "Note": ""},
                    {"Id": "002", "Flag": "false", "Note": 'a "quote", comma'}]


def test_sha256sums_detects_an_edited_backup(tmp_path) -> None:
    digests = {"a.csv": write_csv(tmp_path / "a.csv", ["Id"], [["1"]])}
    write_sha256sums(tmp_path, digests)
    assert check_sha256sums(tmp_path) == []
    (tmp_path / "a.csv").write_text("Id\n2\n")
    assert check_sha256sums(tmp_path) == ["a.csv"]


def test_run_ids_sort_by_time_and_look_right() -> None:
    rid = runs.new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", rid)


def test_create_run_writes_plan_and_running_summary(tmp_path) -> None:
    plan = _plan()
    folder = runs.create_run(tmp_path, plan)
    assert folder.plan_path.exists() and folder.backup_dir.is_dir()
    summary = folder.read_summary()
    assert summary["status"] == "running"
    assert summary["plan_hash"] == runs.plan_hash(plan)
    assert folder.read_plan().to_dict() == plan.to_dict()
    assert [r["run_id"] for r in runs.list_runs(tmp_path)] == [folder.run_id]


def test_find_run_matches_plan_hash_and_status(tmp_path) -> None:
    plan, other = _plan(1), _plan(2)
    folder = runs.create_run(tmp_path, plan)
    assert runs.find_run(tmp_path, plan_hash_value=runs.plan_hash(plan)).run_id == folder.run_id
    assert runs.find_run(tmp_path, plan_hash_value=runs.plan_hash(other)) is None
    folder.update_summary(status=runs.STATUS_SUCCEEDED)
    assert runs.find_run(tmp_path, plan_hash_value=runs.plan_hash(plan)) is None
    assert runs.find_run(tmp_path, plan_hash_value=runs.plan_hash(plan),
                         statuses=(runs.STATUS_SUCCEEDED,)).run_id == folder.run_id


def test_playbook_key_ignores_creation_time_but_not_variables() -> None:
    a, b = _plan(), _plan(3)
    b.created_at = "2027-01-01T00:00:00Z"
    assert runs.playbook_key(a) == runs.playbook_key(b)
    b.variables = {"ticket": "HR-2"}
    assert runs.playbook_key(a) != runs.playbook_key(b)
