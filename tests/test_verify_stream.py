"""The streaming harness (verify/stream): job/result files, the C++ testbench against the cocotb conv-layer bench on
the same layers (outputs and cycles) for fixed and fused PEs, fused tiles at every width pair, the lane_swap fault,
whole networks through it (bit-exact, cycles == sim, logits == golden), resuming an interrupted run, dynamic plans,
and model files in make verify's conv-layer benches."""
import itertools
import json

import numpy as np
import pytest

from golden.model_file import save_model
from golden.plan import parse_plan
from golden.synthetic import synthetic_model
from verify import runner
from sim.tile import os_layer_schedule
from verify.designs import generate, rtl_config
from verify.gemm import tiles
from verify.layer_job import LayerJob, model_layer_picks, prepare_layer_job
from verify.long_run import stream_long_run, verify_long
from verify.plan import FUSED_LAYER_K_MAX, default_suite
from verify.stream.job import read_result, write_job
from verify.stream.session import StreamSession
from verify.tile_job import tile_lanes

SHAPE = (3, 5)  # odd: edge tiles in both directions, K < R and K > R layers
MODEL = "tiny_bottleneck"  # residual, wide (downsample) and logits layers, K from 4 to 72
FUSED_SHAPE = (3, 2)  # fused tiles of 3..12 filters x 2..8 pixels: edge tiles at every width pair


@pytest.fixture(scope="module")
def design():
    return generate("top", rtl_config(*SHAPE))


@pytest.fixture(scope="module")
def session(design):
    with StreamSession(design) as s:
        yield s


@pytest.fixture(scope="module")
def fused_design():
    return generate("top", rtl_config(*FUSED_SHAPE, pe_mode="fused"))


@pytest.fixture(scope="module")
def fused_session(fused_design):
    with StreamSession(fused_design) as s:
        yield s


def test_job_file_holds_the_operands_and_refuses_what_does_not_fit(tmp_path):
    job = LayerJob.load(prepare_layer_job("layer1.0.conv3", 4, 6, tmp_path, MODEL))
    write_job(tmp_path / "job.bin", job, *SHAPE, 0)
    raw = (tmp_path / "job.bin").read_bytes()
    head = np.frombuffer(raw, "<i8", 13, 4)
    (m, k), n = job.weights.shape, job.acts.shape[1]
    assert raw[:4] == b"DQTJ" and list(head[:5]) == [*SHAPE, m, k, n] and head[10] == 1  # res_en
    assert list(head[11:]) == [1, 1]  # lanes_w, lanes_a: the default, a fixed-PE tile
    w = np.frombuffer(raw, "<i4", m * k, 4 + 104).reshape(m, k)
    assert np.array_equal(w, job.weights)
    assert len(raw) == 4 + 104 + 4 * (m * k + k * n) + 8 * (3 * m + m * n)
    too_wide = LayerJob(**{**job.__dict__, "weights": job.weights + (1 << 40)})
    with pytest.raises(ValueError, match="does not fit <i4"):
        write_job(tmp_path / "bad.bin", too_wide, *SHAPE, 0)


def test_result_file_of_the_wrong_size_is_refused(tmp_path):
    path = tmp_path / "r.bin"
    path.write_bytes(b"DQTR" + np.array([1, 10, 0], "<i8").tobytes() + np.array([5, 5], "<i4").tobytes()
                     + np.zeros(6, "<i8").tobytes())
    assert read_result(path, 2, 3).out.shape == (2, 3)
    with pytest.raises(ValueError, match="expected"):
        read_result(path, 2, 4)


@pytest.mark.parametrize("layer, b_w, b_a", [("layer1.0.conv3", 4, 6), ("layer1.0.downsample", 2, 8),
                                              ("layer2.0.conv2", 6, 4), ("fc", 8, 8), ("conv1", 8, 8)])
