"""Accuracy and cost of a trained `NestedNet` at static widths and in dynamic mode, measured twice:

    fake-quant   the float64 PyTorch forward (train/export.evaluation_copy)
    golden       golden.inference.infer on the exported integer model (the numbers reported)

plus `logits_equal`, the fraction of images whose golden logits equal the fake-quant logit codes exactly, and
`emulation_equal`, the same against the int64 PyTorch emulation of the exported integers (train/int_emulation.py).
BitOPs per image = Σ_l MACs_l · b_w,l · b_a,l over every conv/linear (stem and classifier at N bits); the
controller's own MACs are reported apart (golden.inference.InferenceResult).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from golden.inference import infer
from golden.model import NestedModel

from .batches import batches
from .data import Split
from .dqt import uniform_widths
from .export import evaluation_copy
from .int_emulation import IntegerEmulator
from .nested import NestedNet, hard_gates

EVAL_BATCH = 256


@dataclass(frozen=True)
class PointResult:
    """One operating point: mode "static:B" or "dynamic"."""

    mode: str
    fakequant_acc: float
    golden_acc: float
    bitops: float
    avg_bits: float
    controller_macs: int
    logits_equal: float
    emulation_equal: float

    def as_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def fakequant_logits(net64: NestedNet, codes: torch.Tensor, bits: int | None) -> torch.Tensor:
    """Integer logit codes (int64) of the float64 fake-quant net: uniform `bits`, or dynamic when None."""
    out = []
    for start in range(0, len(codes), EVAL_BATCH):
        x = codes[start:start + EVAL_BATCH]
        o = net64(x, gates=hard_gates) if bits is None else net64(x, widths=uniform_widths(net64, bits))
        out.append(o.codes.to(torch.int64))
    return torch.cat(out)


def input_codes(net: NestedNet, split: Split) -> torch.Tensor:
    """Signed master codes of the split's images (float64 tensor of integers)."""
    net64 = evaluation_copy(net)
    return torch.cat([net64.input_codes(x) for x, _ in batches(split, EVAL_BATCH)])


def evaluate(net: NestedNet, model: NestedModel, split: Split, widths: tuple[int, ...],
             backend: str = "numba") -> list[PointResult]:
    """A `PointResult` for every static width, then the dynamic mode (when `net` has a controller)."""
    net64 = evaluation_copy(net)
    codes = input_codes(net, split)
    images = codes.to(torch.int64).numpy()
    labels = split.labels.numpy()
    emulator = IntegerEmulator(model)
    modes = [(f"static:{b}", b) for b in widths] + ([("dynamic", None)] if net.controller is not None else [])
    points = []
    for mode, bits in modes:
        fq = fakequant_logits(net64, codes, bits).numpy()
        res = infer(model, images, plan=None if bits is None else f"uniform:{bits}", dynamic=bits is None,
                    backend=backend)
        emu = emulator.run(images, None if bits is None else uniform_widths(net, bits), bits is None).logits.numpy()
        points.append(PointResult(mode, 100.0 * float(np.mean(np.argmax(fq, 1) == labels)),
                                  100.0 * float(np.mean(res.predictions == labels)), float(res.bitops),
                                  float(res.avg_bits), int(res.controller_macs),
                                  float(np.mean(np.all(fq == res.logits, axis=1))),
                                  float(np.mean(np.all(emu == res.logits, axis=1)))))
    return points
