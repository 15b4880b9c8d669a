"""Salesforce deletes an Account's / Opportunity's team when the API changes its owner (KB 000390190; SOAP API
Developer Guide, "OwnerChangeOptions"): on every REST path, kept only by SOAP update's KeepAccountTeam /
KeepSalesTeam, and only when the owner really changes."""

from __future__ import annotations

import time

import soap_support as soap
from localorg_support import connect

from deprovision.org.soql import soql_in

NO_RULES = {"Sforce-Auto-Assign": "FALSE"}
TEAM = {"Account": ("AccountTeamMember", "AccountId"), "Opportunity": ("OpportunityTeamMember", "OpportunityId")}


def _user(sf, username: str) -> str:
    return sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"][0]["Id"]


def _with_teams(sf, obj: str, n: int, not_owned_by: str) -> list[str]:
    """``n`` records of ``obj`` with a team and an owner other than ``not_owned_by``."""
    team, parent = TEAM[obj]
    rows = sf.query(f"SELECT {parent} FROM {team} ORDER BY {parent}")["records"]
    ids = list(dict.fromkeys(r[parent] for r in rows))
    owners = {r["Id"]: r["OwnerId"] for r in sf.query(
        f"SELECT Id, OwnerId FROM {obj} WHERE Id IN {soql_in(ids[:200])}")["records"]}
    return [i for i in ids[:200] if owners.get(i) not in (None, not_owned_by)][:n]


def _team_size(sf, obj: str, record_id: str) -> int:
    team, parent = TEAM[obj]
    return sf.query(f"SELECT COUNT() FROM {team} WHERE {parent} = '{record_id}'")["totalSize"]


def _sizes(sf, obj: str, ids: list[str]) -> list[int]:
    return [_team_size(sf, obj, i) for i in ids]


def test_api_owner_change_deletes_account_team_kb_000390190(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    changed, untouched = _with_teams(sf, "Account", 2, ops)
    before = _team_size(sf, "Account", untouched)
    assert _team_size(sf, "Account", changed) > 0
    sf.Account.update(changed, {"OwnerId": ops}, headers=NO_RULES)
    assert _team_size(sf, "Account", changed) == 0
    assert _team_size(sf, "Account", untouched) == before  # only the changed account loses its team


def test_api_owner_change_deletes_opportunity_team_kb_000390190(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [opportunity] = _with_teams(sf, "Opportunity", 1, ops)
    sf.Opportunity.update(opportunity, {"OwnerId": ops}, headers=NO_RULES)
    assert _team_size(sf, "Opportunity", opportunity) == 0


def test_collections_owner_change_deletes_account_and_opportunity_teams(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account], [opportunity] = _with_teams(sf, "Account", 1, ops), _with_teams(sf, "Opportunity", 1, ops)
    results = sf.restful("composite/sobjects", method="PATCH", headers=NO_RULES, json={"records": [
        {"attributes": {"type": "Account"}, "id": account, "OwnerId": ops},
        {"attributes": {"type": "Opportunity"}, "id": opportunity, "OwnerId": ops}]})
    assert [r["success"] for r in results] == [True, True]
    assert (_team_size(sf, "Account", account), _team_size(sf, "Opportunity", opportunity)) == (0, 0)


def test_composite_subrequest_owner_change_deletes_account_team(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account] = _with_teams(sf, "Account", 1, ops)
    answer = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "PATCH", "url": f"/services/data/v62.0/sobjects/Account/{account}", "referenceId": "owner",
         "body": {"OwnerId": ops}}]})
    assert answer["compositeResponse"][0]["httpStatusCode"] == 204
    assert _team_size(sf, "Account", account) == 0


def _bulk_update(sf, obj: str, rows: list[dict]) -> dict:
    job = sf.restful("jobs/ingest", method="POST", json={"object": obj, "operation": "update", "lineEnding": "LF"})
    csv = "Id,OwnerId\n" + "".join(f"{r['Id']},{r['OwnerId']}\n" for r in rows)
    sf.session.put(f"{sf.base_url}jobs/ingest/{job['id']}/batches", data=csv.encode(),
                   headers={**sf.headers, "Content-Type": "text/csv"})
    sf.restful(f"jobs/ingest/{job['id']}", method="PATCH", json={"state": "UploadComplete"})
    for _ in range(200):
        info = sf.restful(f"jobs/ingest/{job['id']}")
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_bulk_api_2_owner_change_deletes_account_and_opportunity_teams(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    accounts, opportunities = _with_teams(sf, "Account", 2, ops), _with_teams(sf, "Opportunity", 2, ops)
    for obj, ids in (("Account", accounts), ("Opportunity", opportunities)):
        info = _bulk_update(sf, obj, [{"Id": i, "OwnerId": ops} for i in ids])
        assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0)
        assert _sizes(sf, obj, ids) == [0, 0]


