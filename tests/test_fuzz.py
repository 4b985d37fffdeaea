"""Property-based fuzzing (hypothesis) of everything a user hands the toolkit: model headers and tensors, raw model
file bytes, topology CSVs, plans, CLI options and run folders.

The invariant everywhere: a clear error (ValueError / TypeError, or a one-line CLI error with exit != 0), or a
result identical to the one of a clean run; never another exception, a hang or a silently accepted invalid input.
Example counts are small in the default run (about a minute); `make fuzz` sets DQT_FUZZ=1 for >= 10,000 cases.
"""
import contextlib
import copy
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.numpy import save_file

from cli import cli
from golden.inference import infer
from golden.limits import Limits
from golden.model_file import METADATA_KEY, header_digest, load_model, model_header, save_model, tensor_digest
from golden.plan import parse_plan
from golden.run_folder import MANIFEST, RunFolder
from golden.spec import DEFAULT_SPEC
from golden.synthetic import synthetic_images
from golden.topologies import topology
from golden_fixtures import hand_model
from sim.config import ArrayConfig
from sim.simulate import simulate_workload
from sim.topology_csv import COLUMNS, read_topology

FUZZ = os.environ.get("DQT_FUZZ") == "1"
TIGHT = Limits(max_layers=64, max_channels=64, max_tensor_elems=1 << 14, max_batch_elems=1 << 16)
CSV_HEAD = ", ".join(COLUMNS) + ",\n"


def fuzz_settings(default: int, fuzz: int):
    """`default` examples in the normal test run, `fuzz` under `make fuzz`; no deadline, no example database."""
    return settings(max_examples=fuzz if FUZZ else default, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextlib.contextmanager
def scratch():
    with tempfile.TemporaryDirectory(prefix="dqt-fuzz-") as d:
        yield Path(d)


json_leaf = (st.none() | st.booleans() | st.integers(-(2 ** 80), 2 ** 80) | st.integers(-300, 300)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6))
json_value = st.recursive(json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c,
                                                                                         max_size=3), max_leaves=8)


# ---- model files ---------------------------------------------------------------------------------------------
HAND = hand_model()
HAND_HEADER, HAND_TENSORS = model_header(HAND)
EXTREME_IMAGES = np.array([np.full((1, 2, 2), -128), np.full((1, 2, 2), 127), [[[127, -128], [-128, 127]]],
                           [[[0, 1], [-1, 0]]]])


def _write(path: Path, header: dict, tensors: dict, relist: bool) -> None:
    if relist:
        header["tensors"] = {n: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": tensor_digest(a)}
                             for n, a in sorted(tensors.items())}
    header["digest"] = header_digest(header)
    save_file({n: np.ascontiguousarray(a) for n, a in tensors.items()}, str(path),
              metadata={METADATA_KEY: json.dumps(header, sort_keys=True)})


def _loads_and_runs_like_a_clean_model(path: Path) -> None:
    """The file is refused with a ValueError, or the model it holds runs without overflow on extreme inputs at
    every plan, identically on both backends and after a save / load round trip (a clean run)."""
    try:
        model = load_model(path, TIGHT)
    except ValueError:
        event("refused with a clear error")
        return
    event("accepted, checked against a clean run")
    images = EXTREME_IMAGES if model.network.input_shape == (1, 2, 2) else synthetic_images(model.network, 2, 0)
    images = np.clip(images, *model.spec.code_range(model.input_signed))
    save_model(model, path.with_suffix(".again"))
    again = load_model(path.with_suffix(".again"), TIGHT)
    for plan in (None, "uniform:2"):
        ref = infer(model, images, plan=plan, backend="numpy")
        assert np.array_equal(ref.logits, infer(model, images, plan=plan, backend="numba").logits)
        assert np.array_equal(ref.logits, infer(again, images, plan=plan, backend="numpy").logits)


