"""Dataset evaluation on the execution layer (dist/executor.py): golden inference of many images sharded by
image batches, then per image its widths, BitOPs and hardware simulation, aggregated as `sim --dynamic` does.

    tasks     batches of `batch` images; one task runs golden.inference.infer on its batches (static plan or
              dynamic: the controller picks each image's widths) and returns logits and widths per image
    driver    everything else, in image order, so sharded and serial runs give the same numbers:
              prediction = argmax logits (ties to the lowest class); accuracy = mean(prediction == label);
              per image avg_bits and bitops = Σ_l MACs_l · b_w,l · b_a,l (golden/costs.py, controller apart);
              hardware = sim.session.simulate_widths (one simulation per distinct width set, controller
              charged when dynamic) summarised by sim.report.hardware_report, as `sim --dynamic` writes it.

Inference is integer and per image independent, so how images are batched or sharded cannot change a logit.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from golden.costs import avg_bits, layer_costs
from golden.inference import infer
from golden.model import NestedModel
from golden.primitives import check_range
from golden.report import csv_text, json_bytes
from golden.synthetic import synthetic_images
from sim.config import ArrayConfig
from sim.energy import EnergyTable
from sim.figures import FULL_WIDTH_IN, OKABE_ITO, pyplot, render_figure, si_axis
from sim.report import hardware_report
from sim.session import simulate_widths, simulated_controller
from sim.simulate import NetworkSim

from .executor import SERIAL, ExecutorOptions, Progress, map_items

SYNTHETIC_PREFIX = "synthetic:"


def load_images(source: str, model: NestedModel, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """(images, labels or None) from `synthetic:N` (N seeded synthetic images), FILE.npy (master codes
    (B, C, H, W)) or FILE.npz (arrays "images" and optionally "labels"). Errors name --images."""
    source = str(source)
    if source.startswith(SYNTHETIC_PREFIX):
        count = source[len(SYNTHETIC_PREFIX):]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--images {source!r}: synthetic:N needs an integer N >= 1")
        return synthetic_images(model.network, int(count), seed, model.spec), None
    try:
        data = np.load(source, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"--images {source}: not a readable .npy / .npz file ({e})") from e
    if isinstance(data, np.ndarray):
        return data, None
    with data:
        if "images" not in data.files:
            raise ValueError(f"--images {source}: an .npz needs an array named 'images', has {data.files}")
        return data["images"], data["labels"] if "labels" in data.files else None


def load_labels(path) -> np.ndarray:
    """--labels FILE.npy: the array as stored (checked by check_labels)."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"--labels {path}: not a readable .npy file ({e})") from e


def check_images(images: np.ndarray, model: NestedModel) -> np.ndarray:
    """Integer master codes of shape (B, C, H, W) matching the network input, in the input code range."""
    if not isinstance(images, np.ndarray) or not np.issubdtype(images.dtype, np.integer):
        raise TypeError(f"--images: need integer master codes, got {getattr(images, 'dtype', type(images))}")
    want = model.network.input_shape
    if images.ndim != 4 or images.shape[1:] != tuple(want) or len(images) < 1:
        raise ValueError(f"--images: need shape (B, {', '.join(map(str, want))}) with B >= 1, got {images.shape}")
    check_range(images, *model.spec.code_range(model.input_signed), "--images")
    return images


def check_labels(labels, count: int, classes: int) -> np.ndarray:
    """Integer labels (count,) in [0, classes)."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (count,):
        raise ValueError(f"--labels: need {count} integer labels, got dtype {labels.dtype} shape {labels.shape}")
    if count and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"--labels: values must lie in [0, {classes - 1}], got [{labels.min()}, {labels.max()}]")
    return labels.astype(np.int64)


def infer_batch(context: tuple, images: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """One batch on a worker: (logits (B, classes) int64, widths per image)."""
    model, plan, dynamic, backend = context
    result = infer(model, images, plan=plan, dynamic=dynamic, backend=backend)
    return result.logits, result.widths


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Logits, widths and hardware simulation of every image, in image order (labels when given)."""

    model_name: str
    plan: str
    dynamic: bool
    model: NestedModel
    logits: np.ndarray
    widths: list[dict]
    sims: list[NetworkSim]
    labels: np.ndarray | None

    @cached_property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)

    @cached_property
    def image_rows(self) -> list[dict]:
        """One row per image: label, prediction, avg_bits, bitops (backbone), hardware totals, widths per layer."""
        rows = []
        switchable = [layer.name for layer in self.model.network.layers if layer.switchable]
        for i, (widths, sim) in enumerate(zip(self.widths, self.sims)):
            costs = layer_costs(self.model.network, widths, self.model.spec)
            totals = sim.totals()
            row = {"image": i}
            if self.labels is not None:
                row.update(label=int(self.labels[i]), correct=int(self.predictions[i] == self.labels[i]))
            row.update(prediction=int(self.predictions[i]), avg_bits=float(avg_bits(costs)),
                       bitops=int(sum(c.bitops for c in costs)), total_cycles=totals["total_cycles"],
                       latency_ms=totals["latency_ms"], energy_uj=totals["energy_uj"])
            for name in switchable:
                row[f"{name}.b_w"], row[f"{name}.b_a"] = (int(b) for b in widths[name])
            rows.append(row)
        return rows

    @cached_property
    def summary(self) -> dict:
        """Accuracy, mean widths and BitOPs, distinct width sets, and `sim --dynamic`'s hardware summary."""
        rows = self.image_rows
        bitops = np.array([r["bitops"] for r in rows], dtype=np.float64)
        controller = simulated_controller(self.model, self.dynamic)
        return {
            "model": self.model_name, "plan": self.plan, "images": len(rows),
            "accuracy": None if self.labels is None else float(np.mean(self.predictions == self.labels)),
            "correct": None if self.labels is None else int(np.sum(self.predictions == self.labels)),
            "avg_bits": float(np.mean([r["avg_bits"] for r in rows])),
            "bitops_per_image": {"mean": float(bitops.mean()), "min": float(bitops.min()), "max": float(bitops.max())},
            "macs_per_image": int(self.model.network.macs),
            "controller_macs_per_image": 0 if controller is None else int(controller.macs),
            "controller_bitops_per_image":
                0 if controller is None else int(controller.macs) * self.model.spec.n_bits ** 2,
            "width_sets": len({tuple(sorted((k, tuple(map(int, v))) for k, v in w.items())) for w in self.widths}),
            "hardware": hardware_report(self.sims)["summary"],
        }


