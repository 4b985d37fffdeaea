"""Tier 2: the numba kernels (golden/kernels.py) against their plain numpy twins (golden/kernels_ref.py),
exact equality on random tensors, every view width, saturation corners, tie vectors, odd shapes, bad input."""
import numpy as np
import pytest

from golden import kernels as nbk
from golden import kernels_ref as ref
from golden.execute import get_backend
from golden.primitives import ArithmeticOverflow, view
from golden.spec import DEFAULT_SPEC, NestedSpec

S = DEFAULT_SPEC
ROUTES = list(nbk.available_routes())
DEPTH = {"vnni": nbk.VNNI_DEPTH, "maddubs": nbk.VNNI_DEPTH, "madd": nbk.MADD_DEPTH, "dot": nbk.DOT_DEPTH}
WIDTHS = range(2, S.n_bits + 1)


def codes(rng, shape, bits, signed):
    """Random master codes viewed at `bits` (the operands a layer at that width multiplies)."""
    lo, hi = S.code_range(signed)
    return view(rng.integers(lo, hi + 1, shape), bits, signed, S)


def via(route, call, x, w):
    """call(route): a kernel through `route`, or None when the route refuses, which it may only do when
    pick_route finds it inexact for the bounds of x and w (the operands the GEMM multiplies)."""
    try:
        return call(route)
    except ValueError as e:
        if "is not exact or not available" not in str(e):
            raise
    with pytest.raises(ValueError):
        nbk.pick_route((min(int(x.min()), 0), max(int(x.max()), 0)), (int(w.min()), int(w.max())), route)
    return None


# ---- conv2d_acc / linear_acc -------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bits", WIDTHS)
@pytest.mark.parametrize("x_signed", [False, True])
def test_conv_matches_twin_every_width(route, bits, x_signed):
    rng = np.random.default_rng(bits * 2 + x_signed)
    x = codes(rng, (2, 16, 9, 7), bits, x_signed)
    w = codes(rng, (12, 16, 3, 3), bits, True)
    for stride, padding in [(1, 1), (2, 1), (1, 0)]:
        got = via(route, lambda r: nbk.conv2d_acc(x, w, stride, padding, route=r), x, w)
        if got is None:
            assert route == "maddubs" and (x_signed or bits == 8)  # x·w up to 255·128 > 8191
            continue
        assert got.dtype == np.int64
        assert np.array_equal(got, ref.conv2d_acc(x, w, stride, padding))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("shape", [
    # (B, C, H, W), (M, kh, kw), stride, padding
    ((1, 3, 1, 1), (5, 1, 1), 1, 0),        # 1×1 on a single pixel
    ((2, 64, 8, 8), (16, 1, 1), 1, 0),      # 1×1 stride 1: NHWC is the im2col
    ((2, 64, 8, 8), (16, 1, 1), 2, 0),      # downsample 1×1/2
    ((1, 3, 23, 23), (8, 7, 7), 2, 3),      # ResNet-50 stem shape 7×7/2 pad 3
    ((2, 5, 11, 10), (7, 3, 3), 2, 1),      # 3×3/2, odd sizes
    ((3, 4, 6, 13), (3, 3, 2), 1, 1),       # non-square input and kernel
    ((1, 130, 5, 3), (9, 3, 3), 1, 1),      # K not a multiple of any tile depth, M not of the tile
])
def test_conv_odd_shapes(route, shape):
    (b, c, h, w_), (m, kh, kw), stride, padding = shape
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256 if route != "maddubs" else 64, (b, c, h, w_))
    w = rng.integers(-128, 128, (m, c, kh, kw))
    assert np.array_equal(nbk.conv2d_acc(x, w, stride, padding, route=route),
                          ref.conv2d_acc(x, w, stride, padding))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("x_signed", [False, True])
