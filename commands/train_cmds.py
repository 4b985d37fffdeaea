"""`train` and `import` commands (PyTorch, the optional [train] extra): thin wrappers over train/.

torch is imported only when one of these commands runs, so the core CLI works without it.
"""
import click

ARCH_CHOICES = ["digits", "resnet18_cifar", "resnet18", "resnet50"]


def _require_torch() -> None:
    """A clear error instead of a traceback when the optional [train] extra is missing."""
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


COMMANDS = [train, import_]
