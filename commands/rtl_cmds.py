"""RTL commands: gen-rtl (Verilog + manifest) and rtl-stats (Yosys cell counts per module)."""
from __future__ import annotations

import click

from commands.run_options import fail
from rtl.params import DEFAULT_K_MAX, FAULTS, config_from_options
from sim.config import PE_MODES


def _config(pe, n_bits, acc_bits, k_max, fault, pe_mode):
    try:
        return config_from_options(pe, n_bits=n_bits, acc_bits=acc_bits, k_max=k_max, fault=fault, pe_mode=pe_mode)
    except (TypeError, ValueError) as err:
        raise click.UsageError(str(err)) from err


def _options(func):
    for option in reversed([
        click.option("--pe", required=True, help="array shape RxC, R and C in [1, 64] (e.g. 16x16)"),
        click.option("--n-bits", type=int, default=8, show_default=True, help="master width N"),
        click.option("--acc-bits", type=int, default=32, show_default=True, help="accumulator width ACC_BITS"),
        click.option("--k-max", type=int, default=DEFAULT_K_MAX, show_default=True,
                     help="operand buffer depth = largest reduction K of one tile"),
        click.option("--pe-mode", type=click.Choice(PE_MODES), default="fixed", show_default=True,
                     help="fixed: one product per PE per cycle; fused: precision-scalable (Bit Fusion style), "
                          "(N/w_w)·(N/w_a) products per cycle at widths N, N/2, N/4 >= 2"),
        click.option("--fault", type=click.Choice(sorted(FAULTS)), default=None,
                     help="inject a deliberate bug (for proving the benches catch it); recorded in the manifest"),
    ]):
        func = option(func)
    return func


@click.command("gen-rtl")
@_options
@click.option("--out", default=None, help="output folder [default: out/rtl-RxC]")
def gen_rtl(pe, n_bits, acc_bits, k_max, pe_mode, fault, out):
    """Generate the DQT array Verilog (dqt_top.v, dqt_top.vlt lint waivers) and manifest.json."""
    from rtl.emit import write_rtl

    cfg = _config(pe, n_bits, acc_bits, k_max, fault, pe_mode)
    out = out or f"out/rtl-{cfg.array.pe_label}" + ("-fused" if pe_mode == "fused" else "")
    try:
        manifest = write_rtl(cfg, out)
    except (ValueError, TypeError, OSError) as e:
        raise fail(e) from e
    click.echo(f"wrote {', '.join(f['path'] for f in manifest['files'])} and manifest.json to {out} "
               f"(top {manifest['top']}, {cfg.array.pe_label} {pe_mode}, N={n_bits}, ACC={acc_bits}, K_MAX={k_max}"
               f"{', fault ' + fault if fault else ''})")


@click.command("rtl-stats")
@_options
@click.option("--out", default=None, help="output folder [default: out/rtl-RxC-stats]")
def rtl_stats(pe, n_bits, acc_bits, k_max, pe_mode, fault, out):
    """Synthesize with Yosys (hierarchical) and write per-module cell counts (stats.json, stats.md)."""
    from golden.progress import progress_bar
    from rtl.stats import write_stats

    cfg = _config(pe, n_bits, acc_bits, k_max, fault, pe_mode)
    out = out or f"out/rtl-{cfg.array.pe_label}" + ("-fused" if pe_mode == "fused" else "") + "-stats"
    with progress_bar(desc="yosys", unit=" passes") as bar:
        last = {"phase": None}

        def on_phase(phase: str) -> None:  # called every few seconds: count a pass when it changes
            bar.set_postfix_str(phase)
            bar.update(int(phase != last["phase"]))
            last["phase"] = phase
        try:
            report = write_stats(cfg, out, progress=click.echo, on_phase=on_phase)
        except (RuntimeError, ValueError, TypeError, OSError) as e:  # RuntimeError: Yosys missing or failed
            raise fail(e) from e
    click.echo(report["markdown"])


COMMANDS = [gen_rtl, rtl_stats]
