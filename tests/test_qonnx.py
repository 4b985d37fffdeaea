"""QONNX import / export (exchange/): QONNX quantizer twin, exact import of a power-of-two graph, reference
graphs within the stated bound, exports equal to golden under qonnx's executor, errors naming the node.

qonnx is required (the bootstrap installs the [qonnx] extra): these tests fail, never skip, without it.
"""
import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper
from qonnx.custom_op.general.intquant import int_quant

from cli import cli
from exchange.qonnx_compare import check_export, compare, sample_images
from exchange.qonnx_export import _Builder, export_graph
from exchange.qonnx_import import UnsupportedGraph, import_graph
from exchange.qonnx_quant import ROUNDING_MODES, quant_codes
from exchange.qonnx_reference import reference_graph
from exchange.qonnx_runtime import QONNX_DOMAIN, QONNX_OPSET, execute_qonnx, prepare
from golden.primitives import view
from golden.spec import DEFAULT_SPEC
from golden.synthetic import synthetic_images, synthetic_model
from golden.topologies import resnet18_cifar, tiny_resnet

# The bound docs/qonnx.md states for the reference graphs (random weights, ROUND activations, m_bits 16)
TOP1_BOUND = 0.85
REL_LOGIT_ERROR_BOUND = 0.05


# ---- the QONNX quantizer twin -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ROUNDING_MODES)
@pytest.mark.parametrize("signed,narrow,bits", [(True, False, 8), (True, True, 4), (False, False, 8),
                                                (False, True, 3), (True, False, 2)])
def test_quant_codes_equal_qonnx_int_quant_on_ties(mode, signed, narrow, bits):
    scale = np.float32(0.25)
    ties = (np.arange(-300, 301, dtype=np.float32) / 2) * scale  # every half code, ties included
    noise = np.random.default_rng(0).normal(0, 40, 500).astype(np.float32) * scale
    x = np.concatenate([ties, noise])
    expected = int_quant(x, scale, np.float32(0), np.float32(bits), signed, narrow, mode) / scale
    assert np.array_equal(quant_codes(x, scale, bits, signed, narrow, mode), expected.astype(np.int64))


# ---- a hand-built graph whose every scale is a power of two: the import is exact ---------------------------
class _G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, value) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op, inputs, domain="", **attrs) -> str:
        self.n += 1
        out = f"{op.lower()}{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def quant(self, x, scale, bits, signed, narrow=False, mode="HALF_UP", zero=0.0) -> str:
        return self.node("Quant", [x, self.const(scale), self.const(zero), self.const(float(bits))], QONNX_DOMAIN,
                         signed=int(signed), narrow=int(narrow), rounding_mode=mode)

    def weight(self, rng, shape, scale, bits, code_range=20) -> str:
        codes = rng.integers(-code_range, code_range + 1, shape)
        s = np.asarray(scale, np.float32)
        return self.quant(self.const(codes * s), s, bits, True, narrow=True, mode="ROUND")

    def model(self, out: str, classes: int, shape=(1, 3, 8, 8)):
        graph = helper.make_graph(self.nodes, "pow2", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, [shape[0], classes])],
                                  initializer=self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                       helper.make_opsetid(QONNX_DOMAIN, 1)])


