"""End of a bench: write its scoreboard record, then fail the cocotb test on any mismatch."""
from __future__ import annotations

import time

from ..records import write_record
from ..scoreboard import Scoreboard


def finish(board: Scoreboard, started: float, **extra) -> None:
    """Record `board` (seconds since `started`, plus extras) and raise AssertionError if it is not clean."""
    write_record(board, time.perf_counter() - started, **extra)
    board.assert_clean()
