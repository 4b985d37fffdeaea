"""Speed of the streaming harness (verify/stream) against the cocotb conv-layer bench on the same layer job.

Both drive the same generated 16x16 top (Verilator) through the same layer (a layer of the synthetic ResNet-18,
golden-fed): the cocotb bench from Python every cycle, the C++ harness without Python in the cycle loop. Both
must be bit-exact and count the same cycles (checked here too). Reported per side: CPU seconds (the simulator
process's user + system time: cocotb's whole simulator process, its start included; the harness's time on the
layer) and wall seconds, cycles per CPU second and the CPU-time ratio: on a shared machine wall time depends
on the other processes, CPU time much less.

    .venv/bin/python bench/stream_vs_cocotb.py [--layer layer1.0.conv1] [--widths 8,8]
                                               [--out out/bench/stream_vs_cocotb]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from golden.atomic import atomic_write_bytes
from verify import runner
from verify.designs import generate, rtl_config
from verify.layer_job import LayerJob, prepare_layer_job
from verify.stream.session import StreamSession


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def compare(layer: str, b_w: int, b_a: int, work: Path) -> dict:
    path = prepare_layer_job(layer, b_w, b_a, work.resolve())  # the simulator runs in its own folder
    job = LayerJob.load(path)
    design = generate("top", rtl_config(16, 16))
    built = runner.build(design, "verilator")
    cpu0, t0 = children_cpu(), time.perf_counter()
    result = runner.run_bench(built, "verify.benches.conv_layer", env={"VERIFY_JOB": str(path)}, tag="stream-vs-cocotb")
    cocotb = {"cpu_s": children_cpu() - cpu0, "wall_s": time.perf_counter() - t0}
    layer_rec = next(r for r in result.records if r["bench"] == f"layer {layer}")
    cocotb["cycles"] = layer_rec["rtl_cycles"]
    cocotb["exact"] = result.ok and layer_rec["mismatches"] == 0
    with StreamSession(design) as session:
        t0 = time.perf_counter()
        got, figures = session.run_layer(job)
        stream = {"cpu_s": figures["rtl_cpu_seconds"], "wall_s": time.perf_counter() - t0,
                  "cycles": figures["rtl_cycles"], "exact": bool(np.array_equal(got, job.expected))}
    for side in (cocotb, stream):
        side["cycles_per_cpu_s"] = round(side["cycles"] / max(side["cpu_s"], 1e-9))
        side["cycles_per_s"] = round(side["cycles"] / max(side["wall_s"], 1e-9))
    return {"layer": layer, "b_w": b_w, "b_a": b_a, "cocotb": cocotb, "stream": stream,
            "agree": cocotb["exact"] and stream["exact"] and cocotb["cycles"] == stream["cycles"],
            "cpu_ratio": round(cocotb["cpu_s"] / max(stream["cpu_s"], 1e-9), 1),
            "wall_ratio": round(cocotb["wall_s"] / max(stream["wall_s"], 1e-9), 1)}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench/stream_vs_cocotb.py")
    ap.add_argument("--layer", default="layer1.0.conv1")
    ap.add_argument("--widths", default="8,8", help="b_w,b_a")
    ap.add_argument("--out", type=Path, default=Path("out/bench/stream_vs_cocotb"))
    args = ap.parse_args(argv)
    b_w, b_a = (int(x) for x in args.widths.split(","))
    r = compare(args.layer, b_w, b_a, args.out / "jobs")
    for side in ("cocotb", "stream"):
        s = r[side]
        print(f"{side:6}: {s['cycles']} cycles, {s['cpu_s']:.2f} CPU s ({s['cycles_per_cpu_s']} cycles per CPU s), "
              f"wall {s['wall_s']:.1f} s ({s['cycles_per_s']} cycles/s), bit-exact {s['exact']}")
    print(f"{r['layer']} w{b_w}a{b_a}: same outputs and cycles {r['agree']}; cocotb / stream: "
          f"{r['cpu_ratio']}x CPU time, {r['wall_ratio']}x wall time")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "result.json", (json.dumps(r, indent=2) + "\n").encode())
    return 0 if r["agree"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
