"""`audit show` filters and `audit verify` exit codes, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deprovision.audit.show import EventFilter, iter_events, parse_time
from deprovision.cli import cli
from deprovision.errors import InvalidInputError
from tests.audit.conftest import LEAVERS


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _show(log: Path, *args: str) -> list[dict]:
    result = _run("audit", "show", "--audit-log", str(log), "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_show_filters_by_run_user_action_and_outcome(sample_log: Path) -> None:
    assert len(_show(sample_log)) == 19
    assert {e["run_id"] for e in _show(sample_log, "--run", "20261126T111500Z-bbbb")} == {"20261126T111500Z-bbbb"}
    assert len(_show(sample_log, "--run", "20261126T111500Z-bbbb")) == 7
    omar = _show(sample_log, "--user", "OMAR.HADDAD@acme.example")
    assert len(omar) == 6  # run_started lists him, and his five changes
    assert all(e["event"] == "run_started" or e["target_user"]["username"] == "omar.haddad@acme.example"
               for e in omar)
    by_id15 = _show(sample_log, "--user", LEAVERS[1]["id"][:15])
    assert [e["seq"] for e in by_id15] == [e["seq"] for e in omar]
    freezes = _show(sample_log, "--action", "freeze")
    assert len(freezes) == 3 and {e["action"] for e in freezes} == {"freeze"}
    assert _show(sample_log, "--outcome", "failed") == []
    assert len(_show(sample_log, "--user", "nina.patel@acme.example", "--action", "deactivate",
                     "--run", "20261126T101500Z-aaaa")) == 1


def test_show_filters_by_time(sample_log: Path) -> None:
    events = _show(sample_log)
    middle = events[9]["ts"]
    after = _show(sample_log, "--since", middle)
    assert after and all(e["ts"] >= middle for e in after)
    before = _show(sample_log, "--until", middle)
    assert len(before) + len(after) == 20  # the middle event is in both
    assert _show(sample_log, "--since", "2999-01-01") == []
    assert len(_show(sample_log, "--since", "1h")) == 19


def test_show_table_lists_one_line_per_event(sample_log: Path) -> None:
    result = _run("audit", "show", "--audit-log", str(sample_log), "--action", "deactivate")
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("TIME (UTC)")
    assert len(lines) == 4
    assert all("deactivate" in line and "applied" in line for line in lines[1:])


def test_show_skips_damaged_lines_instead_of_failing(sample_log: Path) -> None:
    with sample_log.open("ab") as stream:
        stream.write(b'{"event":"change_app')
    assert len(list(iter_events(sample_log, EventFilter()))) == 19


def test_parse_time_accepts_dates_datetimes_and_relative_times() -> None:
    assert parse_time("2026-11-26") == "2026-11-26T00:00:00.000000Z"
    assert parse_time("2026-11-26", end_of_day=True) == "2026-11-26T23:59:59.999999Z"
    assert parse_time("2026-11-26T10:00:00+01:00") == "2026-11-26T09:00:00.000000Z"
    with pytest.raises(InvalidInputError, match="is not a time"):
        parse_time("yesterday")


def test_verify_exits_0_with_counts_when_intact(sample_log: Path) -> None:
    result = _run("audit", "verify", str(sample_log))
    assert result.exit_code == 0
    assert "intact: 19 events, 2 runs, head " in result.stdout


def test_verify_exits_1_naming_the_line_when_edited(sample_log: Path, capsys) -> None:
    lines = sample_log.read_bytes().splitlines(keepends=True)
    edited = lines[4].replace(b"Sales_Extra", b"Sales_Other")
    assert edited != lines[4]
    sample_log.write_bytes(b"".join(lines[:4] + [edited] + lines[5:]))
    from deprovision.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify", str(sample_log)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith(f"Error: audit log {sample_log} is broken at line 5: edited: ")


def test_verify_messages_tell_tampering_and_torn_tail_apart(sample_log: Path, capsys) -> None:
    from deprovision.cli import main

    data = sample_log.read_bytes()
    sample_log.write_bytes(data[:-30])
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify", str(sample_log)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err.startswith(f"Error: audit log {sample_log} has a torn tail at line 19: ")
    assert "not tampering" in err

    lines = data.splitlines(keepends=True)
    sample_log.write_bytes(b"".join(lines[:4] + lines[5:]))
    with pytest.raises(SystemExit):
        main(["audit", "verify", str(sample_log)])
    err = capsys.readouterr().err
    assert err.startswith(f"Error: audit log {sample_log} is broken at line 5: removed: 1 event(s) missing")


def test_verify_with_an_unexpected_head_fails(sample_log: Path, capsys) -> None:
    from deprovision.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify", str(sample_log), "--expect-head", "f" * 64])
    assert exit_info.value.code == 1
    assert "unexpected_head" in capsys.readouterr().err


def test_verify_reads_the_log_named_by_the_environment(sample_log: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEPROVISION_AUDIT_LOG", str(sample_log))
    result = _run("audit", "verify", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["events"] == 19
