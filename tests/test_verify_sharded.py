"""RTL runs on the execution layer: per-process build roots (no two builds share a folder), verify-long sharded
by layer (golden feeds each layer what the RTL would), aggregation in network order; the end-to-end run on a
2-worker LocalCluster against the whole-network bench is behind -m slow (two Verilator builds)."""
from pathlib import Path

import numpy as np
import pytest

from dist.executor import SERIAL, ExecutorOptions, map_items
from golden.inference import infer
from golden.ir import Conv
from golden.plan import parse_plan
from golden.synthetic import synthetic_images, synthetic_model
from verify import runner, toolchain
from verify.designs import generate, rtl_config
from verify.manifest import DutParams
from verify.sharded_long import RtlTarget, aggregate, layer_jobs, sharded_long_run, worker_build_root

TINY = RtlTarget(rows=4, cols=4, k_max=256)


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as local:
        yield local


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_build_root_is_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv(toolchain.BUILD_ROOT_ENV, raising=False)
    assert toolchain.build_root() == toolchain.BUILD_ROOT
    with toolchain.build_root_at(tmp_path / "a") as root:
        assert root == toolchain.build_root() == (tmp_path / "a").resolve()
        with toolchain.build_root_at(tmp_path / "b"):
            assert toolchain.build_root() == (tmp_path / "b").resolve()
        assert toolchain.build_root() == (tmp_path / "a").resolve()
    assert toolchain.build_root() == toolchain.BUILD_ROOT
    monkeypatch.setenv(toolchain.BUILD_ROOT_ENV, str(tmp_path / "env"))
    assert toolchain.build_root() == (tmp_path / "env").resolve()


def test_two_build_roots_share_no_files(tmp_path):
    """The same design generated and built (Icarus, quick) under two roots: two builds, disjoint files."""
    built = {}
    for name in ("a", "b"):
        with toolchain.build_root_at(tmp_path / name):
            design = generate("view_unit", rtl_config(4, 4))
            built[name] = runner.build(design, "icarus")
            assert runner.build(design, "icarus") is built[name]  # memoised per build folder
    a, b = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    assert built["a"] is not built["b"]
    assert built["a"].build_dir == a / "icarus" / "view_unit" and built["b"].build_dir == b / "icarus" / "view_unit"
    assert all(str(src).startswith(str(a)) for src in built["a"].design.sources)
    assert all(str(src).startswith(str(b)) for src in built["b"].design.sources)
    files_a, files_b = files_under(a), files_under(b)
    assert any(p.suffix == ".vvp" for p in files_a) and any(p.suffix == ".vvp" for p in files_b)
    assert {p.relative_to(a) for p in files_a} == {p.relative_to(b) for p in files_b}  # same build, twice
    assert not files_a & files_b


def test_layer_jobs_feed_golden_tensors_in_network_order(tmp_path):
    """Each job's input is golden's output of the op before it under the plan; its expected output is golden's."""
    with toolchain.build_root_at(tmp_path):
        spec = DutParams.load(TINY.design().manifest_path).spec
    model = synthetic_model("tiny", 0)
    jobs = layer_jobs("tiny", 0, spec, "uniform:4")
    convs = [op for op in model.network.ops if isinstance(op, Conv)]
    assert [job.name for job in jobs] == [op.name for op in convs]
    image = synthetic_images(model.network, 1, 0)
    plan = parse_plan("uniform:4", model.network, model.spec)
    widths = plan.layer_widths(model.network, model.spec)
    tensors = infer(model, image, plan=plan, keep_tensors=True).tensors
    assert {(job.b_w, job.b_a) for job in jobs} == {(4, 4), (8, 8)}  # stem and classifier stay at N
    for job, op in zip(jobs, convs):
        assert (job.b_w, job.b_a) == tuple(widths[op.name]) and job.res_en == (op.residual is not None)
        assert np.array_equal(job.expected, tensors[op.name][0].reshape(op.out_ch, -1))
    assert np.array_equal(jobs[-1].expected.reshape(-1), infer(model, image, plan="uniform:4").logits[0])
    cycled = layer_jobs("tiny", 0, spec)  # no plan: the whole-network bench's width cycle
    assert len({(job.b_w, job.b_a) for job in cycled}) > 1


