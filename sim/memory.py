"""On-chip buffer and DRAM traffic per layer, reuse from the buffer sizes, double buffering, stalls.

All formulas are closed and vectorised over layers (bits internally, bytes = ⌈bits / 8⌉ per component).

Element widths. A weight / input activation element costs `stored_bits(b)` (sim/precision.py): N bits
in the packed layout whatever the view width, b + 1 planes (or N at b = N) in the bit-plane layout.
Outputs are written at their master width: N (activation), ACC_BITS (a downsample's acc' + bias, the
residual term r), logit_bits (logits). Partial sums are ACC_BITS wide.

Double buffering. Each buffer is split in halves: the array works on one half while DRAM fills the other,
so the working set must fit half the buffer, cap = size·8 / 2 bits, and DRAM transfers overlap compute.

DRAM reuse (per layer, weights W = M·K·w bits, input feature map I = C·H·W·a bits):
    if W ≤ cap_w or I ≤ cap_a:  each is read from DRAM once:  W + I
    else the cheaper of two blockings with buffer-sized blocks:
        weights outer:  W + ⌈W / cap_w⌉ · I     (each weight block resident, the input re-streamed per block)
        inputs outer:   I + ⌈I / cap_a⌉ · W
Outputs O = M·N·out_bits are written once; the residual r (if any) is read once.
Partial-sum spill (ws, is: the reduction K is split over F_k = ⌈K / R⌉ row folds, run innermost, so one
column fold's outputs accumulate over F_k folds: ws min(M, C_l)·N of them, is min(N, C_l)·M). When those
partial sums (ACC_BITS each) exceed cap_o, every row fold but the last writes them to DRAM and the next
reads them back:
    spill = 2 · (F_k − 1) · M·N·ACC_BITS                (os keeps partial sums in the PEs: no spill)

Buffer (SRAM) traffic, array side: the stationary operand is read once; a streamed operand once per
fold of the other spatial dimension (os: the im2col input N·K once per column fold, the weights once
per row fold; ws: weights once, the im2col input once per column fold; is: the im2col input once,
the weights once per column fold); outputs written once, and for ws / is the partial sums of the
F_k − 1 earlier row folds are written and read back (ACC_BITS each). Every DRAM bit also passes
through a buffer once, so sram = array-side traffic + DRAM traffic.

Breakdown by operand (OPERANDS: weights, inputs, outputs, psums, residual), each rounded up to bytes on
its own, and the totals are their sums:
    dram[weights] = dram_w,  dram[inputs] = dram_a,  dram[outputs] = O,  dram[residual] = r,
    dram[psums] = spill
    sram[op] = array side[op] + dram[op], with array side
        weights = weight reads · w,  inputs = activation reads · a,  outputs = O,
        psums = 2 · (F_k − 1) · M·N·ACC_BITS (ws, is),  residual = 0 (the requant reads it from DRAM)

View operations: every weight / activation element that enters the array edge at a width below N goes
through a view unit (shift, round bit, saturate): views = elements read · [b < N].

Stalls: DRAM moves dram_bytes_per_cycle; dram_cycles = ⌈dram_bytes / bandwidth⌉ overlaps compute
(double buffering), so stall = max(0, dram_cycles − (busy + readout + load)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import ArrayConfig
from .dataflow import FoldPlan, ceil_div
from .precision import stored_bits
from .workload import Workload

BITS_PER_BYTE = 8
KIB = 1024
OPERANDS = ("weights", "inputs", "outputs", "psums", "residual")


@dataclass(frozen=True, eq=False)
class Traffic:
    """Per-layer traffic (int64 arrays): DRAM and SRAM bytes by operand ({operand: bytes}, OPERANDS), operand
    elements read by the array, view operations (weights and inputs), DRAM transfer and stall cycles, and
    the partial-sum spill facts behind dram["psums"] (row folds F_k, whether a column fold's sums overflow)."""

    dram: dict[str, np.ndarray]
    sram: dict[str, np.ndarray]
    weight_reads: np.ndarray
    act_reads: np.ndarray
    weight_view_ops: np.ndarray
    act_view_ops: np.ndarray
    dram_cycles: np.ndarray
    stall_cycles: np.ndarray
    reduction_folds: np.ndarray
    psum_spills: np.ndarray

    @property
    def dram_bytes(self) -> np.ndarray:
        return sum(self.dram.values())

    @property
    def sram_bytes(self) -> np.ndarray:
        return sum(self.sram.values())

    @property
    def view_ops(self) -> np.ndarray:
        return self.weight_view_ops + self.act_view_ops


def half_buffer_bits(kib: int) -> int:
    """Working-set capacity of a double-buffered SRAM of `kib` KiB: kib·1024·8 / 2 bits."""
    return kib * KIB * BITS_PER_BYTE // 2


def to_bytes(bits):
    """⌈bits / 8⌉."""
    return ceil_div(bits, BITS_PER_BYTE)


def dram_operand_bits(weight_bits, input_bits, cap_w: int, cap_a: int) -> tuple[np.ndarray, np.ndarray]:
    """(weight, input) DRAM read bits under the reuse rule of the module docstring."""
    fits = (weight_bits <= cap_w) | (input_bits <= cap_a)
    weights_outer = weight_bits + ceil_div(weight_bits, cap_w) * input_bits
    inputs_outer = input_bits + ceil_div(input_bits, cap_a) * weight_bits
    pick_weights_outer = fits | (weights_outer <= inputs_outer)
    dram_w = np.where(pick_weights_outer, weight_bits, ceil_div(input_bits, cap_a) * weight_bits)
    dram_a = np.where(fits, input_bits,
                      np.where(pick_weights_outer, ceil_div(weight_bits, cap_w) * input_bits, input_bits))
    return dram_w, dram_a


def operand_reads(workload: Workload, folds: FoldPlan, dataflow: str) -> tuple[np.ndarray, np.ndarray]:
    """(weight, activation) elements the array reads from the buffers: the stationary operand once, a
    streamed one once per fold of the other spatial dimension (os: weights M·K per row fold, im2col input
    K·N per column fold; ws: weights once, input per column fold; is: input once, weights per column fold)."""
    weight_elems, im2col_elems = workload.m * workload.k, workload.k * workload.n
    if dataflow == "os":
        return weight_elems * folds.row_folds, im2col_elems * folds.col_folds
    if dataflow == "ws":
        return weight_elems, im2col_elems * folds.col_folds
    return weight_elems * folds.col_folds, im2col_elems


def layer_traffic(workload: Workload, folds: FoldPlan, config: ArrayConfig) -> Traffic:
    """Traffic and stalls of every layer of `workload` mapped as `folds` on `config`."""
    spec = config.spec
    w_bits = stored_bits(workload.b_w, config.layout, spec)
    a_bits = stored_bits(workload.b_a, config.layout, spec)
    m, k, n = workload.m, workload.k, workload.n
    weight_elems, outputs = m * k, m * n

    dram_w, dram_a = dram_operand_bits(weight_elems * w_bits, workload.in_elems * a_bits,
                                       half_buffer_bits(config.weight_sram_kib), half_buffer_bits(config.act_sram_kib))
    out_bits = outputs * workload.out_bits
    residual_bits = workload.residual_elems * workload.residual_bits
    psum_bits = outputs * spec.acc_bits
    splits_k = config.dataflow != "os"
    earlier_folds = (folds.row_folds - 1) if splits_k else np.zeros_like(m)
    fold_outputs = np.minimum(folds.cols_dim, folds.logical_cols) * (m * n // folds.cols_dim)
    spills = earlier_folds * (fold_outputs * spec.acc_bits > half_buffer_bits(config.out_sram_kib))
    dram_psum = 2 * spills * psum_bits

    weight_reads, act_reads = operand_reads(workload, folds, config.dataflow)
    dram_bits = (dram_w, dram_a, out_bits, dram_psum, residual_bits)
    array_bits = (weight_reads * w_bits, act_reads * a_bits, out_bits, 2 * earlier_folds * psum_bits,
                  np.zeros_like(m))
    dram = {op: to_bytes(bits) for op, bits in zip(OPERANDS, dram_bits)}
    sram = {op: to_bytes(bits) + dram[op] for op, bits in zip(OPERANDS, array_bits)}
    dram_cycles = ceil_div(sum(dram.values()), config.dram_bytes_per_cycle)
    stall = np.maximum(0, dram_cycles - (folds.busy_cycles + folds.readout_cycles + folds.load_cycles))
    return Traffic(dram, sram, weight_reads=weight_reads, act_reads=act_reads,
                   weight_view_ops=weight_reads * (workload.b_w < spec.n_bits),
                   act_view_ops=act_reads * (workload.b_a < spec.n_bits), dram_cycles=dram_cycles,
                   stall_cycles=stall, reduction_folds=folds.row_folds if splits_k else np.ones_like(m),
                   psum_spills=spills > 0)
