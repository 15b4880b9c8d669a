"""iter_execute: totalSize first, then records streamed from SQLite without materialising them."""

from __future__ import annotations

import itertools
import sqlite3
import tracemalloc

import pytest
from test_soql_data import ALICE, BOB, insert, org  # noqa: F401

from deprovision.localorg import errors
from deprovision.localorg.ids import make_id
from deprovision.localorg.soql import create_tables, execute, iter_execute

ROWS = 20_000


@pytest.fixture(scope="module")
def many_accounts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    create_tables(conn)
    insert(conn, "User", Id=ALICE, Username="alice@example.com", LastName="Smith", Alias="a", IsActive=1)
    insert(conn, "User", Id=BOB, Username="bob@example.com", LastName="Jones", Alias="b", IsActive=1)
    conn.executemany(
        'INSERT INTO "Account" ("Id", "Name", "OwnerId", "IsDeleted") VALUES (?, ?, ?, ?)',
        ((make_id("001", n), f"Account {n:05d}", ALICE if n % 4 else BOB, 1 if n % 100 == 0 else 0)
         for n in range(1, ROWS + 1)),
    )
    conn.commit()
    yield conn
    conn.close()


def test_total_comes_first_and_matches_the_streamed_records(many_accounts):
    total, records = iter_execute(many_accounts, "SELECT Id, Name, Owner.Username FROM Account ORDER BY Name")
    expected = ROWS - ROWS // 100
    assert total == expected
    names = [r["Name"] for r in records]
    assert len(names) == expected
    assert names == sorted(names)


def test_stream_respects_where_limit_and_offset(many_accounts):
    total, records = iter_execute(many_accounts, f"SELECT Id FROM Account WHERE OwnerId = '{BOB}' "
                                                 "AND Name > 'Account 19000' ORDER BY Id LIMIT 300 OFFSET 150")
    got = [r["Id"] for r in records]
    # BOB owns every 4th row and the deleted ones (every 100th): 240 visible after 'Account 19000'
    assert total == 90 == len(got)
    assert got == sorted(got)
    total, records = iter_execute(many_accounts, "SELECT Id FROM Account LIMIT 7")
    assert total == 7 and len(list(records)) == 7


def test_streaming_keeps_memory_flat(many_accounts):
    soql = "SELECT Id, Name, OwnerId, Owner.Username FROM Account"
    tracemalloc.start()
    try:
        result = execute(many_accounts, soql)
        _, materialised_peak = tracemalloc.get_traced_memory()
        del result
        tracemalloc.reset_peak()
        total, records = iter_execute(many_accounts, soql)
        count = sum(1 for _ in records)
        _, streaming_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == total
    assert streaming_peak * 5 < materialised_peak


def test_records_can_be_consumed_in_pages(many_accounts):
    total, records = iter_execute(many_accounts, "SELECT Id FROM Account ORDER BY Id")
    pages = []
    while page := list(itertools.islice(records, 2000)):
        pages.append(page)
    assert [len(p) for p in pages] == [2000] * 9 + [1800]
    assert sum(len(p) for p in pages) == total


def test_errors_surface_when_called_not_when_iterated(org):  # noqa: F811
    with pytest.raises(errors.INVALID_FIELD):
        iter_execute(org, "SELECT Bogus FROM Account")


def test_aggregates_through_iter_execute(many_accounts):
    total, records = iter_execute(many_accounts, "SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId "
                                                 "ORDER BY COUNT(Id) DESC")
    assert total == 2
    assert [(r["OwnerId"], r["expr0"]) for r in records] == [(ALICE, 15000), (BOB, 4800)]
