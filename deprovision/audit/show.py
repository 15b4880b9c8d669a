"""Finding events in an audit log: streaming filters, cheap on logs of millions of lines.

Each line is first tested with plain substring checks on its raw bytes (the value
of every filter must appear in the line); only lines that pass are parsed and
matched exactly. Nothing is loaded whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from deprovision.audit import fields
from deprovision.audit.redact import redact
from deprovision.errors import InvalidInputError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TS = re.compile(rb'"ts":"([^"]*)"')


def parse_time(text: str, *, end_of_day: bool = False, now: datetime | None = None) -> str:
    """A user's time (ISO date or datetime, or ``24h``/``7d`` ago) as an audit ``ts`` string."""
    text = text.strip()
    now = now or datetime.now(UTC)
    relative = _RELATIVE.match(text)
    if relative:
        moment = now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(f"'{text}' is not a time: use 2026-11-26, 2026-11-26T10:00:00Z, "
                                    "or a relative time like 24h or 7d") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if end_of_day and len(text) == 10:
            moment += timedelta(days=1, microseconds=-1)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class EventFilter:
    """What ``audit show`` selects; every given criterion must match."""

    run: str | None = None
    user: str | None = None
    action: str | None = None
    outcome: str | None = None
    event: str | None = None
    since: str | None = None  # normalised ts strings (parse_time)
    until: str | None = None

    def needles(self) -> tuple[list[bytes], bytes | None]:
        """Byte strings a matching raw line must contain, and one to find in the lower-cased line."""
        exact = []
        for value in (self.run, self.action, self.event):
            if value:
                exact.append(json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8"))
        folded = None
        if self.user and fields.looks_like_id(self.user):  # 15 or 18 chars: the first 15 always appear
            exact.append(self.user[:15].encode("utf-8"))
        elif self.user:  # usernames match case-insensitively
            folded = json.dumps(self.user.lower(), ensure_ascii=False)[1:-1].encode("utf-8")
        return exact, folded

    def matches(self, event: dict[str, Any]) -> bool:
        """Exact test on a parsed event."""
        if self.run and event.get("run_id") != self.run:
            return False
        if self.action and event.get("action") != self.action:
            return False
        if self.event and event.get("event") != self.event:
            return False
        if self.outcome and fields.outcome(event) != self.outcome:
            return False
        if self.user and not fields.matches_user(event, self.user):
            return False
        ts = event.get("ts") or ""
        if self.since and ts < self.since:
            return False
        return not (self.until and ts > self.until)


def iter_events(path: Path, flt: EventFilter | None = None) -> Iterator[dict[str, Any]]:
    """Events of the log at ``path`` that match ``flt``, in log order, redacted for display."""
    flt = flt or EventFilter()
    needles, folded = flt.needles()
    timed = bool(flt.since or flt.until)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise InvalidInputError(f"no audit log at {path}") from None
    with stream:
        for raw in stream:
            if needles and not all(needle in raw for needle in needles):
                continue
            if folded is not None and folded not in raw.lower():
                continue
            if timed and not _in_window(raw, flt):
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # torn or damaged lines are `audit verify`'s business
            if isinstance(event, dict) and flt.matches(event):
                yield redact(event)


def _in_window(raw: bytes, flt: EventFilter) -> bool:
    found = _TS.search(raw)
    if not found:
        return False
    ts = found.group(1).decode("ascii", "replace")
    return not ((flt.since and ts < flt.since) or (flt.until and ts > flt.until))


# --- rendering ----------------------------------------------------------------------------------

TABLE_COLUMNS = (("TIME (UTC)", 19), ("RUN", 22), ("USER", 30), ("ACTION", 29), ("OBJECT", 26),
                 ("OUTCOME", 8), ("N", 5), ("DETAIL", 0))


def table_row(event: dict[str, Any]) -> list[str]:
    """The cells of one event in ``audit show``'s table."""
    user = fields.target_user(event)
    action = event.get("action") or event.get("event") or ""
    detail = ""
    if event.get("error_code") or fields.error_message(event):
        detail = " ".join(str(p) for p in (event.get("error_code"), fields.error_message(event)) if p)
    elif event.get("label"):
        detail = str(event["label"])
    elif event.get("reason") and event.get("event") in ("run_started", "rollback_started"):
        detail = str(event["reason"])
    count = fields.record_count(event)
    return [
        str(event.get("ts", ""))[:19].replace("T", " "),
        str(event.get("run_id") or "-"),
        str(user.get("username") or user.get("id") or "-"),
        str(action),
        str(event.get("object") or "-"),
        str(fields.outcome(event) or "-"),
        str(count) if count else "",
        detail.replace("\n", " "),
    ]


def write_table(events: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """Stream events as a fixed-width table; returns how many were written."""
    def line(cells: list[str]) -> str:
        parts = []
        for (_, width), cell in zip(TABLE_COLUMNS, cells, strict=True):
            parts.append(cell if not width else cell[:width].ljust(width))
        return "  ".join(parts).rstrip() + "\n"

    out.write(line([name for name, _ in TABLE_COLUMNS]))
    count = 0
    for event in events:
        out.write(line(table_row(event)))
        count += 1
    return count


def write_json(events: Iterator[dict[str, Any]], out: IO[str], *, lines: bool = False) -> int:
    """Stream events as a JSON array (or JSON Lines); returns how many were written."""
    count = 0
    if not lines:
        out.write("[")
    for event in events:
        text = json.dumps(event, ensure_ascii=False, sort_keys=True)
        if lines:
            out.write(text + "\n")
        else:
            out.write(("\n  " if count == 0 else ",\n  ") + text)
        count += 1
    if not lines:
        out.write("\n]\n" if count else "]\n")
    return count
