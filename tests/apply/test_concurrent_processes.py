"""Two ``deprovision`` processes on one state folder at once: each serves the embedded local org on the
same SQLite file (WAL, busy timeout, write lock taken at the start of each transaction, ids counted in
the database), so both finish as if they had run one after the other."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from apply_helpers import PLAYBOOKS, run_cli, runs_of


def test_two_applies_of_different_playbooks_at_once_both_succeed(state) -> None:
    playbooks = [PLAYBOOKS / "november-leavers.yaml", PLAYBOOKS / "contractors.yaml"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        applies = [pool.submit(run_cli, state, "apply", str(p), "--yes") for p in playbooks]
        plan = pool.submit(run_cli, state, "plan", str(PLAYBOOKS / "wind-down.yaml"), "--format", "json")
        results = [f.result() for f in applies]
        planned = plan.result()
    for out in results:
        assert out.returncode == 0, out.stderr[-3000:]
        assert "Apply succeeded" in out.stderr
        assert "database is locked" not in out.stderr + out.stdout
    assert planned.returncode in (0, 2), planned.stderr[-3000:]
    assert json.loads(planned.stdout)["changes"]
    applied = [r for r in runs_of(state) if r.get("kind", "apply") == "apply"]
    assert len(applied) == 2
    # afterwards each playbook has nothing left to do: every change of both runs holds
    for playbook in playbooks:
        again = run_cli(state, "plan", str(playbook), "--format", "json")
        assert again.returncode == 0, again.stderr[-3000:]
        assert json.loads(again.stdout)["changes"] == []
