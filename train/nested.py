"""`NestedNet`: the fake-quantized network over a golden `Network` IR, with the width controller.

One `QConv` per IR conv/linear, one `QGap` per global average pool; the op loop mirrors golden/inference.py.
Static mode runs every switchable layer at the widths of a plan; dynamic mode runs the controller
(golden/controller.py: GAP → fc1 (C→64, ReLU) → fc2 (64→L·K logits), all N bits) on the controller-input
tensor and mixes each switchable layer's outputs at the K candidate widths with per-image one-hot gates:

    y_l = Σ_k g[b, l, k] · layer_l(x at width candidates[k])

With hard one-hot gates the forward equals the chosen width exactly (1·y + 0·y' = y); in training the gates
come from a straight-through Gumbel-softmax so the controller gets the gradient of every candidate.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from golden.controller import controller_network
from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network
from golden.spec import NestedSpec

from .qlayers import QConv, QGap
from .quant import master_codes, ste

Gates = Callable[[torch.Tensor], torch.Tensor]  # controller logits (B, L, K) -> gates (B, L, K)


def module_key(name: str) -> str:
    """IR names hold dots, which nn.ModuleDict forbids."""
    return name.replace(".", "__")


@dataclass
class Output:
    """logits: float (B, classes) = logit codes · step; codes: the integer logit codes; gates: the controller's
    (B, L, K) gates in dynamic mode, else None."""

    logits: torch.Tensor
    codes: torch.Tensor
    gates: torch.Tensor | None = None


class QSequential(nn.Module):
    """Runs the ops of a `Network` in order on (codes, step) pairs; holds the QConv / QGap modules."""

    def __init__(self, network: Network, spec: NestedSpec, params: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        super().__init__()
        self.network, self.spec = network, spec
        missing = [layer.name for layer in network.layers if layer.name not in params]
        if missing:
            raise ValueError(f"network {network.name}: no float parameters for layers {missing}")
        self.convs = nn.ModuleDict({module_key(layer.name): QConv(layer, *params[layer.name], spec)
                                    for layer in network.layers})
        self.gaps = nn.ModuleDict({module_key(op.name): QGap(op, spec)
                                   for op in network.ops if isinstance(op, GlobalAvgPool)})

    def conv(self, name: str) -> QConv:
        return self.convs[module_key(name)]

    def gap(self, name: str) -> QGap:
        return self.gaps[module_key(name)]

    def tensor_steps(self, input_step: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step Δ of every tensor: the input's, a layer's learned output step, Δ_w[c]·Δ_in for a "wide"
        layer, a max pool's input step; the same expressions as the forward."""
        steps = {INPUT: input_step}
        for op in self.network.ops:
            if isinstance(op, MaxPool):
                steps[op.name] = steps[op.input]
            elif isinstance(op, GlobalAvgPool):
                steps[op.name] = self.gap(op.name).out_step
            elif op.output_kind == "wide":
                steps[op.name] = self.conv(op.name).w_step * steps[op.input]
            else:
                steps[op.name] = self.conv(op.name).out_step
        return steps

    def run_op(self, op, tensors: dict, input_signed: bool, width, cache: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """One op on `tensors` (name -> (codes, step)). `width`: (b_w, b_a), or gates (B, K) to mix the
        candidate widths (b_w = b_a = candidates[k]). `cache`: layer name -> QConv.prepare(...) of this
        training step or forward, filled on first use (the steps do not change within it)."""
        q, step = tensors[op.input]
        if isinstance(op, MaxPool):
            return F.max_pool2d(q, op.kernel, op.stride, op.padding), step
        if isinstance(op, GlobalAvgPool):
            return self.gap(op.name)(q, step)
        if not isinstance(op, Conv):
            raise TypeError(f"op {op.name}: unsupported op type {type(op).__name__}")
        conv = self.conv(op.name)
        signed = op.input == INPUT and input_signed
        residual = tensors[op.residual] if op.residual is not None else None
        if op.name not in cache:
            cache[op.name] = conv.prepare(step, None if residual is None else residual[1])
        prepared = cache[op.name]
        if isinstance(width, tuple):
            return conv(q, step, signed, *width, residual, prepared)
        out, out_step = None, None
        for k, b in enumerate(self.spec.candidates):
            gate = width[:, k]
            if not torch.is_grad_enabled() and not bool(gate.any()):
                continue  # inference with hard gates: widths nobody chose contribute exactly 0
            y, out_step = conv(q, step, signed, b, b, residual, prepared)
            term = gate.reshape(-1, 1, 1, 1) * y
            out = term if out is None else out + term
        return out, out_step


class Controller(QSequential):
    """The width controller over golden.controller.controller_network: logit codes (B, L·K) and their step."""

    def forward(self, q: torch.Tensor, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.spec.n_bits
        tensors, cache = {INPUT: (q, step)}, {}
        for op in self.network.ops:
            tensors[op.name] = self.run_op(op, tensors, False, (n, n), cache)
        return tensors[self.network.ops[-1].name]


def controller_init(network: Network, generator: torch.Generator) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Float parameters of a fresh controller: Kaiming-uniform weights (nn.Linear's), zero biases."""
    params = {}
    for layer in network.layers:
        bound = (1.0 / layer.in_ch) ** 0.5
        w = (torch.rand(layer.weight_shape, generator=generator) * 2 - 1) * bound
        params[layer.name] = (w, torch.zeros(layer.out_ch))
    return params


class NestedNet(nn.Module):
    """Backbone (`QSequential` over `network`), fixed input step, optional controller."""

    def __init__(self, network: Network, spec: NestedSpec, params: dict, input_step: float,
                 controller: bool = True, seed: int = 0):
        super().__init__()
        self.network, self.spec = network, spec
        self.backbone = QSequential(network, spec, params)
        self.register_buffer("input_step", torch.tensor(float(input_step)))
        self.controller = None
        if controller:
            cnet = controller_network(network, spec)
            self.controller = Controller(cnet, spec, controller_init(cnet, torch.Generator().manual_seed(seed)))

    @property
    def switchable(self) -> tuple[Conv, ...]:
        return self.network.switchable_layers

    def input_codes(self, images: torch.Tensor) -> torch.Tensor:
        """Signed N-bit master codes of float images at the input step (float tensor of integers)."""
        return master_codes(images.to(self.input_step.dtype), self.input_step, True, self.spec).detach()

    def forward(self, codes: torch.Tensor, widths: dict[str, tuple[int, int]] | None = None,
                gates: Gates | None = None, cache: dict | None = None) -> Output:
        """Static (`widths`: switchable layer -> (b_w, b_a)) or dynamic (`gates` maps controller logits to
        per-image gates) forward of input codes (B, C, H, W). Forwards of one training step may share a
        `cache` (see QSequential.run_op)."""
        cache = {} if cache is None else cache
        if (widths is None) == (gates is None):
            raise ValueError("give exactly one of widths (static) or gates (dynamic)")
        n = self.spec.n_bits
        index = {layer.name: i for i, layer in enumerate(self.switchable)}
        missing = [name for name in index if widths is not None and name not in widths]
        if missing:
            raise ValueError(f"widths has no entry for switchable layer(s) {', '.join(missing)}")
        tensors = {INPUT: (codes, self.input_step)}
        chosen = None
        if gates is not None and self.network.controller_input == INPUT:
            chosen = self._control(tensors[INPUT], gates)
        for op in self.network.ops:
            width = (n, n)
            if isinstance(op, Conv) and op.switchable:
                width = widths[op.name] if widths is not None else chosen[:, index[op.name]]
            tensors[op.name] = self.backbone.run_op(op, tensors, True, width, cache)
            if gates is not None and op.name == self.network.controller_input:
                chosen = self._control(tensors[op.name], gates)
        q, step = tensors[self.network.ops[-1].name]
        q = q.flatten(1)
        return Output(q * step, q, chosen)

    def _control(self, source: tuple[torch.Tensor, torch.Tensor], gates: Gates) -> torch.Tensor:
        """Gates (B, L, K) of the controller's float logits (codes · step) on the controller-input tensor."""
        if self.controller is None:
            raise ValueError(f"network {self.network.name}: dynamic mode needs a controller")
        q, step = self.controller(*source)
        logits = (q.flatten(1) * step).reshape(q.shape[0], len(self.switchable), len(self.spec.candidates))
        return gates(logits)


def hard_gates(logits: torch.Tensor) -> torch.Tensor:
    """One-hot of argmax over the last axis, ties to the lowest index (torch.argmax's first maximum), as
    golden.controller.choose_widths."""
    return F.one_hot(torch.argmax(logits, dim=-1), logits.shape[-1]).to(logits.dtype)


def gumbel_gates(tau: float, noise: float = 1.0, generator: torch.Generator | None = None) -> Gates:
    """Straight-through Gumbel-softmax: forward one-hot of argmax(z + σ·G), gradient of softmax((z + σ·G)/τ),
    G ~ Gumbel(0, 1) i.i.d., σ = `noise` (σ = 1: sampling from softmax(z); σ -> 0: the inference argmax)."""

    def gates(logits: torch.Tensor) -> torch.Tensor:
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp_(1e-10, 1 - 1e-10)
        noisy = logits - noise * torch.log(-torch.log(u))
        return ste(hard_gates(noisy), torch.softmax(noisy / tau, dim=-1))

    return gates
