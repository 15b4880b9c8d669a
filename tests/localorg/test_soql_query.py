"""Running SOQL against a real SQLite org: operators, relationships, semi-joins, ordering, errors."""

from __future__ import annotations

import pytest
from test_soql_data import (  # noqa: F401
    ACME,
    ALICE,
    BOB,
    CAROL,
    CASE_ALICE,
    CASE_CAROL,
    CASE_QUEUE,
    CONTACT,
    DAVE,
    GLOBEX,
    INITECH,
    LEAD,
    OREILLY,
    QUEUE,
    SALES_GROUP,
    TASK_ACCOUNT,
    TASK_CASE,
    TASK_NONE,
    UMBRELLA,
    org,
)

from deprovision.localorg import errors
from deprovision.localorg.ids import make_id
from deprovision.localorg.soql import execute


def ids(conn, soql: str, **kw) -> list[str]:
    return [r["Id"] for r in execute(conn, soql, **kw).records]


def id_set(conn, soql: str, **kw) -> set[str]:
    return set(ids(conn, soql, **kw))


# --- record shape ------------------------------------------------------------------------------


def test_records_have_rest_shape_with_typed_values(org):  # noqa: F811
    result = execute(org, "SELECT Id, Name, AnnualRevenue FROM Account WHERE Id = '" + ACME + "'")
    assert result.total_size == 1
    assert result.records == [{
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{ACME}"},
        "Id": ACME, "Name": "Acme", "AnnualRevenue": 1000.5,
    }]


def test_booleans_are_json_booleans_and_keys_use_schema_spelling(org):  # noqa: F811
    record = execute(org, f"select isactive, USERNAME, name from user where id = '{CAROL}'").records[0]
    assert record["IsActive"] is False and "isactive" not in record
    assert record["Username"] == "carol@example.com"
    assert record["Name"] == "Carol O'Brien"


def test_api_version_is_a_parameter(org):  # noqa: F811
    record = execute(org, f"SELECT Id FROM Account WHERE Id = '{ACME}'", api_version="59.0").records[0]
    assert record["attributes"]["url"] == f"/services/data/v59.0/sobjects/Account/{ACME}"


def test_calculated_name_falls_back_to_first_and_last_name(org):  # noqa: F811
    assert execute(org, f"SELECT Name FROM User WHERE Id = '{DAVE}'").records[0]["Name"] == "Dave"


def test_oauth_token_id_is_always_null(org):  # noqa: F811
    records = execute(org, f"SELECT Id, AppName, UseCount, UserId FROM OauthToken WHERE UserId = '{ALICE}'").records
    assert len(records) == 1
    assert records[0]["Id"] is None
    assert records[0]["AppName"] == "Data Loader" and records[0]["UseCount"] == 3
    assert records[0]["attributes"]["type"] == "OauthToken"


# --- comparison operators -------------------------------------------------------------------------


