"""`make verify-long`: one whole ResNet-18 CIFAR inference through the RTL (Verilator), every layer compared.

    python -m verify.long_run [--model resnet18] [--seed 0] [--pe-mode fixed|fused] [--plan uniform:B]
                              [--out out/verify-long]

Builds the 16x16 top (K_MAX 4608, the PE mode given) once, runs verify/benches/network.py (per-layer lines and a
bar over the network's MACs with time left),
then writes layers.csv, summary.json and layers.png (time and cycles per layer) to --out and prints the
wall time. Exits 1 on any mismatch, cycle disagreement or failed test.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from golden.atomic import atomic_path, atomic_write_bytes

from .designs import generate, rtl_config
from .runner import bench_env, build, run_bench

SIM = "verilator"


def long_run(model: str, seed: int, out: Path, pe_mode: str = "fixed", plan: str | None = None) -> dict:
    t0 = time.perf_counter()
    built = build(generate("top", rtl_config(16, 16, pe_mode=pe_mode)), SIM)
    t_build = time.perf_counter() - t0
    env = {**bench_env(seed=seed), "VERIFY_MODEL": model, **({"VERIFY_PLAN": plan} if plan else {})}
    result = run_bench(built, "verify.benches.network", env=env, tag=f"network-{pe_mode}-{plan or 'cycle'}", log=False)
    wall = time.perf_counter() - t0
    layers = [r for r in result.records if "tiles" in r and r["bench"] != "network tile cycles"]
    summary = {
        "model": model, "seed": seed, "pe_mode": pe_mode, "plan": plan or "width_cycle", "simulator": SIM,
        "design": built.design.key,
        "passed": result.ok and all(r["mismatches"] == 0 for r in result.records),
        "failed_tests": result.failed, "build_s": round(t_build, 1), "simulate_s": round(result.seconds, 1),
        "wall_s": round(wall, 1), "layers": len(layers),
        "outputs_compared": sum(r["vectors"] for r in layers),
        "mismatches": sum(r["mismatches"] for r in result.records),
        "tiles": sum(r["tiles"] for r in layers), "rtl_cycles": sum(r["rtl_cycles"] for r in layers),
        "sim_cycles": sum(r["sim_cycles"] for r in layers), "records": result.records,
    }
    _write(out, summary, layers)
    return summary


def _write(out: Path, summary: dict, layers: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fields = ["bench", "b_w", "b_a", "tiles", "rtl_cycles", "sim_cycles", "sim_busy", "sim_readout", "sim_load", "vectors",
              "mismatches", "seconds"]
    with atomic_path(out / "layers.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(layers)
    atomic_write_bytes(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    names = [r["bench"] for r in layers]
    ax.bar(names, [r["seconds"] for r in layers], label="wall seconds")
    ax2 = ax.twinx()
    ax2.plot(names, [r["rtl_cycles"] for r in layers], "r.-", label="RTL cycles")
    ax2.plot(names, [r["sim_cycles"] for r in layers], "kx", label="sim cycles")
    ax.set_ylabel("seconds")
    ax2.set_ylabel("cycles per layer (RTL counted, sim)")
    ax2.legend(loc="upper right")
    ax.tick_params(axis="x", rotation=80)
    ax.set_title(f"{summary['model']} through the RTL ({summary['simulator']}): {summary['wall_s']} s, "
                 f"{summary['mismatches']} mismatches")
    fig.tight_layout()
    with atomic_path(out / "layers.png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m verify.long_run")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pe-mode", choices=("fixed", "fused"), default="fixed")
    ap.add_argument("--plan", default=None, help="uniform:B (default: every width pair in turn, verify.benches.network)")
    ap.add_argument("--out", type=Path, default=None, help="default out/verify-long[-fused][-PLAN]")
    args = ap.parse_args(argv)
    out = args.out or Path("out/verify-long" + (f"-{args.pe_mode}" if args.pe_mode != "fixed" else "")
                           + (f"-{args.plan.replace(':', '')}" if args.plan else ""))
    s = long_run(args.model, args.seed, out, args.pe_mode, args.plan)
    print(f"\nverify-long: {s['model']} seed {s['seed']} {s['pe_mode']} plan {s['plan']} on {s['simulator']}: {s['layers']} layers, {s['tiles']} tiles, "
          f"{s['rtl_cycles']} RTL cycles (sim: {s['sim_cycles']}), {s['outputs_compared']} outputs compared, "
          f"{s['mismatches']} mismatches; build {s['build_s']} s, simulation {s['simulate_s']} s, wall {s['wall_s']} s")
    print(f"verify-long: results in {out}/ (summary.json, layers.csv, layers.png)")
    print("RESULT:", "PASS" if s["passed"] else f"FAIL (failed tests {s['failed_tests']})")
    return 0 if s["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
