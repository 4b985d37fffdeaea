"""Golden model vs qonnx's executor.

Import (`compare`): how close an imported golden model is to its QONNX graph; both run on the same float
sample images, the graph by qonnx's own executor, the golden model in integer arithmetic at the plan the graph
implies.

    golden logits (real) = codes · Δ_logit           error = max |golden - qonnx| over images and classes
    top-1 agreement      = fraction of images whose argmax (ties to the lowest class) is the same

Export (`check_export`): an exported graph must give the golden integer logits exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.inference import infer
from golden.model import NestedModel

from .qonnx_import import ImportResult
from .qonnx_runtime import execute_qonnx, prepare, with_batch


@dataclass(frozen=True)
class Agreement:
    """Images compared, top-1 agreement (fraction), max |logit error| (real units), that error relative to
    the largest |logit| of the graph, and the widest top-1 / top-2 margin of the graph's logits among the images
    whose top-1 differs (0 if none): a disagreement needs a margin below twice the logit error."""

    images: int
    top1: float
    max_error: float
    rel_error: float
    disagreement_margin: float

    def summary(self) -> str:
        return (f"{self.images} images: top-1 agreement {100 * self.top1:.2f} %, max |logit error| "
                f"{self.max_error:.4g} ({100 * self.rel_error:.3f} % of max |logit|); widest top-2 margin of a "
                f"disagreeing image {self.disagreement_margin:.4g}")


def sample_images(result: ImportResult, count: int, seed: int) -> np.ndarray:
    """Seeded float images x ~ N(0, σ²), σ = a quarter of the input quantizer's range (Δ_in · 2^(b-1) / 4)."""
    q = result.input_quant
    sigma = q.scale * 2 ** (q.bits - 1) / 4
    shape = (count, *result.model.network.input_shape)
    return (np.random.default_rng(seed).standard_normal(shape) * sigma).astype(np.float32)


def compare(result: ImportResult, onnx_model, images: np.ndarray, backend: str = "numba") -> Agreement:
    """Run `images` (float, (B, C, H, W)) through qonnx's executor on `onnx_model` and through the golden
    model at `result.plan`; compare the logits (module docstring)."""
    images = np.asarray(images, np.float32)
    reference = execute_qonnx(with_batch(prepare(onnx_model), len(images)), images).reshape(len(images), -1)
    model = result.model
    golden = infer(model, result.input_codes(images), plan=result.plan, backend=backend).logits
    golden_real = golden * model.scales[model.network.ops[-1].name]
    err = np.abs(golden_real - reference)
    top = float(np.max(np.abs(reference))) or 1.0
    same = np.argmax(golden_real, axis=1) == np.argmax(reference, axis=1)
    top2 = np.sort(reference, axis=1)
    margins = (top2[:, -1] - top2[:, -2])[~same]
    return Agreement(len(images), float(np.mean(same)), float(err.max()), float(err.max()) / top,
                     float(margins.max()) if margins.size else 0.0)


@dataclass(frozen=True)
class ExportCheck:
    """Images run, whether the executor's logits equal the golden codes exactly (np.array_equal), and the
    largest difference in logit codes."""

    images: int
    exact: bool
    max_diff: float

    def summary(self) -> str:
        verdict = "equal to" if self.exact else f"DIFFERENT from (max {self.max_diff:g} codes)"
        return f"{self.images} images: qonnx executor logits {verdict} the golden logits"


def check_export(model: NestedModel, onnx_model, codes: np.ndarray, plan=None, backend: str = "numba") -> ExportCheck:
    """Run master-code images through an exported graph (exchange.qonnx_export) with qonnx's executor (after
    its cleanup) and through the golden model at `plan`; compare the integer logits exactly."""
    codes = np.asarray(codes)
    out = execute_qonnx(with_batch(prepare(onnx_model), len(codes)), codes.astype(np.float32))
    golden = infer(model, codes, plan=plan, backend=backend).logits
    out = out.reshape(golden.shape).astype(np.float64)
    return ExportCheck(len(codes), bool(np.array_equal(out, golden)), float(np.max(np.abs(out - golden))))