def test_string_equality_ignores_case(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM User WHERE Username = 'ALICE@Example.COM'") == [ALICE]
    assert id_set(org, "SELECT Id FROM Account WHERE Industry = 'TECH'") == {ACME, OREILLY}


def test_not_equal_includes_nulls_and_both_spellings_agree(org):  # noqa: F811
    expected = {GLOBEX, INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE Industry != 'tech'") == expected
    assert id_set(org, "SELECT Id FROM Account WHERE Industry <> 'tech'") == expected


def test_null_comparisons(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Account WHERE Industry = null") == [INITECH]
    assert id_set(org, "SELECT Id FROM Account WHERE Industry != null") == {ACME, GLOBEX, OREILLY}
    assert ids(org, "SELECT Id FROM User WHERE ManagerId = null") == [ALICE]


@pytest.mark.parametrize(("op", "expected"), [
    ("<", {OREILLY}), ("<=", {OREILLY, ACME}), (">", {GLOBEX}), (">=", {ACME, GLOBEX}),
])
def test_numeric_ordering_operators(org, op, expected):  # noqa: F811
    assert id_set(org, f"SELECT Id FROM Account WHERE AnnualRevenue {op} 1000.5") == expected


def test_boolean_filters(org):  # noqa: F811
    assert id_set(org, "SELECT Id FROM User WHERE IsActive = true") == {ALICE, BOB, DAVE}
    assert id_set(org, "SELECT Id FROM User WHERE IsActive = FALSE") == {CAROL}
    assert id_set(org, "SELECT Id FROM User WHERE IsActive != true") == {CAROL}


def test_in_and_not_in(org):  # noqa: F811
    assert id_set(org, "SELECT Id FROM User WHERE Alias IN ('ASMITH', 'bjones', 'nobody')") == {ALICE, BOB}
    assert id_set(org, "SELECT Id FROM User WHERE Alias NOT IN ('asmith', 'bjones')") == {CAROL, DAVE}
    assert id_set(org, "SELECT Id FROM Account WHERE Industry IN ('Energy', null)") == {GLOBEX, INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE Industry NOT IN ('Tech')") == {GLOBEX}  # nulls left out


def test_like_is_case_insensitive_with_wildcards(org):  # noqa: F811
    assert id_set(org, "SELECT Id FROM Account WHERE Name LIKE 'a%'") == {ACME}
    assert id_set(org, "SELECT Id FROM Account WHERE Name LIKE '_LOBEX'") == {GLOBEX}
    assert id_set(org, "SELECT Id FROM Account WHERE Name LIKE '%e%'") == {ACME, GLOBEX, INITECH, OREILLY}


def test_like_escapes_match_literal_percent_and_underscore(org):  # noqa: F811
    assert ids(org, r"SELECT Id FROM Account WHERE Name LIKE '%100\% Ltd\_x%'") == [OREILLY]
    assert ids(org, r"SELECT Id FROM Account WHERE Name LIKE '%1000\%%'") == []
    assert ids(org, r"SELECT Id FROM Account WHERE Name LIKE 'Acm\_'") == []
    assert ids(org, r"SELECT Id FROM Account WHERE Name LIKE '%\\ \"quoted\"'") == [OREILLY]


def test_and_or_not_and_parentheses(org):  # noqa: F811
    assert id_set(org, "SELECT Id FROM User WHERE IsActive = true AND Department = 'sales'") == {ALICE, BOB}
    assert id_set(org, "SELECT Id FROM User WHERE Alias = 'dave' OR Department = 'Support'") == {CAROL, DAVE}
    assert id_set(org, "SELECT Id FROM User WHERE NOT (Department = 'Sales')") == {CAROL, DAVE}
    assert id_set(org, "SELECT Id FROM User WHERE (Alias = 'dave' OR Alias = 'cobrien') AND IsActive = true") == {
        DAVE}


def test_fifteen_and_eighteen_character_ids_match(org):  # noqa: F811
    assert ids(org, f"SELECT Id FROM Account WHERE Id = '{ACME[:15]}'") == [ACME]
    assert ids(org, f"SELECT Id FROM Account WHERE Id = '{ACME[:15]}{ACME[15:].lower()}'") == [ACME]
    assert id_set(org, f"SELECT Id FROM Account WHERE OwnerId IN ('{BOB[:15]}', '{ALICE}')") == {
        ACME, GLOBEX, INITECH, OREILLY}


def test_fifteen_character_ids_are_case_sensitive(org):  # noqa: F811
    swapped = ACME[:15].swapcase()
    assert ids(org, f"SELECT Id FROM Account WHERE Id = '{swapped}'") == []


def test_malformed_id_is_refused(org):  # noqa: F811
    with pytest.raises(errors.SalesforceError) as e:
        execute(org, "SELECT Id FROM Account WHERE OwnerId = 'not-an-id'")
    assert e.value.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert e.value.message.endswith("invalid ID field: not-an-id")


# --- dates ---------------------------------------------------------------------------------------


def test_datetime_literals_with_offsets(org):  # noqa: F811
    all_accounts = {ACME, GLOBEX, INITECH, OREILLY}
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate > 2000-01-01T00:00:00Z") == all_accounts
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate < 2000-01-01T00:00:00+05:00") == set()
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate >= 2999-01-01T00:00:00.000-08:00") == set()


def test_datetime_offset_is_converted_to_utc(org):  # noqa: F811
    org.execute("UPDATE Account SET CreatedDate = '2026-11-01T00:00:00.000+0000' WHERE Id = ?", (ACME,))
    assert ids(org, "SELECT Id FROM Account WHERE CreatedDate = 2026-11-01T02:00:00+02:00") == [ACME]
    assert ids(org, "SELECT Id FROM Account WHERE CreatedDate = 2026-11-01T00:00:00Z") == [ACME]
    assert ids(org, "SELECT Id FROM Account WHERE CreatedDate = 2026-11-01T00:00:00-01:00") == []


def test_relative_date_literals_on_datetime_fields(org):  # noqa: F811
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate = TODAY") == {INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate = YESTERDAY") == {GLOBEX}
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:10") == {ACME, GLOBEX, INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate < LAST_N_DAYS:10") == {OREILLY}
    assert id_set(org, "SELECT Id FROM Account WHERE CreatedDate != TODAY") == {ACME, GLOBEX, OREILLY}
    assert id_set(org, "SELECT Id FROM User WHERE CreatedDate = NEXT_N_DAYS:3") == {DAVE}
    assert id_set(org, "SELECT Id FROM User WHERE CreatedDate > TODAY") == {DAVE}


def test_date_fields_take_date_literals_and_relative_dates(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Task WHERE ActivityDate = TODAY") == [TASK_ACCOUNT]
    assert ids(org, "SELECT Id FROM Task WHERE ActivityDate = NEXT_N_DAYS:7") == [TASK_CASE]
    assert id_set(org, "SELECT Id FROM Task WHERE ActivityDate > 2000-01-01") == {TASK_ACCOUNT, TASK_CASE}


@pytest.mark.parametrize(("soql", "message"), [
    ("SELECT Id FROM Account WHERE CreatedDate > 2026-01-01",
     "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed "
     "in quotes"),
    ("SELECT Id FROM Account WHERE CreatedDate > '2026-01-01T00:00:00Z'",
     "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed "
     "in quotes"),
    ("SELECT Id FROM User WHERE IsActive = 'true'",
     "value of filter criterion for field 'IsActive' must be of type boolean and should not be enclosed in "
     "quotes"),
    ("SELECT Id FROM Account WHERE Name = 5",
     "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Account WHERE AnnualRevenue > '5'",
     "value of filter criterion for field 'AnnualRevenue' must be of type currency and should not be enclosed "
     "in quotes"),
    ("SELECT Id FROM Account WHERE Name = TODAY",
     "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
])
def test_value_of_the_wrong_type_is_invalid_field(org, soql, message):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD) as e:
        execute(org, soql)
    assert e.value.message.endswith("\n" + message)


# --- deleted rows ----------------------------------------------------------------------------------


def test_deleted_rows_are_hidden_unless_include_deleted(org):  # noqa: F811
    assert UMBRELLA not in id_set(org, "SELECT Id FROM Account")
    assert UMBRELLA in id_set(org, "SELECT Id FROM Account", include_deleted=True)
    assert ids(org, "SELECT Id FROM Account WHERE IsDeleted = true", include_deleted=True) == [UMBRELLA]
    assert execute(org, "SELECT COUNT() FROM Account").total_size == 4
    assert execute(org, "SELECT COUNT() FROM Account", include_deleted=True).total_size == 5


# --- parent relationships ---------------------------------------------------------------------------


def test_parent_fields_nest_under_the_relationship_name(org):  # noqa: F811
    record = execute(org, f"SELECT Name, Owner.Username, owner.email FROM Account WHERE Id = '{GLOBEX}'").records[0]
    assert record["Owner"] == {
        "attributes": {"type": "User", "url": f"/services/data/v62.0/sobjects/User/{BOB}"},
        "Username": "bob@example.com", "Email": "bob@example.com",
    }
    assert list(record) == ["attributes", "Name", "Owner"]


def test_null_parent_is_null(org):  # noqa: F811
    records = execute(org, "SELECT Id, Parent.Name FROM Account ORDER BY Name").records
    by_id = {r["Id"]: r for r in records}
    assert by_id[INITECH]["Parent"]["Name"] == "Acme"
    assert by_id[ACME]["Parent"] is None


def test_multi_level_relationships(org):  # noqa: F811
    record = execute(org, f"SELECT Assignee.Manager.Id, Assignee.Manager.Manager.Username, PermissionSet.Name "
                          f"FROM PermissionSetAssignment WHERE AssigneeId = '{CAROL}'").records[0]
    assert record["Assignee"]["Manager"]["Id"] == BOB
    assert record["Assignee"]["Manager"]["Manager"]["Username"] == "alice@example.com"
    assert record["Assignee"]["attributes"]["type"] == "User"
    assert record["PermissionSet"]["Name"] == "Sales_Extra"


def test_filter_and_order_on_parent_fields(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = false "
                    "AND Assignee.IsActive = true") == [make_id("0Pa", 3)]
    assert ids(org, "SELECT Id FROM User WHERE Manager.Username = 'BOB@example.com' ORDER BY Alias") == [
        CAROL, DAVE]
    assert ids(org, "SELECT Id FROM Account ORDER BY Owner.Alias DESC, Name") == [GLOBEX, INITECH, ACME, OREILLY]


def test_polymorphic_owner_is_user_or_queue_by_id(org):  # noqa: F811
    records = {r["Id"]: r for r in execute(org, "SELECT Id, Owner.Name, Owner.Username FROM Case").records}
    user_owner = records[CASE_ALICE]["Owner"]
    assert user_owner["attributes"] == {"type": "User", "url": f"/services/data/v62.0/sobjects/User/{ALICE}"}
    assert user_owner["Name"] == "Alice Smith" and user_owner["Username"] == "alice@example.com"
    queue_owner = records[CASE_QUEUE]["Owner"]
    assert queue_owner["attributes"]["type"] == "Group"
    assert queue_owner["Name"] == "Support Queue" and queue_owner["Username"] is None


def test_polymorphic_filter_and_type_field(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Case WHERE Owner.Type = 'Queue'") == [CASE_QUEUE]
    assert id_set(org, "SELECT Id FROM Case WHERE Owner.IsActive = true") == {CASE_ALICE}
    # a queue has no IsActive, and on a boolean field null matches false
    assert id_set(org, "SELECT Id FROM Case WHERE Owner.IsActive = false") == {CASE_CAROL, CASE_QUEUE}
    assert id_set(org, "SELECT Id FROM Case WHERE Owner.IsActive = false AND Owner.Type = 'User'") == {CASE_CAROL}
    members = execute(org, "SELECT UserOrGroup.Name, Group.Name FROM GroupMember ORDER BY Id").records
    assert [(m["UserOrGroup"]["attributes"]["type"], m["UserOrGroup"]["Name"]) for m in members] == [
        ("User", "Alice Smith"), ("Group", "Support Queue"), ("User", "Bob Jones")]


def test_what_and_who_relationships(org):  # noqa: F811
    records = {r["Id"]: r for r in execute(org, "SELECT Id, What.Name, Who.Name, What.Id FROM Task").records}
    assert records[TASK_ACCOUNT]["What"]["attributes"]["type"] == "Account"
    assert records[TASK_ACCOUNT]["What"]["Name"] == "Acme"
    assert records[TASK_ACCOUNT]["Who"]["attributes"]["type"] == "Contact"
    assert records[TASK_ACCOUNT]["Who"]["Name"] == "Jane Doe"
    assert records[TASK_CASE]["What"] == {
        "attributes": {"type": "Case", "url": f"/services/data/v62.0/sobjects/Case/{CASE_QUEUE}"},
        "Name": "00001002", "Id": CASE_QUEUE,  # the Name object's Name of a case is its CaseNumber
    }
    assert records[TASK_CASE]["Who"]["attributes"]["type"] == "Lead"
    assert records[TASK_NONE]["What"] is None and records[TASK_NONE]["Who"] is None


def test_object_name_may_qualify_a_field(org):  # noqa: F811
    assert ids(org, "SELECT Account.Id FROM Account WHERE Account.Name = 'Acme'") == [ACME]


# --- semi-joins and anti-joins -----------------------------------------------------------------------


def test_semi_join(org):  # noqa: F811
    soql = ("SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
            "WHERE PermissionSet.IsOwnedByProfile = false)")
    assert id_set(org, soql) == {BOB, CAROL}


def test_anti_join(org):  # noqa: F811
    soql = "SELECT Id FROM User WHERE Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment)"
    assert id_set(org, soql) == {DAVE}


def test_semi_join_on_reference_field_and_combined(org):  # noqa: F811
    soql = ("SELECT Id FROM Account WHERE OwnerId IN (SELECT Id FROM User WHERE Department = 'Sales') "
            "AND Name != 'Acme'")
    assert id_set(org, soql) == {GLOBEX, INITECH, OREILLY}


def test_semi_join_hides_deleted_rows_of_the_subquery(org):  # noqa: F811
    soql = "SELECT Id FROM User WHERE Id IN (SELECT OwnerId FROM Account)"
    assert id_set(org, soql) == {ALICE, BOB}
    assert id_set(org, soql, include_deleted=True) == {ALICE, BOB, CAROL}


def test_semi_join_must_select_an_id_field(org):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT Id FROM User WHERE Id IN (SELECT Name FROM Account)")
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT Id FROM User WHERE Alias IN (SELECT OwnerId FROM Account)")


# --- ordering and paging -------------------------------------------------------------------------------


def test_order_by_several_fields_and_directions(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM User ORDER BY Department DESC, Alias ASC") == [CAROL, ALICE, BOB, DAVE]
    assert ids(org, "SELECT Id FROM User ORDER BY Department DESC NULLS FIRST, Alias") == [DAVE, CAROL, ALICE, BOB]


def test_order_by_nulls_first_by_default_and_last_on_request(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Account ORDER BY Industry")[0] == INITECH
    assert ids(org, "SELECT Id FROM Account ORDER BY Industry NULLS LAST")[-1] == INITECH


def test_order_by_strings_ignores_case(org):  # noqa: F811
    names = [r["Industry"] for r in execute(org, "SELECT Industry FROM Account WHERE Industry != null "
                                                 "ORDER BY Industry, Name").records]
    assert [n.lower() for n in names] == ["energy", "tech", "tech"]


def test_limit_and_offset(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Account ORDER BY Name LIMIT 2") == [ACME, GLOBEX]
    assert ids(org, "SELECT Id FROM Account ORDER BY Name LIMIT 2 OFFSET 1") == [GLOBEX, INITECH]
    assert ids(org, "SELECT Id FROM Account ORDER BY Name OFFSET 3") == [OREILLY]
    assert execute(org, "SELECT Id FROM Account LIMIT 0").total_size == 0


# --- errors ----------------------------------------------------------------------------------------


def test_unknown_field_message_matches_salesforce(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD) as e:
        execute(org, "SELECT Bacon__c FROM Account LIMIT 2")
    assert e.value.message == (
        "\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Bacon__c' on entity 'Account'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )


def test_unknown_object_message_matches_salesforce(org):  # noqa: F811
    with pytest.raises(errors.INVALID_TYPE) as e:
        execute(org, "SELECT Id FROM Foo")
    assert e.value.message == (
        "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append "
        "the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate "
        "names."
    )


def test_unknown_relationship_message(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD) as e:
        execute(org, "SELECT Id, Foo.Name FROM Account")
    assert e.value.message.startswith("\nSELECT Id, Foo.Name FROM Account\n           ^\nERROR at Row:1:Column:12\n")
    assert "Didn't understand relationship 'Foo' in field path." in e.value.message


def test_unknown_field_on_a_parent_names_the_parent(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD) as e:
        execute(org, "SELECT Owner.Bogus FROM Account")
    assert "No such column 'Bogus' on entity 'User'." in e.value.message
    with pytest.raises(errors.INVALID_FIELD) as e:
        execute(org, "SELECT Owner.Bogus FROM Case")
    assert "No such column 'Bogus' on entity 'Name'." in e.value.message


def test_unknown_field_in_where_and_order_by(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD) as e:
        execute(org, "SELECT Id FROM Account WHERE Bogus = 1")
    assert "ERROR at Row:1:Column:30" in e.value.message
    with pytest.raises(errors.INVALID_FIELD):
        execute(org, "SELECT Id FROM Account ORDER BY Bogus")


def test_relationship_name_alone_is_not_a_field(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD):
        execute(org, "SELECT Owner FROM Account")


def test_duplicate_field_is_malformed(org):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        execute(org, "SELECT Id, Name, name FROM Account")
    assert e.value.message.endswith("duplicate field selected: name")


def test_alias_outside_aggregate_query_is_malformed(org):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, "SELECT Name n FROM Account")


def test_not_treats_comparisons_with_null_as_false(org):  # noqa: F811
    assert id_set(org, "SELECT Id FROM Account WHERE NOT (Industry = 'Tech')") == {GLOBEX, INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE NOT Industry IN ('Tech', 'Energy')") == {INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE NOT (AnnualRevenue > 100)") == {OREILLY, INITECH}
    assert id_set(org, "SELECT Id FROM Account WHERE NOT (NOT (Industry = 'Energy'))") == {GLOBEX}


def test_type_of_a_polymorphic_parent_is_the_record_type(org):  # noqa: F811
    records = {r["Id"]: r for r in execute(org, "SELECT Id, Owner.Type FROM Case").records}
    assert records[CASE_ALICE]["Owner"]["Type"] == "User"
    assert records[CASE_QUEUE]["Owner"]["Type"] == "Queue"
    assert id_set(org, "SELECT Id FROM Task WHERE What.Type = 'Account'") == {TASK_ACCOUNT}
    assert id_set(org, "SELECT Id FROM Case WHERE Owner.Type = 'User'") == {CASE_ALICE, CASE_CAROL}


def test_custom_relationships_use_their_r_name(org):  # noqa: F811
    from test_soql_data import insert

    insert(org, "Project__c", Id=make_id("a01", 1), Name="Apollo", OwnerId=QUEUE, Account__c=ACME, Status__c="Open")
    insert(org, "User", Id=make_id("005", 9), Username="erin@example.com", LastName="Erin", Alias="erin",
           IsActive=1, Backup_Approver__c=ALICE)
    record = execute(org, "SELECT Name, Account__r.Name, Owner.Name FROM Project__c "
                          "WHERE Account__r.Industry = 'tech'").records[0]
    assert record["Account__r"]["Name"] == "Acme" and record["Owner"]["Name"] == "Support Queue"
    assert ids(org, "SELECT Id FROM User WHERE Backup_Approver__r.Username = 'alice@example.com'") == [
        make_id("005", 9)]
    with pytest.raises(errors.INVALID_FIELD):
        execute(org, "SELECT Account__c.Name FROM Project__c")


def test_boolean_null_matches_false(org):  # noqa: F811
    org.execute("UPDATE \"User\" SET IsActive = NULL WHERE Id = ?", (CAROL,))
    assert id_set(org, "SELECT Id FROM User WHERE IsActive = null") == {CAROL}
    assert id_set(org, "SELECT Id FROM User WHERE IsActive = false") == {CAROL}
    assert id_set(org, "SELECT Id FROM User WHERE IsActive != null") == {ALICE, BOB, DAVE}
    assert id_set(org, "SELECT Id FROM User WHERE IsActive != true") == {CAROL}


def test_anti_join_on_a_reference_leaves_out_nulls(org):  # noqa: F811
    assert id_set(org, f"SELECT Id FROM User WHERE ManagerId NOT IN (SELECT Id FROM User WHERE Id = '{BOB}')") == {
        BOB}


def test_thousands_of_or_terms_stay_within_sqlite_limits(org):  # noqa: F811
    terms = [f"Id = '{make_id('001', n)}'" for n in range(6, 2500)] + [f"Id = '{GLOBEX}'", "Name = 'Acme'"]
    assert id_set(org, "SELECT Id FROM Account WHERE " + " OR ".join(terms)) == {GLOBEX, ACME}
    ands = " AND ".join(["Name != 'x'"] * 1500)
    assert len(ids(org, f"SELECT Id FROM Account WHERE {ands}")) == 4


def test_relationship_depth_and_breadth_are_limited(org):  # noqa: F811
    five = "Assignee.Manager.Manager.Manager.Manager.Username"
    assert execute(org, f"SELECT {five} FROM PermissionSetAssignment").total_size == 4
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        execute(org, "SELECT Assignee.Manager.Manager.Manager.Manager.Manager.Username FROM PermissionSetAssignment")
    assert "more than 5 levels of relationships" in e.value.message
    paths = [f"{rel}.{hop}{'.Manager' * k}.Name" for rel in ("What", "Who")
             for hop in ("Owner", "CreatedBy", "LastModifiedBy") for k in range(4)]
    # Who (Contact or Lead) paths only: What now lists every Task.WhatId target of the Object Reference
    assert execute(org, f"SELECT {', '.join(paths[12:])} FROM Task").total_size == 3
    with pytest.raises(errors.MALFORMED_QUERY) as e:  # 81 joins: more than SQLite takes
        execute(org, f"SELECT {', '.join(paths)} FROM Task")
    assert "too many relationships" in e.value.message


@pytest.mark.parametrize("soql", [
    "SELECT Id FROM Account LIMIT 99999999999999999999999",
    "SELECT Id FROM Account WHERE CreatedDate > 2026-13-45T00:00:00Z",
    "SELECT Id FROM Task WHERE ActivityDate > 2026-02-30",
    "SELECT Id FROM Account WHERE Name = '\\uD800'",
    "SELECT Id FROM Account WHERE Name = '\ud800'",
])
def test_out_of_range_values_are_malformed(org, soql):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY):
        execute(org, soql)


def test_extreme_numbers_and_ranges_still_answer(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Account WHERE AnnualRevenue > 99999999999999999999999") == []
    assert len(ids(org, "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:2147483647")) == 4
    assert ids(org, r"SELECT Id FROM Account WHERE Name = '\uD83D\uDE00'") == []  # a surrogate pair is one character


def test_group_is_an_object_name_as_well_as_a_clause(org):  # noqa: F811
    assert ids(org, "SELECT Id FROM Group WHERE Type = 'Queue'") == [QUEUE]
    assert id_set(org, "SELECT Id FROM Group") == {QUEUE, SALES_GROUP}
    records = execute(org, "SELECT Type, COUNT(Id) FROM Group GROUP BY Type ORDER BY Type").records
    assert [(r["Type"], r["expr0"]) for r in records] == [("Queue", 1), ("Regular", 1)]
    assert id_set(org, "SELECT Id FROM User WHERE Id IN (SELECT UserOrGroupId FROM GroupMember "
                       "WHERE GroupId IN ('" + QUEUE + "'))") == {BOB}
    assert ids(org, "SELECT Id FROM GroupMember WHERE UserOrGroupId IN (SELECT Id FROM Group WHERE Type = 'Queue')"
               ) == [make_id("011", 2)]


def test_objects_that_cannot_be_queried_are_invalid_type(org, monkeypatch):  # noqa: F811
    import dataclasses

    from deprovision.localorg import schema

    hidden = dataclasses.replace(schema.get_object("AuthSession"), queryable=False)
    real_lookup = schema.get_object
    monkeypatch.setattr(schema, "get_object", lambda name: hidden if name.lower() == "authsession" else
                        real_lookup(name))
    with pytest.raises(errors.INVALID_TYPE) as e:
        execute(org, "SELECT Id FROM AuthSession")
    assert e.value.message.endswith("ERROR at Row:1:Column:16\nentity type AuthSession does not support query")
