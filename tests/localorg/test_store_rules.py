"""Salesforce behaviours of the local org, at store level (reference/salesforce-api.md, section 9)."""

from __future__ import annotations

import pytest

from deprovision.localorg import errors, ids, seed
from deprovision.localorg.settings import MSG_DEFAULT_CASE_OWNER, MSG_WEB_TO_LEAD_CREATOR
from deprovision.localorg.store import Store

ADMIN = ids.make_id("005", 1)


@pytest.fixture
def store() -> Store:
    s = seed.fresh_store("empty")
    yield s
    s.close()


def profile(store: Store, name: str) -> str:
    return store.select('SELECT "Id" FROM "Profile" WHERE "Name" = ?', (name,))[0]["Id"]


def new_user(store: Store, username: str, profile_name: str = "Standard User", **extra) -> str:
    return store.create("User", {"Username": username, "Email": username, "LastName": username.split("@")[0],
                                 "FirstName": "Test", "Alias": username[:8],
                                 "ProfileId": profile(store, profile_name), **extra}, actor_id=ADMIN)


def login_row(store: Store, user_id: str) -> dict:
    return store.select('SELECT * FROM "UserLogin" WHERE "UserId" = ?', (user_id,))[0]


def audit(store: Store) -> list[dict]:
    return store.select('SELECT "Action", "Section", "Display", "CreatedById" FROM "SetupAuditTrail" ORDER BY "Id"')


def psa_rows(store: Store, user_id: str) -> list[dict]:
    return store.select('SELECT * FROM "PermissionSetAssignment" WHERE "AssigneeId" = ? AND "IsDeleted" = 0',
                        (user_id,))


def permission_set(store: Store, name: str) -> str:
    return store.create("PermissionSet", {"Name": name, "Label": name}, actor_id=ADMIN)


def queue(store: Store, name: str, *objects: str) -> str:
    qid = store.create("Group", {"Name": name, "DeveloperName": name, "Type": "Queue"}, actor_id=ADMIN)
    for obj in objects:
        store.create("QueueSobject", {"QueueId": qid, "SobjectType": obj}, actor_id=ADMIN)
    return qid


def deactivate(store: Store, user_id: str) -> None:
    store.update("User", user_id, {"IsActive": False}, actor_id=ADMIN)


# --- users --------------------------------------------------------------------------------------

def test_users_cannot_be_deleted(store):
    uid = new_user(store, "u@acme.example")
    with pytest.raises(errors.METHOD_NOT_ALLOWED) as exc:
        store.delete("User", uid, actor_id=ADMIN)
    assert exc.value.status == 405 and "DELETE" in exc.value.message


def test_new_user_gets_userlogin_and_profile_assignment(store):
    uid = new_user(store, "u@acme.example")
    row = login_row(store, uid)
    assert row["Id"].startswith("0Yw") and row["IsFrozen"] == 0 and row["IsPasswordLocked"] == 0
    [psa] = psa_rows(store, uid)
    ps = store.row("PermissionSet", psa["PermissionSetId"])
    assert ps["IsOwnedByProfile"] == 1 and ps["ProfileId"] == profile(store, "Standard User") and ps["Type"] == "Profile"
    assert store.retrieve("User", uid)["Name"] == "Test u"


def test_duplicate_username_refused(store):
    new_user(store, "u@acme.example")
    with pytest.raises(errors.SalesforceError) as exc:
        new_user(store, "U@acme.example")
    assert exc.value.error_code == "DUPLICATE_USERNAME"


