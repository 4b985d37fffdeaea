"""Structurally odd networks are refused naming the layer and the field (in the IR, and so in a model file's
header, which stores the full op list); the golden speed bench writes its results atomically."""
import pytest

from bench.golden_speed import write_results
from golden.ir import Conv, GlobalAvgPool, Network
from golden.model_file import ModelFileError, header_digest, load_model, read_header, save_model, write_model_file
from golden.topologies import TOPOLOGIES

from golden_fixtures import hand_model

STEM = Conv("c", "input", 2, 2, (4, 4), 3, 1, 1, switchable=False)
FC = Conv("fc", "gap", 2, 3, (1, 1), output_kind="logits", switchable=False, kind="linear")


def _net(*ops):
    return Network("t", (2, 4, 4), ops, "input", 3)


def test_wide_layer_with_a_residual_is_refused():
    with pytest.raises(ValueError, match=r"layer d: residual must be None for output_kind 'wide', got 'c'"):
        Conv("d", "c", 2, 2, (4, 4), output_kind="wide", residual="c")


def test_residual_on_a_logits_layer_is_refused():
    with pytest.raises(ValueError, match=r"layer fc: residual must be None for output_kind 'logits'"):
        Conv("fc", "gap", 2, 2, (1, 1), output_kind="logits", residual="gap", switchable=False, kind="linear")


def test_switchable_classifier_is_refused():
    with pytest.raises(ValueError, match=r"layer fc: switchable must be False for output_kind 'logits'"):
        Conv("fc", "gap", 2, 3, (1, 1), output_kind="logits", kind="linear")


def test_switchable_stem_is_refused():
    stem = Conv("c", "input", 2, 2, (4, 4), 3, 1, 1)
    with pytest.raises(ValueError, match=r"network t: layer c: switchable must be False for the stem"):
        _net(stem, GlobalAvgPool("gap", "c", 2, (4, 4)), FC)
    _net(STEM, GlobalAvgPool("gap", "c", 2, (4, 4)), FC)  # the same net with a fixed stem is fine


def test_wide_tensor_read_as_an_input_is_refused():
    ds = Conv("d", "c", 2, 2, (4, 4), output_kind="wide")
    with pytest.raises(ValueError, match=r"op gap reads the 'wide' tensor 'd' as its input"):
        _net(STEM, ds, GlobalAvgPool("gap", "d", 2, (4, 4)), FC)
    block = Conv("b", "c", 2, 2, (4, 4), 3, 1, 1, residual="d")
    _net(STEM, ds, block, GlobalAvgPool("gap", "b", 2, (4, 4)), FC)  # read as a residual: fine


def test_wide_tensor_as_controller_input_is_refused():
    ds = Conv("d", "c", 2, 2, (4, 4), output_kind="wide")
    block = Conv("b", "c", 2, 2, (4, 4), 3, 1, 1, residual="d")
    ops = (STEM, ds, block, GlobalAvgPool("gap", "b", 2, (4, 4)), FC)
    with pytest.raises(ValueError, match=r"controller_input 'd' is not an activation tensor"):
        Network("t", (2, 4, 4), ops, "d", 3)


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_every_topology_passes_the_structure_checks(name):
    TOPOLOGIES[name]()


def _tamper(path, edit):
    """Rewrite a model file's header through `edit(ops)` with a fresh digest (what an attacker can do)."""
    header, tensors = read_header(path)
    ops = {op["name"]: op for op in header["model"]["network"]["ops"]}
    edit(ops)
    header["digest"] = header_digest(header)
    write_model_file(path, header, tensors)


@pytest.mark.parametrize("edit, message", [
    (lambda ops: ops["conv1"].update(switchable=True), r"layer conv1: switchable must be False for the stem"),
    (lambda ops: ops["fc"].update(switchable=True), r"layer fc: switchable must be False for output_kind"),
    (lambda ops: ops["block"].update(output_kind="wide"), r"layer block: residual must be None for output_kind "
                                                          r"'wide'"),
])
def test_tampered_model_file_header_is_refused(tmp_path, edit, message):
    path = tmp_path / "hand.safetensors"
    save_model(hand_model(), path)
    load_model(path)
    _tamper(path, edit)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def _row(**extra):
    return {"plan": "uniform:8", "batch": 1, "numba_img_s": 2.0, "numpy_img_s": 1.0, "ort_img_s": 3.0, **extra}


def test_bench_results_are_written_atomically(tmp_path):
    write_results([_row()], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json", "speed.png"]
    before = (tmp_path / "results.json").read_bytes()
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_results([_row(bad=object())], tmp_path)  # json.dump fails half-way through the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json", "speed.png"]
    assert (tmp_path / "results.json").read_bytes() == before
