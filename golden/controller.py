"""The width controller (docs/spec.md §1): a small integer network that picks each switchable layer's width.

    g      = GAP(controller input)                      unsigned N-bit (the stem output after ReLU / max pool)
    h      = ReLU requant(Linear(C -> HIDDEN)(g))        N-bit
    logits = requant(Linear(HIDDEN -> L·K)(h))          signed logit_bits, one common scale for all L·K
    width of switchable layer l = candidates[argmax_k logits[l·K + k]]   (ties -> lowest k; b_w = b_a)

L = number of switchable layers in execution order, K = len(spec.candidates) (sorted ascending).
The controller is a `NestedModel` over `controller_network(...)`, run at N bits by the same inference code.
"""
from __future__ import annotations

import numpy as np

from .ir import INPUT, Conv, GlobalAvgPool, Network
from .model import tensor_shape
from .spec import NestedSpec

HIDDEN = 64  # hidden width of the controller MLP (docs/spec.md §1)


def controller_network(backbone: Network, spec: NestedSpec, hidden: int = HIDDEN) -> Network:
    """GAP -> fc1 (C -> hidden, ReLU) -> fc2 (hidden -> L·K logits), reading the backbone's controller input."""
    c, h, w = tensor_shape(backbone, backbone.controller_input)
    outputs = len(backbone.switchable_layers) * len(spec.candidates)
    ops = (GlobalAvgPool("gap", INPUT, c, (h, w)),
           Conv("fc1", "gap", c, hidden, (1, 1), switchable=False, kind="linear"),
           Conv("fc2", "fc1", hidden, outputs, (1, 1), output_kind="logits", switchable=False, kind="linear"))
    return Network(f"{backbone.name}.controller", (c, h, w), ops, INPUT, outputs)


def choose_widths(logits: np.ndarray, backbone: Network, spec: NestedSpec) -> list[dict[str, tuple[int, int]]]:
    """Per image, switchable layer name -> (b, b) with b = candidates[argmax_k logits[l·K + k]].

    np.argmax returns the first maximum, i.e. ties go to the lowest index (the narrowest width)."""
    layers = backbone.switchable_layers
    k = len(spec.candidates)
    logits = np.asarray(logits).reshape(logits.shape[0], len(layers), k)
    picks = np.argmax(logits, axis=2)
    return [{layer.name: (spec.candidates[i], spec.candidates[i]) for layer, i in zip(layers, row)}
            for row in picks]

