"""One playbook, two orgs, end to end through the CLI: a served demo org ("prod") and a sandbox copy of it
("uat": usernames suffixed ``.uat``, one leaver missing), reached as ``sf:prod`` / ``sf:uat`` through the
real Salesforce CLI (scripts/install-sf-cli.sh), logged in to each with ``sf org login access-token`` in a
home of its own, and grouped in deprovision.toml. Each org is its own run; one audit log."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from localorg_support import connect, sf_or_skip

from deprovision.localorg.store import org_id_for

ROOT = Path(__file__).resolve().parents[2]
MISSING = "sofia.rossi@acme.example"


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


def _sf_login(command: list[str], env: dict[str, str], org, alias: str, username: str) -> None:
    done = subprocess.run([*command, "org", "login", "access-token", "--instance-url", org.instance_url,
                           "--alias", alias, "--no-prompt", "--json"],
                          env={**env, "SF_ACCESS_TOKEN": org.access_token}, cwd=env["HOME"],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout)["result"]
    assert (result["username"], result["orgId"], result["instanceUrl"].rstrip("/")) == (
        username, org.org_id, org.instance_url)


@pytest.fixture
def orgs_env(tmp_path: Path, served_org, sandbox) -> dict[str, str]:
    """The real ``sf`` logged in to the demo org as ``prod`` and to the sandbox as ``uat``, its config and
    keychain in a home of the test's own; the environment the CLI runs with."""
    command = sf_or_skip()
    assert sandbox.ca_bundle == served_org.ca_bundle  # one local certificate authority for both
    home = tmp_path / "sf-home"
    home.mkdir()
    sf_env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
              "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local/state"),
              "SF_USE_GENERIC_UNIX_KEYCHAIN": "true", "SF_DISABLE_TELEMETRY": "true",
              "SF_AUTOUPDATE_DISABLE": "true", "NODE_EXTRA_CA_CERTS": served_org.ca_bundle}
    if len(command) == 1:
        sf_env["SF_CLI"] = command[0]
    login_env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    login_env.update(sf_env)
    _sf_login(command, login_env, served_org, "prod", "admin@acme.example")
    _sf_login(command, login_env, sandbox, "uat", "admin@acme.example.uat")
    (tmp_path / "deprovision.toml").write_text('[groups.everywhere]\norgs = ["sf:prod", "sf:uat"]\n')
    return {**sf_env, "SF_CA_BUNDLE": served_org.ca_bundle, "DEPROVISION_CONFIG": str(tmp_path / "deprovision.toml")}


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
    assert "sf org display failed: NamedOrgNotFoundError" in err  # the real CLI knows no 'nope'
    code, _, err = cli("org", "check", "--org", "sf:prod", "--org", "sf:uat", env=orgs_env)
    assert code == 2 and "only plan and apply take several --org" in err
