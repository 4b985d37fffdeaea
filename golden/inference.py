"""Bit-exact integer inference of a `NestedModel` (docs/spec.md §1) with a per-layer trace and costs.

Static mode: every image runs at the plan's widths (no plan: every layer at N bits).
Dynamic mode: the ops up to the controller input run on the whole batch (they hold no switchable layer);
the controller then picks each image's widths, images with equal choices are grouped, and each group runs
the rest of the network. The stem and the classifier always run at N bits.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .controller import choose_widths
from .costs import FLOAT_OPS_PER_TRANSITION, avg_bits, layer_costs
from .execute import OpOutput, check_model, get_backend, run_conv, run_gap, run_maxpool
from .ir import INPUT, Conv, GlobalAvgPool, MaxPool
from .kernels_ref import check_int_array
from .model import NestedModel, tensor_shape
from .plan import Plan, parse_plan, plan_from_mapping
from .primitives import check_range

Progress = Callable[[str], None]
Widths = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class LayerStats:
    """One conv/linear over the batch; b_w, b_a, bitops and transition shifts are means per image.

    clamp_frac = saturated outputs / outputs (see golden.execute.OpOutput; 0 for "wide" layers)."""

    name: str
    kind: str
    macs: int
    b_w: float
    b_a: float
    bitops: float
    transition_shifts: float
    clamp_frac: float


@dataclass
class InferenceResult:
    """logits (B, classes) int64; predictions (B,) = argmax, ties to the lowest class; widths per image for
    every conv/linear; per-layer stats; avg_bits (MAC-weighted, mean over images); controller costs per
    image (0 in static mode); with keep_tensors, every op's output by op name (int64 (B, C, H, W); the
    controller's ops under "controller.<op>")."""

    logits: np.ndarray
    predictions: np.ndarray
    widths: list[Widths]
    layers: list[LayerStats]
    avg_bits: float
    controller_macs: int = 0
    controller_bitops: int = 0
    tensors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.layers)

    @property
    def bitops(self) -> float:
        return sum(s.bitops for s in self.layers)

    @property
    def transition_shifts(self) -> float:
        return sum(s.transition_shifts for s in self.layers)

    @property
    def transition_float_ops(self) -> float:
        """What dequantize + requantize would cost instead: FLOAT_OPS_PER_TRANSITION per element."""
        return FLOAT_OPS_PER_TRANSITION * self.transition_shifts


class _Trace:
    """Per-layer clamp counts accumulated over image groups, and the progress printer."""

    def __init__(self, progress: Progress | None, bar=None):
        self.clamped: dict[str, int] = {}
        self.outputs: dict[str, int] = {}
        self.progress, self.bar = progress, bar

    def record(self, name: str, out: OpOutput) -> None:
        self.clamped[name] = self.clamped.get(name, 0) + out.n_clamped
        self.outputs[name] = self.outputs.get(name, 0) + out.y.size

    def say(self, line: str) -> None:
        if self.progress is not None:
            if self.bar is None:
                self.progress(line)
            else:
                with self.bar.external_write_mode():
                    self.progress(line)

    def advance(self, op, images: int) -> None:
        """Move the bar by the op's MACs on `images` images (pools count 0)."""
        if self.bar is not None and isinstance(op, Conv):
            self.bar.update(op.macs * images)


def inference_macs(model: NestedModel, batch: int, dynamic: bool = False) -> int:
    """The MACs infer() runs on `batch` images: batch · (network MACs + controller MACs when dynamic)."""
    controller = model.controller.network.macs if dynamic and model.controller is not None else 0
    return batch * (model.network.macs + controller)


def _run_op(kernels, model: NestedModel, op, tensors: dict, widths: Widths) -> OpOutput:
    if isinstance(op, Conv):
        b_w, b_a = widths[op.name]
        residual = tensors[op.residual] if op.residual is not None else None
        return run_conv(kernels, op, model.params(op.name), tensors[op.input], b_w, b_a,
                        model.tensor_signed(op.input), model.spec, residual)
    if isinstance(op, MaxPool):
        return run_maxpool(kernels, op, tensors[op.input])
    if isinstance(op, GlobalAvgPool):
        return run_gap(kernels, op, model.pools[op.name], tensors[op.input], model.spec)
    raise TypeError(f"op {op.name}: unsupported op type {type(op).__name__}")


