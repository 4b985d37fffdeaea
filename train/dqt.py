"""DQT training (quantization-aware, nested widths, controller) of a `NestedNet`.

Per batch, with the controller's per-layer logits z (B, L, K) and candidate widths c_k:

    loss = CE(dynamic logits, y)                                  controller picks via ST Gumbel-softmax gates g
         + α · Σ_{b ∈ static widths} CE(logits at uniform width b, y)
         + β · cost(g)                                             cost of the controller's choices

    cost "bitops":  Σ_l MACs_l Σ_k g[l,k] c_k²  /  Σ_l MACs_l N²       (switchable layers, MAC-weighted)
    cost "bits":    mean_l Σ_k g[l,k] c_k / N
    with `cost_target` t: the hinge max(0, cost − t) instead (penalize only spending above a budget)

g is one-hot in the forward (the cost's value is that of the widths actually chosen) and carries the gradient
of the softmax relaxation, i.e. of the expected cost. The softmax temperature τ decays geometrically from
tau_start to tau_end; the Gumbel noise scale σ decays linearly from noise_start to noise_end, so that late
training chooses widths as inference does (hard argmax, golden.controller.choose_widths).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from golden.progress import progress_bar
from golden.spec import NestedSpec

from .batches import batches
from .data import Split
from .nested import NestedNet, gumbel_gates

COSTS = ("bitops", "bits")


@dataclass(frozen=True)
class DQTConfig:
    """Options of DQT training (see the module docstring); widths are checked against the spec."""

    static_widths: tuple[int, ...] = (2, 4, 6, 8)
    alpha: float = 1.0
    beta: float = 1.0
    cost: str = "bitops"
    cost_target: float | None = None
    epochs: int = 20
    lr: float = 1e-3
    controller_lr: float = 3e-3
    batch_size: int = 128
    tau_start: float = 2.0
    tau_end: float = 0.5
    noise_start: float = 1.0
    noise_end: float = 0.0
    seed: int = 0

    def validate(self, spec: NestedSpec) -> None:
        for b in self.static_widths:
            spec.check_width(b, "static_widths")
        if self.cost not in COSTS:
            raise ValueError(f"cost must be one of {COSTS}, got {self.cost!r}")
        for field in ("alpha", "beta"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)}")
        for field in ("epochs", "batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}")
        for field in ("lr", "controller_lr"):
            if not getattr(self, field) > 0:
                raise ValueError(f"{field} must be > 0, got {getattr(self, field)}")
        if self.cost_target is not None and not 0 <= self.cost_target <= 1:
            raise ValueError(f"cost_target must be in [0, 1] (a fraction of the all-N-bit cost), got {self.cost_target}")
        check_gate_schedule(self)

    def schedule(self, epoch: int) -> tuple[float, float]:
        return gate_schedule(self, epoch)


def check_gate_schedule(cfg) -> None:
    """A config's Gumbel gate schedule (tau_start, tau_end, noise_start, noise_end): ValueError unless
    0 < τ_end <= τ_start and 0 <= σ_end <= σ_start."""
    if not 0 < cfg.tau_end <= cfg.tau_start:
        raise ValueError(f"need 0 < tau_end <= tau_start, got {cfg.tau_end}, {cfg.tau_start}")
    if not 0 <= cfg.noise_end <= cfg.noise_start:
        raise ValueError(f"need 0 <= noise_end <= noise_start, got {cfg.noise_end}, {cfg.noise_start}")


def gate_schedule(cfg, epoch: int) -> tuple[float, float]:
    """(τ, σ) of `epoch` (0-based) over cfg.epochs, f = epoch / max(epochs − 1, 1):
    τ = τ_start·(τ_end/τ_start)^f (geometric), σ = σ_start + (σ_end − σ_start)·f (linear)."""
    f = epoch / max(cfg.epochs - 1, 1)
    return (cfg.tau_start * (cfg.tau_end / cfg.tau_start) ** f,
            cfg.noise_start + (cfg.noise_end - cfg.noise_start) * f)


def uniform_widths(net: NestedNet, bits: int) -> dict[str, tuple[int, int]]:
    return {layer.name: (bits, bits) for layer in net.switchable}


def image_costs(net: NestedNet, probs: torch.Tensor, kind: str) -> torch.Tensor:
    """Relative cost (B,) of each image's per-layer width distributions (B, L, K) (module docstring); for
    one-hot gates the cost of the widths chosen for that image."""
    spec = net.spec
    cands = torch.tensor(spec.candidates, dtype=probs.dtype)
    if kind == "bits":
        return (probs * cands).sum(-1).mean(-1) / spec.n_bits
    macs = torch.tensor([layer.macs for layer in net.switchable], dtype=probs.dtype)
    per_layer = (probs * cands ** 2).sum(-1)                      # (B, L)
    return (per_layer * macs).sum(-1) / (macs.sum() * spec.n_bits ** 2)


def choice_cost(net: NestedNet, probs: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean over the batch of `image_costs`."""
    return image_costs(net, probs, kind).mean()


