"""The `sim` command: golden inference of a model with costs per layer (hardware columns: sim/)."""
import click

from golden.report import format_table, write_reports
from golden.session import run_golden


@click.command("sim")
@click.option("--model", "model_name", required=True, help="resnet18 | resnet50 | tiny | tiny_bottleneck | FILE")
@click.option("--plan", default=None, help="uniform:B or a JSON plan file (default: every layer at N bits)")
@click.option("--dynamic", is_flag=True, help="widths chosen per image by the model's controller")
@click.option("--batch", default=None, type=click.IntRange(min=1), help="synthetic images (default 1)")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the synthetic model and images")
@click.option("--input", "input_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help=".npy of master-code images (B, C, H, W) instead of synthetic ones")
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def sim(model_name, plan, dynamic, batch, seed, input_path, backend, out_dir) -> None:
    """Run MODEL on a batch; write OUT/summary.json, layers.csv, logits.npy, layers.png; print the table."""
    try:
        run = run_golden(model_name, plan, dynamic, batch, seed, input_path, backend, progress=click.echo)
        paths = write_reports(run, out_dir)
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(format_table(run))
    click.echo("wrote " + ", ".join(str(p) for p in paths))


COMMANDS = [sim]
