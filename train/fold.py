"""Fold every BatchNorm of a float `ResNet` into the conv before it, per golden IR layer name.

    w'[c] = w[c] · γ[c] / sqrt(σ²[c] + ε)
    b'[c] = β[c] − μ[c] · γ[c] / sqrt(σ²[c] + ε)

IR layer `conv1` ← modules conv1 + bn1; `layerX.Y.convZ` ← layerX.Y.convZ + layerX.Y.bnZ;
`layerX.Y.downsample` ← layerX.Y.downsample.0 + .1; `fc` ← fc (no BatchNorm). Computed in float64.
"""
from __future__ import annotations

import torch
from torch import nn

from golden.ir import Network

from .resnet import ResNet

FoldedParams = dict[str, tuple[torch.Tensor, torch.Tensor]]


def _modules_of(layer_name: str) -> tuple[str, str | None]:
    """(conv module name, BatchNorm module name or None) of an IR layer."""
    if layer_name == "fc":
        return "fc", None
    if layer_name.endswith(".downsample"):
        return f"{layer_name}.0", f"{layer_name}.1"
    head, _, conv = layer_name.rpartition(".")
    bn = conv.replace("conv", "bn")
    return layer_name, f"{head}.{bn}" if head else bn


def fold_bn(conv: nn.Module, bn: nn.BatchNorm2d | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Folded (weight, bias) in float64 (formula in the module docstring)."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is None:
        return w.clone(), b.clone()
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    w = w * scale.reshape(-1, *([1] * (w.dim() - 1)))
    b = bn.bias.detach().double() + (b - bn.running_mean.detach().double()) * scale
    return w, b


def fold_resnet(model: ResNet, network: Network) -> FoldedParams:
    """Folded float64 (weight, bias) of every conv/linear of `network`, keyed by IR layer name."""
    modules = dict(model.named_modules())
    folded = {}
    for layer in network.layers:
        conv_name, bn_name = _modules_of(layer.name)
        if conv_name not in modules or (bn_name is not None and bn_name not in modules):
            raise ValueError(f"layer {layer.name}: float model has no module {conv_name!r} / {bn_name!r}")
        w, b = fold_bn(modules[conv_name], modules[bn_name] if bn_name else None)
        if tuple(w.shape) != layer.weight_shape:
            raise ValueError(f"layer {layer.name}: folded weight shape {tuple(w.shape)} != {layer.weight_shape}")
        folded[layer.name] = (w, b)
    return folded
