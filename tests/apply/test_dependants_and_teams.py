"""Re-pointing other users' ManagerId / DelegatedApproverId and removing team rows, end to end through the CLI:
apply, verify, rollback against the local demo org (November leavers: both on)."""

from __future__ import annotations

import json
from collections import Counter

from apply_helpers import PLAYBOOKS, Org, run_cli, runs_of

LEAVERS = PLAYBOOKS / "november-leavers.yaml"
NAMES = ("nina.patel", "li.wei", "diego.ramos", "sofia.rossi")
TEAMS = {"AccountTeamMember": "AccountId, AccountAccessLevel", "OpportunityTeamMember": "OpportunityId, "
         "OpportunityAccessLevel"}


def _ids(org: Org) -> dict[str, str]:
    rows = org.rows("SELECT Id, Username FROM User WHERE Username LIKE '%@acme.example'")
    return {r["Username"].split("@")[0]: r["Id"] for r in rows}


def _lookups(org: Org) -> dict[str, tuple[str | None, str | None]]:
    return {r["Id"]: (r["ManagerId"], r["DelegatedApproverId"])
            for r in org.rows("SELECT Id, ManagerId, DelegatedApproverId FROM User")}


def _teams(org: Org) -> dict[str, Counter]:
    return {obj: Counter(tuple(v for k, v in r.items() if k != "Id")
                         for r in org.rows(f"SELECT Id, UserId, TeamMemberRole, {fields} FROM {obj}"))
            for obj, fields in TEAMS.items()}


def _plan(state, run_id: str) -> dict:
    return json.loads((state / "runs" / run_id / "plan.json").read_text())


def test_apply_repoints_dependants_removes_team_rows_and_rollback_restores_them(state) -> None:
    with Org(state) as org:
        ids = _ids(org)
        leavers = {ids[n] for n in NAMES}
        lookups, teams = _lookups(org), _teams(org)
        active = {r["Id"] for r in org.rows("SELECT Id FROM User WHERE IsActive = true")}
    ninas = sorted(u for u, (m, _) in lookups.items() if m == ids["nina.patel"] and u in active and u not in leavers)
    sofias = sorted(u for u, (m, _) in lookups.items() if m == ids["sofia.rossi"] and u in active)
    delegators = sorted(u for u, (_, d) in lookups.items() if d == ids["sofia.rossi"] and u in active)
    assert len(ninas) == 6 and sofias and delegators
    assert all(sum(n for row, n in rows.items() if row[0] in leavers) for rows in teams.values())

    out = run_cli(state, "apply", str(LEAVERS), "--yes")
    assert out.returncode == 0, out.stderr[-3000:]
    run_id = runs_of(state)[-1]["run_id"]
    plan = _plan(state, run_id)
    assert not [w for w in plan["warnings"] if w["code"] in ("team_member", "dependant_manager",
                                                              "dependant_delegated_approver")]
    with Org(state) as org:
        now = _lookups(org)
        after_teams = _teams(org)
    # nina's six retained reports now report to omar.haddad, her manager and the successor of her records
    assert {now[u][0] for u in ninas} == {ids["omar.haddad"]}
    # sofia has no manager: her reports and her delegator go to the fallback successor, ops@
    assert {now[u][0] for u in sofias} == {ids["ops"]}
    assert {now[u][1] for u in delegators} == {ids["ops"]}
    # diego (nina's report, leaving too) was not touched; nobody else's lookups moved
    assert now[ids["diego.ramos"]] == lookups[ids["diego.ramos"]]
    moved = {u for u in now if now[u] != lookups[u]}
    assert moved == set(ninas) | set(sofias) | set(delegators)
    # no team row left for a leaver; everyone else's team rows are untouched
    for obj, rows in after_teams.items():
        assert not [row for row in rows if row[0] in leavers]
        assert rows == Counter({row: n for row, n in teams[obj].items() if row[0] not in leavers})
    # the backup holds every removed team row
    for obj in TEAMS:
        backup = (state / "runs" / run_id / "backup" / f"{obj}.csv").read_text().splitlines()
        assert len(backup) - 1 == sum(n for row, n in teams[obj].items() if row[0] in leavers)

    verify = run_cli(state, "verify", run_id)
    assert verify.returncode == 0, verify.stderr
    assert "Verify passed" in verify.stderr
    # Salesforce's audit trail has one changedManager row per re-pointed user: the report pairs them with ours
    report = run_cli(state, "audit", "report", "--run", run_id, "--cross-check", "--format", "markdown")
    assert report.returncode == 0, report.stderr[-2000:]
    assert "changedManager" not in report.stdout and "in our log" not in report.stdout

    rollback = run_cli(state, "rollback", run_id, "--yes")
    assert rollback.returncode == 0, rollback.stderr[-3000:]
    assert "restore manager of 6 users" in rollback.stderr
    with Org(state) as org:
        assert _lookups(org) == lookups
        assert _teams(org) == teams