def pow2_graph(seed: int = 0, act_mode: str = "HALF_UP", matmul: bool = False):
    """Input (8-bit, Δ 2^-5) -> conv1 (per-channel Δ_w 2^-3 / 2^-4, bias) -> A (8-bit, 2^-3) -> conv2 -> B (4-bit,
    2^-2) -> conv3 (4-bit weights) + A -> C -> max pool -> conv4 (stride 2) + 1×1 downsample -> E -> average pool
    (Quant) -> Gemm (+ bias) -> Quant (16-bit signed, 2^-8). Every product scale divides the next master scale, so
    the golden requants round exactly where QONNX's HALF_UP Quants do (FLOOR: after a half-step bias shift,
    exact too: floor(v) = ⌊(v - 1/2) + 1/2⌋). `matmul`: the classifier as MatMul (weight (C, classes), scale per
    column) + Add(bias) instead of Gemm."""
    rng = np.random.default_rng(seed)
    g = _G()
    x = g.quant("x", 2.0 ** -5, 8, True, mode="ROUND")

    def conv(inp, w, bias=None, stride=1, pad=1, k=3):
        ins = [inp, w] + ([g.const(bias)] if bias is not None else [])
        return g.node("Conv", ins, kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4)

    w1_scale = np.where(np.arange(8) % 2, 2.0 ** -3, 2.0 ** -4).reshape(8, 1, 1, 1)
    bias1 = rng.integers(-50, 50, 8) * (w1_scale.reshape(-1) * 2.0 ** -5)
    a = g.quant(g.node("Relu", [conv(x, g.weight(rng, (8, 3, 3, 3), w1_scale, 8), bias1)]), 2.0 ** -3, 8, False,
                mode=act_mode)
    b = g.quant(g.node("Relu", [conv(a, g.weight(rng, (8, 8, 3, 3), 2.0 ** -3, 8, 6))]), 2.0 ** -2, 4, False,
                mode=act_mode)
    c3 = conv(b, g.weight(rng, (8, 8, 3, 3), 2.0 ** -2, 4, 5))
    c = g.quant(g.node("Relu", [g.node("Add", [c3, a])]), 2.0 ** -3, 8, False, mode=act_mode)
    d = g.node("MaxPool", [c], kernel_shape=[2, 2], strides=[2, 2])
    main = conv(d, g.weight(rng, (16, 8, 3, 3), 2.0 ** -3, 8, 6), stride=2)
    down = conv(d, g.weight(rng, (16, 8, 1, 1), 2.0 ** -4, 8), stride=2, pad=0, k=1)
    e = g.quant(g.node("Relu", [g.node("Add", [down, main])]), 2.0 ** -3, 8, False, mode=act_mode)
    pooled = g.quant(g.node("GlobalAveragePool", [e]), 2.0 ** -3, 8, False)
    flat = g.node("Flatten", [pooled], axis=1)
    fc_bias = rng.integers(-100, 100, 10) * 2.0 ** -8
    if matmul:
        logits = g.node("Add", [g.node("MatMul", [flat, g.weight(rng, (16, 10), np.full((1, 10), 2.0 ** -5), 8)]),
                                g.const(fc_bias)])
    else:
        logits = g.node("Gemm", [flat, g.weight(rng, (10, 16), 2.0 ** -5, 8), g.const(fc_bias)], transB=1)
    return g.model(g.quant(logits, 2.0 ** -8, 16, True, mode="HALF_UP"), 10)


@pytest.mark.parametrize("act_mode,matmul", [("HALF_UP", False), ("FLOOR", True)])
def test_import_of_a_power_of_two_graph_is_exact(act_mode, matmul):
    graph = pow2_graph(act_mode=act_mode, matmul=matmul)
    onnx.checker.check_model(graph)
    result = import_graph(graph)
    ops = result.model.network.ops
    assert [(op.kind, getattr(op, "output_kind", None)) for op in ops] == [
        ("conv", "act"), ("conv", "act"), ("conv", "act"), ("maxpool", None), ("conv", "wide"), ("conv", "act"),
        ("gap", None), ("linear", "logits")]
    assert ops[2].residual == ops[0].name and ops[5].residual == ops[4].name
    assert dict(result.plan.widths) == {ops[1].name: (8, 8), ops[2].name: (4, 4), ops[4].name: (8, 8),
                                        ops[5].name: (8, 8)}
    assert max(m.rel_error for m in result.mappings) == 0.0
    images = sample_images(result, 24, seed=3)
    agreement = compare(result, graph, images, backend="numpy")
    assert agreement.max_error == 0.0 and agreement.top1 == 1.0
    if act_mode == "HALF_UP":
        back = export_graph(result.model, result.plan, batch=4)
        assert check_export(result.model, back, result.input_codes(images[:4]), result.plan).exact


