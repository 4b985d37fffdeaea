"""PE: one output-stationary processing element.

    acc <= 0                      if clear
    acc <= acc_in                 elif shift   (drain: the column's accumulators shift down one row)
    acc <= acc + w_in · a_in      elif en      (ACC-bit two's complement, wraps like hardware)
    w_out <= w_in, a_out <= a_in  every cycle  (systolic pass-through to the right / downwards)

w_in and a_in are (N+1)-bit signed views; the product is 2(N+1) bits, sign-extended into the accumulator.
"""
from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib.wiring import In, Out

from .params import RtlConfig
from .unit_base import Unit


class PE(Unit):
    @staticmethod
    def ports(config: RtlConfig) -> dict:
        operand, acc = signed(config.operand_bits), signed(config.acc_bits)
        return {
            "w_in": In(operand), "a_in": In(operand),
            "en": In(1), "clear": In(1), "shift": In(1), "acc_in": In(acc),
            "w_out": Out(operand), "a_out": Out(operand), "acc": Out(acc),
        }

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.w_out.eq(self.w_in), self.a_out.eq(self.a_in)]
        with m.If(self.clear):
            m.d.sync += self.acc.eq(0)
        with m.Elif(self.shift):
            m.d.sync += self.acc.eq(self.acc_in)
        with m.Elif(self.en):
            m.d.sync += self.acc.eq(self.acc + self.w_in * self.a_in)
        return m