def layer_result(name, mismatches=0, failed=(), build_dir="w0"):
    return {"layer": {"bench": name, "vectors": 10, "mismatches": mismatches, "tiles": 2, "rtl_cycles": 30,
                      "sim_cycles": 30, "seconds": 1.0},
            "cycles": {"bench": f"layer {name} cycles", "vectors": 2, "mismatches": 0},
            "failed": list(failed), "build_dir": build_dir, "build_s": 0.5}


def test_aggregate_keeps_order_and_counts_every_failure():
    ok = aggregate([layer_result("a"), layer_result("b", build_dir="w1")])
    assert ok["passed"] and ok["layers"] == 2 and ok["outputs_compared"] == 20 and ok["tiles"] == 4
    assert ok["rtl_cycles"] == ok["sim_cycles"] == 60 and ok["build_dirs"] == ["w0", "w1"]
    assert [r["bench"] for r in ok["records"]] == ["a", "layer a cycles", "b", "layer b cycles"]
    bad = aggregate([layer_result("a", mismatches=3), layer_result("b", failed=["conv_layer_bit_exact"])])
    assert not bad["passed"] and bad["mismatches"] == 3 and bad["failed_tests"] == ["conv_layer_bit_exact"]


def test_each_dask_worker_gets_its_own_build_root(cluster, tmp_path):
    roots = map_items(root_of_this_process, range(8), context=tmp_path,
                      options=ExecutorOptions(scheduler=cluster.scheduler_address, chunk_size=1))
    assert len(set(roots)) == 2 and all(r.parent == tmp_path and r.name.startswith("worker-") for r in roots)
    assert map_items(root_of_this_process, [0], context=tmp_path, options=SERIAL) == [None]


def root_of_this_process(workers_root, _item):
    return worker_build_root(workers_root)


@pytest.mark.slow
def test_sharded_on_two_workers_equals_the_whole_network_bench(cluster, tmp_path):
    """tiny through a 4x4 array: one task per layer on 2 Dask workers (two Verilator builds, one per worker)
    gives the whole-network bench's per-layer records (the RTL fed by itself there, by golden here)."""
    target = RtlTarget(rows=4, cols=4, k_max=256, workers_root=tmp_path / "workers")
    summary = sharded_long_run("tiny", 0, tmp_path / "out", ExecutorOptions(scheduler=cluster.scheduler_address),
                               target)
    assert summary["passed"] and summary["mismatches"] == 0 and summary["layers"] == 7
    dirs = summary["build_dirs"]
    assert len(dirs) == 2 and all(d.startswith(str(tmp_path / "workers")) for d in dirs)
    with toolchain.build_root_at(tmp_path / "whole"):
        whole = runner.run_bench(runner.build(target.design(), "verilator"), "verify.benches.network",
                                 env={"VERIFY_MODEL": "tiny", "VERIFY_SEED": "0"}, tag="network")
    assert whole.ok
    fields = ("bench", "b_w", "b_a", "tiles", "rtl_cycles", "sim_cycles", "vectors", "mismatches")
    per_layer = [r for r in whole.records if "tiles" in r and r["bench"] != "network tile cycles"]
    sharded = [r for r in summary["records"] if not r["bench"].endswith(" cycles")]
    assert [[r[f] for f in fields] for r in sharded] == [[r[f] for f in fields] for r in per_layer]
    assert (tmp_path / "out" / "layers.csv").read_text().count("\n") == 8


def test_a_layer_deeper_than_the_buffer_is_refused_before_any_build(tmp_path):
    with toolchain.build_root_at(tmp_path), pytest.raises(ValueError, match="--k-max 64: layer .* needs K = 144"):
        sharded_long_run("tiny", 0, None, SERIAL, RtlTarget(rows=4, cols=4, k_max=64))
    assert not (tmp_path / "verilator").exists()
