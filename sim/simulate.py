"""Per-layer simulation of a network on an `ArrayConfig`: cycles, traffic, energy, precision costs.

    cycles        = busy + readout + load + stall   (busy = folds · per-fold cycles, sim/dataflow.py;
                                                    readout, load: os only, sim/tile.py os_layer_schedule)
    compute_cycles = busy − 1                       (SCALE-Sim's report, sim/dataflow.py)
    utilization   = MACs / (cycles · R·C·lanes_w·lanes_a)   (products formed / products the array could form)
    latency       = cycles / clock
    energy        = mac + sram + dram + view                (sim/energy.py)
    energy by operand: sram[op] = sram_bytes[op]·sram_pj_per_byte, dram[op] = dram_bytes[op]·dram_pj_per_byte,
                    view[weights | inputs] = view ops of that operand · view_shift_pj (sim/memory.py OPERANDS);
                    the MAC energy is compute, not split by operand
    bitops        = MACs · b_w · b_a
    transition_shifts = weight elements · [b_w < N] + input elements · [b_a < N]  (docs/spec.md §1 costs:
                    each tensor element viewed below N counted once per inference)

A dynamic plan gives every image its own widths: one simulation per image (`simulate_images`), summarised
as mean / min / max. The controller (its two linear layers, at N bits) is simulated on the same array
and added to the totals when given.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from golden.ir import Network

from .config import ArrayConfig
from .dataflow import FoldPlan, plan_folds
from .energy import DEFAULT_ENERGY, PJ_PER_UJ, EnergyTable
from .memory import OPERANDS, Traffic, layer_traffic
from .precision import fused_width
from .workload import Workload, workload_from_network

US_PER_MS = 1e3


@dataclass(frozen=True, eq=False)
class LayerSim:
    """Simulation of one workload: per-layer int64 / float64 arrays, in layer order."""

    workload: Workload
    config: ArrayConfig
    energy_table: EnergyTable
    folds: FoldPlan
    traffic: Traffic

    @property
    def names(self) -> tuple[str, ...]:
        return self.workload.names

    @cached_property
    def cycles(self) -> np.ndarray:
        return self.folds.busy_cycles + self.folds.readout_cycles + self.folds.load_cycles + self.traffic.stall_cycles

    @property
    def compute_cycles(self) -> np.ndarray:
        return self.folds.compute_cycles

    @cached_property
    def peak_products(self) -> np.ndarray:
        """Products per cycle at each layer's widths: R·C·lanes_w·lanes_a."""
        return self.config.rows * self.config.cols * self.folds.lanes_w * self.folds.lanes_a

    @cached_property
    def utilization(self) -> np.ndarray:
        return self.workload.macs / (self.cycles * self.peak_products)

    @cached_property
    def transition_shifts(self) -> np.ndarray:
        n_bits = self.config.spec.n_bits
        w = self.workload
        return w.m * w.k * (w.b_w < n_bits) + w.in_elems * (w.b_a < n_bits)

    @cached_property
    def energy_breakdown_pj(self) -> dict[str, dict[str, np.ndarray]]:
        """Energy per layer (pJ) by level and operand: {"mac": {"compute"}, "view": {weights, inputs},
        "sram": {OPERANDS}, "dram": {OPERANDS}} (formulas in the module docstring and sim/energy.py)."""
        table, w, t = self.energy_table, self.workload, self.traffic
        if self.config.pe_mode == "fused":
            width_w, width_a = fused_width(w.b_w, self.config.spec), fused_width(w.b_a, self.config.spec)
        else:
            width_w, width_a = w.b_w, w.b_a
        return {
            "mac": {"compute": w.macs * table.mac_pj(width_w, width_a)},
            "view": {"weights": t.weight_view_ops * table.view_shift_pj, "inputs": t.act_view_ops * table.view_shift_pj},
            "sram": {op: t.sram[op] * table.sram_pj_per_byte for op in OPERANDS},
            "dram": {op: t.dram[op] * table.dram_pj_per_byte for op in OPERANDS},
        }

    @cached_property
    def energy_parts_pj(self) -> dict[str, np.ndarray]:
        """Energy per layer by level (pJ): mac, sram, dram, view (sums of energy_breakdown_pj)."""
        return {level: sum(parts.values()) for level, parts in self.energy_breakdown_pj.items()}

    @cached_property
    def energy_uj(self) -> np.ndarray:
        return sum(self.energy_parts_pj.values()) / PJ_PER_UJ

    def totals(self) -> dict:
        """Sums over the layers (utilization over the summed cycles, weighted by each layer's peak)."""
        cycles = int(self.cycles.sum())
        return {
            "macs": int(self.workload.macs.sum()),
            "bitops": int(self.workload.bitops.sum()),
            "compute_cycles": int(self.compute_cycles.sum()),
            "readout_cycles": int(self.folds.readout_cycles.sum()),
            "load_cycles": int(self.folds.load_cycles.sum()),
            "stall_cycles": int(self.traffic.stall_cycles.sum()),
            "total_cycles": cycles,
            "utilization": float(self.workload.macs.sum() / (self.cycles * self.peak_products).sum()),
            "dram_bytes": int(self.traffic.dram_bytes.sum()),
            "sram_bytes": int(self.traffic.sram_bytes.sum()),
            "view_ops": int(self.traffic.view_ops.sum()),
            "transition_shifts": int(self.transition_shifts.sum()),
            "energy_uj": float(self.energy_uj.sum()),
        }

    def layer_rows(self) -> list[dict]:
        """One dict per layer (the layers.csv / summary.json hardware columns)."""
        w, f, t = self.workload, self.folds, self.traffic
        parts = {k: v / PJ_PER_UJ for k, v in self.energy_parts_pj.items()}
        rows = []
        for i, name in enumerate(w.names):
            rows.append({
                "name": name, "M": int(w.m[i]), "K": int(w.k[i]), "N": int(w.n[i]),
                "b_w": int(w.b_w[i]), "b_a": int(w.b_a[i]),
                "macs": int(w.macs[i]), "bitops": int(w.bitops[i]), "folds": int(f.folds[i]),
                "cycles": int(self.cycles[i]), "compute_cycles": int(f.compute_cycles[i]),
                "readout_cycles": int(f.readout_cycles[i]),
                "load_cycles": int(f.load_cycles[i]), "stall_cycles": int(t.stall_cycles[i]),
                "utilization": float(self.utilization[i]), "mapping_efficiency": float(f.mapping_efficiency[i]),
                "dram_bytes": int(t.dram_bytes[i]), "sram_bytes": int(t.sram_bytes[i]),
                "view_ops": int(t.view_ops[i]), "transition_shifts": int(self.transition_shifts[i]),
                "energy_uj": float(self.energy_uj[i]),
                **{f"energy_{k}_uj": float(v[i]) for k, v in parts.items()},
                **{f"energy_{level}_{op}_uj": float(v[i] / PJ_PER_UJ)
                   for level, ops in self.energy_breakdown_pj.items() if level != "mac" for op, v in ops.items()},
                **{f"dram_{op}_bytes": int(t.dram[op][i]) for op in OPERANDS},
                **{f"sram_{op}_bytes": int(t.sram[op][i]) for op in OPERANDS},
                "reduction_folds": int(t.reduction_folds[i]), "psum_spill": bool(t.psum_spills[i]),
            })
        return rows

    def breakdown_totals(self) -> dict:
        """Per-image sums of the breakdown: {"energy_uj": {level: {operand: µJ}}, "dram_bytes": {operand: B},
        "sram_bytes": {operand: B}}."""
        return {
            "energy_uj": {level: {op: float(v.sum() / PJ_PER_UJ) for op, v in ops.items()}
                          for level, ops in self.energy_breakdown_pj.items()},
            "dram_bytes": {op: int(v.sum()) for op, v in self.traffic.dram.items()},
            "sram_bytes": {op: int(v.sum()) for op, v in self.traffic.sram.items()},
        }


