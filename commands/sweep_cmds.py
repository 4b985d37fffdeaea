"""The `sweep` command: simulate the cross product of array shapes, dataflows and static plans (sim/sweep.py)."""
from pathlib import Path

import click

from commands.executor_options import executor_options
from dist.executor import ExecutorOptions
from dist.progress import RateReporter
from sim.config import LAYOUTS, PE_MODES
from sim.session import energy_option
from sim.sweep import run_sweep, split_list, write_sweep

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
    """The array / memory / energy options shared by `sim` and `sweep` (values go to sim.session.make_config)."""
    for option in reversed(HARDWARE_OPTIONS):
        command = option(command)
    return command


@click.command("sweep")
@click.option("--model", required=True, help="resnet18 | resnet50 | tiny | tiny_bottleneck | model FILE")
@click.option("--pe", "pes", default="8x8,16x16,32x32", show_default=True, help="comma list of RxC arrays")
@click.option("--dataflow", "dataflows", default="os,ws,is", show_default=True, help="comma list of os|ws|is")
@click.option("--plan", "plans", default="uniform:8,uniform:4", show_default=True, help="comma list of static plans")
@hardware_options
@executor_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def sweep(model, pes, dataflows, plans, pe_mode, layout, weight_sram_kib, act_sram_kib, out_dir, out_sram_kib,
          dram_bytes_per_cycle, clock_mhz, energy_path, workers, scheduler, chunk_size) -> None:
    """Simulate every (pe, dataflow, plan); write OUT/sweep.csv and OUT/sweep.png. Finished configurations are
    journaled in OUT/sweep.journal.jsonl; a re-run skips them (docs/distributed.md)."""
    try:
        executor = ExecutorOptions(workers=workers, scheduler=scheduler, chunk_size=chunk_size)
        energy = energy_option(energy_path)
        click.echo(f"sweep: {model} on {executor.describe()}")
        rows = run_sweep(model, split_list(pes, "--pe"), split_list(dataflows, "--dataflow"), split_list(plans, "--plan"),
                         executor=executor, journal=Path(out_dir) / "sweep.journal.jsonl", energy=energy,
                         progress=RateReporter(click.echo, "sweep configurations"), pe_mode=pe_mode, layout=layout,
                         weight_sram_kib=weight_sram_kib, act_sram_kib=act_sram_kib, out_sram_kib=out_sram_kib,
                         dram_bytes_per_cycle=dram_bytes_per_cycle, clock_mhz=clock_mhz)
        paths = write_sweep(out_dir, rows, f"{model}: {pe_mode} PEs, {layout} layout, {clock_mhz:g} MHz")
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    click.echo("wrote " + ", ".join(str(p) for p in paths))


COMMANDS = [sweep]