def test_verify_names_a_team_row_back_and_a_dependant_pointing_at_a_leaver_again(state) -> None:
    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    run_id = runs_of(state)[-1]["run_id"]
    plan = _plan(state, run_id)
    team = next(c for c in plan["changes"] if c["action"] == "remove_account_team")
    repoint = next(c for c in plan["changes"] if c["action"] == "repoint_manager")
    with Org(state) as org:
        sf = org.client.sf
        sf.User.update(team["user_id"], {"IsActive": True})  # a user lookup may not name an inactive user
        sf.User.update(repoint["user_id"], {"IsActive": True})
        sf.AccountTeamMember.create({"AccountId": team["before"]["AccountId"], "UserId": team["user_id"],
                                     "TeamMemberRole": "Sales Engineer"})
        sf.User.update(repoint["record_ids"][0], {"ManagerId": repoint["user_id"]})
    out = run_cli(state, "verify", run_id)
    assert out.returncode == 1
    assert f"{team['username']}: on the account team of {team['label']} again" in out.stderr
    assert f"{repoint['username']}: manager of 1 user again" in out.stderr


def test_rollback_leaves_a_dependant_whose_manager_changed_since_the_run(state) -> None:
    assert run_cli(state, "apply", str(LEAVERS), "--yes").returncode == 0
    run_id = runs_of(state)[-1]["run_id"]
    repoint = next(c for c in _plan(state, run_id)["changes"] if c["action"] == "repoint_manager")
    changed, *others = repoint["record_ids"]
    with Org(state) as org:
        admin = org.client.api_user["id"]
        org.client.sf.User.update(changed, {"ManagerId": admin})
        username = org.rows(f"SELECT Username FROM User WHERE Id = '{changed}'")[0]["Username"]
    out = run_cli(state, "rollback", run_id, "--yes")
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"{repoint['username']}: ManagerId of {username} changed since the run; left as it is" in out.stderr
    with Org(state) as org:
        managers = {r["Id"]: r["ManagerId"] for r in org.client.query_in(
            "SELECT Id, ManagerId FROM User WHERE Id IN {ids}", repoint["record_ids"])}
    assert managers[changed] == admin
    assert {managers[u] for u in others} == {repoint["user_id"]}


def test_a_saved_plan_is_stale_when_a_dependant_it_repoints_moved(state, tmp_path) -> None:
    plan_file = tmp_path / "plan.json"
    assert run_cli(state, "plan", str(LEAVERS), "--out", str(plan_file)).returncode == 0
    repoint = next(c for c in json.loads(plan_file.read_text())["changes"] if c["action"] == "repoint_manager")
    with Org(state) as org:
        before = _lookups(org)
        org.client.sf.User.update(repoint["record_ids"][0], {"ManagerId": org.client.api_user["id"]})
        before[repoint["record_ids"][0]] = (org.client.api_user["id"], before[repoint["record_ids"][0]][1])
    out = run_cli(state, "apply", str(plan_file), "--yes")
    assert out.returncode == 4, out.stderr[-2000:]
    assert f"User {repoint['record_ids'][0]}: ManagerId {repoint['username']} →" in out.stderr
    with Org(state) as org:
        assert _lookups(org) == before
