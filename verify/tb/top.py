"""DqtTop driver and monitor (cocotb): buffer loads, one-cycle config+start, autonomous tile run, row readout.

The driver plays the load/run protocol of rtl/top.py (its module docstring is the one description) with the
words of verify/tile_job.py load_words; the monitor collects the `out_valid` rows (bottom row first) until `done`
and checks that they fill exactly the documented cycles: one row per cycle, the last one in the cycle before
`done` rises (docs/rtl.md, Tile timing). Ports of any width are read with `port_bits` (a 1-bit port included).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge

from ..manifest import DutParams
from ..tile_job import LoadWords, TileConfig, TileJob, drain_order, load_words, tile_lanes, unpack_lanes
from .clocking import start_clock_and_reset


@dataclass
class TileRun:
    out: np.ndarray        # (R, C) signed results
    clamped: np.ndarray    # (R, C) clamp flags
    cycles_counted: int    # rising edges from the start-sampling edge to `done`
    cycles_reported: int   # the DUT's cycle counter after `done`


class TopDriver:
    """Drives DqtTop's write ports and start; counts every rising edge it waits for in `edges`."""

    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params
        self.edges = 0
        self.code_bits, self.wide_bits = params.spec.n_bits, params.config["acc_bits"]
        self._enables: dict[str, bool] = {}

    def idle(self) -> None:
        """Drive every input port (but clk/rst) to 0: no writes, no start (X-free from the first edge)."""
        for port in self.p.ports.values():
            if port.direction == "input" and port.name not in ("clk", "rst"):
                getattr(self.dut, port.name).value = 0
        self._enables = {name: False for name in ("w_we", "a_we", "p_we", "r_we")}

    async def tick(self) -> None:
        await FallingEdge(self.dut.clk)
        self.edges += 1

    def words(self, job: TileJob) -> LoadWords:
        """The buffer words of `job` at this design's lane widths."""
        return load_words(job, self.code_bits, self.wide_bits)

    async def load(self, words: LoadWords, monitor: "TopMonitor | None" = None, quiet: int = 0) -> None:
        """Write `words` (an empty list leaves that buffer as it is), all four ports in parallel: words.cycles
        cycles. `monitor`: a started tile runs meanwhile; its outputs are sampled in the load cycles after tile
        cycle `quiet` (a fused tile's load, L = max(K, R·lanes_w), can outlast the compute phase and overlap the
        drain)."""
        dut, enc = self.dut, self.p.ports
        w_words, a_words, r_words, p_rows = words.weights, words.acts, words.resid, len(words.params)
        for t in range(words.cycles):
            self._enable("w_we", t < len(w_words))
            if t < len(w_words):
                dut.w_addr.value, dut.w_data.value = t, w_words[t]
            self._enable("a_we", t < len(a_words))
            if t < len(a_words):
                dut.a_addr.value, dut.a_data.value = t, a_words[t]
            self._enable("p_we", t < p_rows)
            if t < p_rows:
                bias, m, m_r = words.params[t]
                dut.p_row.value = t
                dut.p_bias.value = enc["p_bias"].encode(bias)
                dut.p_m.value, dut.p_m_r.value = m, m_r
            self._enable("r_we", t < len(r_words))
            if t < len(r_words):
                dut.r_row.value, dut.r_data.value = t, r_words[t]
            await self.tick()
            if monitor is not None and self.edges - self._started > quiet:
                monitor.sample(self.edges - self._started)
        for name in ("w_we", "a_we", "p_we", "r_we"):
            self._enable(name, False)

    def _enable(self, name: str, on: bool) -> None:
        """Write a write-enable only when it changes (saves a simulator call per buffer row)."""
        if self._enables.get(name) != on:
            getattr(self.dut, name).value = int(on)
            self._enables[name] = on

    async def start(self, cfg: TileConfig, monitor: "TopMonitor", write_cfg: bool = True) -> None:
        """Write `cfg` and assert start in the same cycle (one edge); the tile then runs on its own.
        write_cfg=False: start on the configuration registers as they are (cfg_we = 0; `cfg` must be their value)."""
        dut = self.dut
        dut.cfg_we.value, dut.start.value = int(write_cfg), 1
        dut.cfg_b_w.value, dut.cfg_b_a.value = cfg.b_w, cfg.b_a
        dut.cfg_a_signed.value, dut.cfg_res_en.value = int(cfg.a_signed), int(cfg.res_en)
        dut.cfg_mode.value, dut.cfg_s.value, dut.cfg_k.value = self.p.out_modes[cfg.mode], cfg.s, cfg.k
        await self.tick()  # the rising edge that samples start: cycle 0 begins
        dut.cfg_we.value, dut.start.value = 0, 0
        self._started = self.edges
        monitor.begin(*tile_lanes(cfg.b_w, cfg.b_a, self.p.fusion_widths))

    async def finish(self, monitor: "TopMonitor", timeout: int, quiet: int = 0) -> TileRun:
        """Collect the started tile's output rows until done (whatever was loaded meanwhile has already run).

        `quiet`: tile cycles after start in which outputs are not sampled (the compute phase, to save simulator
        callbacks on long tiles); a tile that finishes or emits rows in them shows up as a cycle or row error."""
        dut = self.dut
        skip = quiet - (self.edges - self._started)
        if skip > 0:
            await ClockCycles(dut.clk, skip, rising=False)
            self.edges += skip
            if int(dut.done.value) or int(dut.out_valid.value):
                return TileRun(*monitor.result(self.edges - self._started), self.edges - self._started,
                               int(dut.cycles.value))
        while True:
            await self.tick()
            monitor.sample(self.edges - self._started)
            if int(dut.done.value):
                break
            if self.edges - self._started > timeout:
                raise AssertionError(f"tile did not finish within {timeout} cycles")
        out, clamped = monitor.result(self.edges - self._started)
        return TileRun(out, clamped, self.edges - self._started, int(dut.cycles.value))

    async def run(self, cfg: TileConfig, monitor: "TopMonitor", timeout: int, quiet: int = 0) -> TileRun:
        """start, then finish: one tile whose operands are already loaded."""
        await self.start(cfg, monitor)
        return await self.finish(monitor, timeout, quiet)


