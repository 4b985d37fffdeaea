"""`make verify`: the default bench suite on every simulator SIM selects (default both), with a summary.

    python -m verify.suite [--short | --corners | --largest] [--model FILE]

--largest runs only the largest array's runs (verify.plan.largest_shape_runs, also in the default suite; make verify-largest)
instead of the whole default suite.

Prints one line per bench run under a bar over all runs (rate, time left; golden.progress), one line per record (bench, design, simulator, vectors, mismatches, seconds), then totals and
the wall time, then the functional coverage table (verify/coverage.py) merged over the exact runs; exits 1 if
any bench failed, compared nothing, a fault injection went undetected, or a targeted coverage bin is empty.
A missing simulator is a failure. --model: the conv-layer benches run layers of that model file
(verify.plan.model_conv_runs) instead of the synthetic ResNet-18's.
"""
from __future__ import annotations

import argparse
import sys
import time

from golden.progress import progress_bar

from .coverage import format_coverage, merge, missing_targets
from .plan import BenchRun, corner_suite, default_suite, largest_shape_runs, short_suite
from .records import format_summary
from .toolchain import SimulatorMissing, selected_simulators


def run_suite(runs: list[BenchRun], sims: tuple[str, ...], progress=print, file=None) -> tuple[list[dict], list[str]]:
    """Run every BenchRun on every simulator it is for (BenchRun.runs_on); returns (records, failures). One `progress`
    line per run, and a bar over all of them on `file` (stderr by default)."""
    records, failures = [], []
    per_sim = {sim: [run for run in runs if run.runs_on(sim)] for sim in sims}
    with progress_bar(total=sum(map(len, per_sim.values())), desc="verify", unit="run", file=file) as bar:
        for sim in sims:
            for i, run in enumerate(per_sim[sim]):
                bar.set_postfix_str(f"{sim} {run.name}")
                t0 = time.perf_counter()
                try:
                    result = run.run(sim)
                except SimulatorMissing as e:
                    failures.append(f"{sim}: {e}")
                    bar.update(len(per_sim[sim]) - i)  # the simulator's remaining runs are not run
                    break
                why = run.verdict(result)
                for rec in result.records:
                    rec["bench"] = f"{run.name}:{rec['bench']}" if run.fault else rec["bench"]
                    rec["expect"] = "fault" if run.fault else "exact"
                records += result.records
                status = "ok" if why is None else "FAIL"
                with bar.external_write_mode():
                    progress(f"[{sim:9}] {run.name:22} {status:4} {time.perf_counter() - t0:6.1f} s "
                             f"({sum(r['vectors'] for r in result.records)} vectors)")
                bar.update(1)
                if why:
                    failures.append(f"{sim} {run.name}: {why}\n{result.log_tail(40)}")
    return records, failures


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m verify.suite")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--short", action="store_true", help="make test's quick share")
    which.add_argument("--corners", action="store_true", help="every corner run on both simulators (make verify-corners)")
    which.add_argument("--largest", action="store_true", help="the largest array's runs (make verify-largest)")
    ap.add_argument("--model", default=None, help="model file whose layers the conv-layer benches run")
    args = ap.parse_args(argv)
    try:
        return verify_suite("short" if args.short else "corners" if args.corners else "largest" if args.largest else "default", args.model)
    except ValueError as e:
        print(f"verify: {e}", file=sys.stderr)
        return 2


def verify_suite(label: str = "default", model: str | None = None) -> int:
    """Run the suite `label` (default | short | corners | largest; the default one with `model`'s conv layers), print the
    summary and the coverage table; the exit code."""
    suites = {"default": lambda: default_suite(model), "short": short_suite, "corners": corner_suite,
              "largest": largest_shape_runs}
    if label not in suites:
        raise ValueError(f"suite must be one of {', '.join(suites)}, got {label!r}")
    if label != "default" and model:
        raise ValueError(f"--model applies to the default suite, not --{label}")
    runs = suites[label]()
    sims = selected_simulators()
    t0 = time.perf_counter()
    records, failures = run_suite(runs, sims)
    wall = time.perf_counter() - t0
    exact = [r for r in records if r["expect"] == "exact"]
    faults = [r for r in records if r["expect"] == "fault"]
    print()
    print(format_summary(exact, f"verification summary ({label} suite, "
                                f"simulators: {', '.join(sims)})"))
    print()
    print(format_summary(faults, "fault injection (each faulty design must show mismatches > 0 in its output rows; its cycle rows may not)"))
    print(f"\nbenches: {len(exact)} records, vectors: {sum(r['vectors'] for r in exact)}, "
          f"mismatches: {sum(r['mismatches'] for r in exact)}, fault rows: {len(faults)}, "
          f"simulators: {', '.join(sims)}, wall time: {wall:.1f} s")
    counts, wanted = merge(exact)
    if counts:
        print()
        print(format_coverage(counts, wanted, "functional coverage (exact runs, all simulators; verify/coverage.py)"))
        empty = missing_targets(counts, wanted)
        if empty:
            failures.append(f"coverage: {len(empty)} targeted bins are empty: {', '.join(empty)}")
    for f in failures:
        print(f"\nFAILED: {f}", file=sys.stderr)
    print("RESULT:", "PASS" if not failures else f"FAIL ({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
