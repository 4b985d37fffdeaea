"""Design-space sweeps over every `ArrayConfig` axis and the network, in three steps:

(a) `expand(axes)`: the cross product of the axis values (SWEEP_AXES order, the last axis fastest) as a
    list of configurations (plain dicts), each validated before anything runs;
(b) `evaluate(config) -> row`: one configuration simulated (static plans need no golden inference: widths
    come from golden.plan over the model's Network, or from sim.session.topology_widths for a topology CSV),
    mapped over the list serially or on Dask (dist/executor.py), resumable through a journal;
(c) `sweep_files(rows, title)`: sweep.csv (SWEEP_COLUMNS) and the figures (sim/sweep_figures.py).
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

from dist.executor import SERIAL, ExecutorOptions, Progress, map_items
from dist.journal import Journal, stable_key
from golden.plan import parse_plan
from golden.report import csv_text
from golden.run_folder import file_sha256
from golden.topologies import TOPOLOGIES

from .energy import EnergyTable
from .session import (check_plan_option, make_config, run_name, simulate_static, simulate_topology, static_network,
                      topology_widths)
from .sweep_figures import render_axes, render_pareto
from .topology_csv import read_topology

NETWORK_AXES = ("model", "topology")
SWEEP_AXES = ("pe", "dataflow", "plan", "pe_mode", "layout", "weight_sram_kib", "act_sram_kib", "out_sram_kib",
              "dram_bytes_per_cycle", "clock_mhz")
RESULT_COLUMNS = ("total_cycles", "compute_cycles", "readout_cycles", "load_cycles", "stall_cycles", "latency_ms",
                  "utilization",                   "dram_bytes", "sram_bytes", "energy_uj", "energy_mac_uj", "energy_view_uj", "energy_sram_uj",
                  "energy_dram_uj", "dram_psums_bytes", "bitops", "macs")
SWEEP_COLUMNS = ("model", "source", *SWEEP_AXES, *RESULT_COLUMNS)
INT_AXES = ("weight_sram_kib", "act_sram_kib", "out_sram_kib", "dram_bytes_per_cycle")


def split_list(text: str, option: str) -> list[str]:
    """'a,b,c' -> ['a', 'b', 'c'] (blanks dropped); ValueError naming the option when empty."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise ValueError(f"{option}: empty list")
    return items


def axis_values(axis: str, text: str) -> list:
    """The values of one axis from its comma list: ints for the SRAM sizes and bandwidth, floats for the
    clock, strings otherwise; ValueError naming the option (--weight-sram-kib ...)."""
    option = f"--{axis.replace('_', '-')}"
    items = split_list(text, option)
    convert = int if axis in INT_AXES else float if axis == "clock_mhz" else str
    try:
        return [convert(item) for item in items]
    except ValueError:
        raise ValueError(f"{option}: expected a comma list of {convert.__name__}s, got {text!r}") from None


def expand(networks: Sequence[tuple[str, str]], axes: Mapping[str, Sequence], energy: EnergyTable | None = None,
           topology_format: str = "auto") -> list[dict]:
    """Every configuration of the cross product networks × SWEEP_AXES values, validated (config options,
    plans against each network) so a bad value fails before any worker starts. `networks` holds
    ("model", name or file) and ("topology", CSV path) pairs; a missing axis takes make_config's default."""
    missing = [axis for axis in ("pe", "dataflow", "plan") if axis not in axes]
    if missing:
        raise ValueError(f"sweep: no values for {', '.join(missing)}")
    unknown = sorted(set(axes) - set(SWEEP_AXES))
    if unknown:
        raise ValueError(f"sweep: unknown axes {', '.join(unknown)}; known: {', '.join(SWEEP_AXES)}")
    names = [axis for axis in SWEEP_AXES if axis in axes]
    configs = []
    for source, network in networks:
        loaded = (read_topology(network, make_config().spec, topology_format) if source == "topology"
                  else static_network(network))
        for values in itertools.product(*(axes[axis] for axis in names)):
            config = {"source": source, "network": network, "topology_format": topology_format, "energy": energy,
                      **dict(zip(names, values))}
            array = make_config(**{k: config[k] for k in names if k != "plan"})
            if source == "topology":
                topology_widths(config["plan"], loaded, array.spec)
            else:
                check_plan_option(config["plan"], array.spec)
                parse_plan(config["plan"], loaded, array.spec)
            configs.append(config)
    return configs