def _run_ops(kernels, model: NestedModel, ops, tensors: dict, widths: Widths, trace: _Trace, keep: bool,
             prefix: str = "", label: str = "") -> None:
    """Run `ops` in order on the batch in `tensors` (name -> array), adding each output; frees a tensor after
    its last reader unless `keep`."""
    last_use = {}
    for i, op in enumerate(ops):
        for t in (op.input, getattr(op, "residual", None)):
            if t is not None:
                last_use[t] = i
    for i, op in enumerate(ops):
        start = time.perf_counter()
        out = _run_op(kernels, model, op, tensors, widths)
        tensors[op.name] = out.y
        trace.record(prefix + op.name, out)
        trace.advance(op, len(tensors[INPUT]))
        width = "b=%d,%d" % widths[op.name] if isinstance(op, Conv) else ""
        trace.say(f"{label}[{i + 1:>3}/{len(ops)}] {prefix + op.name:<28} {op.kind:<7} {width:<8} "
                  f"out={'x'.join(map(str, out.y.shape[1:])):<12} clamped={out.n_clamped:<6} "
                  f"{time.perf_counter() - start:6.2f} s")
        if not keep:
            for t in [t for t, j in last_use.items() if j == i and t in tensors and t != INPUT]:
                del tensors[t]


def _check_images(model: NestedModel, images) -> np.ndarray:
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.integer):
        raise TypeError(f"images must be integer master codes, got dtype {images.dtype}")
    want = model.network.input_shape
    if images.ndim != 4 or images.shape[1:] != want or images.shape[0] < 1:
        raise ValueError(f"images must have shape (B, {', '.join(map(str, want))}) with B >= 1, got {images.shape}")
    check_range(images, *model.spec.code_range(model.input_signed), "images")
    return images.astype(np.int64)


def _all_n(model: NestedModel) -> Widths:
    n = model.spec.n_bits
    return {layer.name: (n, n) for layer in model.network.layers}


def _controller_widths(kernels, model: NestedModel, tensors: dict, trace: _Trace, keep: bool,
                       kept: dict) -> list[Widths]:
    """Run the controller on the controller-input tensor; per image, every layer's widths."""
    ctrl = model.controller
    ctensors = {INPUT: tensors[model.network.controller_input]}
    _run_ops(kernels, ctrl, ctrl.network.ops, ctensors, _all_n(ctrl), trace, keep, prefix="controller.")
    if keep:
        kept.update({f"controller.{k}": v for k, v in ctensors.items() if k != INPUT})
    logits = ctensors[ctrl.network.ops[-1].name].reshape(len(ctensors[INPUT]), -1)
    fixed = _all_n(model)
    return [{**fixed, **choice} for choice in choose_widths(logits, model.network, model.spec)]


def _resolve_plan(model: NestedModel, plan) -> Widths:
    if plan is None:
        return _all_n(model)
    if isinstance(plan, str):
        plan = parse_plan(plan, model.network, model.spec)
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a Plan, a plan string or None, got {type(plan).__name__}")
    # a Plan built by hand is checked like a plan file: every switchable layer named, every width in [2, N]
    plan = plan_from_mapping(plan.name, plan.widths, model.network, model.spec)
    return plan.layer_widths(model.network, model.spec)


