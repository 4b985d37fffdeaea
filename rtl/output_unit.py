"""OutputUnit: align, bias, fused requant with residual, clamp (docs/spec.md §1 steps 2-4; purely combinational).

    acc' = acc << align                      align = (N - b_w) + (N - b_a)      (ACC bits, wraps silently)
    x    = acc' + bias                                                          (ACC bits, wraps silently)
    t    = x·m + res_en·r·m_r + 2^(s'-1)     s' = min(s, ACC+M+1), 2^(s'-1) = 0 for s' = 0   (ACC+M+2 bits)
    q    = t >> s'                           arithmetic (flooring): one rounding, half-up
    y    = clamp(q, lo, hi)                  mode relu [0, 2^N-1] | signed [-2^(N-1), 2^(N-1)-1] | logits signed L bits
    y    = x                                 mode wide (downsample convs: acc' + bias, no requant)
    clamped = 1 when q lay outside [lo, hi] (requant modes only)

acc' and x keep their low ACC bits where golden raises: the exporter / driver guarantees they fit
(docs/rtl.md, Overflow contract).
Saturating s at ACC+M+1 is exact: |x·m + r·m_r| < 2^(ACC+M), so any s >= ACC+M+1 rounds to 0 either way.
"""
from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib.wiring import In, Out

from .params import OUT_MODES, RtlConfig
from .unit_base import Unit


class OutputUnit(Unit):
    @staticmethod
    def ports(config: RtlConfig) -> dict:
        wide = signed(config.wide_bits)
        return {
            "acc": In(signed(config.acc_bits)),
            "align": In(unsigned(config.align_bits)),
            "bias": In(wide),
            "m": In(unsigned(config.m_bits)),
            "m_r": In(unsigned(config.m_bits)),
            "r": In(wide),
            "res_en": In(1),
            "s": In(unsigned(config.shift_bits)),
            "mode": In(unsigned(2)),
            "y": Out(signed(config.out_bits)),
            "clamped": Out(1),
        }

    def elaborate(self, platform):
        cfg = self._config
        m = Module()
        path_bits = cfg.wide_bits - (cfg.fault == "acc_one_short")  # ACC_BITS (fault acc_one_short: one less)
        align = self.align[:cfg.align_bits - 1] if cfg.fault == "align_one_short" else self.align
        aligned = Signal(signed(path_bits))
        m.d.comb += aligned.eq(self.acc if cfg.fault == "no_align" else self.acc << align)
        x = Signal(signed(path_bits))
        m.d.comb += x.eq(aligned + self.bias)

        s_eff = Signal(range(cfg.requant_shift_max + 1))
        m.d.comb += s_eff.eq(Mux(self.s > cfg.requant_shift_max, cfg.requant_shift_max, self.s))
        rnd = Signal(unsigned(cfg.requant_bits - 1))  # 2^(s'-1), 0 for s' = 0
        if cfg.fault != "drop_requant_round":
            m.d.comb += rnd.eq((Const(1, 1) << s_eff) >> 1)
        t = Signal(signed(cfg.requant_bits))
        m.d.comb += t.eq(x * self.m + Mux(self.res_en, self.r * self.m_r, 0) + rnd)
        q = Signal(signed(cfg.requant_bits))
        m.d.comb += q.eq(t >> s_eff)

        lo = Signal(signed(cfg.out_bits))
        hi = Signal(signed(cfg.out_bits))
        with m.Switch(self.mode):
            for name in ("relu", "signed", "logits"):
                with m.Case(OUT_MODES[name]):
                    r_lo, r_hi = cfg.out_range(name)
                    m.d.comb += [lo.eq(r_lo), hi.eq(r_hi)]
        with m.If(self.mode == OUT_MODES["wide"]):
            m.d.comb += self.y.eq(x)
        with m.Elif(q < lo):
            m.d.comb += [self.y.eq(lo), self.clamped.eq(1)]
        with m.Elif(q > hi):
            m.d.comb += [self.y.eq(hi), self.clamped.eq(1)]
        with m.Else():
            m.d.comb += self.y.eq(q)
        return m
