"""Numba kernels of the golden model, bit-exact twins of golden/kernels_ref.py (same names and signatures).

`NUMBA_KERNELS` is the namespace the "numba" backend runs (golden.execute.get_backend; the "numpy" backend is
the module golden/kernels_ref.py itself), holding the kernels KERNEL_NAMES: conv2d_acc, linear_acc,
maxpool2d, gap_sum, view, requant, plus align_bias (conv steps 2-3 with their bounds) and conv_output
(steps 2-4 with bounds and clamp counts), one pass each where the numpy twins make five to ten.

Convolution as an integer GEMM (the hot path). A conv is acc[b, m, p] = Σ_k W[m, k] · X_b[k, p] with
k = (u, v, c) running over kernel rows, columns and input channels and p over output pixels. Both operands
are packed once per call: the weights as rows W[m, :] and the input, transposed to padded NHWC, as im2col
rows X_b[:, p]; the reduction length K is zero-padded to a multiple of the tile depth (zeros add nothing).
Four exact routes, chosen per call from the operand bounds and the CPU numba compiles for (golden/cpu_target.py:
NUMBA_CPU_NAME / NUMBA_CPU_FEATURES, else the host), in this order of preference (docs/performance.md):

* "vnni" (CPUs with AVX-512 VNNI): VPDPBUSD multiplies unsigned bytes by signed bytes and adds each group
  of four products to an int32 lane, without saturation. Activations are unsigned views in [0, 2^b - 1]; a
  signed operand X in [-128, 127] (the network input) is shifted to X + 128 and the sum corrected exactly:
  Σ W·X = Σ W·(X + 128) - 128·Σ_k W[m, k] (padding positions, X = 0, are packed as 128 too).
* "maddubs" (AVX2): VPMADDUBSW multiplies unsigned by signed bytes and adds pairs into int16 lanes with
  saturation; two K steps are added in int16 and widened by VPMADDWD with ones. Taken only for x in
  [0, 255], w in int8 with max x · max|w| <= 8191, so that an int16 lane (4 products) never saturates.
* "madd" (CPUs with a 256-bit int16 multiply-add: AVX2's VPMADDWD, or VPDPWSSD with VNNI): int16
  operands whose 16-term step fits the chunk bound below, each int32 lane adds the two products of a pair of
  K positions; written in plain LLVM IR, so that it is valid code on every target.
* "dot": LLVM-vectorised dot products on int16 operands (int32 accumulators) or int64 operands (int64
  accumulators) for any other operand range or CPU.

Exactness: every int32 lane (and every VPMADDWD pair sum) holds a partial sum of products over a subset of
one K-chunk, and int32 addition is exact modulo 2^32, so a chunk's total is exact when its true value fits int32:
K_chunk · max|X| · max|W| <= 2^31 - 1. The chunk length is derived from the actual operand bounds (scanned
while packing, padding's zero code included); chunk totals are added in int64. With 8-bit operands
(|X| <= 255, |W| <= 128) a chunk is 65 792 terms, longer than any ResNet reduction.
"""
from __future__ import annotations

import ctypes
import os
import threading
import weakref
from dataclasses import dataclass
from types import SimpleNamespace

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import kernels_ref, primitives
from .cpu_target import numba_target
from .kernels_ref import (check_conv_args, check_int_array, check_linear_args, check_pool_args,
                          check_shift)
from .spec import NestedSpec

# numba's OpenMP workers sleep at the end of a parallel region instead of spinning: on a machine shared with
# other jobs, spinning workers steal the cores the busy ones need (measured 10x slower under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ACC32_MAX = NestedSpec.int_range(32, True)[1]
U8_RANGE = NestedSpec.int_range(8, False)
S8_RANGE = NestedSpec.int_range(8, True)
S16_RANGE = NestedSpec.int_range(16, True)
TILE_M, TILE_P = 4, 4  # register tile of the vnni route: weight rows × pixels per micro-kernel call
VNNI_DEPTH = 64  # bytes of K per 512-bit VPDPBUSD step
MADD_TILE_M = 2  # weight rows per madd micro-kernel call: 2 × 4 accumulators + 6 operands fit 16 ymm registers
MADD_DEPTH = 16  # int16 elements of K per 256-bit multiply-add step
MADD_ROW_GROUP = 32  # madd row tiles per task (64 rows, as ROW_GROUP for vnni)
DOT_DEPTH = 16  # K padding of the dot route (a vector of 16 int32 lanes)
ROUTES = ("vnni", "maddubs", "madd", "dot")  # in order of preference
MADDUBS_MAX_PRODUCT = ((1 << 15) - 1) // 4  # maddubs: max x · max|w| (4 products per int16 lane)
PARALLEL_MIN_WORK = 1 << 18  # elements below which a kernel runs on one thread
PARALLEL_CHUNK = 4  # prange iterations a thread takes at a time (dynamic: a descheduled worker loses little)
MACS_PER_ELEMENT = 256  # a GEMM's work in elements: MACs / 256 (a 64 M MAC GEMM is worth two threads)
ROW_GROUP = 16  # weight-row tiles per VNNI task (64 rows × K bytes stay in L2 while pixel tiles stream)
JIT_FLAGS = {"parallel": True, "cache": True}  # every kernel: numba's threads, compiled once per CPU target
# and kept in numba's on-disk cache (__pycache__ beside this file, or NUMBA_CACHE_DIR)

TARGET = numba_target()  # the CPU numba compiles for (NUMBA_CPU_NAME / NUMBA_CPU_FEATURES or the host)
HAS_VNNI = TARGET.vnni512
HAS_MADD = TARGET.madd256


def available_routes() -> tuple[str, ...]:
    """The GEMM routes the compile target supports (dot always; module docstring)."""
    return tuple(r for r, ok in (("vnni", HAS_VNNI), ("maddubs", HAS_MADD), ("madd", HAS_MADD), ("dot", True)) if ok)


GLIBC_M_TRIM_THRESHOLD, GLIBC_M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers (malloc.h)
GLIBC_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's largest accepted mmap threshold on 64-bit


