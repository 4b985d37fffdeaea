"""`Workload`: the GEMMs a network runs, one entry per conv / linear, as numpy columns.

Each conv / FC is a GEMM (docs/spec.md §2, SCALE-Sim's convention):
    M = filters (out channels),  K = in channels·kh·kw (reduction),  N = output pixels (oh·ow)
Besides the GEMM shape a layer carries what the memory model needs: the unique input activation
elements (the buffer holds the feature map; im2col is address generation), the output element width
(N-bit activation, ACC_BITS-wide residual term of a downsample conv, or logit_bits logits), and the
residual tensor its requant reads (docs/spec.md §1 residual add).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from golden.ir import Conv, Network
from golden.spec import NestedSpec

INT_COLUMNS = ("m", "k", "n", "in_elems", "out_bits", "residual_elems", "residual_bits", "b_w", "b_a")


@dataclass(frozen=True, eq=False)
class Workload:
    """Per-layer GEMM columns (int64 arrays of equal length, one entry per layer, execution order).

    names          layer names
    m, k, n        GEMM shape: filters, reduction length, output pixels
    in_elems       unique input activation elements (C·H·W of the input feature map)
    out_bits       bits per output element written (N, ACC_BITS for "wide", logit_bits for "logits")
    residual_elems elements of the residual tensor read by the requant (0 when none)
    residual_bits  bits per residual element (N for an identity shortcut, ACC_BITS for a downsample's)
    b_w, b_a       view widths of weights and input activations
    """

    names: tuple[str, ...]
    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    in_elems: np.ndarray
    out_bits: np.ndarray
    residual_elems: np.ndarray
    residual_bits: np.ndarray
    b_w: np.ndarray
    b_a: np.ndarray

    def __post_init__(self) -> None:
        count = len(self.names)
        if count == 0:
            raise ValueError("workload has no layers")
        for column in INT_COLUMNS:
            value = np.asarray(getattr(self, column), dtype=np.int64)
            if value.shape != (count,):
                raise ValueError(f"workload column {column}: shape {value.shape}, expected ({count},)")
            object.__setattr__(self, column, value)
        for column in ("m", "k", "n", "in_elems", "out_bits", "b_w", "b_a"):
            bad = np.flatnonzero(getattr(self, column) < 1)
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"layer {self.names[i]}: {column} must be >= 1, got {getattr(self, column)[i]}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def macs(self) -> np.ndarray:
        """MACs per layer: M·K·N."""
        return self.m * self.k * self.n

    @property
    def bitops(self) -> np.ndarray:
        """BitOPs per layer: MACs·b_w·b_a (docs/spec.md §1 costs)."""
        return self.macs * self.b_w * self.b_a

    def with_widths(self, b_w, b_a) -> "Workload":
        """The same layers at other widths (arrays or scalars broadcast over the layers)."""
        count = len(self)
        return Workload(self.names, self.m, self.k, self.n, self.in_elems, self.out_bits, self.residual_elems,
                        self.residual_bits, np.broadcast_to(np.asarray(b_w, dtype=np.int64), (count,)).copy(),
                        np.broadcast_to(np.asarray(b_a, dtype=np.int64), (count,)).copy())


def _output_bits(layer: Conv, spec: NestedSpec) -> int:
    """Bits of one output element: N (act), ACC_BITS ("wide" acc'+bias), logit_bits (logits)."""
    return {"act": spec.n_bits, "wide": spec.acc_bits, "logits": spec.logit_bits}[layer.output_kind]


def layer_widths(network: Network, widths: Mapping[str, tuple[int, int]], spec: NestedSpec) -> tuple[list, list]:
    """(b_w list, b_a list) in layer order; every layer must have a width pair with 2 <= b <= N."""
    b_w, b_a = [], []
    for layer in network.layers:
        if layer.name not in widths:
            raise ValueError(f"widths: no (b_w, b_a) for layer {layer.name} of network {network.name}")
        pair = widths[layer.name]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"widths: layer {layer.name}: expected (b_w, b_a), got {pair!r}")
        for column, value, field in ((b_w, pair[0], "b_w"), (b_a, pair[1], "b_a")):
            value = int(value) if isinstance(value, np.integer) else value
            column.append(spec.check_width(value, f"widths: layer {layer.name}: {field}"))
    return b_w, b_a


def workload_from_network(network: Network, widths: Mapping[str, tuple[int, int]], spec: NestedSpec) -> Workload:
    """The GEMMs of every conv / linear of `network` at the given widths (layer name -> (b_w, b_a))."""
    layers = network.layers
    kinds = {layer.name: layer.output_kind for layer in layers}
    b_w, b_a = layer_widths(network, widths, spec)
    gemms = np.array([layer.gemm for layer in layers], dtype=np.int64).reshape(-1, 3)
    residual_elems = [layer.out_ch * layer.out_hw[0] * layer.out_hw[1] if layer.residual else 0 for layer in layers]
    residual_bits = [spec.acc_bits if kinds.get(layer.residual) == "wide" else spec.n_bits for layer in layers]
    return Workload(
        names=tuple(layer.name for layer in layers),
        m=gemms[:, 0], k=gemms[:, 1], n=gemms[:, 2],
        in_elems=[layer.input_elems for layer in layers],
        out_bits=[_output_bits(layer, spec) for layer in layers],
        residual_elems=residual_elems, residual_bits=residual_bits, b_w=b_w, b_a=b_a)

