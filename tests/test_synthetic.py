"""Synthetic models: determinism, calibration quality on ResNet-18, controller variety, dynamic end to end."""
import numpy as np
import pytest

from golden.bounds import prove_bounds
from golden.calibrate import multipliers
from golden.inference import infer
from golden.model import validate_model
from golden.spec import DEFAULT_SPEC as S
from golden.synthetic import build_synthetic, synthetic_images, synthetic_model


@pytest.fixture(scope="module")
def r18():
    return build_synthetic("resnet18", 0)


def _same(a, b) -> bool:
    return all(np.array_equal(a.layers[n].weight, b.layers[n].weight) and np.array_equal(a.layers[n].bias, b.layers[n].bias)
               and np.array_equal(a.layers[n].m, b.layers[n].m) and a.layers[n].shift == b.layers[n].shift
               for n in a.layers)


def test_seeded_and_deterministic():
    a, b, c = (synthetic_model("tiny", s, backend="numpy") for s in (0, 0, 1))
    assert _same(a, b) and _same(a.controller, b.controller) and a.scales == b.scales
    assert not _same(a, c)
    assert np.array_equal(synthetic_images(a.network, 3, 7), synthetic_images(a.network, 3, 7))
    assert not np.array_equal(synthetic_images(a.network, 3, 7), synthetic_images(a.network, 3, 8))


def test_resnet18_calibration_clamps_under_1_percent_and_no_layer_is_zero(r18):
    names = [c.name for c in r18.layers]
    assert set(r18.model.layers) - {"layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"} <= set(names)
    for c in r18.layers:
        assert c.clamp_frac < 0.01, c
        assert c.zero_frac < 0.9, c
    validate_model(r18.model)
    prove_bounds(r18.model)


def test_resnet18_weights_look_trained(r18):
    """Per-output-channel scales: every channel uses the full code range; codes roughly Gaussian."""
    w = r18.model.layers["layer3.0.conv1"].weight.reshape(256, -1)
    assert np.all(np.abs(w).max(axis=1) >= 127)
    assert 20 < np.std(w) < 50
    m = r18.model.layers["layer3.0.conv1"].m
    assert np.all(m < 2 ** S.m_bits) and m.max() >= 2 ** (S.m_bits - 1)  # multipliers use their M_BITS


def test_resnet18_dynamic_end_to_end(r18):
    model = r18.model
    images = synthetic_images(model.network, 4, 11)
    r = infer(model, images, dynamic=True)
    assert len({tuple(w.values()) for w in r.widths}) == 4  # every image its own choice
    used = {w for image in r.widths for name, w in image.items() if model.network.op(name).switchable}
    assert {b for b, _ in used} == set(S.candidates)
    per_image = [sum(layer.macs * w[layer.name][0] * w[layer.name][1] for layer in model.network.layers)
                 for w in r.widths]
    assert r.bitops == pytest.approx(np.mean(per_image), rel=1e-12)
    assert r.controller_macs == 64 * 64 + 64 * 19 * 4
    assert r.logits.shape == (4, 10) and r.logits.dtype == np.int64


def test_multipliers_exact_powers_and_precision():
    (m,), s = multipliers([np.array([1 / 64])], S)
    assert (m.tolist(), s) == ([1], 6)
    (m, m_r), s = multipliers([np.array([0.3, 0.01]), np.array([0.7])], S)
    assert m_r[0] <= S.m_max and m_r[0] > S.m_max // 2
    assert abs(m[0] / 2 ** s - 0.3) < 2 ** -s
    with pytest.raises(ValueError, match="ratio"):
        multipliers([np.array([2.0 ** 17])], S)