def dqt_loss(net: NestedNet, codes: torch.Tensor, labels: torch.Tensor, cfg: DQTConfig, tau: float,
             noise: float, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
    """The joint loss of the module docstring and its parts (floats, for the progress line)."""
    cache: dict = {}
    dyn = net(codes, gates=gumbel_gates(tau, noise, generator), cache=cache)
    task = F.cross_entropy(dyn.logits, labels)
    static = sum(F.cross_entropy(net(codes, widths=uniform_widths(net, b), cache=cache).logits, labels)
                 for b in cfg.static_widths)
    cost = choice_cost(net, dyn.gates, cfg.cost)
    penalty = cost if cfg.cost_target is None else torch.relu(cost - cfg.cost_target)
    loss = task + cfg.alpha * static + cfg.beta * penalty
    parts = {"loss": loss, "task": task, "static": static, "cost": cost,
             "acc": (dyn.logits.argmax(1) == labels).float().mean()}
    return loss, {k: float(v.detach()) for k, v in parts.items()}


def train_dqt(net: NestedNet, train: Split, cfg: DQTConfig, progress: Callable[[str], None] | None = None
              ) -> NestedNet:
    """Adam (controller at its own rate) with a cosine schedule; returns `net` in eval mode."""
    cfg.validate(net.spec)
    if net.controller is None:
        raise ValueError("DQT training needs a NestedNet with a controller")
    gen = torch.Generator().manual_seed(cfg.seed)
    ctrl = list(net.controller.parameters())
    ctrl_ids = {id(p) for p in ctrl}
    backbone = [p for p in net.parameters() if id(p) not in ctrl_ids]
    opt = torch.optim.Adam([{"params": backbone, "lr": cfg.lr}, {"params": ctrl, "lr": cfg.controller_lr}])
    per_epoch = -(-len(train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * per_epoch)
    net.train()
    with progress_bar(total=cfg.epochs * per_epoch, desc="DQT", unit="batch", enabled=progress is not None) as bar:
        for epoch in range(cfg.epochs):
            tau, noise = cfg.schedule(epoch)
            sums: dict[str, float] = {}
            for x, y in batches(train, cfg.batch_size, gen):
                loss, parts = dqt_loss(net, net.input_codes(x), y, cfg, tau, noise, gen)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + v * len(y)
                bar.update(1)
            if progress:
                n = len(train)
                with bar.external_write_mode():
                    progress(f"DQT epoch {epoch + 1:>3}/{cfg.epochs}  tau {tau:.2f}  noise {noise:.2f}  "
                             f"loss {sums['loss'] / n:.4f}  task {sums['task'] / n:.4f}  "
                             f"static {sums['static'] / n:.4f}  cost {sums['cost'] / n:.3f}  "
                             f"dyn train acc {100 * sums['acc'] / n:6.2f}%")
    return net.eval()