def _paths(value, prefix=()):
    """Every key path of a JSON value (the value's own path included)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


HEADER_PATHS = [p for p in _paths(HAND_HEADER) if p and p[0] != "digest"]


@st.composite
def header_mutation(draw):
    """The hand model's header with one field replaced (by a nearby int, or any JSON value), deleted, or given
    an extra key; the digest is recomputed so the schema and validation, not the tamper check, must decide."""
    header = copy.deepcopy(HAND_HEADER)
    path = draw(st.sampled_from(HEADER_PATHS))
    parent = header
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    action = draw(st.sampled_from(["replace", "nudge", "delete", "add"]))
    if action == "nudge" and isinstance(old, int) and not isinstance(old, bool):
        parent[path[-1]] = old + draw(st.integers(-3, 3)) * draw(st.sampled_from([1, 7, 1 << 12, 1 << 40]))
    elif action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(old, dict):
        old[draw(st.text(max_size=6))] = draw(json_value)
    else:
        parent[path[-1]] = draw(json_value)
    return header, path[0] == "tensors"


@fuzz_settings(60, 3300)
@given(header_mutation())
def test_fuzz_model_header(mutation):
    header, touched_listing = mutation
    with scratch() as d:
        _write(d / "m.dqt", header, dict(HAND_TENSORS), relist=not touched_listing)
        _loads_and_runs_like_a_clean_model(d / "m.dqt")


@st.composite
def tensor_mutation(draw):
    name = draw(st.sampled_from(sorted(HAND_TENSORS)))
    a = HAND_TENSORS[name]
    dtype = draw(st.sampled_from([a.dtype, np.dtype(np.int64), np.dtype(np.int8)]))
    shape = draw(st.sampled_from([a.shape, (a.size,), (*a.shape[:-1], a.shape[-1] + 1)]))
    new = draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype)))
    return name, new


@fuzz_settings(40, 1500)
@given(tensor_mutation())
def test_fuzz_model_tensors(mutation):
    """Any weights and biases, extreme ones included: refused by validation or the bounds proof, or they run
    without overflow (the proof's promise) identically on both backends."""
    name, new = mutation
    tensors = {**HAND_TENSORS, name: new}
    with scratch() as d:
        _write(d / "m.dqt", copy.deepcopy(HAND_HEADER), tensors, relist=True)
        _loads_and_runs_like_a_clean_model(d / "m.dqt")


HAND_BYTES = None


def _hand_bytes() -> bytes:
    global HAND_BYTES
    if HAND_BYTES is None:
        with scratch() as d:
            save_model(HAND, d / "h.dqt")
            HAND_BYTES = (d / "h.dqt").read_bytes()
    return HAND_BYTES


@fuzz_settings(40, 1500)
@given(st.data())
def test_fuzz_model_file_bytes(data):
    """Flipped, inserted or cut bytes: a ModelFileError, or (a flip in JSON whitespace) the very same model."""
    raw = bytearray(_hand_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del raw[i:i + data.draw(st.integers(1, 64))]
        else:
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        if not raw:
            break
    with scratch() as d:
        (d / "m.dqt").write_bytes(bytes(raw))
        try:
            model = load_model(d / "m.dqt", TIGHT)
        except ValueError:
            event("refused with a clear error")
            return
        event("accepted, checked against a clean run")
        assert model.network == HAND.network and model.scales == HAND.scales
        for name, p in HAND.layers.items():
            assert np.array_equal(model.layers[name].weight, p.weight)
            assert np.array_equal(model.layers[name].bias, p.bias)


# ---- topology CSVs -------------------------------------------------------------------------------------------
csv_number = st.integers(1, 40).map(str)
csv_token = (csv_number | st.sampled_from(["0", "-3", "1.5", "", "x", "1:1", "2:4", "³", "9" * 30, " 7 "])
             | st.text(alphabet="0123456789,#$ \t\"", max_size=5))
csv_name = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=",\n\r"), max_size=8) \
    | st.just("DPconv")  # Cs: lone surrogates cannot be written to a UTF-8 file at all


@st.composite
def topology_rows(draw):
    """1-5 rows, each a plausible layer (small sizes, filter within the map) or, one time in four, any tokens."""
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 3)):
            h, w = draw(st.integers(4, 24)), draw(st.integers(4, 24))
            numbers = [h, w, draw(st.integers(1, h)), draw(st.integers(1, w)), draw(st.integers(1, 8)),
                       draw(st.integers(1, 16)), draw(st.integers(1, 3))]
            rows.append([draw(csv_name)] + [str(v) for v in numbers])
        else:
            width = draw(st.sampled_from([8, 8, 8, 9, 7, 10]))
            rows.append([draw(csv_name)] + [draw(csv_number if draw(st.booleans()) else csv_token)
                                            for _ in range(width - 1)])
    return rows