def test_conv_saturation_corner_crosses_the_int32_chunk_bound(route, x_signed):
    """Operands at their largest magnitudes (x = 255 or 127, one -128 when signed; w = -128, or -32 on the
    maddubs route: 255·32 is its largest product bound, and 4·255·32 = 32640 fills its int16 lanes) and K
    longer than three exact int32 chunks: the true sum lies outside int32, so a missing chunk split would
    wrap (the maddubs route refuses a signed x)."""
    depth = DEPTH[route]
    x_lo, x_hi = (-128, 127) if x_signed else (255, 255)
    w_val = -32 if route == "maddubs" else -128
    seen = (x_lo + 128, x_hi + 128) if route == "vnni" and x_signed else (x_lo, x_hi)  # vnni shifts int8
    k = 3 * nbk.chunk_length(seen, (w_val, w_val), depth) + 3 * depth
    c = -(-k // 9)
    x = np.full((1, c, 3, 3), x_hi, np.int64)
    x[0, 0, 0, 0] = x_lo
    w = np.full((4, c, 3, 3), w_val, np.int64)
    expect = ref.conv2d_acc(x, w, 1, 0)
    assert abs(int(expect[0, 0, 0, 0])) > np.iinfo(np.int32).max
    got = via(route, lambda r: nbk.conv2d_acc(x, w, 1, 0, route=r), x, w)
    assert np.array_equal(got, expect) or (got is None and route == "maddubs" and x_signed)


@pytest.mark.parametrize("route", ROUTES)
def test_conv_padding_counts_in_the_int32_chunk_bound(route):
    """A signed input with every code negative (x = -5) packs as x + 128 = 123 on the vnni route, but its zero
    padding packs as 128: a chunk sized from 123 alone overflows int32 when it lies wholly in the padding
    (output pixel (0, 0), kernel row u = 0 spans the first 3·C reduction terms, all padding)."""
    c = -(-nbk.chunk_length((123, 123), (-128, -128), nbk.VNNI_DEPTH) // 3)  # (the dot route packs 0 as 0)
    x = np.full((1, c, 3, 3), -5, np.int64)
    w = np.full((2, c, 3, 3), -128, np.int64)
    expect = ref.conv2d_acc(x, w, 1, 1)
    got = via(route, lambda r: nbk.conv2d_acc(x, w, 1, 1, route=r), x, w)
    assert np.array_equal(got, expect) or (got is None and route == "maddubs")  # maddubs: x >= 0 only


def test_chunk_length_formula():
    """K_c·max|x|·max|w| <= 2^31 - 1, rounded down to the depth: 8-bit operands give 65 792 terms."""
    assert nbk.chunk_length((0, 255), (-128, 127), 64) == 65792
    assert nbk.chunk_length((0, 15), (-8, 7), 64) == (2**31 - 1) // (15 * 8) // 64 * 64
    assert nbk.chunk_length((-2**20, 0), (0, 2**20), 16) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_conv_wide_operands_take_the_int64_path_exactly(route):
    rng = np.random.default_rng(3)
    x = rng.integers(-2**40, 2**40, (2, 3, 6, 5))
    w = rng.integers(-2**15, 2**15, (4, 3, 3, 3))
    expect = ref.conv2d_acc(x, w, 1, 1)
    if route != "dot":
        with pytest.raises(ValueError, match=f"route '{route}' is not exact or not available"):
            nbk.conv2d_acc(x, w, 1, 1, route=route)
    else:
        assert np.array_equal(nbk.conv2d_acc(x, w, 1, 1, route=route), expect)
    assert np.array_equal(nbk.conv2d_acc(x, w, 1, 1), expect)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bits", WIDTHS)
@pytest.mark.parametrize("x_signed", [False, True])
def test_conv_takes_the_view_while_packing(route, bits, x_signed):
    """x_view = (b, signed, spec): master codes in, Σ w · view_b(x) out, as view then conv."""
    rng = np.random.default_rng(bits)
    lo, hi = S.code_range(x_signed)
    q = rng.integers(lo, hi + 1, (2, 8, 6, 5))
    w = codes(rng, (4, 8, 3, 3), bits, True)
    xv = view(q, bits, x_signed, S)
    want = ref.conv2d_acc(xv, w, 2, 1)
    got = via(route, lambda r: nbk.conv2d_acc(q, w, 2, 1, x_view=(bits, x_signed, S), route=r), xv, w)
    assert np.array_equal(got, want) or (got is None and route == "maddubs" and (x_signed or bits == 8))
    assert np.array_equal(ref.conv2d_acc(q, w, 2, 1, x_view=(bits, x_signed, S)), want)
    qf, wf = q.reshape(2, -1), w.reshape(4, -1)[:, :8].repeat(30, axis=1)
    got = via(route, lambda r: nbk.linear_acc(qf, wf, x_view=(bits, x_signed, S), route=r), xv, wf)
    want = ref.linear_acc(view(qf, bits, x_signed, S), wf)
    assert np.array_equal(got, want) or (got is None and route == "maddubs" and (x_signed or bits == 8))


@pytest.mark.parametrize("impl", [nbk, ref], ids=["numba", "numpy"])
def test_x_view_checks_master_codes_like_view(impl):
    x = np.zeros((1, 2, 4, 4), np.int64)
    w = np.ones((3, 2, 3, 3), np.int64)
    x[0, 1, 2, 3] = 256
    with pytest.raises(ArithmeticOverflow, match=r"master code: value 256 outside \[0, 255\]"):
        impl.conv2d_acc(x, w, 1, 1, x_view=(8, False, S))
    with pytest.raises(ArithmeticOverflow, match=r"master code: value 256 outside \[0, 255\]"):
        impl.conv2d_acc(x, w, 1, 1, x_view=(4, False, S))
    x[0, 1, 2, 3] = -129
    with pytest.raises(ArithmeticOverflow, match=r"master code: value -129 outside \[-128, 127\]"):
        impl.linear_acc(x.reshape(1, -1), np.ones((2, 32), np.int64), x_view=(8, True, S))
    with pytest.raises(ValueError, match="bits"):
        impl.conv2d_acc(x, w, 1, 1, x_view=(1, True, S))


def test_routes_follow_the_compile_target():
    """vnni for byte operands where the target has AVX-512 VNNI; else, where it has AVX2, maddubs for bytes with
    max x · max|w| <= 8191 and madd for int16 operands within the chunk bound; else dot."""
    simd = "madd" if nbk.HAS_MADD else "dot"
    capable = {"vnni": nbk.TARGET.vnni512, "maddubs": nbk.TARGET.madd256, "madd": nbk.TARGET.madd256, "dot": True}
    assert nbk.available_routes() == tuple(r for r in nbk.ROUTES if capable[r])
    assert nbk.pick_route((0, 255), (-128, 127)) == ("vnni" if nbk.HAS_VNNI else simd)
    bytes_route = "vnni" if nbk.HAS_VNNI else "maddubs" if nbk.HAS_MADD else "dot"
    assert nbk.pick_route((0, 255), (-32, 31)) == bytes_route  # 255·32 = 8160 <= 8191
    assert nbk.pick_route((0, 63), (-128, 127)) == bytes_route  # 63·128 = 8064
    assert nbk.pick_route((0, 255), (-33, 0)) == ("vnni" if nbk.HAS_VNNI else simd)  # 255·33 > 8191
    assert nbk.pick_route((-1, 15), (-8, 7)) == ("vnni" if nbk.HAS_VNNI else simd)  # maddubs: x >= 0
    assert nbk.pick_route((0, 256), (-128, 127)) == simd
    assert nbk.pick_route((-2**13, 0), (0, 2**14 - 1)) == simd  # 16·2^13·(2^14 - 1) < 2^31
    assert nbk.pick_route((-2**13, 0), (0, 2**14)) == "dot"  # one 16-term step could reach 2^31
    assert nbk.pick_route((0, 2**15), (-1, 1)) == "dot"  # x does not fit int16


@pytest.mark.parametrize("x_sign", [-1, 1])
def test_madd_route_at_its_operand_bound(x_sign):
    """The largest operands the madd route takes (|x| = 2^13, |w| = 2^14 - 1: a chunk of one 16-term step)
    over K of three chunks and more: exact, and its VPMADDWD pair sums (2·2^13·(2^14 - 1)) stay in int32."""
    x = np.full((1, 7, 3, 3), x_sign * 2**13, np.int64)
    w = np.full((3, 7, 3, 3), -(2**14 - 1), np.int64)
    assert nbk.chunk_length((min(0, x_sign * 2**13), max(0, x_sign * 2**13)), (-(2**14 - 1), 0), 16) == 16
    expect = ref.conv2d_acc(x, w, 1, 1)
    route = "madd" if nbk.HAS_MADD else "dot"
    assert np.array_equal(nbk.conv2d_acc(x, w, 1, 1, route=route), expect)
    assert np.array_equal(nbk.conv2d_acc(x, w, 1, 1), expect)


@pytest.mark.parametrize(("cpu", "madd256", "vnni512"), [("haswell", True, False), ("znver3", True, False),
                                                         ("skylake-avx512", True, False),
                                                         ("sapphirerapids", True, True), ("generic", False, False)])
def test_cpu_probe_reads_the_capabilities_llvm_gives_a_cpu_name(cpu, madd256, vnni512):
    """NUMBA_CPU_NAME=<cpu> NUMBA_CPU_FEATURES="" compiles with the CPU's own features: the probe asks LLVM."""
    from golden.cpu_target import capabilities, probe_assembly
    assert capabilities(probe_assembly(cpu, "")) == (madd256, vnni512)
    assert capabilities(probe_assembly("sapphirerapids", "-avx512vnni")) == (True, False)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bits", WIDTHS)
def test_linear_matches_twin(route, bits):
    rng = np.random.default_rng(bits)
    x = codes(rng, (5, 200), bits, False)
    w = codes(rng, (10, 200), bits, True)
    got = via(route, lambda r: nbk.linear_acc(x, w, route=r), x, w)
    assert np.array_equal(got, ref.linear_acc(x, w)) or (got is None and route == "maddubs" and bits == 8)


def test_conv_and_linear_accept_narrow_dtypes():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (2, 8, 5, 5)).astype(np.uint8)
    w = rng.integers(-128, 128, (4, 8, 3, 3)).astype(np.int8)
    assert np.array_equal(nbk.conv2d_acc(x, w, 1, 1), ref.conv2d_acc(x, w, 1, 1))
    xs = x.astype(np.int8) // 2
    assert np.array_equal(nbk.conv2d_acc(xs, w, 2, 1), ref.conv2d_acc(xs, w, 2, 1))


# ---- pooling -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 2, 0), (1, 1, 0)])
def test_maxpool_matches_twin(kernel, stride, padding):
    x = np.random.default_rng(kernel + stride).integers(-128, 128, (2, 3, 9, 7))
    got = nbk.maxpool2d(x, kernel, stride, padding)
    assert got.dtype == x.dtype
    assert np.array_equal(got, ref.maxpool2d(x, kernel, stride, padding))


def test_maxpool_ignores_padding():
    """All-negative input: a zero-padded max pool would return 0 at the borders; ours never does."""
    x = np.full((1, 1, 4, 4), -5)
    assert np.array_equal(nbk.maxpool2d(x, 3, 2, 1), np.full((1, 1, 2, 2), -5))


def test_gap_sum_matches_twin():
    x = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 4))
    assert np.array_equal(nbk.gap_sum(x), ref.gap_sum(x))
    assert np.array_equal(nbk.gap_sum(x), x.sum(axis=(2, 3)))


