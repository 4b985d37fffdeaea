"""`train` and `import` commands (PyTorch, the optional [train] extra): thin wrappers over train/.

torch is imported only when one of these commands runs, so the core CLI works without it.
"""
import click

ARCH_CHOICES = ["digits", "resnet18_cifar", "resnet18", "resnet50"]


def _require_torch() -> None:
    """Thread settings first (train/runtime.py: before torch and numba are imported), then a clear error instead
    of a traceback when the optional [train] extra is missing."""
    from train.runtime import configure_threads

    configure_threads()
    try:
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        raise click.ClickException(f"this command needs the [train] extra (PyTorch, scikit-learn): "
                                   f"pip install '.[train]' ({e})") from e


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(b) for b in text.split(","))
    except ValueError as e:
        raise click.BadParameter(f"widths must be comma-separated ints, got {text!r}") from e


@click.command("train")
@click.option("--dataset", type=click.Choice(["digits", "cifar10"]), default="digits", show_default=True)
@click.option("--data", "data_dir", default=None, type=click.Path(file_okay=False),
              help="CIFAR-10 batch directory (binary or python batches)")
@click.option("--arch", "arch_name", default=None, type=click.Choice(ARCH_CHOICES),
              help="default: digits for digits, resnet18_cifar for cifar10")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--widths", default="2,4,6,8", show_default=True, help="static widths of the α term and the table")
@click.option("--candidates", default="2,4,6,8", show_default=True,
              help="the controller's candidate widths (NestedSpec.candidates, stored in the model file)")
@click.option("--alpha", default=1.0, show_default=True, type=float, help="weight of the static-width losses")
@click.option("--beta", default=2.0, show_default=True, type=float, help="weight of the controller's cost")
@click.option("--cost", default="bitops", show_default=True, type=click.Choice(["bitops", "bits"]))
@click.option("--cost-target", default=0.22, show_default=True, type=float,
              help="budget of the cost (relative to all-N); negative: plain β·cost, no budget")
@click.option("--float-epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1), help="DQT epochs")
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(min=1),
              help="DQT batch size; float pre-training uses half of it (at least 1)")
@click.option("--max-train", default=None, type=click.IntRange(min=1), help="use only the first N training images")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
def train(dataset, data_dir, arch_name, out_dir, widths, candidates, alpha, beta, cost, cost_target, float_epochs,
          epochs, lr, batch_size, max_train, seed, backend) -> None:
    """DQT-train a ResNet, export OUT/model.safetensors, print accuracy at each width and dynamic."""
    _require_torch()
    from train.dqt import DQTConfig
    from train.float_train import FloatConfig
    from golden.spec import NestedSpec
    from train.pipeline import train_dataset

    try:
        spec = NestedSpec(candidates=_widths(candidates))
        dqt_cfg = DQTConfig(static_widths=_widths(widths), alpha=alpha, beta=beta, cost=cost,
                            cost_target=None if cost_target < 0 else cost_target, epochs=epochs, lr=lr,
                            batch_size=batch_size, seed=seed)
        result = train_dataset(dataset, data_dir, out_dir, arch_name=arch_name, max_train=max_train,
                               float_cfg=FloatConfig(epochs=float_epochs, batch_size=max(1, batch_size // 2),
                                                     seed=seed),
                               dqt_cfg=dqt_cfg, spec=spec, backend=backend, progress=click.echo)
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"float (BN) test accuracy {result.float_acc:.2f}%")
    click.echo(result.table)
    click.echo(f"wall time {result.seconds:.1f} s; wrote " + ", ".join(str(p) for p in result.paths))


@click.command("import")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--arch", "arch_name", required=True, type=click.Choice(ARCH_CHOICES))
@click.option("--calib", default=None, help="calibration images: a directory (CIFAR-10 batches, .npy, PNG/JPEG) "
                                            "or 'digits' (default)")
