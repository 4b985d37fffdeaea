"""SystolicArray: R×C output-stationary PE grid with the input skew and the edge view units.

Dataflow (rows = filters, columns = output pixels):
    w_codes lane i  = master weight code W[i, t]   in cycle t (zeros outside 0 <= t < K)
    a_codes lane j  = master activation code A[t, j] in cycle t
    row i is delayed i cycles and column j is delayed j cycles (skew registers on the N-bit codes), then each
    passes one ViewUnit (k_w for weights, signed; k_a and a_sgn for activations) at the array edge.
    PE(i, j) therefore multiplies W[i, k]·A[k, j] in cycle i + j + k; its last product lands in cycle
    (R-1)+(C-1)+(K-1), so one fold takes R + C + K - 2 cycles (sim.tile.os_fold_cycles).
Drain: with `shift`, every column's accumulators move down one row per cycle; `acc_out` lane j is the bottom
PE (R-1, j), so rows leave in the order R-1, R-2, ..., 0.

Fused mode (rtl/fused_pe.py): w_codes holds R·L lanes and a_codes C·L lanes (L = max_lanes); logical filter
f = p·R + i enters row i as its weight lane p, logical pixel g = q·C + j enters column j as its activation lane q,
so the array computes an (R·lanes_w) × (C·lanes_a) logical tile. Each lane has its own skew chain and view unit;
the views of one row (column) are packed into its N-bit operand port, lane p in bits [p·w, (p+1)·w) with
w = N >> mode (lanes = 2^mode). Drain: only lane pair (drain_p, drain_q) shifts; `acc_out` lane j is that lane
pair of the bottom PE (R-1, j).
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .fused_pe import lane_pair_fields
from .params import RtlConfig
from .units import add_unit


def array_signature(config: RtlConfig) -> dict:
    rows, cols, n, lanes = config.rows, config.cols, config.code_bits, config.max_lanes
    ports = {
        "w_codes": In(unsigned(rows * lanes * n)),
        "a_codes": In(unsigned(cols * lanes * n)),
        "k_w": In(unsigned(config.view_shift_bits)),
        "k_a": In(unsigned(config.view_shift_bits)),
        "a_sgn": In(1),
        "en": In(1), "clear": In(1), "shift": In(1),
        "acc_out": Out(unsigned(cols * config.acc_bits)),
    }
    if config.pe_mode == "fused":
        mode, lane = unsigned(config.lane_mode_bits), unsigned(config.lane_mode_bits + 1)
        ports.update({"mode_w": In(mode), "mode_a": In(mode), "drain_p": In(lane), "drain_q": In(lane)})
    return ports


class SystolicArray(wiring.Component):
    """macros: the PEs and view units as instances of their one Verilog module each (rtl/units.py; what rtl/emit.py
    writes), else Amaranth submodules (what amaranth.sim runs)."""

    def __init__(self, config: RtlConfig, macros: bool = False):
        self._config = config
        self._macros = macros
        super().__init__(array_signature(config))

    def _skewed_view(self, m: Module, code, delay: int, name: str, sgn, k):
        """Delay `code` by `delay` registers, then take its view; returns the ViewUnit output."""
        for d in range(delay):
            reg = Signal(unsigned(self._config.code_bits), name=f"{name}_skew{d}")
            m.d.sync += reg.eq(code)
            code = reg
        unit = add_unit(m, f"{name}_view", "view_unit", self._config, self._macros)
        m.d.comb += [unit.q.eq(code), unit.sgn.eq(sgn), unit.k.eq(k)]
        return unit.v

    def _packed_edge(self, m: Module, views: list, mode, name: str):
        """The N-bit operand word of one row/column: lane p = views[p] in bits [p·w, (p+1)·w), w = N >> mode."""
        n = self._config.code_bits
        word = Signal(unsigned(n), name=name)
        with m.Switch(mode):
            for j in range(len(self._config.fusion_widths)):
                with m.Case(j):
                    m.d.comb += word.eq(Cat(*(views[p][:n >> j] for p in range(1 << j))))
        return word

    def elaborate(self, platform):
        cfg = self._config
        rows, cols, n, lanes = cfg.rows, cfg.cols, cfg.code_bits, cfg.max_lanes
        fused = cfg.pe_mode == "fused"
        m = Module()
        w_views = [[self._skewed_view(m, self.w_codes.word_select(p * rows + i, n), i,
                                      f"w{i}" if p == 0 else f"w{i}_lane{p}", 1, self.k_w) for p in range(lanes)]
                   for i in range(rows)]
        a_views = [[self._skewed_view(m, self.a_codes.word_select(q * cols + j, n), j,
                                      f"a{j}" if q == 0 else f"a{j}_lane{q}", self.a_sgn, self.k_a) for q in range(lanes)]
                   for j in range(cols)]
        if fused:
            w_edge = [self._packed_edge(m, w_views[i], self.mode_w, f"w{i}_packed") for i in range(rows)]
            a_edge = [self._packed_edge(m, a_views[j], self.mode_a, f"a{j}_packed") for j in range(cols)]
        else:
            w_edge, a_edge = [v[0] for v in w_views], [v[0] for v in a_views]
        grid = [[None] * cols for _ in range(rows)]
        for i in range(rows):
            for j in range(cols):
                pe = grid[i][j] = add_unit(m, f"pe_{i}_{j}", "pe", cfg, self._macros)
                m.d.comb += [
                    pe.w_in.eq(w_edge[i] if j == 0 else grid[i][j - 1].w_out),
                    pe.a_in.eq(a_edge[j] if i == 0 else grid[i - 1][j].a_out),
                    pe.acc_in.eq(0 if i == 0 else grid[i - 1][j].acc),
                    pe.en.eq(self.en), pe.clear.eq(self.clear), pe.shift.eq(self.shift),
                ]
                if fused:
                    m.d.comb += [pe.a_sgn.eq(self.a_sgn), pe.mode_w.eq(self.mode_w), pe.mode_a.eq(self.mode_a),
                                 pe.drain_p.eq(self.drain_p), pe.drain_q.eq(self.drain_q)]
        for j in range(cols):
            bottom = grid[rows - 1][j].acc
            if fused:
                with m.Switch(Cat(self.drain_q, self.drain_p)):
                    for name, (p, q) in lane_pair_fields(cfg).items():
                        with m.Case(q | (p << (cfg.lane_mode_bits + 1))):  # sign-extended to ACC bits
                            m.d.comb += self.acc_out.word_select(j, cfg.acc_bits).eq(bottom[name])
            else:
                m.d.comb += self.acc_out.word_select(j, cfg.acc_bits).eq(bottom)
        return m
