"""Controller training at a BitOPs budget, backbone frozen: one controller per cost target over one shared
DQT backbone (the Pareto study of train/bench.py).

Per batch, with per-image relative costs c_i (train.dqt.image_costs, "bitops": Σ_l MACs_l·b_l² / Σ_l MACs_l·N²
of the widths image i gets) and a Lagrange multiplier λ ≥ 0:

    loss = mean_i [ CE_i(dynamic logits) + λ · c_i ]                          primal step (Adam, controller only)
    λ   ← max(0, λ + η · (mean_i c_i − t) / t)                                dual ascent after every batch

The cost enters per image, so the gradient on image i's gates weighs *its* loss reduction from more bits
against λ times *its* cost: images whose loss does not move with the width are pushed to narrow widths, those
whose loss does keep wide ones, and λ settles where the average cost meets the target t. The old objective
(train.dqt: β·max(0, mean cost − t), β fixed and backbone trained jointly) has no pressure once under budget
and lets the backbone adapt to one allocation, which is how it converged to image-independent widths.
Gates are straight-through Gumbel-softmax (train.nested.gumbel_gates) with τ annealed geometrically and the
noise scale σ linearly to 0, so that the last epoch chooses as inference does (hard argmax).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from golden.progress import progress_bar

from .batches import batches
from .data import Split
from .dqt import check_gate_schedule, gate_schedule, image_costs
from .nested import NestedNet, gumbel_gates


@dataclass(frozen=True)
class BudgetConfig:
    """target: average relative BitOPs t ∈ (0, 1]; dual_lr: η of the λ update; lam_start: initial λ."""

    target: float
    epochs: int = 4
    lr: float = 3e-3
    dual_lr: float = 0.05
    lam_start: float = 1.0
    batch_size: int = 128
    tau_start: float = 2.0
    tau_end: float = 0.3
    noise_start: float = 1.0
    noise_end: float = 0.0
    seed: int = 0

    def validate(self) -> None:
        if not 0 < self.target <= 1:
            raise ValueError(f"target must be in (0, 1] (a fraction of the all-N-bit BitOPs), got {self.target}")
        for field in ("epochs", "batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}")
        for field in ("lr", "dual_lr"):
            if not getattr(self, field) > 0:
                raise ValueError(f"{field} must be > 0, got {getattr(self, field)}")
        if self.lam_start < 0:
            raise ValueError(f"lam_start must be >= 0, got {self.lam_start}")
        check_gate_schedule(self)

    def schedule(self, epoch: int) -> tuple[float, float]:
        return gate_schedule(self, epoch)


def dual_step(lam: float, cost: float, target: float, lr: float) -> float:
    """λ ← max(0, λ + η·(cost − t)/t): λ grows while the batch spends more than the target."""
    return max(0.0, lam + lr * (cost - target) / target)


def train_controller(net: NestedNet, train: Split, cfg: BudgetConfig,
                     progress: Callable[[str], None] | None = None) -> tuple[NestedNet, float]:
    """A copy of `net` whose controller is trained at budget `cfg.target` (module docstring), backbone and
    input step unchanged; returns (the copy in eval mode, the final λ)."""
    cfg.validate()
    if net.controller is None:
        raise ValueError("controller training needs a NestedNet with a controller")
    net = copy.deepcopy(net)
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(net.controller.parameters(), lr=cfg.lr)
    lam = cfg.lam_start
    net.train()
    cache: dict = {}  # backbone frozen: weight views, biases and multipliers are computed once for all steps
    steps = cfg.epochs * -(-len(train) // cfg.batch_size)
    with progress_bar(total=steps, desc=f"controller t={cfg.target:.3f}", unit="batch",
                      enabled=progress is not None) as bar:
        for epoch in range(cfg.epochs):
            tau, noise = cfg.schedule(epoch)
            sums = {"task": 0.0, "cost": 0.0, "acc": 0.0}
            for x, y in batches(train, cfg.batch_size, gen):
                out = net(net.input_codes(x), gates=gumbel_gates(tau, noise, gen), cache=cache)
                task = F.cross_entropy(out.logits, y)
                costs = image_costs(net, out.gates, "bitops")
                loss = task + lam * costs.mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                cost = float(costs.detach().mean())
                lam = dual_step(lam, cost, cfg.target, cfg.dual_lr)
                sums["task"] += float(task.detach()) * len(y)
                sums["cost"] += cost * len(y)
                sums["acc"] += float((out.logits.argmax(1) == y).float().sum())
                bar.update(1)
            if progress:
                n = len(train)
                with bar.external_write_mode():
                    progress(f"controller t={cfg.target:.3f} epoch {epoch + 1}/{cfg.epochs}  tau {tau:.2f}  noise "
                             f"{noise:.2f}  task {sums['task'] / n:.4f}  cost {sums['cost'] / n:.3f}  "
                             f"lambda {lam:.3f}  train acc {100 * sums['acc'] / n:6.2f}%")
    return net.eval(), lam
