"""Plain numpy twins of the golden kernels: obviously-correct int64 arithmetic, not fast.

Every function here has a numba twin of the same name and signature in golden/kernels.py; the tests compare
the two with np.array_equal. Argument checks live here and are shared by both backends, so a bad input gets
the same ValueError/TypeError (naming the argument and the value) whichever backend runs.

Conventions: activations x are (B, C, H, W) view codes; weights w are (M, C, kh, kw) view codes; zero
padding is exact in the view domain because view(0) = 0 for every width and signedness.
"""
from __future__ import annotations

import numpy as np

from . import primitives
from .ir import conv_out
from .spec import NestedSpec

INT64_MIN, INT64_MAX = NestedSpec.int_range(64, True)


# ---- argument checks (shared with golden/kernels.py) -------------------------------------------------------
def check_int_array(name: str, a, ndim: int, layout: str) -> np.ndarray:
    """`a` as an integer ndarray of `ndim` dimensions, else TypeError/ValueError naming `name`."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {layout}, got shape {a.shape}")
    return a


def check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def check_non_negative(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def check_conv_args(x, w, stride, padding):
    """Validated (x, w, stride, padding, (OH, OW)) of a conv2d_acc call."""
    x = check_int_array("x", x, 4, "(B, C, H, W)")
    w = check_int_array("w", w, 4, "(M, C, kh, kw)")
    stride = check_positive("stride", stride)
    padding = check_non_negative("padding", padding)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w has {w.shape[1]} input channels (w.shape={w.shape}) but x has "
                         f"{x.shape[1]} (x.shape={x.shape})")
    out_hw = tuple(conv_out(s, k, stride, padding) for s, k in zip(x.shape[2:], w.shape[2:]))
    if min(out_hw) < 1:
        raise ValueError(f"w kernel {w.shape[2:]} with padding={padding} does not fit x spatial size "
                         f"{x.shape[2:]}")
    return x, w, stride, padding, out_hw


def check_linear_args(x, w):
    x = check_int_array("x", x, 2, "(B, K)")
    w = check_int_array("w", w, 2, "(M, K)")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w has reduction length K={w.shape[1]} (w.shape={w.shape}) but x has "
                         f"K={x.shape[1]} (x.shape={x.shape})")
    return x, w


def check_pool_args(x, kernel, stride, padding):
    """Validated (x, kernel, stride, padding, (OH, OW)); padding < kernel keeps every window non-empty."""
    x = check_int_array("x", x, 4, "(B, C, H, W)")
    kernel = check_positive("kernel", kernel)
    stride = check_positive("stride", stride)
    padding = check_non_negative("padding", padding)
    if padding >= kernel:
        raise ValueError(f"padding must be < kernel={kernel} (else a window holds only padding), got {padding}")
    out_hw = tuple(conv_out(s, kernel, stride, padding) for s in x.shape[2:])
    if min(out_hw) < 1:
        raise ValueError(f"kernel={kernel} with padding={padding} does not fit x spatial size {x.shape[2:]}")
    return x, kernel, stride, padding, out_hw


def check_shift(s) -> int:
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= int(s) <= primitives.MAX_SHIFT:
        raise ValueError(f"requant shift s must be an int in [0, {primitives.MAX_SHIFT}], got {s!r}")
    return int(s)


# ---- kernels -------------------------------------------------------------------------------------------------
def viewed(x: np.ndarray, x_view) -> np.ndarray:
    """view(x, *x_view) when x_view = (bits, signed, spec) is given, else x."""
    return x if x_view is None else primitives.view(x, *x_view)


def conv2d_acc(x, w, stride: int, padding: int, x_view=None) -> np.ndarray:
    """Exact conv accumulator (groups = 1, zero padding), int64 (B, M, OH, OW):

        acc[b, m, i, j] = Σ_{c, u, v} w[m, c, u, v] · xpad[b, c, i·stride + u, j·stride + v]

    with xpad = x padded by `padding` zeros on each spatial side, OH = floor((H + 2p - kh) / stride) + 1.
    Computed as im2col + int64 matmul: no float anywhere. `x_view` = (bits, signed, spec): x are master
    codes and the sum takes view(x, bits, signed, spec) instead.
    """
    x, w, stride, padding, (oh, ow) = check_conv_args(x, w, stride, padding)
    x = viewed(x, x_view)
    m, c, kh, kw = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, : (oh - 1) * stride + 1 : stride, : (ow - 1) * stride + 1 : stride]  # (B, C, OH, OW, kh, kw)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(x.shape[0] * oh * ow, c * kh * kw)
    acc = cols @ w.astype(np.int64).reshape(m, c * kh * kw).T  # (B·OH·OW, M)
    return np.ascontiguousarray(acc.reshape(x.shape[0], oh, ow, m).transpose(0, 3, 1, 2))


def linear_acc(x, w, x_view=None) -> np.ndarray:
    """Exact fully connected accumulator, int64 (B, M):  acc[b, m] = Σ_k w[m, k] · x[b, k]
    (`x_view` as in conv2d_acc)."""
    x, w = check_linear_args(x, w)
    x = viewed(x, x_view)
    return x.astype(np.int64) @ w.astype(np.int64).T


def align_bias(acc, shift: int, bias) -> tuple[np.ndarray, np.ndarray]:
    """docs/spec.md §1 conv steps 2-3 on an accumulator acc (B, M, ...), with the bounds to check them:

        acc' = acc << shift,   x = acc' + bias[m]        (int64)
        bounds = [[min acc, max acc], [min acc', max acc'], [min x, max x]]   (int64 (3, 2))
    """
    acc = np.asarray(acc)
    if not np.issubdtype(acc.dtype, np.integer) or acc.ndim < 2:
        raise TypeError(f"acc must be an integer array (B, M, ...), got {acc.dtype} shape {acc.shape}")
    shift = check_non_negative("shift", shift)
    bias = check_int_array("bias", bias, 1, "(M,)")
    if bias.shape[0] != acc.shape[1]:
        raise ValueError(f"bias has {bias.shape[0]} channels but acc has {acc.shape[1]} (acc.shape={acc.shape})")
    acc = acc.astype(np.int64)
    aligned = acc << shift
    x = aligned + bias.astype(np.int64).reshape((1, -1) + (1,) * (acc.ndim - 2))
    if x.size == 0:
        return x, np.zeros((3, 2), np.int64)
    return x, np.array([[a.min(), a.max()] for a in (acc, aligned, x)], np.int64)


def check_channel_vector(name: str, v, channels: int) -> np.ndarray:
    v = check_int_array(name, v, 1, "(M,)")
    if v.shape[0] != channels:
        raise ValueError(f"{name} has {v.shape[0]} channels but acc has {channels}")
    return v


def conv_output(acc, shift: int, bias, m, s: int, lo: int, hi: int, r=None, m_r=None):
    """docs/spec.md §1 conv steps 2-4 on an accumulator acc (B, M, ...), per output channel c:

        acc' = acc << shift,  x = acc' + bias[c],  u = (x·m[c] + r·m_r[c] + 2^(s-1)) >> s,  y = clamp(u, lo, hi)

    (r, m_r: the residual term and its per-channel multipliers, or None.) Returns (y, bounds, n_below,
    n_above): bounds as align_bias's (acc, acc', x), n_below = #{u < lo}, n_above = #{u > hi}.
    """
    x, bounds = align_bias(acc, shift, bias)
    s = check_shift(s)
    chan = (1, -1) + (1,) * (x.ndim - 2)
    m = check_channel_vector("m", m, x.shape[1]).astype(np.int64).reshape(chan)
    rm = 0
    if r is not None:
        r = check_int_array("r", r, x.ndim, "like acc").astype(np.int64)
        if r.shape != x.shape:
            raise ValueError(f"r has shape {r.shape} but acc has {x.shape}")
        rm = r * check_channel_vector("m_r", m_r, x.shape[1]).astype(np.int64).reshape(chan)
    u = primitives.requant(x, m, s, INT64_MIN, INT64_MAX, rm, 1)
    return np.clip(u, lo, hi), bounds, int(np.count_nonzero(u < lo)), int(np.count_nonzero(u > hi))


def maxpool2d(x, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Max pool over the valid part of each window (padding positions ignored, i.e. -inf padding):

        y[b, c, i, j] = max { x[b, c, h, v] : h ∈ [i·stride - p, i·stride - p + kernel) ∩ [0, H),
                                               v ∈ [j·stride - p, j·stride - p + kernel) ∩ [0, W) }

    Same dtype as x; padding < kernel guarantees every window has a valid position.
    """
    x, kernel, stride, padding, (oh, ow) = check_pool_args(x, kernel, stride, padding)
    lowest = np.iinfo(x.dtype).min
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=lowest)
    win = np.lib.stride_tricks.sliding_window_view(xp, (kernel, kernel), axis=(2, 3))
    win = win[:, :, : (oh - 1) * stride + 1 : stride, : (ow - 1) * stride + 1 : stride]
    return win.max(axis=(4, 5))


