"""Parent-to-child sub-selects, TYPEOF, USING SCOPE and the semi-joins Salesforce refuses (SOQL and SOSL
Reference; recorded answers of real orgs in salesforcecli/plugin-data ``test/test-files/soqlQuery.exemplars.ts``)."""

from __future__ import annotations

import pytest
from test_soql_data import ACME, ALICE, BOB, CASE_ALICE, CASE_QUEUE, CONTACT, GLOBEX, INITECH, QUEUE, org  # noqa: F401

from deprovision.localorg import errors
from deprovision.localorg.soql import column_metadata, execute, iter_execute
from deprovision.localorg.soql.compiler import SEMI_JOIN_NESTED, SEMI_JOIN_OR
from deprovision.localorg.visibility import Viewer


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["Id"]: r for r in records}


def test_child_relationship_answers_a_nested_result_or_null_as_real_orgs_do(org):  # noqa: F811
    records = by_id(execute(org, "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account").records)
    assert records[GLOBEX]["Contacts"] is None  # no children: null, not an empty result
    assert records[ACME]["Contacts"] == {
        "totalSize": 1, "done": True,
        "records": [{"attributes": {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{CONTACT}"},
                     "Id": CONTACT, "LastName": "Doe"}]}
    assert list(records[ACME]) == ["attributes", "Id", "Name", "Contacts"]  # in select order


def test_child_subselect_takes_where_order_by_and_limit_per_parent(org):  # noqa: F811
    soql = ("SELECT Id, (SELECT Id, Subject FROM Cases WHERE IsClosed = false ORDER BY Subject DESC LIMIT 1) "
            "FROM Account WHERE Id = '{}'")
    [acme] = execute(org, soql.format(ACME)).records
    assert [c["Id"] for c in acme["Cases"]["records"]] == [CASE_ALICE]
    [initech] = execute(org, f"SELECT Id, (SELECT Id FROM ChildAccounts) FROM Account WHERE Id = '{ACME}'").records
    assert [c["Id"] for c in initech["ChildAccounts"]["records"]] == [INITECH]


def test_child_subselect_streams_with_the_parents(org):  # noqa: F811
    total, rows = iter_execute(org, "SELECT Id, (SELECT Id FROM Tasks) FROM Account ORDER BY Name")
    records = list(rows)
    assert total == len(records) == 4
    assert by_id(records)[ACME]["Tasks"]["totalSize"] == 1


def test_child_relationship_names_are_checked(org):  # noqa: F811
    with pytest.raises(errors.INVALID_TYPE) as e:
        execute(org, "SELECT Id, (SELECT Id FROM Contact) FROM Account")
    assert "Didn't understand relationship 'Contact' in FROM part of query call" in e.value.message
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account")


def test_child_subselect_column_metadata_is_an_aggregate_column_with_join_columns(org):  # noqa: F811
    meta = column_metadata("SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
    contacts = meta["columnMetadata"][1]
    assert (contacts["columnName"], contacts["aggregate"], contacts["apexType"]) == ("Contacts", True, None)
    assert [c["columnName"] for c in contacts["joinColumns"]] == ["LastName"]


def test_typeof_reads_the_fields_of_each_type(org):  # noqa: F811
    soql = ("SELECT Id, TYPEOF Owner WHEN User THEN Username WHEN Group THEN DeveloperName END FROM Case "
            f"WHERE Id IN ('{CASE_ALICE}', '{CASE_QUEUE}')")
    records = by_id(execute(org, soql).records)
    assert records[CASE_ALICE]["Owner"] == {
        "attributes": {"type": "User", "url": f"/services/data/v62.0/sobjects/User/{ALICE}"},
        "Username": "alice@example.com"}
    assert records[CASE_QUEUE]["Owner"] == {
        "attributes": {"type": "Group", "url": f"/services/data/v62.0/sobjects/Group/{QUEUE}"},
        "DeveloperName": "Support_Queue"}


def test_typeof_else_covers_the_other_types_and_a_missing_parent_is_null(org):  # noqa: F811
    soql = "SELECT Subject, TYPEOF What WHEN Account THEN Name, Industry ELSE Id END FROM Task ORDER BY Subject"
    call, email, think = execute(org, soql).records
    assert call["What"]["Name"] == "Acme" and call["What"]["Industry"] == "Tech"
    assert email["What"] == {"attributes": {"type": "Case", "url": f"/services/data/v62.0/sobjects/Case/{CASE_QUEUE}"},
                             "Id": CASE_QUEUE}
    assert think["What"] is None


def test_typeof_of_a_type_the_relationship_cannot_hold_is_refused(org):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT TYPEOF Owner WHEN Account THEN Name END FROM Case")


@pytest.mark.parametrize("soql", [
    "SELECT Id FROM User WHERE Department = 'X' OR Id IN (SELECT OwnerId FROM Account)",
    "SELECT Id FROM User WHERE Id NOT IN (SELECT OwnerId FROM Account) OR IsActive = false",
])
def test_semi_join_beside_or_is_refused_with_salesforces_message(org, soql):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        execute(org, soql)
    assert e.value.message == SEMI_JOIN_OR == "Semi join sub-selects are not allowed with the 'OR' operator"


def test_semi_join_in_a_nested_condition_is_refused(org):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        execute(org, "SELECT Id FROM User WHERE IsActive = true AND (Department = 'X' OR "
                     "Id IN (SELECT OwnerId FROM Account))")
    assert e.value.message == SEMI_JOIN_NESTED


def test_semi_joins_anded_at_the_top_level_still_work(org):  # noqa: F811
    rows = execute(org, "SELECT Id FROM User WHERE IsActive = true AND Id IN (SELECT OwnerId FROM Account) "
                        "AND Id NOT IN (SELECT OwnerId FROM Case)").records
    assert {r["Id"] for r in rows} == {BOB}


def test_using_scope_mine_keeps_the_running_users_records(org):  # noqa: F811
    mine = execute(org, "SELECT Id FROM Account USING SCOPE mine", viewer=Viewer(BOB)).records
    assert {r["Id"] for r in mine} == {GLOBEX, INITECH}
    everything = execute(org, "SELECT Id FROM Account USING SCOPE everything WHERE Name != null",
                         viewer=Viewer(BOB)).records
    assert len(everything) == 4


def test_using_scope_takes_only_the_objects_supported_scopes(org):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT Id FROM Account USING SCOPE allPrivate")
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT Id FROM GroupMember USING SCOPE mine")


def test_scopes_follow_the_objects_described_supported_scopes(org):  # noqa: F811
    queue_owned = execute(org, "SELECT Id FROM Case USING SCOPE queue_owned").records
    assert {r["Id"] for r in queue_owned} == {CASE_QUEUE}
    user_owned = execute(org, "SELECT Id FROM Case USING SCOPE user_owned").records
    assert CASE_QUEUE not in {r["Id"] for r in user_owned} and CASE_ALICE in {r["Id"] for r in user_owned}
