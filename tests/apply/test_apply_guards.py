"""Guards around apply: the API budget pre-flight, blocking plans, the audit trail a run leaves."""

from __future__ import annotations

import json

from apply_helpers import DB_NAME, PLAYBOOKS, diff, run_cli, runs_of, snapshot

LEAVERS = PLAYBOOKS / "november-leavers.yaml"


def test_preflight_refuses_when_the_org_has_too_few_api_calls_left(state, tmp_path) -> None:
    from deprovision.apply.preflight import estimate_api_calls
    from deprovision.localorg.store import Store
    from deprovision.plan import read_plan

    before = snapshot(state, tokens=False)  # its reads count too: taken before the allowance is set
    store = Store.open(state / DB_NAME)
    used = store.api_usage()[0]
    store.close()
    out = run_cli(state, "plan", str(LEAVERS), "--out", str(tmp_path / "plan.json"))  # a dry run: only reads
    assert out.returncode in (0, 3), out.stderr[-2000:]
    store = Store.open(state / DB_NAME)
    plan_calls = store.api_usage()[0] - used
    needed = estimate_api_calls(read_plan(tmp_path / "plan.json"))
    # Enough to plan again, a few calls short of the writes the plan needs (the pre-write reads share
    # Composite calls and the remaining allowance is read from the answers' Sforce-Limit-Info header, so
    # they cost little): the preflight must refuse before the first write.
    store.set_api_usage(store.api_limit() - (plan_calls + needed) + 3)
    store.close()
    out = run_cli(state, "apply", str(LEAVERS), "--yes")
    assert out.returncode == 1, out.stderr[-2000:]
    assert f"Error: not starting: this plan needs about {needed:,} API calls" in out.stderr
    assert "left today" in out.stderr
    assert runs_of(state) == []
    store = Store.open(state / DB_NAME)
    store.set_api_usage(0)  # a new day: the snapshot below needs calls too
    store.close()
    assert diff(before, snapshot(state, tokens=False)) == []


def test_a_plan_with_blocking_problems_is_refused(state, tmp_path) -> None:
    playbook = tmp_path / "admin.yaml"
    playbook.write_text("version: 1\nname: bad\nreason: test\nusers:\n  usernames: [admin@acme.example]\n"
                        "actions:\n  freeze: true\n  deactivate: true\n")  # the API user: protected
    before = snapshot(state, tokens=False)
    out = run_cli(state, "apply", str(playbook), "--yes")
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert runs_of(state) == []
    assert diff(before, snapshot(state, tokens=False)) == []


def test_every_change_is_in_the_audit_log_and_the_chain_verifies(state) -> None:
    out = run_cli(state, "apply", str(LEAVERS), "--yes")
    assert out.returncode == 0, out.stderr[-2000:]
    run = runs_of(state)[-1]
    plan = json.loads((state / "runs" / run["run_id"] / "plan.json").read_text())
    events = [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]
    mine = [e for e in events if e.get("run_id") == run["run_id"]]
    names = [e["event"] for e in mine]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    applied = [e for e in mine if e["event"] in ("change_applied", "change_skipped")]
    assert sorted(e["change_id"] for e in applied) == sorted(c["id"] for c in plan["changes"])
    for e in applied:
        assert e["actor"] == "admin@acme.example"
        assert e["reason"] == plan["playbook"]["reason"]
        assert e["org_id"] == plan["org_id"]
        assert e["target_user"] and e["action"] and e["object"] and e["outcome"] in ("success", "skipped")
        if e["action"] not in ("revoke_oauth_token",):
            assert e.get("record_ids") or e.get("record_ids_file")
    assert not any("DeleteToken" in json.dumps(e) or "DT-" in json.dumps(e) for e in mine)
    head = [line for line in out.stderr.splitlines() if line.startswith("Audit chain head:")][0].split()[-1]
    assert mine[-1]["hash"] == head
    assert run["audit_head"] == head
    check = run_cli(state, "audit", "verify")
    assert check.returncode == 0, check.stderr


def test_journal_and_backup_hashes_agree(state) -> None:
    from deprovision.apply.backup import check_sha256sums, sha256_file

    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    folder = state / "runs" / runs_of(state)[-1]["run_id"]
    assert check_sha256sums(folder / "backup") == []
    files = {}
    for line in (folder / "journal.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["k"] == "file":
            files[entry["path"]] = entry["sha256"]
    assert "backup/users.csv" in files and "backup/owners.csv" in files
    for rel, digest in files.items():
        assert sha256_file(folder / rel) == digest, rel


def test_progress_on_a_terminal_uses_a_live_display() -> None:
    from deprovision.apply.progress import PlainProgress, RichProgress, make_progress

    rich = make_progress(lambda: {"api_calls": 3, "limit_remaining": 100}, tty=True)
    assert isinstance(rich, RichProgress)
    rich.start_phase("freeze", 10)
    rich.advance(10)
    rich.end_phase("freeze")
    rich.close()
    assert isinstance(make_progress(tty=False), PlainProgress)


def test_parallel_reads_return_what_the_client_returns(state) -> None:
    from apply_helpers import Org

    from deprovision.apply.parallel import ParallelReads

    with Org(state) as org:
        ids = [r["Id"] for r in org.rows("SELECT Id FROM User")]
        assert len(ids) > 200  # more than one IN chunk
        template = "SELECT Id, Username FROM User WHERE Id IN {ids}"
        calls = org.client.api_calls
        serial = list(org.client.query_in(template, ids))
        serial_calls = org.client.api_calls - calls
        parallel = list(ParallelReads(org.client).query_in(template, ids))
        assert parallel == serial
        assert org.client.api_calls - calls == 2 * serial_calls
