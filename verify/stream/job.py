"""The files between Python and the streaming harness (layout: the header comment of verify/stream/harness.cpp).

write_job stores one layer's GEMM operands (verify.layer_job.LayerJob: W (M, K), A (K, N) master codes,
per-filter bias / m / m_r, residual (M, N)), its configuration and the tile's lanes per port (lanes_w, lanes_a:
verify.tile_job.tile_lanes; 1, 1 on fixed PEs); the harness tiles them itself in verify.gemm.tiles order over
(R·lanes_w) × (C·lanes_a) logical tiles. read_result returns the harness's (M, N) outputs and its cycle counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.atomic import atomic_path

from ..layer_job import LayerJob

JOB_MAGIC, RESULT_MAGIC = b"DQTJ", b"DQTR"


@dataclass(frozen=True)
class StreamResult:
    out: np.ndarray        # (M, N) int64 outputs as the RTL drained them
    counted: np.ndarray    # (tiles,) edges from each tile's start to its done
    reported: np.ndarray   # (tiles,) the DUT's `cycles` port after each done
    layer_cycles: int      # edges from the first load write to the last done
    protocol_errors: int   # output rows outside a tile, out of order, or missing


def write_job(path: Path, job: LayerJob, rows: int, cols: int, mode_code: int,
              lanes: tuple[int, int] = (1, 1)) -> None:
    """Write `job` for an R×C harness (mode_code: the manifest's out_modes[job.mode]['code']; lanes: (lanes_w,
    lanes_a) of its tiles)."""
    (m, k), n = job.weights.shape, job.acts.shape[1]
    head = np.array([rows, cols, m, k, n, job.b_w, job.b_a, int(job.a_signed), mode_code, job.s, int(job.res_en),
                     *lanes], dtype="<i8")
    parts = [head, _as(job.weights, "<i4"), _as(job.acts, "<i4"), *(_as(v, "<i8") for v in (job.bias, job.m, job.m_r))]
    if job.res_en:
        parts.append(_as(job.resid, "<i8"))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(JOB_MAGIC)
        for part in parts:
            f.write(part.tobytes())


def _as(a: np.ndarray, dtype: str) -> np.ndarray:
    """`a` as a C-ordered array of `dtype`; ValueError if a value does not fit."""
    a = np.asarray(a)
    out = np.ascontiguousarray(a, dtype=dtype)
    if not np.array_equal(out, a):
        raise ValueError(f"a job operand does not fit {dtype}: range [{a.min()}, {a.max()}]")
    return out


def read_result(path: Path, m: int, n: int) -> StreamResult:
    """The harness's result file for an (M, N) layer."""
    raw = Path(path).read_bytes()
    if raw[:4] != RESULT_MAGIC:
        raise ValueError(f"{path}: not a streaming-harness result file")
    tiles, layer_cycles, errors = np.frombuffer(raw, "<i8", 3, 4)
    pos = 4 + 24
    counted = np.frombuffer(raw, "<i4", tiles, pos).astype(np.int64)
    reported = np.frombuffer(raw, "<i4", tiles, pos + 4 * tiles).astype(np.int64)
    pos += 8 * tiles
    if len(raw) != pos + 8 * m * n:
        raise ValueError(f"{path}: {len(raw)} bytes, expected {pos + 8 * m * n} for {tiles} tiles and a {m}x{n} output")
    out = np.frombuffer(raw, "<i8", m * n, pos).reshape(m, n).copy()
    return StreamResult(out, counted, reported, int(layer_cycles), int(errors))
