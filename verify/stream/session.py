"""One streaming-harness process (verify/stream/harness.cpp) driving one DqtTop, layer after layer, no reset in
between: Python writes each layer's job file, the harness runs it back to back and answers with a result file.

    with StreamSession(design) as s:
        got, figures = s.run_layer(job)          # LayerJob -> (M, N) RTL outputs, cycle figures

figures: {tiles, rtl_cycles, sim_cycles, sim_busy, sim_readout, sim_load, tile_cycle_errors, protocol_errors,
rtl_cpu_seconds}:
rtl_cycles are the harness's counted edges from the layer's first load write to its last done, sim_* the
simulator's schedule for the same GEMM (verify.layer_flow.sim_layer_cycles, the code `cli.py sim` runs);
tile_cycle_errors counts tiles whose counted or reported cycles differ from sim.tile.os_tile_cycles (R, C, K and
the tile's lanes_w·lanes_a, verify.tile_job.tile_lanes: fused PEs hold that many accumulators);
rtl_cpu_seconds is the CPU time the harness process spent on the layer (user + system, /proc/<pid>/stat: unlike
wall time it does not grow when other processes share the cores).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from sim.tile import os_tile_cycles

from ..layer_flow import sim_layer_cycles
from ..layer_job import LayerJob
from ..manifest import DutParams
from ..runner import Design
from ..tile_job import tile_lanes
from .build import build_harness
from .job import read_result, write_job


class StreamSession:
    """The harness executable of `design` (built on first use) as a child process; work files in `work_dir`
    (default: a temporary folder removed on close)."""

    def __init__(self, design: Design, work_dir: Path | None = None, threads: int = 1):
        self.params = DutParams.load(design.manifest_path)
        t0 = time.perf_counter()
        self.exe = build_harness(design, threads)
        self.build_seconds = time.perf_counter() - t0  # Verilator + C++ compile (about 0 when the build is reused)
        self._tmp = None if work_dir is not None else tempfile.TemporaryDirectory(prefix="dqt-stream-")
        self.work_dir = (Path(work_dir) if work_dir is not None else Path(self._tmp.name)).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(self.exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1, cwd=self.work_dir)

    def submit(self, job: LayerJob) -> Path:
        """Hand `job` to the harness (returns at once; collect() waits for it)."""
        p = self.params
        if job.weights.shape[1] > p.k_max:
            raise ValueError(f"layer {job.name}: K = {job.weights.shape[1]} exceeds the design's buffer depth "
                             f"k_max = {p.k_max}")
        job_path, result_path = self.work_dir / "job.bin", self.work_dir / "result.bin"
        result_path.unlink(missing_ok=True)
        write_job(job_path, job, p.rows, p.cols, p.out_modes[job.mode],
                  tile_lanes(job.b_w, job.b_a, p.fusion_widths))
        self._cpu_at_submit = self.cpu_seconds()
        self.proc.stdin.write(f"{job_path} {result_path}\n")
        self.proc.stdin.flush()
        return result_path

    def collect(self, job: LayerJob, result_path: Path) -> tuple[np.ndarray, dict]:
        """Wait for the harness's answer to `job`: (M, N) outputs and the figures of the module docstring."""
        answer = self.proc.stdout.readline().strip()
        if answer != f"ok {result_path}":
            raise RuntimeError(f"streaming harness on layer {job.name}: {answer or 'exited (no answer)'}")
        cpu = self.cpu_seconds() - self._cpu_at_submit
        (m, k), n = job.weights.shape, job.acts.shape[1]
        res = read_result(result_path, m, n)
        lanes_w, lanes_a = tile_lanes(job.b_w, job.b_a, self.params.fusion_widths)
        want = os_tile_cycles(self.params.rows, self.params.cols, k, lanes_w * lanes_a)
        sim = sim_layer_cycles(job, self.params)
        return res.out, {"tiles": len(res.counted), "rtl_cycles": res.layer_cycles, "sim_cycles": sim["total"],
                         "sim_busy": sim["busy"], "sim_readout": sim["readout"], "sim_load": sim["load"],
                         "tile_cycle_errors": int(np.sum((res.counted != want) | (res.reported != want))),
                         "protocol_errors": res.protocol_errors, "rtl_cpu_seconds": round(cpu, 3)}

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the harness process so far (fields 14 and 15 of /proc/<pid>/stat)."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run_layer(self, job: LayerJob) -> tuple[np.ndarray, dict]:
        return self.collect(job, self.submit(job))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "StreamSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
