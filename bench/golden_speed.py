"""Golden-model speed: images/s of the full integer inference (golden.inference.infer) with the numba kernels
and with their plain numpy twins, against onnxruntime's integer execution of the same network, in one run.

The baseline is a QLinearConv graph (bench/ort_qlinear.py) built from the same synthetic model: the same
weight view codes, in U8U8 mode (weights shifted to uint8, zero point 2^(N-1)), so onnxruntime's int32
accumulators are exact; the run first checks that they equal the golden ones on one layer (ConvInteger),
so both sides do the same integer work. onnxruntime's cost does not depend on the view widths (it always
multiplies bytes); it is timed with its thread pool spinning and not spinning and the faster counts.
Timing: `--rounds` interleaved rounds (numba, onnxruntime, ...), best round per side, so load from other
processes hits both alike; the numpy twin is slow and timed `--numpy-rounds` times. Besides wall-clock
images/s it reports CPU time per image (all threads of the process, onnxruntime without spinning): a
load-insensitive measure of the work each side does, next to the wall-clock ratio that a shared machine
makes noisy. The numba and numpy
logits of every configuration are compared for equality.

    .venv/bin/python bench/golden_speed.py [--model resnet18] [--batches 1,32] [--plans uniform:8,uniform:4]
                                           [--threads 2] [--rounds 7] [--out out/bench/golden_speed]
                                           [--cpu haswell]

Before the images/s it prints the CPU numba compiles for (golden.kernels.TARGET) with the host's CPU name and
SIMD features, and per plan and batch the GEMM rate of every exact route on the network's real layer operands
and the route each layer takes by default (bench/gemm_routes.py). `--cpu NAME` reruns the whole benchmark in
a subprocess compiled for the LLVM CPU NAME with that CPU's own features (NUMBA_CPU_NAME=NAME,
NUMBA_CPU_FEATURES=""): e.g. haswell or znver3 (AVX2, no AVX-512), skylake-avx512 (AVX-512 without VNNI).
onnxruntime picks its kernels from the real host and cannot be forced down.

The golden side runs with golden.kernels.keep_freed_memory() (glibc keeps freed heap for reuse; onnxruntime
has its own arena) unless --no-keep-freed-memory. Writes results.csv, results.json and speed.png (and gemm_routes.csv /
.json) under --out; exits 1 if any equality check fails.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numba  # noqa: E402

from bench.gemm_routes import layer_operands, route_rates  # noqa: E402
from bench.ort_qlinear import build_qlinear_model, conv_integer_acc, image_to_u8, session  # noqa: E402
from golden import kernels  # noqa: E402
from golden.cpu_target import host_summary  # noqa: E402
from golden.atomic import atomic_path  # noqa: E402
from golden.inference import infer  # noqa: E402
from golden.plan import parse_plan  # noqa: E402
from golden.primitives import view  # noqa: E402
from golden.synthetic import synthetic_images, synthetic_model  # noqa: E402

TARGET_RATIO = 0.5  # golden numba path vs the onnxruntime baseline
SETTLE_S = 0.05  # pause after each onnxruntime run: its spinning workers park before the next side runs


def best_time(fn, repeat: int) -> float:
    """Minimum wall time of `repeat` calls."""
    return timed(fn, repeat)[0]


def timed(fn, repeat: int) -> tuple[float, float]:
    """(minimum wall time, minimum process CPU time, all threads) of `repeat` calls."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def ort_inputs(model, widths):
    """Weight view codes, per-channel weight scales and per-tensor scales of the onnxruntime graph.

    A weight view at b_w has scale Δ_w·2^(N-b_w); a "wide" downsample output is given the scale of the
    block output it is added to."""
    spec, net = model.spec, model.network
    weights, w_scales, scales = {}, {}, dict(model.scales)
    for layer in net.layers:
        b_w = widths[layer.name][0]
        p = model.params(layer.name)
        weights[layer.name] = view(p.weight, b_w, True, spec)
        w_scales[layer.name] = p.weight_scale * 2.0 ** (spec.n_bits - b_w)
    for layer in net.layers:
        if layer.residual is not None and layer.residual not in scales:
            scales[layer.residual] = scales[layer.name]
    return weights, w_scales, scales


def check_conv_integer(model, plan, widths, images, threads: int) -> bool:
    """onnxruntime ConvInteger accumulators == golden conv2d_acc on the first switchable conv's real input."""
    spec = model.spec
    layer = model.network.switchable_layers[0]
    b_w, b_a = widths[layer.name]
    x = infer(model, images, plan, keep_tensors=True).tensors[layer.input]
    xv = view(x, b_a, model.tensor_signed(layer.input), spec)
    wv = view(model.params(layer.name).weight, b_w, True, spec)
    ours = kernels.conv2d_acc(xv, wv, layer.stride, layer.padding)
    theirs = conv_integer_acc(xv, wv, layer.stride, layer.padding, spec, threads)
    equal = bool(np.array_equal(ours, theirs))
    print(f"  ConvInteger check on {layer.name} (b_w={b_w}, b_a={b_a}, {ours.size} accumulators, "
          f"|acc| <= {int(np.abs(ours).max())}): onnxruntime int32 accumulators "
          f"{'EQUAL' if equal else 'DIFFER FROM'} the golden ones")
    return equal


