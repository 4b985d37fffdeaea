"""Seeded synthetic models: realistic weight statistics, integer parameters calibrated by golden inference.

`synthetic_model(name, seed)` gives the same model for the same (name, seed, spec). Per conv / linear:
  1. float weights W ~ N(0, 2/fan_in) (He init); per-output-channel scale Δ0[c] = max|W[c]| / (2^(N-1)-1);
     master codes q = clip(round(W / Δ0)).
  2. The exact integer accumulator over the calibration images at N bits (golden kernels), its real value
     z = acc·Δ0[c]·Δ_in, and per channel its mean μ and std σ (the BatchNorm statistics).
  3. BatchNorm folded in: random γ, β per channel; Δ_w[c] = Δ0[c]·γ/σ (codes unchanged), float bias
     β - γ·μ/σ, stored as int32 round(bias / (Δ_w[c]·Δ_in)). The classifier has no BatchNorm (Δ_w = Δ0,
     bias 0); the controller's fc2 is standardized instead (γ = 1, β = 0).
  4. Output scale from the real pre-activations x·Δ_w·Δ_in (+ r·Δ_r with a residual): the 99.9-th
     percentile maps to the top code (ReLU outputs) or the 99.9-th percentile of |·| to 1/8 of the top
     logit (golden.calibrate);
     m[c] / 2^s ≈ Δ_w[c]·Δ_in / Δ_out and m_r[c] / 2^s ≈ Δ_r[c] / Δ_out (golden.calibrate.multipliers).
  5. The layer's output is computed by the golden arithmetic itself (golden.execute) with the final
     parameters and feeds the next layer; its clamp fraction and zero fraction are reported.
Downsample ("wide") convs stop after step 3 (their scale is Δ_w[c]·Δ_in per channel). Global average pools keep
the input scale: m / 2^s ≈ 1 / (H·W).

Calibration images: `calibration_images(name)` seeded synthetic images (4; 2 for resnet50 to keep its
calibration short; 16 for the tiny nets). The ops up to the controller input also see CONTROLLER_IMAGES more images,
on which the controller is calibrated (fc1 standardized like BatchNorm, fc2's logits standardized per
output over the images, so its choices vary from image to image).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .bounds import prove_bounds
from .calibrate import multipliers, relu_output_scale, signed_output_scale
from .controller import controller_network
from .execute import get_backend, run_conv, run_gap, run_maxpool
from .ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network
from .model import BIAS_DTYPE, ConvParams, GapParams, NestedModel, code_dtype, validate_model
from .model_cache import cached_model
from .progress import progress_bar
from .spec import DEFAULT_SPEC, NestedSpec
from .topologies import topology

CALIBRATION_IMAGES = {"resnet50": 2, "tiny": 16, "tiny_bottleneck": 16}
DEFAULT_CALIBRATION_IMAGES = 4
CONTROLLER_IMAGES = 16
IMAGE_RANGE = 4.0  # real image values (normalized, about unit variance) are quantized over [-4, 4)
_SEED_IMAGES, _SEED_WEIGHTS, _SEED_CALIBRATION, _SEED_CONTROLLER = 0, 1, 2, 3  # seed-key tags


def image_scale(spec: NestedSpec) -> float:
    """Δ of the network input: IMAGE_RANGE / 2^(N-1)."""
    return IMAGE_RANGE / (1 << (spec.n_bits - 1))


def synthetic_images(network: Network, batch: int, seed: int, spec: NestedSpec = DEFAULT_SPEC) -> np.ndarray:
    """`batch` seeded image-like inputs as signed N-bit codes, int64 (B, C, H, W): a smooth random field
    (4× upsampled noise) plus pixel noise, with a random contrast and brightness per image."""
    return _images(network, batch, (seed, _SEED_IMAGES), spec)


def _images(network: Network, batch: int, seed_key: tuple[int, ...], spec: NestedSpec) -> np.ndarray:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an int >= 1, got {batch!r}")
    rng = np.random.default_rng(list(seed_key))
    c, h, w = network.input_shape
    coarse = rng.standard_normal((batch, c, -(-h // 4), -(-w // 4)))
    smooth = np.kron(coarse, np.ones((1, 1, 4, 4)))[:, :, :h, :w]
    img = smooth + 0.3 * rng.standard_normal((batch, c, h, w))
    img = img * rng.uniform(0.5, 1.5, (batch, 1, 1, 1)) + rng.normal(0, 0.5, (batch, 1, 1, 1))
    lo, hi = spec.code_range(True)
    return np.clip(np.round(img / image_scale(spec)), lo, hi).astype(np.int64)


@dataclass(frozen=True)
class LayerCalibration:
    """Fractions over the calibration images: outputs saturated by the requant clamp, outputs equal to 0."""

    name: str
    clamp_frac: float
    zero_frac: float


@dataclass(frozen=True)
class Synthetic:
    model: NestedModel
    layers: list[LayerCalibration]
    calibration_images: int


def _bn_params(layer: Conv, rng, sigma: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Random folded-BatchNorm (γ, β) per output channel; a block's last conv gets a smaller γ. A "logits"
    layer has no BatchNorm: γ = σ, β = μ leave its weights and zero bias unchanged (the controller instead
    standardizes its logits, see _Calibrator)."""
    n = layer.out_ch
    if layer.output_kind == "logits":
        return sigma, mu
    if layer.residual is not None:
        return rng.uniform(0.2, 0.6, n), rng.normal(0.0, 0.1, n)
    if layer.output_kind == "wide":
        return rng.uniform(0.5, 1.0, n), rng.normal(0.0, 0.1, n)
    return rng.uniform(0.5, 1.0, n), rng.normal(0.0, 0.25, n)


