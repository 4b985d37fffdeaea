"""ViewUnit: the nested slice of docs/spec.md §1 in hardware (purely combinational).

    k = 0:  v = q
    k > 0:  v = sat_{b,σ}((q >> k) + bit_{k-1}(q)),   b = N - k

Implemented without an adder on the input side: t = (2q) >> k = floor(q / 2^(k-1)) for k > 0 (and 2q for
k = 0, whose bit 0 is then 0), so floor(q / 2^k) = t >> 1 and the round bit bit_{k-1}(q) = t[0]; v_raw = (t >> 1) + t[0].
Saturation: the round bit only ever adds, and floor(q / 2^k) already lies in the b-bit range, so only the
upper bound can be exceeded: v = min(v_raw, MAX_σ >> k) with MAX = 2^(N-1)-1 (signed) or 2^N-1 (unsigned).
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib.wiring import In, Out

from .params import RtlConfig
from .unit_base import Unit


class ViewUnit(Unit):
    """Ports: q (N, master code bits), sgn (1: q is signed), k (view shift N-b) -> v (N+1 signed view)."""

    @staticmethod
    def ports(config: RtlConfig) -> dict:
        return {
            "q": In(unsigned(config.code_bits)),
            "sgn": In(1),
            "k": In(unsigned(config.view_shift_bits)),
            "v": Out(signed(config.operand_bits)),
        }

    def elaborate(self, platform):
        cfg = self._config
        n = cfg.code_bits
        m = Module()
        q_ext = Signal(signed(n + 1))  # the master code as a signed value, sign- or zero-extended
        m.d.comb += q_ext.eq(Mux(self.sgn, self.q.as_signed(), self.q))
        t = Signal(signed(n + 2))  # (2q) >> k, arithmetic
        m.d.comb += t.eq((q_ext << 1) >> self.k)
        floor_q = t >> 1
        round_bit = 0 if cfg.fault == "drop_round_bit" else t[0]
        v_raw = Signal(signed(n + 2))
        m.d.comb += v_raw.eq(floor_q + round_bit)
        if cfg.fault == "no_view_saturate":
            m.d.comb += self.v.eq(v_raw)
        else:
            max_signed, max_unsigned = cfg.spec.code_range(True)[1], cfg.spec.code_range(False)[1]
            hi = Signal(unsigned(n))  # largest b-bit code, b = N - k
            m.d.comb += hi.eq(Mux(self.sgn, max_signed >> self.k, max_unsigned >> self.k))
            m.d.comb += self.v.eq(Mux(v_raw > hi, hi, v_raw))
        return m
