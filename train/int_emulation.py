"""Integer emulation of a golden `NestedModel` in PyTorch: the exported integers only, int64 tensors,
docs/spec.md §1 step by step. An independent second implementation of golden/inference.py's arithmetic, used to
show that the exported model means the same thing in PyTorch and in golden/.

    view:     v = clamp((q + 2^(k−1)) >> k, lo_b, hi_b)          (k = N − b > 0; v = q when k = 0)
    conv:     acc = Σ v_w · v_a   (computed as a float64 conv of integers: exact, every partial sum < 2^53)
    align:    x = (acc << ((N − b_w) + (N − b_a))) + bias
    requant:  y = clamp((x·m + r·m_r + 2^(s−1)) >> s, lo, hi)
    pools:    max over the valid window; GAP y = requant(Σ_hw x, m, s)
Dynamic mode: the controller's logits pick, per image and switchable layer, candidates[argmax] (first
maximum on ties); each layer then runs each image at its own width.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool
from golden.model import NestedModel
from golden.primitives import ArithmeticOverflow
from golden.spec import NestedSpec

FLOAT_EXACT = 1 << 53  # float64 holds every integer of smaller magnitude exactly


def view(q: torch.Tensor, bits: int, signed: bool, spec: NestedSpec) -> torch.Tensor:
    """clamp((q + 2^(k−1)) >> k, lo_b, hi_b) with k = N − bits; q itself when k = 0 (int64 tensors)."""
    k = spec.n_bits - spec.check_width(bits, "bits")
    if k == 0:
        return q
    lo, hi = spec.code_range(signed, bits)
    return torch.clamp((q + (1 << (k - 1))) >> k, lo, hi)


def requant(x: torch.Tensor, m: torch.Tensor, s: int, lo: int, hi: int, r: torch.Tensor | None = None,
            m_r: torch.Tensor | None = None) -> torch.Tensor:
    """clamp((x·m + r·m_r + 2^(s−1)) >> s, lo, hi) in int64; the rounding term is 0 when s = 0."""
    t = x * m + ((1 << (s - 1)) if s > 0 else 0)
    if r is not None:
        t = t + r * m_r
    return torch.clamp(t >> s, lo, hi)


def _check(x: torch.Tensor, lo: int, hi: int, what: str) -> None:
    if x.numel() and (int(x.min()) < lo or int(x.max()) > hi):
        raise ArithmeticOverflow(f"{what}: value outside [{lo}, {hi}]")


def _exact_matmul_like(fn, a: torch.Tensor, w: torch.Tensor, k: int, what: str) -> torch.Tensor:
    """Run a conv / linear on integer tensors through float64, after checking that k products of the
    operands' magnitudes stay below 2^53 (then the float64 result is the exact integer)."""
    bound = k * int(a.abs().max()) * int(w.abs().max()) if a.numel() and w.numel() else 0
    if bound >= FLOAT_EXACT:
        raise ArithmeticOverflow(f"{what}: |acc| bound {bound} is beyond exact float64 emulation")
    return fn(a.double(), w.double()).to(torch.int64)


@dataclass
class EmulationResult:
    logits: torch.Tensor              # int64 (B, classes)
    choices: torch.Tensor | None      # int64 (B, L) candidate index per switchable layer (dynamic), else None


