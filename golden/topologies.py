"""ResNet topologies as `Network` IR: ResNet-18 CIFAR, ResNet-50 ImageNet, and small nets for tests.

Layer names follow torchvision's state_dict prefixes (stem = `conv1`, `layer2.0.downsample`, `fc`) so
checkpoint import maps one to one.
"""
from __future__ import annotations

from .ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network


class _Builder:
    """Appends ops while tracking the current tensor's name, channel count and spatial size."""

    def __init__(self, in_ch: int, hw: int):
        self.ops: list = []
        self.tensor, self.ch, self.hw = INPUT, in_ch, (hw, hw)

    def conv(self, name, out_ch, kernel, stride=1, padding=0, **kw) -> Conv:
        """Append a conv reading the current tensor (the current tensor does not advance: see `advance`)."""
        layer = Conv(name, self.tensor, self.ch, out_ch, self.hw, kernel, stride, padding, **kw)
        self.ops.append(layer)
        return layer

    def advance(self, layer) -> None:
        self.tensor, self.ch, self.hw = layer.name, layer.out_ch, layer.out_hw

    def maxpool(self, name, kernel, stride, padding) -> None:
        pool = MaxPool(name, self.tensor, self.ch, self.hw, kernel, stride, padding)
        self.ops.append(pool)
        self.tensor, self.hw = name, pool.out_hw

    def head(self, num_classes: int) -> None:
        self.ops.append(GlobalAvgPool("avgpool", self.tensor, self.ch, self.hw))
        self.ops.append(Conv("fc", "avgpool", self.ch, num_classes, (1, 1), output_kind="logits",
                             switchable=False, kind="linear"))

    def downsample_if_needed(self, prefix, out_ch, stride):
        """1×1 strided conv for the shortcut when shape changes; returns the residual tensor name."""
        if stride == 1 and self.ch == out_ch:
            return self.tensor
        ds = self.conv(f"{prefix}.downsample", out_ch, 1, stride, output_kind="wide")
        return ds.name

    def basic_block(self, prefix, planes, stride) -> None:
        """conv3×3(stride)+ReLU, conv3×3 + residual + ReLU (torchvision BasicBlock)."""
        c1 = self.conv(f"{prefix}.conv1", planes, 3, stride, 1)
        residual = self.downsample_if_needed(prefix, planes, stride)
        self.advance(c1)
        c2 = self.conv(f"{prefix}.conv2", planes, 3, 1, 1, residual=residual)
        self.advance(c2)

    def bottleneck(self, prefix, planes, stride, expansion=4) -> None:
        """1×1, 3×3(stride), 1×1×expansion + residual + ReLU (torchvision v1.5 Bottleneck)."""
        c1 = self.conv(f"{prefix}.conv1", planes, 1)
        residual = self.downsample_if_needed(prefix, planes * expansion, stride)
        self.advance(c1)
        c2 = self.conv(f"{prefix}.conv2", planes, 3, stride, 1)
        self.advance(c2)
        c3 = self.conv(f"{prefix}.conv3", planes * expansion, 1, residual=residual)
        self.advance(c3)


def _resnet(name, in_shape, stem, stage_planes, stage_blocks, block, num_classes, maxpool) -> Network:
    c, h, _ = in_shape
    b = _Builder(c, h)
    kernel, stride, padding = stem
    b.advance(b.conv("conv1", stage_planes[0], kernel, stride, padding, switchable=False))
    if maxpool:
        b.maxpool("maxpool", 3, 2, 1)
    controller_input = b.tensor
    for stage, (planes, blocks) in enumerate(zip(stage_planes, stage_blocks)):
        for i in range(blocks):
            first_stride = 1 if stage == 0 else 2
            getattr(b, block)(f"layer{stage + 1}.{i}", planes, first_stride if i == 0 else 1)
    b.head(num_classes)
    return Network(name, in_shape, tuple(b.ops), controller_input, num_classes)


def resnet18_cifar(num_classes: int = 10) -> Network:
    """ResNet-18 for CIFAR: 32×32 input, 3×3 stem, no max pool, BasicBlocks 64/128/256/512, FC 512→10."""
    return _resnet("resnet18", (3, 32, 32), (3, 1, 1), (64, 128, 256, 512), (2, 2, 2, 2), "basic_block",
                   num_classes, maxpool=False)


def resnet50_imagenet(num_classes: int = 1000) -> Network:
    """ResNet-50 ImageNet: 224×224, 7×7/2 stem, 3×3/2 max pool, Bottlenecks 3/4/6/3, FC 2048→1000."""
    return _resnet("resnet50", (3, 224, 224), (7, 2, 3), (64, 128, 256, 512), (3, 4, 6, 3), "bottleneck",
                   num_classes, maxpool=True)


def tiny_resnet(num_classes: int = 10) -> Network:
    """A small BasicBlock net for fast tests: 3×16×16, stem, max pool, an identity and a downsample block."""
    return _resnet("tiny", (3, 16, 16), (3, 1, 1), (8, 16), (1, 1), "basic_block", num_classes, maxpool=True)


def tiny_bottleneck(num_classes: int = 10) -> Network:
    """A small Bottleneck net for fast tests: 3×16×16, two stages of one Bottleneck each."""
    return _resnet("tiny_bottleneck", (3, 16, 16), (3, 1, 1), (4, 8), (1, 1), "bottleneck", num_classes,
                   maxpool=True)


TOPOLOGIES = {
    "resnet18": resnet18_cifar,
    "resnet50": resnet50_imagenet,
    "tiny": tiny_resnet,
    "tiny_bottleneck": tiny_bottleneck,
}


def topology(name: str) -> Network:
    """Topology by name; raises ValueError naming the known ones."""
    if name not in TOPOLOGIES:
        raise ValueError(f"unknown topology {name!r}; known: {', '.join(TOPOLOGIES)}")
    return TOPOLOGIES[name]()
