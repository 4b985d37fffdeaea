"""Export parity: the exported golden model computes exactly what the PyTorch model computes.

Three implementations on the same images, compared with exact equality at every static width, a mixed
(b_w != b_a) plan and in dynamic mode:
    fake-quant    the float64 PyTorch fake-quant forward (train/export.evaluation_copy)
    emulation     the int64 PyTorch integer emulation of the exported integers (train/int_emulation.py)
    golden        golden.inference.infer on the model file written by the exporter (numpy and numba)
"""
import numpy as np
import pytest
import torch

from golden.inference import infer
from golden.model_file import load_model
from golden.plan import plan_from_mapping
from train.arch import ResNetArch, arch
from train.calibrate import calibrate
from train.data import load_digits
from train.dqt import DQTConfig, train_dqt, uniform_widths
from train.evaluate import evaluate, fakequant_logits, input_codes
from train.export import evaluation_copy, export_model_file
from train.fold import fold_resnet
from train.int_emulation import IntegerEmulator
from train.nested import NestedNet, hard_gates
from train.resnet import ResNet
from golden.spec import DEFAULT_SPEC

TINY_BOTTLENECK = ResNetArch("tiny_bottleneck", (3, 16, 16), (3, 1, 1), True, (4, 8), (1, 1), "bottleneck", 10)


@pytest.fixture(scope="module")
def digits_trained(tmp_path_factory):
    """A digits net after float init, calibration and one short DQT epoch, exported to a model file."""
    torch.manual_seed(0)
    data = load_digits()
    a = arch("digits")
    net_ir = a.network()
    net = NestedNet(net_ir, DEFAULT_SPEC, fold_resnet(ResNet(a).eval(), net_ir), 1.0, seed=0)
    calibrate(net, data.train.images[:256])
    train_dqt(net, data.train.take(256), DQTConfig(epochs=1, batch_size=64))
    path = tmp_path_factory.mktemp("parity") / "digits.safetensors"
    export_model_file(net, path)
    return net, load_model(path), data.test.take(120)


def _mixed_plan(net):
    rng = np.random.default_rng(1)
    return {layer.name: (int(rng.choice([2, 4, 6, 8])), int(rng.choice([2, 3, 5, 8]))) for layer in net.switchable}


def test_static_widths_and_mixed_plan_are_bit_exact(digits_trained):
    net, model, split = digits_trained
    net64 = evaluation_copy(net)
    codes = input_codes(net, split)
    images = codes.to(torch.int64).numpy()
    emu = IntegerEmulator(model)
    plans = [uniform_widths(net, b) for b in (2, 3, 4, 6, 8)] + [_mixed_plan(net)]
    for widths in plans:
        plan = plan_from_mapping("test", widths, model.network, model.spec)
        fq = net64(codes, widths=widths).codes.to(torch.int64).numpy()
        em = emu.run(images, widths=widths).logits.numpy()
        for backend in ("numpy", "numba"):
            g = infer(model, images, plan=plan, backend=backend).logits
            assert np.array_equal(g, em), (widths, backend)
        assert np.array_equal(fq, em), widths


def test_dynamic_mode_is_bit_exact_with_the_same_choices(digits_trained):
    net, model, split = digits_trained
    net64 = evaluation_copy(net)
    codes = input_codes(net, split)
    images = codes.to(torch.int64).numpy()
    fq = net64(codes, gates=hard_gates)
    em = IntegerEmulator(model).run(images, dynamic=True)
    g = infer(model, images, dynamic=True, backend="numba")
    assert np.array_equal(fq.codes.to(torch.int64).numpy(), em.logits.numpy())
    assert np.array_equal(em.logits.numpy(), g.logits)
    cands = model.spec.candidates
    chosen = [{layer.name: (cands[k], cands[k]) for layer, k in zip(net.switchable, row)}
              for row in em.choices.tolist()]
    assert chosen == [{k: v for k, v in w.items() if k in chosen[0]} for w in g.widths]
    assert torch.equal(torch.argmax(fq.gates, -1), em.choices)


def test_accuracy_within_half_a_point_at_every_width_and_dynamic(digits_trained):
    net, model, split = digits_trained
    points = evaluate(net, model, split, (2, 4, 6, 8), backend="numba")
    assert [p.mode for p in points] == ["static:2", "static:4", "static:6", "static:8", "dynamic"]
    for p in points:
        assert abs(p.fakequant_acc - p.golden_acc) <= 0.5, p
        assert p.logits_equal == 1.0 and p.emulation_equal == 1.0, p
    assert points[-1].controller_macs == model.controller.network.macs


def test_bottleneck_with_maxpool_is_bit_exact(tmp_path):
    """Bottleneck blocks, a stem max pool and a 1-image batch, on random calibrated weights."""
    torch.manual_seed(3)
    net_ir = TINY_BOTTLENECK.network()
    net = NestedNet(net_ir, DEFAULT_SPEC, fold_resnet(ResNet(TINY_BOTTLENECK).eval(), net_ir), 1.0, seed=3)
    images = torch.randn(9, 3, 16, 16) * torch.linspace(0.2, 3.0, 9)[:, None, None, None]
    with torch.no_grad():  # a sharper random controller, so that images differ in their choices
        net.controller.conv("fc1").bias.normal_(0.0, 0.5)
    calibrate(net, images)
    model = export_model_file(net, tmp_path / "tb.safetensors")
    codes = evaluation_copy(net).input_codes(images)
    ints = codes.to(torch.int64).numpy()
    for bits in (2, 5, 8):
        fq = fakequant_logits(evaluation_copy(net), codes, bits).numpy()
        assert np.array_equal(fq, infer(model, ints, plan=f"uniform:{bits}", backend="numpy").logits)
    dyn = fakequant_logits(evaluation_copy(net), codes, None).numpy()
    golden = infer(model, ints, dynamic=True, backend="numpy")
    assert np.array_equal(dyn, golden.logits)
    assert len({tuple(sorted(w.items())) for w in golden.widths}) > 1  # per-image choices, several groups
    assert np.array_equal(dyn[:1], infer(model, ints[:1], dynamic=True, backend="numpy").logits)
