"""The `sim` command: golden inference of a model with costs per layer, then the hardware simulation (sim/); the
run's files are published at once into --out (golden.run_folder)."""
import click

from commands.run_options import fail, force_option, limit_option
from golden import report as golden_report
from golden.report import printable
from golden.run_folder import RunFolder
from golden.session import run_golden
from golden.topologies import TOPOLOGIES
from sim.config import DATAFLOWS, LAYOUTS, PE_MODES
from sim.figures import FIGURE_CHOICES
from sim.report import format_layer_table, report_files
from sim.session import (check_model_option, check_plan_option, energy_option, make_config, renamed_notes,
                         run_name, simulate_golden_run, simulate_topology)
from sim.topology_csv import FORMATS, read_topology


HARDWARE_OPTIONS = (
    click.option("--pe-mode", default="fixed", show_default=True, type=click.Choice(PE_MODES),
                 help="fixed: 1 product/PE/cycle; fused: Bit Fusion, more at 2/4 bits"),
    click.option("--layout", default="packed", show_default=True, type=click.Choice(LAYOUTS),
                 help="packed: fetch N-bit codes; bitplane: b+1 planes per b-bit view"),
    click.option("--weight-sram-kib", default=64, show_default=True, type=click.IntRange(min=1)),
    click.option("--act-sram-kib", default=64, show_default=True, type=click.IntRange(min=1)),
    click.option("--out-sram-kib", default=64, show_default=True, type=click.IntRange(min=1)),
    click.option("--dram-bytes-per-cycle", default=16, show_default=True, type=click.IntRange(min=1)),
    click.option("--clock-mhz", default=500.0, show_default=True, type=click.FloatRange(min=0, min_open=True)),
    click.option("--energy", "energy_path", default=None, type=click.Path(dir_okay=False),
                 help="JSON energy table overriding the defaults (docs/sim.md)"),
)


def hardware_options(command):
    """The array / memory / energy options of `sim` (values go to sim.session.make_config; `sweep` takes comma
    lists of the same axes)."""
    for option in reversed(HARDWARE_OPTIONS):
        command = option(command)
    return command


def _inputs(model_name, input_path, topology_path, energy_path, plan) -> dict:
    """The input files of a run (for the manifest's hashes)."""
    files = {"--model": None if model_name in TOPOLOGIES else model_name, "--input": input_path,
             "--topology": topology_path, "--energy": energy_path,
             "--plan": plan if plan is not None and not plan.startswith("uniform:") else None}
    return {label: path for label, path in files.items() if path is not None}


@click.command("sim")
@click.option("--model", "model_name", default=None,
              help="resnet18 | resnet50 | tiny | tiny_bottleneck | FILE (required unless --topology)")
@click.option("--plan", default=None, help="uniform:B or a JSON plan file (default: every layer at N bits)")
@click.option("--dynamic", is_flag=True, help="widths chosen per image by the model's controller")
@click.option("--batch", default=None, type=click.IntRange(min=1), help="synthetic images (default 1)")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="seed of the synthetic model and images")
@click.option("--input", "input_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help=".npy of master-code images (B, C, H, W) instead of synthetic ones")
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@force_option
@limit_option
@click.option("--pe", default="16x16", show_default=True, help="PE array RxC")
@click.option("--dataflow", default="os", show_default=True, type=click.Choice(DATAFLOWS))
@hardware_options
@click.option("--topology", "topology_path", default=None, type=click.Path(dir_okay=False),
              help="SCALE-Sim topology CSV to simulate instead of --model (no golden inference)")
@click.option("--topology-format", default="auto", show_default=True, type=click.Choice(FORMATS),
              help="conv or gemm (Layer, M, N, K); auto: gemm when the header reads M, N, K")
@click.option("--figures", default="png", show_default=True, type=click.Choice(list(FIGURE_CHOICES)),
              help="all: PDF + SVG + PNG (papers); png: PNG only (about 2x faster); none: no figures")
def sim(model_name, plan, dynamic, batch, seed, input_path, backend, out_dir, force, limits, pe, dataflow, pe_mode,
        layout, weight_sram_kib, act_sram_kib, out_sram_kib, dram_bytes_per_cycle, clock_mhz, energy_path,
        topology_path, topology_format, figures) -> None:
    """Run MODEL on a batch, then simulate it on the array; publish OUT/summary.json, layers.csv (golden and
    hardware fields together), logits.npy, table.tex, table.md, COMPUTE_REPORT.csv, the figures (layers.png and
    cycles, energy, traffic, breakdown as PNG; with --figures all also as PDF and SVG) and run.json (the
    manifest, written last); print the tables."""
    try:
        config = make_config(pe, dataflow, pe_mode, layout, weight_sram_kib, act_sram_kib, out_sram_kib,
                             dram_bytes_per_cycle, clock_mhz)
        energy = energy_option(energy_path)
        check_plan_option(plan, config.spec)
        if topology_path is not None and (model_name is not None or dynamic):
            raise ValueError("--topology replaces --model (and has no controller for --dynamic)")
        if topology_path is None and model_name is None:
            raise ValueError("--model is required (or --topology FILE.csv)")
        if model_name is not None:
            check_model_option(model_name)
        with RunFolder(out_dir, "sim", force) as folder:
            run = None
            if topology_path is not None:
                topo = read_topology(topology_path, config.spec, topology_format, limits)
                notes = renamed_notes(topo)
                for note in notes:
                    click.echo(f"topology {printable(topology_path)}: {note}")
                name = printable(run_name(topology_path))
                report, files = report_files(simulate_topology(topo, plan, config, energy), name, extra_summary={
                    "model": name, "topology": name, "topology_format": topo.format,
                    "plan": plan or f"uniform:{config.spec.n_bits}", "renamed_layers": notes},
                    formats=FIGURE_CHOICES[figures])
            else:
                run = run_golden(model_name, plan, dynamic, batch, seed, input_path, backend, progress=click.echo,
                                 limits=limits)
                golden = {"files": golden_report.report_files(run, figure=figures != "none"),
                          "summary": golden_report.summary(run), "layers": golden_report.layer_rows(run)}
                report, files = report_files(simulate_golden_run(run, config, energy),
                                             printable(run_name(model_name)), golden,
                                             formats=FIGURE_CHOICES[figures])
            paths = folder.publish(files, _inputs(model_name, input_path, topology_path, energy_path, plan))
    except (ValueError, TypeError, OSError) as e:
        raise fail(e) from e
    if run is not None:
        click.echo(golden_report.format_table(run))
    click.echo(format_layer_table(report))
    click.echo(f"wrote {folder.out}: " + ", ".join(p.name for p in paths))


COMMANDS = [sim]
