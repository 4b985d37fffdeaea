"""One golden run as the `sim` command does it: resolve the model and the inputs, run inference, time it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .inference import InferenceResult, Progress, infer, inference_macs
from .limits import DEFAULT_LIMITS, Limits
from .model import NestedModel
from .model_file import load_model
from .progress import progress_bar
from .synthetic import synthetic_images, synthetic_model
from .topologies import TOPOLOGIES

BAR_MIN_IMAGES = 16  # batches from this size on get a progress bar over their MACs (time left)


@dataclass(frozen=True)
class GoldenRun:
    """What was run (model as given, plan name, seed, backend, images) and its result and wall time."""

    model_name: str
    model: NestedModel
    plan: str
    dynamic: bool
    seed: int
    backend: str
    images: np.ndarray
    result: InferenceResult
    seconds: float


def resolve_model(name: str, seed: int, backend: str = "numba", limits: Limits = DEFAULT_LIMITS,
                  progress: bool = False) -> NestedModel:
    """A synthetic model by topology name (seeded; from the model cache, else built with a progress bar on
    stderr when `progress`), or a model file by path (checked against `limits`)."""
    if name in TOPOLOGIES:
        return synthetic_model(name, seed, backend=backend, progress=progress)
    if Path(name).is_file():
        return load_model(name, limits)
    raise ValueError(f"model {name!r} is neither a topology ({', '.join(TOPOLOGIES)}) nor a model file")


def resolve_images(model: NestedModel, batch: int | None, seed: int, input_path: str | None,
                   limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Images from a .npy file of master codes (B, C, H, W), or `batch` seeded synthetic images; the batch's
    element count is checked against limits.max_batch_elems before anything is allocated."""
    per_image = int(np.prod(model.network.input_shape))
    if input_path is None:
        batch = 1 if batch is None else batch
        limits.check("max_batch_elems", batch * per_image, f"--batch {batch}: batch elements")
        return synthetic_images(model.network, batch, seed, model.spec)
    try:
        images = np.load(input_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"--input {input_path}: not a readable .npy array ({e})") from e
    if not isinstance(images, np.ndarray):
        raise ValueError(f"--input {input_path}: not a .npy array (an .npz archive?)")
    limits.check("max_batch_elems", images.size, f"--input {input_path}: elements")
    if batch is not None and images.ndim >= 1 and len(images) != batch:
        raise ValueError(f"--input {input_path}: holds {len(images)} images but --batch {batch}")
    return np.array(images)


def run_golden(model_name: str, plan: str | None = None, dynamic: bool = False, batch: int | None = None,
               seed: int = 0, input_path: str | None = None, backend: str = "numba",
               progress: Progress | None = None, limits: Limits = DEFAULT_LIMITS) -> GoldenRun:
    """Resolve model and inputs, then infer (plan None and not dynamic: every layer at N bits). With `progress`
    (one line per op), a batch of BAR_MIN_IMAGES or more also gets a bar on stderr over its MACs
    (golden.progress: tqdm on a terminal, a plain line at most every 30 s otherwise)."""
    model = resolve_model(model_name, seed, backend, limits, progress is not None)
    images = resolve_images(model, batch, seed, input_path, limits)
    start = time.perf_counter()
    with progress_bar(total=inference_macs(model, len(images), dynamic), desc="golden", unit="MAC", unit_scale=True,
                      enabled=progress is not None and len(images) >= BAR_MIN_IMAGES) as bar:
        result = infer(model, images, plan=plan, dynamic=dynamic, backend=backend, progress=progress, bar=bar)
    seconds = time.perf_counter() - start
    plan_name = "dynamic" if dynamic else plan or f"uniform:{model.spec.n_bits}"
    return GoldenRun(model_name, model, plan_name, dynamic, seed, backend, images, result, seconds)
