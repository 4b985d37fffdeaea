"""The load/run protocol of DqtTop (rtl/top.py, docs/rtl.md) as assertions, checked every clock cycle.

`ProtocolModel` is a reference of the top's control: fed the inputs each rising edge samples, it predicts every
status output after that edge; `ProtocolChecker` (cocotb) samples the DUT once per cycle and scores each rule.
Tile cycle i is the cycle after the i-th edge following the edge that sampled `start` (i = 0 .. T-1),
T = sim.tile.os_tile_cycles(R, C, K, lanes_w·lanes_a), R' = R·lanes_w·lanes_a output rows.

    P1 reset      after reset: busy = 0, done = 0, out_valid = 0, cycles = 0; the configuration registers hold
                  b_w = b_a = N, a_signed = 0, mode = relu (0), s = 0, res_en = 0, K = 1 (RESET_CONFIG)
    P2 start      `start` is obeyed only while idle (busy = 0); while busy it is ignored
    P3 config     cfg_we writes every cfg_* register at an idle edge (also the edge that samples start: a width
                  switch costs no cycle); while busy it is ignored; a tile runs with the registers' values
    P4 busy       busy = 1 exactly in tile cycles 0 .. T-1 (T from the registers' K and widths)
    P5 done       done = 0 from the start edge until the tile ends, then 1 until the next start (sticky)
    P6 cycles     cycles = i in tile cycle i, = T after the tile until the next start, 0 after reset
    P7 out_valid  out_valid = 1 exactly in tile cycles T-R' .. T-1 (the last R' busy cycles), 0 otherwise
    P8 out_row    while out_valid, (out_row, out_alane) follows drain_order: lane pairs q, then p, rows R-1 .. 0
    P9 out_data   while out_valid, out_data and out_clamped hold no X/Z bits (their values: the scoreboards)
    P10 buffers   buffer writes go to the load bank, idle or busy: a write during a tile never changes that
                  tile's outputs and the next start computes on it (checked by the protocol bench's scoreboard)

Every rule check counts as one vector of the `protocol` scoreboard; a violation is one mismatch, indexed by
(rule, cycle). The checker also counts protocol events for the coverage table (verify/coverage.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import cocotb
from cocotb.triggers import FallingEdge

from sim.tile import os_tile_cycles

from .scoreboard import Scoreboard
from .tile_job import drain_order, tile_lanes

CFG_PORTS = ("cfg_b_w", "cfg_b_a", "cfg_a_signed", "cfg_mode", "cfg_s", "cfg_res_en", "cfg_k")
WRITE_ENABLES = ("w_we", "a_we", "p_we", "r_we")


@dataclass(frozen=True)
class Registers:
    """The configuration registers as the ports encode them (cfg_mode as its code)."""

    cfg_b_w: int
    cfg_b_a: int
    cfg_a_signed: int
    cfg_mode: int
    cfg_s: int
    cfg_res_en: int
    cfg_k: int


def reset_registers(n_bits: int) -> Registers:
    """RESET_CONFIG of rule P1: b_w = b_a = N, a_signed 0, mode 0 (relu), s 0, res_en 0, K 1."""
    return Registers(n_bits, n_bits, 0, 0, 0, 0, 1)


@dataclass(frozen=True)
class EdgeInputs:
    """What one rising edge samples: rst, start, cfg_we, the cfg_* values, and whether any buffer is written."""

    rst: int
    start: int
    cfg_we: int
    cfg: Registers | None   # None when cfg_we = 0
    write: bool


@dataclass(frozen=True)
class Status:
    """The top's status outputs after one edge (out_row/out_alane only meaningful while out_valid)."""

    busy: int
    done: int
    cycles: int
    out_valid: int
    out_row: tuple[int, int] | None


