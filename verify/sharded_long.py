"""verify-long sharded by layer on the execution layer (dist/executor.py: serial, a Dask LocalCluster or
`--scheduler`): every conv / linear layer of the network is one task running the conv-layer bench
(verify.benches.conv_layer) on the worker's own Verilator build.

Each layer's input is golden's output of the layers before it (golden `infer` under the same plan, every
tensor kept), not the RTL's: the whole-network bench (verify.benches.network) checks that the RTL's output of
every layer equals golden's bit for bit (docs/spec.md: the RTL computes the golden arithmetic exactly), so
whenever that run passes the two feeds are the same arrays and every layer sees the same operands, tiles and
cycle counts. Layers are then independent and shard freely; the per-layer records come back in network order.

Build folders: a task on a Dask worker builds into <base>/worker-<worker name>/ (toolchain.build_root_at;
base: the coordinator's build root / "workers" unless given), so each worker compiles the design once (memoised
per process by verify.runner.build) and no two workers write the same folder. The serial path (--workers 1)
builds into the ordinary build root, the same build as `make verify-long`.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from dist.executor import ExecutorOptions, map_items
from golden.inference import infer
from golden.ir import INPUT, Conv
from golden.plan import parse_plan
from golden.synthetic import synthetic_images, synthetic_model

from .designs import generate, rtl_config
from .layer_job import LayerJob, layer_job
from .manifest import DutParams
from .runner import build, run_bench
from .toolchain import build_root, build_root_at

SIM = "verilator"


@dataclass(frozen=True)
class RtlTarget:
    """The design every task builds (once per worker) and where the workers' build folders go."""

    rows: int = 16
    cols: int = 16
    k_max: int | None = None
    pe_mode: str = "fixed"
    workers_root: Path | None = None   # None: build_root() / "workers" on the coordinator
    sim: str = SIM

    def design(self):
        return generate("top", rtl_config(self.rows, self.cols, k_max=self.k_max, pe_mode=self.pe_mode))


def layer_jobs(model_name: str, seed: int, spec, plan: str | None = None) -> list[LayerJob]:
    """The RTL job of every Conv op of synthetic `model_name` (seed) on its seeded image, in network order.

    Widths: `plan` (e.g. uniform:4) or, as the whole-network bench, width_plan(model, spec) with `spec` the DUT
    manifest's. Each job's input (and residual) is golden's tensor of that op under the same plan.
    """
    from .benches.network import width_plan

    model = synthetic_model(model_name, seed)
    image = synthetic_images(model.network, 1, seed)
    chosen = parse_plan(plan, model.network, model.spec) if plan else width_plan(model, spec)
    widths = chosen.layer_widths(model.network, model.spec)
    tensors = {INPUT: image, **infer(model, image, plan=chosen, keep_tensors=True).tensors}
    return [layer_job(model, op.name, tensors[op.input], *widths[op.name],
                      tensors[op.residual] if op.residual else None)
            for op in model.network.ops if isinstance(op, Conv)]


def worker_build_root(workers_root: Path) -> Path | None:
    """<workers_root>/worker-<name> inside a Dask worker (name made path-safe), None outside one."""
    try:
        from distributed import get_worker

        name = str(get_worker().name)
    except (ImportError, ValueError):
        return None
    return workers_root / ("worker-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-"))


def run_layer(target: RtlTarget, job: LayerJob) -> dict:
    """One task: build target's design in this process's build root (once), run the conv-layer bench on `job`.

    Returns {"layer": the layer record renamed to the op name (as the whole-network bench names it), "cycles":
    the tile-cycle record, "failed": failed cocotb tests, "build_dir", "build_s"}.
    """
    root = worker_build_root(target.workers_root) if target.workers_root is not None else None
    with build_root_at(root) if root is not None else nullcontext():
        t0 = time.perf_counter()
        built = build(target.design(), target.sim)
        build_s = time.perf_counter() - t0
        path = build_root() / "jobs" / f"sharded-{job.name}-w{job.b_w}a{job.b_a}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        job.save(path)
        result = run_bench(built, "verify.benches.conv_layer", env={"VERIFY_JOB": str(path)}, tag=f"layer-{job.name}")
    by_bench = {r["bench"]: r for r in result.records}
    layer = by_bench.get(f"layer {job.name}", {"vectors": 0, "mismatches": 0, "seconds": result.seconds, "tiles": 0,
                                               "rtl_cycles": 0, "sim_cycles": 0})
    cycles = by_bench.get(f"layer {job.name} cycles", {"vectors": 0, "mismatches": 0})
    return {"layer": {**layer, "bench": job.name, "b_w": job.b_w, "b_a": job.b_a}, "cycles": cycles,
            "failed": result.failed if layer.get("vectors") else [*result.failed, f"{job.name}: no layer record"],
            "build_dir": str(built.build_dir), "build_s": round(build_s, 1)}