# ---- Brevitas-style reference graphs (BatchNorm separate and folded, ROUND) -----------------------------------
@pytest.mark.parametrize("mixed", [False, True])
def test_reference_tiny_within_bound_and_export_exact(mixed):
    graph = reference_graph(tiny_resnet(), seed=1, mixed=mixed)
    result = import_graph(graph)
    agreement = compare(result, graph, sample_images(result, 16, seed=0))
    assert agreement.top1 >= TOP1_BOUND and agreement.rel_error <= REL_LOGIT_ERROR_BOUND, agreement
    plan = result.plan if mixed else "uniform:2"
    back = export_graph(result.model, plan, batch=4)
    check = check_export(result.model, back, synthetic_images(result.model.network, 4, 0), plan)
    assert check.exact, check


def test_export_view_is_the_golden_view_on_every_code():
    """The exported Trunc view (Add 2^(k-1), FLOOR, clamp) equals golden.primitives.view on every master code,
    ties and saturation included."""
    for signed in (True, False):
        lo, hi = DEFAULT_SPEC.code_range(signed)
        codes = np.arange(lo, hi + 1, dtype=np.float32).reshape(1, -1)
        for bits in range(2, 8):
            b = _Builder()
            out = b.view("q", "v", 8, bits, signed)
            graph = helper.make_graph(b.nodes, "view", [helper.make_tensor_value_info("q", TensorProto.FLOAT,
                                                                                      list(codes.shape))],
                                      [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(codes.shape))],
                                      initializer=b.inits)
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                            helper.make_opsetid(QONNX_DOMAIN, QONNX_OPSET)])
            got = execute_qonnx(prepare(model), codes) / 2 ** (8 - bits)
            assert np.array_equal(got.astype(np.int64), view(codes.astype(np.int64), bits, signed, DEFAULT_SPEC))


def test_export_of_a_synthetic_model_at_mixed_widths_is_exact(tmp_path):
    model = synthetic_model("tiny")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"default": [3, 5], "layer1.0.conv2": 2}))
    codes = synthetic_images(model.network, 3, 1)
    back = export_graph(model, str(plan), batch=3)
    assert check_export(model, back, codes, str(plan)).exact


# ---- errors name the node and the attribute ---------------------------------------------------------------
def _edit(graph, which: str, **attrs):
    """A copy of `graph` with attributes of the first node whose op type or name is `which` set."""
    graph = onnx.ModelProto.FromString(graph.SerializeToString())
    node = next(n for n in graph.graph.node if which in (n.op_type, n.name))
    for key, value in attrs.items():
        for a in list(node.attribute):
            if a.name == key:
                node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(key, value))
    return graph


def test_unsupported_graphs_name_node_and_attribute():
    graph = reference_graph(tiny_resnet(), seed=0)
    with pytest.raises(UnsupportedGraph, match=r"node conv1 \(Conv\): attribute group=2"):
        import_graph(_edit(graph, "Conv", group=2))
    with pytest.raises(UnsupportedGraph, match=r"node input.quant \(Quant\): attribute signed=0"):
        import_graph(_edit(graph, "Quant", signed=0))
    with pytest.raises(UnsupportedGraph, match=r"node conv1.quant \(Quant\): attribute narrow=1"):
        import_graph(_edit(graph, "conv1.quant", narrow=1))
    with pytest.raises(UnsupportedGraph, match=r"node avgpool.quant \(Quant\): attribute rounding_mode=FLOOR"):
        import_graph(_edit(graph, "avgpool.quant", rounding_mode="FLOOR"))
    with pytest.raises(UnsupportedGraph, match=r"node maxpool \(MaxPool\): attributes ceil_mode"):
        import_graph(_edit(graph, "MaxPool", ceil_mode=1))
    sigmoid = _edit(graph, "Relu")
    next(n for n in sigmoid.graph.node if n.op_type == "Relu").op_type = "Sigmoid"
    with pytest.raises(UnsupportedGraph, match=r"node conv1.relu \(Sigmoid\): op type is outside the supported"):
        import_graph(sigmoid)
    shared = onnx.ModelProto.FromString(graph.SerializeToString())  # conv1's BatchNorm output also feeds a Relu
    shared.graph.node.append(helper.make_node("Relu", ["conv1.bn"], ["extra"], name="extra"))
    with pytest.raises(UnsupportedGraph, match=r"node conv1.relu \(Relu\): input 0 'conv1.bn' .* feeds 2 nodes"):
        import_graph(shared)
    zero = onnx.ModelProto.FromString(graph.SerializeToString())
    for init in zero.graph.initializer:
        if init.name == "conv1.weight_quant.zeropt":
            init.CopyFrom(numpy_helper.from_array(np.array(1.0, np.float32), init.name))
    with pytest.raises(UnsupportedGraph, match=r"node conv1.weight_quant \(Quant\): input 2 \(zero point\) must be 0"):
        import_graph(zero)


