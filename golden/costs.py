"""Costs of one inference (docs/spec.md §1), per image: MACs, BitOPs, average width, transition cost.

    bitops_l            = MACs_l · b_w,l · b_a,l
    transition_shifts_l = (weight elements of l if b_w,l < N) + (input activation elements of l if b_a,l < N)
        the tensor elements viewed at a width below N (each a shift-and-round), each counted once per image
        and reading layer (a block input read by conv1 and the downsample conv is viewed by each);
        a dequantize-to-float + requantize would instead cost FLOAT_OPS_PER_TRANSITION float multiply-adds
        per element (dequant x·Δ, requant round(x/Δ'))
    avg_bits            = Σ_l MACs_l · (b_w,l + b_a,l) / 2  /  Σ_l MACs_l      (MAC-weighted mean width)
"""
from __future__ import annotations

from dataclasses import dataclass

from .ir import Conv, Network
from .spec import NestedSpec

FLOAT_OPS_PER_TRANSITION = 2


@dataclass(frozen=True)
class LayerCost:
    name: str
    kind: str
    macs: int
    b_w: int
    b_a: int
    bitops: int
    transition_shifts: int


def transition_shifts(layer: Conv, b_w: int, b_a: int, spec: NestedSpec) -> int:
    """Elements viewed below N bits: the weights if b_w < N, the input activations if b_a < N."""
    return (layer.weight_elems if b_w < spec.n_bits else 0) + (layer.input_elems if b_a < spec.n_bits else 0)


def layer_costs(network: Network, widths: dict[str, tuple[int, int]], spec: NestedSpec) -> list[LayerCost]:
    """Per-image cost of every conv/linear of `network` at `widths` (layer name -> (b_w, b_a))."""
    missing = [layer.name for layer in network.layers if layer.name not in widths]
    if missing:
        raise ValueError(f"widths missing for layers {missing}")
    out = []
    for layer in network.layers:
        b_w, b_a = widths[layer.name]
        out.append(LayerCost(layer.name, layer.kind, layer.macs, b_w, b_a, layer.macs * b_w * b_a,
                             transition_shifts(layer, b_w, b_a, spec)))
    return out


def avg_bits(costs: list[LayerCost]) -> float:
    """MAC-weighted mean of (b_w + b_a) / 2."""
    return sum(c.macs * (c.b_w + c.b_a) / 2 for c in costs) / sum(c.macs for c in costs)