class _Calibrator:
    """Builds one NestedModel's parameters op by op over a batch of calibration tensors. With
    `standardize_logits` a "logits" layer is standardized per output over the images (γ = 1, β = 0): the
    controller's choices then follow each image's deviation from the mean."""

    def __init__(self, network: Network, spec: NestedSpec, seed_key: tuple[int, ...], input_signed: bool,
                 kernels, standardize_logits: bool):
        self.net, self.spec, self.seed_key, self.signed, self.kernels = network, spec, seed_key, input_signed, kernels
        self.standardize_logits = standardize_logits
        self.layers, self.pools, self.scales, self.wide_scales = {}, {}, {}, {}
        self.report: list[LayerCalibration] = []

    def model(self, controller: NestedModel | None = None) -> NestedModel:
        return NestedModel(self.net, self.spec, dict(self.layers), dict(self.pools), dict(self.scales),
                           self.signed, controller)

    def run(self, ops, tensors: dict, bar) -> None:
        for op in ops:
            bar.set_postfix_str(op.name, refresh=False)
            if isinstance(op, Conv):
                y, n_clamped = self.conv(op, tensors)
            elif isinstance(op, MaxPool):
                y, n_clamped = run_maxpool(self.kernels, op, tensors[op.input]).y, 0
                self.scales[op.name] = self.scales[op.input]
            else:
                y, n_clamped = self.gap(op, tensors[op.input])
            tensors[op.name] = y
            if getattr(op, "output_kind", "act") != "wide" and op.kind != "maxpool":
                self.report.append(LayerCalibration(op.name, n_clamped / y.size, float(np.mean(y == 0))))
                if not np.any(y):
                    raise ValueError(f"layer {op.name}: calibration output is all zero")
            bar.update()

    def gap(self, op: GlobalAvgPool, x: np.ndarray):
        (m,), s = multipliers([np.array([1.0 / (op.in_hw[0] * op.in_hw[1])])], self.spec)
        self.pools[op.name] = GapParams(int(m[0]), s)
        self.scales[op.name] = self.scales[op.input]
        out = run_gap(self.kernels, op, self.pools[op.name], x, self.spec)
        return out.y, out.n_clamped

    def _tensor_scale(self, name: str, channels: int) -> np.ndarray:
        if name in self.wide_scales:
            return self.wide_scales[name]
        return np.full(channels, self.scales[name])

    def conv(self, layer: Conv, tensors: dict):
        spec, n = self.spec, self.spec.n_bits
        rng = np.random.default_rng([*self.seed_key, self.net.ops.index(layer)])
        w = rng.standard_normal(layer.weight_shape) * np.sqrt(2.0 / layer.gemm[1])
        qmax = spec.code_range(True)[1]
        d0 = np.abs(w.reshape(layer.out_ch, -1)).max(axis=1) / qmax
        codes = np.clip(np.round(w / d0.reshape(-1, *[1] * (w.ndim - 1))), -qmax - 1, qmax).astype(code_dtype(spec))
        x, signed, d_in = tensors[layer.input], self._signed(layer.input), self.scales[layer.input]
        zero_bias = np.zeros(layer.out_ch, BIAS_DTYPE)
        probe = ConvParams(codes, zero_bias, None, None, None, d0)
        acc = run_conv(self.kernels, _as_wide(layer), probe, x, n, n, signed, spec).y
        z = acc * (d0 * d_in)[None, :, None, None]
        mu, sigma = z.mean(axis=(0, 2, 3)), z.std(axis=(0, 2, 3))
        sigma = np.where(sigma > 0, sigma, 1.0)
        if layer.output_kind == "logits" and self.standardize_logits:
            gamma, beta = np.ones(layer.out_ch), np.zeros(layer.out_ch)
        else:
            gamma, beta = _bn_params(layer, rng, sigma, mu)
        d_w = d0 * gamma / sigma
        lo32, hi32 = spec.int_range(32, True)
        bias = np.clip(np.round((beta - gamma * mu / sigma) / (d_w * d_in)), lo32, hi32).astype(BIAS_DTYPE)
        if layer.output_kind == "wide":
            self.layers[layer.name] = ConvParams(codes, bias, None, None, None, d_w)
            self.wide_scales[layer.name] = d_w * d_in
            return run_conv(self.kernels, layer, self.layers[layer.name], x, n, n, signed, spec).y, 0
        wide = acc + bias.astype(np.int64)[None, :, None, None]
        pre = wide * (d_w * d_in)[None, :, None, None]
        residual = None
        if layer.residual is not None:
            residual = tensors[layer.residual]
            d_r = self._tensor_scale(layer.residual, layer.out_ch)
            pre = pre + residual * d_r[None, :, None, None]
        if layer.output_kind == "logits":
            d_out = signed_output_scale(pre, spec.logit_range[1])
        else:
            d_out = relu_output_scale(pre, spec, layer.name)
        ratios = [d_w * d_in / d_out] + ([d_r / d_out] if residual is not None else [])
        ms, s = multipliers(ratios, spec)
        self.layers[layer.name] = ConvParams(codes, bias, ms[0], s, ms[1] if residual is not None else None, d_w)
        self.scales[layer.name] = d_out
        out = run_conv(self.kernels, layer, self.layers[layer.name], x, n, n, signed, spec, residual)
        return out.y, out.n_clamped

    def _signed(self, tensor: str) -> bool:
        return tensor == INPUT and self.signed


