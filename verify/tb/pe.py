"""PE driver and monitor (clocked): per cycle drive w_in, a_in, en, clear, shift, acc_in; sample acc, w_out, a_out."""
from __future__ import annotations

from dataclasses import dataclass

from cocotb.triggers import FallingEdge

from ..manifest import DutParams


@dataclass(frozen=True)
class PeStep:
    w: int
    a: int
    en: bool = True
    clear: bool = False
    shift: bool = False
    acc_in: int = 0


class PeDriver:
    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params

    async def step(self, s: PeStep) -> None:
        """Drive one cycle's inputs at a falling edge; they are sampled at the next rising edge."""
        ports, dut = self.p.ports, self.dut
        dut.w_in.value = ports["w_in"].encode(s.w)
        dut.a_in.value = ports["a_in"].encode(s.a)
        dut.acc_in.value = ports["acc_in"].encode(s.acc_in)
        dut.en.value, dut.clear.value, dut.shift.value = int(s.en), int(s.clear), int(s.shift)
        await FallingEdge(dut.clk)


class PeMonitor:
    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params

    def sample(self) -> tuple[int, int, int]:
        """(acc, w_out, a_out) registered at the last rising edge."""
        d = self.dut
        return d.acc.value.to_signed(), d.w_out.value.to_signed(), d.a_out.value.to_signed()