def test_stream_and_cocotb_agree_on_a_layer(design, session, tmp_path, layer, b_w, b_a):
    """The same job through the cocotb conv-layer bench and the C++ harness: both bit-exact against golden
    (so equal outputs), the same counted layer cycles, equal to the simulator's."""
    _stream_and_cocotb_agree(design, session, tmp_path, layer, b_w, b_a)


@pytest.mark.parametrize("layer, b_w, b_a", [("layer1.0.conv3", 2, 3), ("layer2.0.conv2", 5, 4)])
def test_fused_stream_and_cocotb_agree_on_a_layer(fused_design, fused_session, tmp_path, layer, b_w, b_a):
    """As above on a fused top: a residual layer with 4 x 2 lanes (b_a 3 rounded up to 4) and a K = 72 layer with
    1 x 2 lanes (b_w 5 rounded up to 8)."""
    _stream_and_cocotb_agree(fused_design, fused_session, tmp_path, layer, b_w, b_a)


def _stream_and_cocotb_agree(design, session, tmp_path, layer, b_w, b_a):
    path = prepare_layer_job(layer, b_w, b_a, tmp_path, MODEL)
    job = LayerJob.load(path)
    got, figures = session.run_layer(job)
    assert np.array_equal(got, job.expected)
    assert figures["tile_cycle_errors"] == 0 and figures["protocol_errors"] == 0
    assert figures["rtl_cycles"] == figures["sim_cycles"]
    cocotb = runner.run_bench(runner.build(design, "verilator"), "verify.benches.conv_layer",
                              env={"VERIFY_JOB": str(path)}, tag=f"stream-vs-cocotb-{layer}")
    assert cocotb.ok
    rec = next(r for r in cocotb.records if r["bench"] == f"layer {layer}")
    assert rec["mismatches"] == 0 and rec["vectors"] == got.size
    assert (rec["tiles"], rec["rtl_cycles"]) == (figures["tiles"], figures["rtl_cycles"])


FUSED_WIDTH_PAIRS = [*itertools.product((2, 4, 8), repeat=2), (3, 5), (5, 3), (6, 7), (7, 6)]
FUSED_LAYERS = ("layer1.0.conv3", "layer1.0.conv2", "layer2.0.conv2", "layer1.0.downsample")  # residual K 4, K 36,
# K 72, wide output


def test_fused_layers_at_every_width_pair_one_after_the_other(fused_session, tmp_path):
    """Every width pair the fused PE runs (2, 4, 8 bits) and rounded-up ones (3 -> 4, 5..7 -> 8), layer after layer
    in one harness process (the widths switch between layers without a reset): outputs == golden, every tile's
    cycles == os_tile_cycles, the layer's == the simulator's == os_layer_schedule over the fused tiles."""
    p, lanes_seen = fused_session.params, set()
    for i, (b_w, b_a) in enumerate(FUSED_WIDTH_PAIRS):
        layer = FUSED_LAYERS[i % len(FUSED_LAYERS)]
        job = LayerJob.load(prepare_layer_job(layer, b_w, b_a, tmp_path, MODEL))
        got, figures = fused_session.run_layer(job)
        lanes_w, lanes_a = tile_lanes(b_w, b_a, p.fusion_widths)
        lanes_seen.add((lanes_w, lanes_a))
        (m, k), n = job.weights.shape, job.acts.shape[1]
        n_tiles = len(tiles(m, n, p.rows * lanes_w, p.cols * lanes_a))
        where = f"{layer} w{b_w}a{b_a}"
        assert np.count_nonzero(job.expected) and np.array_equal(got, job.expected), where
        assert figures["tiles"] == n_tiles and figures["tile_cycle_errors"] == 0, where
        assert figures["protocol_errors"] == 0, where
        schedule = os_layer_schedule(p.rows, p.cols, k, n_tiles, lanes_w, lanes_a)
        assert figures["rtl_cycles"] == figures["sim_cycles"] == schedule.total, where
    assert lanes_seen == set(itertools.product((1, 2, 4), repeat=2))


