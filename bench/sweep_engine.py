"""Sweep throughput: configurations/s of one large ResNet-50 sweep (sim.sweep.run_sweep) through the serial
path, the Dask engine (dist/executor.py, LocalCluster) and the former process pool (one future per
configuration, as sim/sweep.py ran it before the engine), measured in one run, with CPU time.

    .venv/bin/python bench/sweep_engine.py [--model resnet50] [--dims 70] [--workers 2] [--out out/bench/sweep_engine]

Axes: --pe = every RxC with R, C in 4 .. 3+dims, --dataflow os,ws,is, --plan uniform:2..8
(dims 70: 70·70·3·7 = 102,900 configurations). Each path's rows are written as CSV (SWEEP_COLUMNS) and the
three files must be identical byte for byte (exit 1 otherwise). CPU time = this process plus its finished
child processes (the pool's and the LocalCluster's workers), from getrusage. The 64-core projection assumes
the engine's measured CPU seconds per configuration and per-task overhead stay as measured, work split evenly
over 64 single-threaded workers: configurations · (CPU s / configuration) / 64 + the measured start-up.
Writes results.csv and results.json under --out.
"""
from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dist.executor import ExecutorOptions  # noqa: E402
from sim.report import atomic_write  # noqa: E402
from sim.sweep import SWEEP_COLUMNS, _evaluate, run_sweep  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SWEEP_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def process_pool(model: str, pes, dataflows, plans, workers: int) -> list[dict]:
    """The former sim/sweep.py path: one ProcessPoolExecutor future per configuration."""
    points = list(itertools.product(pes, dataflows, plans))
    context = (model, {}, None)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_evaluate, context, point) for point in points]
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
    n = len(pes) * len(dataflows) * len(plans)
    print(f"{args.model}: {n:,} configurations ({len(pes)} arrays x {len(dataflows)} dataflows x {len(plans)} plans)")
    paths = {
        "serial": lambda: run_sweep(args.model, pes, dataflows, plans, executor=ExecutorOptions(workers=1)),
        "dask": lambda: run_sweep(args.model, pes, dataflows, plans, executor=ExecutorOptions(workers=args.workers)),
        "process_pool": lambda: process_pool(args.model, pes, dataflows, plans, args.workers),
    }
    results, files = [], {}
    for name, run in paths.items():
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        rows = run()
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        files[name] = csv_bytes(rows)
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
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(results[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)
    atomic_write(args.out / "results.csv", buf.getvalue())
    atomic_write(args.out / "results.json", json.dumps({"model": args.model, "configurations": n, "paths": results,
                                                         "projected_64_cores_s": round(projected, 1),
                                                         "csv_identical": same}, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
