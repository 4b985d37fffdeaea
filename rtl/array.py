"""SystolicArray: R×C output-stationary PE grid with the input skew and the R + C edge view units.

Dataflow (rows = filters, columns = output pixels):
    w_codes lane i  = master weight code W[i, t]   in cycle t (zeros outside 0 <= t < K)
    a_codes lane j  = master activation code A[t, j] in cycle t
    row i is delayed i cycles and column j is delayed j cycles (skew registers on the N-bit codes), then each
    passes one ViewUnit (k_w for weights, signed; k_a and a_sgn for activations) at the array edge.
    PE(i, j) therefore multiplies W[i, k]·A[k, j] in cycle i + j + k; its last product lands in cycle
    (R-1)+(C-1)+(K-1), so one fold takes R + C + K - 2 cycles (sim.tile.os_fold_cycles).
Drain: with `shift`, every column's accumulators move down one row per cycle; `acc_out` lane j is the bottom
PE (R-1, j), so rows leave in the order R-1, R-2, ..., 0.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import RtlConfig
from .pe import PE
from .view_unit import ViewUnit


class SystolicArray(wiring.Component):
    def __init__(self, config: RtlConfig):
        self._config = config
        rows, cols, n = config.rows, config.cols, config.code_bits
        super().__init__({
            "w_codes": In(unsigned(rows * n)),
            "a_codes": In(unsigned(cols * n)),
            "k_w": In(unsigned(config.view_shift_bits)),
            "k_a": In(unsigned(config.view_shift_bits)),
            "a_sgn": In(1),
            "en": In(1), "clear": In(1), "shift": In(1),
            "acc_out": Out(unsigned(cols * config.acc_bits)),
        })

    def _skewed_view(self, m: Module, code, delay: int, name: str, sgn, k):
        """Delay `code` by `delay` registers, then take its view; returns the ViewUnit output."""
        for d in range(delay):
            reg = Signal(unsigned(self._config.code_bits), name=f"{name}_skew{d}")
            m.d.sync += reg.eq(code)
            code = reg
        unit = m.submodules[f"{name}_view"] = ViewUnit(self._config)
        m.d.comb += [unit.q.eq(code), unit.sgn.eq(sgn), unit.k.eq(k)]
        return unit.v

    def elaborate(self, platform):
        cfg = self._config
        rows, cols, n = cfg.rows, cfg.cols, cfg.code_bits
        m = Module()
        w_edge = [self._skewed_view(m, self.w_codes.word_select(i, n), i, f"w{i}", 1, self.k_w) for i in range(rows)]
        a_edge = [self._skewed_view(m, self.a_codes.word_select(j, n), j, f"a{j}", self.a_sgn, self.k_a)
                  for j in range(cols)]
        grid = [[None] * cols for _ in range(rows)]
        for i in range(rows):
            for j in range(cols):
                pe = grid[i][j] = m.submodules[f"pe_{i}_{j}"] = PE(cfg)
                m.d.comb += [
                    pe.w_in.eq(w_edge[i] if j == 0 else grid[i][j - 1].w_out),
                    pe.a_in.eq(a_edge[j] if i == 0 else grid[i - 1][j].a_out),
                    pe.acc_in.eq(0 if i == 0 else grid[i - 1][j].acc),
                    pe.en.eq(self.en), pe.clear.eq(self.clear), pe.shift.eq(self.shift),
                ]
        for j in range(cols):
            m.d.comb += self.acc_out.word_select(j, cfg.acc_bits).eq(grid[rows - 1][j].acc)
        return m
