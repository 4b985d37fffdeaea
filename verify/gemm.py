"""Conv layers as GEMMs and GEMMs as array tiles, in master codes (views are taken by the RTL's view units).

A conv with weights W (M, C, k, k) over an input x (C, H, W) is `W.reshape(M, C·k·k) @ im2col(x)`;
zero padding is exact because view(0) = 0 at every width and signedness. An output-stationary R×C tile
computes out[r0:r0+R, c0:c0+C] over the full reduction K; partial edge tiles are zero-padded.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.ir import conv_out


def im2col(x: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """(C, H, W) -> (C·k·k, OH·OW): column p holds the receptive field of output pixel p.

    Row order (c, kh, kw) matches W.reshape(M, C·k·k).
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"im2col needs x of shape (C, H, W), got {x.shape}")
    c, h, w = x.shape
    oh, ow = conv_out(h, kernel, stride, padding), conv_out(w, kernel, stride, padding)
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((c, kernel, kernel, oh, ow), dtype=x.dtype)
    for i in range(kernel):
        for j in range(kernel):
            cols[:, i, j] = xp[:, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return cols.reshape(c * kernel * kernel, oh * ow)


@dataclass(frozen=True)
class Tile:
    """Output block rows [m0, m0+R) × columns [n0, n0+C) of an M×N GEMM result."""

    m0: int
    n0: int
    rows: int  # valid rows (<= R on an edge tile)
    cols: int  # valid columns (<= C on an edge tile)


def tiles(m: int, n: int, rows: int, cols: int) -> list[Tile]:
    """Row-major list of R×C output tiles covering an M×N result."""
    return [Tile(m0, n0, min(rows, m - m0), min(cols, n - n0))
            for m0 in range(0, m, rows) for n0 in range(0, n, cols)]


def tile_operands(w: np.ndarray, a: np.ndarray, t: Tile, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-padded operands of tile t: weights (R, K) and activations (K, C)."""
    k = w.shape[1]
    wt = np.zeros((rows, k), dtype=np.int64)
    at = np.zeros((k, cols), dtype=np.int64)
    wt[:t.rows] = w[t.m0:t.m0 + t.rows]
    at[:, :t.cols] = a[:, t.n0:t.n0 + t.cols]
    return wt, at
