"""A wind-down plan shows the contract's timeline, the org export's estimate and the licence seats it frees."""

from __future__ import annotations

import json
from pathlib import Path

PLAYBOOK = """version: 1
name: org-wind-down
reason: "OPS-1000: org wind-down"
users: {where: "IsActive = true"}
protect:
  usernames: [admin@acme.example, ops@acme.example]
  profiles: ["System Administrator"]
limits: {max_users: 1000}
actions:
  freeze: true
  backup: {scope: org}
  revoke: {permission_set_licenses: all, package_licenses: all, oauth_tokens: all}
  reassign: {default: {to: "user:ops@acme.example"}}
  repoint_dependants: {manager: false, delegated_approver: false, other_fields: true}
  deactivate: true
contract: {start: 2026-01-15, end: 2027-01-14, notice_days: 30, annual_fee: 48000, currency: EUR}
"""
TODAY = {"DEPROVISION_TESTING": "1", "DEPROVISION_TODAY": "2026-12-20"}


def _org(server) -> list[str]:
    return ["--instance-url", server.instance_url, "--access-token", server.access_token,
            "--ca-bundle", server.ca_bundle]


def test_wind_down_plan_shows_contract_export_and_licences(cli, served_org, sf, tmp_path: Path):
    book = tmp_path / "wd.yaml"
    book.write_text(PLAYBOOK)
    code, out, err = cli("plan", str(book), *_org(served_org), env=TODAY)
    assert code == 0, err
    section = out[out.index("Wind-down:"):]
    assert "Last day to send written notice: 2026-12-15 (5 days ago" in section
    assert "inside the renewal window" in section
    assert "Warning: the last day to send written notice (2026-12-15) has passed" in section
    assert "Before anything else, apply exports the whole org" in section
    licences = {r["Name"]: r for r in sf.query("SELECT Name, UsedLicenses, TotalLicenses FROM UserLicense")["records"]}
    salesforce = licences["Salesforce"]
    assert f"User licences: Salesforce: {salesforce['UsedLicenses']:,} of {salesforce['TotalLicenses']:,} used" in section

    code, out, err = cli("plan", str(book), *_org(served_org), "--format", "json", env=TODAY)
    assert code == 0, err
    wind = json.loads(out)["wind_down"]
    assert wind["contract"]["window"] == "renewal" and wind["contract"]["days_to_end"] == 25
    assert wind["org_backup"] is True
    assert wind["export"]["rows"] > 20_000 and wind["export"]["api_calls"] > len(wind["export"]["objects"])
    deactivated = sum(1 for c in json.loads(out)["changes"] if c["action"] == "deactivate")
    user_rows = wind["licences"]["UserLicense"]
    assert sum(r["frees"] for r in user_rows) == deactivated
    for row in user_rows:
        assert row["used_after"] == row["used"] - row["frees"]
    psl_removed = sum(1 for c in json.loads(out)["changes"] if c["action"] == "remove_permission_set_license")
    assert sum(r["frees"] for r in wind["licences"]["PermissionSetLicense"]) == psl_removed > 0

    code, out, err = cli("plan", str(book), *_org(served_org), "--format", "html", env=TODAY)
    assert code == 0 and '<section id="wind-down">' in out and out.index("wind-down") < out.index("</body>")


def test_ordinary_plan_has_no_wind_down(cli, served_org, tmp_path: Path):
    book = tmp_path / "one.yaml"
    book.write_text("version: 1\nname: one\nreason: HR-1\nusers: {usernames: [nina.patel@acme.example]}\n"
                    "actions: {freeze: true}\n")
    code, out, err = cli("plan", str(book), *_org(served_org), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["wind_down"] == {}