def gap_sum(x) -> np.ndarray:
    """Global sum pool, int64 (B, C):  y[b, c] = Σ_{h, w} x[b, c, h, w]."""
    x = check_int_array("x", x, 4, "(B, C, H, W)")
    return x.astype(np.int64).sum(axis=(2, 3))


def view(q, bits: int, signed: bool, spec: NestedSpec) -> np.ndarray:
    """golden.primitives.view: sat_{b,signed}((q + 2^(k-1)) >> k), k = N - b (identity when k = 0)."""
    return primitives.view(q, bits, signed, spec)


def requant(x, m, s: int, lo: int, hi: int, r=0, m_r: int = 0) -> tuple[np.ndarray, int]:
    """golden.primitives.requant plus the clamp count, in int64:

        u = (x·m + r·m_r + 2^(s-1)) >> s          (rounding term 0 when s = 0; one half-up rounding)
        y = clamp(u, lo, hi),   n_clamped = #{u < lo or u > hi}

    `m` is a scalar or broadcasts against x (per-channel); `r` a scalar or an array of x's shape.
    """
    s = check_shift(s)
    unclamped = primitives.requant(x, m, s, INT64_MIN, INT64_MAX, r, m_r)
    n_clamped = int(np.count_nonzero((unclamped < lo) | (unclamped > hi)))
    return np.clip(unclamped, lo, hi), n_clamped