def test_deactivation_keeps_memberships_and_records(store):
    uid = new_user(store, "u@acme.example")
    group = store.create("Group", {"Name": "Sales Team"}, actor_id=ADMIN)
    store.create("GroupMember", {"GroupId": group, "UserOrGroupId": uid}, actor_id=ADMIN)
    acc = store.create("Account", {"Name": "a", "OwnerId": uid}, actor_id=ADMIN)
    deactivate(store, uid)
    assert store.retrieve("User", uid)["IsActive"] is False
    assert store.retrieve("Account", acc)["OwnerId"] == uid
    assert store.select('SELECT COUNT(*) AS n FROM "GroupMember" WHERE "UserOrGroupId" = ? AND "IsDeleted" = 0',
                        (uid,))[0]["n"] == 1
    assert len(psa_rows(store, uid)) == 1
    assert audit(store)[-1]["Action"] == "deactivateduser"
    store.update("User", uid, {"IsActive": True}, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "activateduser"


@pytest.mark.parametrize("setting,message", [
    ("default_case_owner_id", MSG_DEFAULT_CASE_OWNER),
    ("default_workflow_user_id", "You cannot deactivate the Default Workflow User"),
    ("web_to_lead_creator_id", MSG_WEB_TO_LEAD_CREATOR),
])
def test_configured_blockers_refuse_deactivation(store, setting, message):
    uid = new_user(store, "u@acme.example")
    store.configure(**{setting: uid})
    with pytest.raises(errors.SalesforceError) as exc:
        deactivate(store, uid)
    assert exc.value.message == message and exc.value.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert exc.value.status == 400
    assert store.retrieve("User", uid)["IsActive"] is True
    store.configure(blocker_error_code="INVALID_CROSS_REFERENCE_KEY")
    with pytest.raises(errors.SalesforceError) as exc:
        deactivate(store, uid)
    assert exc.value.error_code == "INVALID_CROSS_REFERENCE_KEY"
    store.configure(**{setting: None})
    deactivate(store, uid)


def licence_used(store: Store, name: str = "Salesforce") -> int:
    return store.select('SELECT "UsedLicenses" FROM "UserLicense" WHERE "Name" = ?', (name,))[0]["UsedLicenses"]


def test_deactivation_frees_a_licence_and_reactivation_needs_one(store):
    before = licence_used(store)
    uid = new_user(store, "u@acme.example")
    assert licence_used(store) == before + 1
    deactivate(store, uid)
    assert licence_used(store) == before
    store.conn.execute('UPDATE "UserLicense" SET "TotalLicenses" = "UsedLicenses" WHERE "Name" = \'Salesforce\'')
    with pytest.raises(errors.SalesforceError) as exc:
        store.update("User", uid, {"IsActive": True}, actor_id=ADMIN)
    assert (exc.value.error_code, exc.value.message) == ("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")
    with pytest.raises(errors.SalesforceError):
        new_user(store, "v@acme.example")
    new_user(store, "p@acme.example", "Standard Platform User")


def test_blockers_can_be_configured_by_username(store):
    uid = new_user(store, "u@acme.example")
    assert store.configure(email_alert_recipient_ids=["u@acme.example"]).email_alert_recipient_ids == [uid]
    with pytest.raises(errors.SalesforceError) as exc:
        deactivate(store, uid)
    assert "only recipient of an email alert" in exc.value.message
    with pytest.raises(ValueError):
        store.configure(default_case_owner_id="nobody@acme.example")


def test_hierarchy_field_value_blocks_deactivation(store):
    approver = new_user(store, "a@acme.example")
    new_user(store, "b@acme.example", Backup_Approver__c=approver)
    with pytest.raises(errors.SalesforceError) as exc:
        deactivate(store, approver)
    assert exc.value.message == "Cannot inactivate user that is the value of a hierarchy field:Backup_Approver__c"


def test_manager_and_delegated_approver_do_not_block(store):
    boss = new_user(store, "boss@acme.example")
    new_user(store, "w@acme.example", ManagerId=boss, DelegatedApproverId=boss)
    deactivate(store, boss)


def test_last_active_admin_cannot_be_deactivated(store):
    with pytest.raises(errors.CANNOT_DISABLE_LAST_ADMIN):
        deactivate(store, ADMIN)
    second = new_user(store, "ops@acme.example", "System Administrator")
    deactivate(store, ADMIN)
    with pytest.raises(errors.CANNOT_DISABLE_LAST_ADMIN):
        deactivate(store, second)


def test_profile_change_within_licence_moves_profile_assignment(store):
    uid = new_user(store, "u@acme.example")
    store.update("User", uid, {"ProfileId": profile(store, "Read Only")}, actor_id=ADMIN)
    [psa] = psa_rows(store, uid)
    assert store.row("PermissionSet", psa["PermissionSetId"])["ProfileId"] == profile(store, "Read Only")
    assert audit(store)[-1]["Action"] == "changedprofileforuser"


def test_profile_change_across_licences_refused(store):
    uid = new_user(store, "u@acme.example")
    with pytest.raises(errors.FIELD_INTEGRITY_EXCEPTION) as exc:
        store.update("User", uid, {"ProfileId": profile(store, "Standard Platform User")}, actor_id=ADMIN)
    assert exc.value.message == "You can only reassign this user to a profile of the current license."
    assert exc.value.fields == ["ProfileId"]


def test_role_and_manager_changes_are_audited(store):
    role = store.create("UserRole", {"Name": "Sales Rep"}, actor_id=ADMIN)
    boss = new_user(store, "boss@acme.example")
    uid = new_user(store, "u@acme.example")
    store.update("User", uid, {"UserRoleId": role}, actor_id=ADMIN)
    store.update("User", uid, {"ManagerId": boss}, actor_id=ADMIN)
    store.update("User", uid, {"UserRoleId": None}, actor_id=ADMIN)
    actions = [a["Action"] for a in audit(store)[-3:]]
    assert actions == ["changedroleforuserfromnone", "changedManager", "changedroleforusertonone"]
    assert "Sales Rep to none" in audit(store)[-1]["Display"]
    store.update("User", uid, {"Email": "new@acme.example", "Title": "Rep"}, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "changedemail"
    before = len(audit(store))
    store.update("User", uid, {"Title": "Senior Rep", "Email": "new@acme.example"}, actor_id=ADMIN)
    assert len(audit(store)) == before  # neither a setup change nor a change at all


# --- UserLogin ------------------------------------------------------------------------------

def test_freeze_and_unfreeze(store):
    uid = new_user(store, "u@acme.example")
    row = login_row(store, uid)
    store.update("UserLogin", row["Id"], {"IsFrozen": True}, actor_id=ADMIN)
    assert store.retrieve("UserLogin", row["Id"])["IsFrozen"] is True
    assert store.retrieve("User", uid)["IsActive"] is True
    last = audit(store)[-1]
    assert last["Action"] == "frozeuser" and last["Section"] == "Manage Users" and "u@acme.example" in last["Display"]
    assert last["CreatedById"] == ADMIN
    store.update("UserLogin", row["Id"], {"IsFrozen": False}, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "unfrozeuser"


def test_userlogin_restrictions(store):
    uid = new_user(store, "u@acme.example")
    row = login_row(store, uid)
    with pytest.raises(errors.INVALID_FIELD_FOR_INSERT_UPDATE):
        store.update("UserLogin", row["Id"], {"UserId": ADMIN}, actor_id=ADMIN)
    with pytest.raises(errors.SalesforceError) as exc:
        store.update("UserLogin", row["Id"], {"IsPasswordLocked": True}, actor_id=ADMIN)
    assert exc.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    store.update_row("UserLogin", row["Id"], {"IsPasswordLocked": 1})
    store.update("UserLogin", row["Id"], {"IsPasswordLocked": False}, actor_id=ADMIN)
    assert store.retrieve("UserLogin", row["Id"])["IsPasswordLocked"] is False
    with pytest.raises(errors.METHOD_NOT_ALLOWED):
        store.delete("UserLogin", row["Id"], actor_id=ADMIN)


# --- inactive owners and queues -------------------------------------------------------------------

def test_inactive_user_cannot_become_owner_member_or_lookup(store):
    gone = new_user(store, "gone@acme.example")
    other = new_user(store, "other@acme.example")
    deactivate(store, gone)
    acc = store.create("Account", {"Name": "a"}, actor_id=ADMIN)
    group = store.create("Group", {"Name": "g"}, actor_id=ADMIN)
    attempts = [
        lambda: store.update("Account", acc, {"OwnerId": gone}, actor_id=ADMIN),
        lambda: store.create("Task", {"Subject": "t", "OwnerId": gone}, actor_id=ADMIN),
        lambda: store.create("GroupMember", {"GroupId": group, "UserOrGroupId": gone}, actor_id=ADMIN),
        lambda: store.update("User", other, {"ManagerId": gone}, actor_id=ADMIN),
        lambda: store.update("User", other, {"DelegatedApproverId": gone}, actor_id=ADMIN),
        lambda: store.update("User", other, {"Backup_Approver__c": gone}, actor_id=ADMIN),
    ]
    for attempt in attempts:
        with pytest.raises(errors.INACTIVE_OWNER_OR_USER) as exc:
            attempt()
        assert exc.value.message == "operation performed with inactive User"
    store.configure(update_records_with_inactive_owners=True)
    store.update("Account", acc, {"OwnerId": gone}, actor_id=ADMIN)
    assert store.retrieve("Account", acc)["OwnerId"] == gone


def test_records_of_inactive_owner_can_be_transferred(store):
    gone = new_user(store, "gone@acme.example")
    acc = store.create("Account", {"Name": "a", "OwnerId": gone}, actor_id=ADMIN)
    deactivate(store, gone)
    store.update("Account", acc, {"Name": "renamed"}, actor_id=ADMIN)
    store.update("Account", acc, {"OwnerId": ADMIN}, actor_id=ADMIN)
    assert store.retrieve("Account", acc)["OwnerId"] == ADMIN


def test_queue_owns_only_listed_objects(store):
    q = queue(store, "Support_Queue", "Case", "Task")
    case = store.create("Case", {"Subject": "c"}, actor_id=ADMIN)
    store.update("Case", case, {"OwnerId": q}, actor_id=ADMIN, auto_assign=False)
    assert store.retrieve("Case", case)["OwnerId"] == q
    lead = store.create("Lead", {"LastName": "l", "Company": "c"}, actor_id=ADMIN)
    with pytest.raises(errors.INVALID_OPERATION) as exc:
        store.update("Lead", lead, {"OwnerId": q}, actor_id=ADMIN)
    assert exc.value.message == "Queue not associated with this SObject type"


@pytest.mark.parametrize("obj,values", [
    ("Account", {"Name": "a"}), ("Opportunity", {"Name": "o", "StageName": "Prospecting", "CloseDate": "2026-12-01"}),
    ("Contact", {"LastName": "c"}), ("Event", {"Subject": "e"}),
])
def test_some_objects_are_never_queue_owned(store, obj, values):
    q = queue(store, "Everything", "Account", "Opportunity", "Contact", "Event")
    with pytest.raises(errors.FIELD_INTEGRITY_EXCEPTION) as exc:
        store.create(obj, {**values, "OwnerId": q}, actor_id=ADMIN)
    label = "Assigned To ID" if obj == "Event" else "Owner ID"  # the field's label (recorded Event describe)
    assert exc.value.message == f"{label}: id value of incorrect type: {q}"
    assert exc.value.fields == ["OwnerId"]


def test_public_group_cannot_own_records(store):
    store.create("Group", {"Name": "g"}, actor_id=ADMIN)
    group = store.select("SELECT \"Id\" FROM \"Group\" WHERE \"Name\" = 'g'")[0]["Id"]
    with pytest.raises(errors.FIELD_INTEGRITY_EXCEPTION):
        store.create("Case", {"Subject": "c", "OwnerId": group}, actor_id=ADMIN)


def test_owner_change_does_not_cascade(store):
    uid = new_user(store, "u@acme.example")
    acc = store.create("Account", {"Name": "a", "OwnerId": uid}, actor_id=ADMIN)
    con = store.create("Contact", {"LastName": "c", "AccountId": acc, "OwnerId": uid}, actor_id=ADMIN)
    opp = store.create("Opportunity", {"Name": "o", "StageName": "Prospecting", "CloseDate": "2026-12-01",
                                       "AccountId": acc, "OwnerId": uid}, actor_id=ADMIN)
    task = store.create("Task", {"Subject": "t", "WhatId": acc, "OwnerId": uid}, actor_id=ADMIN)
    before = len(audit(store))
    store.update("Account", acc, {"OwnerId": ADMIN}, actor_id=ADMIN)
    assert store.retrieve("Contact", con)["OwnerId"] == uid
    assert store.retrieve("Opportunity", opp)["OwnerId"] == uid
    assert store.retrieve("Task", task)["OwnerId"] == uid
    assert len(audit(store)) == before  # a data change, not a setup change


def test_assignment_rule_reowns_unless_auto_assign_false(store):
    q = queue(store, "Unassigned_Leads", "Lead")
    uid = new_user(store, "u@acme.example")
    store.configure(assignment_rule_queues={"Lead": "Unassigned_Leads"})
    lead = store.create("Lead", {"LastName": "l", "Company": "c"}, actor_id=ADMIN)
    store.update("Lead", lead, {"OwnerId": uid}, actor_id=ADMIN, auto_assign=False)
    assert store.retrieve("Lead", lead)["OwnerId"] == uid
    store.update("Lead", lead, {"OwnerId": uid, "Company": "d"}, actor_id=ADMIN)
    assert store.retrieve("Lead", lead)["OwnerId"] == q


# --- permission sets and groups ------------------------------------------------------------

def test_profile_owned_assignment_cannot_be_deleted(store):
    uid = new_user(store, "u@acme.example")
    [psa] = psa_rows(store, uid)
    with pytest.raises(errors.SalesforceError) as exc:
        store.delete("PermissionSetAssignment", psa["Id"], actor_id=ADMIN)
    assert exc.value.status == 400 and exc.value.error_code == "INVALID_OPERATION"
    assert exc.value.message == "You can't remove a permission set that's owned by a profile."
    store.configure(profile_owned_psa_error_code="DELETE_FAILED")
    with pytest.raises(errors.SalesforceError) as exc:
        store.delete("PermissionSetAssignment", psa["Id"], actor_id=ADMIN)
    assert exc.value.error_code == "DELETE_FAILED"


def test_assign_and_unassign_permission_set(store):
    uid = new_user(store, "u@acme.example")
    ps = permission_set(store, "Sales_Extra")
    psa = store.create("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetId": ps}, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "PermSetAssign"
    assert "Sales_Extra" in audit(store)[-1]["Display"]
    with pytest.raises(errors.DUPLICATE_VALUE) as exc:
        store.create("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetId": ps}, actor_id=ADMIN)
    assert exc.value.message == "Duplicate PermissionSetAssignment"
    store.delete("PermissionSetAssignment", psa, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "PermSetUnassign"
    store.create("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetId": ps}, actor_id=ADMIN)


def test_inactive_user_can_still_get_permission_sets(store):
    uid = new_user(store, "u@acme.example")
    deactivate(store, uid)
    store.create("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetId": permission_set(store, "X")},
                 actor_id=ADMIN)


def test_permission_set_group_assignment_uses_aggregate_set(store):
    uid = new_user(store, "u@acme.example")
    psg = store.create("PermissionSetGroup", {"DeveloperName": "Sales_Ops_Bundle", "MasterLabel": "Sales Ops"},
                       actor_id=ADMIN)
    aggregate = store.select('SELECT * FROM "PermissionSet" WHERE "PermissionSetGroupId" = ?', (psg,))
    assert len(aggregate) == 1 and aggregate[0]["Type"] == "Group"
    psa = store.create("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetGroupId": psg}, actor_id=ADMIN)
    row = store.retrieve("PermissionSetAssignment", psa)
    assert row["PermissionSetId"] == aggregate[0]["Id"] and row["PermissionSetGroupId"] == psg
    assert audit(store)[-1]["Action"] == "PermSetGroupAssign"
    store.delete("PermissionSetAssignment", psa, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "PermSetGroupUnassign"


def test_profile_permission_set_cannot_be_assigned_directly(store):
    uid = new_user(store, "u@acme.example")
    ps = store.select('SELECT "Id" FROM "PermissionSet" WHERE "IsOwnedByProfile" = 1 LIMIT 1')[0]["Id"]
    with pytest.raises(errors.INVALID_CROSS_REFERENCE_KEY):
        store.create("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetId": ps}, actor_id=ADMIN)


