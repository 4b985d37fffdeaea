"""Controller trained by imitation: fit the §1 controller (docs/spec.md) of a frozen backbone to per-image target
widths, e.g. the static plan that the validation split chose for the image's corruption severity level
(train/headroom.level_allocation) on the training images, whose levels are known. At inference the controller
sees only the image (the global-average-pooled stem output), so it must recognize the severity to follow.

    loss = mean_i Σ_l CE(logits_{i,l,·}, k_{i,l})       k_{i,l}: index of image i's target width of layer l

(Adam on the controller only; the input of the controller is computed once, the backbone being frozen.) The
budgeted controller (train/controller_fit.py) learns from the task loss and a cost price instead; this one learns
from what is known to pay off, which separates "the controller cannot see the severity" from "the task-loss
gradient does not tell it where bits pay".
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from golden.ir import INPUT
from golden.progress import progress_bar

from .nested import NestedNet


@dataclass(frozen=True)
class ImitationConfig:
    epochs: int = 40
    lr: float = 3e-3
    batch_size: int = 128
    seed: int = 0

    def validate(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@torch.no_grad()
def controller_inputs(net: NestedNet, codes: torch.Tensor, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes, step) of the controller-input tensor for input codes (B, C, H, W): the backbone ops up to it run
    at N bits (none of them is switchable)."""
    name, n = net.network.controller_input, net.spec.n_bits
    if name == INPUT:
        return codes, net.input_step
    parts, step = [], None
    for i in range(0, len(codes), batch):
        tensors = {INPUT: (codes[i:i + batch], net.input_step)}
        for op in net.network.ops:
            tensors[op.name] = net.backbone.run_op(op, tensors, True, (n, n), {})
            if op.name == name:
                break
        q, step = tensors[name]
        parts.append(q)
    return torch.cat(parts), step


def width_targets(net: NestedNet, widths: list[dict]) -> torch.Tensor:
    """(images, L) candidate indices of per-image widths {layer: (b, b)} (b must be a candidate)."""
    cands = list(net.spec.candidates)
    names = [layer.name for layer in net.switchable]
    for w in widths:
        bad = [f"{n}={w[n][0]}" for n in names if w[n][0] not in cands]
        if bad:
            raise ValueError(f"target widths must be controller candidates {cands}, got {', '.join(bad)}")
    return torch.tensor([[cands.index(w[n][0]) for n in names] for w in widths], dtype=torch.long)


def imitate_widths(net: NestedNet, codes: torch.Tensor, targets: torch.Tensor, cfg: ImitationConfig,
                   progress: Callable[[str], None] | None = None) -> NestedNet:
    """A copy of `net` whose controller is fit to `targets` (images, L) candidate indices for input `codes`
    (module docstring); backbone unchanged. Returns the copy in eval mode."""
    cfg.validate()
    if net.controller is None:
        raise ValueError("imitation needs a NestedNet with a controller")
    if targets.shape != (len(codes), len(net.switchable)):
        raise ValueError(f"targets must be (images, layers) = {(len(codes), len(net.switchable))}, "
                         f"got {tuple(targets.shape)}")
    net = copy.deepcopy(net)
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    q, step = controller_inputs(net, codes)
    k = len(net.spec.candidates)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(net.controller.parameters(), lr=cfg.lr)
    net.train()
    steps = cfg.epochs * -(-len(q) // cfg.batch_size)
    with progress_bar(total=steps, desc="imitation controller", unit="batch", enabled=progress is not None) as bar:
        for epoch in range(cfg.epochs):
            order = torch.randperm(len(q), generator=gen)
            total, hits = 0.0, 0.0
            for start in range(0, len(q), cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                codes_out, out_step = net.controller(q[idx], step)
                logits = (codes_out.flatten(1) * out_step).reshape(len(idx), -1, k)
                loss = F.cross_entropy(logits.reshape(-1, k), targets[idx].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                hits += float((logits.argmax(-1) == targets[idx]).all(-1).float().sum())
                bar.update(1)
            if progress and ((epoch + 1) % 10 == 0 or epoch + 1 == cfg.epochs):
                with bar.external_write_mode():
                    progress(f"imitation controller epoch {epoch + 1}/{cfg.epochs}  loss {total / len(q):.4f}  "
                             f"images with every target width {100 * hits / len(q):.1f}%")
    return net.eval()
