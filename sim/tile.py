"""The output-stationary cycle formulas of one tile and of one layer: closed functions shared by sim/ and the RTL
checks in verify/ (the RTL's counted cycles must equal them, tile by tile and layer by layer).

A tile is an R×C block of outputs computed over the full reduction length K (R filter rows, C pixel columns in
the RTL's orientation; sim/dataflow.py passes its array's columns as R, see docs/sim.md "os orientation").
A layer is its tiles back to back, with the next tile's operands loaded into the second half of the double-
buffered operand buffers while the current tile runs (rtl/top.py).
All functions accept ints or numpy int64 arrays (one entry per layer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def os_fold_cycles(rows, cols, k):
    """Fill + reduction of one output-stationary fold: R + C + K - 2 (SCALE-Sim's per-fold cost).

    The last product lands in PE (R-1, C-1) at cycle (R-1) + (C-1) + (K-1), counting from 0.
    """
    return rows + cols + k - 2


def os_readout_cycles(rows, cols, lanes=1):
    """Cycles the RTL spends draining a finished tile that it does not overlap with compute: R·lanes + 1.

    Owned by rtl/ (rtl/top.py): the accumulators shift down one row per cycle through the C output units into the
    output register (R cycles, rows leave bottom first; a fused PE holds lanes = lanes_w·lanes_a accumulators,
    drained one lane pair after the other), plus one cycle in which the last row sits on out_data.
    """
    return rows * lanes + 1


def os_tile_cycles(rows, cols, k, lanes=1):
    """Total cycles of one RTL tile: os_fold_cycles + os_readout_cycles; verify/ asserts the RTL counter equals it."""
    return os_fold_cycles(rows, cols, k) + os_readout_cycles(rows, cols, lanes)


def os_load_cycles(filter_rows, k):
    """Cycles of one tile's operand load: L = max(K, filter rows) (filter rows = R·lanes_w in fused mode).

    The four write ports of rtl/top.py write one row each per cycle, in parallel: K weight rows, K activation
    rows, one bias/m/m_r row and one residual row per filter of the tile.
    """
    return np.maximum(k, filter_rows)


@dataclass(frozen=True)
class OsLayerSchedule:
    """Cycles of one layer (or one entry per layer) on the os array; total = busy + readout + load.

    busy     tiles · os_fold_cycles          fill + reduction, SCALE-Sim's compute (sim's compute_cycles + 1)
    readout  tiles · readout per tile        drain not overlapped with compute
    load     L + tiles
             the first tile's load, which nothing hides, and one issue cycle per tile (the edge that samples
             `start` and writes the widths); every later load runs during the tile before it and hides there
    """

    tiles: object
    busy: object
    readout: object
    load: object

    @property
    def total(self):
        return self.busy + self.readout + self.load


def os_layer_schedule(rows, cols, k, tiles, lanes_w=1, lanes_a=1) -> OsLayerSchedule:
    """The schedule of `tiles` tiles of reduction K on an R×C os array, each loaded while the one before runs:

        cycles = L + Σ_{i < tiles} (1 + max(T, L_{i+1})),   L_tiles = 0
               = tiles·F + tiles·readout + (L + tiles)

    with F = os_fold_cycles(R, C, K), readout = os_readout_cycles(R, C, lanes_w·lanes_a) (lanes: operands per
    port, 1 in fixed mode), T = F + readout, L = os_load_cycles(R·lanes_w, K).
    max(T, L) = T always: T - L >= R + C + K - 1 + R·lanes_w·lanes_a - max(K, R·lanes_w) >= R + C - 1 >= 1, so no
    later load is exposed.
    """
    fold = os_fold_cycles(rows, cols, k)
    readout = os_readout_cycles(rows, cols, lanes_w * lanes_a)
    return OsLayerSchedule(tiles=tiles, busy=tiles * fold, readout=tiles * readout,
                           load=os_load_cycles(rows * lanes_w, k) + tiles)
