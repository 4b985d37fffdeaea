"""Progress of a map: `RateReporter(echo, label)` is called with (done, total) items and prints, at most once
per `every_s` seconds and at the end, `label: done/total (pct), rate/s, ETA`."""
from __future__ import annotations

import time
from collections.abc import Callable


class RateReporter:
    """Prints `label: 12,800/100,000 (12.8 %), 1,234/s, ETA 70 s` through `echo`; rate = items done in this
    process / seconds since the first call (items resumed from a journal are not counted in the rate)."""

    def __init__(self, echo: Callable[[str], None], label: str, every_s: float = 1.0):
        self.echo, self.label, self.every_s = echo, label, every_s
        self.start: float | None = None
        self.first_done = 0
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.start is None:
            self.start, self.first_done, self.last = now, done, now
            if done < total:
                return
        if done < total and now - self.last < self.every_s:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = (done - self.first_done) / elapsed
        eta = f", ETA {(total - done) / rate:,.0f} s" if rate > 0 and done < total else ""
        pct = 100.0 * done / total if total else 100.0
        self.echo(f"{self.label}: {done:,}/{total:,} ({pct:.1f} %), {rate:,.{0 if rate >= 10 else 2}f}/s{eta}")
