"""verify/routed_vectors.py: the output-unit vectors routed as DqtTop tiles reach the top's output units unchanged."""
from __future__ import annotations

import numpy as np
import pytest

from golden.spec import NestedSpec
from rtl.params import out_mode_range
from verify.designs import rtl_config
from verify.models import expected_output
from verify.routed_vectors import output_unit_vectors, output_vectors_as_tiles, unclamped_q
from verify.tile_job import expected_tile

SPECS = [NestedSpec(), NestedSpec(n_bits=6, acc_bits=20, m_bits=10, candidates=(2, 4, 6))]


@pytest.mark.parametrize("spec", SPECS, ids=["n8", "n6"])
@pytest.mark.parametrize("rows,cols", [(3, 5), (1, 1), (16, 1)])
def test_every_routed_vector_is_the_output_of_its_row(spec, rows, cols):
    """Each tile's golden result in row i, every column, equals the unit bench's expected (y, clamped) of the
    vector carried by row i; every vector is carried by some row; operands are legal master codes, K = 1."""
    rng = np.random.default_rng(3)
    vectors = output_unit_vectors(rng, spec, 60)
    tiles = output_vectors_as_tiles(rng, vectors, rows, cols, spec)
    carried = []
    for job, chunk in tiles:
        assert job.weights.shape == (rows, 1) and job.acts.shape == (1, cols) and job.config.k == 1
        assert spec.code_range(True)[0] <= job.weights.min() and job.weights.max() <= spec.code_range(True)[1]
        assert 0 <= job.acts.min() and job.acts.max() <= spec.code_range(False)[1]
        y, clamped = expected_tile(job, spec, out_mode_range(job.config.mode, spec))
        for i, v in enumerate(chunk):
            want_y, want_clamped = expected_output(v.acc, v.b_w, v.b_a, v.bias, v.m, v.s, v.r, v.m_r, v.res_en,
                                                   out_mode_range(v.mode, spec), spec)
            assert (y[i] == want_y).all() and (clamped[i] == want_clamped).all(), (v, y[i], want_y)
        carried += chunk
    assert set(map(id, carried)) >= set(map(id, vectors))
    assert len(tiles) < len(vectors) or rows == 1  # vectors of one configuration share tiles


def test_routed_vectors_reach_the_unit_bench_corners():
    """The top bench's vector list (seed 1, 200 random) holds requant shifts above ACC+M+1 and requant results
    |q| >= 2^31 before the clamp."""
    spec, cfg = NestedSpec(), rtl_config(3, 5, k_max=4)
    vectors = output_unit_vectors(np.random.default_rng(1), spec, 200)
    assert sum(v.s > cfg.requant_shift_max for v in vectors) >= 10
    assert sum(abs(unclamped_q(v, spec)) >= 1 << 31 for v in vectors if v.mode != "wide") >= 10
    assert {v.mode for v in vectors} == {"relu", "signed", "logits", "wide"}
