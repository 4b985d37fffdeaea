"""The `eval` command: dataset evaluation sharded by image batches on the execution layer (dist/evaluate.py)."""
import time
from pathlib import Path

import click

from commands.executor_options import executor_options
from commands.run_options import fail, force_option
from commands.sim_cmds import hardware_options
from dist.evaluate import eval_files, evaluate_images, load_images, load_labels
from dist.executor import ExecutorOptions
from golden.progress import follow, progress_bar
from golden.run_folder import RunFolder
from golden.session import resolve_model
from sim.config import DATAFLOWS
from sim.session import check_plan_option, energy_option, make_config


@click.command("eval")
@click.option("--model", "model_name", required=True, help="resnet18 | resnet50 | tiny | tiny_bottleneck | FILE")
@click.option("--images", "images_source", required=True,
              help="FILE.npy (master codes B,C,H,W) | FILE.npz (images, labels) | synthetic:N")
@click.option("--labels", "labels_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help=".npy of integer labels (B,) for accuracy")
@click.option("--plan", default=None, help="uniform:B or a JSON plan file (default: every layer at N bits)")
@click.option("--dynamic", is_flag=True, help="widths chosen per image by the model's controller")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(min=1), help="images per inference call")
@click.option("--seed", default=0, show_default=True, type=int, help="seed of a synthetic model and images")
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
@click.option("--pe", default="16x16", show_default=True, help="PE array RxC")
@click.option("--dataflow", default="os", show_default=True, type=click.Choice(DATAFLOWS))
@hardware_options
@executor_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@force_option
def eval_command(model_name, images_source, labels_path, plan, dynamic, batch, seed, backend, pe, dataflow, pe_mode,
                 layout, weight_sram_kib, act_sram_kib, out_sram_kib, dram_bytes_per_cycle, clock_mhz, energy_path,
                 workers, scheduler, chunk_size, out_dir, force) -> None:
    """Evaluate MODEL on IMAGES (sharded by batches): accuracy with labels, widths, BitOPs and the hardware
    simulation of every image; write OUT/summary.json, images.csv, logits.npy, eval.png."""
    try:
        executor = ExecutorOptions(workers=workers, scheduler=scheduler, chunk_size=chunk_size)
        config = make_config(pe, dataflow, pe_mode, layout, weight_sram_kib, act_sram_kib, out_sram_kib,
                             dram_bytes_per_cycle, clock_mhz)
        energy = energy_option(energy_path)
        check_plan_option(plan, config.spec)
        with RunFolder(out_dir, "eval", force) as folder:
            model = resolve_model(model_name, seed, backend)
            images, labels = load_images(images_source, model, seed)
            if labels_path is not None:
                labels = load_labels(labels_path)
            click.echo(f"eval: {len(images):,} images in batches of {batch} on {executor.describe()}")
            start = time.perf_counter()
            with progress_bar(total=-(-len(images) // batch), desc="eval", unit="batch") as bar:
                result = evaluate_images(model_name, model, images, labels, plan=plan, dynamic=dynamic,
                                         config=config, energy=energy, batch=batch, backend=backend,
                                         executor=executor, progress=follow(bar))
            inputs = {label: path for label, path in (("--model", model_name), ("--images", images_source),
                                                       ("--labels", labels_path), ("--energy", energy_path))
                      if path is not None and Path(path).is_file()}
            paths = folder.publish(eval_files(result), inputs)
    except (ValueError, TypeError, OSError) as e:
        raise fail(e) from e
    s = result.summary
    accuracy = "" if s["accuracy"] is None else f"top-1 {100 * s['accuracy']:.2f} % ({s['correct']}/{s['images']}), "
    click.echo(f"eval: {s['images']} images, {accuracy}avg width {s['avg_bits']:.3f} bits, "
               f"{s['bitops_per_image']['mean']:.4g} BitOPs/image, {s['width_sets']} width sets, "
               f"{s['hardware']['total_cycles']:.6g} cycles/image, {s['hardware']['energy_uj']:.6g} uJ/image; "
               f"{time.perf_counter() - start:.1f} s")
    click.echo("wrote " + ", ".join(str(p) for p in paths))


COMMANDS = [eval_command]
