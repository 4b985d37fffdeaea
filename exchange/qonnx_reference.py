"""Reference QONNX graphs shaped like a Brevitas export of a ResNet, built with onnx.helper from a golden
`Network` (golden/topologies.py, the one ResNet builder) and seeded random float weights.

Per conv / linear op of the network (docs/qonnx.md):
    weights   Quant(W, Δ_w[c], zero point 0, w_bits, signed, narrow, ROUND), Δ_w[c] = max|W[c]| / (2^(b-1) - 1)
    layer     Conv (no bias) -> BatchNormalization, or, on every other layer, Conv with the BatchNorm folded
              into W and a float bias; a residual Add; Relu; Quant(Δ_a, a_bits, unsigned, ROUND)
    downsample  Conv -> BatchNormalization (its output feeds the Add)
    head      GlobalAveragePool -> Quant(8 bits, unsigned, the input's Δ) -> Flatten -> Gemm(+ bias) = logits
    input     Quant(x, 4/127, 8 bits, signed)
He-initialized weights and BatchNorm statistics near the expected variances keep the activations of images
x ~ N(0, 1) spread over the quantizer ranges (Δ_a = 4 / (2^a_bits - 1)).
`mixed=True` gives the 4/8-bit variant: in stages 2 and 3 every block's conv1 output is 4-bit and its conv2
has 4-bit weights (layers at (b_w, b_a) = (4, 4)); the rest stays 8-bit.
"""
from __future__ import annotations

import numpy as np

from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network

INPUT_SCALE = 4.0 / 127
ACT_RANGE = 4.0
QONNX_DOMAIN = "qonnx.custom_op.general"


def _mixed_bits(network: Network) -> tuple[dict[str, int], dict[str, int]]:
    """(weight bits, output activation bits) of the 4/8 variant: 4 for `layer2/3.*.conv1` outputs and
    `layer2/3.*.conv2` weights."""
    w_bits, a_bits = {}, {}
    for layer in network.layers:
        if layer.name.startswith(("layer2.", "layer3.")):
            if layer.name.endswith(".conv1"):
                a_bits[layer.name] = 4
            if layer.name.endswith(".conv2"):
                w_bits[layer.name] = 4
    return w_bits, a_bits


class _Graph:
    def __init__(self):
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.inits = [], []

    def const(self, name: str, value) -> str:
        self.inits.append(self.numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", name: str | None = None,
             **attrs) -> str:
        """Append a node named `name` (default: its output) writing `output`; returns `output`."""
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=name or output, domain=domain, **attrs))
        return output

    def quant(self, x: str, name: str, scale, bits: int, signed: bool, narrow: bool) -> str:
        inputs = [x, self.const(f"{name}.scale", scale), self.const(f"{name}.zeropt", 0.0),
                  self.const(f"{name}.bits", float(bits))]
        return self.node("Quant", inputs, name, QONNX_DOMAIN, signed=int(signed), narrow=int(narrow),
                         rounding_mode="ROUND")


def reference_graph(network: Network, seed: int = 0, mixed: bool = False):
    """The onnx ModelProto of `network` as a QONNX graph (module docstring); batch dimension 1."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(seed)
    w_bits, a_bits = _mixed_bits(network) if mixed else ({}, {})
    g = _Graph()
    tensors = {INPUT: g.quant("x", "input.quant", INPUT_SCALE, 8, True, False)}
    for i, op in enumerate(network.ops):
        if isinstance(op, MaxPool):
            pads = [op.padding] * 4
            tensors[op.name] = g.node("MaxPool", [tensors[op.input]], f"{op.name}.out", name=op.name,
                                      kernel_shape=[op.kernel] * 2, strides=[op.stride] * 2, pads=pads)
        elif isinstance(op, GlobalAvgPool):
            pooled = g.node("GlobalAveragePool", [tensors[op.input]], f"{op.name}.mean", name=op.name)
            tensors[op.name] = g.quant(pooled, f"{op.name}.quant", ACT_RANGE / 255, 8, False, False)
        else:
            tensors[op.name] = _layer(g, rng, op, tensors, w_bits.get(op.name, 8), a_bits.get(op.name, 8),
                                      fold=i % 2 == 1)
    logits = tensors[network.ops[-1].name]
    c, h, w = network.input_shape
    graph = helper.make_graph(g.nodes, network.name, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                    [1, c, h, w])],
                              [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, network.num_classes])],
                              initializer=g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)])


def _layer(g: _Graph, rng, op: Conv, tensors: dict, w_bits: int, a_bits: int, fold: bool) -> str:
    fan_in = op.in_ch * op.kernel * op.kernel
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), op.weight_shape)
    gamma, beta = rng.uniform(0.8, 1.2, op.out_ch), rng.normal(0.0, 0.1, op.out_ch)
    mean = rng.normal(0.0, 0.1, op.out_ch)
    var = rng.uniform(0.8, 1.2, op.out_ch) * (2.0 if op.input == INPUT else 1.0)
    linear = op.kind == "linear"
    bias = None
    if fold or linear:
        g_c = gamma / np.sqrt(var + 1e-5)
        w = w * g_c.reshape(-1, *([1] * (w.ndim - 1))) if not linear else w
        bias = beta - mean * g_c if not linear else rng.normal(0.0, 0.1, op.out_ch)
    top = (1 << (w_bits - 1)) - 1
    w_scale = np.abs(w).reshape(op.out_ch, -1).max(axis=1) / top
    wq = g.quant(g.const(f"{op.name}.weight", w), f"{op.name}.weight_quant",
                 w_scale.reshape(-1, *([1] * (w.ndim - 1))), w_bits, True, True)
    inputs = [tensors[op.input], wq] + ([g.const(f"{op.name}.bias", bias)] if bias is not None else [])
    if linear:
        flat = g.node("Flatten", [tensors[op.input]], f"{op.name}.flatten", axis=1)
        return g.node("Gemm", [flat, *inputs[1:]], "logits", name=op.name, transB=1)
    y = g.node("Conv", inputs, f"{op.name}.conv", name=op.name, kernel_shape=[op.kernel] * 2,
               strides=[op.stride] * 2, pads=[op.padding] * 4)
    if not fold:
        y = g.node("BatchNormalization", [y] + [g.const(f"{op.name}.bn.{k}", v) for k, v in
                                                (("scale", gamma), ("B", beta), ("mean", mean), ("var", var))],
                   f"{op.name}.bn", epsilon=1e-5)
    if op.output_kind == "wide":
        return y
    if op.residual is not None:
        y = g.node("Add", [y, tensors[op.residual]], f"{op.name}.add")
    y = g.node("Relu", [y], f"{op.name}.relu")
    return g.quant(y, f"{op.name}.quant", ACT_RANGE / ((1 << a_bits) - 1), a_bits, False, False)
