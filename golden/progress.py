"""One progress helper for every long run (sim batches, sweeps, RTL synthesis, verification): a tqdm bar with
rate and time left on a terminal; on a pipe or CI log, plain lines (no carriage returns), at most one per
LOG_INTERVAL_S seconds plus the last one.

    with progress_bar(total=500, desc="sweep", unit="config") as bar:
        for row in rows:
            bar.update(1)
            bar.set_postfix_str(f"{row['pe']} {row['dataflow']}")

`follow(bar)` turns a bar into the `progress(done, total)` callback of dist.executor.map_items.

Both forms format the line with tqdm's own meter (`n/total [elapsed<remaining, rate]`).
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

LOG_INTERVAL_S = 30.0


class LogProgress:
    """tqdm's interface (update, set_postfix_str, set_description, close, context manager) writing whole lines."""

    def __init__(self, total: int | None, desc: str, unit: str, file: TextIO, interval_s: float = LOG_INTERVAL_S):
        self.total, self.desc, self.unit, self.file, self.interval_s = total, desc, unit, file, interval_s
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.closed = False

    def _line(self) -> str:
        return tqdm.format_meter(self.n, self.total, time.monotonic() - self.start, prefix=self.desc, unit=self.unit,
                                 postfix=self.postfix or None, ncols=0)

    def _emit(self) -> None:
        self.file.write(self._line() + "\n")
        self.file.flush()
        self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total is not None and self.n >= self.total:
            return  # the final line comes from close()
        if time.monotonic() - self.last >= self.interval_s:
            self._emit()

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._emit()

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int | None = None, desc: str = "", unit: str = "it", file: TextIO | None = None,
                 interval_s: float = LOG_INTERVAL_S, enabled: bool = True):
    """A tqdm bar on a terminal, else a LogProgress writing plain lines to `file` (stderr by default); a silent
    bar when not `enabled`."""
    if not enabled:
        return tqdm(total=total, disable=True)
    file = file if file is not None else sys.stderr
    if getattr(file, "isatty", lambda: False)():
        return tqdm(total=total, desc=desc, unit=unit, file=file, dynamic_ncols=True)
    return LogProgress(total, desc, unit, file, interval_s)


def follow(bar):
    """A `progress(done, total)` callback that moves `bar` (progress_bar's result) forward to `done`."""
    def advance(done: int, total: int) -> None:
        bar.update(done - bar.n)
    return advance