def test_negative_batchnorm_scale_names_the_node():
    graph = onnx.ModelProto.FromString(reference_graph(tiny_resnet(), seed=0).SerializeToString())
    for init in graph.graph.initializer:
        if init.name == "conv1.bn.scale":
            values = numpy_helper.to_array(init).copy()
            values[3] = -values[3]
            init.CopyFrom(numpy_helper.from_array(values, init.name))
    with pytest.raises(UnsupportedGraph, match=r"node conv1.bn \(BatchNormalization\): input 1 \(scale\)"):
        import_graph(graph)


# ---- the commands -----------------------------------------------------------------------------------------
def test_commands_round_trip(tmp_path):
    runner = CliRunner()
    onnx_path, model_path, plan_path = tmp_path / "ref.onnx", tmp_path / "ref.dqt", tmp_path / "plan.json"
    r = runner.invoke(cli, ["qonnx-reference", "--model", "tiny", "--mixed", "-o", str(onnx_path)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["import-qonnx", str(onnx_path), "-o", str(model_path), "--plan-out", str(plan_path),
                            "--compare", "8"])
    assert r.exit_code == 0, r.output
    assert "max relative error of m / 2^s" in r.output and "top-1 agreement" in r.output
    assert json.loads(plan_path.read_text())["layer2.0.conv2"] == [4, 4]
    r = runner.invoke(cli, ["export-qonnx", str(model_path), "--plan", str(plan_path), "-o",
                            str(tmp_path / "back.onnx"), "--check", "2"])
    assert r.exit_code == 0, r.output
    assert "logits equal to the golden logits" in r.output


def test_import_command_rejects_a_garbled_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not an onnx file")
    r = CliRunner().invoke(cli, ["import-qonnx", str(bad), "-o", str(tmp_path / "m.dqt")])
    assert r.exit_code != 0 and "not a readable ONNX file" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "m.dqt").exists()


# ---- ResNet-18 (slow) -------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mixed", [False, True])
def test_resnet18_import_sim_and_exact_export(mixed, tmp_path):
    graph = reference_graph(resnet18_cifar(), seed=0, mixed=mixed)
    result = import_graph(graph)
    agreement = compare(result, graph, sample_images(result, 32, seed=1))
    assert agreement.top1 >= TOP1_BOUND and agreement.rel_error <= REL_LOGIT_ERROR_BOUND, agreement
    back = export_graph(result.model, result.plan, batch=2)
    check = check_export(result.model, back, synthetic_images(result.model.network, 2, 0), result.plan)
    assert check.exact, check
    from golden.model_file import save_model
    save_model(result.model, tmp_path / "r18.dqt")
    (tmp_path / "plan.json").write_text(json.dumps({k: list(v) for k, v in result.plan.widths.items()}))
    r = CliRunner().invoke(cli, ["sim", "--model", str(tmp_path / "r18.dqt"), "--plan", str(tmp_path / "plan.json"),
                                 "--out", str(tmp_path / "sim")])
    assert r.exit_code == 0, r.output