# ---- view and requant: tie vectors -----------------------------------------------------------------------
@pytest.mark.parametrize("bits", WIDTHS)
@pytest.mark.parametrize("signed", [True, False])
def test_view_matches_twin_on_every_master_code(bits, signed):
    lo, hi = S.code_range(signed)
    q = np.arange(lo, hi + 1).reshape(-1, 4)
    got = nbk.view(q, bits, signed, S)
    assert got.dtype == np.int64 and got.shape == q.shape
    assert np.array_equal(got, ref.view(q, bits, signed, S))


def test_view_ties_round_half_up():
    """docs/spec.md worked examples, N = 8, b = 4: the ties -8 -> 0 and 8 -> 1 go toward +inf."""
    assert np.array_equal(nbk.view(np.array([-8, 8, 7, -9, 127, -128]), 4, True, S), [0, 1, 0, -1, 7, -8])
    assert np.array_equal(nbk.view(np.array([247, 248, 8, 7]), 4, False, S), [15, 15, 1, 0])


def test_view_other_master_width():
    spec = NestedSpec(n_bits=10, acc_bits=32)
    q = np.arange(-512, 512)
    for bits in range(2, 11):
        assert np.array_equal(nbk.view(q, bits, True, spec), ref.view(q, bits, True, spec))


