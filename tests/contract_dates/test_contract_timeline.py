"""The contract timeline: each window (before start, first 30 days, normal, renewal, past the end) and
its edge days, pro-rata values, warnings, the injectable clock and the `contract` command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from deprovision.contract import Terms, text_lines, timeline, today_from

TERMS = Terms(start=date(2026, 1, 15), end=date(2027, 1, 14), notice_days=30, annual_fee=48000, currency="EUR")


def at(day: str):
    return timeline(TERMS, date.fromisoformat(day))


def test_deadlines_are_counted_back_from_the_end():
    t = at("2026-06-01")
    assert t.last_notice_day == "2026-12-15"
    assert t.recommended_notice_day == "2026-11-15"
    assert t.full_refund_until == "2026-02-13"
    assert t.renews_on == "2027-01-15"
    assert t.term_days == 365


@pytest.mark.parametrize(("day", "window"), [
    ("2026-01-14", "before_start"),
    ("2026-01-15", "full_refund"),   # first day of the service
    ("2026-02-13", "full_refund"),   # the 30th day
    ("2026-02-14", "normal"),        # the 31st day
    ("2026-12-15", "normal"),        # the last day to send notice is still in time
    ("2026-12-16", "renewal"),       # one day late: renews automatically
    ("2027-01-14", "renewal"),       # last day of the term
    ("2027-01-15", "ended"),
])
def test_window_on_each_edge_day(day, window):
    t = at(day)
    assert t.window == window
    assert t.in_renewal_window == (window == "renewal")
    assert t.in_full_refund_window == (window == "full_refund")


def test_first_30_days_give_a_full_refund():
    t = at("2026-01-20")
    assert t.refund == "full"
    assert t.unused_value == 48000
    assert any("cancel by 2026-02-13 for a full refund (25 days left" in w for w in t.warnings)


def test_normal_window_pro_rata_value_of_unused_term():
    t = at("2026-07-14")
    assert t.unused_days == 184
    assert t.unused_value == round(48000 * 184 / 365, 2)
    assert t.refund == "pro-rata at best"
    assert t.days_to_last_notice == 154
    assert len(t.warnings) == 1 and "pro-rata" in t.warnings[0] and "early-termination" in t.warnings[0]


def test_past_recommended_day_warns_with_days_left():
    t = at("2026-11-16")
    assert t.window == "normal"
    assert t.days_to_recommended == -1
    assert any("past the recommended notice day (2026-11-15): 29 day(s) left" in w for w in t.warnings)
    assert not any("past the recommended" in w for w in at("2026-11-15").warnings)


def test_renewal_window_warns_the_deadline_passed():
    t = at("2026-12-20")
    assert t.days_to_last_notice == -5
    assert any("last day to send written notice (2026-12-15) has passed" in w and "2027-01-15" in w
               for w in t.warnings)


def test_past_the_end_nothing_unused():
    t = at("2027-02-01")
    assert t.unused_days == 0 and t.unused_value == 0 and t.refund == "none"
    assert any("renewed automatically on 2027-01-15" in w for w in t.warnings)


def test_without_fee_no_value_and_notice_days_move_the_deadline():
    t = timeline(Terms(start=date(2026, 1, 1), end=date(2026, 12, 31), notice_days=90), date(2026, 3, 1))
    assert t.unused_value is None
    assert t.last_notice_day == "2026-10-02"
    assert t.recommended_notice_day == "2026-10-02"  # a 90-day notice is already beyond the 60-day margin
    assert not any(line.startswith("Annual fee") for line in text_lines(t))


def test_text_lines_name_the_deadlines():
    text = "\n".join(text_lines(at("2026-12-01")))
    assert "Last day to send written notice: 2026-12-15 (in 14 days; 30 days before the end)" in text
    assert "Recommended day to send notice: 2026-11-15 (16 days ago)" in text
    assert "Warning: past the recommended notice day" in text


def test_clock_from_environment_only_when_testing():
    assert today_from("2026-03-03") == date(2026, 3, 3)
    assert today_from(None, {"DEPROVISION_TESTING": "1", "DEPROVISION_TODAY": "2026-05-05"}) == date(2026, 5, 5)
    from datetime import UTC, datetime

    assert today_from(None, {"DEPROVISION_TODAY": "1999-05-05"}) == datetime.now(UTC).date()


PLAYBOOK = """version: 1
name: wind-down
reason: OPS-1
users: {where: "IsActive = true"}
actions: {freeze: true}
contract: {start: 2026-01-15, end: 2027-01-14, notice_days: 30, annual_fee: 48000, currency: EUR,
           notice_to: "renewals@salesforce.example"}
"""


def test_contract_command_text_and_json(cli, tmp_path: Path):
    book = tmp_path / "wd.yaml"
    book.write_text(PLAYBOOK)
    code, out, err = cli("contract", str(book), "--today", "2026-12-20")
    assert code == 0, err
    assert "inside the renewal window" in out and "renewals@salesforce.example" in out
    code, out, err = cli("contract", str(book), "--format", "json",
                         env={"DEPROVISION_TESTING": "1", "DEPROVISION_TODAY": "2026-01-20"})
    assert code == 0, err
    data = json.loads(out)
    assert data["window"] == "full_refund" and data["today"] == "2026-01-20" and data["unused_value"] == 48000


def test_contract_command_errors(cli, tmp_path: Path):
    book = tmp_path / "wd.yaml"
    book.write_text(PLAYBOOK.replace("contract:", "x_contract:").split("x_contract")[0])
    code, _, err = cli("contract", str(book))
    assert code == 2 and "has no contract: section" in err
    book.write_text(PLAYBOOK.replace("end: 2027-01-14", "end: 2025-01-14"))
    code, _, err = cli("contract", str(book))
    assert code == 2 and "end is before its start" in err
    book.write_text(PLAYBOOK)
    code, _, err = cli("contract", str(book), "--today", "someday")
    assert code == 2 and "not a date" in err
