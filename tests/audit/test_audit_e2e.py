"""The audit trail of real apply runs of the example playbooks against the local demo org."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from deprovision.audit.chain import seal
from deprovision.audit.verify import verify_log
from tests.browser import dump_dom
from tests.conftest import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
KEY = "e2e-audit-key-0123456789"
SESSION_ID = re.compile(r"00D\w{12,15}![\w.]+")


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two runs (November leavers, contractors from CSV) and a verify, with an HMAC key set."""
    from deprovision.localorg import seed

    base = tmp_path_factory.mktemp("audit-e2e")
    state = base / "state"
    state.mkdir()
    shutil.copyfile(seed.template("demo"), state / "localorg.sqlite3")
    with sqlite3.connect(state / "localorg.sqlite3") as conn:
        tokens = [t for row in conn.execute('SELECT "AccessToken", "DeleteToken" FROM "OauthToken"') for t in row if t]
    cli = CliRunner(state)
    env = {"DEPROVISION_AUDIT_KEY": KEY}
    first = cli("apply", str(PLAYBOOKS / "november-leavers.yaml"), "--yes", env=env)
    assert first.code == 0, first.stderr[-3000:]
    second = cli("apply", str(PLAYBOOKS / "contractors.yaml"), "--yes", env=env)
    assert second.code == 0, second.stderr[-3000:]
    runs = json.loads(cli("runs", "--format", "json").stdout)
    checked = cli("verify", runs[0]["run_id"], env=env)
    assert checked.code == 0, checked.stderr[-2000:]
    heads = [re.search(r"Audit chain head: ([0-9a-f]{64})", out.stderr).group(1) for out in (first, second)]
    return {"state": state, "log": state / "audit.jsonl", "cli": cli, "env": env, "heads": heads,
            "runs": [r["run_id"] for r in runs], "tokens": tokens, "outputs": [first, second, checked]}


def test_each_run_prints_the_chain_head_and_the_log_verifies_against_it(applied: dict) -> None:
    log: Path = applied["log"]
    result = verify_log(log, key=KEY.encode(), expect_head=applied["heads"][0])
    assert result.ok, result.summary()
    assert result.runs == 2 and result.hmac_checked
    events = [json.loads(line) for line in log.read_text().splitlines()]
    last_of_second_run = [e for e in events if e.get("run_id") == applied["runs"][1]][-1]
    assert last_of_second_run["hash"] == applied["heads"][1]
    out = applied["cli"]("audit", "verify", "--expect-head", applied["heads"][1], env=applied["env"])
    assert out.code == 0, out.stderr
    assert re.search(r"intact: \d+ events, 2 runs, head [0-9a-f]{64}, HMAC verified", out.stdout)


def test_every_single_tampering_of_a_real_log_is_found_at_its_line(applied: dict, tmp_path: Path) -> None:
    original = applied["log"].read_bytes().splitlines(keepends=True)
    copy = tmp_path / "audit.jsonl"
    head = json.loads(original[-1])["hash"]
    for index in range(len(original)):
        event = json.loads(original[index])
        event["outcome"] = "tampered"
        edited = (json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        cases = {"edited": (original[:index] + [edited] + original[index + 1:], index + 1),
                 "removed": (original[:index] + original[index + 1:], index + 1)}
        if index + 1 < len(original):
            swapped = list(original)
            swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
            cases["reordered"] = (swapped, index + 1)
            forged = {k: v for k, v in event.items() if k not in ("hash", "hmac")}
            forged.update(seq=event["seq"] + 1, prev=event["hash"], outcome="applied")
            line, _ = seal(forged, None)
            cases["inserted"] = (original[:index + 1] + [line.encode()] + original[index + 1:], index + 2)
        for kind, (lines, line_number) in cases.items():
            copy.write_bytes(b"".join(lines))
            result = verify_log(copy, expect_head=head)  # structure alone (the HMAC test is below)
            if kind == "removed" and index == len(original) - 1:
                kind, line_number = "unexpected_head", len(original)
            assert (result.ok, result.kind, result.line) == (False, kind, line_number), \
                f"{kind} at line {index + 1}: {result.summary()}"
    copy.write_bytes(b"".join(original)[:-25])
    result = verify_log(copy, key=KEY.encode())
    assert (result.kind, result.line) == ("torn_tail", len(original))


def test_a_log_rechained_without_the_key_is_caught_by_the_hmac(applied: dict, tmp_path: Path) -> None:
    original = applied["log"].read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in original]
    target = next(i for i, e in enumerate(events) if e.get("action") == "deactivate")
    events[target]["outcome"] = "skipped"
    prev, forged = events[target - 1]["hash"], []
    for event in events[target:]:
        body = {k: v for k, v in event.items() if k not in ("hash", "hmac")}
        body["prev"] = prev
        line, prev = seal(body, b"not the key")
        forged.append(line.encode())
    copy = tmp_path / "audit.jsonl"
    copy.write_bytes(b"".join(original[:target] + forged))
    assert verify_log(copy).ok  # the hashes chain: only the key tells
    result = verify_log(copy, key=KEY.encode())
    assert (result.ok, result.kind, result.line) == (False, "bad_hmac", target + 1)