def test_lane_swap_fault_gives_mismatches_in_the_stream_harness(tmp_path):
    """The fused PE's deliberate lane_swap fault (rtl/params.py FAULTS: weight lanes 0 and 1 swapped) is caught on
    a layer with two weights per port (b_w = 4): wrong outputs, while the protocol and the cycles stay right."""
    faulty = generate("top", rtl_config(*FUSED_SHAPE, pe_mode="fused", fault="lane_swap"))
    job = LayerJob.load(prepare_layer_job("layer1.0.conv2", 4, 8, tmp_path, MODEL))
    with StreamSession(faulty) as s:
        got, figures = s.run_layer(job)
    assert int(np.sum(got != job.expected)) > 0
    assert figures["protocol_errors"] == 0 and figures["rtl_cycles"] == figures["sim_cycles"]


def test_a_wrong_output_is_seen_as_a_mismatch(session, tmp_path):
    """The harness reports what the RTL drains: a job whose expected output is off by one in one place differs
    there (the comparison can fail)."""
    job = LayerJob.load(prepare_layer_job("layer1.0.conv3", 4, 6, tmp_path, MODEL))
    got, _ = session.run_layer(job)
    wrong = job.expected.copy()
    wrong[1, 2] += 1
    assert int(np.sum(got != wrong)) == 1


def test_whole_network_resumes_where_it_stopped(design, tmp_path):
    out = tmp_path / "run"
    first = stream_long_run(MODEL, 0, out, pe="3x5")
    assert first["passed"] and first["layers"] == 10 and first["resumed_layers"] == 0
    assert first["rtl_cycles"] == first["sim_cycles"] and first["mismatches"] == 0
    assert first["logits"] == [{"image": 0, "logits_match": True, "logits_mismatches": 0}]
    journal = out / "image-0" / "journal.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:4]) + "\n" + lines[4][:20])  # killed while appending the 5th layer
    again = stream_long_run(MODEL, 0, out, pe="3x5")
    assert again["passed"] and again["resumed_layers"] == 4 and again["layers"] == 10
    assert [r["bench"] for r in again["records"]] == [r["bench"] for r in first["records"]]
    assert [r["rtl_cycles"] for r in again["records"]] == [r["rtl_cycles"] for r in first["records"]]
    assert (out / "layers.csv").read_text().count("\n") == 11
    assert (out / "layers.png").stat().st_size > 0 and (out / "layers.svg").stat().st_size > 0
    with pytest.raises(ValueError, match="other settings .*plan"):
        stream_long_run(MODEL, 0, out, plan="uniform:4", pe="3x5")


def test_fused_whole_network_defaults_to_the_stream_harness(fused_design, tmp_path):
    """verify-long on a fused top: the stream harness by default; every layer at the width cycle's widths (they
    switch from layer to layer) bit-exact and cycle-exact, logits == golden."""
    s = verify_long(MODEL, pe="x".join(map(str, FUSED_SHAPE)), pe_mode="fused", out=tmp_path / "fused")
    assert s["harness"] == "stream" and s["pe_mode"] == "fused" and s["design"] == fused_design.key
    assert s["passed"] and s["layers"] == 10 and s["mismatches"] == 0
    assert all(r["cycles_match"] and r["protocol_errors"] == 0 for r in s["records"])
    assert s["rtl_cycles"] == s["sim_cycles"] and s["logits"][0]["logits_match"]
    widths = [(r["b_w"], r["b_a"]) for r in s["records"]]
    assert len(set(widths)) > 3 and any(a != b for a, b in zip(widths, widths[1:]))


