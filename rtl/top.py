"""DqtTop: double-buffered operand buffers, config registers, the tile FSM, the array, C output units, cycle counter.

The load/run protocol (the one description; docs/rtl.md and the drivers in verify/ follow it):

Load. The weight (w), activation (a), bias/m/m_r (p) and residual (r) buffers each have two banks. Writes always
go to the *load bank*, idle or busy, one row per port per cycle, all four ports in parallel: K rows W[:, k]
(R lanes), K rows A[k, :] (C lanes), R rows (bias, m, m_r), R residual rows; a tile loads in
L = max(K, R) cycles (sim.tile.os_load_cycles). No buffer write may share the cycle that asserts `start`.

Run. `start` is sampled while idle, together with the configuration (cfg_we = 1: widths, signedness, mode,
shift, residual enable, K), so a width switch costs no cycle. If any buffer row was written since the previous
start, the banks swap: the tile computes on the bank just loaded and later writes fill the other one (the next
tile loads while this one runs); otherwise the tile runs again on the operands of the previous one. The tile
then runs autonomously:
    cycle 0 .. F-1          COMPUTE  F = R + C + K - 2 (os_fold_cycles); buffer row t feeds the array in cycle t
    cycle F .. F+R-1        DRAIN    bottom row of accumulators -> C output units -> output register; shift down
    cycle F+R               FLUSH    the last output row is on out_data
    total T = F + R + 1 = sim.tile.os_tile_cycles(R, C, K); afterwards busy = 0, done = 1, cycles = T.
Cycle 0 is the cycle after the clock edge that samples `start`; the buffers' synchronous read of row 0 happens in
the start cycle itself. Back to back, a layer of n tiles takes L + Σ (1 + max(T, L)) cycles, the last tile
without a following load: sim.tile.os_layer_schedule. cfg_* writes are ignored while busy.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .array import SystolicArray
from .buffer import buffer_bank
from .params import RtlConfig, bits_for
from .units import add_unit


def top_signature(cfg: RtlConfig) -> dict:
    """Port map of the top module (name -> In/Out(shape)); docs/rtl.md documents each port."""
    rows, cols, n, lanes = cfg.rows, cfg.cols, cfg.code_bits, cfg.max_lanes
    ports = {
        "cfg_we": In(1), "cfg_b_w": In(unsigned(cfg.width_bits)), "cfg_b_a": In(unsigned(cfg.width_bits)),
        "cfg_a_signed": In(1), "cfg_mode": In(unsigned(2)), "cfg_s": In(unsigned(cfg.shift_bits)),
        "cfg_res_en": In(1), "cfg_k": In(unsigned(cfg.k_len_bits)),
        "w_we": In(1), "w_addr": In(unsigned(cfg.k_addr_bits)), "w_data": In(unsigned(rows * lanes * n)),
        "a_we": In(1), "a_addr": In(unsigned(cfg.k_addr_bits)), "a_data": In(unsigned(cols * lanes * n)),
        "p_we": In(1), "p_row": In(unsigned(cfg.filter_row_bits)), "p_bias": In(signed(cfg.wide_bits)),
        "p_m": In(unsigned(cfg.m_bits)), "p_m_r": In(unsigned(cfg.m_bits)),
        "r_we": In(1), "r_row": In(unsigned(cfg.filter_row_bits)),
        "r_data": In(unsigned(cols * lanes * cfg.wide_bits)),
        "start": In(1), "busy": Out(1), "done": Out(1), "cycles": Out(unsigned(cfg.cycle_bits)),
        "out_valid": Out(1), "out_row": Out(unsigned(cfg.filter_row_bits)),
        "out_data": Out(unsigned(cols * cfg.out_bits)), "out_clamped": Out(unsigned(cols)),
    }
    if cfg.pe_mode == "fused":
        ports["out_alane"] = Out(unsigned(bits_for(lanes - 1)))
    return ports


PORT_DOCS = {
    "clk": "clock, rising edge", "rst": "synchronous reset, active high",
    "cfg_we": "write every cfg_* register at this edge (ignored while busy)",
    "cfg_b_w": "weight view width b_w in [2, N]", "cfg_b_a": "activation view width b_a in [2, N]",
    "cfg_a_signed": "activation master codes are signed (network input image)",
    "cfg_mode": "0 relu, 1 signed N-bit, 2 logits, 3 wide (acc'+bias)", "cfg_s": "requant shift s in [0, 62]",
    "cfg_res_en": "add r*m_r in the requant", "cfg_k": "reduction length K of the tile, 1 <= K <= K_MAX",
    "w_we": "write weight buffer row w_addr of the load bank (also while busy)", "w_addr": "weight buffer row k",
    "w_data": "R lanes of N bits: lane i = W[i, k]",
    "a_we": "write activation buffer row a_addr of the load bank (also while busy)", "a_addr": "activation buffer row k",
    "a_data": "C lanes of N bits: lane j = A[k, j]",
    "p_we": "write bias/m/m_r of row p_row of the load bank (also while busy)", "p_row": "tile row (filter) index",
    "p_bias": "bias of the row, ACC-bit signed", "p_m": "requant multiplier m of the row",
    "p_m_r": "residual multiplier m_r of the row",
    "r_we": "write residual row r_row of the load bank (also while busy)", "r_row": "tile row index",
    "r_data": "C lanes of ACC bits (signed): lane j = r[row, j]",
    "start": "start one tile (sampled while idle); swaps the buffer banks if any row was written since the last start", "busy": "1 during the os_tile_cycles(R, C, K) tile cycles",
    "done": "sticky: set at the end of a tile, cleared by start",
    "cycles": "tile cycle counter; after done it equals os_tile_cycles(R, C, K)",
    "out_valid": "an output row is on out_data (R consecutive cycles at the end of the tile)",
    "out_row": "row of out_data, R-1 first down to 0",
    "out_data": "C lanes of OUT bits (signed): lane j = y[out_row, j]",
    "out_clamped": "C bits: lane j's requant result was clamped",
    "out_alane": "fused: activation lane q of out_data: lane j = y[out_row, q·C + j]",
}


class DqtTop(wiring.Component):
    """macros: the operand-buffer banks as RAM_MODULE instances (rtl/buffer.py) and the units (PEs, view and output
    units) as instances of their one Verilog module each (rtl/units.py), which is what rtl/emit.py writes; else
    amaranth Memories and submodules (what amaranth.sim runs)."""

    def __init__(self, config: RtlConfig, macros: bool = False):
        self._config = config
        self._macros = macros
        super().__init__(top_signature(config))

    def elaborate(self, platform):
        cfg = self._config
        rows, cols, n = cfg.rows, cfg.cols, cfg.code_bits
        m = Module()
        idle = Signal()
        stuck = {"busy_stuck_0": 0, "busy_stuck_1": 1}  # deliberate faults (rtl/params.py FAULTS)
        m.d.comb += [self.busy.eq(stuck.get(cfg.fault, ~idle))]

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
        # lane modes (fused): j = log2(N / w), w the smallest supported width >= b (fixed mode: always 0)
        mode_w = Signal(unsigned(cfg.lane_mode_bits))
        mode_a = Signal(unsigned(cfg.lane_mode_bits))
        for mode_sig, b in ((mode_w, b_w), (mode_a, b_a)):
            m.d.comb += mode_sig.eq(sum(b <= (n >> j) for j in range(1, len(cfg.fusion_widths))))
        lanes_w = Signal(unsigned(cfg.lane_mode_bits + 1))  # 2^mode: operands per port
        lanes_a = Signal(unsigned(cfg.lane_mode_bits + 1))
        m.d.comb += [lanes_w.eq(1 << mode_w), lanes_a.eq(1 << mode_a)]

        # ---- double-buffered operand buffers: bank `load_bank` takes writes, bank `run_bank` feeds the tile ----
        # w/a row k holds W[:, k] (R lanes) / A[k, :] (C lanes); p/r row i holds bias/m/m_r / residual row i of
        # filter i, read synchronously one cycle ahead of the drain row that uses it (see `row_addr` below)
        load_bank, run_bank = Signal(), Signal()
        loaded = Signal()  # a buffer row was written since the last start
        param_layout = data.StructLayout({"bias": signed(cfg.wide_bits), "m": unsigned(cfg.m_bits),
                                          "m_r": unsigned(cfg.m_bits)})
        buffers = {  # name: (shape, depth, write enable, write address, write data)
            "w": (unsigned(rows * cfg.max_lanes * n), cfg.k_max, self.w_we, self.w_addr, self.w_data),
            "a": (unsigned(cols * cfg.max_lanes * n), cfg.k_max, self.a_we, self.a_addr, self.a_data),
            "p": (unsigned(param_layout.size), cfg.filter_rows, self.p_we, self.p_row,
                  Cat(self.p_bias, self.p_m, self.p_m_r)),
            "r": (unsigned(cols * cfg.max_lanes * cfg.wide_bits), cfg.filter_rows, self.r_we, self.r_row, self.r_data),
        }
        k_read = Signal(unsigned(cfg.k_addr_bits))  # w/a row read this cycle (both banks read the same row)
        row_addr = Signal(unsigned(cfg.filter_row_bits))  # p/r row read this cycle = filter drained next cycle
        read_data_of = {}
        # fault write_run_bank: writes during a tile land in the bank the tile reads
        write_bank = Mux(idle, load_bank, run_bank) if cfg.fault == "write_run_bank" else load_bank
        for name, (shape, depth, we, addr, wdata) in buffers.items():
            read_data_of[name] = [
                buffer_bank(m, f"{name}_buf{bank}", shape.width, depth, we & (write_bank == bank), addr, wdata,
                            k_read if name in ("w", "a") else row_addr, self._macros)
                for bank in (0, 1)]
        with m.If(self.w_we | self.a_we | self.p_we | self.r_we):
            m.d.sync += loaded.eq(1)

        def read_data(name):
            """The run bank's read data of buffer `name` (both banks read the same address)."""
            return Mux(run_bank, read_data_of[name][1], read_data_of[name][0])

        p_data, r_data = read_data("p"), read_data("r")

        # ---- tile FSM and cycle counter ------------------------------------------------------------
        count = Signal(unsigned(cfg.cycle_bits))
        m.d.comb += self.cycles.eq(count)
        fold_last = Signal(unsigned(cfg.cycle_bits))  # last compute cycle: R + C + K - 3
        m.d.comb += fold_last.eq(k_len + (rows + cols - 3))
        drain_row = Signal(unsigned(cfg.row_bits))
        drain_p = Signal(unsigned(cfg.lane_mode_bits + 1))  # lane pair being drained (fused; 0 in fixed mode)
        drain_q = Signal(unsigned(cfg.lane_mode_bits + 1))
        last_row = Signal()  # drain_row == 0: the lane pair's last row
        next_p = Signal(unsigned(cfg.lane_mode_bits + 1))  # weight lane after the current lane pair
        m.d.comb += [last_row.eq(drain_row == 0), next_p.eq(Mux(drain_p + 1 == lanes_w, 0, drain_p + 1))]
        draining = Signal()
        array = m.submodules.array = SystolicArray(cfg, self._macros)
        feed = Signal()  # buffer row `count` is valid this cycle
        m.d.comb += [k_read.eq(Mux(idle, 0, count + 1)), row_addr.eq(Mux(draining & ~last_row, drain_p * rows + drain_row - 1,
                                     Mux(draining, next_p, 0) * rows + rows - 1)),
                     array.w_codes.eq(Mux(feed, read_data("w"), 0)), array.a_codes.eq(Mux(feed, read_data("a"), 0)),
                     array.k_w.eq(k_w), array.k_a.eq(k_a), array.a_sgn.eq(a_signed)]
        if cfg.pe_mode == "fused":
            m.d.comb += [array.mode_w.eq(mode_w), array.mode_a.eq(mode_a), array.drain_p.eq(drain_p),
                         array.drain_q.eq(drain_q)]
            with m.If(array.shift):
                m.d.sync += self.out_alane.eq(drain_q)
        m.d.sync += self.out_valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += idle.eq(1)
                with m.If(self.start):
                    m.d.comb += array.clear.eq(1)
                    m.d.sync += [count.eq(0), self.done.eq(0)]
                    with m.If(loaded):  # swap: run on the bank just loaded, load the other one
                        m.d.sync += [run_bank.eq(load_bank), load_bank.eq(~load_bank), loaded.eq(0)]
                    m.next = "COMPUTE"
            with m.State("COMPUTE"):
                m.d.comb += [array.en.eq(1), feed.eq(count < k_len)]
                m.d.sync += count.eq(count + 1)
                with m.If(count == fold_last):
                    m.d.sync += [drain_row.eq(rows - 1), drain_p.eq(0), drain_q.eq(0)]
                    m.next = "DRAIN"
            with m.State("DRAIN"):  # lane pairs (p, q) in the order q, then p; rows R-1 .. 0 of each
                m.d.comb += [array.shift.eq(1), draining.eq(1)]
                m.d.sync += [count.eq(count + 1), drain_row.eq(drain_row - 1), self.out_valid.eq(1),
                             self.out_row.eq(drain_p * rows + drain_row)]
                with m.If(last_row):
                    m.d.sync += [drain_row.eq(rows - 1), drain_p.eq(next_p)]
                    with m.If(next_p == 0):
                        m.d.sync += drain_q.eq(drain_q + 1)
                        with m.If(drain_q + 1 == lanes_a):
                            m.next = "FLUSH"
            with m.State("FLUSH"):
                m.d.sync += [count.eq(count + 1), self.done.eq(1)]
                m.next = "IDLE"

        # ---- output units: one per column, fed by the bottom PE row while draining -----------------
        p_fields = data.View(param_layout, p_data)
        for j in range(cols):
            unit = add_unit(m, f"out_{j}", "output_unit", cfg, self._macros)
            m.d.comb += [
                unit.acc.eq(array.acc_out.word_select(j, cfg.acc_bits).as_signed()),
                unit.align.eq(k_w + k_a), unit.bias.eq(p_fields.bias), unit.m.eq(p_fields.m),
                unit.m_r.eq(p_fields.m_r),
                unit.r.eq(r_data.word_select(drain_q * cols + j if cfg.max_lanes > 1 else j, cfg.wide_bits).as_signed()),
                unit.res_en.eq(res_en), unit.s.eq(shift_s), unit.mode.eq(mode),
            ]
            with m.If(array.shift):
                m.d.sync += [self.out_data.word_select(j, cfg.out_bits).eq(unit.y), self.out_clamped[j].eq(unit.clamped)]
        return m