def simulate_workload(workload: Workload, config: ArrayConfig, energy: EnergyTable | None = None) -> LayerSim:
    """Simulate every layer of `workload` on `config` (closed formulas, vectorised over layers)."""
    if not isinstance(config, ArrayConfig):
        raise TypeError(f"config must be an ArrayConfig, got {type(config).__name__}")
    folds = plan_folds(workload, config)
    return LayerSim(workload, config, energy or DEFAULT_ENERGY, folds, layer_traffic(workload, folds, config))


@dataclass(frozen=True, eq=False)
class NetworkSim:
    """A network's simulation for one image: the backbone layers and, for dynamic plans, the controller."""

    backbone: LayerSim
    controller: LayerSim | None = None

    def totals(self) -> dict:
        """Backbone totals plus the controller's (listed separately too), latency at the config's clock."""
        total = self.backbone.totals()
        config = self.backbone.config
        if self.controller is not None:
            ctrl = self.controller.totals()
            products = (self.backbone.cycles * self.backbone.peak_products).sum() + \
                (self.controller.cycles * self.controller.peak_products).sum()
            for key in total:
                if key != "utilization":
                    total[key] += ctrl[key]
            total["utilization"] = float(total["macs"] / products)
            total["controller"] = ctrl
        total["latency_ms"] = total["total_cycles"] / (config.clock_mhz * US_PER_MS)
        return total

    def breakdown_totals(self) -> dict:
        """LayerSim.breakdown_totals of the backbone plus the controller's (same keys, summed)."""
        def add(a, b):
            return {key: add(a[key], b[key]) for key in a} if isinstance(a, dict) else a + b
        total = self.backbone.breakdown_totals()
        return total if self.controller is None else add(total, self.controller.breakdown_totals())


