"""golden/bounds.py's per-width weight sums from one code histogram equal the sums over the views."""
import numpy as np
import pytest

from golden.bounds import _weight_sums
from golden.primitives import ArithmeticOverflow, view
from golden.spec import DEFAULT_SPEC as S


def test_weight_sums_from_the_histogram_equal_the_view_sums():
    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, (7, 300))
    w[0] = -128
    w[1] = 127
    widths = range(2, S.n_bits + 1)
    got = _weight_sums(w, widths, S)
    for b in widths:
        v = view(w, b, True, S)
        assert np.array_equal(got[b][0], np.maximum(v, 0).sum(axis=1))
        assert np.array_equal(got[b][1], np.minimum(v, 0).sum(axis=1))


def test_weight_sums_refuse_codes_outside_the_master_range():
    with pytest.raises(ArithmeticOverflow, match="master code"):
        _weight_sums(np.array([[0, 128]]), [4], S)
