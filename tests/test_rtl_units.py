"""ViewUnit (exhaustive), PE and OutputUnit (random + tie + saturation vectors) vs golden.primitives in amaranth.sim."""
from __future__ import annotations

import numpy as np
import pytest

from golden.primitives import requant, view
from golden.spec import MAX_SHIFT, NestedSpec
from rtl.output_unit import OutputUnit
from rtl.params import OUT_MODES, RtlConfig
from rtl.pe import PE
from rtl.view_unit import ViewUnit
from sim.config import ArrayConfig
from verify.amaranth_sim import clocked_eval, comb_eval


def make_config(n_bits=8, acc_bits=32, fault=None, **spec_kw) -> RtlConfig:
    spec = NestedSpec(n_bits=n_bits, acc_bits=acc_bits, candidates=(n_bits,), **spec_kw)
    return RtlConfig(array=ArrayConfig(rows=2, cols=2, spec=spec), k_max=8, fault=fault)


def view_mismatches(cfg: RtlConfig) -> int:
    """Exhaustive ViewUnit check over every master code, width b in [2, N] and signedness; returns mismatches."""
    spec, n = cfg.spec, cfg.code_bits
    vectors, expected = [], []
    for sgn in (True, False):
        lo, hi = spec.code_range(sgn)
        codes = np.arange(lo, hi + 1)
        for b in range(2, n + 1):
            golden = view(codes, b, sgn, spec)
            for q, g in zip(codes.tolist(), golden.tolist()):
                vectors.append({"q": q & ((1 << n) - 1), "sgn": int(sgn), "k": n - b})
                expected.append(g)
    got = [r["v"] for r in comb_eval(ViewUnit(cfg), vectors, ("v",))]
    return int(np.sum(np.array(got) != np.array(expected)))


@pytest.mark.parametrize("n_bits", [8, 6])
def test_view_unit_exhaustive(n_bits):
    assert view_mismatches(make_config(n_bits=n_bits)) == 0


def test_view_unit_design_examples():
    """docs/spec.md §1 worked examples, N=8, b=4."""
    cfg = make_config()
    signed_in = [-8, 8, 7, -9, 127, -128]
    unsigned_in = [247, 248, 8, 7]
    vectors = [{"q": q & 0xFF, "sgn": 1, "k": 4} for q in signed_in] + [{"q": q, "sgn": 0, "k": 4} for q in unsigned_in]
    got = [r["v"] for r in comb_eval(ViewUnit(cfg), vectors, ("v",))]
    assert got == [0, 1, 0, -1, 7, -8, 15, 15, 1, 0]


@pytest.mark.parametrize("fault", ["drop_round_bit", "no_view_saturate"])
def test_view_unit_faults_are_caught(fault):
    assert view_mismatches(make_config(n_bits=6, fault=fault)) > 0


def pe_run(cfg: RtlConfig, seed: int, k_len: int):
    """Drive a PE through clear, k_len accumulations (random operands incl. extremes), one hold, one shift."""
    rng = np.random.default_rng(seed)
    lo, hi = cfg.spec.int_range(cfg.operand_bits, True)
    ext = [lo, hi, 0, -1, 1]
    w = np.concatenate([rng.choice(ext, 4), rng.integers(lo, hi + 1, k_len - 4)])
    a = np.concatenate([rng.choice(ext, 4), rng.integers(lo, hi + 1, k_len - 4)])
    idle = {"en": 0, "clear": 0, "shift": 0, "w_in": 0, "a_in": 0, "acc_in": 0}
    steps = [dict(idle, clear=1, en=1)]
    steps += [dict(idle, en=1, w_in=int(x), a_in=int(y)) for x, y in zip(w, a)]
    steps += [dict(idle, w_in=5, a_in=7)]  # en = 0: hold
    steps += [dict(idle, shift=1, en=1, acc_in=-12345)]
    steps += [dict(idle)]
    res = clocked_eval(PE(cfg), steps, ("acc", "w_out", "a_out"))
    return w, a, res


@pytest.mark.parametrize("n_bits,acc_bits", [(8, 32), (6, 20)])
def test_pe_accumulates_and_passes(n_bits, acc_bits):
    cfg = make_config(n_bits=n_bits, acc_bits=acc_bits)
    k_len = 40
    w, a, res = pe_run(cfg, seed=n_bits, k_len=k_len)
    partial = np.concatenate([[0], np.cumsum(w.astype(np.int64) * a)])  # fits ACC_BITS: exact
    assert [r["acc"] for r in res[1:k_len + 2]] == partial.tolist()
    assert res[k_len + 2]["acc"] == partial[-1]  # en = 0 held
    assert res[k_len + 3]["acc"] == -12345  # shift loaded acc_in
    assert [r["w_out"] for r in res[2:k_len + 2]] == w.tolist()  # one-cycle pass-through
    assert [r["a_out"] for r in res[2:k_len + 2]] == a.tolist()


