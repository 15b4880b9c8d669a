"""Times in audit events and reports: parsing, differences, short human forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_ts(value: Any) -> datetime | None:
    """An ISO date or datetime (``Z`` or offset; Salesforce's ``+0000`` too) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600


def duration(hours: float | None) -> str:
    """``3h 12m`` / ``45m`` / ``2d 4h`` for a number of hours."""
    if hours is None:
        return "-"
    sign = "-" if hours < 0 else ""
    minutes = round(abs(hours) * 60)
    days, rest = divmod(minutes, 24 * 60)
    hrs, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hrs}h"
    if hrs:
        return f"{sign}{hrs}h {mins:02d}m"
    if minutes == 0 and hours:
        return f"{sign}{round(abs(hours) * 3600)}s"
    return f"{sign}{mins}m"


def short_time(value: str | None) -> str:
    """``2026-11-26 10:15:03`` from an ISO timestamp."""
    return value[:19].replace("T", " ") if value else "-"
