"""A straightforward per-fold Python loop over the same formulas as sim/dataflow.py and sim/memory.py.

It walks every fold of every layer, adding the fold's cycles, its used PEs and the operand elements it
reads. It exists as the independent twin of the vectorised closed forms: tests require exact equality,
and bench/sim_speed.py times it as the baseline.
"""
from __future__ import annotations

import numpy as np

from .config import ArrayConfig
from .dataflow import ws_is_fold_cycles
from .precision import fusion_lanes
from .tile import os_fold_cycles, os_load_cycles, os_readout_cycles
from .workload import Workload

LOOP_FIELDS = ("busy_cycles", "readout_cycles", "load_cycles", "used_pe_folds", "weight_reads", "act_reads")


def _layer_loop(m: int, k: int, n: int, lanes_w: int, lanes_a: int, config: ArrayConfig) -> tuple[int, ...]:
    rows, cols, dataflow = config.rows, config.cols, config.dataflow
    if dataflow == "os":
        rows_dim, cols_dim, t, lrows, lcols = n, m, k, rows * lanes_a, cols * lanes_w
    elif dataflow == "ws":
        rows_dim, cols_dim, t, lrows, lcols = k, m, -(-n // lanes_a), rows, cols * lanes_w
    else:
        rows_dim, cols_dim, t, lrows, lcols = k, n, -(-m // lanes_w), rows, cols * lanes_a
    busy = readout = load = used = weight_reads = act_reads = 0
    tile_load = int(os_load_cycles(cols * lanes_w, k))  # the RTL's filter rows are the simulator's columns
    for r0 in range(0, rows_dim, lrows):
        used_rows = min(lrows, rows_dim - r0)
        for c0 in range(0, cols_dim, lcols):
            used_cols = min(lcols, cols_dim - c0)
            used += used_rows * used_cols
            if dataflow == "os":
                tile = os_fold_cycles(rows, cols, t) + os_readout_cycles(cols, rows, lanes_w * lanes_a)
                # the first tile's load is exposed; each later one runs during the tile before it; +1 issue cycle
                load += 1 + (tile_load if load == 0 else max(0, tile_load - tile))
                busy += os_fold_cycles(rows, cols, t)
                readout += os_readout_cycles(cols, rows, lanes_w * lanes_a)
                act_reads += used_rows * k          # this fold's pixels, whole reduction
                weight_reads += used_cols * k       # this fold's filters, whole reduction
            elif dataflow == "ws":
                busy += ws_is_fold_cycles(rows, cols, t)
                weight_reads += used_rows * used_cols   # the stationary weight block
                act_reads += used_rows * n              # this K slice, every pixel
            else:
                busy += ws_is_fold_cycles(rows, cols, t)
                act_reads += used_rows * used_cols      # the stationary input block
                weight_reads += used_rows * m           # this K slice, every filter
    return busy, readout, load, used, weight_reads, act_reads


def fold_loop(workload: Workload, config: ArrayConfig) -> dict[str, np.ndarray]:
    """Per-layer LOOP_FIELDS by walking every fold (int64 arrays)."""
    if config.pe_mode == "fused":
        lanes_w = fusion_lanes(workload.b_w, config.spec)
        lanes_a = fusion_lanes(workload.b_a, config.spec)
    else:
        lanes_w = lanes_a = np.ones(len(workload), dtype=np.int64)
    results = [_layer_loop(int(workload.m[i]), int(workload.k[i]), int(workload.n[i]), int(lanes_w[i]),
                           int(lanes_a[i]), config) for i in range(len(workload))]
    return {name: np.array(col, dtype=np.int64) for name, col in zip(LOOP_FIELDS, zip(*results))}
