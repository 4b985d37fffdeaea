"""Model IR: the layer graph that golden/ executes and sim/ maps onto the array.

A `Network` is an ordered tuple of ops; each op reads named tensors and writes the tensor named after
itself. The network input tensor is called "input" (signed N-bit codes, shape C×H×W per image).

Tensor kinds produced by a `Conv` (conv or linear):
    "act"    requantized, ReLU range [0, 2^N-1]          (every backbone conv but the downsample)
    "wide"   acc' + bias, no requant, must fit ACC_BITS   (downsample convs: the residual term r)
    "logits" requantized, signed `logit_bits`             (classifier)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

INPUT = "input"
OUTPUT_KINDS = ("act", "wide", "logits")


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size of a conv / pool: floor((size + 2*padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Conv:
    """A conv2d (groups=1) or, with kind="linear", a fully connected layer (kernel 1, 1×1 spatial).

    As a GEMM: M = out_ch filters, K = in_ch·kernel² reduction, N = out_h·out_w output pixels.
    `residual`: name of the tensor fused into this layer's requant as r (DESIGN.md §1 residual add).
    `switchable`: False for the stem and the classifier, which always run at N bits.
    """

    name: str
    input: str
    in_ch: int
    out_ch: int
    in_hw: tuple[int, int]
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    output_kind: str = "act"
    residual: str | None = None
    switchable: bool = True
    kind: str = "conv"

    def __post_init__(self) -> None:
        if self.output_kind not in OUTPUT_KINDS:
            raise ValueError(f"layer {self.name}: output_kind must be one of {OUTPUT_KINDS}, got {self.output_kind!r}")
        if self.kind not in ("conv", "linear"):
            raise ValueError(f"layer {self.name}: kind must be 'conv' or 'linear', got {self.kind!r}")
        for field in ("in_ch", "out_ch", "kernel", "stride"):
            if getattr(self, field) < 1:
                raise ValueError(f"layer {self.name}: {field} must be >= 1, got {getattr(self, field)}")
        if min(self.out_hw) < 1:
            raise ValueError(f"layer {self.name}: output size {self.out_hw} is empty for input {self.in_hw}")

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple(conv_out(s, self.kernel, self.stride, self.padding) for s in self.in_hw)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "linear":
            return (self.out_ch, self.in_ch)
        return (self.out_ch, self.in_ch, self.kernel, self.kernel)

    @property
    def gemm(self) -> tuple[int, int, int]:
        """(M, K, N) = (filters, reduction length, output pixels)."""
        oh, ow = self.out_hw
        return self.out_ch, self.in_ch * self.kernel * self.kernel, oh * ow

    @property
    def macs(self) -> int:
        m, k, n = self.gemm
        return m * k * n

    @property
    def input_elems(self) -> int:
        return self.in_ch * self.in_hw[0] * self.in_hw[1]

    @property
    def weight_elems(self) -> int:
        m, k, _ = self.gemm
        return m * k


@dataclass(frozen=True)
class MaxPool:
    """Max over a kernel×kernel window (padding positions ignored)."""

    name: str
    input: str
    channels: int
    in_hw: tuple[int, int]
    kernel: int
    stride: int
    padding: int = 0
    kind: str = "maxpool"

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple(conv_out(s, self.kernel, self.stride, self.padding) for s in self.in_hw)


@dataclass(frozen=True)
class GlobalAvgPool:
    """Sum over H·W in int32, then requant(sum, m, s) to an unsigned N-bit activation."""

    name: str
    input: str
    channels: int
    in_hw: tuple[int, int]
    kind: str = "gap"

    @property
    def out_hw(self) -> tuple[int, int]:
        return (1, 1)


Op = Conv | MaxPool | GlobalAvgPool


@dataclass(frozen=True)
class Network:
    """A topology: input shape (C, H, W), ordered ops, the controller's input tensor, class count."""

    name: str
    input_shape: tuple[int, int, int]
    ops: tuple[Op, ...]
    controller_input: str
    num_classes: int

    def __post_init__(self) -> None:
        seen = {INPUT}
        for op in self.ops:
            for t in (op.input, getattr(op, "residual", None)):
                if t is not None and t not in seen:
                    raise ValueError(f"network {self.name}: op {op.name} reads tensor {t!r} before it is written")
            if op.name in seen:
                raise ValueError(f"network {self.name}: duplicate op name {op.name!r}")
            seen.add(op.name)
        if self.controller_input not in seen:
            raise ValueError(f"network {self.name}: controller_input {self.controller_input!r} is not a tensor")

    @cached_property
    def layers(self) -> tuple[Conv, ...]:
        """Convs and linears, in execution order."""
        return tuple(op for op in self.ops if isinstance(op, Conv))

    @cached_property
    def switchable_layers(self) -> tuple[Conv, ...]:
        """Layers whose width comes from the plan or the controller (all but stem and classifier)."""
        return tuple(layer for layer in self.layers if layer.switchable)

    @property
    def macs(self) -> int:
        """MACs per image over every conv and linear (controller excluded)."""
        return sum(layer.macs for layer in self.layers)

    def op(self, name: str) -> Op:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(f"network {self.name} has no op {name!r}")
