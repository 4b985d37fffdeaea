"""`make verify-long`: whole networks through the RTL (Verilator), every conv / linear layer compared.

    python -m verify.long_run [--model resnet18|resnet50|FILE] [--seed 0] [--plan uniform:B|FILE|dynamic]
                              [--images 1] [--pe 16x16] [--pe-mode fixed|fused] [--harness stream|cocotb]
                              [--threads 1] [--fresh] [--out out/verify-long...]

Two harnesses drive the same generated top (verify.designs.generate "top", K_MAX 4608):
  stream  (default, fixed and fused PEs) the C++ testbench of verify/stream: Python prepares each layer from golden,
          the harness runs its tiles back to back without Python in the cycle loop; any model (a topology's seeded
          synthetic model or a model file), several images, dynamic plans; resumable per layer (journal in --out).
  cocotb  (on request) verify/benches/network.py, one synthetic image on the 16x16 top, every cycle driven by
          cocotb (about 1,000x slower per simulated cycle).
Both write layers.csv, summary.json and layers.png / layers.svg (time and cycles per layer) to --out and print the
wall time.
Exits 1 on any mismatch, cycle disagreement or failed test.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

from golden.atomic import atomic_path, atomic_write_bytes

from .designs import generate, rtl_config
from .runner import bench_env, build, run_bench

SIM = "verilator"
HARNESSES = ("stream", "cocotb")
LAYER_FIELDS = ["bench", "b_w", "b_a", "tiles", "rtl_cycles", "sim_cycles", "sim_busy", "sim_readout", "sim_load",
                "vectors", "mismatches", "seconds"]
STREAM_FIELDS = ["image", *LAYER_FIELDS, "tile_cycle_errors", "protocol_errors", "rtl_seconds", "rtl_cpu_seconds"]


def long_run(model: str, seed: int, out: Path, pe_mode: str = "fixed", plan: str | None = None) -> dict:
    """One synthetic image of topology `model` through the cocotb network bench (verify/benches/network.py)."""
    t0 = time.perf_counter()
    built = build(generate("top", rtl_config(16, 16, pe_mode=pe_mode)), SIM)
    t_build = time.perf_counter() - t0
    env = {**bench_env(seed=seed), "VERIFY_MODEL": model, **({"VERIFY_PLAN": plan} if plan else {})}
    result = run_bench(built, "verify.benches.network", env=env, tag=f"network-{pe_mode}-{plan or 'cycle'}", log=False)
    wall = time.perf_counter() - t0
    layers = [r for r in result.records if "tiles" in r and r["bench"] != "network tile cycles"]
    summary = {
        "model": model, "seed": seed, "pe_mode": pe_mode, "plan": plan or "width_cycle", "simulator": SIM,
        "harness": "cocotb", "design": built.design.key,
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


def stream_long_run(model: str, seed: int, out: Path, plan: str | None = None, images: int = 1, pe: str = "16x16",
                    threads: int = 1, fresh: bool = False, input_path: str | None = None,
                    pe_mode: str = "fixed") -> dict:
    """`images` images of `model` (a topology name: its seeded synthetic model; or a model file) through the
    streaming harness (verify.stream.network) on the `pe` array of `pe_mode` PEs, resuming the journal in `out`
    unless `fresh`. Images: the first `images` of the .npy file `input_path` (master codes (B, C, H, W)), else
    seeded synthetic ones."""
    from golden.progress import progress_bar
    from golden.session import resolve_images, resolve_model
    from sim.config import parse_pe

    from .stream.network import check_settings, image_plan, run_image
    from .stream.session import StreamSession

    t0 = time.perf_counter()
    if images < 1:
        raise ValueError(f"--images must be >= 1, got {images}")
    rows, cols = parse_pe(pe)
    net_model = resolve_model(model, seed, progress=True)
    batch = resolve_images(net_model, None if input_path else images, seed, input_path)[:images]
    if len(batch) < images:
        raise ValueError(f"--input {input_path} holds {len(batch)} images, fewer than --images {images}")
    design = generate("top", rtl_config(rows, cols, pe_mode=pe_mode))
    source = Path(model)
    digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else None
    settings = {"model": model, "model_sha256": digest, "seed": seed,
                "plan": plan or "width_cycle", "images": images, "input": input_path, "design": design.key}
    check_settings(out, settings, fresh)
    with StreamSession(design, out / "work", threads) as session:
        t_build = time.perf_counter() - t0
        records, images_ok = [], []
        with progress_bar(total=images * net_model.network.macs, desc="verify-long", unit="MAC",
                          unit_scale=True) as bar:
            for i in range(images):
                chosen = image_plan(net_model, batch[i:i + 1], plan, session.params.spec)
                recs, logits = run_image(session, net_model, batch[i:i + 1], chosen, out / f"image-{i}", bar, i)
                records += recs
                images_ok.append({"image": i, **logits})
    wall = time.perf_counter() - t0
    rtl_seconds = sum(r["rtl_seconds"] for r in records)
    rtl_cpu = sum(r["rtl_cpu_seconds"] for r in records)
    summary = {
        "model": model, "seed": seed, "pe": pe, "pe_mode": pe_mode, "plan": plan or "width_cycle", "images": images,
        "simulator": SIM, "harness": "stream", "threads": threads, "design": design.key,
        "passed": all(r["mismatches"] == 0 and r["cycles_match"] and r["protocol_errors"] == 0 for r in records)
        and all(x["logits_match"] for x in images_ok),
        "build_s": round(t_build, 1), "harness_build_s": round(session.build_seconds, 1),
        "simulate_s": round(rtl_seconds, 1), "wall_s": round(wall, 1),
        "layers": len(records), "resumed_layers": sum(bool(r.get("resumed")) for r in records),
        "outputs_compared": sum(r["vectors"] for r in records),
        "mismatches": sum(r["mismatches"] for r in records), "tiles": sum(r["tiles"] for r in records),
        "rtl_cycles": sum(r["rtl_cycles"] for r in records), "sim_cycles": sum(r["sim_cycles"] for r in records),
        "cycles_per_s": round(sum(r["rtl_cycles"] for r in records) / max(rtl_seconds, 1e-9)),
        "rtl_cpu_s": round(rtl_cpu, 1),
        "cycles_per_cpu_s": round(sum(r["rtl_cycles"] for r in records) / max(rtl_cpu, 1e-9)),
        "logits": images_ok, "records": records,
    }
    _write(out, summary, records, STREAM_FIELDS)
    return summary


def _write(out: Path, summary: dict, layers: list[dict], fields: list[str] = LAYER_FIELDS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "layers.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(layers)
    atomic_write_bytes(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    names = [r["bench"] if "image" not in r or summary.get("images", 1) == 1 else f"{r['image']}:{r['bench']}"
             for r in layers]
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
    for fmt in ("png", "svg"):
        with atomic_path(out / f"layers.{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=100)
    plt.close(fig)


def verify_long(model: str = "resnet18", seed: int = 0, pe: str = "16x16", pe_mode: str = "fixed",
                harness: str | None = None, plan: str | None = None, images: int = 1, threads: int = 1,
                fresh: bool = False, out: Path | None = None, input_path: str | None = None) -> dict:
    """One verify-long run on the harness asked for (default: stream); the summary with `out` added. ValueError for
    options the harness does not take."""
    harness = harness or "stream"
    if harness not in HARNESSES:
        raise ValueError(f"harness must be one of {', '.join(HARNESSES)}, got {harness!r}")
    out = Path(out) if out else default_out(model, pe_mode, plan)
    if harness == "stream":
        s = stream_long_run(model, seed, out, plan, images, pe, threads, fresh, input_path, pe_mode)
    else:
        for option, value, default in (("--images", images, 1), ("--pe", pe, "16x16"), ("--threads", threads, 1),
                                       ("--fresh", fresh, False), ("--input", input_path, None)):
            if value != default:
                raise ValueError(f"{option} needs --harness stream")
        if plan == "dynamic" or Path(model).is_file():
            raise ValueError("--plan dynamic and model files need --harness stream (the cocotb bench runs the "
                             "seeded synthetic models)")
        s = long_run(model, seed, out, pe_mode, plan)
    return {**s, "out": str(out)}


def summary_lines(s: dict) -> list[str]:
    """The closing lines of a run: totals, per-image logits check, where the results are, PASS/FAIL."""
    lines = [f"verify-long: {s['model']} seed {s['seed']} {s['pe_mode']} plan {s['plan']} on {s['simulator']} "
             f"({s['harness']} harness): {s['layers']} layers, {s['tiles']} tiles, {s['rtl_cycles']} RTL cycles "
             f"(sim: {s['sim_cycles']}), {s['outputs_compared']} outputs compared, {s['mismatches']} mismatches; "
             f"build {s['build_s']} s, simulation {s['simulate_s']} s, wall {s['wall_s']} s"
             + (f", {s['cycles_per_s']} simulated cycles/s ({s['cycles_per_cpu_s']} per CPU second of the harness, "
                f"{s['rtl_cpu_s']} CPU s)" if "cycles_per_s" in s else "")
             + (f"; {s['resumed_layers']} layers resumed from the journal" if s.get("resumed_layers") else "")]
    lines += [f"verify-long: image {x['image']}: logits {'==' if x['logits_match'] else '!='} golden "
              f"({x['logits_mismatches']} differ)" for x in s.get("logits", [])]
    lines.append(f"verify-long: results in {s['out']}/ (summary.json, layers.csv, layers.png, layers.svg)")
    lines.append("RESULT: " + ("PASS" if s["passed"] else f"FAIL (failed tests {s.get('failed_tests', [])})"))
    return lines


def default_out(model: str, pe_mode: str, plan: str | None) -> Path:
    """out/verify-long[-MODEL][-fused][-PLAN]: MODEL a file's stem or a topology other than resnet18."""
    name = Path(model).stem if Path(model).is_file() else model
    return Path("out/verify-long" + (f"-{name}" if name != "resnet18" else "")
                + (f"-{pe_mode}" if pe_mode != "fixed" else "")
                + (f"-{Path(plan).stem if Path(plan).is_file() else plan.replace(':', '')}" if plan else ""))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m verify.long_run")
    ap.add_argument("--model", default="resnet18", help="topology name (seeded synthetic model) or model file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pe", default="16x16", help="array RxC (stream harness; cocotb: 16x16)")
    ap.add_argument("--pe-mode", choices=("fixed", "fused"), default="fixed")
    ap.add_argument("--harness", choices=HARNESSES, default=None, help="default: stream")
    ap.add_argument("--plan", default=None,
                    help="uniform:B, a plan file, or dynamic (stream) (default: every width pair in turn)")
    ap.add_argument("--images", type=int, default=1, help="images (stream harness)")
    ap.add_argument("--input", default=None, help=".npy master-code images (stream harness; default: synthetic)")
    ap.add_argument("--threads", type=int, default=1, help="Verilator --threads of the stream harness")
    ap.add_argument("--fresh", action="store_true", help="discard the journal in --out instead of resuming it")
    ap.add_argument("--out", type=Path, default=None, help="default out/verify-long[-MODEL][-fused][-PLAN]")
    a = ap.parse_args(argv)
    try:
        s = verify_long(a.model, a.seed, a.pe, a.pe_mode, a.harness, a.plan, a.images, a.threads, a.fresh, a.out,
                        a.input)
    except ValueError as e:
        print(f"verify-long: {e}", file=sys.stderr)
        return 2
    print()
    print("\n".join(summary_lines(s)))
    return 0 if s["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