@click.option("--calib-count", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--input-size", default=None, type=click.IntRange(min=8), help="override the arch's input H = W")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False))
def import_(checkpoint, arch_name, calib, calib_count, input_size, out_path) -> None:
    """Float torchvision-layout ResNet CHECKPOINT -> calibrated nested-integer model file."""
    _require_torch()
    from train.importer import import_checkpoint

    try:
        import_checkpoint(checkpoint, arch_name, out_path, calib, calib_count, input_size, progress=click.echo)
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e


@click.command("train-bench")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--targets", default="0.07,0.10,0.14,0.20", show_default=True,
              help="relative BitOPs budgets of the dynamic controllers (1 = every switchable layer at N bits)")
@click.option("--float-epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--dqt-epochs", default=6, show_default=True, type=click.IntRange(min=1))
@click.option("--controller-epochs", default=6, show_default=True, type=click.IntRange(min=1))
@click.option("--controller-seeds", default="0,1", show_default=True,
              help="one budgeted controller per seed and target; the best on the validation split is kept")
@click.option("--draws", default=None, help="draws per split as TRAIN,VAL,TEST (default 4,3,3; fewer: a quick run)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--backend", default="numba", show_default=True, type=click.Choice(["numba", "numpy"]))
def train_bench(out_dir, targets, float_epochs, dqt_epochs, controller_epochs, controller_seeds, draws, seed,
                backend) -> None:
    """Pareto study on the graded-difficulty digits: dynamic controllers at several BitOPs targets against
    static uniform and greedy per-layer plans (golden test accuracy with bootstrap CIs, 16x16 sim)."""
    _require_torch()
    from train.bench import BenchConfig, run_bench

    try:
        targets_t = tuple(float(t) for t in targets.split(","))
    except ValueError:
        raise click.BadParameter(f"must be comma-separated numbers, got {targets!r}", param_hint="--targets")
    try:
        seeds = tuple(int(s) for s in controller_seeds.split(","))
    except ValueError:
        raise click.BadParameter(f"must be comma-separated integers, got {controller_seeds!r}",
                                 param_hint="--controller-seeds")
    draw_counts = {}
    if draws is not None:
        counts = _widths(draws)
        if len(counts) != 3:
            raise click.BadParameter(f"need three counts TRAIN,VAL,TEST, got {draws!r}", param_hint="--draws")
        draw_counts = dict(zip(("train", "val", "test"), counts))
    try:
        body = run_bench(out_dir, BenchConfig(targets=targets_t, float_epochs=float_epochs, dqt_epochs=dqt_epochs,
                                              controller_epochs=controller_epochs, controller_seeds=seeds,
                                              seed=seed, backend=backend,
                                              draws=draw_counts), progress=click.echo)
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    for c in body["comparisons"]:
        s = c["static"]
        vs = "no static plan fits" if s is None else (
            f"best static {s['name']} {s['acc']:.2f}% at {s['mbitops']:.3f} MBitOPs: diff {s['diff']:+.2f} "
            f"[{s['diff_ci'][0]:+.2f}, {s['diff_ci'][1]:+.2f}]")
        click.echo(f"{c['dynamic']:<15} {c['dynamic_acc']:.2f}% [{c['dynamic_ci'][0]:.2f}, {c['dynamic_ci'][1]:.2f}] "
                   f"at {c['dynamic_mbitops']:.3f} MBitOPs; {vs}")
        h, level = c["headroom"], c["headroom"]["level_allocation"]
        oracle = "none fits" if h["oracle_val_acc"] is None else f"{h['oracle_val_acc']:.2f}%"
        best = "none fits" if c["static_val_acc"] is None else f"{c['static_val_acc']:.2f}%"
        click.echo(f"{'':<15} validation: best static {best}, per-image oracle {oracle}" + ("" if level is None else
                                  f", severity-level allocation {level['val_acc']:.2f}% (test {level['test_acc']:.2f}%"
                                  f" at {level['test_mbitops']:.3f} MBitOPs)"))
    wins = body["dynamic_wins_over_best_static"]
    click.echo(f"dynamic beats the best static plan (paired 95 % CI above 0) at {wins['dynamic']} (budgeted "
               f"controllers) and {wins['level']} (severity-level imitation) of {len(body['config']['targets'])} "
               f"targets; wall time {body['seconds']:.1f} s; wrote {out_dir}")


COMMANDS = [train, import_, train_bench]
