"""Export progress: a rich bar per object and one for bytes on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time

from deprovision.apply.progress import memory_note


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


class ExportProgress:
    """Silent progress (the base class); every method is called from worker threads."""

    def start(self, objects: int, rows: int) -> None: ...

    def object_started(self, name: str, rows: int) -> None: ...

    def rows(self, name: str, n: int) -> None: ...

    def bytes(self, n: int) -> None: ...

    def object_done(self, name: str, detail: str) -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...


class PlainExportProgress(ExportProgress):
    """One line per finished object, and a line every few seconds while bytes arrive."""

    def __init__(self, stream=None, every: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self._lock = threading.Lock()
        self._bytes = 0
        self._last = time.monotonic()
        self._t0 = time.monotonic()
        self._done = 0
        self._objects = 0

    def _emit(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def start(self, objects: int, rows: int) -> None:
        self._objects = objects
        self._emit(f"export: {objects:,} objects to read, about {rows:,} rows")

    def bytes(self, n: int) -> None:
        with self._lock:
            self._bytes += n
            now = time.monotonic()
            due = now - self._last >= self.every
            if due:
                self._last = now
        if due:
            self._emit(f"export: {human_bytes(self._bytes)} written, {self._done}/{self._objects} objects")

    def object_done(self, name: str, detail: str) -> None:
        with self._lock:
            self._done += 1
        self._emit(f"{name}: {detail}")

    def message(self, text: str) -> None:
        self._emit(text)

    def close(self) -> None:
        note = memory_note()
        self._emit(f"export: {human_bytes(self._bytes)} written in {time.monotonic() - self._t0:.1f}s"
                   + (f" ({note})" if note else ""))


class RichExportProgress(ExportProgress):
    """Live bars: objects done, bytes written, and one bar per object being read."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self._console = Console(stderr=True)
        self._rows = Progress(TextColumn("[bold]{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=self._console)
        self._bytes_bar = Progress(TextColumn("[bold]{task.description:<24}"), DownloadColumn(),
                                   TransferSpeedColumn(), TimeElapsedColumn(), console=self._console)
        from rich.console import Group
        from rich.live import Live

        self._live = Live(Group(self._rows, self._bytes_bar), console=self._console, refresh_per_second=8)
        self._live.start()
        self._objects = self._rows.add_task("objects", total=1)
        self._bytes_task = self._bytes_bar.add_task("bytes written", total=None)
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self, objects: int, rows: int) -> None:
        self._rows.update(self._objects, total=max(objects, 1), completed=0)

    def object_started(self, name: str, rows: int) -> None:
        with self._lock:
            self._tasks[name] = self._rows.add_task(name, total=max(rows, 1))

    def rows(self, name: str, n: int) -> None:
        task = self._tasks.get(name)
        if task is not None:
            self._rows.update(task, advance=n)

    def bytes(self, n: int) -> None:
        self._bytes_bar.update(self._bytes_task, advance=n)

    def object_done(self, name: str, detail: str) -> None:
        with self._lock:
            task = self._tasks.pop(name, None)
        if task is not None:
            self._rows.remove_task(task)
        self._rows.update(self._objects, advance=1)
        self._console.print(f"{name}: {detail}", markup=False, highlight=False)

    def message(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._live.stop()


def make_export_progress(*, tty: bool | None = None, quiet: bool = False) -> ExportProgress:
    if quiet:
        return ExportProgress()
    if tty is None:
        tty = sys.stderr.isatty()
    return RichExportProgress() if tty else PlainExportProgress()
