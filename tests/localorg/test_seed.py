"""Seeds: the empty org, the demo company (fixed users, counts, integrity, determinism)."""

from __future__ import annotations

import hashlib

import pytest

from deprovision.localorg import errors, schema, seed
from deprovision.localorg.store import Store

D = "@acme.example"
DATA_OBJECTS = ("Account", "Contact", "Opportunity", "Lead", "Case", "Task", "Event", "Project__c")
LEAVERS = ("nina.patel", "li.wei", "diego.ramos", "sofia.rossi")


@pytest.fixture(scope="module")
def demo() -> Store:
    s = seed.fresh_store("demo")
    yield s
    s.close()


def one(store: Store, sql: str, params: tuple = ()) -> dict:
    rows = store.select(sql, params)
    assert len(rows) == 1, rows
    return rows[0]


def user(store: Store, local: str) -> dict:
    return one(store, 'SELECT * FROM "User" WHERE "Username" = ?', (local + D,))


def count(store: Store, sql: str, params: tuple = ()) -> int:
    return store.select(sql, params)[0]["n"]


# --- empty ----------------------------------------------------------------------------------------

def test_empty_org_is_a_new_salesforce_org():
    s = seed.fresh_store("empty")
    org = one(s, 'SELECT * FROM "Organization"')
    assert org["Name"] == "Acme Industries" and org["Id"] == s.org_id
    admin = user(s, "admin")
    assert admin["IsActive"] == 1 and s.api_user_id == admin["Id"]
    profile = one(s, 'SELECT * FROM "Profile" WHERE "Id" = ?', (admin["ProfileId"],))
    assert profile["Name"] == "System Administrator"
    assert profile["PermissionsManageUsers"] == profile["PermissionsViewSetup"] == profile["PermissionsModifyAllData"] == 1
    names = {r["Name"] for r in s.select('SELECT "Name" FROM "Profile"')}
    assert names == {"System Administrator", "Standard User", "Read Only", "Minimum Access - Salesforce",
                     "Standard Platform User", "Chatter Free User"}
    assert count(s, 'SELECT COUNT(*) AS n FROM "PermissionSet" WHERE "IsOwnedByProfile" = 1 AND "Type" = \'Profile\'') == 6
    assert {r["Name"] for r in s.select('SELECT "Name" FROM "UserLicense"')} == {
        "Salesforce", "Salesforce Platform", "Chatter Free"}
    assert one(s, 'SELECT "UsedLicenses" FROM "UserLicense" WHERE "Name" = \'Salesforce\'')["UsedLicenses"] == 1
    assert count(s, 'SELECT COUNT(*) AS n FROM "UserLogin" WHERE "UserId" = ?', (admin["Id"],)) == 1
    assert count(s, 'SELECT COUNT(*) AS n FROM "PermissionSetAssignment"') == 1
    assert one(s, 'SELECT "Type" FROM "Group" WHERE "Name" = \'All Internal Users\'')["Type"] == "Organization"
    for obj in DATA_OBJECTS:
        assert count(s, f'SELECT COUNT(*) AS n FROM "{obj}"') == 0


def test_empty_org_answers_soql():
    s = seed.fresh_store("empty")
    result = s.query("SELECT Id, Profile.Name FROM User WHERE IsActive = true")
    assert result.total_size == 1 and result.records[0]["Profile"]["Name"] == "System Administrator"


def test_seeding_twice_is_refused():
    s = seed.fresh_store("empty")
    with pytest.raises(ValueError):
        seed.build(s, "empty")
    with pytest.raises(ValueError):
        seed.build(Store.open(":memory:"), "galaxy")


def test_fresh_stores_are_independent():
    a, b = seed.fresh_store("empty"), seed.fresh_store("empty")
    a.create("Account", {"Name": "only in a"}, actor_id=a.api_user_id)
    assert count(b, 'SELECT COUNT(*) AS n FROM "Account"') == 0


# --- demo: size and shape -----------------------------------------------------------------------