def test_dynamic_plan_runs_each_image_at_its_controllers_widths(design, tmp_path):
    from golden.inference import infer
    from golden.synthetic import synthetic_images

    s = verify_long(MODEL, pe="3x5", plan="dynamic", images=2, out=tmp_path / "dyn")
    assert s["passed"] and s["layers"] == 20 and s["harness"] == "stream"
    model = synthetic_model(MODEL, 0)
    want = infer(model, synthetic_images(model.network, 2, 0), dynamic=True).widths
    for image in (0, 1):
        got = {r["bench"]: (r["b_w"], r["b_a"]) for r in s["records"] if r["image"] == image}
        assert got == {layer.name: want[image][layer.name] for layer in model.network.layers}
    assert json.loads((tmp_path / "dyn" / "summary.json").read_text())["images"] == 2


def test_model_file_runs_through_the_stream_and_the_cocotb_path_refuses_it(design, tmp_path):
    path = tmp_path / "tiny.safetensors"
    model = synthetic_model("tiny", 1)
    save_model(model, path)
    s = verify_long(str(path), pe="3x5", plan="uniform:4", out=tmp_path / "file")
    widths = parse_plan("uniform:4", model.network, model.spec).layer_widths(model.network, model.spec)
    assert s["passed"] and s["layers"] == 7
    assert {r["bench"]: (r["b_w"], r["b_a"]) for r in s["records"]} == widths
    with pytest.raises(ValueError, match="need --harness stream"):
        verify_long(str(path), harness="cocotb", out=tmp_path / "c")


def test_make_verify_model_picks_the_conv_layer_benches_from_the_file(tmp_path):
    path = tmp_path / "tiny.safetensors"
    model = synthetic_model("tiny", 1)
    save_model(model, path)
    picks = model_layer_picks(model, FUSED_LAYER_K_MAX)
    assert picks == {"stem": ("conv1", 8, 8), "middle": ("layer2.0.downsample", 4, 6),
                     "fused": ("layer2.0.downsample", 2, 3)}
    conv = {r.name: r for r in default_suite(str(path)) if r.module == "conv_layer"}
    assert sorted(conv) == ["conv_layer", "conv_layer_fused", "conv_layer_stem"]
    assert conv["conv_layer"].params == {"layer": "layer2.0.downsample", "b_w": 4, "b_a": 6, "model": str(path)}
    job = LayerJob.load(prepare_layer_job("conv1", 8, 8, tmp_path, str(path), seed=0))
    assert job.name == "conv1" and job.expected.shape == (8, 256)
    default = {r.name: r.params for r in default_suite() if r.module == "conv_layer"}
    assert default["conv_layer"] == {"layer": "layer4.0.downsample", "b_w": 4, "b_a": 6}


def test_generated_design_is_reused_until_the_generator_or_config_changes(monkeypatch, tmp_path):
    import verify.designs as designs
    from verify import toolchain

    with toolchain.build_root_at(tmp_path):
        first = designs.generate("view_unit", rtl_config(4, 4))
        monkeypatch.setattr(designs, "write_unit_rtl", lambda *a: (_ for _ in ()).throw(AssertionError("elaborated")))
        assert designs.generate("view_unit", rtl_config(4, 4)) == first  # the stamp matches: no elaboration
        stamp = tmp_path / "rtl" / "view_unit" / "generator.sha256"
        stamp.write_text("0" * 64)  # what an edited generator source does to the digest
        with pytest.raises(AssertionError, match="elaborated"):
            designs.generate("view_unit", rtl_config(4, 4))


@pytest.mark.parametrize("args, message", [
    (["--model", "no-such.safetensors"], "neither a topology"),
    (["--images", "0"], "--images must be >= 1"),
    (["--pe-mode", "fused", "--harness", "cocotb", "--images", "2"], "--images needs --harness stream"),
    (["--harness", "cocotb", "--plan", "dynamic"], "need --harness stream"),
])
def test_verify_long_cli_names_a_bad_option_in_one_line(tmp_path, args, message):
    from click.testing import CliRunner

    from cli import cli

    result = CliRunner().invoke(cli, ["verify-long", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
