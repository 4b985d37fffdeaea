"""Verification commands: verify (the bench suite) and verify-long (whole networks through the RTL)."""
from __future__ import annotations

import click

from commands.run_options import fail


@click.command("verify")
@click.option("--model", default=None, help="model file (.safetensors/.dqt) whose layers the conv-layer benches run "
                                            "[default: the synthetic ResNet-18]")
@click.option("--short", is_flag=True, help="the quick share make test runs")
@click.option("--corners", is_flag=True, help="every corner run on both simulators, pe_acc_short included")
@click.option("--largest", is_flag=True, help="only the largest array (64x64, also in the default suite): lint and three tiles")
@click.pass_context
def verify(ctx, model, short, corners, largest):
    """Run the cocotb bench suite on the simulators SIM selects (default both); exits 1 on any failure."""
    from verify.suite import verify_suite

    try:
        chosen = [name for name, flag in (("short", short), ("corners", corners), ("largest", largest)) if flag]
        if len(chosen) > 1:
            raise ValueError(f"--{' and --'.join(chosen)} are different suites; give one")
        code = verify_suite(chosen[0] if chosen else "default", model)
    except (ValueError, TypeError, OSError) as e:
        raise fail(e) from e
    ctx.exit(code)


@click.command("verify-long")
@click.option("--model", default="resnet18", show_default=True,
              help="topology (seeded synthetic model: resnet18, resnet50, ...) or model file")
@click.option("--plan", default=None, help="uniform:B, a plan JSON file, or dynamic (the controller's widths per "
                                           "image) [default: every width pair in turn]")
@click.option("--images", type=int, default=1, show_default=True, help="images, one after the other")
@click.option("--input", "input_path", default=None, help=".npy master-code images (B, C, H, W) [default: seeded synthetic]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--pe", default="16x16", show_default=True, help="array RxC")
@click.option("--pe-mode", type=click.Choice(("fixed", "fused")), default="fixed", show_default=True)
@click.option("--harness", type=click.Choice(("stream", "cocotb")), default=None,
              help="stream: the C++ Verilator testbench; cocotb: the per-cycle Python bench (16x16, slow) "
                   "[default: stream]")
@click.option("--threads", type=int, default=1, show_default=True, help="Verilator --threads of the stream harness")
@click.option("--fresh", is_flag=True, help="start over instead of resuming the journal in --out")
@click.option("--out", default=None, help="results folder [default: out/verify-long[-MODEL][-fused][-PLAN]]")
@click.pass_context
def verify_long(ctx, model, plan, images, input_path, seed, pe, pe_mode, harness, threads, fresh, out):
    """Whole networks through the RTL, every conv/linear layer bit-exact and cycle-exact; resumable."""
    from verify.long_run import summary_lines, verify_long as run

    try:
        s = run(model, seed, pe, pe_mode, harness, plan, images, threads, fresh, out, input_path)
    except (ValueError, TypeError, OSError, RuntimeError) as e:  # RuntimeError: the harness build or run failed
        raise fail(e) from e
    click.echo("\n" + "\n".join(summary_lines(s)))
    ctx.exit(0 if s["passed"] else 1)


COMMANDS = [verify, verify_long]