def test_demo_size(demo):
    assert count(demo, 'SELECT COUNT(*) AS n FROM "User"') >= 300
    total = sum(count(demo, f'SELECT COUNT(*) AS n FROM "{obj}"') for obj in DATA_OBJECTS)
    assert total >= 20_000
    for obj in DATA_OBJECTS:
        assert count(demo, f'SELECT COUNT(*) AS n FROM "{obj}"') > 100, obj
    depts = {r["Department"] for r in demo.select('SELECT DISTINCT "Department" FROM "User"')}
    assert {"Sales", "Support", "Marketing", "Field Marketing", "Engineering", "Finance", "Operations", "Legal",
            "Contractors"} <= depts
    assert count(demo, 'SELECT COUNT(*) AS n FROM "User" WHERE "IsActive" = 0') > 5
    assert count(demo, 'SELECT COUNT(*) AS n FROM "UserLogin" WHERE "IsFrozen" = 1') > 3
    for obj, closed in (("Opportunity", "IsClosed"), ("Case", "IsClosed"), ("Task", "IsClosed")):
        flags = {r[closed] for r in demo.select(f'SELECT DISTINCT "{closed}" FROM "{obj}"')}
        assert flags == {0, 1}, obj


def test_demo_fixed_people(demo):
    for local in ("admin", "ops", "omar.haddad", "grace.kim", "harriet.cole", *LEAVERS):
        assert user(demo, local)["IsActive"] == 1, local
    admin_profile = one(demo, 'SELECT "Id" FROM "Profile" WHERE "Name" = \'System Administrator\'')["Id"]
    assert user(demo, "ops")["ProfileId"] == admin_profile
    assert user(demo, "nina.patel")["ManagerId"] == user(demo, "omar.haddad")["Id"]
    assert user(demo, "li.wei")["ManagerId"] == user(demo, "grace.kim")["Id"]
    assert user(demo, "diego.ramos")["ManagerId"] == user(demo, "nina.patel")["Id"]
    assert user(demo, "nina.patel")["Department"] == user(demo, "diego.ramos")["Department"] == "Sales"
    assert user(demo, "li.wei")["Department"] == "Support"
    sofia = user(demo, "sofia.rossi")
    assert sofia["ManagerId"] is None and sofia["Department"] == "Marketing"
    assert count(demo, 'SELECT COUNT(*) AS n FROM "User" WHERE "DelegatedApproverId" = ?', (sofia["Id"],)) >= 1
    assert count(demo, 'SELECT COUNT(*) AS n FROM "Report" WHERE "OwnerId" = ?', (sofia["Id"],)) >= 1
    assert count(demo, 'SELECT COUNT(*) AS n FROM "Dashboard" WHERE "RunningUserId" = ?', (sofia["Id"],)) >= 1
    platform = one(demo, 'SELECT "Id" FROM "Profile" WHERE "Name" = \'Standard Platform User\'')["Id"]
    grace = user(demo, "grace.kim")["Id"]
    for n in range(1, 13):
        c = user(demo, f"contractor{n:02d}")
        assert (c["Department"], c["ProfileId"], c["ManagerId"]) == ("Contractors", platform, grace)
        frozen = one(demo, 'SELECT "IsFrozen" FROM "UserLogin" WHERE "UserId" = ?', (c["Id"],))["IsFrozen"]
        assert c["IsActive"] == (0 if n == 7 else 1) and frozen == (1 if n == 9 else 0)
    field = demo.select('SELECT "ManagerId", "IsActive" FROM "User" WHERE "Department" = \'Field Marketing\'')
    assert len(field) == 15 and all(r["ManagerId"] == user(demo, "harriet.cole")["Id"] and r["IsActive"]
                                    for r in field)
    assert user(demo, "harriet.cole")["Department"] == "Marketing"


