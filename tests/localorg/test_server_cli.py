"""``deprovision localorg serve`` and ``reset`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from localorg_support import trusting_session
from simple_salesforce import Salesforce

SERVE = [sys.executable, "-c", "from deprovision.cli import main; main()", "localorg", "serve"]


def _start(state_dir, *args: str) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(state_dir)}
    proc = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_json_line_serves_and_stops_cleanly(tmp_path, sig):
    proc, info = _start(tmp_path, "--seed", "empty")
    try:
        assert set(info) == {"instance_url", "access_token", "ca_bundle", "org_id"}
        assert info["instance_url"].startswith("https://127.0.0.1:")
        sf = Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                        session=trusting_session(info["ca_bundle"]))
        assert sf.query("SELECT Id FROM Organization")["records"][0]["Id"] == info["org_id"]
    finally:
        code, out, err = _stop(proc, sig)
    assert code == 0, err
    assert out == ""  # nothing after the one line
    assert info["access_token"] not in err
    assert (tmp_path / "localorg.sqlite3").exists()


def test_serve_keeps_an_existing_database_and_says_so(tmp_path):
    proc, info = _start(tmp_path, "--seed", "empty")
    sf = Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                    session=trusting_session(info["ca_bundle"]))
    sf.Account.create({"Name": "Survives a restart"})
    _stop(proc)
    proc, info = _start(tmp_path, "--seed", "demo")
    try:
        sf = Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                        session=trusting_session(info["ca_bundle"]))
        names = [r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]]
        assert names == ["Survives a restart"]
    finally:
        code, _, err = _stop(proc)
    assert code == 0
    assert "existing local org" in err


def test_serve_with_faults_from_the_command_line(tmp_path):
    proc, info = _start(tmp_path, "--seed", "empty", "--fail-rate", "1", "--fault-seed", "3")
    try:
        session = trusting_session(info["ca_bundle"])
        response = session.get(info["instance_url"] + "/services/data/v62.0/limits",
                               headers={"Authorization": f"Bearer {info['access_token']}"})
        assert response.status_code in (400, 403, 503)
        assert session.get(info["instance_url"] + "/services/data").status_code == 200
    finally:
        _stop(proc)


def test_serve_refuses_a_busy_port(tmp_path, empty_org):
    port = empty_org.instance_url.rsplit(":", 1)[1]
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(tmp_path)}
    proc = subprocess.run([*SERVE, "--seed", "empty", "--port", port], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: cannot serve the local org on 127.0.0.1:")
    assert proc.stdout == ""


def test_scale_options_need_the_scale_seed(cli):
    code, out, err = cli("localorg", "serve", "--seed", "demo", "--users", "10")
    assert code == 2
    assert err.strip() == "Error: --users, --records and --leavers apply only to --seed scale"


def test_reset_rebuilds_the_default_database(cli):
    from deprovision.localorg.store import Store

    code, _, err = cli("localorg", "reset", "--seed", "empty")
    assert code == 0, err
    db = cli.state_dir / "localorg.sqlite3"
    store = Store.open(db)
    try:
        store.create("Account", {"Name": "Wiped by reset"}, actor_id=store.api_user_id)
        assert store.query("SELECT COUNT() FROM Account").total_size == 1
    finally:
        store.close()
    code, _, err = cli("localorg", "reset", "--seed", "demo")
    assert code == 0, err
    assert "Rebuilt the local org" in err
    store = Store.open(db)
    try:
        assert store.query("SELECT COUNT() FROM Account WHERE Name = 'Wiped by reset'").total_size == 0
        assert store.query("SELECT COUNT() FROM User").total_size > 300
    finally:
        store.close()
    assert not (cli.state_dir / "localorg.sqlite3.new").exists()


def test_serve_refuses_a_file_that_is_not_a_database(cli, tmp_path):
    bogus = tmp_path / "not-a-db.sqlite3"
    bogus.write_text("hello, this is not SQLite" * 100)
    code, out, err = cli("localorg", "serve", "--db", str(bogus))
    assert code == 1 and out == ""
    assert err.startswith(f"Error: cannot open the local org database {bogus}: ")
