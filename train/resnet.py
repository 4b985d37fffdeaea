"""Float PyTorch ResNet with torchvision's module names and state_dict layout (torchvision itself is not a
dependency): conv1, bn1, layerX.Y.{conv1,bn1,conv2,bn2[,conv3,bn3]}, layerX.Y.downsample.{0,1}, fc.

Used for float pre-training (with BatchNorm) and for importing float checkpoints; train/fold.py folds the
BatchNorms away before quantization.
"""
from __future__ import annotations

import torch
from torch import nn

from .arch import MAXPOOL, ResNetArch


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), shortcut = x or downsample(x)."""

    def __init__(self, in_ch: int, planes: int, stride: int, out_ch: int):
        super().__init__()
        self.conv1, self.bn1 = _conv(in_ch, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = _conv(planes, out_ch, 3), nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=False)
        self.downsample = _downsample(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """torchvision v1.5 Bottleneck: 1×1, 3×3 (stride), 1×1 (×4) + shortcut, ReLU."""

    def __init__(self, in_ch: int, planes: int, stride: int, out_ch: int):
        super().__init__()
        self.conv1, self.bn1 = _conv(in_ch, planes, 1), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = _conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = _conv(planes, out_ch, 1), nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=False)
        self.downsample = _downsample(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


def _downsample(in_ch: int, out_ch: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(_conv(in_ch, out_ch, 1, stride), nn.BatchNorm2d(out_ch))


class ResNet(nn.Module):
    """A `ResNetArch` as a float module (stem conv has the arch's own padding, as torchvision's 7×7/2/3)."""

    def __init__(self, arch: ResNetArch):
        super().__init__()
        self.arch = arch
        kernel, stride, padding = arch.stem
        self.conv1 = nn.Conv2d(arch.input_shape[0], arch.planes[0], kernel, stride, padding, bias=False)
        self.bn1 = nn.BatchNorm2d(arch.planes[0])
        self.relu = nn.ReLU(inplace=False)
        self.maxpool = nn.MaxPool2d(*MAXPOOL) if arch.maxpool else nn.Identity()
        block = BasicBlock if arch.block == "basic" else Bottleneck
        in_ch = arch.planes[0]
        for stage, (planes, blocks, stride) in enumerate(zip(arch.planes, arch.blocks, arch.stage_strides())):
            layers = []
            for i in range(blocks):
                out_ch = planes * arch.expansion
                layers.append(block(in_ch, planes, stride if i == 0 else 1, out_ch))
                in_ch = out_ch
            self.add_module(f"layer{stage + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, arch.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's init: Kaiming-normal convs, BN γ=1 β=0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(len(self.arch.planes))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))
