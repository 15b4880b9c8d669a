"""Aggregate SOQL: COUNT(), COUNT(field), COUNT_DISTINCT, MIN, MAX, SUM, GROUP BY, aliases, HAVING."""

from __future__ import annotations

import pytest
from test_soql_data import ALICE, BOB, HOSTILE_NAME, org  # noqa: F401

from deprovision.localorg import errors
from deprovision.localorg.soql import execute, iter_execute

AGG = {"type": "AggregateResult"}


def test_count_only_returns_total_size_and_no_records(org):  # noqa: F811
    result = execute(org, "SELECT COUNT() FROM Account")
    assert result.total_size == 4 and result.records == []
    assert execute(org, "SELECT COUNT() FROM Account WHERE OwnerId = '" + BOB + "'").total_size == 2
    assert execute(org, "SELECT count() FROM Account LIMIT 3").total_size == 3


def test_count_only_through_iter_execute(org):  # noqa: F811
    total, records = iter_execute(org, "SELECT COUNT() FROM User WHERE IsActive = true")
    assert total == 3 and list(records) == []


def test_count_of_field_without_group_by_is_one_aggregate_result(org):  # noqa: F811
    result = execute(org, "SELECT COUNT(Id) FROM Account")
    assert result.total_size == 1
    assert result.records == [{"attributes": AGG, "expr0": 4}]


def test_unaliased_aggregates_are_named_expr_n_in_order(org):  # noqa: F811
    result = execute(org, "SELECT COUNT(Id), COUNT(Industry), COUNT_DISTINCT(Industry), MIN(AnnualRevenue), "
                          "MAX(AnnualRevenue), SUM(AnnualRevenue) FROM Account")
    assert result.records == [{
        "attributes": AGG, "expr0": 4, "expr1": 3, "expr2": 2, "expr3": 10.0, "expr4": 2000.0, "expr5": 3010.5,
    }]


def test_aliases_replace_expr_names_and_do_not_consume_numbers(org):  # noqa: F811
    record = execute(org, "SELECT COUNT(Id) total, MAX(Name), MIN(Name) first FROM Account").records[0]
    assert record == {"attributes": AGG, "total": 4, "expr0": HOSTILE_NAME, "first": "Acme"}


def test_group_by_owner(org):  # noqa: F811
    result = execute(org, "SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId ORDER BY OwnerId")
    assert result.total_size == 2
    assert result.records == [
        {"attributes": AGG, "OwnerId": ALICE, "expr0": 2},
        {"attributes": AGG, "OwnerId": BOB, "expr0": 2},
    ]


def test_group_by_relationship_field_uses_the_field_name(org):  # noqa: F811
    records = execute(org, "SELECT Owner.Username, COUNT(Id) n FROM Account GROUP BY Owner.Username "
                           "ORDER BY Owner.Username").records
    assert records == [
        {"attributes": AGG, "Username": "alice@example.com", "n": 2},
        {"attributes": AGG, "Username": "bob@example.com", "n": 2},
    ]


def test_group_by_alias_on_grouped_field(org):  # noqa: F811
    records = execute(org, "SELECT Department dept, COUNT(Id) FROM User GROUP BY Department "
                           "ORDER BY Department NULLS LAST").records
    assert [(r["dept"], r["expr0"]) for r in records] == [("Sales", 2), ("Support", 1), (None, 1)]


def test_group_by_boolean_converts_to_json_boolean(org):  # noqa: F811
    records = execute(org, "SELECT IsActive, COUNT(Id) FROM User GROUP BY IsActive ORDER BY IsActive").records
    assert [(r["IsActive"], r["expr0"]) for r in records] == [(False, 1), (True, 3)]


def test_having_filters_groups(org):  # noqa: F811
    records = execute(org, "SELECT ManagerId, COUNT(Id) FROM User GROUP BY ManagerId HAVING COUNT(Id) > 1").records
    assert records == [{"attributes": AGG, "ManagerId": BOB, "expr0": 2}]


def test_order_by_aggregate(org):  # noqa: F811
    records = execute(org, "SELECT Industry, SUM(AnnualRevenue) FROM Account WHERE Industry != null "
                           "GROUP BY Industry ORDER BY SUM(AnnualRevenue) DESC").records
    assert [(r["Industry"].lower(), r["expr0"]) for r in records] == [("energy", 2000.0), ("tech", 1010.5)]


def test_string_grouping_ignores_case(org):  # noqa: F811
    records = execute(org, "SELECT Industry, COUNT(Id) FROM Account WHERE Industry = 'TECH' "
                           "GROUP BY Industry").records
    assert len(records) == 1 and records[0]["expr0"] == 2


def test_count_distinct_on_polymorphic_owner(org):  # noqa: F811
    assert execute(org, "SELECT COUNT_DISTINCT(OwnerId) FROM Case").records[0]["expr0"] == 3


def test_deleted_rows_do_not_count(org):  # noqa: F811
    assert execute(org, "SELECT COUNT(Id) FROM Account").records[0]["expr0"] == 4
    assert execute(org, "SELECT COUNT(Id) FROM Account", include_deleted=True).records[0]["expr0"] == 5


@pytest.mark.parametrize(("soql", "message"), [
    ("SELECT Name, COUNT(Id) FROM Account", "Field must be grouped or aggregated: Name"),
    ("SELECT Name, COUNT(Id) FROM Account GROUP BY OwnerId", "Field must be grouped or aggregated: Name"),
    ("SELECT Id, COUNT() FROM Account", "COUNT() must be the only element in the SELECT list"),
    ("SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId HAVING Name = 'x'",
     "Field must be grouped or aggregated: Name"),
    ("SELECT SUM(Name) FROM Account", "field Name does not support aggregate operator SUM"),
    ("SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId ORDER BY Name",
     "Ordered field must be grouped or aggregated: Name"),
])
def test_invalid_aggregate_queries_are_malformed(org, soql, message):  # noqa: F811
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        execute(org, soql)
    assert e.value.message.endswith("\n" + message)


def test_unknown_field_inside_aggregate_is_invalid_field(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD):
        execute(org, "SELECT COUNT(Bogus) FROM Account")


def test_having_may_filter_on_grouped_fields(org):  # noqa: F811
    records = execute(org, f"SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId HAVING OwnerId = '{BOB}'").records
    assert records == [{"attributes": AGG, "OwnerId": BOB, "expr0": 2}]


def test_having_compares_min_and_max_with_values_of_the_field(org):  # noqa: F811
    records = execute(org, "SELECT OwnerId, MAX(CreatedDate) FROM Account GROUP BY OwnerId "
                           "HAVING MAX(CreatedDate) > 2000-01-01T00:00:00Z AND COUNT(Id) >= 2 ORDER BY OwnerId").records
    assert [r["OwnerId"] for r in records] == [ALICE, BOB]
    with pytest.raises(errors.INVALID_FIELD):
        execute(org, "SELECT OwnerId FROM Account GROUP BY OwnerId HAVING COUNT(Id) > '1'")
