"""Golden inference: a hand-worked network, numba vs numpy twins, dynamic mode, overflow and input errors."""
import dataclasses

import numpy as np
import pytest

from golden.inference import infer, run_layer
from golden.plan import Plan
from golden.primitives import ArithmeticOverflow
from golden.synthetic import synthetic_images, synthetic_model
from golden_fixtures import HAND_IMAGE, hand_model


def test_hand_worked_network_uniform4():
    """Every value below is worked out by hand from docs/spec.md §1 (see tests/golden_fixtures.py for params).

    conv1 (N bits, m=1, s=2): ch0 x·3+5 = [35,-55,386,-379] -> (v+2)>>2 clamped [0,255] = [9,0,97,0]
                              ch1 x·(-2)+100 = [80,140,-154,356] -> [20,35,0,89]
    block at (4,4), k=4: weight views 64->4, -37->-2, 100->6, 7->0; activation views [1,0,6,0], [1,2,0,6]
        acc ch0 = 4a0 - 2a1 = [2,-4,24,-12], ch1 = 6a0 = [6,0,36,0]; align << 8; + bias [-100, 300]
        ch0: (x·3 + r·16 + 32) >> 6 = [22, 0, 308->255, 0];  ch1: (x·1 + r·32 + 32) >> 6 = [39,22,149,49]
    avgpool (m=1, s=2): (277+2)>>2 = 69, (259+2)>>2 = 65
    fc: [69-65+0, -138+195+10] = [4, 67] -> (5v+1)>>1 = [10, 168]
    """
    r = infer(hand_model(), HAND_IMAGE, plan="uniform:4", backend="numpy", keep_tensors=True)
    assert np.array_equal(r.tensors["conv1"], [[[[9, 0], [97, 0]], [[20, 35], [0, 89]]]])
    assert np.array_equal(r.tensors["block"], [[[[22, 0], [255, 0]], [[39, 22], [149, 49]]]])
    assert np.array_equal(r.tensors["avgpool"].reshape(-1), [69, 65])
    assert np.array_equal(r.logits, [[10, 168]])
    assert r.predictions.tolist() == [1]
    stats = {s.name: s for s in r.layers}
    assert stats["block"].clamp_frac == 1 / 8  # the one 308 -> 255
    assert stats["block"].transition_shifts == 4 + 8  # 4 weights + 2·2·2 input activations viewed at 4 bits
    assert stats["block"].bitops == 16 * 4 * 4 and stats["conv1"].bitops == 8 * 64
    assert r.widths == [{"conv1": (8, 8), "block": (4, 4), "fc": (8, 8)}]


def test_hand_network_full_width_differs_only_where_expected():
    r = infer(hand_model(), HAND_IMAGE, backend="numpy", keep_tensors=True)
    assert np.array_equal(r.tensors["conv1"], [[[[9, 0], [97, 0]], [[20, 35], [0, 89]]]])
    assert r.layers[1].transition_shifts == 0 and r.layers[1].b_w == 8


def test_run_layer_matches_inference_tensor():
    model = hand_model()
    r = infer(model, HAND_IMAGE, plan="uniform:4", backend="numpy", keep_tensors=True)
    y = run_layer(model, "block", r.tensors["conv1"], 4, 4, residual=r.tensors["conv1"], backend="numpy")
    assert np.array_equal(y, r.tensors["block"])


def test_run_layer_refuses_float_codes_naming_the_argument():
    model = hand_model()
    x = infer(model, HAND_IMAGE, backend="numpy", keep_tensors=True).tensors["conv1"]
    with pytest.raises(TypeError, match=r"layer block: residual must be an integer array, got dtype float64"):
        run_layer(model, "block", x, 8, 8, residual=x + 0.5, backend="numpy")
    with pytest.raises(TypeError, match=r"layer block: x must be an integer array, got dtype float64"):
        run_layer(model, "block", x + 0.5, 8, 8, residual=x, backend="numpy")


@pytest.mark.parametrize("name", ["tiny", "tiny_bottleneck"])
@pytest.mark.parametrize("mode", ["uniform:2", "uniform:6", "dynamic"])
def test_numba_and_numpy_backends_bit_identical(name, mode):
    model = synthetic_model(name, 0, backend="numpy")
    images = synthetic_images(model.network, 6, 5)
    kw = {"dynamic": True} if mode == "dynamic" else {"plan": mode}
    a = infer(model, images, backend="numba", keep_tensors=True, **kw)
    b = infer(model, images, backend="numpy", keep_tensors=True, **kw)
    assert np.array_equal(a.logits, b.logits)
    assert a.tensors.keys() == b.tensors.keys()
    for k in a.tensors:
        assert np.array_equal(a.tensors[k], b.tensors[k]), k
    assert a.layers == b.layers and a.widths == b.widths