def keep_freed_memory() -> bool:
    """Opt-in allocator policy for long inference runs (glibc only; returns False elsewhere): serve every
    allocation up to 32 MiB from the heap and keep freed heap memory for reuse instead of returning it to the
    OS. Each layer allocates fresh int64 tensors; with glibc's defaults they come from new pages, and a page
    fault costs about 20 us per 4 KiB in a VM (batch-32 ResNet-18: about 12 % of the time)."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(GLIBC_M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD_MAX)) and \
        bool(mallopt(GLIBC_M_TRIM_THRESHOLD, (1 << 31) - 1))


def _parallel_if(work: int, kernel, *args):
    """kernel(*args) on numba's threads when `work` (elements or MACs / MACS_PER_ELEMENT) is worth a
    parallel region (about 15 us to wake the workers), else on the calling thread alone. Iterations are
    handed out dynamically, PARALLEL_CHUNK at a time, so a worker the OS schedules late (a shared machine)
    does not hold the others up."""
    if work >= PARALLEL_MIN_WORK:
        with nb.parallel_chunksize(PARALLEL_CHUNK):
            return kernel(*args)
    threads = nb.get_num_threads()
    nb.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        nb.set_num_threads(threads)


# ---- SIMD micro-kernels ----------------------------------------------------------------------------------
def _dpbusd(builder, acc, x, w):
    """VPDPBUSD: lane i of acc += Σ_{j<4} u8(x[4i+j]) · s8(w[4i+j]) (no saturation; AVX-512 VNNI only)."""
    vec = acc.type
    fn = builder.module.globals.get("llvm.x86.avx512.vpdpbusd.512") or ir.Function(
        builder.module, ir.FunctionType(vec, [vec, vec, vec]), "llvm.x86.avx512.vpdpbusd.512")
    return builder.call(fn, [acc, x, w])


def _madd16(builder, acc, x, w):
    """lane i of acc += x[2i]·w[2i] + x[2i+1]·w[2i+1] on int16 operands, in plain LLVM IR (sext, mul, add of
    the even and odd products): LLVM emits one VPMADDWD + VPADDD on AVX2 (VPDPWSSD with VNNI) and valid code
    on every other target. int32 arithmetic wraps like the instructions do (exact under the chunk bound)."""
    lanes = acc.type.count
    wide = ir.VectorType(ir.IntType(32), 2 * lanes)
    product = builder.mul(builder.sext(x, wide), builder.sext(w, wide))
    i32 = ir.IntType(32)
    even = ir.Constant(ir.VectorType(i32, lanes), [ir.Constant(i32, 2 * i) for i in range(lanes)])
    odd = ir.Constant(ir.VectorType(i32, lanes), [ir.Constant(i32, 2 * i + 1) for i in range(lanes)])
    pairs = builder.add(builder.shuffle_vector(product, product, even),
                        builder.shuffle_vector(product, product, odd))
    return builder.add(acc, pairs)


def _x86(builder, name: str, ret: ir.Type, *args):
    """Call the LLVM x86 intrinsic `name` (declared once per module)."""
    fn = builder.module.globals.get(name) or ir.Function(builder.module, ir.FunctionType(ret, [a.type for a in args]),
                                                         name)
    return builder.call(fn, list(args))


def _maddubs(builder, acc, x, w):
    """x: 64 unsigned bytes, w: 64 signed bytes (two K steps of 32). VPMADDUBSW multiplies u8 by s8 and adds
    adjacent pairs into int16 lanes (saturating); the two steps' int16 lanes are added, and VPMADDWD by ones
    adds adjacent int16 lanes into the int32 lanes of acc: lane i of acc += Σ of the 8 products of bytes
    {4i..4i+3} of each half. Exact when 4·max x·max|w| <= 2^15 - 1 (no int16 lane ever saturates or wraps);
    AVX2 only."""
    i16, i32 = ir.IntType(16), ir.IntType(32)
    pairs = ir.VectorType(i16, 16)

    def part(v, start):
        mask = ir.Constant(ir.VectorType(i32, 32), [ir.Constant(i32, start + i) for i in range(32)])
        return builder.shuffle_vector(v, v, mask)

    low = _x86(builder, "llvm.x86.avx2.pmadd.ub.sw", pairs, part(x, 0), part(w, 0))
    high = _x86(builder, "llvm.x86.avx2.pmadd.ub.sw", pairs, part(x, 32), part(w, 32))
    ones = ir.Constant(pairs, [ir.Constant(i16, 1)] * 16)
    return builder.add(acc, _x86(builder, "llvm.x86.avx2.pmadd.wd", acc.type, builder.add(low, high), ones))


def _tile_intrinsic(step_op, operand: ir.VectorType, lanes: int, tile_m: int, tile_p: int):
    """A numba intrinsic tile(w_addr, ldw, x_addr, ldx, nsteps, out_addr, ld_m, ld_p, accumulate):

        out[r·ld_m + c·ld_p] (+)= Σ_{k < nsteps·depth} W[r·ldw + k] · X[c·ldx + k]   for r < tile_m, c < tile_p

    with depth = the operand vector's bytes / element size; addresses and ldw, ldx are in bytes, out is int64.
    Each of the tile_m·tile_p accumulators is a vector of `lanes` int32 lanes updated by
    step_op(builder, acc, x_vector, w_vector) once per step; the lanes are summed once at the end,
    sign-extended and added to out (`accumulate` nonzero: a later K-chunk) or stored (the first chunk: out need
    not be initialised)."""
    step_bytes = operand.count * operand.element.width // 8

    def tile(typingctx, w_addr, ldw, x_addr, ldx, nsteps, out_addr, ld_m, ld_p, accumulate):
        sig = types.void(*(types.intp,) * 9)

        def codegen(context, builder, signature, args):
            w_addr, ldw, x_addr, ldx, nsteps, out_addr, ld_m, ld_p, accumulate = args
            i64, i32 = ir.IntType(64), ir.IntType(32)
            vec = ir.VectorType(i32, lanes)
            reduce_name = f"llvm.vector.reduce.add.v{lanes}i32"
            reduce_add = builder.module.globals.get(reduce_name) or ir.Function(
                builder.module, ir.FunctionType(i32, [vec]), reduce_name)
            const = lambda v: ir.Constant(i64, v)  # noqa: E731
            entry = builder.block
            loop = builder.append_basic_block("tile.loop")
            done = builder.append_basic_block("tile.done")
            zero = ir.Constant(vec, None)
            builder.cbranch(builder.icmp_signed(">", nsteps, const(0)), loop, done)

            builder.position_at_end(loop)
            step = builder.phi(i64)
            accs = [[builder.phi(vec) for _ in range(tile_p)] for _ in range(tile_m)]
            offset = builder.mul(step, const(step_bytes))

            def load(base, ld, row):
                ptr = builder.inttoptr(builder.add(builder.add(base, builder.mul(ld, const(row))), offset),
                                       operand.as_pointer())
                value = builder.load(ptr)
                value.align = 1
                return value

            wv = [load(w_addr, ldw, r) for r in range(tile_m)]
            xv = [load(x_addr, ldx, c) for c in range(tile_p)]
            new = [[step_op(builder, accs[r][c], xv[c], wv[r]) for c in range(tile_p)] for r in range(tile_m)]
            next_step = builder.add(step, const(1))
            body_end = builder.block
            builder.cbranch(builder.icmp_signed("<", next_step, nsteps), loop, done)
            step.add_incoming(const(0), entry)
            step.add_incoming(next_step, body_end)
            for r in range(tile_m):
                for c in range(tile_p):
                    accs[r][c].add_incoming(zero, entry)
                    accs[r][c].add_incoming(new[r][c], body_end)

            builder.position_at_end(done)
            finals = []
            for r in range(tile_m):
                for c in range(tile_p):
                    phi = builder.phi(vec)
                    phi.add_incoming(zero, entry)
                    phi.add_incoming(new[r][c], body_end)
                    finals.append((r, c, phi))
            totals = []
            for r, c, phi in finals:
                index = builder.add(builder.mul(ld_m, const(r)), builder.mul(ld_p, const(c)))
                ptr = builder.inttoptr(builder.add(out_addr, builder.mul(index, const(8))), i64.as_pointer())
                totals.append((ptr, builder.sext(builder.call(reduce_add, [phi]), i64)))
            with builder.if_else(builder.icmp_signed("!=", accumulate, const(0))) as (add_to_out, store_to_out):
                with add_to_out:
                    for ptr, total in totals:
                        builder.store(builder.add(builder.load(ptr), total), ptr)
                with store_to_out:
                    for ptr, total in totals:
                        builder.store(total, ptr)
            return context.get_dummy_value()

        return sig, codegen

    return intrinsic(tile)


_vnni_tile = _tile_intrinsic(_dpbusd, ir.VectorType(ir.IntType(32), 16), 16, TILE_M, TILE_P)
_madd_tile = _tile_intrinsic(_madd16, ir.VectorType(ir.IntType(16), 16), 8, MADD_TILE_M, TILE_P)
_maddubs_tile = _tile_intrinsic(_maddubs, ir.VectorType(ir.IntType(8), VNNI_DEPTH), 8, MADD_TILE_M, TILE_P)


@nb.njit(**JIT_FLAGS)
def _gemm_vnni(wp, cols, out, k_lo, k_hi):
    """out[b, m, p] (+)= Σ_{k_lo <= k < k_hi} wp[m, k] · cols[b, p, k]   (int8 × uint8, int64 out; stored
    when k_lo = 0, added for later K-chunks).

    wp (Mp, Kp) int8, cols (B, Pp, Kp) uint8, out (B, Mp, Pp) int64; Mp, Pp multiples of the tile,
    k_lo, k_hi multiples of VNNI_DEPTH. Tasks are (row group, pixel tile) pairs, row group major, so that
    each thread sweeps its pixel tiles against one group of weight rows held in cache.
    """
    n_img, pp, kp = cols.shape
    mp = wp.shape[0]
    steps = (k_hi - k_lo) // VNNI_DEPTH
    tiles = pp // TILE_P
    groups = -(-mp // (TILE_M * ROW_GROUP))
    for t in nb.prange(groups * n_img * tiles):
        g, bt = t // (n_img * tiles), t % (n_img * tiles)
        b, p = bt // tiles, (bt % tiles) * TILE_P
        x_addr = cols.ctypes.data + (b * pp + p) * kp + k_lo
        for m in range(g * TILE_M * ROW_GROUP, min((g + 1) * TILE_M * ROW_GROUP, mp), TILE_M):
            _vnni_tile(wp.ctypes.data + m * kp + k_lo, kp, x_addr, kp, steps,
                       out.ctypes.data + ((b * mp + m) * pp + p) * 8, pp, 1, k_lo)


@nb.njit(**JIT_FLAGS)
def _gemm_maddubs(wp, cols, out, k_lo, k_hi):
    """_gemm_vnni's contract and schedule (int8 × uint8 bytes, K steps of VNNI_DEPTH) through the AVX2
    VPMADDUBSW micro-kernel, MADD_TILE_M weight rows per call."""
    n_img, pp, kp = cols.shape
    mp = wp.shape[0]
    steps = (k_hi - k_lo) // VNNI_DEPTH
    tiles = pp // TILE_P
    rows = MADD_TILE_M * MADD_ROW_GROUP
    groups = -(-mp // rows)
    for t in nb.prange(groups * n_img * tiles):
        g, bt = t // (n_img * tiles), t % (n_img * tiles)
        b, p = bt // tiles, (bt % tiles) * TILE_P
        x_addr = cols.ctypes.data + (b * pp + p) * kp + k_lo
        for m in range(g * rows, min((g + 1) * rows, mp), MADD_TILE_M):
            _maddubs_tile(wp.ctypes.data + m * kp + k_lo, kp, x_addr, kp, steps,
                          out.ctypes.data + ((b * mp + m) * pp + p) * 8, pp, 1, k_lo)


@nb.njit(**JIT_FLAGS)
def _gemm_madd(wp, cols, out, k_lo, k_hi):
    """out[b, m, p] (+)= Σ_{k_lo <= k < k_hi} wp[m, k] · cols[b, p, k]   (int16 × int16, int64 out; stored when
    k_lo = 0, added for later K-chunks).

    wp (Mp, Kp) int16, cols (B, Pp, Kp) int16, out (B, Mp, Pp) int64; Mp, Pp multiples of the tile, k_lo, k_hi
    multiples of MADD_DEPTH. Tasks are (row group, pixel tile) pairs as in _gemm_vnni."""
    n_img, pp, kp = cols.shape
    mp = wp.shape[0]
    steps = (k_hi - k_lo) // MADD_DEPTH
    tiles = pp // TILE_P
    rows = MADD_TILE_M * MADD_ROW_GROUP
    groups = -(-mp // rows)
    for t in nb.prange(groups * n_img * tiles):
        g, bt = t // (n_img * tiles), t % (n_img * tiles)
        b, p = bt // tiles, (bt % tiles) * TILE_P
        x_addr = cols.ctypes.data + ((b * pp + p) * kp + k_lo) * 2
        for m in range(g * rows, min((g + 1) * rows, mp), MADD_TILE_M):
            _madd_tile(wp.ctypes.data + (m * kp + k_lo) * 2, kp * 2, x_addr, kp * 2, steps,
                       out.ctypes.data + ((b * mp + m) * pp + p) * 8, pp, 1, k_lo)


# ---- dot route (LLVM vectorises the k loops) -------------------------------------------------------------
def _make_gemm_dot(acc):
    """out[b, m, p] += Σ_{k_lo <= k < k_hi} wp[m, k] · cols[b, p, k] with `acc` (int32 or int64) partial
    sums: a TILE_M × TILE_P tile of dot products per inner loop, products truncated to `acc` (exact when the
    chunk bound of the module docstring holds)."""

    @nb.njit(**JIT_FLAGS)
    def gemm(wp, cols, out, k_lo, k_hi):
        n_img, pp, kp = cols.shape
        mp = wp.shape[0]
        tiles = pp // TILE_P
        for t in nb.prange(n_img * tiles):
            b = t // tiles
            p = (t % tiles) * TILE_P
            x0, x1, x2, x3 = cols[b, p], cols[b, p + 1], cols[b, p + 2], cols[b, p + 3]
            for m in range(0, mp, TILE_M):
                w0, w1, w2, w3 = wp[m], wp[m + 1], wp[m + 2], wp[m + 3]
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = acc(0)
                s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = acc(0)
                for k in range(k_lo, k_hi):
                    a0, a1, a2, a3 = w0[k], w1[k], w2[k], w3[k]
                    c0, c1, c2, c3 = x0[k], x1[k], x2[k], x3[k]
                    s00 = acc(s00 + acc(a0 * c0)); s01 = acc(s01 + acc(a0 * c1))  # noqa: E702
                    s02 = acc(s02 + acc(a0 * c2)); s03 = acc(s03 + acc(a0 * c3))  # noqa: E702
                    s10 = acc(s10 + acc(a1 * c0)); s11 = acc(s11 + acc(a1 * c1))  # noqa: E702
                    s12 = acc(s12 + acc(a1 * c2)); s13 = acc(s13 + acc(a1 * c3))  # noqa: E702
                    s20 = acc(s20 + acc(a2 * c0)); s21 = acc(s21 + acc(a2 * c1))  # noqa: E702
                    s22 = acc(s22 + acc(a2 * c2)); s23 = acc(s23 + acc(a2 * c3))  # noqa: E702
                    s30 = acc(s30 + acc(a3 * c0)); s31 = acc(s31 + acc(a3 * c1))  # noqa: E702
                    s32 = acc(s32 + acc(a3 * c2)); s33 = acc(s33 + acc(a3 * c3))  # noqa: E702
                o = out[b]
                o[m, p] += s00; o[m, p + 1] += s01; o[m, p + 2] += s02; o[m, p + 3] += s03  # noqa: E702
                o[m + 1, p] += s10; o[m + 1, p + 1] += s11; o[m + 1, p + 2] += s12; o[m + 1, p + 3] += s13  # noqa: E702
                o[m + 2, p] += s20; o[m + 2, p + 1] += s21; o[m + 2, p + 2] += s22; o[m + 2, p + 3] += s23  # noqa: E702
                o[m + 3, p] += s30; o[m + 3, p + 1] += s31; o[m + 3, p + 2] += s32; o[m + 3, p + 3] += s33  # noqa: E702

    return gemm


_gemm_dot32 = _make_gemm_dot(nb.int32)
_gemm_dot64 = _make_gemm_dot(nb.int64)


# ---- packing ---------------------------------------------------------------------------------------------
@nb.njit(**JIT_FLAGS)
def _to_nhwc(x, k, lo_b, hi_b, offset, pad, out):
    """out[b, h + pad, w + pad, c] = v(x[b, c, h, w]) + offset, border = offset (a zero code, shifted), with
    v(q) = q for k = 0 and v(q) = clip((q + 2^(k-1)) >> k, lo_b, hi_b) for k > 0 (the nested view).
    Returns (min x, max x, min v, max v): the operand bounds, scanned while packing."""
    n_img, ch, hh, ww = x.shape
    bounds = np.empty((n_img * hh, 4), np.int64)
    half = (np.int64(1) << (k - 1)) if k > 0 else np.int64(0)
    for t in nb.prange(n_img * hh):
        b, h = t // hh, t % hh
        q0 = np.int64(x[b, 0, h, 0])
        lo, hi = q0, q0
        v0 = min(max((q0 + half) >> k, lo_b), hi_b) if k > 0 else q0
        vlo, vhi = v0, v0
        for c in range(ch):
            for w in range(ww):
                q = np.int64(x[b, c, h, w])
                lo, hi = min(lo, q), max(hi, q)
                v = min(max((q + half) >> k, lo_b), hi_b) if k > 0 else q
                vlo, vhi = min(vlo, v), max(vhi, v)
                out[b, h + pad, w + pad, c] = v + offset
        bounds[t, 0], bounds[t, 1], bounds[t, 2], bounds[t, 3] = lo, hi, vlo, vhi
    if pad > 0:
        for b in nb.prange(n_img):
            out[b, :pad] = offset
            out[b, hh + pad:] = offset
            out[b, :, :pad] = offset
            out[b, :, ww + pad:] = offset
    return bounds[:, 0].min(), bounds[:, 1].max(), bounds[:, 2].min(), bounds[:, 3].max()


@nb.njit(**JIT_FLAGS)
def _im2col(xp, kh, kw, stride, oh, ow, cols):
    """cols[b, i·OW + j, (u·kw + v)·C + c] = xp[b, i·stride + u, j·stride + v, c]  (xp padded NHWC),
    the K tail zero; the pixel tail rows (i·OW + j >= OH·OW) are left to the caller."""
    n_img, _, _, ch = xp.shape
    kp = cols.shape[2]
    for t in nb.prange(n_img * oh):
        b, i = t // oh, t % oh
        for j in range(ow):
            row = cols[b, i * ow + j]
            for u in range(kh):
                src_row = xp[b, i * stride + u]
                for v in range(kw):
                    k = (u * kw + v) * ch
                    src = src_row[j * stride + v]
                    for c in range(ch):
                        row[k + c] = src[c]
            for k in range(kh * kw * ch, kp):
                row[k] = 0


@nb.njit(**JIT_FLAGS)
def _pack_weights(w, out):
    """out[m, (u·kw + v)·C + c] = w[m, c, u, v]; returns (min, max) of w and the row sums Σ_k w[m, k]."""
    mm, ch, kh, kw = w.shape
    sums = np.zeros(mm, np.int64)
    lows = np.empty(mm, np.int64)
    highs = np.empty(mm, np.int64)
    for m in nb.prange(mm):
        lo, hi, total = np.int64(w[m, 0, 0, 0]), np.int64(w[m, 0, 0, 0]), np.int64(0)
        for u in range(kh):
            for v in range(kw):
                for c in range(ch):
                    q = np.int64(w[m, c, u, v])
                    lo, hi, total = min(lo, q), max(hi, q), total + q
                    out[m, (u * kw + v) * ch + c] = q
        lows[m], highs[m], sums[m] = lo, hi, total
    return lows.min(), highs.max(), sums


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def _fits(bounds: tuple[int, int], rng: tuple[int, int]) -> bool:
    return rng[0] <= bounds[0] and bounds[1] <= rng[1]


def _max_abs(bounds: tuple[int, int]) -> int:
    return max(abs(int(bounds[0])), abs(int(bounds[1])), 1)


def pick_route(x_bounds: tuple[int, int], w_bounds: tuple[int, int], route: str | None = None) -> str:
    """The fastest exact GEMM route for these operand bounds on the compile target: 'vnni' (target has
    AVX-512 VNNI, x fits uint8 or int8 (shifted), w fits int8), else 'maddubs' (target has AVX2, x in
    [0, 255], w in int8 and max x · max|w| <= MADDUBS_MAX_PRODUCT), else 'madd' (target multiplies int16
    pairs in one instruction, x and w fit int16 and one MADD_DEPTH step fits the int32 chunk bound), else
    'dot'. A requested `route` is checked against the same conditions."""
    ok = {"vnni": HAS_VNNI and _fits(w_bounds, S8_RANGE) and (_fits(x_bounds, U8_RANGE) or _fits(x_bounds, S8_RANGE)),
          "maddubs": HAS_MADD and _fits(x_bounds, U8_RANGE) and _fits(w_bounds, S8_RANGE)
          and x_bounds[1] * _max_abs(w_bounds) <= MADDUBS_MAX_PRODUCT,
          "madd": HAS_MADD and _fits(x_bounds, S16_RANGE) and _fits(w_bounds, S16_RANGE)
          and chunk_length(x_bounds, w_bounds, MADD_DEPTH) > 0,
          "dot": True}
    if route is None:
        return next(r for r in ROUTES if ok[r])
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    if not ok[route]:
        raise ValueError(f"route {route!r} is not exact or not available here: it needs "
                         f"{_ROUTE_NEEDS[route]} (target {TARGET.describe()}; x bounds {x_bounds}, "
                         f"w bounds {w_bounds})")
    return route


_ROUTE_NEEDS = {"vnni": "AVX-512 VNNI, x in uint8 or int8 and w in int8",
                "maddubs": "AVX2, x in uint8, w in int8 and max x · max|w| <= 8191",
                "madd": "a 256-bit int16 multiply-add (AVX2), x and w in int16 and 16·max|x|·max|w| < 2^31"}


def chunk_length(x_bounds: tuple[int, int], w_bounds: tuple[int, int], depth: int) -> int:
    """Longest K-chunk (a multiple of `depth`) whose int32 sum is exact: K_c·max|x|·max|w| <= 2^31 - 1;
    0 when not even one `depth` step is."""
    return ACC32_MAX // (_max_abs(x_bounds) * _max_abs(w_bounds)) // depth * depth


def _frozen_root(a: np.ndarray):
    """The array owning a's memory when that owner is read-only (then a's contents can never change), else
    None."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    return None if root.base is not None or root.flags.writeable else root


