"""The output-stationary tile cycle formula: one closed function shared by sim/ and the RTL's cycle check.

A tile is an R×C block of outputs computed over the full reduction length K.
"""


def os_fold_cycles(rows: int, cols: int, k: int) -> int:
    """Fill + reduction of one output-stationary fold: R + C + K - 2 (SCALE-Sim's per-fold cost).

    The last product lands in PE (R-1, C-1) at cycle (R-1) + (C-1) + (K-1), counting from 0.
    """
    return rows + cols + k - 2


def os_readout_cycles(rows: int, cols: int) -> int:
    """Cycles the RTL spends draining a finished tile that it does not overlap with compute: R + 1.

    Owned by rtl/ (rtl/top.py): the accumulators shift down one row per cycle through the C output units into the
    output register (R cycles, rows leave bottom first), plus one cycle in which the last row sits on out_data.
    """
    return rows + 1


def os_tile_cycles(rows: int, cols: int, k: int) -> int:
    """Total cycles of one RTL tile: os_fold_cycles + os_readout_cycles; verify/ asserts the RTL counter equals it."""
    return os_fold_cycles(rows, cols, k) + os_readout_cycles(rows, cols)
