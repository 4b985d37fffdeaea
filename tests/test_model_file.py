"""Model files: round trip, truncation, tampering, bad shapes / dtypes / ranges / bounds, atomic writes."""
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from golden.inference import infer
from golden.model_file import (METADATA_KEY, ModelFileError, header_digest, load_model, model_header,
                               save_model, tensor_digest, write_model_file)
from golden.synthetic import synthetic_images, synthetic_model
from golden_fixtures import HAND_IMAGE, hand_model


@pytest.fixture(scope="module")
def tiny():
    return synthetic_model("tiny", 0, backend="numpy")


def _rewrite(path, header, tensors):
    """Write a file whose header and tensors were edited, with valid hashes and digest (a 'well-formed' bad
    model), so that the loader's validation, not its tamper check, has to catch the problem."""
    header["tensors"] = {n: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": tensor_digest(a)}
                         for n, a in sorted(tensors.items())}
    header["digest"] = header_digest(header)
    write_model_file(path, header, tensors)


def test_round_trip_identical_logits_static_and_dynamic(tiny, tmp_path):
    path = tmp_path / "tiny.dqt"
    save_model(tiny, path)
    back = load_model(path)
    images = synthetic_images(tiny.network, 6, 1)
    for kw in ({"plan": "uniform:4"}, {"dynamic": True}, {}):
        a, b = infer(tiny, images, backend="numpy", **kw), infer(back, images, backend="numpy", **kw)
        assert np.array_equal(a.logits, b.logits) and a.widths == b.widths
    for name, p in tiny.layers.items():
        q = back.layers[name]
        assert np.array_equal(p.weight, q.weight) and p.weight.dtype == q.weight.dtype
        assert np.array_equal(p.bias, q.bias) and np.array_equal(p.weight_scale, q.weight_scale)
    assert back.scales == tiny.scales and back.network == tiny.network and back.spec == tiny.spec


def test_hand_model_round_trip(tmp_path):
    save_model(hand_model(), tmp_path / "h.dqt")
    r = infer(load_model(tmp_path / "h.dqt"), HAND_IMAGE, plan="uniform:4", backend="numpy")
    assert np.array_equal(r.logits, [[10, 168]])


def test_truncated_file(tiny, tmp_path):
    path = tmp_path / "t.dqt"
    save_model(tiny, path)
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 20, 3):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="not a readable safetensors file"):
            load_model(path)


def test_tampered_tensor_bytes(tiny, tmp_path):
    path = tmp_path / "t.dqt"
    save_model(tiny, path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256 mismatch"):
        load_model(path)


def test_tampered_header_multiplier(tiny, tmp_path):
    header, tensors = model_header(tiny)
    header["model"]["layers"]["layer1.0.conv1"]["m"][0] += 1
    path = tmp_path / "t.dqt"
    write_model_file(path, header, tensors)  # digest now stale
    with pytest.raises(ModelFileError, match="header digest mismatch"):
        load_model(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"a": np.zeros(3, np.int8)}, str(path))
    with pytest.raises(ModelFileError, match="no 'dqt_hw' header"):
        load_model(path)
    save_file({"a": np.zeros(3, np.int8)}, str(path), metadata={METADATA_KEY: json.dumps({"format": "x"})})
    with pytest.raises(ModelFileError, match="format"):
        load_model(path)