def test_view_rejects_bad_codes_and_widths():
    with pytest.raises(ArithmeticOverflow, match="master code: value 128"):
        nbk.view(np.array([1, 128]), 4, True, S)
    with pytest.raises(ArithmeticOverflow, match="master code: value -1"):
        nbk.view(np.array([-1, 3]), 4, False, S)
    with pytest.raises(ValueError, match="bits"):
        nbk.view(np.array([1]), 9, True, S)


@pytest.mark.parametrize("s", [0, 1, 2, 7, 16, 31])
def test_requant_ties_and_clamp_count_match_twin(s):
    """x·m + r·m_r at exact ties (odd multiples of 2^(s-1)) on both signs, plus clamps at both ends."""
    half = 1 << max(s - 1, 0)
    x = np.concatenate([np.arange(-9, 10) * half, np.arange(-9, 10) * half + 1, [2**40, -2**40]])
    x = np.tile(x, (2, 3, 1)).reshape(2, 3, -1)
    m = np.array([1, 3, 65535]).reshape(1, 3, 1)
    r = np.random.default_rng(s).integers(-300, 300, x.shape)
    for args in [(x, 1, s, -4, 4), (x, m, s, -100, 100), (x, m, s, 0, 255, r, 77), (x, 5, s, -2**15, 2**15 - 1, 3, 9)]:
        got, n = nbk.requant(*args)
        want, n_ref = ref.requant(*args)
        assert np.array_equal(got, want) and n == n_ref


