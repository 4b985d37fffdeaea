"""ResNet architectures known to train/: one frozen description builds both the PyTorch float module
(train/resnet.py, torchvision state_dict layout) and the golden `Network` IR (layer names = state_dict
prefixes, so a folded checkpoint maps one to one onto the integer model).

    digits         1×8×8 scikit-learn digits, 3×3 stem, no max pool, BasicBlocks 16/32/64 (one each)
    graded16       1×16×16 graded digits (train/graded.py), 3×3 stem, no max pool, BasicBlocks 8/16/32 (one each)
    resnet18_cifar 3×32×32, 3×3 stem, no max pool, BasicBlocks 64..512 ×2 (= golden topology "resnet18")
    resnet18       torchvision ImageNet ResNet-18: 7×7/2 stem, 3×3/2 max pool, BasicBlocks
    resnet50       torchvision ImageNet ResNet-50 (v1.5, stride on the 3×3 conv) (= golden "resnet50")
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network

BLOCK_KINDS = ("basic", "bottleneck")
BOTTLENECK_EXPANSION = 4
MAXPOOL = (3, 2, 1)  # torchvision's stem max pool: kernel, stride, padding


@dataclass(frozen=True)
class ResNetArch:
    """A torchvision-style ResNet.

    input_shape  (C, H, W) of one image
    stem         (kernel, stride, padding) of conv1
    maxpool      whether the stem is followed by torchvision's 3×3/2 max pool
    planes       width of each stage (layer1, layer2, ...); stage i > 0 starts with stride 2
    blocks       number of blocks per stage
    block        "basic" (two 3×3) or "bottleneck" (1×1, 3×3, 1×1 ×4)
    num_classes  classifier outputs
    """

    name: str
    input_shape: tuple[int, int, int]
    stem: tuple[int, int, int]
    maxpool: bool
    planes: tuple[int, ...]
    blocks: tuple[int, ...]
    block: str
    num_classes: int

    def __post_init__(self) -> None:
        if self.block not in BLOCK_KINDS:
            raise ValueError(f"arch {self.name}: block must be one of {BLOCK_KINDS}, got {self.block!r}")
        if len(self.planes) != len(self.blocks) or not self.planes:
            raise ValueError(f"arch {self.name}: planes {self.planes} and blocks {self.blocks} must have the "
                             f"same non-zero length")

    @property
    def expansion(self) -> int:
        return BOTTLENECK_EXPANSION if self.block == "bottleneck" else 1

    def with_classes(self, num_classes: int) -> ResNetArch:
        return replace(self, num_classes=num_classes)

    def with_input(self, input_shape: tuple[int, int, int]) -> ResNetArch:
        return replace(self, input_shape=tuple(input_shape))

    def stage_strides(self) -> list[int]:
        return [1] + [2] * (len(self.planes) - 1)

    def network(self) -> Network:
        """The golden IR of this architecture, op order and names as golden.topologies."""
        return _IRBuilder(self).build()


class _IRBuilder:
    """Walks the architecture in torchvision's forward order and emits golden IR ops."""

    def __init__(self, arch: ResNetArch):
        self.arch = arch
        self.ops: list = []
        c, h, w = arch.input_shape
        self.tensor, self.ch, self.hw = INPUT, c, (h, w)

    def conv(self, name, out_ch, kernel, stride=1, padding=0, **kw) -> Conv:
        layer = Conv(name, self.tensor, self.ch, out_ch, self.hw, kernel, stride, padding, **kw)
        self.ops.append(layer)
        return layer

    def advance(self, op) -> None:
        self.tensor, self.hw = op.name, op.out_hw
        self.ch = op.out_ch if isinstance(op, Conv) else op.channels

    def block(self, prefix: str, planes: int, stride: int) -> None:
        """conv1, then the downsample (1×1/stride, "wide") when the shape changes, then the remaining convs;
        the last conv fuses the residual (block input or downsample output)."""
        out_ch = planes * self.arch.expansion
        if self.arch.block == "basic":
            convs = [(planes, 3, stride, 1), (out_ch, 3, 1, 1)]
        else:
            convs = [(planes, 1, 1, 0), (planes, 3, stride, 1), (out_ch, 1, 1, 0)]
        first = self.conv(f"{prefix}.conv1", *convs[0])
        residual = self.tensor
        if stride != 1 or self.ch != out_ch:
            residual = self.conv(f"{prefix}.downsample", out_ch, 1, stride, output_kind="wide").name
        self.advance(first)
        for i, (ch, k, s, p) in enumerate(convs[1:], start=2):
            last = i == len(convs)
            self.advance(self.conv(f"{prefix}.conv{i}", ch, k, s, p, residual=residual if last else None))

    def build(self) -> Network:
        a = self.arch
        kernel, stride, padding = a.stem
        self.advance(self.conv("conv1", a.planes[0], kernel, stride, padding, switchable=False))
        if a.maxpool:
            pool = MaxPool("maxpool", self.tensor, self.ch, self.hw, *MAXPOOL)
            self.ops.append(pool)
            self.advance(pool)
        controller_input = self.tensor
        for stage, (planes, blocks, first_stride) in enumerate(zip(a.planes, a.blocks, a.stage_strides())):
            for i in range(blocks):
                self.block(f"layer{stage + 1}.{i}", planes, first_stride if i == 0 else 1)
        gap = GlobalAvgPool("avgpool", self.tensor, self.ch, self.hw)
        self.ops.append(gap)
        self.ops.append(Conv("fc", gap.name, self.ch, a.num_classes, (1, 1), output_kind="logits",
                             switchable=False, kind="linear"))
        return Network(a.name, tuple(a.input_shape), tuple(self.ops), controller_input, a.num_classes)


ARCHS = {
    "digits": ResNetArch("digits", (1, 8, 8), (3, 1, 1), False, (16, 32, 64), (1, 1, 1), "basic", 10),
    "graded16": ResNetArch("graded16", (1, 16, 16), (3, 1, 1), False, (8, 16, 32), (1, 1, 1), "basic", 10),
    "resnet18_cifar": ResNetArch("resnet18", (3, 32, 32), (3, 1, 1), False, (64, 128, 256, 512), (2, 2, 2, 2),
                                 "basic", 10),
    "resnet18": ResNetArch("resnet18_imagenet", (3, 224, 224), (7, 2, 3), True, (64, 128, 256, 512),
                           (2, 2, 2, 2), "basic", 1000),
    "resnet50": ResNetArch("resnet50", (3, 224, 224), (7, 2, 3), True, (64, 128, 256, 512), (3, 4, 6, 3),
                           "bottleneck", 1000),
}


def arch(name: str) -> ResNetArch:
    """Architecture by name; ValueError naming the known ones."""
    if name not in ARCHS:
        raise ValueError(f"unknown arch {name!r}; known: {', '.join(ARCHS)}")
    return ARCHS[name]