class TopMonitor:
    """Collects the out_valid rows of one tile into (R', C') arrays (R' = R·lanes_w, C' = C·lanes_a): row
    out_row, activation lane out_alane (fused designs; 0 otherwise) holds pixels q·C .. q·C + C-1."""

    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params
        self.out_bits = params.config["out_bits"]
        self.fused = "out_alane" in params.ports

    def begin(self, lanes_w: int = 1, lanes_a: int = 1) -> None:
        rows, cols = self.p.rows, self.p.cols
        self.lanes = (lanes_w, lanes_a)
        self.out = np.zeros((rows * lanes_w, cols * lanes_a), dtype=np.int64)
        self.clamped = np.zeros_like(self.out)
        self.seen: list[tuple[int, int]] = []
        self.valid_cycles: list[int] = []

    def sample(self, cycle: int) -> None:
        """Read the outputs in tile cycle `cycle` (rising edges since the start-sampling edge)."""
        d, cols = self.dut, self.p.cols
        if port_bits(d.out_valid, "out_valid"):
            row, q = port_bits(d.out_row, "out_row"), port_bits(d.out_alane, "out_alane") if self.fused else 0
            self.seen.append((row, q))
            self.valid_cycles.append(cycle)
            if row < self.out.shape[0] and q < self.lanes[1]:
                where = f"row {row} lane {q}"
                data = port_bits(d.out_data, f"out_data of {where}")
                bits = port_bits(d.out_clamped, f"out_clamped of {where}")
                self.out[row, q * cols:(q + 1) * cols] = unpack_lanes(data, cols, self.out_bits)
                self.clamped[row, q * cols:(q + 1) * cols] = [(bits >> j) & 1 for j in range(cols)]

    def result(self, done_cycle: int) -> tuple[np.ndarray, np.ndarray]:
        """The tile's (out, clamped); AssertionError unless the rows came in drain_order, one per cycle, in the
        len(rows) cycles just before `done_cycle` (the cycle in which `done` was first seen)."""
        want = drain_order(self.p.rows, *self.lanes)
        if self.seen != want:
            raise AssertionError(f"output rows (row, lane) seen {self.seen}, expected {want}")
        want_cycles = list(range(done_cycle - len(want), done_cycle))
        if self.valid_cycles != want_cycles:
            raise AssertionError(f"out_valid in tile cycles {self.valid_cycles}, expected {want_cycles} "
                                 f"(done in cycle {done_cycle})")
        return self.out, self.clamped


async def start_top(dut, p: DutParams) -> tuple["TopDriver", "TopMonitor"]:
    """Check the top's ports against the manifest, hold its inputs idle, start the clock and reset it; returns the
    driver and the monitor every top bench uses."""
    p.check_ports(dut)
    drv = TopDriver(dut, p)
    drv.idle()
    await start_clock_and_reset(dut)
    return drv, TopMonitor(dut, p)


def port_bits(handle, name: str) -> int:
    """The bits of an output port of any width as an unsigned int (cocotb returns a 1-bit port as a Logic and a
    wider one as a LogicArray; int() reads both); AssertionError naming `name` if a bit is X or Z."""
    value = handle.value
    if not value.is_resolvable:
        raise AssertionError(f"{name} holds X/Z bits: {value}")
    return int(value)
