"""SOQL parsing: grammar, string escapes as Salesforce defines them, error messages with Row/Column."""

from __future__ import annotations

import pytest
from test_soql_data import HOSTILE_NAME, OREILLY, org  # noqa: F401

from deprovision.localorg import errors
from deprovision.localorg.soql import ast, execute, parse
from deprovision.org.soql import soql_literal


def where_value(soql: str) -> object:
    cond = parse(soql).where
    assert isinstance(cond, ast.Comparison)
    assert isinstance(cond.value, ast.Literal)
    return cond.value.value


# --- grammar -----------------------------------------------------------------------------------


def test_parse_select_list_object_and_clauses():
    q = parse("select Id, Owner.Username from Account where Name = 'x' order by Name desc nulls last, Id "
              "limit 10 offset 5")
    assert [s.expr.text for s in q.select] == ["Id", "Owner.Username"]
    assert q.object_name == "Account"
    assert isinstance(q.where, ast.Comparison) and q.where.op == "="
    assert [(o.expr.text, o.descending, o.nulls_last) for o in q.order_by] == [("Name", True, True),
                                                                                ("Id", False, None)]
    assert (q.limit, q.offset) == (10, 5)


def test_parse_nested_boolean_conditions_and_not():
    q = parse("SELECT Id FROM User WHERE (IsActive = true OR Department = 'Sales') AND NOT Alias = 'x'")
    assert isinstance(q.where, ast.BoolOp) and q.where.op == "AND"
    first, second = q.where.items
    assert isinstance(first, ast.BoolOp) and first.op == "OR"
    assert isinstance(second, ast.Not)


def test_parse_semi_join_and_anti_join():
    q = parse("SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
              "WHERE PermissionSet.IsOwnedByProfile = false) AND ManagerId NOT IN (SELECT Id FROM User)")
    semi, anti = q.where.items
    assert isinstance(semi, ast.SemiJoin) and not semi.negated
    assert semi.query.object_name == "PermissionSetAssignment"
    assert isinstance(anti, ast.SemiJoin) and anti.negated


def test_parse_in_list_values_of_every_kind():
    q = parse("SELECT Id FROM Account WHERE Name IN ('a', 'b') AND AnnualRevenue NOT IN (1, 2.5, -3, null)")
    names, revenue = q.where.items
    assert [v.value for v in names.values] == ["a", "b"]
    assert [v.value for v in revenue.values] == [1, 2.5, -3, None] and revenue.negated


def test_parse_date_literals_and_relative_dates():
    q = parse("SELECT Id FROM Account WHERE CreatedDate > 2026-11-01T00:00:00Z AND CreatedDate < "
              "2026-11-01T08:00:00+02:00 AND CreatedDate = LAST_N_DAYS:30 AND CreatedDate != TODAY")
    kinds = [(type(c.value).__name__, getattr(c.value, "kind", getattr(c.value, "name", None)))
             for c in q.where.items]
    assert kinds == [("Literal", "datetime"), ("Literal", "datetime"), ("DateFunction", "LAST_N_DAYS"),
                     ("DateFunction", "TODAY")]
    assert q.where.items[2].value.n == 30


def test_parse_aggregates_aliases_group_by_having():
    q = parse("SELECT OwnerId, COUNT(Id) n, COUNT_DISTINCT(Industry), MAX(AnnualRevenue) FROM Account "
              "GROUP BY OwnerId HAVING COUNT(Id) > 1")
    assert [(s.expr.text, s.alias) for s in q.select] == [
        ("OwnerId", None), ("COUNT(Id)", "n"), ("COUNT_DISTINCT(Industry)", None), ("MAX(AnnualRevenue)", None)]
    assert q.is_aggregate and not q.is_count_only
    assert parse("SELECT COUNT() FROM Account").is_count_only


def test_for_update_and_security_enforced_are_accepted():
    q = parse("SELECT Id FROM Account WHERE Name = 'x' WITH SECURITY_ENFORCED LIMIT 1 FOR UPDATE")
    assert q.limit == 1


# --- string literals -----------------------------------------------------------------------------