@fuzz_settings(80, 2800)
@given(topology_rows(), st.booleans())
def test_fuzz_topology_csv(rows, trailing_comma):
    """A ValueError naming the row, or a workload that simulates and parses the same from a reformatted CSV."""
    text = CSV_HEAD + "".join(", ".join(r) + ("," if trailing_comma else "") + "\n" for r in rows)
    with scratch() as d:
        (d / "t.csv").write_text(text)
        try:
            workload = read_topology(d / "t.csv", DEFAULT_SPEC, limits=TIGHT).workload
        except ValueError as e:
            assert "topology" in str(e)
            event("refused with a clear error")
            return
        event("accepted, checked against a clean run")
        assert 1 <= len(workload) <= TIGHT.max_layers
        clean = CSV_HEAD + "".join(",".join(f.strip() for f in r) + "\n" for r in rows)
        (d / "clean.csv").write_text(clean)
        again = read_topology(d / "clean.csv", DEFAULT_SPEC, limits=TIGHT).workload
        assert again.names == workload.names and list(again.m) == list(workload.m)
        assert list(again.k) == list(workload.k) and list(again.n) == list(workload.n)
        totals = simulate_workload(workload, ArrayConfig(rows=4, cols=4)).totals()
        assert totals["total_cycles"] > 0 and 0 < totals["utilization"] <= 1 and np.isfinite(totals["energy_uj"])


# ---- plans ---------------------------------------------------------------------------------------------------
TINY = topology("tiny")
plan_key = st.sampled_from([layer.name for layer in TINY.layers] + ["default"]) | st.text(max_size=6)
plan_value = st.integers(0, 10) | st.lists(st.integers(0, 10), max_size=3) | json_value


plan_width = st.integers(2, 8) | st.integers(0, 10) | st.lists(st.integers(1, 9), min_size=1, max_size=3)
layer_plan = st.fixed_dictionaries({"default": plan_width},
                                   optional={layer.name: plan_width for layer in TINY.switchable_layers})


@fuzz_settings(80, 1500)
@given(layer_plan | st.dictionaries(plan_key, plan_value, max_size=6) | json_value, st.booleans())
def test_fuzz_plan_files(mapping, as_uniform):
    """A ValueError / TypeError, or widths in [2, N] for switchable layers and N for the stem and classifier."""
    with scratch() as d:
        if as_uniform:
            text = f"uniform:{mapping}" if not isinstance(mapping, dict) else "uniform:"
        else:
            (d / "p.json").write_text(json.dumps(mapping))
            text = str(d / "p.json")
        try:
            plan = parse_plan(text, TINY, DEFAULT_SPEC)
        except (ValueError, TypeError):
            event("refused with a clear error")
            return
        event("accepted, checked")
        widths = plan.layer_widths(TINY, DEFAULT_SPEC)
        for layer in TINY.layers:
            b_w, b_a = widths[layer.name]
            assert type(b_w) is int and type(b_a) is int
            if layer.switchable:
                assert 2 <= b_w <= 8 and 2 <= b_a <= 8
            else:
                assert (b_w, b_a) == (8, 8)


# ---- CLI options ---------------------------------------------------------------------------------------------
int_text = st.integers(-5, 70).map(str) | st.sampled_from(["0", "1", str(2 ** 31), str(10 ** 20), "x", "", "1e3"])
cli_options = st.fixed_dictionaries({}, optional={
    "--pe": st.builds(lambda r, c, sep: f"{r}{sep}{c}", int_text, int_text, st.sampled_from(["x", "X", "*", ""])),
    "--dataflow": st.sampled_from(["os", "ws", "is", "rs"]),
    "--pe-mode": st.sampled_from(["fixed", "fused", "bitserial"]),
    "--layout": st.sampled_from(["packed", "bitplane"]),
    "--weight-sram-kib": int_text, "--act-sram-kib": int_text, "--out-sram-kib": int_text,
    "--dram-bytes-per-cycle": int_text,
    "--clock-mhz": st.sampled_from(["500", "1e-300", "1e308", "nan", "inf", "-1", "0.5"]),
    "--plan": st.sampled_from(["uniform:2", "uniform:8", "uniform:9", "uniform:x", "uniform:³"]),
    "--limit": st.sampled_from(["max_layers=1", "max_layers=10", "max_channels=2", "bogus=1", "max_layers=-1"]),
})