def evaluate(config: dict) -> dict:
    """One sweep row: the configuration (SWEEP_AXES, model, source) and its per-image totals."""
    options = {k: config[k] for k in SWEEP_AXES if k in config and k != "plan"}
    array = make_config(**options)
    if config["source"] == "topology":
        topo = read_topology(config["network"], array.spec, config["topology_format"])
        sim = simulate_topology(topo, config["plan"], array, config["energy"])
    else:
        sim = simulate_static(config["network"], config["plan"], array, config["energy"])
    totals = sim.totals()
    breakdown = sim.breakdown_totals()
    energy_levels = {f"energy_{level}_uj": sum(ops.values()) for level, ops in breakdown["energy_uj"].items()}
    results = {**totals, **energy_levels, "dram_psums_bytes": breakdown["dram_bytes"]["psums"]}
    axes = {"pe": array.pe_label, "dataflow": array.dataflow, "plan": config["plan"], "pe_mode": array.pe_mode,
            "layout": array.layout, "weight_sram_kib": array.weight_sram_kib, "act_sram_kib": array.act_sram_kib,
            "out_sram_kib": array.out_sram_kib, "dram_bytes_per_cycle": array.dram_bytes_per_cycle,
            "clock_mhz": array.clock_mhz}
    return {"model": run_name(config["network"]), "source": config["source"], **axes,
            **{k: results[k] for k in RESULT_COLUMNS}}


def _evaluate_item(_context, config: dict) -> dict:
    """dist.executor's calling convention (context, item) for evaluate()."""
    return evaluate(config)


def config_key(config: dict) -> str:
    """A stable journal key of one configuration: every axis, the network (a file by its content digest) and
    the energy table."""
    network = config["network"]
    identity = {**{k: v for k, v in config.items() if k != "energy"},
                "network": network if config["source"] == "model" and network in TOPOLOGIES else file_sha256(network),
                "energy": None if config["energy"] is None else config["energy"].as_dict()}
    return stable_key(identity)


def sweep_journal(out: Path) -> Path:
    """The journal of a sweep into folder `out`: `.<name>.sweep-journal.jsonl` beside it, outside the run folder
    (golden.run_folder replaces `out` as a whole), so an interrupted sweep resumes from it."""
    return Path(out).parent / f".{Path(out).name}.sweep-journal.jsonl"


def run_sweep(configs: Sequence[dict], *, executor: ExecutorOptions = SERIAL, journal: Path | None = None,
              progress: Progress | None = None) -> list[dict]:
    """evaluate() mapped over `configs` on `executor`; rows in `configs` order whichever path ran them. With
    `journal` (a JSON-lines file) finished configurations are recorded there and skipped by a re-run
    (config_key). `progress(done, total)` is called as configurations finish (golden.progress.follow)."""
    if not configs:
        raise ValueError("sweep: no configurations")
    return map_items(_evaluate_item, configs, options=executor, keys=[config_key(c) for c in configs],
                     journal=None if journal is None else Journal(journal), progress=progress)


def sweep_csv(rows: Sequence[dict]) -> str:
    """sweep.csv text: SWEEP_COLUMNS, one row per configuration."""
    return csv_text(SWEEP_COLUMNS, rows)


def sweep_files(rows: Sequence[dict], title: str) -> dict[str, bytes]:
    """Every file of a sweep, rendered in memory: sweep.csv, pareto.* and axes.* (PDF, SVG, PNG)."""
    return {"sweep.csv": sweep_csv(rows).encode(), **render_pareto(rows, title), **render_axes(rows, title)}


def sweep_title(networks: Sequence[tuple[str, str]], configs: Sequence[dict]) -> str:
    """'<networks>: N configurations' (network names without folders)."""
    return f"{', '.join(run_name(n) for _, n in networks)}: {len(configs)} configurations"

