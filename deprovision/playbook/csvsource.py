"""The ``users.csv`` selector: a list of leavers from HR, read carefully.

Handles a UTF-8 byte-order mark, ``;`` or ``,`` as delimiter (sniffed),
headers in any case, blank lines and duplicate rows. Every bad row is
reported with its line number: ``contractors.csv:7: Email 'x' is not an email address``.
Refused with the file named (and line, column): a folder or unreadable file, a header that names a
column twice, a field over ``MAX_FIELD`` characters, a row the CSV reader cannot parse.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from deprovision.playbook.model import check_email, check_user_id

# Header (lower case, without spaces/underscores) -> field of CsvRow.
_COLUMNS = {
    "username": "username",
    "email": "email",
    "id": "id",
    "userid": "id",
    "federationidentifier": "federation_id",
    "federationid": "federation_id",
    "terminatedat": "terminated_at",
    "ticket": "ticket",
}
_IDENTITY = ("id", "username", "federation_id", "email")
MAX_FIELD = 131_072  # characters in one field (the csv module's default limit, reported with its place)
_LABELS = {"id": "Id", "username": "Username", "federation_id": "FederationIdentifier", "email": "Email"}


@dataclass(frozen=True)
class CsvRow:
    """One leaver from the CSV; ``key``/``value`` is how the user is matched."""

    line: int
    key: str  # "id" | "username" | "federation_id" | "email"
    value: str
    terminated_at: str | None = None
    ticket: str | None = None

    @property
    def column(self) -> str:
        return _LABELS[self.key]


class CsvProblems(Exception):
    """Problems found in the CSV, one line each (``file:line: message``)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def _normalise(header: str) -> str:
    return header.strip().lower().replace("_", "").replace(" ", "")


def _check_datetime(text: str) -> str:
    try:
        if "T" in text or " " in text:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"terminated_at '{text}' is not an ISO date or date-time") from None
    return text


def read_csv(path: Path, shown_as: str) -> list[CsvRow]:
    """Rows of the CSV at ``path``; raises CsvProblems naming ``shown_as`` and line numbers."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CsvProblems([f"{shown_as}: file not found"]) from None
    except IsADirectoryError:
        raise CsvProblems([f"{shown_as}: is a folder, not a CSV file"]) from None
    except OSError as exc:
        raise CsvProblems([f"{shown_as}: cannot be read ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError as exc:
        raise CsvProblems([f"{shown_as}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CsvProblems([f"{shown_as}: the file is empty"])
    try:
        dialect = csv.Sniffer().sniff(lines[first], delimiters=",;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    # long fields are read whole and then reported with their line and column (not as a reader error)
    csv.field_size_limit(max(csv.field_size_limit(), min(len(text) + 1, sys.maxsize)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[str] = []
    header: list[str | None] | None = None
    rows: list[CsvRow] = []
    seen: set[tuple[str, str]] = set()
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvProblems([f"{shown_as}:{reader.line_num}: not valid CSV ({exc})"]) from None
        line = reader.line_num
        long = next((i for i, cell in enumerate(record) if len(cell) > MAX_FIELD), None)
        if long is not None:
            raise CsvProblems([f"{shown_as}:{line}:{long + 1}: field of {len(record[long]):,} characters, more "
                               f"than {MAX_FIELD:,}"])
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            names: dict[str, int] = {}
            for col, h in enumerate(record, start=1):
                key = _normalise(h)
                if not key:
                    continue
                if key in names:
                    raise CsvProblems([f"{shown_as}:{line}:{col}: column {h.strip()!r} appears twice in the header "
                                       f"(columns {names[key]} and {col})"])
                names[key] = col
            fields: dict[str, int] = {}
            for col, h in enumerate(record, start=1):
                field = _COLUMNS.get(_normalise(h))
                if field in fields:
                    raise CsvProblems([f"{shown_as}:{line}:{col}: column {h.strip()!r} names the same field as "
                                       f"column {fields[field]}"])
                if field:
                    fields[field] = col
            header = [_COLUMNS.get(_normalise(h)) for h in record]
            if not any(h in _IDENTITY for h in header):
                raise CsvProblems([f"{shown_as}:{line}: no Username, Email, Id or FederationIdentifier column "
                                   f"(header: {', '.join(h.strip() for h in record)})"])
            continue
        values = {h: cell.strip() for h, cell in zip(header, record, strict=False) if h and cell.strip()}
        if len(record) > len(header) and any(c.strip() for c in record[len(header):]):
            problems.append(f"{shown_as}:{line}: {len(record)} values but {len(header)} columns")
            continue
        key = next((k for k in _IDENTITY if values.get(k)), None)
        if key is None:
            problems.append(f"{shown_as}:{line}: no Username, Email, Id or FederationIdentifier value")
            continue
        try:
            if values.get("email"):
                try:
                    check_email(values["email"])
                except ValueError as exc:
                    raise ValueError(f"Email {exc}") from None
            if values.get("id"):
                try:
                    check_user_id(values["id"])
                except ValueError as exc:
                    raise ValueError(f"Id {exc}") from None
            if values.get("terminated_at"):
                _check_datetime(values["terminated_at"])
        except ValueError as exc:
            problems.append(f"{shown_as}:{line}: {exc}")
            continue
        identity = (key, values[key].lower())
        if identity in seen:
            continue
        seen.add(identity)
        rows.append(CsvRow(line=line, key=key, value=values[key], terminated_at=values.get("terminated_at"),
                           ticket=values.get("ticket")))
    if header is None:
        problems.append(f"{shown_as}: the file is empty")
    if problems:
        raise CsvProblems(problems)
    return rows
