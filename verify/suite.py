"""`make verify`: the default bench suite on every simulator SIM selects (default both), with a summary.

    python -m verify.suite [--short | --largest]

--largest runs the largest array's runs (verify.plan.largest_shape_runs; make verify-largest) instead of the
default suite.

Prints one line per bench run under a bar over all runs (rate, time left; golden.progress), one line per record (bench, design, simulator, vectors, mismatches, seconds), then totals and
the wall time; exits 1 if any bench failed, compared nothing, or a fault injection went undetected. A missing
simulator is a failure.
"""
from __future__ import annotations

import sys
import time

from golden.progress import progress_bar

from .plan import BenchRun, default_suite, largest_shape_runs, short_suite
from .records import format_summary
from .toolchain import SimulatorMissing, selected_simulators


def run_suite(runs: list[BenchRun], sims: tuple[str, ...], progress=print, file=None) -> tuple[list[dict], list[str]]:
    """Run every BenchRun on every simulator it runs on (BenchRun.simulators); returns (records, failures). One
    `progress` line per run, and a bar over all of them on `file` (stderr by default)."""
    records, failures = [], []
    plan = {sim: [run for run in runs if run.runs_on(sim)] for sim in sims}
    with progress_bar(total=sum(map(len, plan.values())), desc="verify", unit="run", file=file) as bar:
        for sim in sims:
            for i, run in enumerate(plan[sim]):
                bar.set_postfix_str(f"{sim} {run.name}")
                t0 = time.perf_counter()
                try:
                    result = run.run(sim)
                except SimulatorMissing as e:
                    failures.append(f"{sim}: {e}")
                    bar.update(len(plan[sim]) - i)  # the simulator's remaining runs are not run
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
    suites = {"--short": ("short", short_suite), "--largest": ("largest", largest_shape_runs)}
    name, suite = next((suites[arg] for arg in argv if arg in suites), ("default", default_suite))
    sims = selected_simulators()
    t0 = time.perf_counter()
    records, failures = run_suite(suite(), sims)
    wall = time.perf_counter() - t0
    exact = [r for r in records if r["expect"] == "exact"]
    faults = [r for r in records if r["expect"] == "fault"]
    print()
    print(format_summary(exact, f"verification summary ({name} suite, "
                                f"simulators: {', '.join(sims)})"))
    print()
    print(format_summary(faults, "fault injection (each faulty design must show mismatches > 0 in its output rows; its cycle rows may not)"))
    print(f"\nbenches: {len(exact)} records, vectors: {sum(r['vectors'] for r in exact)}, "
          f"mismatches: {sum(r['mismatches'] for r in exact)}, fault rows: {len(faults)}, "
          f"simulators: {', '.join(sims)}, wall time: {wall:.1f} s")
    for f in failures:
        print(f"\nFAILED: {f}", file=sys.stderr)
    print("RESULT:", "PASS" if not failures else f"FAIL ({len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
