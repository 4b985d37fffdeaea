"""Initial steps of a `NestedNet` from float statistics (post-training calibration, and QAT's starting point).

A float forward of the BN-folded network (no quantization) records every tensor; then
    Δ_input    = max |x| / (2^(N−1) − 1)                           signed input codes
    Δ_w[c]     = max |W[c]| / (2^(N−1) − 1)                        per output channel
    Δ_act      = P_p(act) / (2^N − 1)                              ReLU outputs and pools, percentile p
    Δ_logits   = max(HEADROOM · max |logits|, MIN_LOGIT_RANGE) / (2^(logit_bits−1) − 1)
The floor on the logit range matters for the controller: its logits are tiny at initialization and grow in
training; saturated logits would tie at the clamp and argmax would pick the narrowest width.
The controller is calibrated the same way on the controller-input activations.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool

from .nested import NestedNet, QSequential

LOGIT_HEADROOM = 4.0
MIN_LOGIT_RANGE = 32.0   # float logits of at least ±32 fit (softmax is saturated long before)
MIN_STAT = 1e-6          # floor for a statistic of an all-zero tensor or channel
SAMPLE = 1 << 20         # percentile from at most this many elements


def _percentile(x: torch.Tensor, p: float) -> float:
    flat = x.detach().flatten().double()
    if flat.numel() > SAMPLE:
        idx = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:SAMPLE]
        flat = flat[idx]
    return max(float(torch.quantile(flat, p / 100.0)), MIN_STAT)


def _float_op(seq: QSequential, op, tensors: dict) -> torch.Tensor:
    """The float meaning of one op: conv + bias (+ residual, ReLU) / max pool / mean."""
    x = tensors[op.input]
    if isinstance(op, MaxPool):
        return F.max_pool2d(x, op.kernel, op.stride, op.padding)
    if isinstance(op, GlobalAvgPool):
        return x.mean(dim=(2, 3), keepdim=True)
    conv = seq.conv(op.name)
    w, b = conv.weight.double(), conv.bias.double()
    if op.kind == "linear":
        y = F.linear(x.flatten(1), w, b)[:, :, None, None]
    else:
        y = F.conv2d(x, w, b, stride=op.stride, padding=op.padding)
    if op.residual is not None:
        y = y + tensors[op.residual]
    return torch.relu(y) if op.output_kind == "act" else y


@torch.no_grad()
def calibrate_sequential(seq: QSequential, x: torch.Tensor, percentile: float) -> dict[str, torch.Tensor]:
    """Set the steps of every layer / pool of `seq` from a float forward of x; returns the float tensors."""
    spec = seq.spec
    w_max = (1 << (spec.n_bits - 1)) - 1
    a_max = (1 << spec.n_bits) - 1
    l_max = spec.logit_range[1]
    tensors = {INPUT: x.double()}
    for op in seq.network.ops:
        y = _float_op(seq, op, tensors)
        tensors[op.name] = y
        if isinstance(op, Conv):
            conv = seq.conv(op.name)
            per_channel = conv.weight.detach().abs().flatten(1).amax(dim=1).double().clamp_min(MIN_STAT)
            conv.log_w_step.copy_(torch.log(per_channel / w_max))
            if op.output_kind == "act":
                conv.log_out_step.fill_(float(torch.log(torch.tensor(_percentile(y, percentile) / a_max))))
            elif op.output_kind == "logits":
                top = max(LOGIT_HEADROOM * float(y.abs().max()), MIN_LOGIT_RANGE)
                conv.log_out_step.fill_(float(torch.log(torch.tensor(top / l_max))))
        elif isinstance(op, GlobalAvgPool):
            seq.gap(op.name).log_out_step.fill_(float(torch.log(torch.tensor(_percentile(y, percentile) / a_max))))
    return tensors


@torch.no_grad()
def calibrate(net: NestedNet, images: torch.Tensor, percentile: float = 99.99) -> None:
    """Set the input step and every learned step of `net` (and its controller) from float images."""
    spec = net.spec
    net.input_step.fill_(max(float(images.abs().max()), MIN_STAT) / ((1 << (spec.n_bits - 1)) - 1))
    tensors = calibrate_sequential(net.backbone, images, percentile)
    if net.controller is not None:
        calibrate_sequential(net.controller, tensors[net.network.controller_input], percentile)