def _as_wide(layer: Conv) -> Conv:
    """The layer with its requant and residual removed: run_conv then returns acc' + bias (here: acc)."""
    return Conv(layer.name, layer.input, layer.in_ch, layer.out_ch, layer.in_hw, layer.kernel, layer.stride,
                layer.padding, "wide", None, layer.switchable, layer.kind)


def calibration_images(name: str) -> int:
    return CALIBRATION_IMAGES.get(name, DEFAULT_CALIBRATION_IMAGES)


def build_synthetic(name: str, seed: int = 0, spec: NestedSpec = DEFAULT_SPEC, backend: str = "numba",
                    with_controller: bool = True, progress: bool = False) -> Synthetic:
    """Seeded, calibrated model for topology `name` with its calibration report (see the module docstring);
    `progress`: a progress bar (golden.progress, on stderr) over the ops calibrated."""
    net = topology(name)
    kernels = get_backend(backend)
    n_cal = calibration_images(name)
    images = _images(net, n_cal + CONTROLLER_IMAGES, (seed, _SEED_CALIBRATION), spec)
    cal = _Calibrator(net, spec, (seed, _SEED_WEIGHTS), True, kernels, standardize_logits=False)
    cal.scales[INPUT] = image_scale(spec)
    names = [op.name for op in net.ops]
    cut = names.index(net.controller_input) + 1 if net.controller_input != INPUT else 0
    tensors = {INPUT: images}
    cnet = controller_network(net, spec) if with_controller else None
    total = len(net.ops) + (len(cnet.ops) if cnet is not None else 0)
    with progress_bar(total=total, desc=f"calibrating synthetic {name} (seed {seed})", unit="op",
                      enabled=progress) as bar:
        cal.run(net.ops[:cut], tensors, bar)
        ctrl_input = tensors[net.controller_input]
        cal.run(net.ops[cut:], {k: v[:n_cal] for k, v in tensors.items()}, bar)
        controller, report = None, list(cal.report)
        if cnet is not None:
            ccal = _Calibrator(cnet, spec, (seed, _SEED_CONTROLLER), False, kernels, standardize_logits=True)
            ccal.scales[INPUT] = cal.scales[net.controller_input]
            ccal.run(cnet.ops, {INPUT: ctrl_input}, bar)
            controller = ccal.model()
            report += [LayerCalibration(f"controller.{c.name}", c.clamp_frac, c.zero_frac) for c in ccal.report]
    model = cal.model(controller)
    validate_model(model)
    prove_bounds(model)
    return Synthetic(model, report, n_cal)


def synthetic_model(name: str, seed: int = 0, spec: NestedSpec = DEFAULT_SPEC, backend: str = "numba",
                    progress: bool = False) -> NestedModel:
    """The seeded, calibrated synthetic model of topology `name` (tiny, tiny_bottleneck, resnet18, resnet50),
    from the on-disk model cache when it holds it (golden/model_cache.py), else built (with a progress bar
    and cache messages on stderr when `progress`) and stored there. The numba and numpy backends build the
    same model (bit-exact twins), so the backend is not part of the cache key."""
    say = (lambda line: print(line, file=sys.stderr)) if progress else (lambda line: None)  # noqa: E731
    return cached_model(topology(name), seed, spec,
                        lambda: build_synthetic(name, seed, spec, backend, progress=progress).model, say)