def test_update_that_keeps_the_owner_keeps_the_team(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account] = _with_teams(sf, "Account", 1, ops)
    owner = sf.Account.get(account)["OwnerId"]
    before = _team_size(sf, "Account", account)
    sf.Account.update(account, {"Name": "Renamed Ltd"}, headers=NO_RULES)
    sf.Account.update(account, {"OwnerId": owner[:15]}, headers=NO_RULES)  # the same owner, 15-character id
    sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "id": account, "OwnerId": owner}]})
    assert _team_size(sf, "Account", account) == before


def test_refused_owner_change_keeps_the_team(served_org):
    sf = connect(served_org)
    inactive = _user(sf, "contractor07@acme.example")
    [account] = _with_teams(sf, "Account", 1, inactive)
    before = _team_size(sf, "Account", account)
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "id": account, "OwnerId": inactive}]})
    assert results[0]["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert _team_size(sf, "Account", account) == before


def test_soap_update_with_keep_account_team_and_keep_sales_team_keeps_both_teams(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account], [opportunity] = _with_teams(sf, "Account", 1, ops), _with_teams(sf, "Opportunity", 1, ops)
    before = (_team_size(sf, "Account", account), _team_size(sf, "Opportunity", opportunity))
    response = soap.update(served_org, [soap.sobject("Account", account, OwnerId=ops),
                                        soap.sobject("Opportunity", opportunity, OwnerId=ops)], soap.keep_teams())
    assert response.status_code == 200, response.text
    assert [soap.as_dict(r)["success"] for r in soap.results(response)] == ["true", "true"]
    assert sf.Account.get(account)["OwnerId"] == ops
    assert (_team_size(sf, "Account", account), _team_size(sf, "Opportunity", opportunity)) == before


def test_soap_update_without_owner_change_options_deletes_teams_like_rest(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account], [opportunity] = _with_teams(sf, "Account", 1, ops), _with_teams(sf, "Opportunity", 1, ops)
    response = soap.update(served_org, [soap.sobject("Account", account, OwnerId=ops),
                                        soap.sobject("Opportunity", opportunity, OwnerId=ops)])
    assert [soap.as_dict(r)["success"] for r in soap.results(response)] == ["true", "true"]
    assert (_team_size(sf, "Account", account), _team_size(sf, "Opportunity", opportunity)) == (0, 0)


def test_keep_account_team_false_and_keep_sales_team_true_keep_only_the_opportunity_team(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account], [opportunity] = _with_teams(sf, "Account", 1, ops), _with_teams(sf, "Opportunity", 1, ops)
    before = _team_size(sf, "Opportunity", opportunity)
    soap.update(served_org, [soap.sobject("Account", account, OwnerId=ops),
                             soap.sobject("Opportunity", opportunity, OwnerId=ops)],
                soap.keep_teams(account=False, sales=True))
    assert (_team_size(sf, "Account", account), _team_size(sf, "Opportunity", opportunity)) == (0, before)


def test_pre_35_owner_change_options_form_names_no_team_and_deletes_it(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account] = _with_teams(sf, "Account", 1, ops)
    old_form = ("<urn:OwnerChangeOptions><urn:transferAttachments>true</urn:transferAttachments>"
                "<urn:transferOpenActivities>true</urn:transferOpenActivities></urn:OwnerChangeOptions>")
    response = soap.update(served_org, [soap.sobject("Account", account, OwnerId=ops)], old_form)
    assert soap.as_dict(soap.results(response)[0])["success"] == "true"
    assert _team_size(sf, "Account", account) == 0


def test_keep_account_team_still_removes_members_added_by_other_users(served_org):
    """OwnerChangeOptions: KeepAccountTeam keeps members added by an admin, the owner or someone above the owner
    in the role hierarchy; members added by users with group-based access are removed even when it is true."""
    store, sf = served_org.store, connect(served_org)
    ops = _user(sf, "ops@acme.example")
    [account] = _with_teams(sf, "Account", 1, ops)
    owner = sf.Account.get(account)["OwnerId"]
    colleague = sf.query("SELECT Id FROM User WHERE IsActive = true AND Profile.Name = 'Standard User' "
                         f"AND UserRoleId = null AND Id != '{owner}' LIMIT 1")["records"]
    if not colleague:  # every standard user has a role: take one whose role is not above the owner's
        colleague = sf.query("SELECT Id FROM User WHERE IsActive = true AND Profile.Name != 'System Administrator' "
                             f"AND Id != '{owner}' AND ManagerId = '{owner}' LIMIT 1")["records"]
    added_by = colleague[0]["Id"]
    member = sf.query(f"SELECT Id FROM User WHERE IsActive = true AND Id NOT IN ('{owner}', '{added_by}') "
                      "AND Profile.Name = 'Standard User' LIMIT 1")["records"][0]["Id"]
    store.create("AccountTeamMember", {"AccountId": account, "UserId": member, "TeamMemberRole": "Partner"},
                 actor_id=added_by)
    before = _team_size(sf, "Account", account)
    soap.update(served_org, [soap.sobject("Account", account, OwnerId=ops)], soap.keep_teams())
    assert _team_size(sf, "Account", account) == before - 1
    assert sf.query(f"SELECT COUNT() FROM AccountTeamMember WHERE AccountId = '{account}' "
                    f"AND UserId = '{member}'")["totalSize"] == 0
