"""train/dqt.py, nested.py: controller gates, cost terms, the joint loss, and the train CLI end to end."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import cli
from golden.model_file import load_model
from golden.spec import DEFAULT_SPEC
from train.arch import arch
from train.calibrate import calibrate
from train.dqt import DQTConfig, choice_cost, dqt_loss, uniform_widths
from train.fold import fold_resnet
from train.nested import NestedNet, gumbel_gates, hard_gates
from train.resnet import ResNet


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    a = arch("digits")
    ir = a.network()
    n = NestedNet(ir, DEFAULT_SPEC, fold_resnet(ResNet(a).eval(), ir), 1 / 127, seed=0)
    calibrate(n, torch.rand(32, 1, 8, 8) * 2 - 1)
    return n


def _one_hot(net, k):
    g = torch.zeros(3, len(net.switchable), len(DEFAULT_SPEC.candidates))
    g[..., k] = 1.0
    return g


def test_cost_of_uniform_choices(net):
    # candidates (2, 4, 6, 8): all-4 costs (4/8)^2 of the BitOPs and 4/8 of the bits
    assert float(choice_cost(net, _one_hot(net, 1), "bitops")) == pytest.approx(0.25)
    assert float(choice_cost(net, _one_hot(net, 3), "bitops")) == pytest.approx(1.0)
    assert float(choice_cost(net, _one_hot(net, 1), "bits")) == pytest.approx(0.5)


def test_hard_gates_break_ties_to_the_narrowest_width():
    logits = torch.tensor([[[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]]])
    assert torch.argmax(hard_gates(logits), -1).tolist() == [[1, 0]]


def test_gumbel_gates_are_one_hot_forward_with_soft_gradient():
    logits = torch.randn(5, 3, 4, requires_grad=True)
    g = gumbel_gates(1.0, 1.0, torch.Generator().manual_seed(0))(logits)
    assert torch.equal(g.sum(-1), torch.ones(5, 3)) and set(g.detach().flatten().tolist()) <= {0.0, 1.0}
    (g * torch.arange(4.0)).sum().backward()
    assert logits.grad.abs().sum() > 0
    assert torch.equal(gumbel_gates(1.0, 0.0)(logits), hard_gates(logits))  # no noise: the inference argmax


def test_joint_loss_has_every_term_and_reaches_every_parameter(net):
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    y = torch.arange(8) % 10
    cfg = DQTConfig(alpha=0.5, beta=3.0)
    loss, parts = dqt_loss(net, net.input_codes(x), y, cfg, 1.0, 1.0, torch.Generator().manual_seed(0))
    assert parts["loss"] == pytest.approx(parts["task"] + 0.5 * parts["static"] + 3.0 * parts["cost"], rel=1e-5)
    net.zero_grad()
    loss.backward()
    stem = net.backbone.conv("conv1")
    for p in (stem.weight, stem.log_w_step, stem.log_out_step, net.controller.conv("fc2").weight,
              net.backbone.conv("layer2.0.downsample").weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_static_widths_change_only_the_views(net):
    """A width switch keeps every multiplier, shift and bias: only the views and the align shift change.
    Each width gets its own cache, so the integers are computed afresh for each."""
    codes = net.input_codes(torch.rand(2, 1, 8, 8))
    caches = {8: {}, 2: {}}
    for bits, cache in caches.items():
        net(codes, widths=uniform_widths(net, bits), cache=cache)

    def integers(p):
        mul = p.multipliers
        req = None if mul is None else (mul.m.tolist(), None if mul.m_r is None else mul.m_r.tolist(), mul.shift)
        return req, p.bias.flatten().tolist()

    assert set(caches[8]) == {layer.name for layer in net.network.layers}
    assert {k: integers(p) for k, p in caches[8].items()} == {k: integers(p) for k, p in caches[2].items()}


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="static_widths"):
        DQTConfig(static_widths=(1, 4)).validate(DEFAULT_SPEC)
    with pytest.raises(ValueError, match="cost"):
        DQTConfig(cost="flops").validate(DEFAULT_SPEC)
    with pytest.raises(ValueError, match="controller_lr"):
        DQTConfig(controller_lr=0.0).validate(DEFAULT_SPEC)
    with pytest.raises(ValueError, match="cost_target"):
        DQTConfig(cost_target=1.5).validate(DEFAULT_SPEC)


def test_missing_layer_width_names_the_layer(net):
    widths = uniform_widths(net, 4)
    dropped = next(iter(widths))
    del widths[dropped]
    with pytest.raises(ValueError, match=dropped.replace(".", r"\.")):
        net(net.input_codes(torch.rand(1, 1, 8, 8)), widths=widths)


def test_train_cli_on_digits_writes_model_table_and_plot(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["train", "--dataset", "digits", "--out", str(out), "--max-train", "128",
                                 "--float-epochs", "1", "--epochs", "1", "--batch-size", "64"])
    assert r.exit_code == 0, r.output
    for mode in ("static:2", "static:4", "static:6", "static:8", "dynamic"):
        assert mode in r.output
    assert "float: 100%" in r.output and "DQT: 100%" in r.output  # the epochs' bars (stderr) with time left
    for name in ("model.safetensors", "results.json", "results.csv", "accuracy_vs_bitops.png", "test_images.npy"):
        assert (out / name).is_file(), name
    res = json.loads((out / "results.json").read_text())
    assert [(p["logits_equal"], p["emulation_equal"]) for p in res["points"]] == [(1.0, 1.0)] * 5
    static = {p["mode"]: p["bitops"] for p in res["points"]}
    assert static["static:2"] < static["static:4"] < static["static:6"] < static["static:8"]
    sim = CliRunner().invoke(cli, ["sim", "--model", str(out / "model.safetensors"), "--dynamic", "--input",
                                   str(out / "test_images.npy"), "--out", str(tmp_path / "sim")])
    assert sim.exit_code == 0, sim.output
    logits = np.load(tmp_path / "sim" / "logits.npy")
    assert logits.shape == (360, 10)


def test_train_cli_on_cifar10_binary_batches_with_custom_candidates(tmp_path):
    """`train --dataset cifar10 --data DIR` on tiny binary batch files (the small digits-style ResNet, resized to
    3×32×32), with controller candidates (2, 5, 8) that the model file then carries; batch size 1 (float pre-training takes
    half of it, at least 1)."""
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        records = np.concatenate([rng.integers(0, 10, (4, 1)), rng.integers(0, 256, (4, 3072))], axis=1)
        records.astype(np.uint8).tofile(tmp_path / f"{name}.bin")
    out = tmp_path / "cifar"
    r = CliRunner().invoke(cli, ["train", "--dataset", "cifar10", "--data", str(tmp_path), "--arch", "digits",
                                 "--out", str(out), "--float-epochs", "1", "--epochs", "1", "--widths", "2,8",
                                 "--candidates", "2,5,8", "--backend", "numpy", "--batch-size", "1"])
    assert r.exit_code == 0, r.output
    assert "20 train / 4 test images" in r.output and "static:8" in r.output and "static:4" not in r.output
    model = load_model(out / "model.safetensors")
    assert model.spec.candidates == (2, 5, 8) and model.network.input_shape == (3, 32, 32)
    assert model.controller.network.num_classes == 3 * len(model.network.switchable_layers)


def test_calibrated_logit_ranges_leave_room_for_the_controller(net):
    """A fresh controller's logits are tiny; their range is floored (train.calibrate.MIN_LOGIT_RANGE) so that
    trained logits do not saturate and tie at the clamp (argmax would then pick the narrowest width)."""
    from train.calibrate import MIN_LOGIT_RANGE
    top = DEFAULT_SPEC.logit_range[1]
    assert float(net.controller.conv("fc2").out_step.detach()) * top == pytest.approx(MIN_LOGIT_RANGE, rel=1e-6)
    assert float(net.backbone.conv("fc").out_step.detach()) * top >= MIN_LOGIT_RANGE * (1 - 1e-6)
