"""FusedPE: the precision-scalable output-stationary PE (pe_mode "fused"; docs/sim.md "PE modes").

The operand ports stay N bits wide. At lane modes (j_w, j_a) a port carries lanes_w = 2^j_w weights of
w_w = N / lanes_w bits and lanes_a = 2^j_a activations of w_a = N / lanes_a bits, lane p in bits
[p·w, (p+1)·w) (weights two's complement, activations signed iff a_sgn). Per cycle the PE forms all
lanes_w·lanes_a products and keeps one accumulator per lane pair (p, q):

    acc[p][q] <= 0                        if clear
    acc[p][q] <= acc_in[p][q]             elif shift and (p, q) = (drain_p, drain_q)   (drain, one lane pair at a time)
    acc[p][q] <= acc[p][q] + w_p · a_q    elif en and p < lanes_w and q < lanes_a     (exact, see below)
    w_out <= w_in, a_out <= a_in          every cycle (systolic pass-through)

Lane p only ever carries widths w <= lane_width_bound(p) = N / 2^⌈log2(p+1)⌉, so the multiplier of lane pair
(p, q) is sized for its two bounds (lane (0, 0) is the fixed PE's full N×N one) and so is its accumulator:
lane_pair_acc_bits. The accumulators are exact (docs/spec.md §1, step 1): a narrower lane pair can never
overflow within a tile of K <= K_MAX, so every result equals that of an ACC-bit accumulator. `acc` / `acc_in`
hold all lane pairs, packed in the order of lane_pair_fields.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data
from amaranth.lib.wiring import In, Out

from .params import RtlConfig
from .unit_base import Unit


def lane_width_bound(lane: int, code_bits: int) -> int:
    """Widest operand lane `lane` carries: N / (the smallest power of two > lane)."""
    return code_bits // (1 << lane.bit_length())


def lane_pair_acc_bits(cfg: RtlConfig, p: int, q: int) -> int:
    """Accumulator width of lane pair (p, q).

    (0, 0) carries the N×N product and keeps the fixed PE's cfg.acc_bits (ACC). Every other pair sees weights of
    at most w_p = lane_width_bound(p) bits (signed) and activations of at most w_q bits (signed or unsigned), so
    over a tile of K <= K_MAX cycles

        |Σ_k w·a| <= B = K_MAX · 2^(w_p - 1) · (2^w_q - 1)

    and it gets min(ACC, bit_length(B) + 1) signed bits: exact (never wraps) whenever that is below ACC, and
    exactly the ACC-bit accumulator otherwise.
    """
    acc = cfg.acc_bits
    if p == 0 and q == 0:
        return acc
    w_p, w_q = lane_width_bound(p, cfg.code_bits), lane_width_bound(q, cfg.code_bits)
    bound = cfg.k_max * (1 << (w_p - 1)) * ((1 << w_q) - 1)
    return min(acc, bound.bit_length() + 1)


def lane_pair_fields(cfg: RtlConfig) -> dict[str, tuple[int, int]]:
    """Field name `acc_p_q` -> (p, q) of every lane pair, p outer, q inner (the packing order of acc / acc_in)."""
    lanes = cfg.max_lanes
    return {f"acc_{p}_{q}": (p, q) for p in range(lanes) for q in range(lanes)}


def lane_pair_layout(cfg: RtlConfig) -> data.StructLayout:
    """Layout of the `acc` / `acc_in` ports: one signed field of lane_pair_acc_bits per lane pair."""
    return data.StructLayout({name: signed(lane_pair_acc_bits(cfg, p, q))
                              for name, (p, q) in lane_pair_fields(cfg).items()})


def lane_value(m: Module, word, lane: int, mode, sgn, cfg: RtlConfig, name: str):
    """Lane `lane` of an N-bit packed operand word at lane mode `mode` (lanes = 2^mode), sign- or zero-extended
    (sgn: a 1-bit signal, or True for always signed) to a signed value one bit wider than the widest width that
    lane can carry."""
    n, bound = cfg.code_bits, lane_width_bound(lane, cfg.code_bits)
    value = Signal(signed(bound + 1), name=name)
    with m.Switch(mode):
        for j in range(len(cfg.fusion_widths)):
            width = n >> j
            if lane < (1 << j):
                with m.Case(j):
                    bits = word[lane * width:(lane + 1) * width]
                    m.d.comb += value.eq(bits.as_signed() if sgn is True else Mux(sgn, bits.as_signed(), bits))
    return value


class FusedPE(Unit):
    @staticmethod
    def ports(config: RtlConfig) -> dict:
        n, pairs = config.code_bits, lane_pair_layout(config)
        return {
            "w_in": In(unsigned(n)), "a_in": In(unsigned(n)), "a_sgn": In(1),
            "mode_w": In(unsigned(config.lane_mode_bits)), "mode_a": In(unsigned(config.lane_mode_bits)),
            "en": In(1), "clear": In(1), "shift": In(1),
            "drain_p": In(unsigned(config.lane_mode_bits + 1)), "drain_q": In(unsigned(config.lane_mode_bits + 1)),
            "acc_in": In(pairs),
            "w_out": Out(unsigned(n)), "a_out": Out(unsigned(n)), "acc": Out(pairs),
        }

    def elaborate(self, platform):
        cfg = self._config
        lanes = cfg.max_lanes
        m = Module()
        m.d.sync += [self.w_out.eq(self.w_in), self.a_out.eq(self.a_in)]
        w_lanes = [lane_value(m, self.w_in, p, self.mode_w, True, cfg, f"w_lane{p}") for p in range(lanes)]
        if cfg.fault == "lane_swap":
            w_lanes[0], w_lanes[1] = w_lanes[1], w_lanes[0]
        a_lanes = [lane_value(m, self.a_in, q, self.mode_a, self.a_sgn, cfg, f"a_lane{q}") for q in range(lanes)]
        # per lane, decoded once: accumulate (lane p takes part at lane mode j iff p < 2^j, i.e. j >= bit_length(p))
        # and drain (lane p is the one being drained)
        add_w, add_a, drain_w, drain_a = ([Signal(name=f"{what}{lane}") for lane in range(lanes)]
                                          for what in ("add_w", "add_a", "drain_w", "drain_a"))
        for lane in range(lanes):
            m.d.comb += [add_w[lane].eq(self.en & ((self.mode_w >= lane.bit_length()) if lane else 1)),
                         add_a[lane].eq((self.mode_a >= lane.bit_length()) if lane else 1),
                         drain_w[lane].eq(self.shift & (self.drain_p == lane)),
                         drain_a[lane].eq(self.drain_q == lane)]
        for name, (p, q) in lane_pair_fields(cfg).items():
            acc = self.acc[name]
            with m.If(self.clear):
                m.d.sync += acc.eq(0)
            with m.Elif(drain_w[p] & drain_a[q]):
                m.d.sync += acc.eq(self.acc_in[name])
            with m.Elif(add_w[p] & add_a[q]):
                m.d.sync += acc.eq(acc + w_lanes[p] * a_lanes[q])
        return m
