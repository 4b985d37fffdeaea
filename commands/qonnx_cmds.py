"""QONNX commands (the optional [qonnx] extra): import-qonnx, export-qonnx, qonnx-reference.

Thin wrappers over exchange/; onnx and qonnx are imported only when one of these commands runs.
"""
import json

import click

from golden.spec import DEFAULT_SPEC, NestedSpec
from golden.topologies import TOPOLOGIES


def _require_qonnx() -> None:
    """A clear error instead of a traceback when the optional [qonnx] extra is missing."""
    try:
        import onnx  # noqa: F401
        import qonnx  # noqa: F401
    except ImportError as e:
        raise click.ClickException(f"this command needs the [qonnx] extra (onnx, onnxruntime, qonnx): "
                                   f"pip install '.[qonnx]' ({e})") from e


@click.command("import-qonnx")
@click.argument("onnx_path", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="model file to write")
@click.option("--plan-out", default=None, type=click.Path(dir_okay=False),
              help="write the plan the graph's bit widths imply (JSON) here")
@click.option("--m-bits", default=DEFAULT_SPEC.m_bits, show_default=True, type=click.IntRange(1, 31),
              help="requant multiplier width M_BITS of the imported model")
@click.option("--compare", "count", default=16, show_default=True, type=click.IntRange(min=0),
              help="sample images to compare with qonnx's executor (0: skip)")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the sample images")
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
def import_qonnx_cmd(onnx_path, out_path, plan_out, m_bits, count, seed, backend) -> None:
    """Import the QONNX graph ONNX_PATH as a golden model file; print every m/2^s with its relative error and,
    on sample images, top-1 agreement and max logit error against qonnx's executor."""
    _require_qonnx()
    import onnx

    from exchange.qonnx_compare import compare, sample_images
    from exchange.qonnx_import import import_qonnx
    from golden.atomic import atomic_write_bytes
    from golden.model_file import save_model
    try:
        result = import_qonnx(onnx_path, NestedSpec(m_bits=m_bits))
        save_model(result.model, out_path)
        plan = {name: list(w) for name, w in result.plan.widths.items()}
        if plan_out:
            atomic_write_bytes(plan_out, (json.dumps(plan, indent=1) + "\n").encode())
        click.echo(f"{onnx_path}: {len(result.model.network.layers)} conv/linear layers, input "
                   f"{result.model.network.input_shape}, {result.model.network.num_classes} classes")
        click.echo(f"{'m / 2^s of':<40} {'s':>3} {'m range':>15} {'rel. error':>11}")
        for m in result.mappings:
            click.echo(f"  {m.where:<38} {m.shift:>3} {f'{m.m_min}..{m.m_max}':>15} {m.rel_error:>11.3e}")
        click.echo(f"max relative error of m / 2^s: {max(m.rel_error for m in result.mappings):.3e}")
        for note in result.notes:
            click.echo(f"note: {note}")
        narrow = {k: v for k, v in plan.items() if v != [DEFAULT_SPEC.n_bits] * 2}
        click.echo(f"implied plan: {json.dumps(narrow) if narrow else 'every layer at N bits'}")
        if count:
            graph = onnx.load(onnx_path)
            images = sample_images(result, count, seed)
            agreement = compare(result, graph, images, backend)
            click.echo(f"vs qonnx executor (plan implied by the graph), {agreement.summary()}")
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"wrote {out_path}" + (f" and {plan_out}" if plan_out else ""))


@click.command("export-qonnx")
@click.argument("model_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--plan", default=None, help="uniform:B or a JSON plan file (default: every layer at N bits)")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="ONNX file to write")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1), help="batch size of the graph")
@click.option("--check", "count", default=4, show_default=True, type=click.IntRange(min=0),
              help="synthetic images to run through qonnx's executor and compare with golden exactly (0: skip)")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the check images")
def export_qonnx_cmd(model_path, plan, out_path, batch, count, seed) -> None:
    """Export the model file MODEL_PATH at PLAN's widths as a QONNX graph (integer codes: Quant, Trunc views,
    ConvInteger, double requant) and check it against the golden logits with qonnx's executor."""
    _require_qonnx()
    from exchange.qonnx_compare import check_export
    from exchange.qonnx_export import export_qonnx
    from golden.model_file import load_model
    from golden.synthetic import synthetic_images
    try:
        model = load_model(model_path)
        onnx_model = export_qonnx(model, out_path, plan, batch)
        click.echo(f"wrote {out_path}: {len(onnx_model.graph.node)} nodes, plan {plan or 'every layer at N bits'}")
        if count:
            codes = synthetic_images(model.network, count, seed, model.spec)
            check = check_export(model, onnx_model, codes, plan)
            click.echo(check.summary())
            if not check.exact:
                raise click.ClickException(f"{out_path}: the exported graph does not reproduce the golden logits")
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e


@click.command("qonnx-reference")
@click.option("--model", "name", default="resnet18", show_default=True, type=click.Choice(sorted(TOPOLOGIES)))
@click.option("--mixed", is_flag=True, help="the 4/8-bit variant (4-bit layers in stages 2 and 3)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="ONNX file to write")
def qonnx_reference_cmd(name, mixed, seed, out_path) -> None:
    """Write a Brevitas-style QONNX graph of topology NAME with seeded random weights (docs/qonnx.md)."""
    _require_qonnx()
    from exchange.qonnx_reference import reference_graph
    from golden.atomic import atomic_write_bytes
    graph = reference_graph(TOPOLOGIES[name](), seed, mixed)
    atomic_write_bytes(out_path, graph.SerializeToString())
    click.echo(f"wrote {out_path}: {len(graph.graph.node)} nodes")


COMMANDS = [import_qonnx_cmd, export_qonnx_cmd, qonnx_reference_cmd]
