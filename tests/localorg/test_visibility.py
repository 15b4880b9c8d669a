"""What the API user sees and may do depends on its permissions and on licences, as in real orgs
(sources in ``deprovision/localorg/visibility.py``): other users' OAuth tokens, reports in private folders,
owners whose licence gives no access to the object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def _count(sf, soql: str) -> int:
    return sf.query_all(soql)["totalSize"]


def _user_id(sf, username: str) -> str:
    return sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"][0]["Id"]


def test_other_users_oauth_tokens_are_visible_only_with_customize_application(served_org, sf) -> None:
    """Object Reference, OauthToken: Customize Application sees every token, everyone else their own."""
    everyone = _count(sf, "SELECT UserId FROM OauthToken")
    assert everyone > 10
    served_org.store.configure(api_user_permissions=["ManageUsers", "ViewAllData"])
    own = sf.query_all("SELECT UserId FROM OauthToken")["records"]
    assert {r["UserId"] for r in own} <= {_user_id(sf, "admin@acme.example")}
    served_org.store.configure(api_user_permissions=["CustomizeApplication"])
    assert _count(sf, "SELECT UserId FROM OauthToken") == everyone


def test_private_reports_need_scope_all_private_and_the_permission(served_org, sf) -> None:
    """Object Reference, Report, Supported Query Scopes: ``everything`` leaves out other users' private
    folders; ``allPrivate`` returns them with "Manage All Private Reports and Dashboards"."""
    private = "Name = 'My Open Pipeline'"  # nina.patel's report in her private folder (demo seed)
    assert _count(sf, f"SELECT Id FROM Report WHERE {private}") == 0
    assert _count(sf, f"SELECT Id FROM Report USING SCOPE everything WHERE {private}") == 0
    assert _count(sf, f"SELECT Id FROM Report USING SCOPE allPrivate WHERE {private}") == 1
    assert _count(sf, "SELECT Id FROM Report USING SCOPE allPrivate WHERE FolderName != 'Private Reports'") == 0
    assert _count(sf, f"SELECT Id FROM Report USING SCOPE mine WHERE {private}") == 0
    public = _count(sf, "SELECT Id FROM Report")
    assert public > 0
    served_org.store.configure(api_user_permissions=["CustomizeApplication", "ViewAllData"])
    assert _count(sf, f"SELECT Id FROM Report USING SCOPE allPrivate WHERE {private}") == 0
    assert _count(sf, "SELECT Id FROM Report") == public


def test_the_plan_finds_reports_in_private_folders(cli) -> None:
    """The planner reads Report twice (default scope, then allPrivate): nina.patel's private report is warned
    about although the admin's default scope cannot see it."""
    code, out, err = cli("plan", str(PLAYBOOKS / "november-leavers.yaml"), "--format", "json")
    assert code == 0, err
    warnings = json.loads(out)["warnings"]
    assert any(w["code"] == "dependant_report" and "My Open Pipeline" in w["message"] for w in warnings)


def test_an_owner_whose_licence_gives_no_access_is_refused(served_org, sf) -> None:
    """Chatter Free users own no records; Salesforce Platform users own accounts but not opportunities:
    TRANSFER_REQUIRES_READ "The new owner must have read permission"."""
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Chatter Free User'")["records"][0]["Id"]
    chatter = sf.User.create({"Username": "chatter.only@acme.example", "Email": "chatter.only@acme.example",
                              "LastName": "Only", "Alias": "conly", "ProfileId": profile})["id"]
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(account, {"OwnerId": chatter})
    assert err.value.content == [{"message": "The new owner must have read permission",
                                  "errorCode": "TRANSFER_REQUIRES_READ", "fields": ["OwnerId"]}]
    platform = _user_id(sf, "contractor01@acme.example")
    assert sf.Account.update(account, {"OwnerId": platform}) == 204
    opportunity = sf.query("SELECT Id FROM Opportunity WHERE IsClosed = false LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Opportunity.update(opportunity, {"OwnerId": platform})
    assert err.value.content[0]["errorCode"] == "TRANSFER_REQUIRES_READ"