def test_requant_worked_examples():
    """docs/spec.md: m = 1, s = 1: 5 -> 3, -5 -> -2, 6 -> 3 (ties toward +inf); 300 clamps."""
    y, n = nbk.requant(np.array([5, -5, 6, 300]), 1, 1, -100, 100)
    assert np.array_equal(y, [3, -2, 3, 100]) and n == 1


def test_requant_multiplier_along_several_axes_and_empty_input():
    rng = np.random.default_rng(1)
    x = rng.integers(-1000, 1000, (3, 4, 5))
    m = rng.integers(0, 9, (3, 1, 5))
    got, want = nbk.requant(x, m, 3, -9, 9), ref.requant(x, m, 3, -9, 9)
    assert np.array_equal(got[0], want[0]) and got[1] == want[1]
    y, n = nbk.requant(np.zeros((0, 3), np.int64), 1, 1, 0, 1)
    assert y.shape == (0, 3) and n == 0


# ---- align + bias ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shift", [0, 1, 7, 12])
def test_align_bias_matches_twin(shift):
    rng = np.random.default_rng(shift)
    acc = rng.integers(-2**31, 2**31, (3, 5, 4, 2))
    bias = rng.integers(-2**31, 2**31, 5).astype(np.int32)
    got, got_bounds = nbk.align_bias(acc, shift, bias)
    want, want_bounds = ref.align_bias(acc, shift, bias)
    assert np.array_equal(got, want) and np.array_equal(got_bounds, want_bounds)
    assert np.array_equal(want, (acc << shift) + bias.astype(np.int64)[None, :, None, None])
    assert np.array_equal(want_bounds[2], [want.min(), want.max()])


def test_align_bias_rejects_mismatched_bias():
    for impl in (nbk, ref):
        with pytest.raises(ValueError, match="bias has 4 channels but acc has 5"):
            impl.align_bias(np.zeros((1, 5, 2, 2), np.int64), 1, np.zeros(4, np.int64))


