"""Tier 1: hand-computed vectors for view and requant (docs/spec.md §1 worked examples)."""
import numpy as np
import pytest

from golden.primitives import ArithmeticOverflow, align_shift, requant, view
from golden.spec import DEFAULT_SPEC, NestedSpec

S = DEFAULT_SPEC


def test_view_signed_worked_examples():
    q = np.array([-8, 8, 7, -9, 127, -128])
    assert np.array_equal(view(q, 4, True, S), [0, 1, 0, -1, 7, -8])


def test_view_unsigned_worked_examples():
    q = np.array([247, 248, 8, 7])
    assert np.array_equal(view(q, 4, False, S), [15, 15, 1, 0])


def test_view_full_width_is_identity():
    q = np.arange(-128, 128)
    assert np.array_equal(view(q, 8, True, S), q)


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("signed", [True, False])
def test_view_matches_rounded_division_exhaustively(bits, signed):
    """view = clip(floor(q / 2^k + 1/2)) on every master code, computed with Python's exact Fractions."""
    from fractions import Fraction
    import math
    lo, hi = S.code_range(signed)
    blo, bhi = S.code_range(signed, bits)
    k = 8 - bits
    q = np.arange(lo, hi + 1)
    expect = [min(max(math.floor(Fraction(int(v), 2 ** k) + Fraction(1, 2)), blo), bhi) for v in q]
    assert np.array_equal(view(q, bits, signed, S), expect)


def test_view_rejects_bad_width_and_codes():
    with pytest.raises(ValueError, match="bits"):
        view(np.array([1]), 1, True, S)
    with pytest.raises(ValueError, match="bits"):
        view(np.array([1]), 9, True, S)
    with pytest.raises(ArithmeticOverflow, match="master code"):
        view(np.array([128]), 4, True, S)
    with pytest.raises(ArithmeticOverflow, match="master code"):
        view(np.array([-1]), 4, False, S)


def test_requant_ties_round_half_up():
    assert np.array_equal(requant(np.array([5, -5, 6]), 1, 1, -100, 100), [3, -2, 3])


def test_requant_shift_zero_has_no_rounding_term():
    assert np.array_equal(requant(np.array([5, -5]), 3, 0, -100, 100), [15, -15])


def test_requant_residual_and_clamp():
    # (10*3 + 7*2 + 4) >> 3 = 48 >> 3 = 6 ; clamp to [0, 5] -> 5
    assert requant(np.array([10]), 3, 3, 0, 255, r=np.array([7]), m_r=2)[0] == 6
    assert requant(np.array([10]), 3, 3, 0, 5, r=np.array([7]), m_r=2)[0] == 5
    assert requant(np.array([-10]), 3, 3, 0, 255)[0] == 0


def test_requant_rejects_bad_shift():
    with pytest.raises(ValueError, match="shift"):
        requant(np.array([1]), 1, 63, 0, 1)
    with pytest.raises(ValueError, match="shift"):
        requant(np.array([1]), 1, -1, 0, 1)


def test_align_shift():
    assert align_shift(8, 8, S) == 0
    assert align_shift(4, 2, S) == 10


def test_spec_validation_names_field():
    with pytest.raises(ValueError, match="acc_bits"):
        NestedSpec(acc_bits=8)
    with pytest.raises(ValueError, match="candidates"):
        NestedSpec(candidates=(4, 2))
    with pytest.raises(ValueError, match="candidates"):
        NestedSpec(candidates=(1, 4))
    with pytest.raises(TypeError, match="n_bits"):
        NestedSpec(n_bits=8.0)