def check_u8s8_corner(spec, threads: int) -> bool:
    """Whether onnxruntime's U8S8 ConvInteger is exact on this CPU at the saturation corner (x = 255,
    w = -128: a pair sum of -65280 does not fit int16, so int16-pair kernels (AVX2 VPMADDUBSW) saturate,
    VNNI's VPDPBUSD does not). Informational: the baseline is U8U8 either way."""
    x = np.full((1, 64, 6, 6), spec.code_range(False)[1], np.int64)
    w = np.full((8, 64, 3, 3), spec.code_range(True)[0], np.int64)
    exact = bool(np.array_equal(conv_integer_acc(x, w, 1, 1, spec, threads, "U8S8"),
                                kernels.conv2d_acc(x, w, 1, 1)))
    print(f"  onnxruntime U8S8 ConvInteger at the saturation corner (255 x -128): "
          f"{'exact' if exact else 'INEXACT (int16 pair saturation)'} on this CPU; the baseline is U8U8")
    return exact


def gemm_routes(model, plan_text, plan, widths, images, rounds: int) -> list[dict]:
    """Print and return the per-route GEMM rates on the network's real operands and the default routes."""
    rates, default = route_rates(layer_operands(model, images, plan, widths), rounds)
    taken = {}
    for name, route in default.items():
        taken.setdefault(route, []).append(name)
    print(f"  {plan_text:<10} batch {len(images):>3}: default GEMM route per layer: "
          + "; ".join(f"{route}: {', '.join(names)}" for route, names in taken.items()))
    rows = []
    for r in rates:
        row = {"plan": plan_text, "batch": len(images), "cpu": kernels.TARGET.name, **r}
        rows.append(row)
        print(f"  {plan_text:<10} batch {len(images):>3}: route {r['route']:<8} {r['gmac_s']:7.1f} GMAC/s wall, "
              f"{r['gmac_per_cpu_s']:7.1f} GMAC per CPU-second (GEMM only; {r['layers']} layers, "
              f"{100 * r['mac_share']:.1f} % of {r['macs'] / r['mac_share'] / 1e9:.2f} GMAC)", flush=True)
    return rows


