"""Export a trained `NestedNet` to a golden `NestedModel` (and a model file).

The integers are read from the very functions the fake-quant forward uses (QConv.weight_codes, bias_codes,
multipliers; QGap.multiplier) on a float64 copy of the network, so the exported model computes, in
integer arithmetic, what `evaluation_copy(net)` computes in float64 — bit for bit.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from golden.ir import INPUT, GlobalAvgPool
from golden.model import BIAS_DTYPE, ConvParams, GapParams, NestedModel, code_dtype
from golden.model_file import save_model

from .nested import NestedNet, QSequential


def evaluation_copy(net: NestedNet) -> NestedNet:
    """A float64 copy of `net` in eval mode: its forward is the exact integer model (module docstring of
    train/quant.py)."""
    return copy.deepcopy(net).double().eval()


def _ints(t: torch.Tensor, dtype) -> np.ndarray:
    """An integer-valued float tensor as a numpy array of `dtype` (exact: the values are integers)."""
    a = t.detach().to(torch.int64).cpu().numpy()
    if not np.array_equal(a, t.detach().cpu().numpy()):
        raise ValueError("internal: exported codes are not integers")
    return a.astype(dtype)


@torch.no_grad()
def export_sequential(seq: QSequential, input_step: torch.Tensor, input_signed: bool,
                      controller: NestedModel | None = None) -> NestedModel:
    """The golden model of one `QSequential` (backbone or controller) whose input has step `input_step`."""
    spec = seq.spec
    steps = seq.tensor_steps(input_step)
    layers = {}
    for layer in seq.network.layers:
        conv = seq.conv(layer.name)
        in_step = steps[layer.input]
        m = m_r = shift = None
        if layer.output_kind != "wide":
            mul = conv.multipliers(in_step, steps[layer.residual] if layer.residual is not None else None)
            m, m_r, shift = mul.m, mul.m_r, mul.shift
        layers[layer.name] = ConvParams(_ints(conv.weight_codes(), code_dtype(spec)),
                                        _ints(conv.bias_codes(in_step), BIAS_DTYPE), m, shift, m_r,
                                        conv.w_step.detach().double().cpu().numpy())
    pools = {}
    for op in seq.network.ops:
        if isinstance(op, GlobalAvgPool):
            m, s, _ = seq.gap(op.name).multiplier(steps[op.input])
            pools[op.name] = GapParams(m, s)
    scales = {name: float(step) for name, step in steps.items()
              if name == INPUT or getattr(seq.network.op(name), "output_kind", "act") != "wide"}
    return NestedModel(seq.network, spec, layers, pools, scales, input_signed, controller)


def export_model(net: NestedNet) -> NestedModel:
    """The golden model of `net` (backbone + controller), computed on a float64 copy."""
    net64 = evaluation_copy(net)
    controller = None
    if net64.controller is not None:
        steps = net64.backbone.tensor_steps(net64.input_step)
        controller = export_sequential(net64.controller, steps[net64.network.controller_input], False)
    return export_sequential(net64.backbone, net64.input_step, True, controller)


def export_model_file(net: NestedNet, path) -> NestedModel:
    """Export `net` and write it with golden.model_file.save_model (validated, bounds proven, atomic)."""
    model = export_model(net)
    save_model(model, path)
    return model
