"""Float pre-training of a `ResNet` (with BatchNorm), before folding and quantization-aware training."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from golden.progress import progress_bar

from .batches import batches
from .data import Split
from .resnet import ResNet


@dataclass(frozen=True)
class FloatConfig:
    epochs: int = 15
    lr: float = 3e-3
    weight_decay: float = 5e-4
    batch_size: int = 64
    seed: int = 0


def train_float(model: ResNet, train: Split, cfg: FloatConfig, progress: Callable[[str], None] | None = None
                ) -> ResNet:
    """AdamW with a cosine learning-rate schedule on cross-entropy; returns the model in eval mode."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * -(-len(train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    model.train()
    with progress_bar(total=steps, desc="float", unit="batch", enabled=progress is not None) as bar:
        for epoch in range(cfg.epochs):
            total, correct, seen = 0.0, 0, 0
            for x, y in batches(train, cfg.batch_size, gen):
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(y)
                bar.update(1)
            if progress:
                with bar.external_write_mode():
                    progress(f"float epoch {epoch + 1:>3}/{cfg.epochs}  loss {total / seen:.4f}  train acc "
                             f"{100 * correct / seen:6.2f}%")
    return model.eval()


@torch.no_grad()
def float_accuracy(model: ResNet, split: Split, batch_size: int = 256) -> float:
    """Top-1 accuracy (%) of the float model."""
    model.eval()
    correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in batches(split, batch_size))
    return 100.0 * correct / len(split)