def infer(model: NestedModel, images, plan: Plan | str | None = None, dynamic: bool = False,
          backend: str = "numba", keep_tensors: bool = False, progress: Progress | None = None,
          bar=None) -> InferenceResult:
    """Integer inference of `images` (B, C, H, W) master codes; see the module docstring for the modes.
    The model is validated (and its requant bounds proven where the widths need it) on its first use.
    `progress` gets one line per op; `bar` (golden.progress.progress_bar, total inference_macs) moves by each
    op's MACs, with the op lines printed above it."""
    kernels = get_backend(backend)
    check_model(model)
    tensors = {INPUT: _check_images(model, images)}
    batch = len(tensors[INPUT])
    net, spec = model.network, model.spec
    trace, kept = _Trace(progress, bar), {}
    if dynamic:
        if plan is not None:
            raise ValueError("plan: give either a static plan or dynamic=True, not both")
        if model.controller is None:
            raise ValueError(f"model {net.name} has no controller: dynamic mode needs one")
        names = [op.name for op in net.ops]
        cut = names.index(net.controller_input) + 1 if net.controller_input != INPUT else 0
        head, tail = net.ops[:cut], net.ops[cut:]
        if any(isinstance(op, Conv) and op.switchable for op in head):
            raise ValueError(f"network {net.name}: a switchable layer runs before the controller input")
        _run_ops(kernels, model, head, tensors, _all_n(model), trace, True)
        per_image = _controller_widths(kernels, model, tensors, trace, keep_tensors, kept)
    else:
        tail, per_image = net.ops, [_resolve_plan(model, plan)] * batch
    groups: dict[tuple, list[int]] = {}
    for i, w in enumerate(per_image):
        groups.setdefault(tuple(w[layer.name] for layer in net.layers), []).append(i)
    out_name = net.ops[-1].name
    results: dict[str, np.ndarray] = {}
    for g, idx in enumerate(groups.values()):
        sub = {k: v[idx] for k, v in tensors.items()}
        label = f"(group {g + 1}/{len(groups)}, {len(idx)} img) " if len(groups) > 1 else ""
        _run_ops(kernels, model, tail, sub, per_image[idx[0]], trace, keep_tensors, label=label)
        for k, v in sub.items():
            if keep_tensors or k == out_name:
                if k not in results:
                    results[k] = np.zeros((batch, *v.shape[1:]), np.int64)
                results[k][idx] = v
    logits = results[out_name].reshape(batch, -1)
    if keep_tensors:
        kept.update({k: v for k, v in results.items() if k != INPUT})
    return InferenceResult(logits, np.argmax(logits, axis=1), per_image, _layer_stats(model, per_image, trace),
                           float(np.mean([avg_bits(layer_costs(net, w, spec)) for w in per_image])),
                           model.controller.network.macs if dynamic else 0,
                           model.controller.network.macs * spec.n_bits ** 2 if dynamic else 0, kept)


def _layer_stats(model: NestedModel, per_image: list[Widths], trace: _Trace) -> list[LayerStats]:
    costs = [layer_costs(model.network, w, model.spec) for w in per_image]
    stats = []
    for j, layer in enumerate(model.network.layers):
        col = [c[j] for c in costs]
        stats.append(LayerStats(layer.name, layer.kind, layer.macs,
                                float(np.mean([c.b_w for c in col])), float(np.mean([c.b_a for c in col])),
                                float(np.mean([c.bitops for c in col])),
                                float(np.mean([c.transition_shifts for c in col])),
                                trace.clamped[layer.name] / trace.outputs[layer.name]))
    return stats


def run_layer(model: NestedModel, name: str, x, b_w: int, b_a: int, residual=None,
              backend: str = "numba") -> np.ndarray:
    """One conv/linear of `model` on input master codes x (B, C, H, W) at widths (b_w, b_a): its requantized
    output codes, or for a downsample ("wide") layer its acc' + bias. `residual` as in golden.execute.run_conv."""
    check_model(model)
    layer = model.network.op(name)
    if not isinstance(layer, Conv):
        raise ValueError(f"op {name} is a {layer.kind}, not a conv/linear")
    x = np.asarray(x)
    want = tensor_shape(model.network, layer.input)
    if x.ndim != 4 or x.shape[1:] != want:
        raise ValueError(f"layer {name}: x must have shape (B, {', '.join(map(str, want))}), got {x.shape}")
    check_int_array(f"layer {name}: x", x, 4, "(B, C, H, W)")
    res = None if residual is None else \
        check_int_array(f"layer {name}: residual", residual, 4, "(B, C, H, W)").astype(np.int64)
    if res is not None:  # what golden.execute.check_model's int64 requant guarantee assumes of r
        check_range(res, *model.spec.acc_range, f"layer {name}: residual")
    return run_conv(get_backend(backend), layer, model.params(name), x.astype(np.int64), b_w, b_a,
                    model.tensor_signed(layer.input), model.spec, res).y