@pytest.mark.parametrize("local", LEAVERS)
def test_fixed_leavers_have_everything(demo, local):
    uid = user(demo, local)["Id"]
    for obj in DATA_OBJECTS:
        assert count(demo, f'SELECT COUNT(*) AS n FROM "{obj}" WHERE "OwnerId" = ?', (uid,)) > 0, obj
    checks = {
        "permission sets": 'SELECT COUNT(*) AS n FROM "PermissionSetAssignment" a JOIN "PermissionSet" p '
                           'ON p."Id" = a."PermissionSetId" WHERE a."AssigneeId" = ? AND p."Type" = \'Regular\'',
        "permission set group": 'SELECT COUNT(*) AS n FROM "PermissionSetAssignment" WHERE "AssigneeId" = ? '
                                'AND "PermissionSetGroupId" IS NOT NULL',
        "profile assignment": 'SELECT COUNT(*) AS n FROM "PermissionSetAssignment" a JOIN "PermissionSet" p '
                              'ON p."Id" = a."PermissionSetId" WHERE a."AssigneeId" = ? AND p."IsOwnedByProfile" = 1',
        "public group": 'SELECT COUNT(*) AS n FROM "GroupMember" m JOIN "Group" g ON g."Id" = m."GroupId" '
                        'WHERE m."UserOrGroupId" = ? AND g."Type" = \'Regular\'',
        "queue": 'SELECT COUNT(*) AS n FROM "GroupMember" m JOIN "Group" g ON g."Id" = m."GroupId" '
                 'WHERE m."UserOrGroupId" = ? AND g."Type" = \'Queue\'',
        "licence": 'SELECT COUNT(*) AS n FROM "PermissionSetLicenseAssign" WHERE "AssigneeId" = ?',
        "package": 'SELECT COUNT(*) AS n FROM "UserPackageLicense" WHERE "UserId" = ?',
        "token": 'SELECT COUNT(*) AS n FROM "OauthToken" WHERE "UserId" = ? AND "DeleteToken" IS NOT NULL',
        "session": 'SELECT COUNT(*) AS n FROM "AuthSession" WHERE "UsersId" = ?',
        "territory": 'SELECT COUNT(*) AS n FROM "UserTerritory2Association" WHERE "UserId" = ?',
        "account team": 'SELECT COUNT(*) AS n FROM "AccountTeamMember" WHERE "UserId" = ?',
        "opportunity team": 'SELECT COUNT(*) AS n FROM "OpportunityTeamMember" WHERE "UserId" = ?',
    }
    for what, sql in checks.items():
        assert count(demo, sql, (uid,)) > 0, what
    assert count(demo, 'SELECT COUNT(*) AS n FROM "PermissionSetAssignment" a JOIN "PermissionSet" p '
                       'ON p."Id" = a."PermissionSetId" WHERE a."AssigneeId" = ? AND p."IsOwnedByProfile" = 1',
                 (uid,)) == 1
    assert user(demo, local)["UserRoleId"] is not None
    for obj, closed in (("Opportunity", "IsClosed"), ("Task", "IsClosed"), ("Case", "IsClosed")):
        states = {r[closed] for r in demo.select(f'SELECT DISTINCT "{closed}" FROM "{obj}" WHERE "OwnerId" = ?',
                                                 (uid,))}
        if count(demo, f'SELECT COUNT(*) AS n FROM "{obj}" WHERE "OwnerId" = ?', (uid,)) > 1:
            assert states == {0, 1}, obj


def test_demo_queues_groups_and_access(demo):
    queues = {r["DeveloperName"]: r["Id"] for r in demo.select('SELECT * FROM "Group" WHERE "Type" = \'Queue\'')}
    assert set(queues) == {"Support_Queue", "Unassigned_Leads", "Project_Queue"}
    listed = {(r["QueueId"], r["SobjectType"]) for r in demo.select('SELECT * FROM "QueueSobject"')}
    assert listed == {(queues["Support_Queue"], "Case"), (queues["Support_Queue"], "Task"),
                      (queues["Unassigned_Leads"], "Lead"), (queues["Project_Queue"], "Project__c")}
    for q in queues.values():
        assert count(demo, 'SELECT COUNT(*) AS n FROM "GroupMember" WHERE "GroupId" = ?', (q,)) > 0
    names = {r["Name"] for r in demo.select('SELECT "Name" FROM "PermissionSet" WHERE "Type" = \'Regular\'')}
    assert {"Sales_Extra", "Support_Console", "Marketing_Cloud_User", "API_Access", "Report_Builder"} <= names
    psg = one(demo, 'SELECT * FROM "PermissionSetGroup" WHERE "DeveloperName" = \'Sales_Ops_Bundle\'')
    assert one(demo, 'SELECT "Type" FROM "PermissionSet" WHERE "PermissionSetGroupId" = ?', (psg["Id"],))["Type"] == "Group"
    assert {r["NamespacePrefix"] for r in demo.select('SELECT * FROM "PackageLicense"')} == {"sbqq", "dsfs"}
    for pkg in demo.select('SELECT * FROM "PackageLicense"'):
        assert pkg["UsedLicenses"] == count(demo, 'SELECT COUNT(*) AS n FROM "UserPackageLicense" '
                                                  'WHERE "PackageLicenseId" = ?', (pkg["Id"],))
    assert count(demo, 'SELECT COUNT(*) AS n FROM "ProcessInstanceWorkitem"') >= 1
    assert count(demo, 'SELECT COUNT(*) AS n FROM "CronTrigger"') >= 1
    assert count(demo, 'SELECT COUNT(*) AS n FROM "OauthToken" WHERE "Id" IS NOT NULL') == 0


