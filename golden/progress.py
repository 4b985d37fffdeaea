"""One progress helper for every long run (sim batches, sweeps, RTL synthesis, verification): a tqdm bar with
rate and time left on a terminal; on a pipe or CI log, plain lines (no carriage returns), at most one per
LOG_INTERVAL_S seconds plus the last one.

    with progress_bar(total=500, desc="sweep", unit="config") as bar:
        for row in rows:
            bar.update(1)
            bar.set_postfix_str(f"{row['pe']} {row['dataflow']}")

`follow(bar)` turns a bar into the `progress(done, total)` callback of dist.executor.map_items. Lines a run
already prints (per layer, per epoch) go through `with bar.external_write_mode(): print(...)`, so that on a
terminal they appear above the bar instead of breaking it.

Both forms format the line with tqdm's own meter (`n/total [elapsed<remaining, rate]`).
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import TextIO

from tqdm import tqdm

LOG_INTERVAL_S = 30.0


class LogProgress:
    """tqdm's interface (update, set_postfix_str, set_description, external_write_mode, close, context manager)
    writing whole lines."""

    def __init__(self, total: int | None, desc: str, unit: str, file: TextIO, interval_s: float = LOG_INTERVAL_S,
                 unit_scale: bool = False):
        self.total, self.desc, self.unit, self.file, self.interval_s = total, desc, unit, file, interval_s
        self.unit_scale = unit_scale
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.closed = False

    def _line(self) -> str:
        return tqdm.format_meter(self.n, self.total, time.monotonic() - self.start, prefix=self.desc, unit=self.unit,
                                 unit_scale=self.unit_scale, postfix=self.postfix or None, ncols=0)

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

    @staticmethod
    @contextlib.contextmanager
    def external_write_mode(file=None, nolock=False):
        """tqdm's: lines printed inside it leave the bar intact; whole lines need nothing here."""
        yield

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._emit()

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int | None = None, desc: str = "", unit: str = "it", file: TextIO | None = None,
                 interval_s: float = LOG_INTERVAL_S, enabled: bool = True, unit_scale: bool = False):
    """A tqdm bar on a terminal, else a LogProgress writing plain lines to `file` (stderr by default); a silent
    bar when not `enabled`. unit_scale: counts with SI prefixes (12.3G MAC)."""
    if not enabled:
        return tqdm(total=total, disable=True)
    file = file if file is not None else sys.stderr
    if getattr(file, "isatty", lambda: False)():
        return tqdm(total=total, desc=desc, unit=unit, file=file, dynamic_ncols=True, unit_scale=unit_scale)
    return LogProgress(total, desc, unit, file, interval_s, unit_scale)


def follow(bar):
    """A `progress(done, total)` callback that moves `bar` (progress_bar's result) forward to `done`."""
    def advance(done: int, total: int) -> None:
        bar.update(done - bar.n)
    return advance
