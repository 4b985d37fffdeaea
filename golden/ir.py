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


def _check_geometry(op, positive: tuple[str, ...], non_negative: tuple[str, ...] = ()) -> None:
    """Every named field an int (>= 1, or >= 0 for `non_negative`), in_hw two ints >= 1, the output non-empty;
    raises naming the op and the field."""
    where = f"op {op.name}"
    for field in positive + non_negative:
        value, lo = getattr(op, field), 0 if field in non_negative else 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{where}: {field} must be an int, got {value!r}")
        if value < lo:
            raise ValueError(f"{where}: {field} must be >= {lo}, got {value}")
    hw = op.in_hw
    if not isinstance(hw, tuple) or len(hw) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                           and v >= 1 for v in hw):
        raise ValueError(f"{where}: in_hw must be two ints >= 1, got {hw!r}")
    if min(op.out_hw) < 1:
        raise ValueError(f"{where}: output size {op.out_hw} is empty for input {hw}")


@dataclass(frozen=True)
class Conv:
    """A conv2d (groups=1) or, with kind="linear", a fully connected layer (kernel 1, 1×1 spatial).

    As a GEMM: M = out_ch filters, K = in_ch·kernel² reduction, N = out_h·out_w output pixels.
    `residual`: name of the tensor fused into this layer's requant as r (docs/spec.md §1 residual add).
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
        _check_geometry(self, ("in_ch", "out_ch", "kernel", "stride"), ("padding",))
        if self.kind == "linear" and (self.kernel, self.stride, self.padding, self.in_hw) != (1, 1, 0, (1, 1)):
            raise ValueError(f"layer {self.name}: a linear has kernel 1, stride 1, padding 0 and in_hw (1, 1)")
        if self.residual is not None and self.output_kind != "act":
            raise ValueError(f"layer {self.name}: residual must be None for output_kind {self.output_kind!r}, got "
                             f"{self.residual!r} (the residual add is fused into a ReLU requant, docs/spec.md §1)")
        if self.output_kind == "logits" and self.switchable:
            raise ValueError(f"layer {self.name}: switchable must be False for output_kind 'logits' (the "
                             f"classifier always runs at N bits, docs/spec.md §1)")

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
        """M·K·N = out_ch · in_ch·kernel² · out_h·out_w."""
        m, k, n = self.gemm
        return m * k * n

    @property
    def input_elems(self) -> int:
        """in_ch · in_h · in_w: the input activation elements the layer reads."""
        return self.in_ch * self.in_hw[0] * self.in_hw[1]

    @property
    def weight_elems(self) -> int:
        """M·K = out_ch · in_ch·kernel²."""
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

    def __post_init__(self) -> None:
        _check_geometry(self, ("channels", "kernel", "stride"), ("padding",))
        if self.padding >= self.kernel:
            raise ValueError(f"op {self.name}: padding must be < kernel={self.kernel}, got {self.padding}")

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

    def __post_init__(self) -> None:
        _check_geometry(self, ("channels",))

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
        """Each op reads tensors already written, with the shape (C, H, W) it declares (in_ch or channels,
        in_hw); a residual has its layer's output shape; names are unique; the last op is a conv / linear
        with num_classes outputs and the only one with output_kind "logits"; a "wide" tensor (acc' + bias) is read only as a residual; the stem (first
        conv / linear) is not switchable."""
        shapes = {INPUT: tuple(self.input_shape)}
        wide = set()
        for op in self.ops:
            for t in (op.input, getattr(op, "residual", None)):
                if t is not None and t not in shapes:
                    raise ValueError(f"network {self.name}: op {op.name} reads tensor {t!r} before it is written")
            if op.input in wide:
                raise ValueError(f"network {self.name}: op {op.name} reads the 'wide' tensor {op.input!r} as its "
                                 f"input; a 'wide' output (acc' + bias) is only a residual")
            if getattr(op, "output_kind", "act") == "wide":
                wide.add(op.name)
            if getattr(op, "output_kind", "act") == "logits" and op is not self.ops[-1]:
                raise ValueError(f"network {self.name}: op {op.name}: output_kind 'logits' is only for the last op "
                                 f"(golden.bounds proves every other tensor in the N-bit activation range)")
            if op.name in shapes:
                raise ValueError(f"network {self.name}: duplicate op name {op.name!r}")
            channels = op.out_ch if isinstance(op, Conv) else op.channels
            declared = (op.in_ch if isinstance(op, Conv) else op.channels, *op.in_hw)
            if shapes[op.input] != declared:
                raise ValueError(f"network {self.name}: op {op.name} declares input shape {declared} but tensor "
                                 f"{op.input!r} has shape {shapes[op.input]}")
            shapes[op.name] = (channels, *op.out_hw)
            residual = getattr(op, "residual", None)
            if residual is not None and shapes[residual] != shapes[op.name]:
                raise ValueError(f"network {self.name}: op {op.name} output shape {shapes[op.name]} != shape "
                                 f"{shapes[residual]} of its residual {residual!r}")
        if self.controller_input not in shapes or self.controller_input in wide:
            raise ValueError(f"network {self.name}: controller_input {self.controller_input!r} is not an "
                             f"activation tensor")
        stem = next((op for op in self.ops if isinstance(op, Conv)), None)
        if stem is not None and stem.switchable:
            raise ValueError(f"network {self.name}: layer {stem.name}: switchable must be False for the stem (the "
                             f"first conv / linear always runs at N bits, docs/spec.md §1)")
        if not self.ops or not isinstance(self.ops[-1], Conv) or self.ops[-1].out_ch != self.num_classes:
            raise ValueError(f"network {self.name}: the last op must be a conv / linear with num_classes="
                             f"{self.num_classes} outputs")

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
