"""`audit report`: the evidence pack's figures match the events; the HTML renders in Chromium."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from deprovision.audit import bind_run, configure_audit, get_logger, reset_audit, unbind_run
from deprovision.audit.crosscheck import compare_with_trail
from deprovision.audit.render import render_report
from deprovision.audit.report import build_report
from deprovision.audit.times import duration
from deprovision.cli import cli
from tests.audit.conftest import write_run
from tests.browser import dump_dom, is_blank, screenshot

NOW = datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


LATE = {"id": "005000000000021AAA", "username": "late.leaver@acme.example",
        "terminated_at": _iso(NOW - timedelta(hours=30))}
PROMPT = {"id": "005000000000022AAA", "username": "prompt.leaver@acme.example",
          "terminated_at": _iso(NOW - timedelta(hours=2))}
STUCK = {"id": "005000000000023AAA", "username": "stuck.leaver@acme.example"}


@pytest.fixture
def report_log(audit_path: Path) -> Path:
    # terminations are set against the time the run is written, not the time the module was imported (a long
    # suite would otherwise stretch the 30 h breach past its expected elapsed time)
    global NOW
    NOW = datetime.now(UTC)
    LATE["terminated_at"] = _iso(NOW - timedelta(hours=30))
    PROMPT["terminated_at"] = _iso(NOW - timedelta(hours=2))
    write_run("run-sla", users=[LATE, PROMPT, STUCK], fail_deactivate_of=STUCK["username"])
    bind_run(run_id="run-sla", run_kind="verify")
    get_logger().info("verify_finished", outcome="leftovers",
                      leftovers=[f"{PROMPT['username']}: permission set Sales_Extra assigned again",
                                 "an unrelated leftover"])
    unbind_run()
    write_run("run-other", users=[PROMPT])
    reset_audit()
    return audit_path


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_report_figures_match_the_events(report_log: Path) -> None:
    report = build_report(report_log, run_id="run-sla", sla_hours=24)
    events = [e for e in _events(report_log) if e.get("run_id") == "run-sla"]
    (run,) = report.runs
    assert run.run_id == "run-sla" and run.reason == "HR-4821: November leavers"
    assert run.actor == {"id": "005000000000001AAA", "username": "admin@acme.example"}
    assert run.playbook == {"name": "leavers-2026-11", "sha256": "ab" * 32}
    assert run.started_at == events[0]["ts"] and run.status == "succeeded"
    assert run.head == next(e for e in events if e["event"] == "run_finished")["hash"]
    assert list(run.leavers) == [LATE["id"], PROMPT["id"], STUCK["id"]]

    def ts(user, action):
        return next(e["ts"] for e in events if e.get("action") == action
                    and e.get("target_user", {}).get("id") == user["id"])

    late, prompt, stuck = run.leavers.values()
    for leaver, user in ((late, LATE), (prompt, PROMPT)):
        assert leaver.frozen_at == ts(user, "freeze")
        assert leaver.transferred_at == ts(user, "reassign_owner")
        assert leaver.deactivated_at == ts(user, "deactivate") == leaver.completed_at
        assert [s.action for s in leaver.revocations] == ["revoke_oauth_token", "remove_permission_set"]
        assert leaver.transfers == {"Account": 3}
        assert leaver.clock_basis == "termination" and leaver.terminated_at == user["terminated_at"]
    assert late.sla_status == "breached" and late.sla_breached
    assert 30 <= late.elapsed_hours < 30.2
    assert prompt.sla_status == "met" and not prompt.sla_breached and 2 <= prompt.elapsed_hours < 2.2
    assert stuck.sla_status == "incomplete" and stuck.clock_basis == "run start"
    assert stuck.deactivated_at is None and stuck.completed_at is None
    assert stuck.failures == [{"ts": ts(STUCK, "deactivate"), "action": "deactivate", "object": "User",
                               "label": None, "error_code": "CANNOT_DISABLE_LAST_ADMIN",
                               "message": "You cannot deactivate the last active administrator.", "records": 1}]
    assert prompt.leftovers == [f"{PROMPT['username']}: permission set Sales_Extra assigned again"]
    assert run.run_leftovers == ["an unrelated leftover"]
    assert report.verification.ok and report.verification.head == _events(report_log)[-1]["hash"]
    assert report.breaches == 1


def test_a_stricter_sla_flags_more_breaches(report_log: Path) -> None:
    report = build_report(report_log, run_id="run-sla", sla_hours=1)
    assert [leaver.sla_status for leaver in report.leavers] == ["breached", "breached", "incomplete"]
    later = build_report(report_log, run_id="run-sla", sla_hours=1, now=NOW + timedelta(hours=2))
    stuck = later.leavers[-1]
    assert stuck.sla_status == "incomplete" and stuck.sla_breached  # still open past the deadline


def test_since_selects_runs_started_after_a_time(report_log: Path) -> None:
    assert [r.run_id for r in build_report(report_log, since="2000-01-01T00:00:00.000000Z").runs] == \
        ["run-sla", "run-other"]
    assert build_report(report_log, since=_iso(NOW + timedelta(hours=1))).runs == []


def test_the_report_says_when_the_log_is_broken(report_log: Path) -> None:
    lines = report_log.read_bytes().splitlines(keepends=True)
    report_log.write_bytes(b"".join(lines[:3] + lines[4:]))
    report = build_report(report_log, run_id="run-sla")
    assert not report.verification.ok and report.verification.line == 4
    assert "NOT intact" in render_report(report, "markdown")
    assert "Line 4: removed" in render_report(report, "html")


def test_csv_has_one_row_per_leaver_with_the_same_figures(report_log: Path) -> None:
    report = build_report(report_log, run_id="run-sla")
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert [r["username"] for r in rows] == [LATE["username"], PROMPT["username"], STUCK["username"]]
    late = rows[0]
    leaver = report.leavers[0]
    assert late["frozen_at"] == leaver.frozen_at and late["deactivated_at"] == leaver.deactivated_at
    assert (late["sla_status"], late["sla_breached"], late["records_transferred"]) == ("breached", "yes", "3")
    assert late["chain_head"] == report.verification.head and late["log_verified"] == "yes"
    assert "CANNOT_DISABLE_LAST_ADMIN" in rows[2]["failures"]


def test_markdown_escapes_table_cells(audit_path: Path) -> None:
    write_run("run-md", users=[{"id": "005000000000031AAA", "username": "pipe|user@acme.example"}])
    reset_audit()
    text = render_report(build_report(audit_path, run_id="run-md"), "markdown")
    assert "pipe\\|user@acme.example" in text


def test_html_escapes_what_it_shows(audit_path: Path) -> None:
    bind_run(run_id="run-xss", reason="<script>alert(1)</script>")
    get_logger().info("run_started", users=[{"id": "005000000000041AAA", "username": "<b>x</b>@acme.example"}])
    unbind_run()
    reset_audit()
    html = render_report(build_report(audit_path, run_id="run-xss"), "html")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html


def test_html_report_is_self_contained_and_renders_names_and_sla_flags(report_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "evidence.html"
    result = CliRunner().invoke(cli, ["audit", "report", "--audit-log", str(report_log), "--run", "run-sla",
                                      "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "http://" not in html and "https://" not in html.replace("https://127.0.0.1:8443", "")
    assert "<link" not in html and "<script" not in html and "@media print" in html
    png = screenshot(out, tmp_path / "evidence.png")
    assert not is_blank(png)
    dom = dump_dom(out)
    for user in (LATE, PROMPT, STUCK):
        assert user["username"] in dom
    assert dom.count(">BREACHED<") == 1 and dom.count(">MET<") == 1 and dom.count(">INCOMPLETE<") == 1
    assert 'class="breach"' in dom
    assert '<span id="breach-count">1</span>' in dom


def test_report_for_an_unknown_run_is_an_input_error(report_log: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "report", "--audit-log", str(report_log), "--run", "nope",
                                      "--format", "csv"])
    assert result.exit_code != 0
    assert "no run nope" in str(result.exception) or "no run nope" in result.output


def test_cross_check_pairs_setup_audit_trail_rows_with_our_events(report_log: Path) -> None:
    report = build_report(report_log, run_id="run-sla")
    (run,) = report.runs
    rows = [
        {"action": "frozeuser", "section": "Manage Users", "display": "Froze user Late Leaver (late.leaver@acme.example)",
         "created": "2026-11-26T10:00:00.000+0000", "by": "admin@acme.example"},
        {"action": "PermSetUnassign", "section": "Manage Users",
         "display": "Permission set Sales_Extra: unassigned from user Late Leaver (late.leaver@acme.example)",
         "created": "2026-11-26T10:00:01.000+0000", "by": "admin@acme.example"},
        {"action": "deactivateduser", "section": "Manage Users",
         "display": "Deactivated user Late Leaver (late.leaver@acme.example)",
         "created": "2026-11-26T10:00:02.000+0000", "by": "admin@acme.example"},
        {"action": "frozeuser", "section": "Manage Users",
         "display": "Froze user Prompt Leaver (prompt.leaver@acme.example)",
         "created": "2026-11-26T10:00:00.000+0000", "by": "admin@acme.example"},
        {"action": "changedManager", "section": "Manage Users",
         "display": "Changed manager for user Prompt Leaver (prompt.leaver@acme.example) from A to B",
         "created": "2026-11-26T10:00:03.000+0000", "by": "someone.else@acme.example"},
        {"action": "createduser", "section": "Manage Users", "display": "Created new user New Hire (new@acme.example)",
         "created": "2026-11-26T10:00:04.000+0000", "by": "admin@acme.example"},
    ]
    compare_with_trail(run, rows)
    late, prompt, stuck = run.leavers.values()
    assert late.trail_mismatches == [] and len(late.trail) == 3
    assert prompt.trail_mismatches == [
        "PermSetUnassign: 1 in our log, 0 in Salesforce's audit trail",
        "changedManager: 1 in Salesforce's audit trail, 0 in our log (a change made outside this run?)",
        "deactivateduser: 1 in our log, 0 in Salesforce's audit trail",
        "changedManager at 2026-11-26T10:00:03.000+0000 made by someone.else@acme.example, not by admin@acme.example",
    ]
    assert stuck.trail_mismatches == ["PermSetUnassign: 1 in our log, 0 in Salesforce's audit trail",
                                      "frozeuser: 1 in our log, 0 in Salesforce's audit trail"]
    assert [r["action"] for r in run.trail_only] == ["createduser"]


def test_duration_reads_well() -> None:
    assert [duration(h) for h in (None, 0.0001, 0.5, 2.25, 30, 49.5)] == ["-", "0s", "30m", "2h 15m", "1d 6h",
                                                                          "2d 1h"]


def test_hmac_key_is_used_to_verify_the_log_in_the_report(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DEPROVISION_AUDIT_KEY", raising=False)
    path = tmp_path / "audit.jsonl"
    configure_audit(path, hmac_key=b"k")
    write_run("run-k")
    reset_audit()
    assert build_report(path, run_id="run-k", key=b"k").verification.hmac_checked
    assert not build_report(path, run_id="run-k", key=b"wrong").verification.ok


def test_trail_rows_go_to_the_first_leaver_they_name_and_names_count_when_usernames_are_absent(
        report_log: Path) -> None:
    report = build_report(report_log, run_id="run-sla")
    (run,) = report.runs
    late, prompt, stuck = run.leavers.values()
    late.full_name, prompt.full_name = "Late Leaver", "Prompt Leaver"
    rows = [
        {"action": "frozeuser", "section": "Manage Users", "display": "Froze user Late Leaver",
         "created": "2026-11-26T10:00:00.000+0000", "by": "admin@acme.example"},
        {"action": "changedManager", "section": "Manage Users",
         "display": "Changed manager for user prompt.leaver@acme.example from late.leaver@acme.example to none",
         "created": "2026-11-26T10:00:01.000+0000", "by": "admin@acme.example"},
        {"action": "frozeuser", "section": "Manage Users", "display": "Froze user Lately Leaving",
         "created": "2026-11-26T10:00:02.000+0000", "by": "admin@acme.example"},
    ]
    compare_with_trail(run, rows)
    assert [r["display"] for r in late.trail] == ["Froze user Late Leaver"]
    assert [r["action"] for r in prompt.trail] == ["changedManager"]
    assert [r["display"] for r in run.trail_only] == ["Froze user Lately Leaving"]


def test_a_rollback_run_is_reported_as_a_reversal_without_an_sla(audit_path: Path) -> None:
    write_run("run-a", users=[PROMPT])
    log = get_logger()
    bind_run(run_id="run-b", run_kind="rollback", reason="rollback of run run-a")
    log.info("rollback_started", rollback_of="run-a")
    target = {"id": PROMPT["id"], "username": PROMPT["username"]}
    log.info("change_applied", target_user=target, action="reactivate", object="User", outcome="applied",
             record_ids=[PROMPT["id"]])
    log.info("change_applied", target_user=target, action="unfreeze", object="UserLogin", outcome="applied",
             record_ids=["0Yw1"])
    log.info("run_finished", status="succeeded")
    unbind_run()
    reset_audit()
    report = build_report(audit_path)
    original, rollback = report.runs
    assert rollback.kind == "rollback" and rollback.rollback_of == "run-a"
    assert original.notes and original.notes[0].startswith("rolled back by run run-b")
    (user,) = rollback.leavers.values()
    assert user.sla_status == "n/a" and not user.sla_breached
    assert [leaver.username for leaver in report.leavers] == [PROMPT["username"]]  # leavers of run-a only
    markdown = render_report(report, "markdown")
    assert "Reverses run run-a." in markdown
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert [r["run_kind"] for r in rows] == ["apply", "rollback"]


def test_a_partly_failed_change_counts_what_was_applied_and_what_failed(audit_path: Path) -> None:
    bind_run(run_id="run-partial")
    log = get_logger()
    log.info("run_started")
    log.info("change_failed", target_user=PROMPT["username"], target_user_id=PROMPT["id"],
             action="reassign_owner", object="Case", outcome="partial", record_ids=["500A", "500B", "500C"],
             error_code="UNABLE_TO_LOCK_ROW", message="unable to obtain exclusive access", failed_count=2)
    log.info("run_finished", outcome="partial")
    unbind_run()
    reset_audit()
    (leaver,) = build_report(audit_path, run_id="run-partial").leavers
    assert leaver.username == PROMPT["username"] and leaver.user_id == PROMPT["id"]
    assert leaver.transfers == {"Case": 3} and leaver.steps["reassign_owner"].failed == 1
    assert leaver.failures[0]["records"] == 2 and leaver.failures[0]["message"] == "unable to obtain exclusive access"
    assert leaver.sla_status == "incomplete"
