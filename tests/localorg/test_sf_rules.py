"""The Salesforce behaviours of reference section 9, on the wire through simple-salesforce.

The store tests check each rule in-process; these pin the exact status codes and body shapes a client
sees (reference/salesforce-api.md sections 5.2-5.4 and 9).
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)


def one(sf, soql: str) -> dict:
    records = sf.query(soql)["records"]
    assert len(records) == 1, soql
    return records[0]


def user_id(sf, username: str) -> str:
    return one(sf, f"SELECT Id FROM User WHERE Username = '{username}'")["Id"]


def error_of(raised: pytest.ExceptionInfo) -> dict:
    """The single error of a single-resource error body (a JSON array)."""
    content = raised.value.content
    assert isinstance(content, list) and len(content) == 1, content
    return content[0]


# --- 1 and 2: status codes and body shapes ------------------------------------------------------

def test_create_is_201_with_id_success_errors(sf, served_org):
    owner = user_id(sf, "ops@acme.example")
    response = sf.session.post(f"{sf.base_url}sobjects/Account/", headers=sf.headers,
                               json={"Name": "Wire Test", "OwnerId": owner})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "success", "errors"} and body["success"] is True and body["errors"] == []
    assert body["id"].startswith("001") and len(body["id"]) == 18


def test_update_and_delete_are_204_with_no_body(sf):
    created = sf.Account.create({"Name": "To Change"})
    response = sf.Account.update(created["id"], {"Name": "Changed"}, raw_response=True)
    assert response.status_code == 204 and response.content == b""
    assert "Content-Type" not in response.headers
    response = sf.Account.delete(created["id"], raw_response=True)
    assert response.status_code == 204 and response.content == b""


def test_unknown_id_and_unknown_object_are_404_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.Account.get("001000000000000AAA")
    assert error_of(raised) == {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.restful("sobjects/NoSuchThing__c/describe")
    assert error_of(raised)["errorCode"] == "NOT_FOUND"


def test_deleted_record_is_404_entity_is_deleted(sf):
    created = sf.Account.create({"Name": "Short Lived"})
    sf.Account.delete(created["id"])
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.Account.delete(created["id"])
    assert error_of(raised)["errorCode"] == "ENTITY_IS_DELETED"
    assert error_of(raised)["message"] == "entity is deleted"


def test_field_errors_carry_fields(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.create({"Name": "x", "NoSuchField__c": 1})
    assert error_of(raised)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.create({"Industry": "Retail"})
    err = error_of(raised)
    assert err["errorCode"] == "REQUIRED_FIELD_MISSING" and err["fields"] == ["Name"]


def test_get_with_fields_returns_only_those(sf):
    created = sf.Account.create({"Name": "Fields Only", "Industry": "Retail"})
    response = sf.session.get(f"{sf.base_url}sobjects/Account/{created['id']}?fields=Name,Industry",
                              headers=sf.headers)
    assert response.status_code == 200
    body = response.json()
    assert body == {"attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{created['id']}"},
                    "Name": "Fields Only", "Industry": "Retail"}


def test_id_in_create_body_is_refused(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.create({"Id": "001000000000001AAA", "Name": "x"})
    assert error_of(raised) == {"message": "The Id field should not be specified in the sobject data.",
                                "errorCode": "INVALID_FIELD"}


def test_malformed_json_body(sf):
    response = sf.session.post(f"{sf.base_url}sobjects/Account/", headers=sf.headers, data="{not json")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


# --- 3 and 4: users are deactivated, never deleted; blockers -------------------------------------

def test_users_cannot_be_deleted(sf):
    target = user_id(sf, "nina.patel@acme.example")
    with pytest.raises(SalesforceError) as raised:
        sf.User.delete(target)
    assert raised.value.status >= 400
    assert one(sf, f"SELECT IsActive FROM User WHERE Id = '{target}'")["IsActive"] is True


def test_deactivation_keeps_memberships_and_records(sf):
    target = user_id(sf, "nina.patel@acme.example")
    owned_before = sf.query(f"SELECT COUNT() FROM Account WHERE OwnerId = '{target}'")["totalSize"]
    members_before = sf.query(f"SELECT COUNT() FROM GroupMember WHERE UserOrGroupId = '{target}'")["totalSize"]
    assert sf.User.update(target, {"IsActive": False}) == 204
    assert one(sf, f"SELECT IsActive FROM User WHERE Id = '{target}'")["IsActive"] is False
    assert sf.query(f"SELECT COUNT() FROM Account WHERE OwnerId = '{target}'")["totalSize"] == owned_before
    assert sf.query(f"SELECT COUNT() FROM GroupMember WHERE UserOrGroupId = '{target}'")["totalSize"] == members_before


def test_deactivation_blocker_answers_400_with_the_kb_message(sf, served_org):
    target = user_id(sf, "nina.patel@acme.example")
    served_org.store.configure(default_case_owner_id=target)
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.update(target, {"IsActive": False})
    err = error_of(raised)
    assert err["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert err["message"] == ("You cannot deactivate this user. You cannot deactivate a user who is the default "
                              "owner of cases")
    assert one(sf, f"SELECT IsActive FROM User WHERE Id = '{target}'")["IsActive"] is True


# --- 5: UserLogin --------------------------------------------------------------------------------

def test_freeze_is_a_userlogin_patch_and_leaves_the_user_active(sf):
    target = user_id(sf, "nina.patel@acme.example")
    login = one(sf, f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '{target}'")
    assert login["IsFrozen"] is False
    assert sf.UserLogin.update(login["Id"], {"IsFrozen": True}) == 204
    assert one(sf, f"SELECT IsFrozen FROM UserLogin WHERE Id = '{login['Id']}'")["IsFrozen"] is True
    assert one(sf, f"SELECT IsActive FROM User WHERE Id = '{target}'")["IsActive"] is True


def test_userlogin_refuses_lock_user_change_create_and_delete(sf):
    target = user_id(sf, "nina.patel@acme.example")
    other = user_id(sf, "ops@acme.example")
    login = one(sf, f"SELECT Id FROM UserLogin WHERE UserId = '{target}'")["Id"]
    with pytest.raises(SalesforceMalformedRequest):
        sf.UserLogin.update(login, {"IsPasswordLocked": True})
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.UserLogin.update(login, {"UserId": other})
    assert error_of(raised)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceError):
        sf.UserLogin.create({"UserId": target})
    with pytest.raises(SalesforceError):
        sf.UserLogin.delete(login)
    assert sf.query(f"SELECT COUNT() FROM UserLogin WHERE UserId = '{target}'")["totalSize"] == 1


# --- 6, 7, 8: owners ------------------------------------------------------------------------------

def test_inactive_owner_is_refused(sf):
    inactive = user_id(sf, "contractor07@acme.example")
    account = sf.Account.create({"Name": "Owned"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.update(account, {"OwnerId": inactive})
    err = error_of(raised)
    assert err["errorCode"] == "INACTIVE_OWNER_OR_USER"
    assert err["message"] == "operation performed with inactive User"


def test_owner_update_does_not_cascade(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    ops = user_id(sf, "ops@acme.example")
    account = one(sf, f"SELECT Id FROM Account WHERE OwnerId = '{nina}' LIMIT 1")["Id"]
    contact = sf.Contact.create({"LastName": "Child", "AccountId": account, "OwnerId": nina})["id"]
    assert sf.Account.update(account, {"OwnerId": ops}, headers={"Sforce-Auto-Assign": "FALSE"}) == 204
    assert one(sf, f"SELECT OwnerId FROM Account WHERE Id = '{account}'")["OwnerId"] == ops
    assert one(sf, f"SELECT OwnerId FROM Contact WHERE Id = '{contact}'")["OwnerId"] == nina


def _queue(served_org, name: str) -> str:
    return served_org.store.select('SELECT "Id" FROM "Group" WHERE "DeveloperName" = ?', (name,))[0]["Id"]


def test_queue_owner_only_where_queuesobject_allows(sf, served_org):
    support = _queue(served_org, "Support_Queue")  # Case and Task
    leads = _queue(served_org, "Unassigned_Leads")  # Lead only
    case = sf.Case.create({"Subject": "Queue me"})["id"]
    assert sf.Case.update(case, {"OwnerId": support}, headers={"Sforce-Auto-Assign": "FALSE"}) == 204
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Case.update(case, {"OwnerId": leads})
    err = error_of(raised)
    assert err["errorCode"] == "INVALID_OPERATION"
    assert err["message"] == "Queue not associated with this SObject type"
    account = sf.Account.create({"Name": "Never queued"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.update(account, {"OwnerId": support})
    assert error_of(raised)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_auto_assign_header_decides_whether_assignment_rules_run(sf, served_org):
    served_org.store.configure(assignment_rule_queues={"Case": "Support_Queue"})
    support = _queue(served_org, "Support_Queue")
    ops = user_id(sf, "ops@acme.example")
    case = sf.Case.create({"Subject": "Assign me"})["id"]
    sf.Case.update(case, {"OwnerId": ops}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert one(sf, f"SELECT OwnerId FROM Case WHERE Id = '{case}'")["OwnerId"] == ops
    sf.Case.update(case, {"OwnerId": ops})  # header absent: TRUE, the simulated rule re-owns it
    assert one(sf, f"SELECT OwnerId FROM Case WHERE Id = '{case}'")["OwnerId"] == support


# --- 9 and 10: assignments and per-object calls ----------------------------------------------------

def test_profile_owned_assignment_cannot_be_deleted(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    row = one(sf, "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = true "
                  f"AND AssigneeId = '{nina}'")
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSetAssignment.delete(row["Id"])
    assert error_of(raised) == {"message": "You can't remove a permission set that's owned by a profile.",
                                "errorCode": "INVALID_OPERATION"}


def test_duplicate_permission_set_assignment(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    existing = sf.query("SELECT PermissionSetId FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile "
                        f"= false AND PermissionSetGroupId = null AND AssigneeId = '{nina}' LIMIT 1")["records"][0]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.PermissionSetAssignment.create({"AssigneeId": nina, "PermissionSetId": existing["PermissionSetId"]})
    err = error_of(raised)
    assert err["errorCode"] == "DUPLICATE_VALUE" and "Duplicate PermissionSetAssignment" in err["message"]


def test_groupmember_has_no_update_and_oauthtoken_no_delete(sf):
    member = sf.query("SELECT Id, GroupId FROM GroupMember LIMIT 1")["records"][0]
    with pytest.raises(SalesforceError) as raised:
        sf.GroupMember.update(member["Id"], {"GroupId": member["GroupId"]})
    assert raised.value.status in (400, 405)
    token = sf.query("SELECT Id, DeleteToken FROM OauthToken LIMIT 1")["records"][0]
    assert token["Id"] is None
    with pytest.raises(SalesforceError):
        sf.OauthToken.delete("0CQ000000000001AAA")


def test_authsession_can_be_deleted(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    sessions = sf.query(f"SELECT Id FROM AuthSession WHERE UsersId = '{nina}'")["records"]
    assert sessions, "the demo org gives the fixed users a session"
    assert sf.AuthSession.delete(sessions[0]["Id"]) == 204


def test_profile_change_across_licences_is_refused(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    platform = one(sf, "SELECT Id FROM Profile WHERE Name = 'Standard Platform User'")["Id"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.User.update(nina, {"ProfileId": platform})
    err = error_of(raised)
    assert err["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert err["message"] == "You can only reassign this user to a profile of the current license."
    assert err["fields"] == ["ProfileId"]


# --- 12: SOQL errors on the wire ---------------------------------------------------------------------

def test_soql_errors_on_the_wire(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Bacon__c FROM Account LIMIT 2")
    err = error_of(raised)
    assert err["errorCode"] == "INVALID_FIELD"
    assert err["message"].startswith("\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\n")
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Id FROM Nope")
    assert error_of(raised)["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query('SELECT Id FROM Account WHERE Name = "double"')
    assert error_of(raised)["errorCode"] == "MALFORMED_QUERY"


# --- 15: Setup Audit Trail ------------------------------------------------------------------------

def test_setup_changes_leave_audit_trail_rows_and_owner_transfers_none(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    ops = user_id(sf, "ops@acme.example")
    before = sf.query("SELECT COUNT() FROM SetupAuditTrail")["totalSize"]
    account = one(sf, f"SELECT Id FROM Account WHERE OwnerId = '{nina}' LIMIT 1")["Id"]
    sf.Account.update(account, {"OwnerId": ops}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sf.query("SELECT COUNT() FROM SetupAuditTrail")["totalSize"] == before
    login = one(sf, f"SELECT Id FROM UserLogin WHERE UserId = '{nina}'")["Id"]
    sf.UserLogin.update(login, {"IsFrozen": True})
    rows = sf.query("SELECT Action, Section, CreatedById FROM SetupAuditTrail ORDER BY CreatedDate DESC")["records"]
    assert len(rows) == before + 1
    assert any(r["Action"] == "frozeuser" for r in rows[:1])


def test_assignment_rules_run_on_create_unless_the_header_says_false(sf, served_org):
    served_org.store.configure(assignment_rule_queues={"Case": "Support_Queue"})
    support = _queue(served_org, "Support_Queue")
    ops = user_id(sf, "ops@acme.example")
    kept = sf.Case.create({"Subject": "kept", "OwnerId": ops}, headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    routed = sf.Case.create({"Subject": "routed", "OwnerId": ops})["id"]
    assert one(sf, f"SELECT OwnerId FROM Case WHERE Id = '{kept}'")["OwnerId"] == ops
    assert one(sf, f"SELECT OwnerId FROM Case WHERE Id = '{routed}'")["OwnerId"] == support


def test_get_by_lookup_field_and_upsert(sf):
    nina = user_id(sf, "nina.patel@acme.example")
    assert sf.User.get_by_custom_id("Username", "nina.patel@acme.example")["Id"] == nina
    with pytest.raises(SalesforceResourceNotFound):
        sf.User.get_by_custom_id("Username", "nobody@acme.example")
    response = sf.Account.upsert("Name/Upserted Co", {"Industry": "Energy"}, raw_response=True)
    assert response.status_code == 201 and response.json()["created"] is True
    created = response.json()["id"]
    response = sf.Account.upsert("Name/Upserted Co", {"Industry": "Retail"}, raw_response=True)
    assert response.status_code == 200 and response.json() == {"id": created, "success": True, "errors": [],
                                                                  "created": False}
    assert sf.Account.get(created)["Industry"] == "Retail"
    sf.Account.create({"Name": "Twice"})
    sf.Account.create({"Name": "Twice"})
    response = sf.session.patch(f"{sf.base_url}sobjects/Account/Name/Twice", headers=sf.headers,
                                json={"Industry": "x"})
    assert response.status_code == 300 and len(response.json()) == 2