@pytest.mark.parametrize(("literal", "expected"), [
    (r"'a\nb'", "a\nb"),
    (r"'a\Nb'", "a\nb"),
    (r"'tab\there'", "tab\there"),
    (r"'\r\b\f'", "\r\b\f"),
    (r"'back\\slash'", "back\\slash"),
    (r"'it\'s'", "it's"),
    (r"'say \"hi\"'", 'say "hi"'),
    (r"'caf\u00e9'", "café"),
    ("'100% _ok'", "100% _ok"),
])
def test_string_escapes_decode_as_salesforce_defines(literal, expected):
    assert where_value(f"SELECT Id FROM Account WHERE Name = {literal}") == expected


@pytest.mark.parametrize("bad", [r"'\q'", r"'a\x41'", r"'trailing\ '"])
def test_any_other_backslash_is_malformed(bad):
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse(f"SELECT Id FROM Account WHERE Name = {bad}")
    assert "Illegal character sequence" in e.value.message


def test_like_escapes_only_inside_like():
    with pytest.raises(errors.MALFORMED_QUERY):
        parse(r"SELECT Id FROM Account WHERE Name = '100\%'")
    q = parse(r"SELECT Id FROM Account WHERE Name LIKE '100\%\_x%'")
    assert q.where.value.like_pattern == r"100\%\_x%"


def test_double_quoted_literal_is_malformed():
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse('SELECT Id FROM Account WHERE Name = "Acme"')
    assert "ERROR at Row:1:Column:37" in e.value.message


def test_hostile_value_stays_one_literal(org):  # noqa: F811
    soql = r"SELECT Id FROM Account WHERE Name = 'x\' OR Name != \''"
    assert where_value(soql) == "x' OR Name != '"
    assert execute(org, soql).total_size == 0


@pytest.mark.parametrize("value", [
    HOSTILE_NAME, "x' OR Name != '", "a\\", "\\'", "line\nbreak\ttab", "%_%", "' OR 1=1 --", "\"", "é ü ß ☃",
])
def test_every_value_rendered_by_soql_literal_reads_back_unchanged(value):
    assert where_value(f"SELECT Id FROM Account WHERE Name = {soql_literal(value)}") == value


def test_hostile_name_is_found_exactly(org):  # noqa: F811
    result = execute(org, f"SELECT Id, Name FROM Account WHERE Name = {soql_literal(HOSTILE_NAME)}")
    assert [r["Id"] for r in result.records] == [OREILLY]
    assert result.records[0]["Name"] == HOSTILE_NAME


# --- syntax errors, with Salesforce's message layout ----------------------------------------------


def test_unexpected_token_message_points_at_the_token():
    soql = "SELECT Id FROM Account WHERE Name = 'x' Bogus"
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse(soql)
    assert e.value.message == (
        "\nSELECT Id FROM Account WHERE Name = 'x' Bogus\n" + " " * 40 + "^\n"
        "ERROR at Row:1:Column:41\nunexpected token: 'Bogus'"
    )
    assert e.value.status == 400 and e.value.error_code == "MALFORMED_QUERY"


def test_row_and_column_count_lines():
    soql = "SELECT Id\nFROM Account\nWHERE Name = = 'x'"
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse(soql)
    assert e.value.message == "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: '='"


def test_missing_object_reports_eof():
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse("SELECT Id FROM")
    assert e.value.message.endswith("ERROR at Row:1:Column:15\nunexpected token: '<EOF>'")


def test_mixing_and_or_without_parentheses_is_malformed():
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse("SELECT Id FROM User WHERE IsActive = true AND Alias = 'a' OR Alias = 'b'")
    assert e.value.message.endswith("unexpected token: 'OR'")


@pytest.mark.parametrize("soql", [
    "SELECT FIELDS(ALL) FROM Account LIMIT 200",
    "SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account",
    "SELECT TYPEOF What WHEN Account THEN Name FROM Task",
    "SELECT TYPEOF What END FROM Task",
    "SELECT Id FROM Account USING mine",
    "SELECT Id FROM Account WHERE Name INCLUDES ('a')",
    "SELECT Id FROM Account LIMIT 1.5",
    "SELECT Id FROM Account LIMIT -1",
    "SELECT Id, FROM Account",
    "SELECT Id FROM Account WHERE",
    "SELECT Id FROM Account ORDER BY",
    "SELECT Id FROM Account WHERE CreatedDate = THIS_FISCAL_QUARTER",
    "SELECT Id FROM Account WHERE Name = 'x' GROUP",
    "DELETE FROM Account",
    "SELECT Id FROM Account WHERE Id IN (SELECT Id FROM User WHERE Id IN (SELECT UserId FROM UserLogin))",
    "SELECT Id FROM Account HAVING COUNT(Id) > 1",
    "SELECT Id FROM Account; DROP TABLE Account",
])
def test_outside_the_subset_is_malformed_never_ignored(soql):
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse(soql)
    assert "ERROR at Row:1:Column:" in e.value.message