def evaluate_images(model_name: str, model: NestedModel, images: np.ndarray, labels=None, *, plan: str | None = None,
                    dynamic: bool = False, config: ArrayConfig, energy: EnergyTable | None = None, batch: int = 64,
                    backend: str = "numba", executor: ExecutorOptions = SERIAL,
                    progress: Progress | None = None) -> EvalResult:
    """Infer `images` in batches of `batch` on `executor`, then widths, costs and hardware per image (module
    docstring). Inputs are checked here, before any worker starts."""
    if dynamic and plan is not None:
        raise ValueError("--plan and --dynamic: give one of them")
    if dynamic and model.controller is None:
        raise ValueError(f"--dynamic: model {model.network.name} has no controller")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"--batch must be an int >= 1, got {batch!r}")
    images = check_images(images, model)
    if labels is not None:
        labels = check_labels(labels, len(images), model.network.layers[-1].out_ch)
    lo, hi = model.spec.code_range(model.input_signed)
    wire = next(t for t in (np.int8, np.uint8, np.int16, np.int32, np.int64)  # what tasks carry: int8 at N = 8
                if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
    batches = [images[start:start + batch].astype(wire) for start in range(0, len(images), batch)]
    done = map_items(infer_batch, batches, context=(model, plan, dynamic, backend), options=executor,
                     progress=progress)
    logits = np.concatenate([d[0] for d in done])
    widths = [w for d in done for w in d[1]]
    sims = simulate_widths(model.network, widths, config, energy, simulated_controller(model, dynamic))
    plan_name = "dynamic" if dynamic else plan or f"uniform:{model.spec.n_bits}"
    return EvalResult(model_name, plan_name, dynamic, model, logits, widths, sims, labels)


def eval_files(result: EvalResult) -> dict[str, bytes]:
    """Every file of an evaluation, rendered in memory (the command publishes them at once, golden.run_folder):
    summary.json, images.csv (one row per image), logits.npy and eval.{pdf,svg,png} (widths and energy per
    image, sim/figures.py style)."""
    rows = result.image_rows
    npy = io.BytesIO()
    np.save(npy, result.logits, allow_pickle=False)
    return {"summary.json": json_bytes(result.summary), "images.csv": csv_text(rows[0], rows).encode(),
            "logits.npy": npy.getvalue(), **_render_eval(result)}


def _render_eval(result: EvalResult) -> dict[str, bytes]:
    """eval.*: histogram of the per-image average width, and energy against width (wrong answers marked)."""
    plt = pyplot()
    rows = result.image_rows
    bits = np.array([r["avg_bits"] for r in rows])
    energy, unit = si_axis([r["energy_uj"] * 1e-6 for r in rows], "J")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(FULL_WIDTH_IN, 2.6))
    ax1.hist(bits, bins=min(30, max(5, len(set(bits.tolist())))))
    ax1.set_xlabel("average width per image (bits, MAC-weighted)")
    ax1.set_ylabel("images")
    correct = np.array([r.get("correct", 1) for r in rows], dtype=bool)
    ax2.scatter(bits[correct], energy[correct], s=6, label="correct" if result.labels is not None else "images")
    if result.labels is not None:
        ax2.scatter(bits[~correct], energy[~correct], s=6, color=OKABE_ITO[3], label="wrong")
    ax2.set_xlabel("average width per image (bits)")
    ax2.set_ylabel(f"energy per image ({unit})")
    ax2.legend()
    s = result.summary
    accuracy = "" if s["accuracy"] is None else f", top-1 {100 * s['accuracy']:.2f} %"
    fig.suptitle(f"{s['model']} {s['plan']}: {s['images']} images{accuracy}, {s['width_sets']} width sets, "
                 f"{s['hardware']['pe']} {s['hardware']['dataflow']}")
    fig.tight_layout()
    return render_figure(fig, "eval")
