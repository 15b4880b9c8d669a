"""SQLite tables of the local org, derived from ``schema.OBJECTS``.

Storage convention (docs/architecture.md): one table per object named exactly
as the object, one column per field; booleans as INTEGER 0/1, datetimes as
TEXT ``YYYY-MM-DDTHH:MM:SS.000+0000`` (UTC), dates as TEXT ``YYYY-MM-DD``,
int as INTEGER, double/currency as REAL, everything else TEXT.
"""

from __future__ import annotations

import sqlite3

from deprovision.localorg import schema

# Objects whose Id is always reported as null; their rows are keyed by a hidden column.
HIDDEN_KEY_OBJECTS = frozenset({"OauthToken"})
HIDDEN_KEY = "_rowid"

# String-like columns that get a case-insensitive index (SOQL string equality ignores case).
_NOCASE_INDEXED = ("Username", "Email", "FederationIdentifier")

_SQL_TYPES = {
    schema.BOOLEAN: "INTEGER",
    schema.INT: "INTEGER",
    schema.DOUBLE: "REAL",
    schema.CURRENCY: "REAL",
    schema.PERCENT: "REAL",
    schema.LONG: "INTEGER",
}


def sql_type(field: schema.FieldSpec) -> str:
    """The SQLite storage type of ``field``."""
    return _SQL_TYPES.get(field.type, "TEXT")


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _default_clause(field: schema.FieldSpec) -> str:
    value = field.default
    if value is None:
        return ""
    if isinstance(value, bool):
        return f" DEFAULT {int(value)}"
    if isinstance(value, int | float):
        return f" DEFAULT {value!r}"
    return " DEFAULT '" + str(value).replace("'", "''") + "'"


def _column_sql(obj: schema.ObjectSpec, field: schema.FieldSpec) -> str:
    if field.name == "Id":
        if obj.name in HIDDEN_KEY_OBJECTS:
            return f"{quote(HIDDEN_KEY)} INTEGER PRIMARY KEY, {quote('Id')} TEXT"
        return f"{quote('Id')} TEXT PRIMARY KEY"
    not_null = " NOT NULL" if field.name == "IsDeleted" else ""
    return f"{quote(field.name)} {sql_type(field)}{not_null}{_default_clause(field)}"


def table_ddl(obj: schema.ObjectSpec) -> list[str]:
    """The CREATE TABLE and CREATE INDEX statements of ``obj``."""
    table = quote(obj.name)
    columns = ", ".join(_column_sql(obj, f) for f in obj.fields)
    statements = [f"CREATE TABLE IF NOT EXISTS {table} ({columns})"]
    for f in obj.fields:
        index = quote(f"ix_{obj.name}_{f.name}")
        if f.is_reference and not (f.name == "OwnerId" and obj.has_owner):
            statements.append(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(f.name)})")
        elif f.name in _NOCASE_INDEXED:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(f.name)} COLLATE NOCASE)"
            )
    if obj.has_owner:
        index = quote(f"ix_{obj.name}_OwnerId_Id")
        statements.append(f"CREATE INDEX IF NOT EXISTS {index} ON {table} (OwnerId, Id)")
    return statements


def create_tables(conn: sqlite3.Connection, objects: tuple[schema.ObjectSpec, ...] = schema.OBJECTS) -> None:
    """Create every object's table and indexes (idempotent)."""
    with conn:
        for obj in objects:
            for statement in table_ddl(obj):
                conn.execute(statement)
