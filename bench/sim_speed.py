"""Simulator speed: the full ResNet-50 ImageNet simulation per dataflow, vectorised closed forms vs a
per-fold Python loop over the same formulas (sim/fold_loop.py), measured in the same run.

The vectorised side is the whole simulation the reports need (cycles, traffic, energy, totals, per-layer
rows); the loop side walks the folds for cycles, readout and operand reads only, so the ratio understates
the gain. Prints, per dataflow, the time per network of each and the ratio; exits 1 if the two disagree on any
layer's cycles or operand reads (they must be equal exactly). Target: well under 1 s per network.

    .venv/bin/python bench/sim_speed.py [--pe 16x16] [--plan uniform:8] [--repeat 5]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden.plan import parse_plan  # noqa: E402
from golden.spec import DEFAULT_SPEC  # noqa: E402
from golden.topologies import resnet50_imagenet  # noqa: E402
from sim.fold_loop import fold_loop  # noqa: E402
from sim.session import make_config  # noqa: E402
from sim.simulate import simulate_network  # noqa: E402


def best_time(fn, repeat: int) -> tuple[float, object]:
    """Minimum wall time of `repeat` calls and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def full_simulation(network, config, widths):
    """simulate_network plus everything the reports read: totals (energy, utilization) and per-layer rows."""
    sim = simulate_network(network, config, widths)
    return sim, (sim.totals(), sim.backbone.layer_rows())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pe", default="16x16")
    parser.add_argument("--plan", default="uniform:8")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    network = resnet50_imagenet()
    widths = parse_plan(args.plan, network, DEFAULT_SPEC).layer_widths(network, DEFAULT_SPEC)
    print(f"ResNet-50 ImageNet ({len(network.layers)} conv/FC layers), {args.pe}, {args.plan}, "
          f"best of {args.repeat}")
    print(f"{'dataflow':<9} {'folds':>9} {'vectorised (s/net)':>19} {'per-fold loop (s/net)':>22} {'speed-up':>9}")
    status = 0
    for dataflow in ("os", "ws", "is"):
        config = make_config(pe=args.pe, dataflow=dataflow)
        fast_s, (sim, _) = best_time(lambda: full_simulation(network, config, widths), args.repeat)
        slow_s, loop = best_time(lambda: fold_loop(sim.backbone.workload, config), max(1, args.repeat // 5))
        b = sim.backbone
        agree = (np.array_equal(loop["busy_cycles"], b.folds.busy_cycles)
                 and np.array_equal(loop["readout_cycles"], b.folds.readout_cycles)
                 and np.array_equal(loop["weight_reads"], b.traffic.weight_reads)
                 and np.array_equal(loop["act_reads"], b.traffic.act_reads))
        if not agree:
            print(f"{dataflow}: MISMATCH between the closed forms and the per-fold loop", file=sys.stderr)
            status = 1
        print(f"{dataflow:<9} {int(b.folds.folds.sum()):>9,} {fast_s:>19.5f} {slow_s:>22.4f} {slow_s / fast_s:>8.0f}x"
              f"{'' if agree else '  MISMATCH'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
