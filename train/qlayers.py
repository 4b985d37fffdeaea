"""Fake-quantized layers in the code domain: each returns the exact integer output codes of docs/spec.md §1 (held
in a float tensor) and the float step Δ of its output, with straight-through gradients to the float weights,
biases and the learned steps (kept as log Δ so that they stay positive).

QConv at widths (b_w, b_a), k_w = N − b_w, k_a = N − b_a:
    W_q  = clamp(⌊W / Δ_w[c] + 1/2⌋)                        signed N-bit master codes, per output channel
    acc' = (Σ view_bw(W_q) · view_ba(A_q)) · 2^(k_w + k_a)  exact
    x    = acc' + clamp(⌊bias / (Δ_w[c]·Δ_in) + 1/2⌋)        bias at the master scales (`bias_limit`)
    y    = clamp(⌊x·m[c]/2^s + r·m_r[c]/2^s + 1/2⌋, lo, hi)   m/2^s ≈ Δ_w[c]·Δ_in/Δ_out, m_r/2^s ≈ Δ_r/Δ_out
or y = x for a "wide" (downsample) layer, whose step is Δ_w[c]·Δ_in.
QGap: y = clamp(⌊(Σ_hw A_q)·m/2^s + 1/2⌋, 0, 2^N − 1), m/2^s ≈ Δ_in / (H·W·Δ_out).

`multipliers` / `bias_codes` / `weight_codes` are also what the exporter reads, so the exported integers are
the ones the forward used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from golden.ir import Conv, GlobalAvgPool
from golden.spec import NestedSpec

from .quant import master_codes, multiplier_ste, quantize_multipliers, quantize_ste, view_codes


def bias_limit(layer: Conv, spec: NestedSpec) -> int:
    """Largest |bias| code such that acc' + bias fits ACC_BITS at every width:
    2^(ACC_BITS−1) − 1 − K · 2^(N−1) · 2^N, since every aligned view product is at most 2^(N−1)·2^N in
    magnitude (view·2^k ≤ 2^(N−1) for signed weights, < 2^N for activations). Raises if none is left."""
    _, k, _ = layer.gemm
    limit = spec.acc_range[1] - k * (1 << (2 * spec.n_bits - 1))
    if limit <= 0:
        raise ValueError(f"layer {layer.name}: reduction K={k} leaves no room for a bias in "
                         f"acc_bits={spec.acc_bits}")
    return limit


def channel_shape(t: torch.Tensor, ndim: int) -> torch.Tensor:
    """A per-channel vector (C,) reshaped to broadcast over dim 1 of an ndim tensor; scalars unchanged."""
    return t if t.dim() == 0 else t.reshape(1, -1, *([1] * (ndim - 2)))


@dataclass(frozen=True)
class Multipliers:
    """Quantized requant multipliers of one layer (numpy, what the model file stores) and their STE tensors."""

    m: np.ndarray
    m_r: np.ndarray | None
    shift: int
    mult: torch.Tensor
    mult_r: torch.Tensor | None


@dataclass
class Prepared:
    """Width-independent integers of one QConv forward (see QConv.prepare); weight views cached per width."""

    weight: torch.Tensor
    bias: torch.Tensor
    multipliers: Multipliers | None
    weight_views: dict[int, torch.Tensor]


class QConv(nn.Module):
    """One conv / linear of the IR with float (BN-folded) weight and bias and learned steps."""

    def __init__(self, layer: Conv, weight: torch.Tensor, bias: torch.Tensor, spec: NestedSpec):
        super().__init__()
        self.layer, self.spec = layer, spec
        if tuple(weight.shape) != layer.weight_shape or tuple(bias.shape) != (layer.out_ch,):
            raise ValueError(f"layer {layer.name}: weight {tuple(weight.shape)} / bias {tuple(bias.shape)} do not "
                             f"match {layer.weight_shape} / ({layer.out_ch},)")
        self.weight = nn.Parameter(weight.detach().float().clone())
        self.bias = nn.Parameter(bias.detach().float().clone())
        self.log_w_step = nn.Parameter(torch.zeros(layer.out_ch))
        self.log_out_step = nn.Parameter(torch.zeros(())) if layer.output_kind != "wide" else None
        self.bias_limit = bias_limit(layer, spec)

    @property
    def w_step(self) -> torch.Tensor:
        return torch.exp(self.log_w_step)

    @property
    def out_step(self) -> torch.Tensor | None:
        return None if self.log_out_step is None else torch.exp(self.log_out_step)

    def weight_codes(self) -> torch.Tensor:
        """Signed N-bit master codes, per-output-channel step."""
        step = self.w_step.reshape(-1, *([1] * (self.weight.dim() - 1)))
        return master_codes(self.weight, step, True, self.spec)

    def bias_codes(self, in_step: torch.Tensor) -> torch.Tensor:
        """Bias codes at scale Δ_w[c]·Δ_in, clamped to ±bias_limit (within int32, see `bias_limit`)."""
        return quantize_ste(self.bias / (self.w_step * in_step), -self.bias_limit, self.bias_limit)

    def multipliers(self, in_step: torch.Tensor, r_step: torch.Tensor | None) -> Multipliers:
        """m ≈ Δ_w·Δ_in/Δ_out · 2^s (and m_r ≈ Δ_r/Δ_out · 2^s), one shift s for the layer."""
        ratio = self.w_step * in_step / self.out_step
        ratios = [ratio]
        if r_step is not None:
            ratios.append((r_step / self.out_step).expand(self.layer.out_ch))
        ms, s = quantize_multipliers([r.detach().double().cpu().numpy() for r in ratios], self.spec,
                                     f"layer {self.layer.name}")
        mults = [multiplier_ste(r, m, s) for r, m in zip(ratios, ms)]
        return Multipliers(ms[0], ms[1] if r_step is not None else None, s, mults[0],
                           mults[1] if r_step is not None else None)

    def output_range(self) -> tuple[int, int]:
        if self.layer.output_kind == "logits":
            return self.spec.logit_range
        return self.spec.code_range(False)

    def prepare(self, in_step: torch.Tensor, r_step: torch.Tensor | None) -> Prepared:
        """The width-independent integers of one forward: weight codes, bias codes, multipliers."""
        mul = None if self.layer.output_kind == "wide" else self.multipliers(in_step, r_step)
        return Prepared(self.weight_codes(), channel_shape(self.bias_codes(in_step), 4), mul, {})

    def forward(self, q: torch.Tensor, in_step: torch.Tensor, signed: bool, b_w: int, b_a: int,
                residual: tuple[torch.Tensor, torch.Tensor] | None = None,
                prepared: Prepared | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(output codes, output step) of the layer at widths (b_w, b_a); see the module docstring.
        `prepared`: this forward's `prepare(in_step, residual step)`, shared between calls at several widths
        (the weight codes, bias and multipliers do not depend on the widths)."""
        layer, spec = self.layer, self.spec
        if prepared is None:
            prepared = self.prepare(in_step, None if residual is None else residual[1])
        if b_w not in prepared.weight_views:
            prepared.weight_views[b_w] = view_codes(prepared.weight, b_w, True, spec)
        wv = prepared.weight_views[b_w]
        av = view_codes(q, b_a, signed, spec)
        if layer.kind == "linear":
            acc = F.linear(av.flatten(1), wv)[:, :, None, None]
        else:
            acc = F.conv2d(av, wv, stride=layer.stride, padding=layer.padding)
        align = (spec.n_bits - b_w) + (spec.n_bits - b_a)
        x = (acc * float(1 << align) if align else acc) + prepared.bias
        if layer.output_kind == "wide":
            return x, self.w_step * in_step
        mul = prepared.multipliers
        t = x * channel_shape(mul.mult, 4)
        if residual is not None:
            t = t + residual[0] * channel_shape(mul.mult_r, 4)
        return quantize_ste(t, *self.output_range()), self.out_step


class QGap(nn.Module):
    """Global average pool as sum + requant to unsigned N-bit codes, with a learned output step."""

    def __init__(self, op: GlobalAvgPool, spec: NestedSpec):
        super().__init__()
        self.op, self.spec = op, spec
        self.log_out_step = nn.Parameter(torch.zeros(()))

    @property
    def out_step(self) -> torch.Tensor:
        return torch.exp(self.log_out_step)

    def multiplier(self, in_step: torch.Tensor) -> tuple[int, int, torch.Tensor]:
        """(m, s, STE tensor of m/2^s) with m/2^s ≈ Δ_in / (H·W·Δ_out)."""
        h, w = self.op.in_hw
        ratio = in_step / (h * w * self.out_step)
        (m,), s = quantize_multipliers([ratio.detach().double().reshape(1).cpu().numpy()], self.spec,
                                       f"pool {self.op.name}")
        return int(m[0]), s, multiplier_ste(ratio, m[0], s)

    def forward(self, q: torch.Tensor, in_step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = q.sum(dim=(2, 3), keepdim=True)
        _, _, mult = self.multiplier(in_step)
        return quantize_ste(total * mult, *self.spec.code_range(False)), self.out_step