def test_group_and_queue_membership(store):
    uid = new_user(store, "u@acme.example")
    group = store.create("Group", {"Name": "Sales Team"}, actor_id=ADMIN)
    first = store.create("GroupMember", {"GroupId": group, "UserOrGroupId": uid}, actor_id=ADMIN)
    again = store.create("GroupMember", {"GroupId": group, "UserOrGroupId": uid}, actor_id=ADMIN)
    assert again == first
    assert audit(store)[-1]["Action"] == "groupMembership" and audit(store)[-1]["Section"] == "Groups"
    with pytest.raises(errors.METHOD_NOT_ALLOWED):
        store.update("GroupMember", first, {"GroupId": group}, actor_id=ADMIN)
    store.delete("GroupMember", first, actor_id=ADMIN)
    assert audit(store)[-1]["Display"].startswith("Removed")
    q = queue(store, "Support_Queue", "Case")
    store.create("GroupMember", {"GroupId": q, "UserOrGroupId": uid}, actor_id=ADMIN)
    assert audit(store)[-1]["Action"] == "queueMembership" and audit(store)[-1]["Section"] == "Data Management"


def test_licences_and_territories(store):
    uid = new_user(store, "u@acme.example")
    psl = store.system_write("PermissionSetLicense", {"DeveloperName": "SalesConsoleUser", "MasterLabel": "Console",
                                                      "TotalLicenses": 10, "UsedLicenses": 0}, actor_id=ADMIN)
    pkg = store.system_write("PackageLicense", {"NamespacePrefix": "sbqq", "AllowedLicenses": 10,
                                                "UsedLicenses": 0, "Status": "Active"}, actor_id=ADMIN)
    model = store.create("Territory2Model", {"Name": "FY27", "DeveloperName": "FY27"}, actor_id=ADMIN)
    kind = store.create("Territory2Type", {"MasterLabel": "Region", "DeveloperName": "Region", "Priority": 1},
                        actor_id=ADMIN)
    terr = store.create("Territory2", {"Name": "EMEA", "DeveloperName": "EMEA", "Territory2ModelId": model,
                                       "Territory2TypeId": kind}, actor_id=ADMIN)  # both required (Object Reference)
    psla = store.create("PermissionSetLicenseAssign", {"AssigneeId": uid, "PermissionSetLicenseId": psl},
                        actor_id=ADMIN)
    upl = store.create("UserPackageLicense", {"UserId": uid, "PackageLicenseId": pkg}, actor_id=ADMIN)
    ut = store.create("UserTerritory2Association", {"UserId": uid, "Territory2Id": terr}, actor_id=ADMIN)
    assert [a["Action"] for a in audit(store)[-3:]] == [
        "PermSetLicenseAssign", "addeduserpackagelicense", "tm2_userAddedToTerritory"]
    assert store.row("PackageLicense", pkg)["UsedLicenses"] == 1
    with pytest.raises(errors.DUPLICATE_VALUE):
        store.create("UserPackageLicense", {"UserId": uid, "PackageLicenseId": pkg}, actor_id=ADMIN)
    for obj, rid in (("PermissionSetLicenseAssign", psla), ("UserPackageLicense", upl)):
        with pytest.raises(errors.METHOD_NOT_ALLOWED):
            store.update(obj, rid, {"UserId": uid}, actor_id=ADMIN)
    store.delete("PermissionSetLicenseAssign", psla, actor_id=ADMIN)
    store.delete("UserPackageLicense", upl, actor_id=ADMIN)
    store.delete("UserTerritory2Association", ut, actor_id=ADMIN)
    assert [a["Action"] for a in audit(store)[-3:]] == [
        "PermSetLicenseUnassign", "removeduserpackagelicense", "tm2_userRemovedFromTerritory"]
    assert store.row("PackageLicense", pkg)["UsedLicenses"] == 0


