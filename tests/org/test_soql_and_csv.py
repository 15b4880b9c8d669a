"""Values entering SOQL, IN-list chunking, Bulk CSV writing, setup/data separation."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from deprovision.org.bulk import parse_csv, write_csv
from deprovision.org.objects import is_setup_object, refuse_mixed
from deprovision.org.soql import chunked_in, soql_in, soql_literal


@pytest.mark.parametrize("value, literal", [
    ("x' OR Name != '", r"'x\' OR Name != \''"),
    ("back\\slash", r"'back\\slash'"),
    ('dq"', r"'dq\"'"),
    ("line\nbreak", r"'line\nbreak'"),
    (None, "null"),
    (True, "true"),
    (3, "3"),
    (date(2026, 11, 26), "2026-11-26"),
    (datetime(2026, 11, 26, 9, 30, tzinfo=UTC), "2026-11-26T09:30:00Z"),
])
def test_soql_literal_escapes_with_backslashes(value: object, literal: str) -> None:
    assert soql_literal(value) == literal


def test_like_literal_escapes_wildcards() -> None:
    assert soql_literal("50%_off", like=True) == r"'50\%\_off'"


def test_chunked_in_keeps_every_chunk_under_the_limit_and_every_value_once() -> None:
    ids = [f"005{n:012d}AAA" for n in range(1000)] + ["005000000000001AAA"]
    chunks = list(chunked_in(ids, max_chars=500))
    assert len(chunks) > 1
    assert all(len(c) <= 500 for c in chunks)
    seen = [v.strip("'") for c in chunks for v in c.strip("()").split(",")]
    assert seen == list(dict.fromkeys(ids))


def test_soql_in_renders_a_list() -> None:
    assert soql_in(["a", "b'c"]) == r"('a','b\'c')"


def test_bulk_csv_has_the_given_column_order_and_quotes_when_needed() -> None:
    out = io.StringIO()
    n = write_csv(out, ["Id", "OwnerId", "Description"],
                  [["001A", "005B", 'say "hi", then\nleave'], ["001C", None, True]])
    assert n == 2
    assert out.getvalue() == 'Id,OwnerId,Description\n001A,005B,"say ""hi"", then\nleave"\n001C,,true\n'
    assert parse_csv(out.getvalue())[0]["Description"] == 'say "hi", then\nleave'


def test_bulk_csv_refuses_ragged_rows() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 values for 2 columns"):
        write_csv(io.StringIO(), ["Id", "OwnerId"], [["001A"]])


def test_setup_and_data_objects_are_told_apart() -> None:
    assert is_setup_object("User") and is_setup_object("permissionsetassignment")
    assert not is_setup_object("Account") and not is_setup_object("Invoice__c")
    refuse_mixed(["User", "GroupMember"], "x")
    refuse_mixed(["Account", "Case"], "x")
    with pytest.raises(ValueError, match=r"setup objects \(User\) and data objects \(Account\)"):
        refuse_mixed(["User", "Account"], "collection_update")