def test_dynamic_tiny_widths_vary_and_groups_match_static_runs():
    model = synthetic_model("tiny", 0, backend="numpy")
    images = synthetic_images(model.network, 8, 3)
    r = infer(model, images, dynamic=True, backend="numpy")
    assert len({tuple(w.values()) for w in r.widths}) > 1
    assert r.controller_macs == model.controller.network.macs == 8 * 64 + 64 * 5 * 4
    for i in range(len(images)):  # each image's logits equal a static run at the widths it was given
        switchable = {n: w for n, w in r.widths[i].items() if model.network.op(n).switchable}
        single = infer(model, images[i:i + 1], plan=Plan("chosen", switchable), backend="numpy")
        assert np.array_equal(single.logits[0], r.logits[i])


def test_dynamic_needs_controller_and_excludes_plan():
    with pytest.raises(ValueError, match="controller"):
        infer(hand_model(), HAND_IMAGE, dynamic=True, backend="numpy")
    model = synthetic_model("tiny", 0, backend="numpy")
    with pytest.raises(ValueError, match="either"):
        infer(model, synthetic_images(model.network, 1, 0), plan="uniform:4", dynamic=True, backend="numpy")


def test_accumulator_overflow_raises_naming_layer():
    model = hand_model()
    big = np.array([2**31 - 1, 0], dtype=np.int32)
    bad = type(model.layers["conv1"])(model.layers["conv1"].weight, big, model.layers["conv1"].m,
                                      model.layers["conv1"].shift, None, model.layers["conv1"].weight_scale)
    model = type(model)(model.network, model.spec, {**model.layers, "conv1": bad}, model.pools, model.scales)
    with pytest.raises(ArithmeticOverflow, match="layer conv1: acc' \\+ bias"):
        infer(model, HAND_IMAGE, backend="numpy")


def test_hand_built_plan_is_checked_like_a_plan_file():
    model = hand_model()
    with pytest.raises(ValueError, match="no width for layer block"):
        infer(model, HAND_IMAGE, plan=Plan("empty", {}), backend="numpy")
    with pytest.raises(ValueError, match=r"layer block: b_a must be in \[2, 8\], got 9"):
        infer(model, HAND_IMAGE, plan=Plan("wide", {"block": (4, 9)}), backend="numpy")


def test_bad_images_and_backend():
    model = hand_model()
    with pytest.raises(ValueError, match="images must have shape"):
        infer(model, np.zeros((1, 2, 2, 2), np.int64), backend="numpy")
    with pytest.raises(ValueError, match="images: value 128"):
        infer(model, np.full((1, 1, 2, 2), 128), backend="numpy")
    with pytest.raises(TypeError, match="integer"):
        infer(model, np.zeros((1, 1, 2, 2)), backend="numpy")
    with pytest.raises(ValueError, match="backend"):
        infer(model, HAND_IMAGE, backend="cuda")


def _wide_spec_model():
    """One N=16 logits layer under ACC_BITS + M_BITS = 48 + 31 > 62: x = 4·(-2^15)² = 2^32 at the most, and
    x·m + 2^61 with m = 2^31 - 1 exceeds 2^63 (the int64 requant would wrap to a wrong logit)."""
    from golden.ir import Conv, Network
    from golden.model import ConvParams, NestedModel
    from golden.spec import NestedSpec
    spec = NestedSpec(n_bits=16, acc_bits=48, m_bits=31)
    fc = Conv("fc", "input", 4, 1, (1, 1), output_kind="logits", switchable=False, kind="linear")
    params = ConvParams(np.full((1, 4), -2 ** 15, np.int16), np.zeros(1, np.int32),
                        np.array([2 ** 31 - 1], np.int64), 62, None, np.ones(1))
    net = Network("wide_spec", (4, 1, 1), (fc,), "input", 1)
    return NestedModel(net, spec, {"fc": params}, {}, {"input": 1.0, "fc": 1.0})


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_requant_that_could_wrap_int64_is_refused_before_running(backend):
    images = np.full((1, 4, 1, 1), -2 ** 15, np.int64)
    with pytest.raises(ArithmeticOverflow, match=r"layer fc: worst-case requant sum \d+ exceeds 64-bit"):
        infer(_wide_spec_model(), images, backend=backend)
    with pytest.raises(ArithmeticOverflow, match=r"layer fc: worst-case requant sum"):
        run_layer(_wide_spec_model(), "fc", images, 16, 16, backend=backend)
    model = hand_model()
    x = infer(model, HAND_IMAGE, backend=backend, keep_tensors=True).tensors["conv1"]
    with pytest.raises(ArithmeticOverflow, match=r"layer block: residual: value \d+ outside \[-2147483648, "):
        run_layer(model, "block", x, 8, 8, residual=x + 2 ** 31, backend=backend)  # r·m_r must not wrap either


def test_hand_built_model_is_validated_on_first_use_only(monkeypatch):
    import golden.execute
    model = hand_model()
    model.layers["fc"] = dataclasses.replace(model.layers["fc"], m=np.array([5, 2 ** 40], np.int64))
    with pytest.raises(ValueError, match=r"layer fc: m value 1099511627776 outside \[0, 65535\]"):
        infer(model, HAND_IMAGE)  # m >= 2^M_BITS: x·m could wrap int64 with the default widths too
    calls = []
    monkeypatch.setattr(golden.execute, "validate_model", lambda m: calls.append(m))
    good = hand_model()
    for _ in range(3):
        infer(good, HAND_IMAGE)
    assert calls == [good]
