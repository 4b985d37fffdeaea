"""The `sim` command: golden inference of a model with costs per layer, then the hardware simulation (sim/)."""
import click

from golden.report import format_table, write_reports
from golden.session import run_golden
from sim.config import DATAFLOWS, LAYOUTS, PE_MODES
from sim.report import format_layer_table, write_hardware_reports
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


@click.command("sim")
@click.option("--model", "model_name", default=None,
              help="resnet18 | resnet50 | tiny | tiny_bottleneck | FILE (required unless --topology)")
@click.option("--plan", default=None, help="uniform:B or a JSON plan file (default: every layer at N bits)")
@click.option("--dynamic", is_flag=True, help="widths chosen per image by the model's controller")
@click.option("--batch", default=None, type=click.IntRange(min=1), help="synthetic images (default 1)")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the synthetic model and images")
@click.option("--input", "input_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help=".npy of master-code images (B, C, H, W) instead of synthetic ones")
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--pe", default="16x16", show_default=True, help="PE array RxC")
@click.option("--dataflow", default="os", show_default=True, type=click.Choice(DATAFLOWS))
@hardware_options
@click.option("--topology", "topology_path", default=None, type=click.Path(dir_okay=False),
              help="SCALE-Sim topology CSV to simulate instead of --model (no golden inference)")
@click.option("--topology-format", default="auto", show_default=True, type=click.Choice(FORMATS),
              help="conv or gemm (Layer, M, N, K); auto: gemm when the header reads M, N, K")
def sim(model_name, plan, dynamic, batch, seed, input_path, backend, out_dir, pe, dataflow, pe_mode, layout,
        weight_sram_kib, act_sram_kib, out_sram_kib, dram_bytes_per_cycle, clock_mhz, energy_path,
        topology_path, topology_format) -> None:
    """Run MODEL on a batch; write OUT/summary.json, layers.csv, logits.npy, layers.png; print the table.
    Then simulate it on the array: hardware fields in summary.json / layers.csv, table.tex, table.md,
    figures (cycles, energy, traffic, breakdown as PDF, SVG, PNG), COMPUTE_REPORT.csv."""
    try:
        config = make_config(pe, dataflow, pe_mode, layout, weight_sram_kib, act_sram_kib, out_sram_kib,
                             dram_bytes_per_cycle, clock_mhz)
        energy = energy_option(energy_path)
        check_plan_option(plan, config.spec)
        if topology_path is not None:
            if model_name is not None or dynamic:
                raise ValueError("--topology replaces --model (and has no controller for --dynamic)")
            topo = read_topology(topology_path, config.spec, topology_format)
            for note in renamed_notes(topo):
                click.echo(f"topology {topology_path}: {note}")
            name = run_name(topology_path)
            report = write_hardware_reports(out_dir, simulate_topology(topo, plan, config, energy), name, {
                "model": name, "topology": name, "topology_format": topo.format,
                "plan": plan or f"uniform:{config.spec.n_bits}", "renamed_layers": renamed_notes(topo)})
            click.echo(format_layer_table(report))
            click.echo(f"wrote hardware reports in {out_dir}")
            return
        if model_name is None:
            raise ValueError("--model is required (or --topology FILE.csv)")
        check_model_option(model_name)
        run = run_golden(model_name, plan, dynamic, batch, seed, input_path, backend, progress=click.echo)
        paths = write_reports(run, out_dir)
        report = write_hardware_reports(out_dir, simulate_golden_run(run, config, energy), run_name(model_name))
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(format_table(run))
    click.echo(format_layer_table(report))
    click.echo("wrote " + ", ".join(str(p) for p in paths) + ", table.tex, table.md, COMPUTE_REPORT.csv, "
               "cycles / energy / traffic / breakdown .pdf .svg .png")


COMMANDS = [sim]
