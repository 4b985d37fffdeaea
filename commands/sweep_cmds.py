"""The `sweep` command: simulate the cross product of every array axis, plans and networks (sim/sweep.py)."""
from pathlib import Path

import click

from commands.executor_options import executor_options
from commands.run_options import fail, force_option
from dist.executor import ExecutorOptions
from golden.progress import follow, progress_bar
from golden.run_folder import RunFolder
from sim.session import energy_option
from sim.sweep import axis_values, expand, run_sweep, split_list, sweep_files, sweep_journal, sweep_title
from sim.topology_csv import FORMATS

SWEEP_AXIS_OPTIONS = (
    ("pe", "8x8,16x16,32x32", "comma list of RxC arrays"),
    ("dataflow", "os,ws,is", "comma list of os|ws|is"),
    ("plan", "uniform:8,uniform:4", "comma list of static plans (uniform:B or JSON plan files)"),
    ("pe_mode", "fixed", "comma list of fixed|fused"),
    ("layout", "packed", "comma list of packed|bitplane"),
    ("weight_sram_kib", "64", "comma list of KiB"),
    ("act_sram_kib", "64", "comma list of KiB"),
    ("out_sram_kib", "64", "comma list of KiB"),
    ("dram_bytes_per_cycle", "16", "comma list of DRAM bandwidths"),
    ("clock_mhz", "500", "comma list of clocks"),
)


def sweep_axis_options(command):
    """One comma-list option per ArrayConfig axis (and the plan); values parsed by sim.sweep.axis_values."""
    for axis, default, help_text in reversed(SWEEP_AXIS_OPTIONS):
        command = click.option(f"--{axis.replace('_', '-')}", axis, default=default, show_default=True,
                               help=help_text)(command)
    return command


@click.command("sweep")
@click.option("--model", "models", default=None,
              help="comma list of resnet18 | resnet50 | tiny | tiny_bottleneck | model FILEs")
@click.option("--topology", "topologies", default=None, help="comma list of SCALE-Sim topology CSVs")
@click.option("--topology-format", default="auto", show_default=True, type=click.Choice(FORMATS))
@sweep_axis_options
@click.option("--energy", "energy_path", default=None, type=click.Path(dir_okay=False),
              help="JSON energy table overriding the defaults (docs/sim.md)")
@executor_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@force_option
def sweep(models, topologies, topology_format, energy_path, workers, scheduler, chunk_size, out_dir, force,
          **axes) -> None:
    """Simulate every combination of the comma lists (networks × every array axis × plans); write
    OUT/sweep.csv, OUT/pareto.{pdf,svg,png} and OUT/axes.{pdf,svg,png}. Finished configurations are journaled
    in .OUT.sweep-journal.jsonl next to OUT; a re-run skips them (docs/distributed.md)."""
    try:
        if models is None and topologies is None:
            raise ValueError("--model or --topology is required")
        executor = ExecutorOptions(workers=workers, scheduler=scheduler, chunk_size=chunk_size)
        networks = [("model", m) for m in (split_list(models, "--model") if models else [])]
        networks += [("topology", t) for t in (split_list(topologies, "--topology") if topologies else [])]
        values = {axis: axis_values(axis, text) for axis, text in axes.items()}
        energy = energy_option(energy_path)
        with RunFolder(out_dir, "sweep", force) as folder:
            journal = sweep_journal(folder.out)
            if force:
                journal.unlink(missing_ok=True)
            configs = expand(networks, values, energy, topology_format)
            click.echo(f"sweep: {len(configs):,} configurations on {executor.describe()}")
            with progress_bar(total=len(configs), desc="sweep", unit="config") as bar:
                rows = run_sweep(configs, executor=executor, journal=journal, progress=follow(bar))
            inputs = {f"--{source} {name}": name for source, name in networks if Path(name).is_file()}
            if energy_path:
                inputs["--energy"] = energy_path
            paths = folder.publish(sweep_files(rows, sweep_title(networks, configs)), inputs)
    except (ValueError, TypeError, OSError) as e:
        raise fail(e) from e
    click.echo("wrote " + ", ".join(str(p) for p in paths))


COMMANDS = [sweep]