# --- tokens, sessions, logins -------------------------------------------------------------------

def test_tokens_are_session_id_shaped_and_resolve(store):
    token = store.issue_token(ADMIN)
    org15, _, rest = token.partition("!")
    assert org15 == store.org_id[:15] and org15.startswith("00D") and len(rest) > 40
    assert store.user_for_token(token)["Id"] == ADMIN
    assert not store.select('SELECT * FROM "_token" WHERE hash = ?', (token,))  # stored hashed only
    with pytest.raises(errors.INVALID_SESSION_ID) as exc:
        store.user_for_token(token + "x")
    assert exc.value.status == 401 and exc.value.message == "Session expired or invalid"


def test_frozen_or_inactive_users_get_no_token(store):
    from deprovision.localorg.store import LoginRefused

    uid = new_user(store, "u@acme.example")
    store.update("UserLogin", login_row(store, uid)["Id"], {"IsFrozen": True}, actor_id=ADMIN)
    with pytest.raises(LoginRefused) as exc:
        store.issue_token(uid)
    assert exc.value.reason == "frozen"
    other = new_user(store, "o@acme.example")
    token = store.issue_token(other)
    deactivate(store, other)
    with pytest.raises(LoginRefused) as exc:
        store.issue_token(other)
    assert exc.value.reason == "inactive"
    with pytest.raises(errors.INVALID_SESSION_ID):
        store.user_for_token(token)


