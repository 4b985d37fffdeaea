"""FusedPE: the precision-scalable output-stationary PE (pe_mode "fused"; docs/sim.md "PE modes").

The operand ports stay N bits wide. At lane modes (j_w, j_a) a port carries lanes_w = 2^j_w weights of
w_w = N / lanes_w bits and lanes_a = 2^j_a activations of w_a = N / lanes_a bits, lane p in bits
[p·w, (p+1)·w) (weights two's complement, activations signed iff a_sgn). Per cycle the PE forms all
lanes_w·lanes_a products and keeps one accumulator per lane pair (p, q):

    acc[p][q] <= 0                        if clear
    acc[p][q] <= acc_in[p][q]             elif shift and (p, q) = (drain_p, drain_q)   (drain, one lane pair at a time)
    acc[p][q] <= acc[p][q] + w_p · a_q    elif en and p < lanes_w and q < lanes_a     (ACC bits, exact)
    w_out <= w_in, a_out <= a_in          every cycle (systolic pass-through)

The product of lane pair (p, q) only ever sees widths w_w <= N / 2^⌈log2(p+1)⌉ (and likewise for q), so its
multiplier is sized for that: lane (0, 0) is the full N×N one (the fixed PE's), the others are narrower.
acc / acc_in hold every lane pair, ACC bits each, lane pair (p, q) at index p·L + q (L = max_lanes).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import RtlConfig


def lane_width_bound(lane: int, code_bits: int) -> int:
    """Widest operand lane `lane` carries: N / (the smallest power of two > lane)."""
    return code_bits // (1 << lane.bit_length())


def lane_value(m: Module, word, lane: int, mode, sgn, cfg: RtlConfig, name: str):
    """Lane `lane` of an N-bit packed operand word at lane mode `mode` (lanes = 2^mode), sign- or zero-extended
    (sgn) to a signed value one bit wider than the widest width that lane can carry."""
    n, bound = cfg.code_bits, lane_width_bound(lane, cfg.code_bits)
    value = Signal(signed(bound + 1), name=name)
    with m.Switch(mode):
        for j in range(len(cfg.fusion_widths)):
            width = n >> j
            if lane < (1 << j):
                with m.Case(j):
                    bits = word[lane * width:(lane + 1) * width]
                    m.d.comb += value.eq(Mux(sgn, bits.as_signed(), bits))
    return value


class FusedPE(wiring.Component):
    def __init__(self, config: RtlConfig):
        self._config = config
        n, lanes = config.code_bits, config.max_lanes
        acc_all = unsigned(lanes * lanes * config.acc_bits)
        super().__init__({
            "w_in": In(unsigned(n)), "a_in": In(unsigned(n)), "a_sgn": In(1),
            "mode_w": In(unsigned(config.lane_mode_bits)), "mode_a": In(unsigned(config.lane_mode_bits)),
            "en": In(1), "clear": In(1), "shift": In(1),
            "drain_p": In(unsigned(config.lane_mode_bits + 1)), "drain_q": In(unsigned(config.lane_mode_bits + 1)),
            "acc_in": In(acc_all),
            "w_out": Out(unsigned(n)), "a_out": Out(unsigned(n)), "acc": Out(acc_all),
        })

    def elaborate(self, platform):
        cfg = self._config
        lanes, acc_bits = cfg.max_lanes, cfg.acc_bits
        m = Module()
        m.d.sync += [self.w_out.eq(self.w_in), self.a_out.eq(self.a_in)]
        w_lanes = [lane_value(m, self.w_in, p, self.mode_w, 1, cfg, f"w_lane{p}") for p in range(lanes)]
        if cfg.fault == "lane_swap":
            w_lanes[0], w_lanes[1] = w_lanes[1], w_lanes[0]
        a_lanes = [lane_value(m, self.a_in, q, self.mode_a, self.a_sgn, cfg, f"a_lane{q}") for q in range(lanes)]
        active_w = Signal(unsigned(lanes.bit_length() + 1))
        active_a = Signal(unsigned(lanes.bit_length() + 1))
        m.d.comb += [active_w.eq(1 << self.mode_w), active_a.eq(1 << self.mode_a)]
        for p in range(lanes):
            for q in range(lanes):
                index = p * lanes + q
                acc = self.acc.word_select(index, acc_bits)
                with m.If(self.clear):
                    m.d.sync += acc.eq(0)
                with m.Elif(self.shift & (self.drain_p == p) & (self.drain_q == q)):
                    m.d.sync += acc.eq(self.acc_in.word_select(index, acc_bits))
                with m.Elif(self.en & (p < active_w) & (q < active_a)):
                    m.d.sync += acc.eq(acc.as_signed() + w_lanes[p] * a_lanes[q])
        return m