@pytest.mark.parametrize(("literal", "start", "end"), [
    ("TODAY", "2026-03-31", "2026-04-01"),
    ("YESTERDAY", "2026-03-30", "2026-03-31"),
    ("TOMORROW", "2026-04-01", "2026-04-02"),
    ("LAST_N_DAYS:1", "2026-03-30", "2026-04-01"),  # Salesforce: yesterday and today
    ("NEXT_N_DAYS:2", "2026-04-01", "2026-04-03"),  # starting tomorrow
    ("N_DAYS_AGO:3", "2026-03-28", "2026-03-29"),
    ("LAST_90_DAYS", "2025-12-31", "2026-04-01"),
    ("LAST_MONTH", "2026-02-01", "2026-03-01"),
    ("THIS_MONTH", "2026-03-01", "2026-04-01"),
    ("NEXT_MONTH", "2026-04-01", "2026-05-01"),
    ("THIS_YEAR", "2026-01-01", "2027-01-01"),
    ("LAST_YEAR", "2025-01-01", "2026-01-01"),
])
def test_relative_date_literal_ranges(literal, start, end):
    from datetime import date

    from deprovision.localorg.soql.values import date_range

    func = parse(f"SELECT Id FROM Account WHERE CreatedDate = {literal}").where.value
    assert tuple(d.isoformat() for d in date_range(func, date(2026, 3, 31))) == (start, end)


def test_values_become_sql_parameters_never_sql_text():
    from deprovision.localorg.soql import compile_soql

    compiled = compile_soql(r"SELECT Id FROM Account WHERE Name = 'x\' OR Name != \'' AND Industry IN ('a;b', 'c')")
    assert "OR Name" not in compiled.sql and "a;b" not in compiled.sql
    assert compiled.params == ["x' OR Name != '", "a;b", "c"]


@pytest.mark.parametrize("soql", [
    'SELECT Id FROM Account WHERE "Name" = 1',
    "SELECT Id-- FROM Account",
    "SELECT Id FROM Account WHERE Name = 'x' /* comment */",
    "SELECT Id FROM Account`",
])
def test_sql_syntax_in_identifiers_is_malformed(soql):
    with pytest.raises(errors.MALFORMED_QUERY):
        parse(soql)


def test_statements_longer_than_100000_characters_are_refused():
    from deprovision.localorg.ids import make_id
    from deprovision.org.soql import soql_in

    ids = [make_id("001", n) for n in range(5000)]
    soql = f"SELECT Id FROM Account WHERE Id IN {soql_in(ids)}"
    assert len(soql) > 100_000
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse(soql)
    assert e.value.message == "SOQL statements can not be longer than 100000 characters"
    assert len(parse(f"SELECT Id FROM Account WHERE Id IN {soql_in(ids[:4000])}").where.values) == 4000


def test_offset_above_2000_is_out_of_range():
    assert parse("SELECT Id FROM Account ORDER BY Id LIMIT 10 OFFSET 2000").offset == 2000
    with pytest.raises(errors.SalesforceError) as e:
        parse("SELECT Id FROM Account ORDER BY Id LIMIT 10 OFFSET 2001")
    assert e.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert e.value.message == "Maximum SOQL offset allowed is 2000"


def test_unterminated_string_is_malformed():
    with pytest.raises(errors.MALFORMED_QUERY) as e:
        parse("SELECT Id FROM Account WHERE Name = 'abc")
    assert e.value.message.endswith("ERROR at Row:1:Column:41\nline 1:40 mismatched character '<EOF>' expecting '''")


def test_deep_nesting_is_malformed_not_a_crash():
    assert isinstance(parse("SELECT Id FROM Account WHERE " + "(" * 50 + "Name = 'x'" + ")" * 50).where,
                      ast.Comparison)
    for soql in ("SELECT Id FROM Account WHERE " + "(" * 5000 + "Name = 'x'" + ")" * 5000,
                 "SELECT Id FROM Account WHERE " + "NOT " * 5000 + "Name = 'x'"):
        with pytest.raises(errors.MALFORMED_QUERY) as e:
            parse(soql)
        assert "too deeply nested" in e.value.message