@pytest.mark.parametrize("edit, message", [
    (lambda h, t: t.__setitem__("layer1.0.conv1.weight", t["layer1.0.conv1.weight"][:, :, :2]),
     r"layer layer1\.0\.conv1: weight must have shape \(8, 8, 3, 3\)"),
    (lambda h, t: t.__setitem__("fc.bias", t["fc.bias"].astype(np.int64)),
     "layer fc: bias must have dtype int32"),
    (lambda h, t: h["model"]["layers"]["layer2.0.conv2"]["m"].__setitem__(0, 1 << 16),
     "layer layer2.0.conv2: m value 65536 outside"),
    (lambda h, t: h["model"]["layers"]["layer2.0.conv2"]["m_r"].__setitem__(3, -1),
     "layer layer2.0.conv2: m_r value -1 outside"),
    (lambda h, t: h["model"]["layers"]["conv1"].__setitem__("shift", 63),
     "layer conv1: shift must be an int in"),
    (lambda h, t: h["model"]["layers"]["layer2.0.downsample"].__setitem__("m", [1] * 16),
     "layer layer2.0.downsample: m must be absent"),
    (lambda h, t: h["model"]["scales"].__setitem__("conv1", -1.0),
     "tensor conv1: scale must be a finite float > 0"),
    (lambda h, t: h["model"]["pools"]["avgpool"].__setitem__("shift", -1),
     "pool avgpool: shift must be"),
    (lambda h, t: h["controller"]["layers"]["fc2"].__setitem__("m", [1]),
     r"controller: layer fc2: m must have shape \(20,\)"),
    (lambda h, t: t.__setitem__("layer1.0.conv1.bias", np.full(8, 2**31 - 1000, np.int32)),
     r"layer layer1\.0\.conv1: worst-case acc' \+ bias range"),
    (lambda h, t: h["model"]["network"]["ops"][2].__setitem__("out_ch", 9),
     "layer1.0.conv1"),
    (lambda h, t: t.pop("fc.weight"),
     "tensor 'fc.weight' missing"),
    (lambda h, t: h["model"].__setitem__("input_signed", "no"),
     "header.model.input_signed must be true or false, got 'no'"),
    (lambda h, t: h["model"]["layers"]["fc"]["weight_scale"].__setitem__(0, True),
     r"header.model.layers.fc.weight_scale\[0\] must be a number, got True"),
])
def test_bad_files_name_the_field(tiny, tmp_path, edit, message):
    header, tensors = model_header(tiny)
    edit(header, tensors)
    path = tmp_path / "bad.dqt"
    _rewrite(path, header, tensors)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


@pytest.mark.parametrize("listing", [5, ["conv1.weight"], "edit-entries"])
def test_malformed_tensor_listing(tiny, tmp_path, listing):
    header, tensors = model_header(tiny)
    header["tensors"] = {name: "x" for name in header["tensors"]} if listing == "edit-entries" else listing
    header["digest"] = header_digest(header)
    path = tmp_path / "bad.dqt"
    write_model_file(path, header, tensors)
    with pytest.raises(ModelFileError, match=r"header\.tensors(\.controller\.fc1\.bias)? must be an object"):
        load_model(path)


def test_requant_64bit_bound_is_proved(tiny, tmp_path):
    """x·m + r·m_r + 2^(s-1) past 2^63 - 1 while every ACC_BITS check holds (M_BITS = 31, s = 62, x and the
    downsample residual r near 2^31) is refused."""
    header, tensors = model_header(tiny)
    header["spec"]["m_bits"] = 31
    conv2 = header["model"]["layers"]["layer2.0.conv2"]
    conv2.update(m=[2**31 - 1] * 16, m_r=[2**31 - 1] * 16, shift=62)
    for name in ("layer2.0.conv2", "layer2.0.downsample"):
        tensors[f"{name}.bias"] = np.full(16, 2**31 - 2**23, np.int32)
    path = tmp_path / "bad.dqt"
    _rewrite(path, header, tensors)
    with pytest.raises(ModelFileError, match=r"layer layer2\.0\.conv2: worst-case requant sum"):
        load_model(path)


def test_save_is_atomic_and_refuses_invalid_models(tiny, tmp_path):
    path = tmp_path / "m.dqt"
    save_model(tiny, path)
    before = path.read_bytes()
    p = tiny.layers["fc"]
    bad = type(p)(p.weight, p.bias, p.m, 99, p.m_r, p.weight_scale)
    broken = type(tiny)(tiny.network, tiny.spec, {**tiny.layers, "fc": bad}, tiny.pools, tiny.scales,
                        tiny.input_signed, tiny.controller)
    with pytest.raises(ValueError, match="layer fc: shift"):
        save_model(broken, path)
    assert path.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.dqt"]  # no temp file left behind
