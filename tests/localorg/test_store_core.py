"""Store basics: tables, CRUD, system fields, generic rules derived from the schema."""

from __future__ import annotations

import re
import threading

import pytest

from deprovision.localorg import errors, ids, seed
from deprovision.localorg.store import Store

ADMIN = ids.make_id("005", 1)


@pytest.fixture
def store() -> Store:
    s = seed.fresh_store("empty")
    yield s
    s.close()


def _account(store: Store, **values) -> str:
    return store.create("Account", {"Name": "Globex", **values}, actor_id=ADMIN)


def test_open_creates_tables_and_indexes(tmp_path):
    store = Store.open(tmp_path / "org.db")
    names = {r["name"] for r in store.select("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"Account", "User", "Group", "OauthToken", "SetupAuditTrail"} <= names
    indexes = {r["name"] for r in store.select("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_Account_OwnerId_Id" in indexes and "ix_User_Username" in indexes
    columns = [r["name"] for r in store.select('PRAGMA table_info("OauthToken")')]
    assert columns[0] == "_rowid" and "Id" in columns
    store.close()
    org_id = Store.open(tmp_path / "org.db").org_id  # kept when the database is opened again
    assert org_id == store.org_id and org_id.startswith("00D") and ids.is_valid_id(org_id)
    assert Store.open(tmp_path / "other.db").org_id != org_id  # each database has its own


def test_create_sets_system_fields_and_ids(store):
    first, second = _account(store), _account(store)
    assert first.startswith("001") and len(first) == 18 and ids.is_valid_id(first)
    assert first != second
    rec = store.retrieve("Account", first)
    assert rec["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{first}"}
    assert rec["OwnerId"] == ADMIN and rec["CreatedById"] == ADMIN and rec["LastModifiedById"] == ADMIN
    assert rec["IsDeleted"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", rec["CreatedDate"]) and rec["SystemModstamp"] == rec["CreatedDate"]


def test_ids_continue_after_reopen(tmp_path):
    path = tmp_path / "org.db"
    s = Store.open(path)
    seed.build(s, "empty")
    a = _account(s)
    s.close()
    s = Store.open(path)
    b = _account(s)
    assert a != b and b > a


def test_calculated_name_of_people(store):
    cid = store.create("Contact", {"FirstName": "Jane", "LastName": "Doe"}, actor_id=ADMIN)
    assert store.retrieve("Contact", cid)["Name"] == "Jane Doe"
    store.update("Contact", cid, {"LastName": "Roe"}, actor_id=ADMIN)
    assert store.retrieve("Contact", cid, ["Name"])["Name"] == "Jane Roe"


def test_unknown_field_is_invalid_field(store):
    with pytest.raises(errors.INVALID_FIELD) as exc:
        _account(store, Colour="red")
    assert exc.value.message == "No such column 'Colour' on sobject of type Account"


def test_read_only_field_refused(store):
    with pytest.raises(errors.INVALID_FIELD_FOR_INSERT_UPDATE) as exc:
        store.create("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-12-01",
                                     "IsWon": True}, actor_id=ADMIN)
    assert exc.value.message.startswith("Unable to create/update fields: IsWon. Please check the security")
    assert exc.value.fields == ["IsWon"]
    acc = _account(store)
    with pytest.raises(errors.INVALID_FIELD_FOR_INSERT_UPDATE):
        store.update("Account", acc, {"CreatedDate": "2020-01-01T00:00:00Z"}, actor_id=ADMIN)


def test_required_fields_missing(store):
    with pytest.raises(errors.REQUIRED_FIELD_MISSING) as exc:
        store.create("Lead", {"FirstName": "x"}, actor_id=ADMIN)
    assert exc.value.message == "Required fields are missing: [LastName, Company]"
    assert exc.value.fields == ["LastName", "Company"]
    acc = _account(store)
    with pytest.raises(errors.REQUIRED_FIELD_MISSING):
        store.update("Account", acc, {"Name": None}, actor_id=ADMIN)


def test_value_types_are_checked_and_coerced(store):
    with pytest.raises(errors.JSON_PARSER_ERROR):
        _account(store, AnnualRevenue="lots")
    acc = _account(store, AnnualRevenue="1250.5")
    assert store.retrieve("Account", acc)["AnnualRevenue"] == 1250.5
    opp = store.create("Opportunity", {"Name": "o", "StageName": "Prospecting", "CloseDate": "2026-12-01",
                                       "AccountId": acc}, actor_id=ADMIN)
    with pytest.raises(errors.JSON_PARSER_ERROR):
        store.update("Opportunity", opp, {"CloseDate": "2026-13-45"}, actor_id=ADMIN)
    ev = store.create("Event", {"Subject": "s", "StartDateTime": "2026-12-01T10:00:00+01:00"}, actor_id=ADMIN)
    assert store.retrieve("Event", ev)["StartDateTime"] == "2026-12-01T09:00:00.000+0000"
    with pytest.raises(errors.SalesforceError) as exc:
        store.create("Group", {"Name": "g", "Type": "Bogus"}, actor_id=ADMIN)
    assert exc.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(errors.SalesforceError) as exc:
        _account(store, Name="x" * 256)
    assert exc.value.error_code == "STRING_TOO_LONG"


def test_boolean_values(store):
    gid = store.create("Group", {"Name": "g", "DoesSendEmailToMembers": "true"}, actor_id=ADMIN)
    assert store.retrieve("Group", gid)["DoesSendEmailToMembers"] is True
    with pytest.raises(errors.JSON_PARSER_ERROR):
        store.update("Group", gid, {"DoesSendEmailToMembers": "maybe"}, actor_id=ADMIN)


def test_opportunity_closed_flags_follow_stage(store):
    opp = store.create("Opportunity", {"Name": "o", "StageName": "Prospecting", "CloseDate": "2026-12-01"},
                       actor_id=ADMIN)
    assert store.retrieve("Opportunity", opp)["IsClosed"] is False
    store.update("Opportunity", opp, {"StageName": "Closed Won"}, actor_id=ADMIN)
    rec = store.retrieve("Opportunity", opp)
    assert rec["IsClosed"] is True and rec["IsWon"] is True


def test_case_number_assigned(store):
    a = store.create("Case", {"Subject": "a"}, actor_id=ADMIN)
    b = store.create("Case", {"Subject": "b"}, actor_id=ADMIN)
    assert store.retrieve("Case", a)["CaseNumber"] == "00000001"
    assert store.retrieve("Case", b)["CaseNumber"] == "00000002"


def test_bad_unknown_and_deleted_ids(store):
    with pytest.raises(errors.MALFORMED_ID):
        store.retrieve("Account", "nonsense")
    with pytest.raises(errors.NOT_FOUND) as exc:
        store.retrieve("Account", ids.make_id("001", 999))
    assert exc.value.status == 404
    acc = _account(store)
    store.delete("Account", acc, actor_id=ADMIN)
    for call in (lambda: store.retrieve("Account", acc), lambda: store.delete("Account", acc, actor_id=ADMIN),
                 lambda: store.update("Account", acc, {"Name": "y"}, actor_id=ADMIN)):
        with pytest.raises(errors.ENTITY_IS_DELETED) as exc:
            call()
        assert exc.value.status == 404 and exc.value.message == "entity is deleted"
    assert store.row("Account", acc)["IsDeleted"] == 1


def test_fifteen_character_id_accepted(store):
    acc = _account(store)
    assert store.retrieve("Account", acc[:15])["Id"] == acc


def test_unknown_object_is_not_found(store):
    with pytest.raises(errors.NOT_FOUND):
        store.create("Spaceship", {}, actor_id=ADMIN)


def test_reference_of_wrong_type_and_unknown_record(store):
    acc = _account(store)
    with pytest.raises(errors.FIELD_INTEGRITY_EXCEPTION) as exc:
        store.create("Contact", {"LastName": "x", "AccountId": ADMIN}, actor_id=ADMIN)
    assert exc.value.message == f"Account ID: id value of incorrect type: {ADMIN}"
    with pytest.raises(errors.INVALID_CROSS_REFERENCE_KEY) as exc:
        store.create("Contact", {"LastName": "x", "AccountId": ids.make_id("001", 777)}, actor_id=ADMIN)
    assert exc.value.fields == ["AccountId"]
    with pytest.raises(errors.MALFORMED_ID):
        store.update("Account", acc, {"OwnerId": "005xyz"}, actor_id=ADMIN)


def test_not_createable_object_answers_method_not_allowed(store):
    with pytest.raises(errors.METHOD_NOT_ALLOWED) as exc:
        store.create("UserLogin", {"UserId": ADMIN}, actor_id=ADMIN)
    assert exc.value.status == 405
    assert exc.value.message == "HTTP Method 'POST' not allowed. Allowed are GET,HEAD,PATCH"


def test_transaction_rolls_back_everything(store):
    before = store.select('SELECT COUNT(*) AS n FROM "Account"')[0]["n"]
    with pytest.raises(errors.REQUIRED_FIELD_MISSING):
        with store.transaction():
            _account(store)
            with store.transaction():
                _account(store)
            store.create("Account", {}, actor_id=ADMIN)
    assert store.select('SELECT COUNT(*) AS n FROM "Account"')[0]["n"] == before
    after = _account(store)
    assert after == ids.make_id("001", 1)


def test_failed_create_leaves_nothing_behind(store):
    with pytest.raises(errors.INVALID_FIELD):
        store.create("User", {"Username": "x@acme.example", "Bogus": 1}, actor_id=ADMIN)
    assert store.select('SELECT COUNT(*) AS n FROM "User"')[0]["n"] == 1


def test_describe_shapes(store):
    d = store.describe("account")
    assert d["name"] == "Account" and d["keyPrefix"] == "001" and d["deletable"] is True
    owner = next(f for f in d["fields"] if f["name"] == "OwnerId")
    assert owner["type"] == "reference" and owner["referenceTo"] == ["User"]
    assert owner["relationshipName"] == "Owner" and owner["nillable"] is False
    user = store.describe("User")
    assert user["deletable"] is False
    name = next(f for f in user["fields"] if f["name"] == "Name")
    # Name is a compound of FirstName and LastName, not a formula: recorded describes say calculated false
    assert name["createable"] is False and name["calculated"] is False and name["nameField"] is True
    group_type = next(f for f in store.describe("Group")["fields"] if f["name"] == "Type")
    assert "Queue" in [p["value"] for p in group_type["picklistValues"]]
    g = store.describe_global()
    assert g["maxBatchSize"] == 200 and g["encoding"] == "UTF-8"
    assert {"name", "keyPrefix", "createable"} <= set(g["sobjects"][0])
    assert any(o["name"] == "Project__c" and o["custom"] for o in g["sobjects"])


def test_concurrent_writes_are_safe(tmp_path):
    store = seed.fresh_store("empty", tmp_path / "t.db")
    made: list[str] = []

    def work():
        for _ in range(25):
            made.append(_account(store))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 100
    assert store.select('SELECT COUNT(*) AS n FROM "Account"')[0]["n"] == 100