_PACKED_WEIGHTS: dict[tuple, tuple] = {}


def _pack_weight_matrix(w, kp, w_dtype):
    """(packed weights (Mp, Kp), their (min, max), row sums). Weights whose memory is read-only are packed
    once and kept until that memory is freed (a model's weights repacked per call cost more than a batch-1
    GEMM)."""
    root = _frozen_root(w)
    key = None
    if root is not None:
        key = (id(root), w.__array_interface__["data"][0], w.shape, w.strides, w.dtype.str, kp,
               np.dtype(w_dtype).str)
        hit = _PACKED_WEIGHTS.get(key)
        if hit is not None and hit[0]() is root:
            return hit[1]
    wp = np.zeros((_round_up(w.shape[0], TILE_M), kp), w_dtype)
    w_lo, w_hi, row_sums = _parallel_if(w.size, _pack_weights, w, wp)
    packed = (wp, (int(w_lo), int(w_hi)), row_sums)
    if key is not None:
        _PACKED_WEIGHTS[key] = (weakref.ref(root, lambda _, k=key: _PACKED_WEIGHTS.pop(k, None)), packed)
    return packed


_SCRATCH = threading.local()


def _scratch(slot: int, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array carved from this thread's grow-only buffer number `slot`: the packed operands
    are rebuilt on every call, and reusing their memory spares the page faults of fresh allocations."""
    buffers = _SCRATCH.__dict__.setdefault("buffers", {})
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if buffers.get(slot) is None or buffers[slot].size < nbytes:
        buffers[slot] = np.empty(max(nbytes, 1), np.uint8)
    return buffers[slot][:nbytes].view(dtype).reshape(shape)


def _packed(x, w, padding, kh, kw, stride, oh, ow, depth, x_dtype, w_dtype, offset, view_args):
    """(weights (Mp, Kp), their bounds and row sums, im2col (B, Pp, Kp) of v(x) (see _to_nhwc; view_args =
    (k, lo_b, hi_b)), x's and v(x)'s bounds) in the given dtypes. The im2col lives in per-thread scratch
    memory: valid until the next call."""
    n_img, ch, hh, ww = x.shape
    kp = _round_up(ch * kh * kw, depth)
    wp, w_bounds, row_sums = _pack_weight_matrix(w, kp, w_dtype)
    xp = _scratch(0, (n_img, hh + 2 * padding, ww + 2 * padding, ch), x_dtype)
    x_lo, x_hi, v_lo, v_hi = _parallel_if(xp.size, _to_nhwc, x, *view_args, offset, padding, xp)
    pp = _round_up(oh * ow, TILE_P)
    if kh == kw == stride == 1 and padding == 0 and kp == ch and pp == hh * ww:
        cols = xp.reshape(n_img, pp, kp)  # a 1×1 stride-1 conv: NHWC already is the im2col
    else:
        cols = _scratch(1, (n_img, pp, kp), x_dtype)
        cols[:, oh * ow:] = 0
        _parallel_if(cols.size, _im2col, xp, kh, kw, stride, oh, ow, cols)
    return wp, w_bounds, row_sums, cols, (int(x_lo), int(x_hi)), (int(v_lo), int(v_hi))


def _packing(route: str, x_bounds: tuple[int, int], w_bounds: tuple[int, int]):
    """(K depth, x dtype, w dtype, x offset, GEMM kernel, K-chunk length or None for all of K) of `route`
    for operands with these bounds (module docstring)."""
    if route == "vnni":
        offset = 0 if _fits(x_bounds, U8_RANGE) else -S8_RANGE[0]  # a signed operand: x + 128 in [0, 255]
        shifted = (x_bounds[0] + offset, x_bounds[1] + offset)
        return VNNI_DEPTH, np.uint8, np.int8, offset, _gemm_vnni, chunk_length(shifted, w_bounds, VNNI_DEPTH)
    if route == "maddubs":
        return VNNI_DEPTH, np.uint8, np.int8, 0, _gemm_maddubs, chunk_length(x_bounds, w_bounds, VNNI_DEPTH)
    if route == "madd":
        return MADD_DEPTH, np.int16, np.int16, 0, _gemm_madd, chunk_length(x_bounds, w_bounds, MADD_DEPTH)
    chunk = chunk_length(x_bounds, w_bounds, DOT_DEPTH)
    if chunk and _fits(x_bounds, S16_RANGE) and _fits(w_bounds, S16_RANGE):
        return DOT_DEPTH, np.int16, np.int16, 0, _gemm_dot32, chunk
    return DOT_DEPTH, np.int64, np.int64, 0, _gemm_dot64, None  # int64 partial sums: exact while |Σ| < 2^63


def _first_packing(route: str | None, x_view) -> tuple:
    """The packing to try first: the requested route's, else the route pick_route would take if x were
    anywhere in its view's range (uint8 without a view) and w anywhere in int8."""
    x_bounds = U8_RANGE if x_view is None else x_view[2].code_range(x_view[1], x_view[0])
    if route not in ROUTES:
        route = pick_route(x_bounds, S8_RANGE)
    return _packing(route, x_bounds, S8_RANGE)[:4]


@dataclass
class GemmJob:
    """One conv's GEMM with its operands packed: acc[b, m, p] = Σ_k wp[m, k] · cols[b, p, k] - offset·Σ_k wp[m, k]
    through `route` in K-chunks of `chunk` terms (run), then cut to (B, M, OH, OW) (result); K = `k` before
padding. `cols` lives in
    per-thread scratch memory: run the job before packing another one on the same thread."""

    route: str
    gemm: object
    wp: np.ndarray
    cols: np.ndarray
    chunk: int
    offset: int
    row_sums: np.ndarray
    shape: tuple[int, int, int, int]
    k: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the unpadded GEMM: B·M·OH·OW·K."""
        n_img, mm, oh, ow = self.shape
        return n_img * mm * oh * ow * self.k

    def run(self) -> np.ndarray:
        """The GEMM (int64 (B, Mp, Pp)); the SIMD routes store their first K-chunk, the dot route adds every
        chunk to zeros."""
        kp, pp = self.wp.shape[1], self.cols.shape[1]
        alloc = np.zeros if self.route == "dot" else np.empty
        out = alloc((self.cols.shape[0], self.wp.shape[0], pp), np.int64)
        for k_lo in range(0, kp, self.chunk):
            work = out.size * min(self.chunk, kp - k_lo) // MACS_PER_ELEMENT
            _parallel_if(work, self.gemm, self.wp, self.cols, out, k_lo, min(k_lo + self.chunk, kp))
        return out

    def result(self, out: np.ndarray) -> np.ndarray:
        """run()'s output cut to the accumulator acc (B, M, OH, OW), the signed-input offset corrected."""
        n_img, mm, oh, ow = self.shape
        acc = out[:, :mm, :oh * ow]
        if self.offset:
            acc -= self.offset * self.row_sums[None, :, None]
        return np.ascontiguousarray(acc).reshape(n_img, mm, oh, ow)


def prepare_conv_gemm(x, w, stride: int, padding: int, x_view=None, route: str | None = None) -> GemmJob | None:
    """conv2d_acc's operands checked, viewed and packed for `route` (default: the fastest exact one for their
    bounds, pick_route): acc = job.result(job.run()); None when x or w is empty (acc is all zero)."""
    x, w, stride, padding, (oh, ow) = check_conv_args(x, w, stride, padding)
    return _prepare(x, w, stride, padding, oh, ow, route, x_view)


def _prepare(x, w, stride, padding, oh, ow, route, x_view=None) -> GemmJob | None:
    """The GemmJob of acc[b, m, p] = Σ_k W[m, k] · im2col(v(X_b))[k, p], with v the nested view given by
    x_view = (bits, signed, spec) (x are then master codes, range-checked) or the identity.

    Operands are packed for the likely route first (_first_packing), scanning their bounds on the way; when
    the bounds pick another route with another packing they are packed again."""
    if x.size == 0 or w.size == 0:
        if x_view is not None:
            primitives.view(x, *x_view)
        return None
    view_args = (0, 0, 0)
    if x_view is not None:
        bits, signed, spec = x_view
        view_args = (spec.n_bits - spec.check_width(bits, "bits"), *spec.code_range(signed, bits))
    geometry = (padding, w.shape[2], w.shape[3], stride, oh, ow)
    packing = _first_packing(route, x_view)
    wp, w_bounds, row_sums, cols, q_bounds, x_bounds = _packed(x, w, *geometry, *packing, view_args)
    if x_view is not None:  # the master codes, scanned while packing: view's range check
        primitives.check_range(np.array(q_bounds), *spec.code_range(signed), what="master code")
    # the packed operand also holds the zero code (padding, packed as `offset` like every x): an all-negative
    # signed input shifted by 128 would otherwise bound the chunk below the 128 its padding carries
    x_bounds = (min(x_bounds[0], 0), max(x_bounds[1], 0))
    route = pick_route(x_bounds, w_bounds, route)
    depth, x_dtype, w_dtype, offset, gemm, chunk = _packing(route, x_bounds, w_bounds)
    if (depth, x_dtype, w_dtype, offset) != packing:
        wp, _, row_sums, cols, _, _ = _packed(x, w, *geometry, depth, x_dtype, w_dtype, offset, view_args)
    return GemmJob(route, gemm, wp, cols, chunk or wp.shape[1], offset, row_sums, (x.shape[0], w.shape[0], oh, ow),
                   w.shape[1] * w.shape[2] * w.shape[3])


def _conv_gemm(x, w, stride, padding, oh, ow, route, x_view=None):
    """acc (B, M, OH, OW) int64 through `route` (see _prepare)."""
    job = _prepare(x, w, stride, padding, oh, ow, route, x_view)
    if job is None:
        return np.zeros((x.shape[0], w.shape[0], oh, ow), np.int64)
    return job.result(job.run())


# ---- public kernels --------------------------------------------------------------------------------------
def conv2d_acc(x, w, stride: int, padding: int, x_view=None, route: str | None = None) -> np.ndarray:
    """Exact conv accumulator (groups = 1, zero padding), int64 (B, M, OH, OW):

        acc[b, m, i, j] = Σ_{c, u, v} w[m, c, u, v] · xpad[b, c, i·stride + u, j·stride + v]

    Same result as kernels_ref.conv2d_acc. `x_view` = (bits, signed, spec): x are master codes and the sum
    takes view_bits(x) (same result and errors as view), computed in the packing pass instead of a separate
    one. `route` ("vnni" | "dot") forces a GEMM route (tests); by default the fastest exact one for the
    operand bounds is used (module docstring).
    """
    x, w, stride, padding, (oh, ow) = check_conv_args(x, w, stride, padding)
    return _conv_gemm(x, w, stride, padding, oh, ow, route, x_view)


def linear_acc(x, w, x_view=None, route: str | None = None) -> np.ndarray:
    """Exact fully connected accumulator, int64 (B, M):  acc[b, m] = Σ_k w[m, k] · x[b, k]
    (the conv GEMM with one 1×1 pixel per row of x; `x_view` as in conv2d_acc)."""
    x, w = check_linear_args(x, w)
    n, k = x.shape
    acc = _conv_gemm(x.reshape(n, k, 1, 1), w.reshape(w.shape[0], k, 1, 1), 1, 0, 1, 1, route, x_view)
    return acc.reshape(n, w.shape[0])


@nb.njit(**JIT_FLAGS)
def _align_bias(acc, shift, bias, out):
    """acc, out (B, M, inner): out = (acc << shift) + bias[m]; returns the (3, 2) bounds of acc, acc', out."""
    n_img, ch, inner = acc.shape
    part = np.empty((n_img * ch, 3, 2), np.int64)
    for t in nb.prange(n_img * ch):
        b, c = t // ch, t % ch
        a0 = acc[b, c, 0]
        lo_a, hi_a = a0, a0
        lo_x, hi_x = (a0 << shift) + bias[c], (a0 << shift) + bias[c]
        for i in range(inner):
            a = acc[b, c, i]
            lo_a, hi_a = min(lo_a, a), max(hi_a, a)
            v = (a << shift) + bias[c]
            lo_x, hi_x = min(lo_x, v), max(hi_x, v)
            out[b, c, i] = v
        part[t, 0, 0], part[t, 0, 1] = lo_a, hi_a
        part[t, 2, 0], part[t, 2, 1] = lo_x, hi_x
    bounds = np.empty((3, 2), np.int64)
    bounds[0, 0], bounds[0, 1] = part[:, 0, 0].min(), part[:, 0, 1].max()
    bounds[1, 0], bounds[1, 1] = bounds[0, 0] << shift, bounds[0, 1] << shift  # << is monotonic
    bounds[2, 0], bounds[2, 1] = part[:, 2, 0].min(), part[:, 2, 1].max()
    return bounds


def align_bias(acc, shift: int, bias) -> tuple[np.ndarray, np.ndarray]:
    """docs/spec.md §1 conv steps 2-3 on an accumulator acc (B, M, ...), with the bounds to check them:

        acc' = acc << shift,   x = acc' + bias[m]        (int64)
        bounds = [[min acc, max acc], [min acc', max acc'], [min x, max x]]   (int64 (3, 2))

    One pass (kernels_ref.align_bias makes five); acc' bounds are acc's shifted (a left shift is monotonic
    while it does not overflow int64, and |acc| < 2^(ACC_BITS-1) is checked first by the caller).
    """
    acc = np.asarray(acc)
    if not np.issubdtype(acc.dtype, np.integer) or acc.ndim < 2 or acc.size == 0:
        return kernels_ref.align_bias(acc, shift, bias)
    shift = kernels_ref.check_non_negative("shift", shift)
    bias = check_int_array("bias", bias, 1, "(M,)")
    if bias.shape[0] != acc.shape[1]:
        return kernels_ref.align_bias(acc, shift, bias)
    acc3 = np.ascontiguousarray(acc, dtype=np.int64).reshape(acc.shape[0], acc.shape[1], -1)
    out = np.empty(acc3.shape, np.int64)
    bounds = _parallel_if(acc.size, _align_bias, acc3, shift, bias.astype(np.int64), out)
    return out.reshape(acc.shape), bounds


@nb.njit(**JIT_FLAGS)
def _conv_output(acc, shift, bias, m, s, lo, hi, r, m_r, has_r, out):
    """acc, r, out (B, M, inner), bias, m, m_r (M,): out = clamp(u, lo, hi) with
    u = (((acc << shift) + bias[c])·m[c] + r·m_r[c] + 2^(s-1)) >> s. Returns ((3, 2) bounds of acc, acc',
    acc' + bias; #{u < lo}; #{u > hi})."""
    n_img, ch, inner = acc.shape
    rnd = (np.int64(1) << (s - 1)) if s > 0 else np.int64(0)
    part = np.empty((n_img * ch, 4), np.int64)
    counts = np.zeros((n_img * ch, 2), np.int64)
    for t in nb.prange(n_img * ch):
        b, c = t // ch, t % ch
        a0 = acc[b, c, 0]
        lo_a, hi_a = a0, a0
        lo_x, hi_x = (a0 << shift) + bias[c], (a0 << shift) + bias[c]
        below, above = 0, 0
        for i in range(inner):
            a = acc[b, c, i]
            lo_a, hi_a = min(lo_a, a), max(hi_a, a)
            v = (a << shift) + bias[c]
            lo_x, hi_x = min(lo_x, v), max(hi_x, v)
            u = v * m[c] + rnd
            if has_r:
                u += r[b, c, i] * m_r[c]
            u >>= s
            below += u < lo
            above += u > hi
            out[b, c, i] = min(max(u, lo), hi)
        part[t, 0], part[t, 1], part[t, 2], part[t, 3] = lo_a, hi_a, lo_x, hi_x
        counts[t, 0], counts[t, 1] = below, above
    bounds = np.empty((3, 2), np.int64)
    bounds[0, 0], bounds[0, 1] = part[:, 0].min(), part[:, 1].max()
    bounds[1, 0], bounds[1, 1] = bounds[0, 0] << shift, bounds[0, 1] << shift  # << is monotonic
    bounds[2, 0], bounds[2, 1] = part[:, 2].min(), part[:, 3].max()
    return bounds, counts[:, 0].sum(), counts[:, 1].sum()


def conv_output(acc, shift: int, bias, m, s: int, lo: int, hi: int, r=None, m_r=None):
    """docs/spec.md §1 conv steps 2-4 in one pass, per output channel c:

        acc' = acc << shift,  x = acc' + bias[c],  u = (x·m[c] + r·m_r[c] + 2^(s-1)) >> s,  y = clamp(u, lo, hi)

    Returns (y, bounds of acc / acc' / x, n_below = #{u < lo}, n_above = #{u > hi}), like
    kernels_ref.conv_output (which makes about ten passes).
    """
    acc = np.asarray(acc)
    if not np.issubdtype(acc.dtype, np.integer) or acc.ndim < 2 or acc.size == 0:
        return kernels_ref.conv_output(acc, shift, bias, m, s, lo, hi, r, m_r)
    shift = kernels_ref.check_non_negative("shift", shift)
    s = check_shift(s)
    ch = acc.shape[1]
    bias = kernels_ref.check_channel_vector("bias", bias, ch).astype(np.int64)
    m = kernels_ref.check_channel_vector("m", m, ch).astype(np.int64)
    acc3 = np.ascontiguousarray(acc, dtype=np.int64).reshape(acc.shape[0], ch, -1)
    if r is None:
        r3, m_r, has_r = np.zeros((1, 1, 1), np.int64), np.zeros(ch, np.int64), False
    else:
        r = kernels_ref.check_int_array("r", r, acc.ndim, "like acc")
        if r.shape != acc.shape:
            raise ValueError(f"r has shape {r.shape} but acc has {acc.shape}")
        r3 = np.ascontiguousarray(r, dtype=np.int64).reshape(acc3.shape)
        m_r, has_r = kernels_ref.check_channel_vector("m_r", m_r, ch).astype(np.int64), True
    out = np.empty(acc3.shape, np.int64)
    bounds, below, above = _parallel_if(acc.size, _conv_output, acc3, shift, bias, m, s, int(lo), int(hi),
                                        r3, m_r, has_r, out)
    return out.reshape(acc.shape), bounds, int(below), int(above)


@nb.njit(**JIT_FLAGS)
def _maxpool(x, kernel, stride, padding, out):
    n_img, ch, hh, ww = x.shape
    _, _, oh, ow = out.shape
    for t in nb.prange(n_img * ch):
        b, c = t // ch, t % ch
        for i in range(oh):
            h0, h1 = max(i * stride - padding, 0), min(i * stride - padding + kernel, hh)
            for j in range(ow):
                w0, w1 = max(j * stride - padding, 0), min(j * stride - padding + kernel, ww)
                best = x[b, c, h0, w0]
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        best = max(best, x[b, c, h, w])
                out[b, c, i, j] = best


def maxpool2d(x, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Max over the valid part of each window (padding ignored), same dtype as x:

        y[b, c, i, j] = max { x[b, c, h, v] : h ∈ [i·s - p, i·s - p + kernel) ∩ [0, H),
                                               v ∈ [j·s - p, j·s - p + kernel) ∩ [0, W) }
    """
    x, kernel, stride, padding, (oh, ow) = check_pool_args(x, kernel, stride, padding)
    out = np.empty((x.shape[0], x.shape[1], oh, ow), x.dtype)
    _parallel_if(out.size * kernel * kernel, _maxpool, x, kernel, stride, padding, out)
    return out


@nb.njit(**JIT_FLAGS)
def _gap_sum(x, out):
    n_img, ch = out.shape
    for t in nb.prange(n_img * ch):
        b, c = t // ch, t % ch
        total = 0
        for v in x[b, c].flat:
            total += v
        out[b, c] = total


def gap_sum(x) -> np.ndarray:
    """Global sum pool, int64 (B, C):  y[b, c] = Σ_{h, w} x[b, c, h, w]."""
    x = check_int_array("x", x, 4, "(B, C, H, W)")
    out = np.empty(x.shape[:2], np.int64)
    _parallel_if(x.size, _gap_sum, np.ascontiguousarray(x), out)
    return out


@nb.njit(**JIT_FLAGS)
def _view(flat, k, lo, hi, out):
    """out = clip((q + 2^(k-1)) >> k, lo, hi) for k > 0, out = q for k = 0; returns (min, max) of q for the
    master-code range check."""
    n = flat.size
    parts = min(n, 64)
    lows = np.empty(parts, np.int64)
    highs = np.empty(parts, np.int64)
    half = (np.int64(1) << (k - 1)) if k > 0 else np.int64(0)
    for t in nb.prange(parts):
        qlo, qhi = np.int64(flat[t * n // parts]), np.int64(flat[t * n // parts])
        for i in range(t * n // parts, (t + 1) * n // parts):
            q = np.int64(flat[i])
            qlo, qhi = min(qlo, q), max(qhi, q)
            out[i] = min(max((q + half) >> k, lo), hi) if k > 0 else q
        lows[t], highs[t] = qlo, qhi
    return lows.min(), highs.max()


@nb.njit(**JIT_FLAGS)
def _bounds(flat):
    """(min, max) of a non-empty 1-D integer array."""
    n = flat.size
    parts = min(n, 64)
    lows = np.empty(parts, np.int64)
    highs = np.empty(parts, np.int64)
    for t in nb.prange(parts):
        lo, hi = np.int64(flat[t * n // parts]), np.int64(flat[t * n // parts])
        for i in range(t * n // parts, (t + 1) * n // parts):
            lo, hi = min(lo, np.int64(flat[i])), max(hi, np.int64(flat[i]))
        lows[t], highs[t] = lo, hi
    return lows.min(), highs.max()


def view(q, bits: int, signed: bool, spec: NestedSpec) -> np.ndarray:
    """golden.primitives.view, int64:  k = N - b;  k = 0: q;  k > 0: sat_{b,signed}((q + 2^(k-1)) >> k)
    (half-up rounding, then saturation to the b-bit range). Raises ArithmeticOverflow on a master code
    outside the N-bit range, like the reference. At k = 0 an int64 `q` is returned itself (no copy)."""
    spec.check_width(bits, "bits")
    q = np.asarray(q)
    if q.size == 0 or not np.issubdtype(q.dtype, np.integer):
        return primitives.view(q, bits, signed, spec)
    k = spec.n_bits - bits
    flat = np.ascontiguousarray(q).reshape(-1)
    if k == 0 and q.dtype == np.int64:
        out = q
        qlo, qhi = _parallel_if(q.size, _bounds, flat)
    else:
        out = np.empty(q.shape, np.int64)
        qlo, qhi = _parallel_if(q.size, _view, flat, k, *spec.code_range(signed, bits), out.reshape(-1))
    primitives.check_range(np.array([qlo, qhi]), *spec.code_range(signed), what="master code")
    return out


@nb.njit(**JIT_FLAGS)
def _requant(x, m, s, lo, hi, r, m_r, bias, out):
    """x, out (rows, C, inner); m (C,); r (rows, C, inner) or (1, 1, 1) (then only `bias` carries r·m_r):
    out = clamp((x·m + r·m_r + bias + 2^(s-1)) >> s, lo, hi). Returns #{unclamped value outside [lo, hi]}."""
    rows, ch, inner = x.shape
    rnd = bias + ((np.int64(1) << (s - 1)) if s > 0 else np.int64(0))
    per_element_r = r.size > 1
    counts = np.zeros(rows * ch, np.int64)
    for t in nb.prange(rows * ch):
        a, c = t // ch, t % ch
        mc = m[c]
        n = 0
        for i in range(inner):
            u = x[a, c, i] * mc + rnd
            if per_element_r:
                u += r[a, c, i] * m_r
            u >>= s
            n += (u < lo) | (u > hi)
            out[a, c, i] = min(max(u, lo), hi)
        counts[t] = n
    return counts.sum()


def _channel_form(x: np.ndarray, m: np.ndarray):
    """(x as (rows, C, inner), m as (C,)) when m broadcasts against x along at most one axis, else None."""
    if m.ndim > x.ndim or any(d not in (1, n) for d, n in zip(m.shape[::-1], x.shape[::-1])):
        return None
    full = (1,) * (x.ndim - m.ndim) + m.shape
    axes = [i for i, d in enumerate(full) if d != 1]
    if len(axes) > 1:
        return None
    a = axes[0] if axes else 0
    ch = x.shape[a] if axes else 1
    rows = int(np.prod(x.shape[:a], dtype=np.int64))
    return x.reshape(rows, ch, -1), m.reshape(-1)[:ch] if axes else m.reshape(-1)[:1]


def requant(x, m, s: int, lo: int, hi: int, r=0, m_r: int = 0) -> tuple[np.ndarray, int]:
    """golden.primitives.requant plus the clamp count, in int64:

        u = (x·m + r·m_r + 2^(s-1)) >> s          (rounding term 0 when s = 0; one half-up rounding)
        y = clamp(u, lo, hi),   n_clamped = #{u < lo or u > hi}

    `m` a scalar or broadcasting against x; `r` a scalar or broadcasting to x's shape.
    """
    s = check_shift(s)
    for what, a in (("requant x", x), ("requant m", m), ("requant r", r)):
        if not np.issubdtype(np.asarray(a).dtype, np.integer):
            raise TypeError(f"{what} must be integers, got dtype {np.asarray(a).dtype}")
    x = np.ascontiguousarray(x, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    if x.size == 0:
        return x.copy(), 0
    form = _channel_form(x, m)
    if form is None:  # m varies along several axes: one multiplier per element
        form = (x.reshape(1, -1, 1), np.broadcast_to(m, x.shape).reshape(-1))
    x3, m1 = form
    r = np.asarray(r, dtype=np.int64)
    if r.size == 1:  # one residual value: folded into the constant term
        r3, bias = np.zeros((1, 1, 1), np.int64), int(r.reshape(-1)[0]) * int(m_r)
    else:
        r3, bias = np.ascontiguousarray(np.broadcast_to(r, x.shape)).reshape(x3.shape), 0
    out = np.empty(x3.shape, np.int64)
    n_clamped = _parallel_if(x.size, _requant, x3, np.ascontiguousarray(m1), s, int(lo), int(hi), r3, int(m_r),
                             bias, out)
    return out.reshape(x.shape), int(n_clamped)


KERNEL_NAMES = ("conv2d_acc", "linear_acc", "maxpool2d", "gap_sum", "view", "requant", "align_bias", "conv_output")
NUMBA_KERNELS = SimpleNamespace(**{name: globals()[name] for name in KERNEL_NAMES})
