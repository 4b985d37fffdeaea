"""The Pareto study's parts: graded benchmark (train/graded.py), bootstrap CIs, greedy plan search, budgeted
controller training, thread settings, the train-bench CLI's option errors; the whole study at toy size (slow)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import cli
from golden.inference import infer
from golden.model_file import load_model
from golden.plan import plan_from_mapping
from golden.spec import DEFAULT_SPEC
from train.arch import arch
from train.bench import export_static_point
from train.bootstrap import accuracy_ci, difference_ci, resample_index
from train.calibrate import calibrate
from train.controller_fit import BudgetConfig, dual_step, train_controller
from train.controller_imitate import ImitationConfig, imitate_widths, width_targets
from train.data import Split
from train.dqt import image_costs
from train.evaluate import input_codes
from train.export import export_model_file
from train.float_train import FloatConfig, train_float
from train.fold import fold_resnet
from train.graded import KINDS, LEVELS, build_graded, corrupt, upsample
from train.headroom import apply_level_allocation, level_allocation, per_image_oracle, severity_predictability
from train.nested import NestedNet, hard_gates
from train.plan_search import best_under, greedy_plans, plan_bitops
from train.resnet import ResNet

CLI = Path(__file__).resolve().parents[1] / "cli.py"


@pytest.fixture(scope="module")
def small():
    return build_graded(draws={"train": 1, "val": 1, "test": 1})


def test_graded_splits_are_disjoint_deterministic_and_graded(small):
    assert (len(small.train), len(small.val), len(small.test)) == (1077, 270, 450)
    bases = [set(s.base.tolist()) for s in (small.train, small.val, small.test)]
    assert not (bases[0] & bases[1] or bases[0] & bases[2] or bases[1] & bases[2])
    assert sum(map(len, bases)) == 1797
    assert small.test.split.images.shape[1:] == (1, 16, 16)
    again = build_graded(draws={"train": 1, "val": 1, "test": 1})
    assert torch.equal(again.test.split.images, small.test.split.images)
    assert set(small.test.level.tolist()) == set(range(LEVELS + 1))
    assert set(small.test.kind.tolist()) == set(range(len(KINDS)))
    from sklearn.datasets import load_digits
    clean = upsample((load_digits().images.astype(np.float32) / 8 - 1)[:, None])
    zero = small.test.level == 0
    assert np.array_equal(small.test.split.images.numpy()[zero], clean[small.test.base[zero]])
    assert float(small.test.split.images.abs().max()) <= 1.0


def test_more_draws_give_a_test_split_of_at_least_1000_images():
    b = build_graded(draws={"train": 1, "val": 1})
    assert len(b.test) == 1350 and len(set(b.test.base.tolist())) == 450


@pytest.mark.parametrize("kind", KINDS)
def test_each_corruption_grows_with_strength(kind):
    x = upsample((np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32) * 2 - 1))[0, 0]
    assert np.array_equal(corrupt(x, kind, 0.0, np.random.default_rng(1)), x)
    d = [np.abs(corrupt(x, kind, s, np.random.default_rng(1)) - x).mean() for s in (0.2, 1.0)]
    assert 0 < d[0] < d[1]


def test_corrupt_rejects_bad_input():
    x = np.zeros((16, 16), np.float32)
    with pytest.raises(ValueError, match="unknown corruption kind 'fog'"):
        corrupt(x, "fog", 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="strength must be in"):
        corrupt(x, "noise", 1.5, np.random.default_rng(0))


def test_bootstrap_intervals():
    correct = np.array([1] * 90 + [0] * 10)
    index = resample_index(100, 500, seed=1)
    low, high = accuracy_ci(correct, index)
    assert low < 90 < high and 80 < low and high < 97
    assert accuracy_ci(np.ones(100), index) == (100.0, 100.0)
    assert difference_ci(correct, correct, index) == (0.0, 0.0)
    better = correct.copy()
    better[90:] = 1                                   # a paired +10 points: the CI excludes 0
    assert difference_ci(better, correct, index)[0] > 0
    with pytest.raises(ValueError, match="n >= 1"):
        resample_index(0)


def test_greedy_lowers_the_least_sensitive_layer_first():
    macs = {"a": 100, "b": 100, "c": 400}
    sens = {"a": 10.0, "b": 0.1, "c": 1.0}

    def evaluate(widths):
        loss = sum(sens[n] / (b * b) for n, (b, _) in widths.items())
        return loss, 100.0 - loss

    path = greedy_plans(macs, (2, 4, 6, 8), evaluate)
    assert len(path) == 3 * 3 + 1
    assert path[0].widths == {n: (8, 8) for n in macs} and path[-1].widths == {n: (2, 2) for n in macs}
    assert path[1].widths["b"] == (6, 6)               # cheapest loss per BitOP saved
    assert all(p.bitops > q.bitops for p, q in zip(path, path[1:]))
    assert path[0].bitops == plan_bitops(path[0].widths, macs) == 600 * 64
    chosen = best_under(path, path[4].bitops)
    assert chosen.bitops <= path[4].bitops and chosen.val_acc == max(p.val_acc for p in path[4:])
    assert best_under(path, 1.0) is None


def test_dual_step_tracks_the_budget():
    assert dual_step(1.0, 0.3, 0.2, 0.1) == pytest.approx(1.05)
    assert dual_step(1.0, 0.1, 0.2, 0.1) == pytest.approx(0.95)
    assert dual_step(0.01, 0.0, 0.2, 1.0) == 0.0
    with pytest.raises(ValueError, match="target must be in"):
        BudgetConfig(target=0.0).validate()


def _digits_net():
    """The digits IR and its NestedNet (the seeded float ResNet folded, scale 1/127), not yet calibrated."""
    torch.manual_seed(0)
    a = arch("digits")
    ir = a.network()
    return ir, NestedNet(ir, DEFAULT_SPEC, fold_resnet(ResNet(a).eval(), ir), 1 / 127, seed=0)


def test_budgeted_controller_trains_only_the_controller(capsys):
    ir, net = _digits_net()
    images = torch.rand(48, 1, 8, 8) * 2 - 1
    calibrate(net, images)
    split = Split(images, torch.arange(48) % 10)
    lines = []
    trained, lam = train_controller(net, split, BudgetConfig(target=0.1, epochs=2, batch_size=16, dual_lr=0.5),
                                    lines.append)
    assert len(lines) == 2 and lines[1].startswith("controller t=0.100 epoch 2/2")
    assert capsys.readouterr().err.splitlines()[-1].startswith("controller t=0.100: 100%")  # 6 batches, with rate
    before, after = net.state_dict(), trained.state_dict()
    backbone = [k for k in before if not k.startswith("controller.")]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("controller."))
    assert lam >= 0 and all(p.requires_grad for p in net.parameters())  # the original is untouched
    g = torch.zeros(2, len(net.switchable), 4)
    g[0, :, 0] = 1
    g[1, :, 3] = 1
    assert image_costs(net, g, "bitops").tolist() == pytest.approx([1 / 16, 1.0])


def test_pareto_point_files_run_in_cli_sim(tmp_path):
    """Each point's exported file (static: the controller-free backbone + its plan file; dynamic: backbone +
    controller) loads with golden's loader and runs in `cli.py sim`, with the golden logits of that point."""
    ir, net = _digits_net()
    images = torch.rand(6, 1, 8, 8) * 2 - 1
    calibrate(net, images)
    for sub in ("models", "plans"):
        (tmp_path / sub).mkdir()
    dynamic_path = tmp_path / "models" / "dynamic_t0.100.safetensors"
    backbone = export_model_file(net, dynamic_path)
    widths = {layer.name: (2, 2) if i % 2 else (6, 6) for i, layer in enumerate(ir.switchable_layers)}
    model_path, plan_path = export_static_point(backbone, "greedy:3", widths, tmp_path)
    assert (model_path.name, plan_path.name) == ("greedy_3.safetensors", "greedy_3.json")
    assert load_model(model_path).controller is None and load_model(dynamic_path).controller is not None
    codes = input_codes(net, Split(images, torch.arange(6))).to(torch.int64).numpy()
    with open(tmp_path / "images.npy", "wb") as f:
        np.save(f, codes, allow_pickle=False)
    expected = infer(backbone, codes, plan=plan_from_mapping("p", widths, ir, DEFAULT_SPEC))
    assert not np.array_equal(expected.logits, infer(backbone, codes).logits)   # the plan file matters
    result = CliRunner().invoke(cli, ["sim", "--model", str(model_path), "--plan", str(plan_path), "--input",
                                      str(tmp_path / "images.npy"), "--out", str(tmp_path / "sim")])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.load(tmp_path / "sim" / "logits.npy"), expected.logits)
    # (`sim --dynamic` on a dynamic point's file: test_train_bench_end_to_end_toy, slow)
    assert np.array_equal(infer(load_model(dynamic_path), codes, dynamic=True).logits,
                          infer(backbone, codes, dynamic=True).logits)


