"""Colleagues' account and opportunity team rows survive the reassignment of the records they sit on.

The local org deletes a record's team on an API owner change, as Salesforce does (salesforce-api.md 4.1a);
apply sends the records carrying colleagues' rows through SOAP ``update`` with KeepAccountTeam /
KeepSalesTeam, and re-creates from the backup any row Salesforce still drops (a member added by a user
with group-based access: KeepAccountTeam does not keep it). Verify checks the rows; rollback restores them.
"""

from __future__ import annotations

import json

from apply_helpers import DB_NAME, PLAYBOOKS, Org, run_cli, runs_of

from deprovision.apply.backup import read_csv

LEAVERS = PLAYBOOKS / "november-leavers.yaml"
NAMES = ("nina.patel", "li.wei", "diego.ramos", "sofia.rossi")
TEAMS = {"AccountTeamMember": ("Account", "AccountId"), "OpportunityTeamMember": ("Opportunity", "OpportunityId")}


def _colleague_rows(org: Org, leavers: set[str], parents: dict[str, set[str]]) -> dict[str, set[tuple[str, str]]]:
    """Team object -> (UserId, parent id) of everyone but the leavers on the records in ``parents``."""
    out = {}
    for obj, (parent, field) in TEAMS.items():
        rows = org.rows(f"SELECT UserId, {field} FROM {obj}")
        out[obj] = {(r["UserId"], r[field]) for r in rows if r[field] in parents[parent] and r["UserId"] not in leavers}
    return out


def _reassigned(state, run_id: str) -> dict[str, set[str]]:
    plan = json.loads((state / "runs" / run_id / "plan.json").read_text())
    out: dict[str, set[str]] = {"Account": set(), "Opportunity": set()}
    for c in plan["changes"]:
        if c["action"] == "reassign_owner" and c["object"] in out:
            out[c["object"]].update(c["record_ids"])
    return out


def _org_deletes_teams(org: Org, owner: str, other: str) -> bool:
    """Whether an owner change through REST deletes the record's team here (Salesforce does)."""
    sf = org.client.sf
    account = sf.Account.create({"Name": "Team deletion probe", "OwnerId": owner})["id"]
    sf.AccountTeamMember.create({"AccountId": account, "UserId": other, "TeamMemberRole": "Sales Engineer"})
    sf.Account.update(account, {"OwnerId": other}, headers={"Sforce-Auto-Assign": "FALSE"})
    left = org.rows(f"SELECT Id FROM AccountTeamMember WHERE AccountId = '{account}'")
    sf.Account.delete(account)
    return not left


def test_colleagues_team_rows_survive_apply_verify_and_rollback(state) -> None:
    from deprovision.localorg.store import Store

    with Org(state) as org:
        users = {r["Username"].split("@")[0]: r for r in org.rows(
            "SELECT Id, Username, UserRoleId, IsActive, Profile.Name FROM User WHERE Username LIKE '%@acme.example'")}
        leavers = {users[n]["Id"] for n in NAMES}
        account = org.rows(f"SELECT Id FROM Account WHERE OwnerId = '{users['nina.patel']['Id']}' LIMIT 1")[0]["Id"]
        on_team = {r["UserId"] for r in org.rows(f"SELECT UserId FROM AccountTeamMember WHERE AccountId = '{account}'")}
    # a colleague with no role and no admin rights adds herself: KeepAccountTeam does not keep such a member
    colleague = next(u["Id"] for u in users.values() if u["IsActive"] and not u["UserRoleId"]
                     and u["Id"] not in leavers | on_team and (u.get("Profile") or {}).get("Name") != "System Administrator")
    with Org(state) as org:
        deletes = _org_deletes_teams(org, org.client.api_user["id"], colleague)
    store = Store.open(state / DB_NAME)
    try:
        store.create("AccountTeamMember", {"AccountId": account, "UserId": colleague, "TeamMemberRole": "Sales Engineer",
                                           "AccountAccessLevel": "Read"}, actor_id=colleague)
    finally:
        store.close()

    out = run_cli(state, "apply", str(LEAVERS), "--yes")
    assert out.returncode == 0, out.stderr[-3000:]
    run_id = runs_of(state)[-1]["run_id"]
    reassigned = _reassigned(state, run_id)
    folder = state / "runs" / run_id
    kept = {obj: {(r["UserId"], r[field]) for r in read_csv(folder / "backup" / f"{obj}-kept.csv")}
            for obj, (_, field) in TEAMS.items()}
    assert (colleague, account) in kept["AccountTeamMember"]
    assert all(kept.values()), "the demo org has colleagues on the leavers' accounts and opportunities"
    sums = (folder / "backup" / "SHA256SUMS").read_text()
    assert "AccountTeamMember-kept.csv" in sums and "OpportunityTeamMember-kept.csv" in sums
    with Org(state) as org:
        now = _colleague_rows(org, leavers, reassigned)
        owners = {r["Id"]: r["OwnerId"] for r in org.rows("SELECT Id, OwnerId FROM Account")}
    assert owners[account] not in leavers
    for obj in TEAMS:
        assert kept[obj] <= now[obj], f"{obj}: colleagues' rows lost: {sorted(kept[obj] - now[obj])[:5]}"
    journal = (folder / "journal.jsonl").read_text()
    assert '"reassign:soap-Account:' in journal and '"reassign:soap-Opportunity:' in journal
    events = [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]
    restored = [e for e in events if e.get("action") == "keep_team_member"]
    if deletes:  # the member added by a colleague is dropped even with KeepAccountTeam: re-created from the backup
        assert '"reassign:keep-team-AccountTeamMember:' in journal
        assert restored and restored[0]["outcome"] == "success" and restored[0]["object"] == "AccountTeamMember"
    else:  # an org that keeps teams on owner changes: nothing was dropped, nothing re-created
        assert '"reassign:keep-team-' not in journal and not restored

    assert run_cli(state, "verify", run_id).returncode == 0
    with Org(state) as org:
        gone = org.rows(f"SELECT Id FROM AccountTeamMember WHERE AccountId = '{account}' AND UserId = '{colleague}'")
        org.client.sf.AccountTeamMember.delete(gone[0]["Id"])
    verify = run_cli(state, "verify", run_id)
    assert verify.returncode == 1
    assert any(colleague in line and account in line and "no longer on the account team" in line
               for line in verify.stderr.splitlines()), verify.stderr[-2000:]

    rollback = run_cli(state, "rollback", run_id, "--yes")
    assert rollback.returncode == 0, rollback.stderr[-3000:]
    with Org(state) as org:
        back = _colleague_rows(org, leavers, reassigned)
        owners = {r["Id"]: r["OwnerId"] for r in org.rows("SELECT Id, OwnerId FROM Account")}
    assert owners[account] == users["nina.patel"]["Id"]
    for obj in TEAMS:
        assert kept[obj] <= back[obj], f"{obj}: not restored: {sorted(kept[obj] - back[obj])[:5]}"
    assert run_cli(state, "verify", runs_of(state)[-1]["run_id"]).returncode == 0
