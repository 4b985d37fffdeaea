"""Sweep throughput: configurations/s of one large ResNet-50 sweep (sim.sweep.run_sweep) through the serial
path, the Dask engine (dist/executor.py, LocalCluster) and the former process pool (one future per
configuration, as sim/sweep.py ran it before the engine), measured in one run, with CPU time.

    .venv/bin/python bench/sweep_engine.py [--model resnet50] [--dims 70] [--workers 2] [--out out/bench/sweep_engine]

Axes: --pe = every RxC with R, C in 4 .. 3+dims, --dataflow os,ws,is, --plan uniform:2..8
(dims 70: 70·70·3·7 = 102,900 configurations, sim.sweep.expand). Each path's rows are written as sweep.csv text
(sim.sweep.sweep_csv) and the three must be identical byte for byte (exit 1 otherwise). CPU time = this process plus its finished
child processes (the pool's and the LocalCluster's workers), from getrusage. The 64-core projection assumes
the engine's measured CPU seconds per configuration and per-task overhead stay as measured, work split evenly
over 64 single-threaded workers: configurations · (CPU s / configuration) / 64 + the measured start-up.
Writes results.csv and results.json under --out.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dist.executor import ExecutorOptions  # noqa: E402
from golden.atomic import atomic_write_bytes  # noqa: E402
from golden.report import csv_text  # noqa: E402
from sim.sweep import evaluate, expand, run_sweep, sweep_csv  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def process_pool(configs: list[dict], workers: int) -> list[dict]:
    """The former sim/sweep.py path: one ProcessPoolExecutor future per configuration."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(evaluate, config) for config in configs]
        return [f.result() for f in futures]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench/sweep_engine.py")
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--dims", type=int, default=70)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("out/bench/sweep_engine"))
    args = ap.parse_args(argv)
    dims = range(4, 4 + args.dims)
    pes = [f"{r}x{c}" for r in dims for c in dims]
    dataflows, plans = ["os", "ws", "is"], [f"uniform:{b}" for b in range(2, 9)]
    configs = expand([("model", args.model)], {"pe": pes, "dataflow": dataflows, "plan": plans})
    n = len(configs)
    print(f"{args.model}: {n:,} configurations ({len(pes)} arrays x {len(dataflows)} dataflows x {len(plans)} plans)")
    paths = {
        "serial": lambda: run_sweep(configs, executor=ExecutorOptions(workers=1)),
        "dask": lambda: run_sweep(configs, executor=ExecutorOptions(workers=args.workers)),
        "process_pool": lambda: process_pool(configs, args.workers),
    }
    results, files = [], {}
    for name, run in paths.items():
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        rows = run()
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        files[name] = sweep_csv(rows)
        results.append({"path": name, "workers": 1 if name == "serial" else args.workers, "configurations": n,
                        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "configs_per_s": round(n / wall, 1),
                        "cpu_ms_per_config": round(1e3 * cpu / n, 4)})
        print(f"{name:>13}: {wall:8.1f} s wall, {cpu:8.1f} s CPU, {n / wall:8.0f} configurations/s, "
              f"{1e3 * cpu / n:.3f} ms CPU/configuration", flush=True)
    serial = results[0]
    for r in results:
        r["speedup_vs_serial"] = round(serial["wall_s"] / r["wall_s"], 3)
    dask = next(r for r in results if r["path"] == "dask")
    projected = n * dask["cpu_ms_per_config"] / 1e3 / 64
    same = len(set(files.values())) == 1
    print(f"speed-up vs serial: dask {dask['speedup_vs_serial']:.2f}x, process pool "
          f"{results[2]['speedup_vs_serial']:.2f}x; dask / process pool "
          f"{results[2]['wall_s'] / dask['wall_s']:.2f}x")
    print(f"projected on 64 cores (engine CPU per configuration, start-up included, / 64): {projected:.1f} s "
          f"({n / projected:,.0f} configurations/s)")
    print("CSV identical on all three paths:", same)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "results.csv", csv_text(results[0], results).encode())
    atomic_write_bytes(args.out / "results.json", (json.dumps(
        {"model": args.model, "configurations": n, "paths": results, "projected_64_cores_s": round(projected, 1),
         "csv_identical": same}, indent=2) + "\n").encode())
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
