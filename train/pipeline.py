"""The `train` command's pipeline: float pre-training -> BatchNorm folding -> calibration -> DQT training ->
export to a golden model file -> evaluation (fake-quant and golden) -> results table, JSON, CSV, PNG.

Files written to the output folder: model.safetensors (the golden model file), test_images.npy (the test
split's input master codes, for `cli.py sim --input`), test_labels.npy, results.json, results.csv,
accuracy_vs_bitops.png.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from golden.atomic import atomic_path
from golden.spec import DEFAULT_SPEC, NestedSpec

from .arch import arch as arch_by_name
from .calibrate import calibrate
from .data import Dataset, load_dataset
from .dqt import DQTConfig, train_dqt
from .evaluate import PointResult, evaluate, input_codes
from .export import export_model_file
from .float_train import FloatConfig, float_accuracy, train_float
from .fold import fold_resnet
from .nested import NestedNet
from .report import format_table, write_results
from .resnet import ResNet
from .runtime import limit_threads

DEFAULT_ARCH = {"digits": "digits", "cifar10": "resnet18_cifar"}


@dataclass(frozen=True)
class TrainResult:
    points: list[PointResult]
    float_acc: float
    model_path: Path
    paths: list[Path]
    seconds: float
    table: str


def _save_npy(path: Path, a: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, a, allow_pickle=False)


def train_pipeline(dataset: Dataset, out_dir, arch_name: str | None = None, float_cfg: FloatConfig = FloatConfig(),
                   dqt_cfg: DQTConfig = DQTConfig(), spec: NestedSpec = DEFAULT_SPEC, calib_images: int = 512,
                   backend: str = "numba", progress: Callable[[str], None] = print) -> TrainResult:
    """Run the whole pipeline of the module docstring on `dataset`; returns the points and paths."""
    start = time.perf_counter()

    def log(line: str) -> None:
        progress(f"[{time.perf_counter() - start:7.1f} s] {line}")

    limit_threads()
    torch.manual_seed(float_cfg.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arch = arch_by_name(arch_name or DEFAULT_ARCH[dataset.name])
    arch = arch.with_input(dataset.input_shape).with_classes(dataset.num_classes)
    network = arch.network()
    log(f"{dataset.name}: {len(dataset.train)} train / {len(dataset.test)} test images, arch {arch.name} "
        f"({network.macs / 1e6:.3f} MMACs/img, {len(network.switchable_layers)} switchable layers)")
    float_model = train_float(ResNet(arch), dataset.train, float_cfg, log)
    float_acc = float_accuracy(float_model, dataset.test)
    log(f"float test accuracy {float_acc:.2f}%; folding BatchNorm, calibrating on {calib_images} images")
    net = NestedNet(network, spec, fold_resnet(float_model, network), 1.0, controller=True, seed=dqt_cfg.seed)
    calibrate(net, dataset.train.images[:calib_images])
    train_dqt(net, dataset.train, dqt_cfg, log)
    model_path = out / "model.safetensors"
    model = export_model_file(net, model_path)
    log(f"exported {model_path}; evaluating fake-quant (float64) and golden ({backend}) on the test split")
    points = evaluate(net, model, dataset.test, dqt_cfg.static_widths, backend)
    _save_npy(out / "test_images.npy", input_codes(net, dataset.test).to(torch.int64).numpy())
    _save_npy(out / "test_labels.npy", dataset.test.labels.numpy())
    seconds = time.perf_counter() - start
    summary = {"dataset": dataset.name, "arch": asdict(arch), "float_acc": float_acc, "dqt": asdict(dqt_cfg),
               "float": asdict(float_cfg), "seconds": seconds, "model": str(model_path),
               "test_images": len(dataset.test)}
    paths = write_results(points, summary, out, f"DQT, {arch.name} ResNet, {dataset.name} test split")
    return TrainResult(points, float_acc, model_path, [model_path, *paths], seconds, format_table(points))


def train_dataset(name: str, data_dir, out_dir, max_train: int | None = None, **kw) -> TrainResult:
    """`train_pipeline` on a dataset by name ("digits", or "cifar10" from `data_dir`), optionally on only its
    first `max_train` training images."""
    dataset = load_dataset(name, data_dir)
    if max_train is not None:
        dataset = replace(dataset, train=dataset.train.take(max_train))
    return train_pipeline(dataset, out_dir, **kw)