def run(args) -> int:
    numba.set_num_threads(args.threads)
    kept = kernels.keep_freed_memory() if args.keep_freed_memory else False
    print(f"golden speed: {args.model}, batches {args.batches}, plans {args.plans}, {args.threads} threads "
          f"(glibc keeps freed memory: {kept}), load average {os.getloadavg()[0]:.2f}")
    print(f"  compile target {kernels.TARGET.describe()}; routes {', '.join(kernels.available_routes())}")
    print(f"  host: {host_summary()}")
    start = time.perf_counter()
    model = synthetic_model(args.model, args.seed, progress=True)
    print(f"  synthetic model ready in {time.perf_counter() - start:.1f} s")
    check_u8s8_corner(model.spec, args.threads)
    rows, gemm_rows, ok = [], [], True
    for plan_text in args.plans:
        plan = parse_plan(plan_text, model.network, model.spec)
        widths = plan.layer_widths(model.network, model.spec)
        for batch in args.batches:
            images = synthetic_images(model.network, batch, args.seed, model.spec)
            gemm_rows += gemm_routes(model, plan_text, plan, widths, images, args.rounds)
        onnx_model = build_qlinear_model(model.network, *ort_inputs(model, widths), model.spec)
        sessions = {"spin": session(onnx_model, args.threads, spinning=True),
                    "nospin": session(onnx_model, args.threads, spinning=False)}
        ok &= check_conv_integer(model, plan, widths, synthetic_images(model.network, 2, args.seed, model.spec),
                                 args.threads)
        for batch in args.batches:
            images = synthetic_images(model.network, batch, args.seed, model.spec)
            feed = {"input": image_to_u8(images, model.spec)}
            golden = infer(model, images, plan, backend="numba")  # warm-up + reference logits
            for s in sessions.values():
                s.run(None, feed)
            t_numba, t_ort = float("inf"), {k: float("inf") for k in sessions}
            cpu_numba, cpu_ort = float("inf"), float("inf")
            for _ in range(args.rounds):
                wall, cpu = timed(lambda: infer(model, images, plan, backend="numba"), 1)
                t_numba, cpu_numba = min(t_numba, wall), min(cpu_numba, cpu)
                for k, s in sessions.items():
                    wall, cpu = timed(lambda: s.run(None, feed), 1)
                    t_ort[k] = min(t_ort[k], wall)
                    if k == "nospin":  # a spinning pool burns CPU while it waits
                        cpu_ort = min(cpu_ort, cpu)
                    time.sleep(SETTLE_S)
            start = time.perf_counter()
            twin = infer(model, images, plan, backend="numpy")
            t_numpy = min(time.perf_counter() - start,
                          best_time(lambda: infer(model, images, plan, backend="numpy"), args.numpy_rounds - 1)
                          if args.numpy_rounds > 1 else float("inf"))
            same = bool(np.array_equal(golden.logits, twin.logits))
            ok &= same
            ort_best = min(t_ort.values())
            row = {"plan": plan_text, "batch": batch,
                   "numba_img_s": batch / t_numba, "numpy_img_s": batch / t_numpy,
                   "ort_img_s": batch / ort_best, "ort_spin_img_s": batch / t_ort["spin"],
                   "ort_nospin_img_s": batch / t_ort["nospin"],
                   "numba_vs_ort": t_ort_ratio(ort_best, t_numba), "numpy_vs_ort": t_ort_ratio(ort_best, t_numpy),
                   "numba_cpu_ms_per_img": 1e3 * cpu_numba / batch, "ort_cpu_ms_per_img": 1e3 * cpu_ort / batch,
                   "numba_vs_ort_cpu": cpu_ort / cpu_numba, "numba_equals_numpy": same}
            rows.append(row)
            print(f"  {plan_text:<10} batch {batch:>3}: numba {row['numba_img_s']:8.1f} img/s  "
                  f"numpy {row['numpy_img_s']:7.2f} img/s  onnxruntime {row['ort_img_s']:8.1f} img/s  "
                  f"(spin {row['ort_spin_img_s']:.1f}, no spin {row['ort_nospin_img_s']:.1f})  "
                  f"numba/ort {row['numba_vs_ort']:.2f}x  numpy/ort {row['numpy_vs_ort']:.4f}x  "
                  f"| CPU ms/img numba {row['numba_cpu_ms_per_img']:.2f} ort {row['ort_cpu_ms_per_img']:.2f} "
                  f"({row['numba_vs_ort_cpu']:.2f}x)  | logits numba==numpy: {same}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    met = sum(r["numba_vs_ort"] >= TARGET_RATIO for r in rows)
    print(f"target numba/onnxruntime >= {TARGET_RATIO}x: met in {met}/{len(rows)} configurations")
    write_results(rows, Path(args.out))
    write_table(gemm_rows, Path(args.out), "gemm_routes")
    print("equality checks:", "all passed" if ok else "FAILED")
    return 0 if ok else 1


def t_ort_ratio(t_ort: float, t_ours: float) -> float:
    """Throughput ratio ours / onnxruntime = t_ort / t_ours."""
    return t_ort / t_ours


def write_results(rows: list[dict], out: Path) -> None:
    """results.csv, results.json and speed.png (images/s per configuration, log scale) under `out`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_table(rows, out, "results")
    labels = [f"{r['plan']}\nbatch {r['batch']}" for r in rows]
    xs = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (key, label) in enumerate([("numba_img_s", "golden numba"), ("numpy_img_s", "golden numpy twin"),
                                      ("ort_img_s", "onnxruntime U8U8")]):
        ax.bar(xs + (i - 1) * 0.27, [r[key] for r in rows], 0.27, label=label)
    ax.set_xticks(xs, labels)
    ax.set_yscale("log")
    ax.set_ylabel("images / s")
    ax.set_title("ResNet integer inference speed (same process)")
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_path(out / "speed.png") as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    print(f"wrote {out}/results.csv, results.json, speed.png")


def write_table(rows: list[dict], out: Path, stem: str) -> None:
    """rows as out/<stem>.json and out/<stem>.csv (atomic writes)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, write in ((f"{stem}.json", lambda f: json.dump(rows, f, indent=2)),
                        (f"{stem}.csv", lambda f: _write_csv(rows, f))):
        with atomic_path(out / name) as tmp, open(tmp, "w", newline="") as f:
            write(f)


def _write_csv(rows: list[dict], f) -> None:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batches", default="1,32", type=lambda s: [int(v) for v in s.split(",")])
    parser.add_argument("--plans", default="uniform:8,uniform:4", type=lambda s: s.split(","))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--numpy-rounds", type=int, default=1)
    parser.add_argument("--out", default="out/bench/golden_speed")
    parser.add_argument("--no-keep-freed-memory", dest="keep_freed_memory", action="store_false",
                        help="leave glibc's allocator defaults (see golden.kernels.keep_freed_memory)")
    parser.add_argument("--cpu", metavar="NAME",
                        help="compile the kernels for this LLVM CPU name with its own features (subprocess)")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        return forced_cpu_run(args.cpu, sys.argv[1:] if argv is None else list(argv))
    return run(args)


def forced_cpu_run(cpu: str, argv: list[str]) -> int:
    """This benchmark without --cpu in a subprocess with NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES="" (the CPU's
    own features); its exit status."""
    rest, args = [], iter(argv)
    for arg in args:
        if arg == "--cpu":
            next(args, None)  # its value
        elif not arg.startswith("--cpu="):
            rest.append(arg)
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": ""}
    return subprocess.run([sys.executable, str(Path(__file__).resolve()), *rest], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