def test_train_commands_set_passive_thread_waits_before_torch_loads():
    code = ("import os, sys; from click.testing import CliRunner; from cli import cli; "
            "CliRunner().invoke(cli, ['train-bench', '--out', 'x', '--targets', 'bad']); "
            "print(os.environ['OMP_WAIT_POLICY'], os.environ['NUMBA_NUM_THREADS'], 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "NUMBA_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PASSIVE", "2", "True"]


@pytest.mark.parametrize("args, message", [
    (["--targets", "0.1,x"], "--targets"),
    (["--targets", "0.1,1.5"], "targets must be in (0, 1]"),
    (["--draws", "1,1"], "--draws"),
    (["--controller-seeds", "0,x"], "--controller-seeds"),
])
def test_train_bench_option_errors(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["train-bench", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_train_bench_end_to_end_toy(tmp_path):
    out = tmp_path / "bench"
    # a subprocess: train.runtime's thread settings must come before torch's import (pytest imported it already)
    result = subprocess.run([sys.executable, str(CLI), "train-bench", "--out", str(out), "--draws", "1,1,1",
                             "--float-epochs", "1", "--dqt-epochs", "1", "--controller-epochs", "1", "--targets",
                             "0.1,0.3", "--controller-seeds", "0,1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation: best static" in result.stdout and "per-image oracle" in result.stdout
    body = json.loads((out / "results.json").read_text())
    names = [p["name"] for p in body["points"]]
    assert set(body["accuracy_per_level"]) == set(names) and len(body["accuracy_per_level"]["uniform:8"]) == 6
    assert {"uniform:2", "uniform:8", "greedy:0", "joint", "dynamic:0.100", "dynamic:0.300"} <= set(names)
    for p in body["points"]:
        assert p["ci_low"] <= p["accuracy"] <= p["ci_high"]
        assert p["fixed_total_cycles_mean"] > 0 and p["fused_total_cycles_mean"] <= p["fixed_total_cycles_mean"]
        model = load_model(p["model"])                     # every point has a model file of its own
        assert (model.controller is None) == (p["family"] in ("uniform", "greedy"))
    assert len({p["model"] for p in body["points"] if p["family"] != "joint"}) == len(names) - 1
    assert set(body["severity_predictability"]) == {"controller_input:conv1", "last_gap:avgpool"}
    for c in body["comparisons"]:
        assert c["headroom"]["oracle_val_acc"] is None or c["headroom"]["oracle_val_acc"] >= c["static_val_acc"]
    assert {"level:0.100", "level:0.300"} <= set(names) and set(body["dynamic_wins_over_best_static"]) == {
        "dynamic", "level"}
    assert "(severity-level imitation)" in result.stdout
    for suffix in ("csv", "json"):
        assert (out / f"results.{suffix}").stat().st_size > 0
    for stem in ("pareto", "bits_vs_strength"):
        for fmt in ("pdf", "svg", "png"):
            assert (out / f"{stem}.{fmt}").stat().st_size > 0
    sim = CliRunner().invoke(cli, ["sim", "--model", str(out / "models" / "dynamic_t0.100.safetensors"), "--dynamic",
                                   "--input", str(out / "test_images.npy"), "--out", str(tmp_path / "sim")])
    assert sim.exit_code == 0, sim.output


def test_training_loops_show_a_bar_with_time_left(capsys):
    torch.manual_seed(0)
    split = Split(torch.rand(48, 1, 8, 8) * 2 - 1, torch.arange(48) % 10)
    lines = []
    train_float(ResNet(arch("digits")), split, FloatConfig(epochs=2, batch_size=16), lines.append)
    err = capsys.readouterr().err
    assert [line.split()[:3] for line in lines] == [["float", "epoch", "1/2"], ["float", "epoch", "2/2"]]
    assert "\r" not in err and err.splitlines()[-1].startswith("float: 100%") and "6/6" in err
    assert "batch/s" in err or "s/batch" in err                  # tqdm shows s/batch below one batch per second
    train_float(ResNet(arch("digits")), split, FloatConfig(epochs=1, batch_size=16))  # no progress: no bar
    assert capsys.readouterr().err == ""


def test_per_image_oracle_buys_the_cheapest_fixes_first():
    correct = np.array([[1, 0, 0, 0],      # plan 0, cost 1
                        [1, 1, 0, 0],      # plan 1, cost 3
                        [0, 1, 1, 0]], bool)  # plan 2, cost 5
    cost = np.array([1.0, 3.0, 5.0])
    assert per_image_oracle(correct, cost, 0.5) is None
    assert per_image_oracle(correct, cost, 1.0) == (25.0, 1.0)
    assert per_image_oracle(correct, cost, 1.5) == (50.0, 1.5)      # image 1 moves to plan 1 (+2 of 4 spare)
    assert per_image_oracle(correct, cost, 2.5) == (75.0, 2.5)      # and image 2 to plan 2 (+4); image 3: never
    assert per_image_oracle(correct, cost, 9.0) == (75.0, 2.5)
    with pytest.raises(ValueError, match="plans, images"):
        per_image_oracle(correct, cost[:2], 1.0)


def test_level_allocation_spends_the_budget_where_width_pays():
    # two levels of two images: plan 1 (cost 4) fixes both level-1 images, nothing helps level 0
    correct = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    cost, levels = np.array([1.0, 4.0]), np.array([0, 0, 1, 1])
    assert level_allocation(correct, cost, levels, 0.5) is None
    assert level_allocation(correct, cost, levels, 1.0) == {0: 0, 1: 0}
    plans = level_allocation(correct, cost, levels, 2.5)
    assert plans == {0: 0, 1: 1}
    right, mean_cost = apply_level_allocation(correct, cost, levels, plans)
    assert right.tolist() == [True] * 4 and mean_cost == 2.5
    assert level_allocation(correct, cost, levels, 2.4) == {0: 0, 1: 0}


def test_severity_predictability_sees_an_informative_feature():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 6, 600)
    informative = np.stack([levels + rng.normal(0, 0.5, 600), rng.normal(size=600)], 1)
    noise = rng.normal(size=(600, 2))
    assert severity_predictability(informative[:400], levels[:400], informative[400:], levels[400:]) > 0.8
    assert abs(severity_predictability(noise[:400], levels[:400], noise[400:], levels[400:])) < 0.3


def test_imitation_controller_learns_target_widths_from_the_image():
    """Targets that depend on the image (bright images get 8 bits, dark ones 2): the imitated controller picks
    them from the stem output alone, and only its parameters change."""
    ir, net = _digits_net()
    images = torch.cat([torch.full((32, 1, 8, 8), -0.9), torch.full((32, 1, 8, 8), 0.9)])
    images = images + 0.05 * torch.randn(64, 1, 8, 8)
    calibrate(net, images)
    names = [layer.name for layer in ir.switchable_layers]
    widths = [{n: (2, 2) for n in names}] * 32 + [{n: (8, 8) for n in names}] * 32
    targets = width_targets(net, widths)
    assert targets[0].tolist() == [0] * len(names) and targets[-1].tolist() == [3] * len(names)
    lines = []
    trained = imitate_widths(net, net.input_codes(images), targets, ImitationConfig(epochs=60, batch_size=16),
                             lines.append)
    assert lines[-1].startswith("imitation controller epoch 60/60")
    chosen = trained(net.input_codes(images), gates=hard_gates).gates.argmax(-1)
    assert torch.equal(chosen, targets)
    before, after = net.state_dict(), trained.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("controller."))
    with pytest.raises(ValueError, match="controller candidates"):
        width_targets(net, [{n: (3, 3) for n in names}])
    with pytest.raises(ValueError, match="targets must be"):
        imitate_widths(net, net.input_codes(images), targets[:3], ImitationConfig())