@fuzz_settings(12, 300)
@given(cli_options)
def test_fuzz_sim_cli_options(options):
    """`sim --topology` with any option values into the folder of an earlier sim run: a one-line error naming an
    option (exit != 0) that leaves the earlier run as it was, or exit 0 and a folder equal to a clean run's into
    an empty folder; never an exception."""
    with scratch() as d:
        (d / "t.csv").write_text(CSV_HEAD + "c1, 8, 8, 3, 3, 3, 8, 1,\nDPc2, 6, 6, 3, 3, 2, 1, 1,\n")
        with RunFolder(d / "o", "sim") as folder:  # an earlier sim run, with a file this one does not write
            folder.publish({"summary.json": b'{"model": "earlier"}', "logits.npy": b"earlier"})
        earlier = (d / "o" / "summary.json").read_bytes()
        extra = [item for key, value in options.items() for item in (key, value)]
        res = CliRunner().invoke(cli, ["sim", "--topology", str(d / "t.csv"), "--out", str(d / "o"), *extra])
        assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
        if res.exit_code != 0:
            last = res.output.strip().splitlines()[-1]
            assert last.startswith("Error:") and "Traceback" not in res.output
            assert (d / "o" / "summary.json").read_bytes() == earlier
            event("refused with a clear error")
            return
        event("accepted, checked against a clean run")
        clean = CliRunner().invoke(cli, ["sim", "--topology", str(d / "t.csv"), "--out", str(d / "clean"), *extra])
        assert clean.exit_code == 0
        for name in ("summary.json", "layers.csv", "table.tex", "COMPUTE_REPORT.csv"):
            assert (d / "o" / name).read_bytes() == (d / "clean" / name).read_bytes()
        assert sorted(p.name for p in (d / "o").iterdir()) == sorted(p.name for p in (d / "clean").iterdir())


# ---- run folders ---------------------------------------------------------------------------------------------
file_name = st.text(alphabet="abc.-_/", min_size=1, max_size=8)
pre_state = st.sampled_from(["missing", "empty", "foreign", "same-command", "other-command", "leftovers",
                             "summary-dir"])


@fuzz_settings(60, 1500)
@given(st.dictionaries(file_name, st.binary(max_size=32), min_size=1, max_size=4), pre_state, st.booleans())
def test_fuzz_run_folder(files, state, force):
    """Publishing into any prior state: a RunFolderError / ValueError (the prior folder untouched), or a folder that
    holds exactly the new files and the manifest, like a publication into an empty folder; no leftovers."""
    with scratch() as d:
        out = d / "o"
        if state != "missing":
            out.mkdir()
        if state == "foreign":
            (out / "notes.txt").write_text("x")
        elif state in ("same-command", "other-command"):
            with RunFolder(out, "fuzz" if state == "same-command" else "other") as f:
                f.publish({"old.bin": b"old"})
        elif state == "leftovers":
            (d / ".o.staging-dead").mkdir()
            (d / ".o.old-dead").mkdir()
            (d / ".o.lock").write_text("")
        elif state == "summary-dir":
            (out / "summary.json").mkdir()
        before = sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if not p.name.startswith(".o."))
        try:
            with RunFolder(out, "fuzz", force=force) as f:
                f.publish(files)
        except ValueError:
            after = sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if not p.name.startswith(".o."))
            assert after == before
            event("refused with a clear error")
            return
        event("accepted, checked against a clean run")
        got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        manifest = json.loads(got.pop(MANIFEST))
        assert got == {Path(n).as_posix(): v for n, v in files.items()}
        assert manifest["complete"] is True and set(manifest["files"]) == set(files)
        assert [p.name for p in d.iterdir() if p.name.startswith(".o.")] == []
