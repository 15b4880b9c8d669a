"""The format page's independent checker agrees with `audit verify` on real logs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deprovision.audit import configure_audit, reset_audit
from deprovision.audit.verify import verify_log
from tests.audit.conftest import write_run

SPEC = Path(__file__).resolve().parents[2] / "deprovision" / "audit" / "README.md"


def _checker():
    code = re.findall(r"```python\n(.*?)```", SPEC.read_text(), re.S)[0]
    namespace: dict = {"__name__": "spec"}
    exec(compile(code, str(SPEC), "exec"), namespace)
    return namespace["check"]


@pytest.mark.parametrize("key", [None, b"spec-key"])
def test_the_documented_checker_accepts_what_we_write(tmp_path: Path, key, monkeypatch) -> None:
    monkeypatch.delenv("DEPROVISION_AUDIT_KEY", raising=False)
    path = tmp_path / "audit.jsonl"
    configure_audit(path, hmac_key=key)
    write_run("spec-run", users=[{"id": "005000000000051AAA", "username": "zoë.ångström@acme.example"}])
    reset_audit()
    result = verify_log(path, key=key)
    assert _checker()(path, key) == f"intact: {result.events} events, head {result.head}"


def test_the_documented_checker_finds_an_edit_at_the_same_line(sample_log: Path) -> None:
    lines = sample_log.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[6])
    event["outcome"] = "skipped"
    lines[6] = (json.dumps(event) + "\n").encode()  # not even canonical spacing: the content decides
    sample_log.write_bytes(b"".join(lines))
    assert _checker()(sample_log) == "line 7: edited"
    assert verify_log(sample_log).line == 7


def test_reformatting_a_line_without_changing_its_content_is_not_an_edit(sample_log: Path) -> None:
    lines = sample_log.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[3])
    body = {k: v for k, v in event.items() if k not in ("hash", "hmac")}
    lines[3] = (json.dumps({**body, "hash": event["hash"]}, indent=None, separators=(", ", ": ")) + "\n").encode()
    sample_log.write_bytes(b"".join(lines))
    assert verify_log(sample_log).ok
    assert _checker()(sample_log).startswith("intact")
