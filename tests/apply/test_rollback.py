"""Rollback reverses exactly what a run did, newest first, as a run of its own."""

from __future__ import annotations

import json

from apply_helpers import PLAYBOOKS, Org, diff, run_cli, runs_of, snapshot

LEAVERS = PLAYBOOKS / "november-leavers.yaml"


def test_rollback_restores_the_pre_run_state_except_tokens_and_sessions(state) -> None:
    before = snapshot(state, with_ids=False, tokens=False)
    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    run_id = runs_of(state)[-1]["run_id"]
    assert diff(before, snapshot(state, with_ids=False, tokens=False)) != []
    with Org(state) as org:
        since = org.rows("SELECT CreatedDate FROM SetupAuditTrail ORDER BY CreatedDate DESC LIMIT 1")[0]["CreatedDate"]
    out = run_cli(state, "rollback", run_id, "--yes")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "cannot be restored" in out.stderr
    assert diff(before, snapshot(state, with_ids=False, tokens=False)) == []
    runs = runs_of(state)
    assert [r.get("kind") for r in runs] == ["apply", "rollback"]
    assert runs[1]["rollback_of"] == run_id and runs[1]["status"] == "succeeded"
    with Org(state) as org:
        actions = {r["Action"] for r in org.rows(
            f"SELECT Action FROM SetupAuditTrail WHERE CreatedDate >= {since[:19]}Z")}
    assert {"activateduser", "unfrozeuser"} <= actions
    events = [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]
    assert "rollback_started" in [e["event"] for e in events]
    # rolling back the rollback's source again finds nothing left to do
    again = run_cli(state, "rollback", run_id, "--yes")
    assert again.returncode == 0 and "Nothing to roll back" in again.stderr


def test_rollback_never_clobbers_a_later_manual_owner_change(state) -> None:
    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    run_id = runs_of(state)[-1]["run_id"]
    plan = json.loads((state / "runs" / run_id / "plan.json").read_text())
    change = next(c for c in plan["changes"] if c["action"] == "reassign_owner" and c["object"] == "Account")
    moved = change["record_ids"][0]
    with Org(state) as org:
        admin = org.client.api_user["id"]
        org.client.sf.Account.update(moved, {"OwnerId": admin})
    out = run_cli(state, "rollback", run_id, "--yes")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "changed owner since the run" in out.stderr
    with Org(state) as org:
        assert org.rows(f"SELECT OwnerId FROM Account WHERE Id = '{moved}'")[0]["OwnerId"] == admin
        others = change["record_ids"][1:]
        if others:
            owners = {r["OwnerId"] for r in org.client.query_in("SELECT OwnerId FROM Account WHERE Id IN {ids}",
                                                                others)}
            assert owners == {change["user_id"]}


def test_rollback_without_yes_off_terminal_is_refused(state) -> None:
    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    run_id = runs_of(state)[-1]["run_id"]
    after = snapshot(state, tokens=False)
    out = run_cli(state, "rollback", run_id)
    assert out.returncode == 2
    assert diff(after, snapshot(state, tokens=False)) == []


def test_unknown_run_is_invalid_input(state) -> None:
    for command in ("verify", "rollback"):
        out = run_cli(state, command, "20990101T000000Z-0000")
        assert out.returncode == 2
        assert out.stderr.startswith("Error: no run")


def test_a_killed_rollback_resumes_without_restoring_anything_twice(state) -> None:
    before = snapshot(state, with_ids=False, tokens=False)
    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    run_id = runs_of(state)[-1]["run_id"]
    crashed = run_cli(state, "rollback", run_id, "--yes",
                      env={"DEPROVISION_TESTING": "1", "DEPROVISION_CRASH_AFTER": "restore_access:1:sent"})
    assert crashed.returncode == -9
    resumed = run_cli(state, "rollback", run_id, "--yes")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming unfinished rollback" in resumed.stderr
    assert diff(before, snapshot(state, with_ids=False, tokens=False)) == []
    assert [r["status"] for r in runs_of(state)] == ["succeeded", "succeeded"]