def test_deleting_the_auth_session_ends_the_token(store):
    uid = new_user(store, "u@acme.example")
    token = store.issue_token(uid)
    [session] = store.select('SELECT "Id" FROM "AuthSession" WHERE "UsersId" = ?', (uid,))
    store.delete("AuthSession", session["Id"], actor_id=ADMIN)
    with pytest.raises(errors.INVALID_SESSION_ID):
        store.user_for_token(token)


def test_revoke_access_token_and_oauth_token(store):
    token = store.issue_token(ADMIN)
    assert store.revoke_token(token) is True
    with pytest.raises(errors.INVALID_SESSION_ID):
        store.user_for_token(token)
    store.conn.execute('INSERT INTO "OauthToken" ("Id", "IsDeleted", "AppName", "DeleteToken", "UserId") '
                       "VALUES (NULL, 0, 'Mobile', 'del-123', ?)", (ADMIN,))
    assert store.revoke_token("del-123") is True
    assert store.select('SELECT COUNT(*) AS n FROM "OauthToken"')[0]["n"] == 0
    assert store.revoke_token("del-123") is False


def test_oauth_tokens_are_read_only(store):
    with pytest.raises(errors.METHOD_NOT_ALLOWED):
        store.create("OauthToken", {"AppName": "x"}, actor_id=ADMIN)


