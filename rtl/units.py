"""add_unit: a unit of the array (PE, fused PE, view unit, output unit) as an Amaranth submodule or as an instance of
the one Verilog module that gen-rtl emits for its kind.

Amaranth writes one Verilog module per submodule instance, each specialised to its surroundings: a 64×64 top had
4,291 modules (11 MB), which Verilator could not build in the time `make verify` has. gen-rtl instead emits every
unit kind once (UNIT_MODULES, written by rtl/emit.py from the same component and configuration) and instantiates it
R·C (PE), C (output unit) or lanes·(R + C) (view unit) times: the hierarchy a hand-written accelerator has, one PE
that synthesis, lint and the unit benches see exactly as the top uses it.

Two implementations of the same wiring, like rtl/buffer.py's banks:
  macro=False  the component itself (what amaranth.sim runs: verify/amaranth_sim.py, tests);
  macro=True   an Instance of UNIT_MODULES[kind]; the caller gets an interface object with one signal per port of
               the component's signature and wires it exactly as it would wire the component.
"""
from __future__ import annotations

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .fused_pe import FusedPE
from .output_unit import OutputUnit
from .params import RtlConfig
from .pe import PE
from .unit_base import Unit
from .view_unit import ViewUnit

# unit kind -> (Verilog module name, component class per PE mode, clocked: has clk / rst ports)
UNIT_MODULES = {
    "pe": ("dqt_pe", {"fixed": PE, "fused": FusedPE}, True),
    "view_unit": ("dqt_view_unit", {"fixed": ViewUnit, "fused": ViewUnit}, False),
    "output_unit": ("dqt_output_unit", {"fixed": OutputUnit, "fused": OutputUnit}, False),
}


def _unit_entry(kind: str) -> tuple:
    """UNIT_MODULES[kind]; ValueError naming the kinds for an unknown one."""
    if kind not in UNIT_MODULES:
        raise ValueError(f"unit must be one of {', '.join(UNIT_MODULES)}, got {kind!r}")
    return UNIT_MODULES[kind]


def unit_module_name(kind: str) -> str:
    """Verilog module name of unit `kind` (a key of UNIT_MODULES)."""
    return _unit_entry(kind)[0]


def unit_class(kind: str, cfg: RtlConfig) -> type[Unit]:
    """The component class of unit `kind` for `cfg` (the PE class follows cfg.pe_mode)."""
    return _unit_entry(kind)[1][cfg.pe_mode]


def unit_component(kind: str, cfg: RtlConfig) -> Unit:
    """The Amaranth component of unit `kind` for `cfg`."""
    return unit_class(kind, cfg)(cfg)


def add_unit(m: Module, name: str, kind: str, cfg: RtlConfig, macro: bool):
    """Add unit `kind` to `m` as submodule `name`; returns the object whose port signals the caller wires.

    macro: an Instance of unit_module_name(kind) (ports named as the signature's members, plus clk and rst for a
    clocked unit), else the component itself."""
    if not macro:
        component = m.submodules[name] = unit_component(kind, cfg)
        return component
    signature = wiring.Signature(unit_class(kind, cfg).ports(cfg))
    ports = signature.create(path=(name,))
    connections = {("i_" if member.flow == In else "o_") + port: Value.cast(getattr(ports, port))
                   for port, member in signature.members.items()}
    if _unit_entry(kind)[2]:
        connections.update(i_clk=ClockSignal(), i_rst=ResetSignal())
    m.submodules[name] = Instance(unit_module_name(kind), **connections)
    return ports
