"""The SOQL engine over the wire: simple-salesforce against a served demo org sees what the engine answers."""

from __future__ import annotations

import pytest
from localorg_support import connect
from simple_salesforce.exceptions import SalesforceMalformedRequest

from deprovision.localorg.soql import execute
from deprovision.org.soql import soql_literal

QUERIES = [
    "SELECT Id, Name, Owner.Username, Owner.Manager.Name FROM Account ORDER BY Id LIMIT 300",
    "SELECT Id, Subject, Owner.Name, Owner.Type FROM Case ORDER BY Id LIMIT 300",
    "SELECT Id, What.Name, What.Type, Who.Name FROM Task WHERE WhatId != null ORDER BY Id LIMIT 200",
    "SELECT Id, Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
    "WHERE PermissionSet.IsOwnedByProfile = false) ORDER BY Username",
    "SELECT Id FROM User WHERE Id NOT IN (SELECT UserOrGroupId FROM GroupMember) ORDER BY Id",
    "SELECT OwnerId, COUNT(Id), MAX(SystemModstamp) FROM Opportunity GROUP BY OwnerId ORDER BY OwnerId",
    "SELECT Owner.Username, COUNT(Id) n FROM Case WHERE IsClosed = false GROUP BY Owner.Username "
    "ORDER BY COUNT(Id) DESC, Owner.Username",
    "SELECT IsActive, COUNT(Id) FROM User GROUP BY IsActive ORDER BY IsActive",
    "SELECT UserOrGroup.Name, Group.Type FROM GroupMember WHERE Group.Type = 'Queue' ORDER BY Id",
]


def engine_answer(server, soql: str) -> tuple[int, list[dict]]:
    store = server.store
    with store.lock:
        result = execute(store.conn, soql)
    return result.total_size, result.records


@pytest.mark.parametrize("soql", QUERIES)
def test_rest_answer_equals_the_engine_answer(served_org, soql):
    sf = connect(served_org)
    answer = sf.query_all(soql)
    total, records = engine_answer(served_org, soql)
    assert answer["totalSize"] == total == len(answer["records"])
    assert answer["records"] == records


def test_the_demo_org_exercises_the_queries(served_org):
    """The comparison above means something only if the demo org has rows for it."""
    sf = connect(served_org)
    assert sf.query_all(QUERIES[1])["totalSize"] > 0
    owners = {r["Owner"]["attributes"]["type"] for r in sf.query_all(
        "SELECT Owner.Name FROM Case ORDER BY Id")["records"] if r["Owner"]}
    assert "User" in owners
    assert sf.query_all(QUERIES[5])["records"][0]["attributes"] == {"type": "AggregateResult"}


def test_count_only_over_rest(served_org):
    sf = connect(served_org)
    answer = sf.query("SELECT COUNT() FROM User")
    assert answer["records"] == [] and answer["totalSize"] == engine_answer(served_org, "SELECT COUNT() FROM User")[0]
    assert answer["totalSize"] > 0


def test_case_insensitive_username_and_hostile_literal_over_rest(served_org):
    sf = connect(served_org)
    username = sf.query("SELECT Username FROM User ORDER BY Username LIMIT 1")["records"][0]["Username"]
    found = sf.query(f"SELECT Username FROM User WHERE Username = {soql_literal(username.upper())}")
    assert [r["Username"] for r in found["records"]] == [username]
    hostile = sf.query(f"SELECT Id FROM User WHERE Username = {soql_literal(username + chr(39) + ' OR Id != null')}")
    assert hostile["totalSize"] == 0


@pytest.mark.parametrize(("soql", "code", "tail"), [
    ("SELECT Bacon__c FROM Account LIMIT 2", "INVALID_FIELD",
     "\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\nNo such column 'Bacon__c' on entity "
     "'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field "
     "name. Please reference your WSDL or the describe call for the appropriate names."),
    ("SELECT Id FROM Foo", "INVALID_TYPE",
     "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. If you are "
     "attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your "
     "WSDL or the describe call for the appropriate names."),
    ("SELECT Id FROM Account WHERE Name = \"x\"", "MALFORMED_QUERY", "no viable alternative at character '\"'"),
])
def test_errors_arrive_as_salesforce_error_bodies(served_org, soql, code, tail):
    sf = connect(served_org)
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.query(soql)
    assert e.value.status == 400
    assert e.value.content[0]["errorCode"] == code
    assert e.value.content[0]["message"].endswith(tail)
