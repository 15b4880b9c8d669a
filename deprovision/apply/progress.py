"""Progress of a run: a rich display on a terminal, plain lines on stderr otherwise."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

Stats = Callable[[], dict[str, Any]]  # {"api_calls": int, "limit_remaining": int | None}


def memory_note() -> str:
    """With DEPROVISION_PROFILE=1: current and peak memory of this process, for progress lines."""
    if os.environ.get("DEPROVISION_PROFILE") != "1":
        return ""
    try:
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except OSError:
        rss = 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return f"{rss} MB now, {peak} MB peak"


class Progress:
    """Silent progress (the base class); subclasses show it."""

    def __init__(self, stats: Stats | None = None) -> None:
        self.stats = stats or (lambda: {})

    def start_phase(self, phase: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def end_phase(self, phase: str, detail: str = "") -> None: ...

    def message(self, text: str) -> None: ...

    def close(self) -> None: ...

    def _stats_text(self) -> str:
        stats = self.stats()
        parts = []
        if stats.get("api_calls") is not None:
            parts.append(f"{stats['api_calls']} API calls")
        if stats.get("limit_remaining") is not None:
            parts.append(f"{stats['limit_remaining']:,} left today")
        return ", ".join(parts)


class PlainProgress(Progress):
    """One line per phase start and end on stderr (for logs and pipes)."""

    def __init__(self, stats: Stats | None = None, stream=None) -> None:
        super().__init__(stats)
        self.stream = stream or sys.stderr
        self._phase = ""
        self._total = 0
        self._done = 0
        self._t0 = time.monotonic()
        self._last = 0.0

    def _emit(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start_phase(self, phase: str, total: int) -> None:
        self._phase, self._total, self._done = phase, total, 0
        self._t0 = self._last = time.monotonic()
        self._emit(f"{phase}: {total:,} to do")

    def advance(self, n: int = 1) -> None:
        self._done += n
        now = time.monotonic()
        if now - self._last >= 5 and self._total:
            self._last = now
            self._emit(f"{self._phase}: {self._done:,}/{self._total:,} ({self._stats_text()})")

    def end_phase(self, phase: str, detail: str = "") -> None:
        elapsed = time.monotonic() - self._t0
        rate = f", {self._done / elapsed:,.0f}/s" if elapsed > 0.5 and self._done else ""
        stats = self._stats_text()
        tail = "; ".join(x for x in (detail, stats, memory_note()) if x)
        self._emit(f"{phase}: done in {elapsed:.1f}s{rate}" + (f" ({tail})" if tail else ""))

    def message(self, text: str) -> None:
        self._emit(text)


class RichProgress(Progress):
    """A live progress bar per phase with records done/total, rate, API calls and limit left."""

    def __init__(self, stats: Stats | None = None) -> None:
        super().__init__(stats)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichBar

        self._console = Console(stderr=True)
        self._bar = RichBar(
            TextColumn("[bold]{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
            console=self._console, transient=False,
        )
        self._bar.start()
        self._task = None
        self._t0 = time.monotonic()
        self._done = 0

    def start_phase(self, phase: str, total: int) -> None:
        self._t0, self._done = time.monotonic(), 0
        self._task = self._bar.add_task(phase, total=max(total, 1), rate="", stats=self._stats_text())
        if total == 0:
            self._bar.update(self._task, completed=1)

    def advance(self, n: int = 1) -> None:
        if self._task is None:
            return
        self._done += n
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        self._bar.update(self._task, advance=n, rate=f"{self._done / elapsed:,.0f}/s", stats=self._stats_text())

    def end_phase(self, phase: str, detail: str = "") -> None:
        if self._task is not None:
            task = self._bar.tasks[-1]
            self._bar.update(self._task, completed=task.total, stats=self._stats_text())
        self._task = None

    def message(self, text: str) -> None:
        self._bar.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._bar.stop()


def make_progress(stats: Stats | None = None, *, tty: bool | None = None, quiet: bool = False) -> Progress:
    """Rich progress on a terminal, plain stderr lines otherwise, nothing when quiet."""
    if quiet:
        return Progress(stats)
    if tty is None:
        tty = sys.stderr.isatty()
    return RichProgress(stats) if tty else PlainProgress(stats)
