"""Folding GEMMs onto the R×C array: fold counts and compute cycles per dataflow, closed formulas.

A GEMM (M filters, K reduction, N pixels; sim/workload.py) is laid out with two of its dimensions in space
(array rows Sr, array columns Sc) and one in time (T, the operand stream length of one fold); SCALE-Sim's
mappings, which the simulator uses for all three dataflows:

    dataflow  rows Sr       cols Sc      time T   per-fold cycles
    os        N pixels      M filters    K        R + C + T − 2   (sim/tile.py os_fold_cycles)
    ws        K reduction   M filters    N        2R + C + T − 2
    is        K reduction   N pixels     M        2R + C + T − 2

    folds = ⌈Sr / R⌉ · ⌈Sc / C⌉,    busy cycles = folds · per-fold cycles

The RTL maps filters to rows and pixels to columns in os; for a square array both give the same folds.
On a non-square array the simulator follows SCALE-Sim (pixels on rows).

SCALE-Sim reports `folds · per-fold cycles − 1` per layer (its "Total Cycles" is the 0-based index of the
cycle that writes the last output); `compute_cycles` reproduces that report exactly, `busy_cycles` is the
true count and is what the layer's total uses.

Fused PEs (sim/precision.py): a PE takes N/w_w weights and N/w_a activations per cycle and forms their
outer product, so the array acts as a larger logical array along the operand that is spatial, and the
stream shortens along the operand that is temporal:

    os: rows R·lanes_a (pixels), cols C·lanes_w (filters), T = K
    ws: rows R (reduction),      cols C·lanes_w (filters), T = ⌈N / lanes_a⌉
    is: rows R (reduction),      cols C·lanes_a (pixels),  T = ⌈M / lanes_w⌉

with lanes = N // fused_width(b) (1 in fixed mode). Each os PE then holds lanes_w·lanes_a accumulators,
which the RTL drains one lane pair after the other: readout R·lanes_w·lanes_a + 1 per fold (sim/tile.py
os_readout_cycles).
ws and is drain through the columns inside their per-fold cycles: no separate readout.

os layers follow the RTL's whole-layer schedule (sim/tile.py os_layer_schedule): busy and readout as above, plus
the load cycles the double-buffered operand buffers do not hide (the first tile's load, one issue cycle per tile,
and any load longer than the tile before it). The RTL holds filters on its rows, so its R is the simulator's C.
ws and is have no load term (SCALE-Sim's preload is inside their per-fold cost).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import ArrayConfig
from .precision import fusion_lanes
from .tile import os_fold_cycles, os_layer_schedule
from .workload import Workload


def ceil_div(a, b):
    """⌈a / b⌉ for non-negative integers (numpy arrays or ints)."""
    return -(-a // b)


def ws_is_fold_cycles(rows, cols, t):
    """Per-fold cycles of SCALE-Sim's weight- and input-stationary dataflows: 2R + C + T − 2.

    R cycles preload the stationary operand, then the stream of T enters skewed across R rows and its
    partial sums leave through C columns.
    """
    return 2 * rows + cols + t - 2


@dataclass(frozen=True, eq=False)
class FoldPlan:
    """Per-layer mapping of a workload onto one array (int64 arrays, one entry per layer).

    lanes_w, lanes_a   operands per port per cycle (fused mode), 1 in fixed mode
    rows_dim, cols_dim GEMM extents mapped on rows / columns (Sr, Sc); temporal: T
    logical_rows/cols  R·lanes and C·lanes of the spatial dimensions
    row_folds, col_folds ⌈Sr / logical_rows⌉, ⌈Sc / logical_cols⌉
    fold_cycles        cycles of one fold; busy_cycles = folds · fold_cycles
    readout_cycles     os drain not overlapped with compute (0 for ws, is)
    load_cycles        os operand loads and tile issue not overlapped with compute (0 for ws, is)
    """

    lanes_w: np.ndarray
    lanes_a: np.ndarray
    rows_dim: np.ndarray
    cols_dim: np.ndarray
    temporal: np.ndarray
    logical_rows: np.ndarray
    logical_cols: np.ndarray
    row_folds: np.ndarray
    col_folds: np.ndarray
    fold_cycles: np.ndarray
    readout_cycles: np.ndarray
    load_cycles: np.ndarray

    @property
    def folds(self) -> np.ndarray:
        return self.row_folds * self.col_folds

    @property
    def busy_cycles(self) -> np.ndarray:
        """folds · per-fold cycles: the true cycle count of the compute."""
        return self.folds * self.fold_cycles

    @property
    def compute_cycles(self) -> np.ndarray:
        """SCALE-Sim's reported compute cycles: folds · per-fold cycles − 1."""
        return self.busy_cycles - 1

    @property
    def mapping_efficiency(self) -> np.ndarray:
        """Mean over folds of the fraction of (logical) PEs holding work: Sr·Sc / (folds · R_l · C_l)."""
        return (self.rows_dim * self.cols_dim) / (self.folds * self.logical_rows * self.logical_cols)


def plan_folds(workload: Workload, config: ArrayConfig) -> FoldPlan:
    """Map every layer of `workload` onto `config`'s array (vectorised over layers, no per-fold loop)."""
    rows, cols = config.rows, config.cols
    if config.pe_mode == "fused":
        lanes_w = fusion_lanes(workload.b_w, config.spec)
        lanes_a = fusion_lanes(workload.b_a, config.spec)
    else:
        lanes_w = np.ones(len(workload), dtype=np.int64)
        lanes_a = np.ones(len(workload), dtype=np.int64)
    m, k, n = workload.m, workload.k, workload.n
    if config.dataflow == "os":
        rows_dim, cols_dim, temporal = n, m, k
        logical_rows, logical_cols = rows * lanes_a, cols * lanes_w
    elif config.dataflow == "ws":
        rows_dim, cols_dim, temporal = k, m, ceil_div(n, lanes_a)
        logical_rows, logical_cols = np.full_like(m, rows), cols * lanes_w
    else:
        rows_dim, cols_dim, temporal = k, n, ceil_div(m, lanes_w)
        logical_rows, logical_cols = np.full_like(m, rows), cols * lanes_a
    row_folds, col_folds = ceil_div(rows_dim, logical_rows), ceil_div(cols_dim, logical_cols)
    if config.dataflow == "os":
        fold_cycles = os_fold_cycles(rows, cols, temporal)
        schedule = os_layer_schedule(cols, rows, temporal, row_folds * col_folds, lanes_w, lanes_a)
        readout, load = schedule.readout, schedule.load
    else:
        fold_cycles = ws_is_fold_cycles(rows, cols, temporal)
        readout = load = np.zeros_like(m)
    return FoldPlan(lanes_w, lanes_a, rows_dim, cols_dim, temporal, logical_rows, logical_cols,
                    row_folds, col_folds, fold_cycles, readout, load)
