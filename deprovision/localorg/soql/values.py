"""SOQL literals in storage form, checked against the field's type as Salesforce checks them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from deprovision.localorg import schema
from deprovision.localorg.errors import INVALID_FIELD, SalesforceError
from deprovision.localorg.ids import to18
from deprovision.localorg.soql import ast
from deprovision.localorg.soql.lexer import error_at


class INVALID_QUERY_FILTER_OPERATOR(SalesforceError):  # noqa: N801 - named after Salesforce's error code
    """A filter value the field's operator cannot take (for example a malformed id)."""

    error_code = "INVALID_QUERY_FILTER_OPERATOR"
    status = 400


STRING_TYPES = schema.TEXT_TYPES
ID_TYPES = frozenset({schema.ID, schema.REFERENCE})
NUMBER_TYPES = schema.NUMBER_TYPES

_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):(\d{2}))"
)

# Salesforce's type names in "must be of type X" messages.
_TYPE_WORDS = {
    schema.BOOLEAN: "boolean", schema.DATE: "date", schema.DATETIME: "dateTime", schema.INT: "integer",
    schema.DOUBLE: "double", schema.CURRENCY: "currency",
}


def format_datetime(moment: datetime) -> str:
    """A UTC datetime in storage form ``YYYY-MM-DDTHH:MM:SS.mmm+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime_literal(text: str) -> datetime:
    """A SOQL dateTime literal (``Z`` or ``+hh:mm`` offset) as an aware datetime."""
    m = _DATETIME_RE.fullmatch(text)
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    millis = int((m.group(7) or "0").ljust(3, "0"))
    offset = timedelta(0)
    if m.group(8) != "Z":
        sign = -1 if m.group(9) == "-" else 1
        offset = sign * timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
    local = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    return local - offset


def _month_start(day: date, months_ahead: int) -> date:
    index = day.year * 12 + day.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def date_range(func: ast.DateFunction, today: date) -> tuple[date, date]:
    """The half-open day range [start, end) a relative date literal stands for (UTC days)."""
    day = timedelta(days=1)
    name, n = func.name, min(func.n or 0, 700_000)  # about 1,900 years: further ranges cover every date anyway
    if name == "LAST_90_DAYS":
        name, n = "LAST_N_DAYS", 90
    elif name == "NEXT_90_DAYS":
        name, n = "NEXT_N_DAYS", 90
    fixed = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_N_DAYS": (today - n * day, today + day),  # the past n days and today
        "NEXT_N_DAYS": (today + day, today + (n + 1) * day),  # the next n days, starting tomorrow
        "N_DAYS_AGO": (today - n * day, today - (n - 1) * day),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today, 0)),
        "THIS_MONTH": (_month_start(today, 0), _month_start(today, 1)),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
    }
    if name not in fixed:
        raise ValueError(func.name)
    return fixed[name]


def range_bounds(func: ast.DateFunction, field_type: str, today: date) -> tuple[str, str]:
    """The range of ``func`` as storage-form strings for a date or datetime field."""
    start, end = date_range(func, today)
    if field_type == schema.DATE:
        return start.isoformat(), end.isoformat()
    return (
        format_datetime(datetime(start.year, start.month, start.day, tzinfo=UTC)),
        format_datetime(datetime(end.year, end.month, end.day, tzinfo=UTC)),
    )


def _mismatch(soql: str, value: ast.Literal | ast.DateFunction, path: str, field_type: str) -> SalesforceError:
    word = _TYPE_WORDS.get(field_type, "string")
    quoted = "be enclosed in quotes" if word == "string" else "not be enclosed in quotes"
    return error_at(
        INVALID_FIELD, soql, value.pos,
        f"value of filter criterion for field '{path}' must be of type {word} and should {quoted}",
    )


def storage_value(soql: str, value: ast.Literal, field: schema.FieldSpec, path: str) -> object:
    """``value`` converted to what the column stores; raises INVALID_FIELD on a type mismatch."""
    if value.kind == "null":
        return None
    ftype = field.type
    if ftype in ID_TYPES:
        if value.kind != "string":
            raise _mismatch(soql, value, path, schema.STRING)
        text = str(value.value)
        if text == "":
            return None
        if len(text) not in (15, 18) or not text.isalnum():
            raise error_at(INVALID_QUERY_FILTER_OPERATOR, soql, value.pos, f"invalid ID field: {text}")
        return to18(text[:15])
    if ftype == schema.BOOLEAN:
        if value.kind != "boolean":
            raise _mismatch(soql, value, path, ftype)
        return 1 if value.value else 0
    if ftype in NUMBER_TYPES:
        if value.kind != "number":
            raise _mismatch(soql, value, path, ftype)
        return value.value
    if ftype == schema.DATE:
        if value.kind != "date":
            raise _mismatch(soql, value, path, ftype)
        return value.value
    if ftype == schema.DATETIME:
        if value.kind != "datetime":
            raise _mismatch(soql, value, path, ftype)
        return format_datetime(parse_datetime_literal(str(value.value)))
    if value.kind != "string":
        raise _mismatch(soql, value, path, schema.STRING)
    return value.value


def check_date_function(soql: str, value: ast.DateFunction, field: schema.FieldSpec, path: str) -> None:
    """Relative date literals only apply to date and dateTime fields."""
    if field.type not in (schema.DATE, schema.DATETIME):
        raise _mismatch(soql, value, path, field.type if field.type in _TYPE_WORDS else schema.STRING)
