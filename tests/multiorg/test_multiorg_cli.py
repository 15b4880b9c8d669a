"""One playbook, two orgs, end to end through the CLI: a served demo org ("prod") and a sandbox copy of it
("uat": usernames suffixed ``.uat``, one leaver missing), reached as ``sf:prod`` / ``sf:uat`` through a
stand-in Salesforce CLI and grouped in deprovision.toml. Each org is its own run; one audit log."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from localorg_support import connect

from deprovision.localorg.store import org_id_for

ROOT = Path(__file__).resolve().parents[2]
MISSING = "sofia.rossi@acme.example"
FAKE_SF = """\
import json, os, sys
orgs = json.load(open(os.environ["FAKE_SF_ORGS"]))
args = sys.argv[1:]
alias = args[args.index("--target-org") + 1]
if alias not in orgs:
    print(json.dumps({"status": 1, "name": "NamedOrgNotFoundError", "message": f"No authorization for {alias}"}))
    sys.exit(1)
org = orgs[alias]
result = {"accessToken": org["token"]} if args[:3] == ["org", "auth", "show-access-token"] else \\
    {"instanceUrl": org["url"], "accessToken": "[REDACTED]", "alias": alias}
print(json.dumps({"status": 0, "result": result}))
"""


@pytest.fixture
def sandbox(tmp_path: Path, localorg_cert_dir: Path):
    """A sandbox copy of the demo org: its own org id, every username + '.uat', one leaver not copied."""
    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    db = tmp_path / "uat.sqlite3"
    shutil.copyfile(seed.template("demo"), db)
    org_id = org_id_for("uat-sandbox")
    with sqlite3.connect(db) as conn:
        old = conn.execute("SELECT value FROM _meta WHERE key = 'org_id'").fetchone()[0]
        conn.execute("UPDATE _meta SET value = ? WHERE key = 'org_id'", (org_id,))
        conn.execute('UPDATE "Organization" SET "Id" = ? WHERE "Id" = ?', (org_id, old))
        conn.execute('UPDATE "User" SET "Username" = "Username" || \'.uat\'')
        conn.execute('UPDATE "User" SET "Username" = \'sofia.rossi.2019@acme.example.uat\' '
                     'WHERE "Username" = ?', (MISSING + ".uat",))
    server = LocalOrgServer(db, cert_dir=localorg_cert_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def orgs_env(tmp_path: Path, served_org, sandbox) -> dict[str, str]:
    script = tmp_path / "fake-sf"
    script.write_text(f"#!{sys.executable}\n{FAKE_SF}")
    script.chmod(0o755)
    (tmp_path / "sf-orgs.json").write_text(json.dumps({
        "prod": {"url": served_org.instance_url, "token": served_org.access_token},
        "uat": {"url": sandbox.instance_url, "token": sandbox.access_token}}))
    (tmp_path / "deprovision.toml").write_text('[groups.everywhere]\norgs = ["sf:prod", "sf:uat"]\n')
    return {"SF_CLI": str(script), "FAKE_SF_ORGS": str(tmp_path / "sf-orgs.json"),
            "SF_CA_BUNDLE": served_org.ca_bundle, "DEPROVISION_CONFIG": str(tmp_path / "deprovision.toml")}


def _playbook(tmp_path: Path) -> Path:
    text = (ROOT / "playbooks" / "november-leavers.yaml").read_text()
    path = tmp_path / "leavers.yaml"
    path.write_text(text + '\norgs:\n  uat: {username_suffix: ".uat"}\n')
    return path


def _user(org, username: str) -> dict:
    return connect(org).query(f"SELECT Id, IsActive FROM User WHERE Username = '{username}'")["records"][0]


def test_one_playbook_planned_and_applied_to_two_orgs(cli, tmp_path, served_org, sandbox, orgs_env) -> None:
    playbook = _playbook(tmp_path)
    code, out, err = cli("plan", playbook, "--org", "everywhere", "--detailed-exitcode", env=orgs_env)
    assert code == 3, err
    assert "=== org sf:prod (1 of 2) ===" in err and "=== org sf:uat (2 of 2) ===" in err
    assert out.count("deprovision plan: november-leavers") == 2 and "nina.patel@acme.example.uat" in out
    assert f"note: users.usernames[3]: no user '{MISSING}.uat'" in err or f"'{MISSING}.uat'" in err
    assert served_org.org_id in err and sandbox.org_id in err

    code, out, err = cli("apply", playbook, "--org", "sf:prod", "--org", "sf:uat", "--yes", "--format", "json",
                         env=orgs_env)
    assert code == 0, err
    rows = {r["org"]: r for r in json.loads(out)}
    assert set(rows) == {"sf:prod", "sf:uat"} and all(r["status"] == "succeeded" for r in rows.values())
    assert (rows["sf:prod"]["users"], rows["sf:uat"]["users"]) == (4, 3)
    assert _user(served_org, "nina.patel@acme.example")["IsActive"] is False
    assert _user(sandbox, "nina.patel@acme.example.uat")["IsActive"] is False
    assert _user(sandbox, "sofia.rossi.2019@acme.example.uat")["IsActive"] is True  # not in the sandbox's plan

    runs = {r["run_id"]: r for r in json.loads(cli("runs", "--format", "json").stdout)}
    assert {r["org_id"] for r in runs.values()} == {served_org.org_id, sandbox.org_id}
    assert {r["org_name"] for r in runs.values()} == {"sf:prod", "sf:uat"}
    for run_id, run in runs.items():
        org = "sf:prod" if run["org_id"] == served_org.org_id else "sf:uat"
        code, _, err = cli("verify", run_id, "--org", org, env=orgs_env)
        assert code == 0, err
    events = [json.loads(line) for line in (cli.state_dir / "audit.jsonl").read_text().splitlines()]
    for event in events:
        if event.get("run_id") in runs:
            assert event["org_id"] == runs[event["run_id"]]["org_id"], event["event"]

    code, out, err = cli("audit", "report", "--format", "markdown", env=orgs_env)
    assert code == 0, err
    assert "Leavers across orgs" in out
    across = out.split("## Leavers across orgs", 1)[1]
    line = next(x for x in across.splitlines() if x.startswith("| nina.patel@acme.example |"))
    assert "| 2 |" in line and line.endswith("| yes |")
    assert served_org.org_id in line and sandbox.org_id in line


def test_one_org_failing_does_not_stop_the_others(cli, tmp_path, served_org, orgs_env) -> None:
    code, out, err = cli("plan", _playbook(tmp_path), "--org", "sf:nope", "--org", "sf:prod", env=orgs_env)
    assert code == 1, err
    assert "deprovision plan: november-leavers" in out  # prod was still planned
    assert "Failed in 1 of 2 orgs: sf:nope." in err
    code, _, err = cli("org", "check", "--org", "sf:prod", "--org", "sf:uat", env=orgs_env)
    assert code == 2 and "only plan and apply take several --org" in err
