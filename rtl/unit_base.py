"""Unit: base of the array's units (view unit, PE, fused PE, output unit), whose ports depend only on the
configuration (`ports(config)`), so rtl/units.py can instantiate a unit's Verilog module without elaborating it."""
from __future__ import annotations

from amaranth.lib import wiring

from .params import RtlConfig


class Unit(wiring.Component):
    @staticmethod
    def ports(config: RtlConfig) -> dict:
        """Port map (name -> In/Out(shape)) of the unit for `config`."""
        raise NotImplementedError

    def __init__(self, config: RtlConfig):
        self._config = config
        super().__init__(self.ports(config))