def simulate_network(network: Network, config: ArrayConfig, widths: Mapping[str, tuple[int, int]],
                     energy: EnergyTable | None = None, controller: Network | None = None) -> NetworkSim:
    """Simulate `network` at `widths` (layer name -> (b_w, b_a)) on `config`; with `controller` (the
    controller's Network) its layers are simulated at N bits and counted too."""
    backbone = simulate_workload(workload_from_network(network, widths, config.spec), config, energy)
    ctrl = None
    if controller is not None:
        n_bits = config.spec.n_bits
        ctrl_widths = {layer.name: (n_bits, n_bits) for layer in controller.layers}
        ctrl = simulate_workload(workload_from_network(controller, ctrl_widths, config.spec), config, energy)
    return NetworkSim(backbone, ctrl)


SUMMARY_KEYS = ("total_cycles", "latency_ms", "utilization", "dram_bytes", "sram_bytes", "energy_uj", "bitops",
                "stall_cycles", "transition_shifts")


def simulate_images(network: Network, config: ArrayConfig, widths_per_image: Sequence[Mapping[str, tuple[int, int]]],
                    energy: EnergyTable | None = None, controller: Network | None = None) -> list[NetworkSim]:
    """One simulation per image (dynamic plans: each image has its own widths)."""
    if not widths_per_image:
        raise ValueError("widths_per_image is empty: need one widths dict per image")
    return [simulate_network(network, config, widths, energy, controller) for widths in widths_per_image]


def summarize_images(sims: Sequence[NetworkSim]) -> dict:
    """{key: {"mean", "min", "max"}} over images for the SUMMARY_KEYS totals."""
    totals = [sim.totals() for sim in sims]
    out = {}
    for key in SUMMARY_KEYS:
        values = np.array([t[key] for t in totals], dtype=np.float64)
        out[key] = {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max())}
    return out
