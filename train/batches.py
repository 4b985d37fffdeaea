"""Shuffled mini-batches of a `Split`, reproducible from a seed."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from .data import Split


def batches(split: Split, batch_size: int, generator: torch.Generator | None = None
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) batches covering `split` once; shuffled when a generator is given."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(split)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield split.images[idx], split.labels[idx]
