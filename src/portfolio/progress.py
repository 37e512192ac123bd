"""Progress of a batch on the command line: a rich bar on a terminal, plain lines otherwise.

Used by the CLI layer only (``portfolio batch`` and ``portfolio sweep``); library code reports
progress through callbacks, never by printing.
"""

from __future__ import annotations

import time
from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from portfolio.batch import ItemResult


class BatchProgress:
    """Shows how many instances are done, by status, with an ETA.

    On a terminal (and with ``rich`` installed) a live progress bar; otherwise one line per
    finished instance, e.g. ``[3/20] north: optimal, objective 2464.66 (0.61 s)``. Errors are
    always printed as a line, with their reason.

    Args:
        total: number of instances in the batch.
        stream: where to write (standard error in the CLI).
        bar: force the bar on or off (default: when ``stream`` is a terminal).
    """

    def __init__(self, total: int, stream: TextIO, bar: bool | None = None) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.began = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None
        if bar is None:
            bar = _isatty(stream)
        if bar:
            self._progress = _rich_progress(stream)

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("solving", total=self.total, counts="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, row: ItemResult) -> None:
        """Record one finished (or resumed) instance."""
        self.done += 1
        self.counts[row.status] += 1
        line = self._line(row)
        if self._progress is not None:
            counts = " · ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
            self._progress.update(self._task, advance=1, counts=counts)
            if row.error:
                self._progress.console.print(line, markup=False, highlight=False)
            return
        self.stream.write(line + "\n")
        self.stream.flush()

    def _line(self, row: ItemResult) -> str:
        width = len(str(self.total))
        head = f"[{self.done:>{width}}/{self.total}] {row.name}: {row.status}"
        if row.error:
            return f"{head}: {' '.join(p.strip() for p in row.error.splitlines() if p.strip())}"
        parts = [head]
        if row.objective is not None:
            parts.append(f", objective {row.objective:.10g}")
        if row.resumed:
            parts.append(" (resumed)")
        elif row.seconds is not None:
            parts.append(f" ({row.seconds:.2f} s)")
        return "".join(parts)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _rich_progress(stream: TextIO) -> Any:
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=False,
    )