def test_token_expires_after_configured_uses(store):
    store.configure(token_max_uses=2)
    token = store.issue_token(ADMIN)
    store.user_for_token(token)
    store.user_for_token(token)
    with pytest.raises(errors.INVALID_SESSION_ID):
        store.user_for_token(token)


def test_password_login(store):
    from deprovision.localorg.seed.empty import DEMO_PASSWORD, DEMO_SECURITY_TOKEN
    from deprovision.localorg.store import LoginRefused

    assert store.verify_password("admin@acme.example", DEMO_PASSWORD)["Id"] == ADMIN
    assert store.verify_password("ADMIN@acme.example", DEMO_PASSWORD + DEMO_SECURITY_TOKEN)["Id"] == ADMIN
    with pytest.raises(LoginRefused):
        store.verify_password("admin@acme.example", "wrong")
    with pytest.raises(LoginRefused):
        store.verify_password("nobody@acme.example", DEMO_PASSWORD)


def test_connected_app_registered(store):
    from deprovision.localorg.seed.empty import CONSUMER_KEY, CONSUMER_SECRET

    app = store.connected_app(CONSUMER_KEY)
    assert app is not None and app.check_secret(CONSUMER_SECRET) and not app.check_secret("nope")
    assert app.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert store.connected_app_private_key(CONSUMER_KEY).startswith("-----BEGIN PRIVATE KEY-----")
    assert store.connected_app("unknown") is None


# --- API limits -------------------------------------------------------------------------------

def test_api_calls_are_counted_and_limited(store):
    used, limit = store.count_api_call()
    assert used == 1 and limit == 100_000 + 1_000 * (450 + 100)
    store.configure(daily_api_limit=3)
    assert store.count_api_call() == (2, 3)
    assert store.count_api_call() == (3, 3)
    with pytest.raises(errors.REQUEST_LIMIT_EXCEEDED) as exc:
        store.count_api_call()
    assert exc.value.status == 403 and exc.value.message == "TotalRequests Limit exceeded."


def test_settings_persist(tmp_path):
    path = tmp_path / "org.db"
    s = Store.open(path)
    s.configure(daily_api_limit=42, assignment_rule_queues={"Case": "Support_Queue"})
    s.close()
    s = Store.open(path)
    assert s.settings.daily_api_limit == 42 and s.settings.assignment_rule_queues == {"Case": "Support_Queue"}
    with pytest.raises(ValueError):
        s.configure(no_such_setting=True)