def test_the_report_pairs_our_log_with_salesforces_audit_trail(applied: dict, tmp_path: Path) -> None:
    out_file = tmp_path / "evidence.html"
    run_id = applied["runs"][0]
    out = applied["cli"]("audit", "report", "--run", run_id, "--cross-check", "--format", "html",
                         "--out", str(out_file), env=applied["env"])
    assert out.code == 0, out.stderr
    dom = dump_dom(out_file)
    for user in ("nina.patel@acme.example", "li.wei@acme.example", "diego.ramos@acme.example",
                 "sofia.rossi@acme.example"):
        assert user in dom
    assert dom.count("Salesforce's audit trail records the same setup changes as this log.") == 4
    assert "frozeuser" in dom and "deactivateduser" in dom and "PermSetUnassign" in dom
    assert dom.count(">MET<") == 4 and "BREACHED" not in dom
    assert "HR-4821: November leavers" in dom and "Every change held." in dom
    markdown = applied["cli"]("audit", "report", "--run", run_id, "--format", "markdown", env=applied["env"])
    assert f"head `{verify_log(applied['log']).head}`" in markdown.stdout


def test_termination_times_from_the_csv_start_the_sla_clock(applied: dict) -> None:
    out = applied["cli"]("audit", "report", "--run", applied["runs"][1], "--format", "csv", env=applied["env"])
    assert out.code == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.splitlines()]
    header, rows = rows[0], rows[1:]
    assert rows, "no leavers in the contractors run"
    col = {name: header.index(name) for name in ("terminated_at", "clock_basis", "sla_status")}
    assert {r[col["clock_basis"]] for r in rows} == {"termination"}
    assert all(r[col["terminated_at"]].startswith("2026-") for r in rows)


def test_no_token_or_session_id_reaches_the_log_or_any_output(applied: dict, tmp_path: Path) -> None:
    texts = [applied["log"].read_text()]
    texts += [o.stdout + o.stderr for o in applied["outputs"]]
    for fmt in ("html", "markdown", "csv"):
        texts.append(applied["cli"]("audit", "report", "--format", fmt, env=applied["env"]).stdout)
    for fmt in ("table", "json"):
        texts.append(applied["cli"]("audit", "show", "--format", fmt, env=applied["env"]).stdout)
    assert applied["tokens"], "the demo org should hold OAuth tokens"
    for text in texts:
        assert not SESSION_ID.search(text)
        assert KEY not in text
        for token in applied["tokens"]:
            assert token not in text


def test_termination_times_come_only_from_a_plan_file_matching_the_logged_digest(applied: dict,
                                                                                 tmp_path: Path) -> None:
    from deprovision.audit.report import build_report

    run_id = applied["runs"][1]
    state = tmp_path / "state"
    shutil.copytree(applied["state"] / "runs", state / "runs")
    report = build_report(applied["log"], run_id=run_id, state_dir=state)
    assert "matches the plan digest in the log" in report.runs[0].plan_file
    assert {leaver.clock_basis for leaver in report.leavers} == {"termination"}
    plan_file = state / "runs" / run_id / "plan.json"
    plan = json.loads(plan_file.read_text())
    for user in plan["users"]:
        user["terminated_at"] = "2026-11-26T00:00:00Z"  # a later termination makes the SLA look better
    plan_file.write_text(json.dumps(plan))
    report = build_report(applied["log"], run_id=run_id, state_dir=state)
    assert "does not match the plan digest in the log" in report.runs[0].plan_file
    assert {leaver.clock_basis for leaver in report.leavers} == {"run start"}


def test_the_report_can_recheck_the_org_now(applied: dict) -> None:
    out = applied["cli"]("audit", "report", "--run", applied["runs"][0], "--verify-results", "--format", "markdown",
                         env=applied["env"])
    assert out.code == 0, out.stderr
    assert out.stdout.count("Re-checked now: every change still holds.") == 4


def test_cutting_events_off_the_end_is_caught_by_the_heads_runs_recorded(applied: dict, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(applied["state"] / "runs", state / "runs")
    lines = applied["log"].read_bytes().splitlines(keepends=True)
    (state / "audit.jsonl").write_bytes(b"".join(lines))
    cli = CliRunner(state)
    intact = cli("audit", "verify", env=applied["env"])
    assert intact.code == 0, intact.stderr
    assert "chain head(s) recorded by runs are in it" in intact.stdout
    last_run_line = max(i for i, line in enumerate(lines) if applied["runs"][1].encode() in line)
    (state / "audit.jsonl").write_bytes(b"".join(lines[:last_run_line]))  # the second run's end is gone
    cut = cli("audit", "verify", env=applied["env"])
    assert cut.code == 1
    assert f"unexpected_head: the chain head {applied['heads'][1]} recorded by run {applied['runs'][1]}" \
        in cut.stderr


def test_show_finds_a_leavers_events_in_a_real_log(applied: dict) -> None:
    events = [json.loads(line) for line in applied["log"].read_text().splitlines()]
    expected = [e["seq"] for e in events if e.get("target_user") == "nina.patel@acme.example"]
    out = applied["cli"]("audit", "show", "--user", "nina.patel@acme.example", "--format", "json", env=applied["env"])
    assert out.code == 0, out.stderr
    assert [e["seq"] for e in json.loads(out.stdout)] == expected and len(expected) > 10
    out = applied["cli"]("audit", "show", "--run", applied["runs"][0], "--action", "deactivate", "--format", "json",
                         env=applied["env"])
    assert sorted(e["target_user"] for e in json.loads(out.stdout)) == [
        "diego.ramos@acme.example", "li.wei@acme.example", "nina.patel@acme.example", "sofia.rossi@acme.example"]
