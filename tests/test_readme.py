"""The README's playbook example is a valid playbook."""

from __future__ import annotations

import re
from pathlib import Path

from deprovision.playbook.loader import load_playbook

ROOT = Path(__file__).resolve().parents[1]


def test_readme_playbook_example_validates(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    example = re.search(r"## Playbooks\n\n```yaml\n(.*?)```", text, re.S)
    assert example, "README.md has no playbook example"
    path = tmp_path / "example.yaml"
    path.write_text(example.group(1))
    (tmp_path / "leavers.csv").write_text("Username\nnina.patel@acme.example\n")
    playbook = load_playbook(path, {"ticket": "HR-4821"})
    assert playbook.name == "leavers-2026-11"
    assert playbook.reason == "HR-4821: November leavers"
