"""Every record ends with the owner the plan named, row by row, above and below the Bulk threshold with
several successors per object; a rollback gives each back to its backed-up owner; verify names records
moved to someone else; the run's API-call figure is the org's own count.

The org is the scale seed (``deprovision localorg reset --seed scale``): 20 leavers with managers among
10 users, 15,000 records over six objects, so Account, Contact, Opportunity, Case and Task go through
Bulk API 2.0 (above 2,000 records) and Lead through sObject Collections.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from apply_helpers import DB_NAME, Org, run_cli, runs_of

from deprovision.apply.backup import read_csv
from deprovision.apply.batching import BULK_THRESHOLD
from deprovision.apply.runs import RunFolder

OBJECTS = ("Account", "Contact", "Opportunity", "Case", "Task", "Lead")
PLAYBOOK = """\
version: 1
name: scale-leavers
reason: "TEST-1: owners end to end"
users:
  where: "Department = 'Leavers' AND IsActive = true"
limits:
  max_users: 50
actions:
  freeze: true
  revoke: {permission_sets: all, public_groups: all, queues: all, package_licenses: all, oauth_tokens: all}
  reassign:
    default: {to: manager, fallback: "user:ops@acme.example"}
    objects:
""" + "".join(f"      {o}: {{}}\n" for o in OBJECTS) + """\
  deactivate: true
"""


@pytest.fixture(scope="module")
def scale_template(tmp_path_factory) -> Path:
    state = tmp_path_factory.mktemp("scale") / "state"
    state.mkdir()
    out = run_cli(state, "localorg", "reset", "--seed", "scale", "--users", "300", "--records", "15000",
                  "--leavers", "20")
    assert out.returncode == 0, out.stderr[-2000:]
    return state / DB_NAME


@pytest.fixture
def scale_state(tmp_path, scale_template) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    shutil.copyfile(scale_template, state / DB_NAME)
    (tmp_path / "leavers.yaml").write_text(PLAYBOOK)
    return state


def _api_used(org: Org) -> int:
    daily = org.client.limits()["DailyApiRequests"]
    return daily["Max"] - daily["Remaining"]


def _owners(org: Org) -> dict[str, dict[str, str]]:
    return {obj: {r["Id"]: r["OwnerId"] for r in org.rows(f"SELECT Id, OwnerId FROM {obj}")} for obj in OBJECTS}


def _planned(state: Path, run_id: str) -> dict[str, dict[str, str]]:
    """Object -> record id -> the owner the plan named."""
    plan = RunFolder(state / "runs" / run_id).read_plan()
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for c in plan.changes:
        if c.action == "reassign_owner":
            for rid in c.record_ids:
                out[c.object][rid] = c.after["OwnerId"]
    return out


def test_every_record_goes_to_its_planned_successor_and_rollback_gives_each_back(scale_state) -> None:
    playbook = scale_state.parent / "leavers.yaml"
    with Org(scale_state) as org:
        before = _owners(org)
        used0 = _api_used(org)
    out = run_cli(scale_state, "apply", str(playbook), "--yes", "--format", "json")
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    run_id = result["run_id"]
    with Org(scale_state) as org:
        used1 = _api_used(org)
        after = _owners(org)

    # the run's figure is every call the org counted for it (the two limits reads of this test aside)
    summary = json.loads((scale_state / "runs" / run_id / "summary.json").read_text())
    assert summary["api_calls"] == result["api_calls"] == used1 - used0 - 1
    assert f"{result['api_calls']} API calls" in out.stderr
    finished = [json.loads(x) for x in (scale_state / "audit.jsonl").read_text().splitlines()
                if '"run_finished"' in x][-1]
    assert finished["api_calls"] == result["api_calls"]

    planned = _planned(scale_state, run_id)
    journal = (scale_state / "runs" / run_id / "journal.jsonl").read_text()
    for obj in OBJECTS:
        successors = Counter(planned[obj].values())
        assert len(successors) >= 3, f"{obj}: the scale seed should give several successors"
        bulk = len(planned[obj]) > BULK_THRESHOLD
        assert (f'"reassign:bulk-{obj}:' in journal) == bulk
        wrong = {rid: (want, after[obj].get(rid)) for rid, want in planned[obj].items() if after[obj].get(rid) != want}
        assert not wrong, f"{obj}: {len(wrong)} records not with their planned owner, e.g. {list(wrong.items())[:3]}"
        # nothing outside the plan moved
        assert {rid: o for rid, o in after[obj].items() if rid not in planned[obj]} == \
            {rid: o for rid, o in before[obj].items() if rid not in planned[obj]}
    assert any(len(p) > BULK_THRESHOLD for p in planned.values())
    # the Bulk jobs of different objects run side by side: a job starts before an earlier one finished
    lines = [json.loads(x) for x in journal.splitlines()]
    started = [n for n, x in enumerate(lines) if x["k"] == "batch_started" and ":bulk-" in x["b"]]
    finished = {x["b"]: n for n, x in enumerate(lines) if x["k"] == "batch_finished" and ":bulk-" in x["b"]}
    assert len(started) == len(finished) >= 4
    assert any(lines[a]["b"] != lines[b]["b"] and a < b < finished[lines[a]["b"]] for a in started for b in started)
    assert any(len(p) <= BULK_THRESHOLD for p in planned.values())

    verify = run_cli(scale_state, "verify", run_id)
    assert verify.returncode == 0, verify.stderr[-2000:]

    # a record moved to someone who is neither the leaver nor the successor: drift, named precisely
    obj, (rid, successor) = "Contact", next(iter(planned["Contact"].items()))
    with Org(scale_state) as org:
        other = next(r["Id"] for r in org.rows("SELECT Id FROM User WHERE IsActive = true AND "
                                               "Department = 'Engineering' LIMIT 20")
                     if r["Id"] not in set(planned["Contact"].values()))
        org.client.sf.Contact.update(rid, {"OwnerId": other})
    drift = run_cli(scale_state, "verify", run_id)
    assert drift.returncode == 1
    line = next(x for x in drift.stderr.splitlines() if rid in x)
    assert obj in line and other in line and successor in line and "the plan named" in line

    rollback = run_cli(scale_state, "rollback", run_id, "--yes")
    assert rollback.returncode == 0, rollback.stderr[-3000:]
    assert "changed owner since the run" in rollback.stderr
    backup = {(r["Object"], r["Id"]): r["OwnerId"] for r in
              read_csv(scale_state / "runs" / run_id / "backup" / "owners.csv")}
    with Org(scale_state) as org:
        restored = _owners(org)
    wrong = [(o, i, want, restored[o].get(i)) for (o, i), want in backup.items()
             if i != rid and restored[o].get(i) != want]
    assert not wrong, f"{len(wrong)} records not given back, e.g. {wrong[:3]}"
    assert restored["Contact"][rid] == other
    rollback_id = runs_of(scale_state)[-1]["run_id"]
    assert run_cli(scale_state, "verify", rollback_id).returncode == 0
