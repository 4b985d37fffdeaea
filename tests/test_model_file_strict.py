"""Strict model-file loading (issue 10): header schema, unique keys, depth, int64, stored dtype / shape against the
header, limits before allocation, and the IR placements the bounds proof cannot cover."""
import dataclasses
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from golden.ir import Conv, Network
from golden.limits import Limits, parse_limits
from golden.model_file import METADATA_KEY, ModelFileError, header_digest, load_model, model_header, save_model
from golden.synthetic import synthetic_model
from golden.topologies import topology


@pytest.fixture(scope="module")
def tiny():
    return synthetic_model("tiny", 0, backend="numpy")


def _raw(path, text: str, tensors) -> None:
    """A file whose header text is exactly `text` (no re-serialization)."""
    save_file({n: np.ascontiguousarray(a) for n, a in tensors.items()}, str(path), metadata={METADATA_KEY: text})


def _edited(path, tiny, edit) -> None:
    """tiny's header edited by `edit`, digest recomputed: only the schema / validation can refuse it."""
    header, tensors = model_header(tiny)
    edit(header)
    header["digest"] = header_digest(header)
    _raw(path, json.dumps(header, sort_keys=True), tensors)


def test_duplicate_keys_refused_before_the_digest(tiny, tmp_path):
    """Issue 10: a reader keeping the first of two keys saw a different model under the same digest."""
    header, tensors = model_header(tiny)
    text = json.dumps(header, sort_keys=True)
    text = text.replace('"format": "dqt-hw-model"', '"format": "dqt-hw-model", "input_note": 1, "input_note": 2')
    _raw(tmp_path / "d.dqt", text, tensors)
    with pytest.raises(ModelFileError, match="duplicate key 'input_note'"):
        load_model(tmp_path / "d.dqt")


@pytest.mark.parametrize("edit, message", [
    (lambda h: h.__setitem__("version", True), "unsupported version True"),
    (lambda h: h["model"]["network"].__setitem__("num_classes", 10.0),
     "header.model.network.num_classes must be an integer, got 10.0"),
    (lambda h: h["model"]["network"].__setitem__("name", {"a": 1}), "header.model.network.name must be a string"),
    (lambda h: h["model"]["network"]["ops"][0].__setitem__("name", {"a": 1}),
     r"header.model.network.ops\[0\].name must be a string"),
    (lambda h: h["model"]["network"]["ops"][0].__setitem__("switchable", 0),
     r"ops\[0\].switchable must be true or false, got 0"),
    (lambda h: h["model"]["layers"]["fc"].__setitem__("m", [2 ** 70] * 10), r"integer 1180591620717411303424 outside int64"),
    (lambda h: h["model"]["layers"]["conv1"].__setitem__("shift", 2 ** 70), "outside int64"),
    (lambda h: h["model"]["layers"]["conv1"].__setitem__("extra", 1), r"unexpected \['extra'\]"),
    (lambda h: h.__setitem__("spec", {**h["spec"], "n_bits": 8.0}), "header.spec.n_bits must be an integer"),
    (lambda h: h["tensors"]["fc.bias"].__setitem__("shape", [11]), r"tensor fc.bias: header says int32 \[11\], stored int32 \[10\]"),
    (lambda h: h["tensors"]["fc.bias"].__setitem__("dtype", "int64"), "tensor fc.bias: header says int64"),
    (lambda h: h["model"]["network"].__setitem__("input_shape", [3, 11000, 11000]),
     "exceeds the limit max_tensor_elems"),
    (lambda h: h["model"]["network"]["ops"][0].__setitem__("out_ch", 10_000_000), "exceeds the limit max_channels"),
])
def test_header_schema(tiny, tmp_path, edit, message):
    _edited(tmp_path / "bad.dqt", tiny, edit)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(tmp_path / "bad.dqt")
    assert str(info.value).count("model file") == 1  # one sentence, the file named once


def test_nan_and_deep_nesting_refused(tiny, tmp_path):
    header, tensors = model_header(tiny)
    text = json.dumps(header, sort_keys=True).replace('"scales": {', '"scales": {"x": NaN, ', 1)
    _raw(tmp_path / "n.dqt", text, tensors)
    with pytest.raises(ModelFileError, match="NaN is not a JSON number"):
        load_model(tmp_path / "n.dqt")
    for depth in (40, 100_000):  # above the limit; far above Python's recursion limit
        _raw(tmp_path / "deep.dqt", '{"format": ' + "[" * depth + "]" * depth + "}", tensors)
        with pytest.raises(ModelFileError, match="max_json_depth"):
            load_model(tmp_path / "deep.dqt")


def test_huge_declared_input_is_refused_before_allocating(tiny, tmp_path):
    """Issue 10: a 14 KB file declaring a 3x11000x11000 input ran the machine out of memory."""
    def huge(h):
        h["model"]["network"]["input_shape"] = [3, 11000, 11000]
        h["model"]["network"]["ops"][0]["in_hw"] = [11000, 11000]
    _edited(tmp_path / "huge.dqt", tiny, huge)
    assert (tmp_path / "huge.dqt").stat().st_size < 64_000
    with pytest.raises(ModelFileError, match=r"input_shape \[3, 11000, 11000\]: elements: 363,000,000 exceeds "
                                             r"the limit max_tensor_elems.*--limit max_tensor_elems=VALUE"):
        load_model(tmp_path / "huge.dqt")


def test_limits_can_be_raised(tiny, tmp_path):
    save_model(tiny, tmp_path / "t.dqt")
    with pytest.raises(ModelFileError, match="op count: 9 exceeds the limit max_layers=3"):
        load_model(tmp_path / "t.dqt", Limits(max_layers=3))
    assert load_model(tmp_path / "t.dqt", parse_limits(["max_layers=9"])).network == tiny.network
    for bad in ("max_layers", "max_layers=0", "nope=3", "max_layers=1e9", "max_layers=" + "9" * 30):
        with pytest.raises(ValueError, match="--limit"):
            parse_limits([bad])


def test_logits_role_only_on_the_last_op():
    """Issue 10: a logits-range tensor used mid-network (residual or pool input) escaped the bounds proof
    (it assumed N-bit activations) and overflowed the 64-bit requant. The IR now refuses the placement."""
    net = topology("tiny")
    ops = list(net.ops)
    i = next(k for k, op in enumerate(ops) if isinstance(op, Conv) and op.switchable)
    ops[i] = dataclasses.replace(ops[i], output_kind="logits", switchable=False)
    with pytest.raises(ValueError, match=f"op {ops[i].name}: output_kind 'logits' is only for the last op"):
        Network(net.name, net.input_shape, tuple(ops), net.controller_input, net.num_classes)


def test_logits_mid_network_model_file_refused(tiny, tmp_path):
    def mid_logits(h):
        op = next(o for o in h["model"]["network"]["ops"] if o["kind"] == "conv" and o["switchable"])
        op["output_kind"], op["switchable"] = "logits", False
    _edited(tmp_path / "l.dqt", tiny, mid_logits)
    with pytest.raises(ModelFileError, match="output_kind 'logits' is only for the last op"):
        load_model(tmp_path / "l.dqt")
