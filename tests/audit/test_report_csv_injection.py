"""``audit report --format csv`` is safe to open in a spreadsheet (OWASP CSV injection): a cell starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``. Backup CSVs stay byte-faithful and
carry a README.txt saying not to open them in a spreadsheet as they are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from deprovision.audit import reset_audit
from deprovision.audit.render import render_report, spreadsheet_safe
from deprovision.audit.report import build_report
from tests.audit.conftest import write_run


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_like_cells_are_neutralised(start: str) -> None:
    assert spreadsheet_safe(f"{start}HYPERLINK(\"http://evil\")") == f"'{start}HYPERLINK(\"http://evil\")"


def test_ordinary_cells_are_left_as_they_are() -> None:
    assert [spreadsheet_safe(v) for v in ("HR-4821", "nina@acme.example", None, 3, "")] == \
        ["HR-4821", "nina@acme.example", None, 3, ""]


def test_a_ticket_and_a_user_name_that_look_like_formulas_are_text_in_the_report(audit_path: Path) -> None:
    from deprovision.audit import bind_run, get_logger, unbind_run

    bind_run(run_id="run-evil", actor={"id": "005000000000001AAA", "username": "admin@acme.example"},
             org_id="00D000000000001AAA", instance="https://127.0.0.1:8443",
             playbook={"name": "+leavers", "sha256": "ab" * 32}, reason="=HYPERLINK(\"http://x\",\"HR-1\")")
    log = get_logger()
    log.info("run_started", users=[{"id": "005000000000041AAA", "username": "@nina@acme.example"}])
    log.info("change_applied", target_user={"id": "005000000000041AAA", "username": "@nina@acme.example"},
             action="freeze", object="UserLogin", record_ids=["0Yw000000000041AAA"], before={"IsFrozen": False},
             after={"IsFrozen": True}, outcome="applied")
    log.info("run_finished", status="succeeded")
    unbind_run()
    reset_audit()
    text = render_report(build_report(audit_path, run_id="run-evil"), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["reason"] == "'=HYPERLINK(\"http://x\",\"HR-1\")"
    assert rows[0]["playbook"] == "'+leavers"
    assert rows[0]["username"] == "'@nina@acme.example"
    for row in rows:
        assert not any(str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values() if v)


def test_the_report_of_an_ordinary_run_is_unchanged(audit_path: Path) -> None:
    write_run("run-plain")
    reset_audit()
    rows = list(csv.DictReader(io.StringIO(render_report(build_report(audit_path, run_id="run-plain"), "csv"))))
    assert rows[0]["reason"] == "HR-4821: November leavers" and rows[0]["username"] == "nina.patel@acme.example"


def test_backup_csvs_stay_byte_faithful_and_say_so(tmp_path: Path) -> None:
    from deprovision.apply.backup import read_csv, write_csv, write_sha256sums

    digest = write_csv(tmp_path / "Account.csv", ["Id", "Name"], [["0018d000000000vAAA", "=1+2"]])
    write_sha256sums(tmp_path, {"Account.csv": digest})
    assert read_csv(tmp_path / "Account.csv") == [{"Id": "0018d000000000vAAA", "Name": "=1+2"}]
    readme = (tmp_path / "README.txt").read_text()
    assert "Do not open them in a spreadsheet" in readme and "rollback" in readme
    assert "README.txt" not in (tmp_path / "SHA256SUMS").read_text()
