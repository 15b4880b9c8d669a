"""Backup CSV files of a run: written before anything is removed or reassigned, hashed with SHA-256.

The files are byte-faithful copies of what the org held (rollback restores from them), so a value that
starts with ``=`` stays as it is: ``README.txt`` beside them says not to open them in a spreadsheet as is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any] | dict[str, Any]]) -> str:
    """Write a CSV (header + rows, LF line ends, fsynced) and return its SHA-256 hex digest."""
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")

        def flush() -> None:
            text = buf.getvalue()
            fh.write(text)
            digest.update(text.encode("utf-8"))
            buf.seek(0)
            buf.truncate()

        writer.writerow(columns)
        for n, row in enumerate(rows, 1):
            if isinstance(row, dict):
                row = [row.get(c) for c in columns]
            writer.writerow([_cell(v) for v in row])
            if n % 5000 == 0:
                flush()
        flush()
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return digest.hexdigest()


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a backup CSV as dicts (empty cells are empty strings)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


README = """These CSV files are the backup of a deprovision run: exactly what the org held before the run
changed it, byte for byte, so that `deprovision rollback` can restore it. SHA256SUMS lists their digests.

Do not open them in a spreadsheet as they are: a value such as =HYPERLINK(...) or +1-555 that came from the
org would run as a formula (CSV injection), and saving from the spreadsheet would alter the backup.
To read one, import it as text (every column type Text), or use `deprovision audit report --format csv`,
whose cells are made safe for spreadsheets.
"""


def write_sha256sums(folder: Path, digests: dict[str, str]) -> str:
    """Write ``SHA256SUMS`` (``sha256sum -c`` format) for the files in ``folder``, and ``README.txt`` (the
    files must not be opened in a spreadsheet as they are); returns the digest of ``SHA256SUMS``."""
    (folder / "README.txt").write_text(README, encoding="utf-8")
    lines = "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    path = folder / "SHA256SUMS"
    path.write_text(lines, encoding="utf-8")
    return hashlib.sha256(lines.encode()).hexdigest()


def check_sha256sums(folder: Path) -> list[str]:
    """Names of files in ``folder`` whose content no longer matches ``SHA256SUMS``."""
    bad = []
    sums = folder / "SHA256SUMS"
    if not sums.exists():
        return ["SHA256SUMS missing"]
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        target = folder / name
        if not target.exists() or sha256_file(target) != digest:
            bad.append(name)
    return bad
