"""The local org's SOQL engine: SOQL text to SQLite SQL, rows to REST-shaped records.

```python
parse(soql) -> Query
execute(conn, soql, *, include_deleted=False, api_version="62.0") -> QueryResult   # .records, .total_size
iter_execute(conn, soql, *, include_deleted=False, api_version="62.0") -> (total_size, Iterator[dict])
column_metadata(soql) -> dict                                                       # query?columns=true
```
Every value of a query becomes an SQL parameter; SQLite does the filtering, joining and grouping.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from deprovision.localorg.soql.ast import Query
from deprovision.localorg.soql.compiler import CompiledQuery, compile_query
from deprovision.localorg.soql.metadata import column_metadata
from deprovision.localorg.soql.parser import parse
from deprovision.localorg.soql.tables import create_tables
from deprovision.localorg.visibility import Viewer

__all__ = [
    "Query", "QueryResult", "column_metadata", "compile_soql", "create_tables", "execute", "iter_execute",
    "parse",
]

FETCH_SIZE = 1000


@dataclass
class QueryResult:
    """Records in REST shape and Salesforce's ``totalSize`` (for ``COUNT()`` the count, records empty)."""

    records: list[dict] = field(default_factory=list)
    total_size: int = 0


def compile_soql(soql: str, *, include_deleted: bool = False, api_version: str = "62.0",
                 viewer: Viewer | None = None) -> CompiledQuery:
    """Parse and translate ``soql``; raises MALFORMED_QUERY / INVALID_TYPE / INVALID_FIELD."""
    return compile_query(parse(soql), include_deleted=include_deleted, api_version=api_version, viewer=viewer)


def _count(conn: sqlite3.Connection, compiled: CompiledQuery) -> int:
    n = conn.execute(compiled.count_sql, compiled.count_params).fetchone()[0]
    return compiled.total_from_count(n)


def execute(conn: sqlite3.Connection, soql: str, *, include_deleted: bool = False,
            api_version: str = "62.0", viewer: Viewer | None = None) -> QueryResult:
    """Run ``soql`` and return every record (use ``iter_execute`` for large results). ``viewer`` is the running
    user (None: the system, which sees every row)."""
    compiled = compile_soql(soql, include_deleted=include_deleted, api_version=api_version, viewer=viewer)
    if compiled.count_only:
        return QueryResult([], _count(conn, compiled))
    rows = conn.execute(compiled.sql, compiled.params).fetchall()
    records = [compiled.record(conn, row) for row in rows]
    return QueryResult(records, len(records))


def _stream(cursor: sqlite3.Cursor, compiled: CompiledQuery, conn: sqlite3.Connection) -> Iterator[dict]:
    shape = compiled.shape
    if compiled.children:
        def shape(row: object) -> dict:
            return compiled.record(conn, row)  # type: ignore[arg-type]
    try:
        while rows := cursor.fetchmany(FETCH_SIZE):
            for row in rows:
                yield shape(row)
    finally:
        cursor.close()


def iter_execute(conn: sqlite3.Connection, soql: str, *, include_deleted: bool = False,
                 api_version: str = "62.0", viewer: Viewer | None = None) -> tuple[int, Iterator[dict]]:
    """``totalSize`` first, then the records streamed from a SQLite cursor (memory stays flat)."""
    compiled = compile_soql(soql, include_deleted=include_deleted, api_version=api_version, viewer=viewer)
    if compiled.count_only:
        return _count(conn, compiled), iter(())
    if compiled.aggregate:
        records = [compiled.shape(row) for row in conn.execute(compiled.sql, compiled.params)]
        return len(records), iter(records)
    total = _count(conn, compiled)
    cursor = conn.execute(compiled.sql, compiled.params)
    return total, _stream(cursor, compiled, conn)
