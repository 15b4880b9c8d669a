"""Apply of a playbook with ``backup: {scope: org}``: the org export runs first and must be complete and
verified before anything is frozen, revoked or deactivated; the evidence report shows the finish line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from export_helpers import skip_unless_every_object_reads

PLAYBOOK = """version: 1
name: wind-down-one
reason: "OPS-7: wind-down rehearsal"
users: {usernames: [nina.patel@acme.example]}
actions:
  freeze: true
  backup: {scope: org}
  revoke: {oauth_tokens: all, permission_sets: all}
  deactivate: true
contract: {start: 2026-01-15, end: 2027-01-14, notice_days: 30, annual_fee: 48000, currency: EUR,
           notice_to: "renewals@salesforce.example"}
"""
NINA = "nina.patel@acme.example"


def _org(server) -> list[str]:
    return ["--instance-url", server.instance_url, "--access-token", server.access_token,
            "--ca-bundle", server.ca_bundle]


def _nina(sf) -> tuple[bool, bool, int]:
    user = sf.query(f"SELECT Id, IsActive FROM User WHERE Username = '{NINA}'")["records"][0]
    login = sf.query(f"SELECT IsFrozen FROM UserLogin WHERE UserId = '{user['Id']}'")["records"][0]
    tokens = sf.query(f"SELECT COUNT() FROM OauthToken WHERE UserId = '{user['Id']}'")["totalSize"]
    return user["IsActive"], login["IsFrozen"], tokens


def _events(state: Path) -> list[dict]:
    return [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture
def book(tmp_path: Path, sf) -> Path:
    skip_unless_every_object_reads(sf)
    path = tmp_path / "wind-down-one.yaml"
    path.write_text(PLAYBOOK)
    return path


def test_apply_refuses_to_revoke_until_the_export_is_verified(cli, served_org, sf, book: Path, tmp_path: Path):
    before = _nina(sf)
    assert before[0] and not before[1] and before[2] > 0
    code, _, err = cli("export", *_org(served_org))
    assert code == 0, err
    folder = cli.state_dir / "exports" / served_org.org_id
    with open(folder / "data" / "Account.csv", "ab") as fh:
        fh.write(b"001000000000000AAA,tampered\n")

    code, _, err = cli("apply", str(book), "--yes", *_org(served_org))
    assert code == 1
    assert "the org export is not complete; nothing was frozen, revoked or deactivated" in err
    assert "altered: data/Account.csv" in err
    assert "Last day to send written notice: 2026-12-15" in err  # apply shows the contract too
    assert _nina(sf) == before
    names = [e["event"] for e in _events(cli.state_dir)]
    assert "export_refused" in names and "change_applied" not in names

    shutil.rmtree(folder)  # a fresh export: the same command resumes the run
    code, _, err = cli("apply", str(book), "--yes", *_org(served_org))
    assert code == 0, err
    assert _nina(sf) == (False, True, 0)
    names = [e["event"] for e in _events(cli.state_dir)]
    assert names.index("export_verified") < names.index("change_applied")
    assert names.index("wind_down_checked") > max(i for i, n in enumerate(names) if n == "change_applied")
    verified = next(e for e in _events(cli.state_dir) if e["event"] == "export_verified")
    check = json.loads(cli("export", "verify", str(folder), "--format", "json").stdout)
    assert verified["manifest_sha256"] == check["manifest_sha256"] and verified["rows"] == check["rows"]


def test_report_shows_the_wind_down_section(cli, served_org, book: Path, tmp_path: Path):
    code, _, err = cli("apply", str(book), "--yes", *_org(served_org),
                       env={"DEPROVISION_TESTING": "1", "DEPROVISION_TODAY": "2026-12-20"})
    assert code == 0, err
    folder = cli.state_dir / "exports" / served_org.org_id
    digest = json.loads(cli("export", "verify", str(folder), "--format", "json").stdout)["manifest_sha256"]
    md = tmp_path / "report.md"
    code, _, err = cli("audit", "report", "--format", "markdown", "--out", str(md))
    assert code == 0, err
    text = md.read_text()
    assert "Wind-down: the finish line" in text
    assert "[x] Org export verified" in text and digest in text
    assert "[x] Integration (OAuth) tokens of departing users revoked" in text
    assert "**not met:**" in text and "still active" in text  # one leaver: the rest of the org stays active
    assert "| Send the written notice of non-renewal through the contract's channel (renewals@salesforce.example) " \
           "| by 2026-12-15 (recommended 2026-11-15) |" in text
    assert "Check that the next invoices reflect the cancellation" in text and "from 2027-01-15" in text
    assert "inside the renewal window" in text
    assert "User licences: Salesforce:" in text and "(freed 1)" in text


@pytest.mark.browser
def test_html_report_shows_the_wind_down_section_in_a_browser(cli, served_org, book: Path, tmp_path: Path):
    from browser import dump_dom, is_blank, screenshot

    assert cli("apply", str(book), "--yes", *_org(served_org)).code == 0
    folder = cli.state_dir / "exports" / served_org.org_id
    digest = json.loads(cli("export", "verify", str(folder), "--format", "json").stdout)["manifest_sha256"]
    html = tmp_path / "report.html"
    assert cli("audit", "report", "--format", "html", "--out", str(html)).code == 0
    dom = dump_dom(html)
    assert 'class="box wind-down bad"' in dom  # one leaver: the rest of the org is still active
    assert "Steps only a person can do" in dom and digest in dom
    assert not is_blank(screenshot(html, tmp_path / "report.png"))
