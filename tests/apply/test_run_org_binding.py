"""Runs are bound to their org: ``summary.json`` records the connection (never a token); ``verify`` and
``rollback`` without an org reach the run's own org, and refuse another org (exit 2, naming both ids)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEAVERS = ROOT / "playbooks" / "november-leavers.yaml"


def _serve(kind: str, folder: Path):
    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    db = folder / f"{kind}.sqlite3"
    shutil.copyfile(seed.template(kind), db)
    server = LocalOrgServer(db, cert_dir=folder / "cert").start()
    writes: list[str] = []
    handle = server.app.handle

    def counting(request):
        if request.method != "GET" and not request.path.startswith("/services/oauth2/"):
            writes.append(f"{request.method} {request.path}")
        return handle(request)

    server.app.handle = counting
    server.writes = writes
    return server


@pytest.fixture
def orgs(tmp_path: Path):
    """Two served local orgs: A (the demo company) and B (another org), each with its own org id."""
    a, b = _serve("demo", tmp_path), _serve("empty", tmp_path)
    try:
        assert a.org_id != b.org_id
        yield a, b
    finally:
        a.stop()
        b.stop()


def conn(server) -> list[str]:
    return ["--instance-url", server.instance_url, "--access-token", server.access_token,
            "--ca-bundle", str(server.ca_bundle)]


def run(state: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "DEPROVISION_"))}
    full.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run([sys.executable, "-c", "from deprovision.cli import main; main()", "--state-dir",
                           str(state), *args], capture_output=True, text=True, env=full, timeout=300)


def error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [x for x in out.stderr.splitlines() if x.startswith("Error:")]
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_verify_and_rollback_are_bound_to_the_runs_org(orgs, tmp_path: Path) -> None:
    a, b = orgs
    state = tmp_path / "state"
    applied = run(state, "apply", str(LEAVERS), "--yes", *conn(a))
    assert applied.returncode == 0, applied.stderr[-2000:]
    (run_dir,) = (state / "runs").iterdir()
    summary_text = (run_dir / "summary.json").read_text()
    connection = json.loads(summary_text)["connection"]
    assert connection["kind"] == "instance" and connection["instance_url"] == a.instance_url
    assert connection["org_id"] == a.org_id and connection["api_user"]["username"] == "admin@acme.example"
    assert connection["ca_bundle"] == str(Path(a.ca_bundle).resolve())
    assert a.access_token not in summary_text and a.access_token.split("!")[1] not in summary_text
    run_id = run_dir.name
    a_writes = len(a.writes)

    # another org named: refused, naming both org ids, nothing written anywhere
    for command in (["verify", run_id], ["rollback", run_id, "--yes"]):
        line = error_line(run(state, *command, *conn(b)))
        assert f"run {run_id} was applied to org {a.org_id}" in line and f"is to org {b.org_id}" in line
    # SF_* variables naming the other org count as naming it
    env_b = {"SF_INSTANCE_URL": b.instance_url, "SF_ACCESS_TOKEN": b.access_token, "SF_CA_BUNDLE": str(b.ca_bundle)}
    assert b.org_id in error_line(run(state, "verify", run_id, env=env_b))
    assert b.writes == [] and len(a.writes) == a_writes

    # no org given: the run's own org (URL and CA bundle from the run, the token from the environment)
    verified = run(state, "verify", run_id, env={"SF_ACCESS_TOKEN": a.access_token})
    assert verified.returncode == 0, verified.stderr[-2000:]
    assert "Verify passed" in verified.stderr
    # without a token there is no way in: say which org and how
    line = error_line(run(state, "verify", run_id))
    assert a.org_id in line and a.instance_url in line and "--access-token or SF_ACCESS_TOKEN" in line
    # rollback without an org rolls back in the run's own org
    rolled = run(state, "rollback", run_id, "--yes", env={"SF_ACCESS_TOKEN": a.access_token})
    assert rolled.returncode == 0, rolled.stderr[-2000:]
    assert len(a.writes) > a_writes and b.writes == []


def test_a_run_on_the_embedded_org_is_verified_there_and_not_elsewhere(orgs, tmp_path: Path) -> None:
    from deprovision.localorg import seed

    _, b = orgs
    state = tmp_path / "state"
    state.mkdir()
    shutil.copyfile(seed.template("demo"), state / "localorg.sqlite3")
    playbook = tmp_path / "one.yaml"
    playbook.write_text("version: 1\nname: one\nreason: HR-1\nusers:\n  usernames: [diego.ramos@acme.example]\n"
                        "actions:\n  freeze: true\n")
    assert run(state, "apply", str(playbook), "--yes").returncode == 0
    (run_dir,) = (state / "runs").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["connection"]["kind"] == "local"
    assert run(state, "verify", run_dir.name).returncode == 0
    assert b.org_id in error_line(run(state, "verify", run_dir.name, *conn(b)))
    assert b.writes == []
