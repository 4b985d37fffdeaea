"""What the `sim` and `sweep` commands run, as typed functions: build the `ArrayConfig`, simulate a golden run
(static plan: once; dynamic plan: once per image, controller included) or a SCALE-Sim topology CSV."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from golden.controller import controller_network
from golden.ir import Network
from golden.model import NestedModel
from golden.model_file import load_model
from golden.plan import parse_plan, read_plan_file, uniform_width, widths_by_name
from golden.session import GoldenRun
from golden.spec import DEFAULT_SPEC, NestedSpec
from golden.topologies import TOPOLOGIES, topology

from .config import ArrayConfig
from .energy import EnergyTable, load_energy
from .simulate import NetworkSim, simulate_network, simulate_workload
from .topology_csv import Topology


CONFIG_OPTIONS = ("dataflow", "pe_mode", "layout", "weight_sram_kib", "act_sram_kib", "out_sram_kib",
                  "dram_bytes_per_cycle", "clock_mhz")


def make_config(pe: str = "16x16", dataflow: str = "os", pe_mode: str = "fixed", layout: str = "packed",
                weight_sram_kib: int = 64, act_sram_kib: int = 64, out_sram_kib: int = 64,
                dram_bytes_per_cycle: int = 16, clock_mhz: float = 500.0,
                spec: NestedSpec = DEFAULT_SPEC) -> ArrayConfig:
    """ArrayConfig from command-line values (--pe RxC parsed here); the error names the option (--dataflow ...)."""
    try:
        return ArrayConfig.from_pe(pe, dataflow=dataflow, pe_mode=pe_mode, layout=layout,
                                   weight_sram_kib=weight_sram_kib, act_sram_kib=act_sram_kib,
                                   out_sram_kib=out_sram_kib, dram_bytes_per_cycle=dram_bytes_per_cycle,
                                   clock_mhz=clock_mhz, spec=spec)
    except (ValueError, TypeError) as e:
        field = str(e).split(" ", 1)[0]
        if field in ("rows", "cols"):  # both come from --pe
            raise type(e)(f"--pe {pe!r}: {e}") from e
        if field in CONFIG_OPTIONS:
            raise type(e)(f"--{field.replace('_', '-')}: {e}") from e
        raise


def energy_option(path: str | None) -> EnergyTable | None:
    """--energy FILE.json: the overriding table, or None for the defaults."""
    return None if path is None else load_energy(path)


def check_plan_option(plan: str | None, spec: NestedSpec) -> int | None:
    """--plan uniform:B must have an integer 2 <= B <= N (checked before any inference runs); returns B, or
    None when there is no plan or it is a plan file."""
    if plan is None:
        return None
    try:
        return uniform_width(plan, spec)
    except ValueError as e:
        raise ValueError(f"--plan: {e}") from None


def simulated_controller(model: NestedModel, dynamic: bool) -> Network | None:
    """The controller a dynamic run is charged for: the model's own, else the default shape for its network;
    None for a static run."""
    if not dynamic:
        return None
    if model.controller is not None:
        return model.controller.network
    return controller_network(model.network, model.spec)


def simulate_widths(network: Network, widths_per_image: Sequence[Mapping[str, tuple[int, int]]],
                    config: ArrayConfig, energy: EnergyTable | None = None,
                    controller: Network | None = None) -> list[NetworkSim]:
    """One NetworkSim per image, in image order; images with identical widths share one simulation."""
    cache: dict[tuple, NetworkSim] = {}
    sims = []
    for widths in widths_per_image:
        key = tuple(sorted((name, tuple(int(b) for b in pair)) for name, pair in widths.items()))
        if key not in cache:
            cache[key] = simulate_network(network, config, widths, energy, controller)
        sims.append(cache[key])
    return sims


def simulate_golden_run(run: GoldenRun, config: ArrayConfig, energy: EnergyTable | None = None) -> list[NetworkSim]:
    """One NetworkSim per image of a golden run (simulate_widths); a dynamic run also simulates the
    controller (its two linear layers at N bits)."""
    return simulate_widths(run.model.network, run.result.widths, config, energy,
                           simulated_controller(run.model, run.dynamic))


def topology_widths(plan: str | None, topo: Topology, spec: NestedSpec) -> tuple[list[int], list[int]]:
    """(b_w, b_a) per layer of a topology CSV: every layer at N without a plan, at B for `uniform:B`, or as a
    JSON plan file names them (layer names as in the CSV, after duplicates were renamed; "default" for the
    rest). CSV layers carry no roles, so every layer is switchable."""
    names = topo.workload.names
    if plan is None:
        return [spec.n_bits] * len(names), [spec.n_bits] * len(names)
    bits = check_plan_option(plan, spec)
    if bits is not None:
        return [bits] * len(names), [bits] * len(names)
    widths = widths_by_name(plan, read_plan_file(plan), names, spec)
    return [widths[n][0] for n in names], [widths[n][1] for n in names]


def simulate_topology(topo: Topology, plan: str | None, config: ArrayConfig,
                      energy: EnergyTable | None = None) -> NetworkSim:
    """Simulate a topology CSV's layers at the --plan widths (topology_widths)."""
    b_w, b_a = topology_widths(plan, topo, config.spec)
    return NetworkSim(simulate_workload(topo.workload.with_widths(b_w, b_a), config, energy))


def renamed_notes(topo: Topology) -> list[str]:
    """One line per duplicate layer name made unique: 'row L: duplicate layer name X renamed X_2'."""
    return [f"row {line}: duplicate layer name {old!r} renamed {new!r}" for line, old, new in topo.renamed]


def run_name(model: str) -> str:
    """The name a run goes by in titles, captions and folder names: a topology name as is, a file by its
    stem (`path/to/x.dqt` -> `x`), never a folder path."""
    return model if model in TOPOLOGIES else Path(model).stem


def check_model_option(model: str) -> None:
    """--model given a .csv: a hint to use --topology (a model file is safetensors, not a topology CSV)."""
    if str(model).lower().endswith(".csv"):
        raise ValueError(f"--model {model!r} is a CSV; to simulate a SCALE-Sim topology use --topology {model}")


def static_network(model: str):
    """The Network of a topology name, or of a model file (its header; no inference needed)."""
    check_model_option(model)
    if model in TOPOLOGIES:
        return topology(model)
    if Path(model).is_file():
        return load_model(model).network
    raise ValueError(f"--model {model!r} is neither a topology ({', '.join(TOPOLOGIES)}) nor a model file")


def simulate_static(model: str, plan: str, config: ArrayConfig, energy: EnergyTable | None = None) -> NetworkSim:
    """A static plan needs no inference: widths from golden.plan.parse_plan over the model's Network."""
    check_plan_option(plan, config.spec)
    network = static_network(model)
    widths = parse_plan(plan, network, config.spec).layer_widths(network, config.spec)
    return simulate_network(network, config, widths, energy)
