"""DqtTop: operand buffers, config and per-row registers, the tile FSM, the array, C output units, cycle counter.

One tile = R filters × C output pixels over the full reduction K (1 <= K <= K_MAX), run autonomously after `start`:
    cycle 0 .. F-1          COMPUTE  F = R + C + K - 2 (os_fold_cycles); buffer row t feeds the array in cycle t
    cycle F .. F+R-1        DRAIN    bottom row of accumulators -> C output units -> output register; shift down
    cycle F+R               FLUSH    the last output row is on out_data
    total T = F + R + 1 = sim.tile.os_tile_cycles(R, C, K); afterwards busy = 0, done = 1, cycles = T.
Cycle 0 is the cycle after the clock edge that samples `start` (in idle); the buffers' synchronous read of row 0
happens in the start cycle itself, so it costs nothing extra.
All write ports (cfg_*, w_*, a_*, p_*, r_*) take effect at the clock edge and are ignored while busy.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .array import SystolicArray
from .output_unit import OutputUnit
from .params import RtlConfig


def top_signature(cfg: RtlConfig) -> dict:
    """Port map of the top module (name -> In/Out(shape)); docs/rtl.md documents each port."""
    rows, cols, n = cfg.rows, cfg.cols, cfg.code_bits
    return {
        "cfg_we": In(1), "cfg_b_w": In(unsigned(cfg.width_bits)), "cfg_b_a": In(unsigned(cfg.width_bits)),
        "cfg_a_signed": In(1), "cfg_mode": In(unsigned(2)), "cfg_s": In(unsigned(cfg.shift_bits)),
        "cfg_res_en": In(1), "cfg_k": In(unsigned(cfg.k_len_bits)),
        "w_we": In(1), "w_addr": In(unsigned(cfg.k_addr_bits)), "w_data": In(unsigned(rows * n)),
        "a_we": In(1), "a_addr": In(unsigned(cfg.k_addr_bits)), "a_data": In(unsigned(cols * n)),
        "p_we": In(1), "p_row": In(unsigned(cfg.row_bits)), "p_bias": In(signed(cfg.wide_bits)),
        "p_m": In(unsigned(cfg.m_bits)), "p_m_r": In(unsigned(cfg.m_bits)),
        "r_we": In(1), "r_row": In(unsigned(cfg.row_bits)), "r_data": In(unsigned(cols * cfg.wide_bits)),
        "start": In(1), "busy": Out(1), "done": Out(1), "cycles": Out(unsigned(cfg.cycle_bits)),
        "out_valid": Out(1), "out_row": Out(unsigned(cfg.row_bits)),
        "out_data": Out(unsigned(cols * cfg.out_bits)), "out_clamped": Out(unsigned(cols)),
    }


PORT_DOCS = {
    "clk": "clock, rising edge", "rst": "synchronous reset, active high",
    "cfg_we": "write every cfg_* register at this edge (ignored while busy)",
    "cfg_b_w": "weight view width b_w in [2, N]", "cfg_b_a": "activation view width b_a in [2, N]",
    "cfg_a_signed": "activation master codes are signed (network input image)",
    "cfg_mode": "0 relu, 1 signed N-bit, 2 logits, 3 wide (acc'+bias)", "cfg_s": "requant shift s in [0, 62]",
    "cfg_res_en": "add r*m_r in the requant", "cfg_k": "reduction length K of the tile, 1 <= K <= K_MAX",
    "w_we": "write weight buffer row w_addr (ignored while busy)", "w_addr": "weight buffer row k",
    "w_data": "R lanes of N bits: lane i = W[i, k]",
    "a_we": "write activation buffer row a_addr (ignored while busy)", "a_addr": "activation buffer row k",
    "a_data": "C lanes of N bits: lane j = A[k, j]",
    "p_we": "write bias/m/m_r of row p_row (ignored while busy)", "p_row": "tile row (filter) index",
    "p_bias": "bias of the row, ACC-bit signed", "p_m": "requant multiplier m of the row",
    "p_m_r": "residual multiplier m_r of the row",
    "r_we": "write residual row r_row (ignored while busy)", "r_row": "tile row index",
    "r_data": "C lanes of ACC bits (signed): lane j = r[row, j]",
    "start": "start one tile (sampled while idle)", "busy": "1 during the os_tile_cycles(R, C, K) tile cycles",
    "done": "sticky: set at the end of a tile, cleared by start",
    "cycles": "tile cycle counter; after done it equals os_tile_cycles(R, C, K)",
    "out_valid": "an output row is on out_data (R consecutive cycles at the end of the tile)",
    "out_row": "row of out_data, R-1 first down to 0",
    "out_data": "C lanes of OUT bits (signed): lane j = y[out_row, j]",
    "out_clamped": "C bits: lane j's requant result was clamped",
}


class DqtTop(wiring.Component):
    def __init__(self, config: RtlConfig):
        self._config = config
        super().__init__(top_signature(config))

    def elaborate(self, platform):
        cfg = self._config
        rows, cols, n = cfg.rows, cfg.cols, cfg.code_bits
        m = Module()
        idle = Signal()
        m.d.comb += [self.busy.eq(~idle)]

        # ---- configuration registers (one write sets all) ----------------------------------------
        b_w = Signal(unsigned(cfg.width_bits), init=n)
        b_a = Signal(unsigned(cfg.width_bits), init=n)
        a_signed, res_en = Signal(), Signal()
        mode = Signal(unsigned(2))
        shift_s = Signal(unsigned(cfg.shift_bits))
        k_len = Signal(unsigned(cfg.k_len_bits), init=1)
        with m.If(self.cfg_we & idle):
            m.d.sync += [b_w.eq(self.cfg_b_w), b_a.eq(self.cfg_b_a), a_signed.eq(self.cfg_a_signed),
                         mode.eq(self.cfg_mode), shift_s.eq(self.cfg_s), res_en.eq(self.cfg_res_en),
                         k_len.eq(self.cfg_k)]
        k_w = Signal(unsigned(cfg.view_shift_bits))  # view shifts k = N - b: a width switch is only this
        k_a = Signal(unsigned(cfg.view_shift_bits))
        m.d.comb += [k_w.eq(n - b_w), k_a.eq(n - b_a)]

        # ---- operand buffers: row k holds W[:, k] (R lanes) / A[k, :] (C lanes), one row per write ---
        m.submodules.w_buf = w_buf = Memory(shape=unsigned(rows * n), depth=cfg.k_max, init=[])
        m.submodules.a_buf = a_buf = Memory(shape=unsigned(cols * n), depth=cfg.k_max, init=[])
        reads = []
        for buf, we, addr, wdata in ((w_buf, self.w_we, self.w_addr, self.w_data),
                                    (a_buf, self.a_we, self.a_addr, self.a_data)):
            wr = buf.write_port()
            m.d.comb += [wr.en.eq(we & idle), wr.addr.eq(addr), wr.data.eq(wdata)]
            reads.append(buf.read_port())

        # ---- per-row (= per-filter) bias / m / m_r and per-output residual rows: R-deep memories ------
        # read synchronously one cycle ahead of the drain row that uses them (see `row_addr` below)
        param_layout = data.StructLayout({"bias": signed(cfg.wide_bits), "m": unsigned(cfg.m_bits),
                                          "m_r": unsigned(cfg.m_bits)})
        m.submodules.p_buf = p_buf = Memory(shape=param_layout, depth=rows, init=[])
        m.submodules.r_buf = r_buf = Memory(shape=unsigned(cols * cfg.wide_bits), depth=rows, init=[])
        p_wr, r_wr = p_buf.write_port(), r_buf.write_port()
        m.d.comb += [p_wr.en.eq(self.p_we & idle), p_wr.addr.eq(self.p_row), p_wr.data.bias.eq(self.p_bias),
                     p_wr.data.m.eq(self.p_m), p_wr.data.m_r.eq(self.p_m_r),
                     r_wr.en.eq(self.r_we & idle), r_wr.addr.eq(self.r_row), r_wr.data.eq(self.r_data)]
        p_rd, r_rd = p_buf.read_port(), r_buf.read_port()

        # ---- tile FSM and cycle counter ------------------------------------------------------------
        count = Signal(unsigned(cfg.cycle_bits))
        m.d.comb += self.cycles.eq(count)
        fold_last = Signal(unsigned(cfg.cycle_bits))  # last compute cycle: R + C + K - 3
        m.d.comb += fold_last.eq(k_len + (rows + cols - 3))
        drain_row = Signal(unsigned(cfg.row_bits))
        draining = Signal()
        row_addr = Signal(unsigned(cfg.row_bits))  # row read this cycle = drain row of the next cycle
        m.d.comb += [row_addr.eq(Mux(draining, drain_row - 1, rows - 1)), p_rd.addr.eq(row_addr),
                     r_rd.addr.eq(row_addr)]
        array = m.submodules.array = SystolicArray(cfg)
        feed = Signal()  # buffer row `count` is valid this cycle
        for read in reads:
            m.d.comb += read.addr.eq(Mux(idle, 0, count + 1))
        m.d.comb += [array.w_codes.eq(Mux(feed, reads[0].data, 0)), array.a_codes.eq(Mux(feed, reads[1].data, 0)),
                     array.k_w.eq(k_w), array.k_a.eq(k_a), array.a_sgn.eq(a_signed)]
        m.d.sync += self.out_valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += idle.eq(1)
                with m.If(self.start):
                    m.d.comb += array.clear.eq(1)
                    m.d.sync += [count.eq(0), self.done.eq(0)]
                    m.next = "COMPUTE"
            with m.State("COMPUTE"):
                m.d.comb += [array.en.eq(1), feed.eq(count < k_len)]
                m.d.sync += count.eq(count + 1)
                with m.If(count == fold_last):
                    m.d.sync += drain_row.eq(rows - 1)
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += [array.shift.eq(1), draining.eq(1)]
                m.d.sync += [count.eq(count + 1), drain_row.eq(drain_row - 1), self.out_valid.eq(1),
                             self.out_row.eq(drain_row)]
                with m.If(drain_row == 0):
                    m.next = "FLUSH"
            with m.State("FLUSH"):
                m.d.sync += [count.eq(count + 1), self.done.eq(1)]
                m.next = "IDLE"

        # ---- output units: one per column, fed by the bottom PE row while draining -----------------
        for j in range(cols):
            unit = m.submodules[f"out_{j}"] = OutputUnit(cfg)
            m.d.comb += [
                unit.acc.eq(array.acc_out.word_select(j, cfg.acc_bits).as_signed()),
                unit.align.eq(k_w + k_a), unit.bias.eq(p_rd.data.bias), unit.m.eq(p_rd.data.m),
                unit.m_r.eq(p_rd.data.m_r), unit.r.eq(r_rd.data.word_select(j, cfg.wide_bits).as_signed()),
                unit.res_en.eq(res_en), unit.s.eq(shift_s), unit.mode.eq(mode),
            ]
            with m.If(array.shift):
                m.d.sync += [self.out_data.word_select(j, cfg.out_bits).eq(unit.y), self.out_clamped[j].eq(unit.clamped)]
        return m