# --- demo: integrity -------------------------------------------------------------------------------

def test_every_user_has_one_login_and_one_profile_assignment(demo):
    bad = demo.select(
        'SELECT u."Id" FROM "User" u WHERE (SELECT COUNT(*) FROM "UserLogin" l WHERE l."UserId" = u."Id") <> 1 '
        'OR (SELECT COUNT(*) FROM "PermissionSetAssignment" a JOIN "PermissionSet" p ON p."Id" = a."PermissionSetId" '
        'WHERE a."AssigneeId" = u."Id" AND p."IsOwnedByProfile" = 1 AND p."ProfileId" = u."ProfileId") <> 1')
    assert bad == []


def test_every_reference_points_at_a_record_of_an_allowed_type(demo):
    for spec in schema.OBJECTS:
        for f in spec.fields:
            if not f.is_reference:
                continue
            rows = demo.select(f'SELECT DISTINCT "{f.name}" AS v FROM "{spec.name}" WHERE "{f.name}" IS NOT NULL')
            for r in rows:
                target = schema.object_for_id(r["v"])
                assert target is not None and target.name in f.reference_to, (spec.name, f.name, r["v"])
                assert demo.row(target.name, r["v"]) is not None, (spec.name, f.name, r["v"])


def test_queue_owned_records_are_allowed(demo):
    for spec in schema.OBJECTS:
        if not spec.has_owner:
            continue
        rows = demo.select(f'SELECT DISTINCT "OwnerId" AS q FROM "{spec.name}" WHERE "OwnerId" LIKE \'00G%\'')
        for r in rows:
            assert spec.queue_ownable and count(
                demo, 'SELECT COUNT(*) AS n FROM "QueueSobject" WHERE "QueueId" = ? AND "SobjectType" = ?',
                (r["q"], spec.name)) == 1, spec.name


def test_usernames_unique_and_names_calculated(demo):
    assert count(demo, 'SELECT COUNT(*) - COUNT(DISTINCT lower("Username")) AS n FROM "User"') == 0
    assert count(demo, 'SELECT COUNT(*) AS n FROM "User" WHERE "Name" <> "FirstName" || \' \' || "LastName"') == 0


def test_demo_is_deterministic():
    def fingerprint(store: Store) -> str:
        h = hashlib.sha256()
        for obj in ("User", "Account", "Opportunity", "Case", "PermissionSetAssignment", "GroupMember", "OauthToken"):
            for row in store.select(f'SELECT * FROM "{obj}" ORDER BY "Id", "CreatedDate"'):
                h.update(repr(sorted(row.items())).encode())
        return h.hexdigest()

    a, b = Store.open(":memory:"), Store.open(":memory:")
    seed.build(a, "demo")
    seed.build(b, "demo")
    assert fingerprint(a) == fingerprint(b)


def test_demo_blockers_and_logins(demo):
    from deprovision.localorg.seed.empty import DEMO_PASSWORD
    from deprovision.localorg.store import LoginRefused

    ops = user(demo, "ops")["Id"]
    with demo.transaction():
        with pytest.raises(errors.SalesforceError) as exc:
            demo.update("User", ops, {"IsActive": False}, actor_id=demo.api_user_id)
    assert "default owner of cases" in exc.value.message
    assert demo.verify_password("nina.patel" + D, DEMO_PASSWORD)["Username"] == "nina.patel" + D
    with pytest.raises(LoginRefused) as refused:
        demo.verify_password("contractor09" + D, DEMO_PASSWORD)
    assert refused.value.reason == "frozen"
    with pytest.raises(LoginRefused) as refused:
        demo.issue_token(user(demo, "contractor07")["Id"])
    assert refused.value.reason == "inactive"