@pytest.mark.parametrize("s", [0, 1, 9, 24])
@pytest.mark.parametrize("with_residual", [False, True])
def test_conv_output_matches_twin_and_the_composed_primitives(s, with_residual):
    """Steps 2-4 fused: equal to the twin, and to align_bias then requant; ties from m = 1 rows."""
    rng = np.random.default_rng(s + 10 * with_residual)
    acc = rng.integers(-2**20, 2**20, (2, 4, 3, 5))
    acc[:, 0] = np.arange(-15, 15).reshape(2, 3, 5) * (1 << max(s - 1, 0))  # exact ties with m = 1, no bias
    bias = rng.integers(-2**10, 2**10, 4)
    bias[0] = 0
    m = np.array([1, 3, 1000, 65535])
    r = rng.integers(-2**12, 2**12, acc.shape) if with_residual else None
    m_r = rng.integers(0, 2**16, 4) if with_residual else None
    for lo, hi in [(0, 255), (-2**15, 2**15 - 1)]:
        got = nbk.conv_output(acc, 0 if s % 2 else 3, bias, m, s, lo, hi, r, m_r)
        want = ref.conv_output(acc, 0 if s % 2 else 3, bias, m, s, lo, hi, r, m_r)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2:] == want[2:]
        x, _ = ref.align_bias(acc, 0 if s % 2 else 3, bias)
        rm = 0 if r is None else r * m_r[None, :, None, None]
        y, n = ref.requant(x, m[None, :, None, None], s, lo, hi, rm, 1)
        assert np.array_equal(got[0], y) and got[2] + got[3] == n


def test_conv_output_rejects_mismatched_channels():
    for impl in (nbk, ref):
        with pytest.raises(ValueError, match="m has 3 channels but acc has 4"):
            impl.conv_output(np.zeros((1, 4, 2, 2), np.int64), 0, np.zeros(4, np.int64), np.ones(3, np.int64),
                             1, 0, 255)


# ---- the multi-threaded path ---------------------------------------------------------------------------------
def test_every_kernel_matches_its_twin_above_the_parallel_threshold():
    """Tensors of at least PARALLEL_MIN_WORK elements (and a GEMM of PARALLEL_MIN_WORK · MACS_PER_ELEMENT
    MACs) run on numba's thread pool, the small ones of the other tests on one thread."""
    rng = np.random.default_rng(11)
    n = nbk.PARALLEL_MIN_WORK
    x = rng.integers(0, 256, (4, 64, 32, 32))
    w = rng.integers(-128, 128, (64, 64, 3, 3))
    assert x.size >= n and 4 * 64 * 32 * 32 * 64 * 9 >= n * nbk.MACS_PER_ELEMENT  # MACs of the conv
    for route in ROUTES:
        assert np.array_equal(nbk.conv2d_acc(x, w, 1, 1, x_view=(4, False, S), route=route),
                              ref.conv2d_acc(x, w, 1, 1, x_view=(4, False, S)))
    assert np.array_equal(nbk.view(x, 3, False, S), ref.view(x, 3, False, S))
    assert np.array_equal(nbk.view(x, 8, False, S), ref.view(x, 8, False, S))
    assert np.array_equal(nbk.maxpool2d(x, 3, 2, 1), ref.maxpool2d(x, 3, 2, 1))
    assert np.array_equal(nbk.gap_sum(x), ref.gap_sum(x))
    acc = rng.integers(-2**20, 2**20, x.shape)
    bias, m = rng.integers(-2**10, 2**10, 64), rng.integers(0, 2**16, 64)
    r, m_r = rng.integers(0, 256, acc.shape), rng.integers(0, 2**16, 64)
    for got, want in [(nbk.align_bias(acc, 3, bias), ref.align_bias(acc, 3, bias)),
                      (nbk.conv_output(acc, 3, bias, m, 20, 0, 255, r, m_r),
                       ref.conv_output(acc, 3, bias, m, 20, 0, 255, r, m_r)),
                      (nbk.requant(acc, m.reshape(1, -1, 1, 1), 9, -2**15, 2**15 - 1, r, 7),
                       ref.requant(acc, m.reshape(1, -1, 1, 1), 9, -2**15, 2**15 - 1, r, 7))]:
        assert all(np.array_equal(g, w_) for g, w_ in zip(got, want))


