"""The current time, one place for it: tests set it with ``DEPROVISION_NOW`` (honoured only when
``DEPROVISION_TESTING=1``), so scheduled work can come due without waiting."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from deprovision.audit.times import parse_ts

NOW_ENV = "DEPROVISION_NOW"


def now() -> datetime:
    """Now, in UTC (``DEPROVISION_NOW`` instead when testing)."""
    if os.environ.get("DEPROVISION_TESTING") == "1" and os.environ.get(NOW_ENV):
        moment = parse_ts(os.environ[NOW_ENV])
        if moment is not None:
            return moment
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-12-15T09:00:00Z``: the form schedules and findings are written in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str | None) -> datetime | None:
    """An ISO date or date-time as UTC (a date alone is 00:00 UTC that day); None when not one."""
    return parse_ts(value)
