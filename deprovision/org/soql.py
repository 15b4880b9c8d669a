"""The only way a value enters a SOQL string."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}

# SOQL caps a WHERE clause at 4,000 characters; the whole statement at 100,000.
MAX_IN_CLAUSE_CHARS = 3500


def soql_literal(value: object, *, like: bool = False) -> str:
    """Render ``value`` as a SOQL literal, escaping strings with backslashes as Salesforce defines."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    out = "".join(_ESCAPES.get(ch, ch) for ch in text)
    if like:
        out = out.replace("%", "\\%").replace("_", "\\_")
    return f"'{out}'"


def soql_in(values: Iterable[object]) -> str:
    """Render ``values`` as a parenthesised SOQL list: ``('a','b')``."""
    return "(" + ",".join(soql_literal(v) for v in values) + ")"


def chunked_in(values: Iterable[object], max_chars: int = MAX_IN_CLAUSE_CHARS) -> Iterator[str]:
    """Split ``values`` into SOQL lists each shorter than ``max_chars`` characters."""
    chunk: list[str] = []
    size = 2
    for v in dict.fromkeys(values):  # keep order, drop duplicates
        lit = soql_literal(v)
        if chunk and size + len(lit) + 1 > max_chars:
            yield "(" + ",".join(chunk) + ")"
            chunk, size = [], 2
        chunk.append(lit)
        size += len(lit) + 1
    if chunk:
        yield "(" + ",".join(chunk) + ")"
