"""Golden-model commands: export-model (a seeded synthetic model to a model file)."""
import click

from commands.run_options import fail
from golden.model_file import save_model
from golden.run_folder import check_file_target
from golden.synthetic import build_synthetic
from golden.topologies import TOPOLOGIES


@click.command("export-model")
@click.option("--model", "name", required=True, type=click.Choice(sorted(TOPOLOGIES)), help="topology")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
@click.option("-o", "--out", "path", required=True, type=click.Path(dir_okay=False), help="model file to write")
def export_model(name: str, seed: int, backend: str, path: str) -> None:
    """Build, calibrate and save the seeded synthetic model NAME; print the per-layer calibration."""
    try:
        check_file_target(path)
        synth = build_synthetic(name, seed, backend=backend)
        save_model(synth.model, path)
    except (ValueError, TypeError, OSError) as e:
        raise fail(e) from e
    click.echo(f"calibrated on {synth.calibration_images} seeded images; per layer: clamped %, zero %")
    for c in synth.layers:
        click.echo(f"  {c.name:<26} {100 * c.clamp_frac:7.3f} {100 * c.zero_frac:7.2f}")
    click.echo(f"wrote {path}")


COMMANDS = [export_model]