# ---- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", [nbk, ref], ids=["numba", "numpy"])
def test_bad_inputs_name_the_argument(impl):
    x = np.zeros((1, 3, 5, 5), np.int64)
    w = np.zeros((2, 3, 3, 3), np.int64)
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        impl.conv2d_acc(x[0], w, 1, 1)
    with pytest.raises(ValueError, match=r"w must be 4-D"):
        impl.conv2d_acc(x, w[0], 1, 1)
    with pytest.raises(ValueError, match=r"w has 4 input channels .* but x has 3"):
        impl.conv2d_acc(x, np.zeros((2, 4, 3, 3), np.int64), 1, 1)
    with pytest.raises(TypeError, match=r"x must be an integer array, got dtype float64"):
        impl.conv2d_acc(x.astype(float), w, 1, 1)
    with pytest.raises(ValueError, match=r"stride must be an int >= 1, got 0"):
        impl.conv2d_acc(x, w, 0, 1)
    with pytest.raises(ValueError, match=r"padding must be an int >= 0, got -1"):
        impl.conv2d_acc(x, w, 1, -1)
    with pytest.raises(ValueError, match=r"does not fit x spatial size"):
        impl.conv2d_acc(x, np.zeros((2, 3, 7, 7), np.int64), 1, 0)
    with pytest.raises(ValueError, match=r"w has reduction length K=4 .* but x has K=3"):
        impl.linear_acc(np.zeros((2, 3), np.int64), np.zeros((5, 4), np.int64))
    with pytest.raises(ValueError, match=r"x must be 2-D"):
        impl.linear_acc(x, np.zeros((5, 4), np.int64))
    with pytest.raises(ValueError, match=r"padding must be < kernel=3"):
        impl.maxpool2d(x, 3, 1, 3)
    with pytest.raises(ValueError, match=r"kernel must be an int >= 1"):
        impl.maxpool2d(x, 0, 1, 0)
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        impl.gap_sum(x[0])
    with pytest.raises(ValueError, match=r"requant shift s must be an int in \[0, 62\], got 63"):
        impl.requant(x, 1, 63, 0, 255)
    with pytest.raises(TypeError, match="requant x must be integers, got dtype float64"):
        impl.requant(x + 0.5, 1, 1, 0, 255)
    with pytest.raises(TypeError, match="requant m must be integers, got dtype float64"):
        impl.requant(x, 1.5, 1, 0, 255)
    with pytest.raises(TypeError, match="requant r must be integers, got dtype float64"):
        impl.requant(x, 1, 1, 0, 255, x + 0.5, 1)
    with pytest.raises(TypeError, match="master codes q must be integers, got dtype float64"):
        impl.view(np.array([1.5, 2.0]), 4, True, S)
    acc, ones = np.zeros((1, 2, 3, 3), np.int64), np.ones(2, np.int64)
    with pytest.raises(TypeError, match=r"r must be an integer array, got dtype float64"):
        impl.conv_output(acc, 0, ones, ones, 1, 0, 255, acc + 0.5, ones)


def test_unknown_route_is_rejected():
    with pytest.raises(ValueError, match="route must be one of"):
        nbk.conv2d_acc(np.zeros((1, 1, 3, 3), np.int64), np.zeros((1, 1, 1, 1), np.int64), 1, 0, route="fp32")


def test_backends_expose_the_same_kernels():
    """Each backend has every kernel the execution code calls: numba's own functions, numpy's the twins."""
    names = {"conv2d_acc", "linear_acc", "maxpool2d", "gap_sum", "view", "requant", "align_bias", "conv_output"}
    assert set(nbk.KERNEL_NAMES) == names
    numba_set, numpy_set = get_backend("numba"), get_backend("numpy")
    for name in names:
        assert getattr(numba_set, name) is getattr(nbk, name) is not getattr(ref, name)
        assert getattr(numpy_set, name) is getattr(ref, name)
