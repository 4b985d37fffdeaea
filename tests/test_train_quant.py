"""train/quant.py: the differentiable nested fake-quant equals golden's integer primitives exactly."""
import numpy as np
import pytest
import torch

from golden.primitives import requant, view
from golden.spec import DEFAULT_SPEC, NestedSpec
from train.quant import (master_codes, multiplier_ste, quantize_multipliers, quantize_ste,
                         round_half_up, view_codes)

SPEC = DEFAULT_SPEC


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
def test_view_codes_equal_golden_view_on_every_code(signed, bits):
    lo, hi = SPEC.code_range(signed)
    q = np.arange(lo, hi + 1)
    got = view_codes(torch.tensor(q, dtype=torch.float64), bits, signed, SPEC).numpy().astype(np.int64)
    assert np.array_equal(got, view(q, bits, signed, SPEC))


def test_view_codes_design_examples():
    q = torch.tensor([-8.0, 8, 7, -9, 127, -128])
    assert view_codes(q, 4, True, SPEC).tolist() == [0, 1, 0, -1, 7, -8]
    u = torch.tensor([247.0, 248, 8, 7])
    assert view_codes(u, 4, False, SPEC).tolist() == [15, 15, 1, 0]


def test_round_half_up_ties_go_up():
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    assert round_half_up(x).tolist() == [-2, -1, 0, 1, 2, 3]  # torch.round would give -2, -2, -0, 0, 2, 2


def test_quantize_ste_gradient_is_clamped_identity():
    x = torch.tensor([-3.0, -0.4, 0.6, 2.0, 5.0], requires_grad=True)
    y = quantize_ste(x, -2, 3)
    assert y.tolist() == [-2, 0, 1, 2, 3]
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 0]


def test_master_codes_lsq_gradient_reaches_the_step():
    x = torch.tensor([0.26, -0.74, 9.0])
    step = torch.tensor(0.5, requires_grad=True)
    q = master_codes(x, step, True, SPEC)
    assert q.tolist() == [1, -1, 18]
    (q * step).sum().backward()  # LSQ: d(q·Δ)/dΔ = q − x/Δ inside the range
    expected = sum(float(qi) - float(xi) / 0.5 for qi, xi in zip(q.detach(), x))
    assert step.grad.item() == pytest.approx(expected)


def test_quantize_multipliers_fit_m_bits_with_the_largest_shift():
    ratios = [np.array([0.0123, 0.00077, 0.5]), np.array([0.25, 0.031])]
    (m, m_r), s = quantize_multipliers(ratios, SPEC, "layer x")
    assert max(m.max(), m_r.max()) <= SPEC.m_max
    assert np.floor(0.5 * 2.0 ** (s + 1) + 0.5) > SPEC.m_max  # one more bit of shift would not fit
    assert np.array_equal(m, np.floor(ratios[0] * 2.0 ** s + 0.5).astype(np.int64))


def test_quantize_multipliers_take_the_shift_whose_rounding_still_fits():
    """ratio·2^20 = 65535.25 > m_max rounds to 65535 = m_max: s = 20 fits, although log2(m_max/ratio) < 20."""
    ratio = 65535.25 / 2.0 ** 20
    (m,), s = quantize_multipliers([np.array([ratio])], SPEC, "layer x")
    assert (int(m[0]), s) == (SPEC.m_max, 20)


def test_quantize_multipliers_names_the_layer_when_impossible():
    with pytest.raises(ValueError, match="layer big"):
        quantize_multipliers([np.array([1e6])], NestedSpec(m_bits=8), "layer big")


def test_float64_requant_equals_golden_requant_on_ties():
    """x·m/2^s + r·m_r/2^s rounded half-up in float64 (the fake-quant forward) equals golden's integer requant,
    on exact ties and random values alike."""
    rng = np.random.default_rng(0)
    s = 7
    x = np.concatenate([np.array([64, -64, 192, -192, 63, -65]), rng.integers(-2**30, 2**30, 1000)])
    r = rng.integers(0, 255, x.shape)
    m, m_r = 1, 3
    mult = multiplier_ste(torch.tensor(0.1, dtype=torch.float64), np.int64(m), s)
    mult_r = multiplier_ste(torch.tensor(0.1, dtype=torch.float64), np.int64(m_r), s)
    t = torch.tensor(x, dtype=torch.float64) * mult + torch.tensor(r, dtype=torch.float64) * mult_r
    got = quantize_ste(t, -2**40, 2**40).numpy().astype(np.int64)
    assert np.array_equal(got, requant(x, m, s, -2**40, 2**40, r, m_r))