class IntegerEmulator:
    """Runs a `NestedModel` (and its controller) in int64 PyTorch."""

    def __init__(self, model: NestedModel):
        self.model, self.spec = model, model.spec

    def conv(self, model: NestedModel, layer: Conv, x: torch.Tensor, b_w: int, b_a: int,
             residual: torch.Tensor | None) -> torch.Tensor:
        spec, p = self.spec, model.params(layer.name)
        lo, hi = spec.acc_range
        wv = view(torch.from_numpy(p.weight.astype("int64")), b_w, True, spec)
        av = view(x, b_a, model.tensor_signed(layer.input), spec)
        _, k, _ = layer.gemm
        if layer.kind == "linear":
            acc = _exact_matmul_like(F.linear, av.flatten(1), wv, k, f"layer {layer.name}")[:, :, None, None]
        else:
            conv = partial(F.conv2d, stride=layer.stride, padding=layer.padding)
            acc = _exact_matmul_like(conv, av, wv, k, f"layer {layer.name}")
        _check(acc, lo, hi, f"layer {layer.name}: accumulator")
        x = (acc << ((spec.n_bits - b_w) + (spec.n_bits - b_a))) + torch.from_numpy(p.bias.astype("int64"))[
            None, :, None, None]
        _check(x, lo, hi, f"layer {layer.name}: acc' + bias")
        if layer.output_kind == "wide":
            return x
        out_lo, out_hi = spec.logit_range if layer.output_kind == "logits" else spec.code_range(False)
        m = torch.from_numpy(p.m)[None, :, None, None]
        m_r = None if p.m_r is None else torch.from_numpy(p.m_r)[None, :, None, None]
        return requant(x, m, p.shift, out_lo, out_hi, residual, m_r)

    def op(self, model: NestedModel, op, tensors: dict, width) -> torch.Tensor:
        """One op; `width` is (b_w, b_a) or, for a switchable layer in dynamic mode, per-image candidate
        indices (B,)."""
        x = tensors[op.input]
        if isinstance(op, MaxPool):
            return F.max_pool2d(x.double(), op.kernel, op.stride, op.padding).to(torch.int64)
        if isinstance(op, GlobalAvgPool):
            g = model.pools[op.name]
            total = x.sum(dim=(2, 3), keepdim=True)
            _check(total, *self.spec.acc_range, f"pool {op.name}: sum")
            return requant(total, torch.tensor(g.m), g.shift, *self.spec.code_range(False))
        residual = tensors[op.residual] if op.residual is not None else None
        if isinstance(width, tuple):
            return self.conv(model, op, x, *width, residual)
        out = None
        for k, b in enumerate(self.spec.candidates):
            idx = torch.nonzero(width == k).flatten()
            if len(idx) == 0:
                continue
            y = self.conv(model, op, x[idx], b, b, None if residual is None else residual[idx])
            if out is None:
                out = torch.zeros((x.shape[0], *y.shape[1:]), dtype=torch.int64)
            out[idx] = y
        return out

    def controller_choices(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) candidate indices: argmax over each layer's K controller logits, first maximum on ties."""
        ctrl, n = self.model.controller, self.spec.n_bits
        tensors = {INPUT: x}
        for op in ctrl.network.ops:
            tensors[op.name] = self.op(ctrl, op, tensors, (n, n))
        logits = tensors[ctrl.network.ops[-1].name].reshape(x.shape[0], -1, len(self.spec.candidates))
        return torch.argmax(logits, dim=-1)

    def run(self, images, widths: dict[str, tuple[int, int]] | None = None,
            dynamic: bool = False) -> EmulationResult:
        """Logits of integer images (B, C, H, W): static at `widths` (switchable layer -> (b_w, b_a); all N
        when None) or dynamic."""
        model, n = self.model, self.spec.n_bits
        if dynamic and model.controller is None:
            raise ValueError(f"model {model.network.name} has no controller: dynamic mode needs one")
        tensors = {INPUT: torch.as_tensor(images).to(torch.int64)}
        _check(tensors[INPUT], *self.spec.code_range(model.input_signed), "images")
        index = {layer.name: i for i, layer in enumerate(model.network.switchable_layers)}
        choices = None
        if dynamic and model.network.controller_input == INPUT:
            choices = self.controller_choices(tensors[INPUT])
        for op in model.network.ops:
            width = (n, n)
            if isinstance(op, Conv) and op.switchable:
                width = choices[:, index[op.name]] if dynamic else widths[op.name] if widths else (n, n)
            tensors[op.name] = self.op(model, op, tensors, width)
            if dynamic and op.name == model.network.controller_input:
                choices = self.controller_choices(tensors[op.name])
        return EmulationResult(tensors[model.network.ops[-1].name].flatten(1), choices)
