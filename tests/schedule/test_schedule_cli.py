"""Freeze now, deactivate at the leaving date: a future-dated leaver is frozen at once (sessions ended),
keeps everything else until ``apply --due`` runs after the date (clock set with DEPROVISION_NOW); one run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deprovision.cli.common import OrgOptions

ROOT = Path(__file__).resolve().parents[2]
LEAVER = "li.wei@acme.example"
PLAYBOOK = """\
version: 1
name: li-wei-leaves
reason: "HR-5100: leaves {end}"
users:
  usernames: [{users}]
  terminated_at: "{end}"
protect:
  usernames: [admin@acme.example, ops@acme.example]
actions:
  freeze: true
  revoke: {{sessions: true, permission_sets: all, public_groups: all, oauth_tokens: all, role: true}}
  reassign:
    default: {{to: manager, fallback: "user:ops@acme.example"}}
    objects: {{Account: {{}}, Opportunity: {{where: "IsClosed = false"}}}}
  deactivate: true
"""


@pytest.fixture
def state(tmp_path: Path) -> Path:
    from deprovision.localorg import seed

    folder = tmp_path / "state"
    folder.mkdir()
    shutil.copyfile(seed.template("demo"), folder / "localorg.sqlite3")
    return folder


def run(state: Path, *args: str, now: datetime | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "DEPROVISION_TESTING": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    env.pop("DEPROVISION_STATE_DIR", None)
    env.pop("DEPROVISION_NOW", None)
    if now is not None:
        env["DEPROVISION_NOW"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return subprocess.run([sys.executable, "-c", "from deprovision.cli import main; main()", "--state-dir",
                           str(state), *map(str, args)], capture_output=True, text=True, env=env, timeout=300,
                          cwd=state.parent)


def rows(state: Path, soql: str) -> list[dict]:
    from deprovision.org import open_client

    with open_client(OrgOptions(), state) as client:
        return list(client.query(soql))


def _playbook(tmp_path: Path, end: str, users: str = LEAVER) -> Path:
    path = tmp_path / "leaver.yaml"
    path.write_text(PLAYBOOK.format(end=end, users=users))
    return path


def test_future_leaver_is_frozen_now_and_deactivated_when_due(state, tmp_path) -> None:
    end = (datetime.now(UTC) + timedelta(days=14)).replace(hour=0, minute=0, second=0, microsecond=0)
    playbook = _playbook(tmp_path, end.strftime("%Y-%m-%d"))
    end_text = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    planned = run(state, "plan", playbook)
    assert planned.returncode == 0, planned.stderr
    assert f"leaves {end_text}: login frozen and sessions ended now" in planned.stdout + planned.stderr

    first = run(state, "apply", playbook, "--yes")
    assert first.returncode == 0, first.stderr
    assert "Apply scheduled" in first.stderr and f"at {end_text}" in first.stderr
    user = rows(state, f"SELECT Id, IsActive, UserRoleId FROM User WHERE Username = '{LEAVER}'")[0]
    assert user["IsActive"] is True and user["UserRoleId"]
    assert rows(state, f"SELECT IsFrozen FROM UserLogin WHERE UserId = '{user['Id']}'")[0]["IsFrozen"] is True
    assert rows(state, f"SELECT Id FROM AuthSession WHERE UsersId = '{user['Id']}'") == []
    assert rows(state, f"SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user['Id']}' "
                       "AND PermissionSet.IsOwnedByProfile = false")
    listed = json.loads(run(state, "runs", "--format", "json").stdout)
    assert [r["status"] for r in listed] == ["scheduled"]
    assert listed[0]["next_due"] == end_text and listed[0]["pending"][0]["users"] == [LEAVER]
    checked = run(state, "verify", listed[0]["run_id"])  # what was due held; what waits is not checked yet
    assert checked.returncode == 0, checked.stderr
    table = run(state, "runs").stdout
    assert "scheduled" in table and f"at {end_text}" in table

    again = run(state, "apply", playbook, "--yes")  # the same playbook before its date: the same run waits
    assert again.returncode == 0 and "Nothing due yet" in again.stderr, again.stderr
    early = run(state, "apply", "--due", now=end - timedelta(hours=1))
    assert early.returncode == 0 and "Nothing due" in early.stderr, early.stderr
    assert rows(state, f"SELECT IsActive FROM User WHERE Id = '{user['Id']}'")[0]["IsActive"] is True

    due = run(state, "apply", "--due", now=end + timedelta(hours=1))
    assert due.returncode == 0, due.stderr
    assert "Apply succeeded" in due.stderr
    after = rows(state, f"SELECT IsActive, UserRoleId FROM User WHERE Id = '{user['Id']}'")[0]
    assert after["IsActive"] is False and after["UserRoleId"] is None
    assert rows(state, f"SELECT Id FROM Account WHERE OwnerId = '{user['Id']}'") == []
    listed = json.loads(run(state, "runs", "--format", "json").stdout)
    assert len(listed) == 1 and listed[0]["status"] == "succeeded" and listed[0]["pending"] == []
    assert run(state, "verify", listed[0]["run_id"]).returncode == 0
    assert run(state, "apply", "--due", now=end + timedelta(days=1)).returncode == 0  # nothing left
    events = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    names = [e["event"] for e in events if e.get("run_id") == listed[0]["run_id"]]
    assert names.count("run_started") == 1 and names.count("run_scheduled") == 1
    deactivated = next(e for e in events if e["event"] == "change_applied" and e.get("action") == "deactivate")
    frozen = next(e for e in events if e["event"] == "change_applied" and e.get("action") == "freeze")
    assert frozen["ts"] < deactivated["ts"] and deactivated["run_id"] == frozen["run_id"]


def test_removals_at_two_times_in_one_run_are_refused(state, tmp_path) -> None:
    future = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%d")
    csv = tmp_path / "leavers.csv"
    csv.write_text(f"Username,terminated_at\n{LEAVER},{future}\nsofia.rossi@acme.example,2020-01-01\n")
    playbook = _playbook(tmp_path, future).read_text().replace(f"usernames: [{LEAVER}]", "csv: leavers.csv")
    path = tmp_path / "mixed.yaml"
    path.write_text(playbook)
    out = run(state, "plan", path)
    assert out.returncode == 2, out.stderr
    assert "separate playbooks" in out.stderr


def test_a_bad_leaving_date_is_a_playbook_error(state, tmp_path) -> None:
    out = run(state, "validate", _playbook(tmp_path, "next friday"))
    assert out.returncode == 2 and "terminated_at" in out.stderr


def test_a_rolled_back_scheduled_run_waits_for_nothing(state, tmp_path) -> None:
    end = (datetime.now(UTC) + timedelta(days=14)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert run(state, "apply", _playbook(tmp_path, end.strftime("%Y-%m-%d")), "--yes").returncode == 0
    run_id = json.loads(run(state, "runs", "--format", "json").stdout)[0]["run_id"]
    rolled = run(state, "rollback", run_id, "--yes")
    assert rolled.returncode == 0, rolled.stderr
    due = run(state, "apply", "--due", now=end + timedelta(hours=1))
    assert due.returncode == 0 and "Nothing due" in due.stderr, due.stderr
    user = rows(state, f"SELECT Id, IsActive FROM User WHERE Username = '{LEAVER}'")[0]
    assert user["IsActive"] is True
    assert rows(state, f"SELECT IsFrozen FROM UserLogin WHERE UserId = '{user['Id']}'")[0]["IsFrozen"] is False
