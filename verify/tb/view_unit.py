"""ViewUnit driver and monitor (combinational: q, sgn, k -> v)."""
from __future__ import annotations

from cocotb.triggers import Timer

from ..manifest import DutParams


class ViewUnitDriver:
    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params

    async def apply(self, q: int, signed: bool, bits: int) -> None:
        """Drive master code q (as N bits), signedness and the shift k = N - bits; wait for it to settle."""
        self.dut.q.value = self.p.ports["q"].encode(q)
        self.dut.sgn.value = int(signed)
        self.dut.k.value = self.p.spec.n_bits - bits
        await Timer(1, "ns")


class ViewUnitMonitor:
    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params

    def sample(self) -> int:
        return self.dut.v.value.to_signed()