def aggregate(results: list[dict]) -> dict:
    """The totals of per-layer task results (in network order), with the fields long_run's summary has."""
    layers = [r["layer"] for r in results]
    failed = [name for r in results for name in r["failed"]]
    mismatches = sum(r["layer"]["mismatches"] + r["cycles"]["mismatches"] for r in results)
    return {
        "passed": not failed and mismatches == 0, "failed_tests": failed, "layers": len(layers),
        "outputs_compared": sum(r["vectors"] for r in layers), "mismatches": mismatches,
        "tiles": sum(r.get("tiles", 0) for r in layers), "rtl_cycles": sum(r.get("rtl_cycles", 0) for r in layers),
        "sim_cycles": sum(r.get("sim_cycles", 0) for r in layers),
        "build_dirs": sorted({r["build_dir"] for r in results}),
        "records": [rec for r in results for rec in (r["layer"], r["cycles"])],
    }


def sharded_long_run(model: str, seed: int, out: Path | None, options: ExecutorOptions,
                     target: RtlTarget = RtlTarget(), plan: str | None = None, progress=None) -> dict:
    """verify-long with one task per layer on `options`; writes out/ (summary.json, layers.csv, layers.png) as
    verify.long_run does when `out` is given. Returns the summary (per-layer records in network order)."""
    from .long_run import _write as write_results

    t0 = time.perf_counter()
    if target.workers_root is None and not options.serial:
        target = replace(target, workers_root=build_root() / "workers")
    design = target.design()
    dut = DutParams.load(design.manifest_path)
    jobs = layer_jobs(model, seed, dut.spec, plan)
    deepest = max(jobs, key=lambda job: job.weights.shape[1])
    if deepest.weights.shape[1] > dut.k_max:
        raise ValueError(f"--k-max {dut.k_max}: layer {deepest.name} of {model} needs K = {deepest.weights.shape[1]}")
    one_layer_per_task = replace(options, chunk_size=options.chunk_size or 1)
    results = map_items(run_layer, jobs, context=target, options=one_layer_per_task, progress=progress)
    totals = aggregate(results)
    summary = {
        "model": model, "seed": seed, "pe_mode": target.pe_mode, "plan": plan or "width_cycle",
        "simulator": target.sim, "design": design.key, "sharded_by": "layer", "executor": options.describe(),
        **{k: v for k, v in totals.items() if k != "records"},
        "build_s": max(r["build_s"] for r in results),
        "simulate_s": round(sum(r["layer"]["seconds"] for r in results), 1),
        "wall_s": round(time.perf_counter() - t0, 1), "records": totals["records"],
    }
    if out is not None:
        write_results(out, summary, [r["layer"] for r in results])
    return summary


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m verify.sharded_long",
                                 description="verify-long with one task per layer on Dask (or serially)")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pe-mode", choices=("fixed", "fused"), default="fixed")
    ap.add_argument("--plan", default=None, help="uniform:B (default: every width pair in turn, as verify-long)")
    ap.add_argument("--array", default="16x16", help="RxC of the DUT (default 16x16, the verify-long build)")
    ap.add_argument("--k-max", type=int, default=None, help="K buffer depth (default: the generator's)")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default one per core; 1: serial)")
    ap.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    ap.add_argument("--out", type=Path, default=None, help="default out/verify-long-sharded")
    args = ap.parse_args(argv)
    try:
        rows, cols = (int(v) for v in args.array.lower().split("x"))
        options = ExecutorOptions(workers=args.workers, scheduler=args.scheduler)
    except ValueError as e:
        ap.error(f"--array {args.array!r} must be RxC, e.g. 4x4" if "--" not in str(e) else str(e))
    out = args.out or Path("out/verify-long-sharded")
    from golden.progress import follow, progress_bar

    target = RtlTarget(rows, cols, args.k_max, args.pe_mode)
    try:
        with progress_bar(desc="verify-long layers", unit="layer") as bar:
            s = sharded_long_run(args.model, args.seed, out, options, target, args.plan, progress=follow(bar))
    except ValueError as e:  # bad --model, --plan, --array, --k-max or an unreachable --scheduler
        ap.error(str(e))
    print(f"verify-long (sharded by layer, {s['executor']}): {s['model']} seed {s['seed']} on {s['design']}: "
          f"{s['layers']} layers, {s['tiles']} tiles, {s['rtl_cycles']} RTL cycles (sim: {s['sim_cycles']}), "
          f"{s['outputs_compared']} outputs compared, {s['mismatches']} mismatches; build dirs "
          f"{', '.join(s['build_dirs'])}; wall {s['wall_s']} s")
    print(f"verify-long: results in {out}/ (summary.json, layers.csv, layers.png)")
    print("RESULT:", "PASS" if s["passed"] else f"FAIL (failed tests {s['failed_tests']})")
    return 0 if s["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