def test_pe_clear_has_priority_over_shift_and_en():
    """rtl/pe.py: clear > shift > en. clear with shift and en (nonzero acc_in and operands) gives 0; shift with en
    loads acc_in."""
    cfg = make_config()
    idle = {"en": 0, "clear": 0, "shift": 0, "w_in": 0, "a_in": 0, "acc_in": 0}
    steps = [dict(idle, clear=1), dict(idle, en=1, w_in=7, a_in=9),
             dict(idle, clear=1, shift=1, en=1, w_in=3, a_in=5, acc_in=-777),
             dict(idle, shift=1, en=1, w_in=3, a_in=5, acc_in=-777), dict(idle)]
    res = clocked_eval(PE(cfg), steps, ("acc",))
    assert [r["acc"] for r in res[1:]] == [0, 63, 0, -777]


def test_pe_narrow_acc_fault_is_caught():
    cfg = make_config(fault="narrow_acc")
    w, a, res = pe_run(cfg, seed=1, k_len=40)
    assert res[41]["acc"] != int(np.sum(w.astype(np.int64) * a))


def output_vectors(cfg: RtlConfig, count: int, seed: int) -> list[dict]:
    """Random vectors (x = acc<<align + bias in ACC range) plus hand-made tie and saturation vectors."""
    rng = np.random.default_rng(seed)
    spec = cfg.spec
    a_bits, m_max = spec.acc_bits, spec.m_max
    vecs = []
    for i in range(count):
        align = int(rng.integers(0, spec.max_align_shift + 1))
        acc_mag = 1 << max(1, a_bits - 2 - align - int(rng.integers(0, a_bits - 2)))
        vecs.append({
            "acc": int(rng.integers(-acc_mag, acc_mag)), "align": align,
            "bias": int(rng.integers(-(1 << (a_bits - 3)), 1 << (a_bits - 3))),
            "m": int(rng.integers(0, m_max + 1)), "m_r": int(rng.integers(0, m_max + 1)),
            "r": int(rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1))) if i % 2 else int(rng.integers(0, 256)),
            "res_en": int(rng.integers(0, 2)),
            "s": int(rng.integers(0, MAX_SHIFT + 1)) if i % 4 == 0 else int(rng.integers(a_bits, a_bits + spec.m_bits)),
            "mode": int(rng.integers(0, 4)),
        })
    base = {"align": 0, "bias": 0, "m": 1, "m_r": 0, "r": 0, "res_en": 0}
    for s in (1, 2, 5):  # ties: x = j·2^s + 2^(s-1) rounds up (half-up, toward +inf)
        for j in (-3, -1, 0, 2):
            for mode in (OUT_MODES["signed"], OUT_MODES["logits"]):
                vecs.append(dict(base, acc=j * (1 << s) + (1 << (s - 1)), s=s, mode=mode))
    vecs += [dict(base, acc=5, s=1, mode=OUT_MODES["signed"]), dict(base, acc=-5, s=1, mode=OUT_MODES["signed"]),
             dict(base, acc=6, s=1, mode=OUT_MODES["signed"])]  # docs/spec.md: 5 -> 3, -5 -> -2, 6 -> 3
    big = 1 << (a_bits - 2)
    for mode in (0, 1, 2):  # saturation both ways, and the residual term alone
        vecs += [dict(base, acc=big, s=0, mode=mode), dict(base, acc=-big, s=0, mode=mode),
                 dict(base, acc=0, r=big, m_r=m_max, res_en=1, s=3, mode=mode),
                 dict(base, acc=-big, bias=-big, m=m_max, r=-big * 2, m_r=m_max, res_en=1, s=MAX_SHIFT, mode=mode)]
    return vecs


def output_expected(cfg: RtlConfig, v: dict) -> tuple[int, int]:
    x = (v["acc"] << v["align"]) + v["bias"]
    if v["mode"] == OUT_MODES["wide"]:
        return x, 0
    lo, hi = cfg.out_range({code: name for name, code in OUT_MODES.items()}[v["mode"]])
    r = v["r"] if v["res_en"] else 0
    unclamped = int(requant(np.array([x]), v["m"], v["s"], -(1 << 62), 1 << 62, r=np.array([r]), m_r=v["m_r"])[0])
    y = int(requant(np.array([x]), v["m"], v["s"], lo, hi, r=np.array([r]), m_r=v["m_r"])[0])
    return y, int(not lo <= unclamped <= hi)


def output_mismatches(cfg: RtlConfig, count: int, seed: int) -> int:
    vecs = output_vectors(cfg, count, seed)
    got = comb_eval(OutputUnit(cfg), vecs, ("y", "clamped"))
    return sum((g["y"], g["clamped"]) != output_expected(cfg, v) for v, g in zip(vecs, got))


@pytest.mark.parametrize("n_bits,acc_bits,m_bits", [(8, 32, 16), (6, 20, 12), (8, 18, 16)])
def test_output_unit_vs_golden(n_bits, acc_bits, m_bits):
    assert output_mismatches(make_config(n_bits=n_bits, acc_bits=acc_bits, m_bits=m_bits), 400, seed=acc_bits) == 0


@pytest.mark.parametrize("fault", ["drop_requant_round", "no_align"])
def test_output_unit_faults_are_caught(fault):
    assert output_mismatches(make_config(fault=fault), 200, seed=3) > 0
