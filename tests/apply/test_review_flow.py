"""The README's review-then-apply flow runs as written: a job plans, a person approves the digest, a job
applies exactly that plan; with DEPROVISION_PLAN_KEY set an edited plan is refused on the same path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADING = "### Review, approve, apply"


def readme_flow() -> str:
    """The shell block of the README's review subsection."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(HEADING):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "no sh block under " + HEADING
    return match.group(1)


def run_flow(folder: Path, script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``script`` in bash (``set -eu``), ``deprovision`` being this checkout's CLI, in ``folder``."""
    prelude = 'deprovision() { python3 -c "from deprovision.cli import main; main()" "$@"; }\nset -eu\n'
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "DEPROVISION_"))}
    full.update({"NO_COLOR": "1", "PYTHONPATH": str(ROOT), **env})
    return subprocess.run(["bash", "-c", prelude + script], cwd=folder, capture_output=True, text=True, env=full,
                          timeout=600)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder with the playbooks and a state folder holding a copy of the demo org."""
    from deprovision.localorg import seed

    (tmp_path / "playbooks").symlink_to(ROOT / "playbooks")
    (tmp_path / "state").mkdir()
    shutil.copyfile(seed.template("demo"), tmp_path / "state" / "localorg.sqlite3")
    return tmp_path


def test_the_readme_flow_applies_the_approved_plan(folder: Path) -> None:
    env = {"DEPROVISION_STATE_DIR": str(folder / "state"), "DEPROVISION_PLAN_KEY": "ci-secret"}
    out = run_flow(folder, readme_flow(), env)
    assert out.returncode == 0, out.stderr[-3000:]
    digest = re.search(r"^Plan digest: ([0-9a-f]{64})$", out.stdout, re.M).group(1)
    assert "Apply succeeded" in out.stderr
    assert json.loads((folder / "plan.json").read_text())["signature"]["alg"] == "HMAC-SHA256"
    (run_dir,) = (folder / "state" / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["approved_digest"] == digest == summary["plan_file_sha256"]
    events = [json.loads(x) for x in (folder / "state" / "audit.jsonl").read_text().splitlines()]
    started = [e for e in events if e["event"] == "run_started"]
    assert started and started[-1]["approved_digest"] == digest and started[-1]["plan_digest"] == digest


def test_the_same_flow_refuses_a_plan_edited_after_approval(folder: Path) -> None:
    env = {"DEPROVISION_STATE_DIR": str(folder / "state"), "DEPROVISION_PLAN_KEY": "ci-secret"}
    script = readme_flow()
    apply_line = next(x for x in script.splitlines() if x.startswith("deprovision apply"))
    plan_part = script[:script.index(apply_line)]
    assert run_flow(folder, plan_part, env).returncode == 0
    plan = json.loads((folder / "plan.json").read_text())
    plan["changes"] = [c for c in plan["changes"] if c["action"] != "deactivate"]  # someone keeps them active
    (folder / "plan.json").write_text(json.dumps(plan, indent=2))
    approval = next(x for x in script.splitlines() if x.startswith("APPROVED="))
    approved = run_flow(folder, approval + "\n" + apply_line, env)  # the digest approved before the edit
    assert approved.returncode == 2
    assert "is not the approved plan" in approved.stderr
    # without --expect-digest the key still catches it
    keyed = run_flow(folder, "deprovision apply plan.json --yes", env)
    assert keyed.returncode == 2 and "signature does not match" in keyed.stderr
    assert not (folder / "state" / "runs").exists() or not list((folder / "state" / "runs").iterdir())
