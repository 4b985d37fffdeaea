"""train/importer.py: torchvision-layout float checkpoints -> calibrated golden model files -> sim."""
import os
import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import cli
from golden.inference import infer
from golden.model_file import load_model
from golden.session import run_golden
from train.arch import arch
from train.importer import import_checkpoint, load_state_dict
from train.resnet import ResNet


def _checkpoint(tmp_path, name, wrap=None):
    torch.manual_seed(0)
    state = ResNet(arch(name)).state_dict()
    path = tmp_path / f"{name}.pt"
    torch.save({wrap: state} if wrap else state, path)
    return path, state


def test_resnet18_state_dict_imports_and_runs_in_golden(tmp_path):
    ckpt, _ = _checkpoint(tmp_path, "resnet18", wrap="state_dict")
    out = tmp_path / "r18.safetensors"
    model = import_checkpoint(ckpt, "resnet18", out, calib_count=4, input_size=32)
    loaded = load_model(out)
    assert loaded.network == model.network and loaded.controller is None
    assert loaded.network.num_classes == 1000 and loaded.network.input_shape == (3, 32, 32)
    run = run_golden(str(out), plan="uniform:4", batch=2, seed=0, backend="numba")
    assert run.result.logits.shape == (2, 1000)
    assert len({int(v) for v in run.result.logits[0]}) > 100  # real logits, not a constant


def test_import_keeps_the_float_model_s_predictions_at_8_bits(tmp_path):
    """Post-training 8-bit quantization of a CIFAR ResNet-18 agrees with the float model on most images."""
    torch.manual_seed(1)
    a = arch("resnet18_cifar")
    model = ResNet(a).eval()
    for m in model.modules():  # break the trivial symmetric init so that classes differ
        if isinstance(m, torch.nn.BatchNorm2d):
            m.bias.data.uniform_(-0.2, 0.2)
    ckpt = tmp_path / "c.pt"
    torch.save(model.state_dict(), ckpt)
    calib = tmp_path / "calib"
    calib.mkdir()
    images = torch.randn(12, 3, 32, 32)
    np.save(calib / "images.npy", images.numpy())
    out = tmp_path / "c.safetensors"
    golden_model = import_checkpoint(ckpt, "resnet18_cifar", out, calib=str(calib), calib_count=12)
    step = golden_model.scales["input"]
    codes = np.clip(np.floor(images.numpy() / step + 0.5), -128, 127).astype(np.int64)
    with torch.no_grad():
        float_pred = model(images).argmax(1).numpy()
    int_pred = infer(golden_model, codes, backend="numba").predictions
    assert np.mean(float_pred == int_pred) >= 0.75


def test_missing_and_unexpected_keys_are_named(tmp_path):
    _, state = _checkpoint(tmp_path, "resnet18")
    state = dict(state)
    del state["layer3.1.bn2.running_mean"]
    state["layer9.0.conv1.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"missing keys \['layer3.1.bn2.running_mean'\].*layer9.0.conv1.weight"):
        import_checkpoint(path, "resnet18", tmp_path / "x.safetensors", calib_count=1, input_size=32)
    assert not (tmp_path / "x.safetensors").exists()


def test_wrong_arch_shape_mismatch_is_named(tmp_path):
    ckpt, _ = _checkpoint(tmp_path, "resnet18")
    with pytest.raises(ValueError, match=r"conv1.weight: shape \(64, 3, 7, 7\) != \(64, 3, 3, 3\)"):
        import_checkpoint(ckpt, "resnet18_cifar", tmp_path / "x.safetensors", calib_count=1)
    with pytest.raises(ValueError, match="does not match arch resnet50: missing keys"):
        import_checkpoint(ckpt, "resnet50", tmp_path / "x.safetensors", calib_count=1)
    state = dict(torch.load(ckpt, weights_only=True))
    state["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    torch.save(state, tmp_path / "s.pt")
    with pytest.raises(ValueError, match=r"layer1.0.conv1.weight: shape \(64, 64, 1, 1\)"):
        import_checkpoint(tmp_path / "s.pt", "resnet18", tmp_path / "x.safetensors", calib_count=1)


def test_calibration_arrays_of_the_wrong_shape_are_named(tmp_path):
    ckpt, _ = _checkpoint(tmp_path, "resnet18")
    calib = tmp_path / "calib"
    calib.mkdir()
    np.save(calib / "a.npy", np.zeros((2, 3, 32, 32), np.float32))
    np.save(calib / "b.npy", np.zeros((3, 16, 16), np.float32))
    with pytest.raises(ValueError, match=r"b.npy: images of shape \(3, 16, 16\), but a.npy holds \(3, 32, 32\)"):
        import_checkpoint(ckpt, "resnet18", tmp_path / "x.safetensors", calib=str(calib), input_size=32)
    np.save(calib / "b.npy", np.zeros((32, 32), np.float32))
    with pytest.raises(ValueError, match=r"b.npy: shape \(32, 32\), expected \(N, C, H, W\)"):
        import_checkpoint(ckpt, "resnet18", tmp_path / "x.safetensors", calib=str(calib), input_size=32)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_checkpoint_with_code_is_refused_by_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"fc.weight": _Evil()}, f, protocol=2)
    with pytest.raises(ValueError, match="weights_only=True"):
        load_state_dict(path)


def test_cli_import_resnet50_at_small_input_then_sim(tmp_path):
    ckpt, _ = _checkpoint(tmp_path, "resnet50")
    out = tmp_path / "r50.safetensors"
    r = CliRunner().invoke(cli, ["import", str(ckpt), "--arch", "resnet50", "--calib-count", "2",
                                 "--input-size", "32", "-o", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["sim", "--model", str(out), "--plan", "uniform:6", "--out", str(tmp_path / "sim")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "sim" / "summary.json").is_file()


@pytest.mark.slow
def test_cli_import_resnet50_full_size_then_sim(tmp_path):
    """ResNet-50 at 224×224, calibrated on upsampled digits, run by the sim command (minutes)."""
    ckpt, _ = _checkpoint(tmp_path, "resnet50")
    out = tmp_path / "r50.safetensors"
    r = CliRunner().invoke(cli, ["import", str(ckpt), "--arch", "resnet50", "--calib-count", "4", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert load_model(out).network.macs == 4_089_184_256
    r = CliRunner().invoke(cli, ["sim", "--model", str(out), "--plan", "uniform:4", "--out", str(tmp_path / "sim")])
    assert r.exit_code == 0, r.output