class ProtocolModel:
    """Predicts the status outputs of DqtTop (rules P1-P8) edge by edge; counts protocol events."""

    def __init__(self, rows: int, cols: int, n_bits: int, fusion_widths: tuple[int, ...]):
        self.rows, self.cols, self.n_bits, self.fusion_widths = rows, cols, n_bits, fusion_widths
        self.events: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        self.regs = reset_registers(self.n_bits)
        self.busy, self.done, self.count, self.tile_cycles = False, False, 0, 0
        self.drain: list[tuple[int, int]] = []
        self.written = False      # a buffer row was written since the last start
        self.idle_cycles = 0      # idle edges since the last tile ended

    def _event(self, name: str) -> None:
        self.events[name] = self.events.get(name, 0) + 1

    def edge(self, inp: EdgeInputs) -> None:
        """Advance the model over one rising edge that samples `inp`."""
        if inp.rst:
            self.reset()
            self._event("reset")
            return
        if inp.write:
            self._event("buffer write while busy" if self.busy else "buffer write while idle")
        starts_idle = inp.start and not self.busy
        if starts_idle:
            self._event("start on new operands (bank swap)" if self.written else "start on the previous operands")
        self.written = (self.written or inp.write) and not starts_idle
        if self.busy:
            if inp.start:
                self._event("start while busy (ignored)")
            if inp.cfg_we:
                self._event("cfg write while busy (ignored)")
            self.count += 1
            if self.count == self.tile_cycles:
                self.busy, self.done, self.idle_cycles = False, True, 0
            return
        if inp.cfg_we:
            self.regs = inp.cfg
        if inp.start:
            self._event("start with cfg write" if inp.cfg_we else "start on the registers (no cfg write)")
            if self.done and self.idle_cycles == 0:
                self._event("start in the cycle after done")
            lanes_w, lanes_a = tile_lanes(self.regs.cfg_b_w, self.regs.cfg_b_a, self.fusion_widths)
            self.tile_cycles = os_tile_cycles(self.rows, self.cols, self.regs.cfg_k, lanes_w * lanes_a)
            self.drain = drain_order(self.rows, lanes_w, lanes_a)
            self.busy, self.done, self.count = True, False, 0
            return
        self.idle_cycles += 1

    def expected(self) -> Status:
        """The status outputs after the last edge."""
        first_valid = self.tile_cycles - len(self.drain)
        valid = self.busy and self.count >= first_valid
        row = self.drain[self.count - first_valid] if valid else None
        return Status(int(self.busy), int(self.done), self.count, int(valid), row)


def _read_inputs(dut) -> EdgeInputs:
    """The inputs a rising edge samples (the cfg_* values only when cfg_we is set: fewer simulator reads)."""
    cfg_we = int(dut.cfg_we.value)
    regs = Registers(*(int(getattr(dut, name).value) for name in CFG_PORTS)) if cfg_we else None
    return EdgeInputs(int(dut.rst.value), int(dut.start.value), cfg_we, regs,
                      any(int(getattr(dut, name).value) for name in WRITE_ENABLES))


class ProtocolChecker:
    """Runs ProtocolModel next to the DUT: at every falling edge, the inputs the rising edge before it sampled and
    the outputs after it; every rule scored in `board` (rule P1's reset check on the first cycle it runs)."""

    def __init__(self, dut, params):
        self.dut, self.p = dut, params
        self.model = ProtocolModel(params.rows, params.cols, params.spec.n_bits, params.fusion_widths)
        self.board = Scoreboard("protocol")
        self.fused = "out_alane" in params.ports
        self.cycle = 0
        self._task = None

    def start(self) -> "ProtocolChecker":
        """Begin checking (call right after reset is released, before the first edge the bench drives)."""
        self._check_status(self.model.expected(), reset=True)
        self._task = cocotb.start_soon(self._run())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await FallingEdge(self.dut.clk)
            # cocotb applies writes in the ReadWrite phase, so the inputs read here are still the ones the rising
            # edge before this falling edge sampled, whether or not the driver already wrote its next values
            inputs = _read_inputs(self.dut)
            self.cycle += 1
            self.model.edge(inputs)
            self._check_status(self.model.expected())

    def _check_status(self, want: Status, reset: bool = False) -> None:
        d, b, at = self.dut, self.board, {"cycle": self.cycle}
        rule = (lambda name: ("P1 reset", name)) if reset else (lambda name: (name, self.cycle))
        b.check(rule("P4 busy"), at, want.busy, _bit(d.busy))
        b.check(rule("P5 done"), at, want.done, _bit(d.done))
        b.check(rule("P6 cycles"), at, want.cycles, _uint(d.cycles))
        b.check(rule("P7 out_valid"), at, want.out_valid, _bit(d.out_valid))
        if want.out_row is not None and _bit(d.out_valid) == 1:
            row, lane = want.out_row
            b.check(rule("P8 out_row"), at, row, _uint(d.out_row))
            if self.fused:
                b.check(rule("P8 out_alane"), at, lane, _uint(d.out_alane))
            for port in ("out_data", "out_clamped"):
                b.check(rule(f"P9 {port} resolvable"), at, 1, int(getattr(d, port).value.is_resolvable))

    def events(self) -> dict[str, int]:
        return dict(self.model.events)


def _bit(handle) -> int:
    """A 1-bit status port, -1 when it holds X/Z (never equal to an expected 0 or 1)."""
    v = handle.value
    return int(v) if v.is_resolvable else -1


def _uint(handle) -> int:
    """An unsigned port's value (a 1-bit port reads as a Logic, wider ones as a LogicArray), -1 on X/Z."""
    v = handle.value
    if not v.is_resolvable:
        return -1
    return v.to_unsigned() if hasattr(v, "to_unsigned") else int(v)

