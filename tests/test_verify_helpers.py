"""Pure-Python parts of verify/: im2col/tiling against the golden conv, lane packing, scoreboard, ports."""
from __future__ import annotations

import numpy as np
import pytest

from golden.kernels_ref import conv2d_acc
from golden.spec import NestedSpec
from verify.benches.network import width_cycle
from verify.gemm import im2col, tile_operands, tiles
from verify.manifest import Port
from verify.scoreboard import Scoreboard
from verify.tile_job import pack_lanes, unpack_lanes


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 1), (1, 2, 0), (3, 2, 1)])
def test_im2col_gemm_equals_golden_conv(kernel, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(3, 7, 9))
    w = rng.integers(-128, 128, size=(5, 3, kernel, kernel))
    want = conv2d_acc(x[None], w, stride, padding)[0]
    got = w.reshape(5, -1) @ im2col(x, kernel, stride, padding)
    assert np.array_equal(got, want.reshape(5, -1))


def test_tiles_cover_every_output_once_and_pad_with_zeros():
    w, a = np.arange(7 * 4).reshape(7, 4), np.arange(4 * 5).reshape(4, 5)
    covered = np.zeros((7, 5), int)
    for t in tiles(7, 5, 3, 2):
        wt, at = tile_operands(w, a, t, 3, 2)
        assert wt.shape == (3, 4) and at.shape == (4, 2)
        assert not wt[t.rows:].any() and not at[:, t.cols:].any()
        assert np.array_equal((wt @ at)[:t.rows, :t.cols], (w @ a)[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols])
        covered[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols] += 1
    assert (covered == 1).all()


@pytest.mark.parametrize("bits", [5, 8, 32])
def test_pack_unpack_round_trip(bits):
    rng = np.random.default_rng(1)
    m = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(4, 6))
    for row, word in zip(m, pack_lanes(m, bits)):
        assert np.array_equal(unpack_lanes(word, 6, bits), row)


def test_scoreboard_reports_index_inputs_expected_got():
    board = Scoreboard("demo")
    board.check_array((2,), {"b": 4}, np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 5]]))
    assert board.vectors == 4 and board.mismatches == 1 and not board.ok
    assert str(board.first[0]) == "at (2, 1, 1): expected 4, got 5 (b=4)"
    with pytest.raises(AssertionError, match="1 mismatches"):
        board.assert_clean()
    with pytest.raises(AssertionError, match="no vectors"):
        Scoreboard("empty").assert_clean()


def test_port_encode_rejects_values_that_do_not_fit():
    assert Port("x", "input", 8, True).encode(-1) == 0xFF
    with pytest.raises(ValueError, match="port x: value 128"):
        Port("x", "input", 8, True).encode(128)


@pytest.mark.parametrize("n_bits", [6, 8])
def test_manifest_rebuilds_the_generator_spec(tmp_path, n_bits):
    """Benches read widths back from the manifest: the rebuilt NestedSpec equals the generator's, candidates too."""
    from click.testing import CliRunner

    import cli
    from verify.manifest import DutParams

    result = CliRunner().invoke(cli.cli, ["gen-rtl", "--pe", "2x3", "--n-bits", str(n_bits), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    spec = DutParams.load(tmp_path / "manifest.json").spec
    assert spec.n_bits == n_bits
    assert spec.candidates == tuple(b for b in (2, 4, 6, 8) if b <= n_bits)


@pytest.mark.parametrize("spec", [NestedSpec(), NestedSpec(n_bits=6, candidates=(2, 4, 6)),
                                  NestedSpec(n_bits=5, acc_bits=20, candidates=(3, 5))])
def test_width_cycle_starts_at_n_and_switches_width_every_layer(spec):
    cycle = width_cycle(spec)
    n = spec.n_bits
    assert cycle[0] == (n, n)
    assert len(cycle) == len(set(cycle)) == len(spec.candidates) ** 2
    assert {b for pair in cycle for b in pair} == set(spec.candidates)
    assert all(cycle[i] != cycle[(i + 1) % len(cycle)] for i in range(len(cycle)))


def test_generate_reuses_a_design_per_build_root_while_its_files_exist(tmp_path):
    """verify.designs.generate emits a design once per build root while its generator stamp matches (the suite
    runs it on two simulators); a deleted file is emitted again."""
    from verify.designs import generate, rtl_config
    from verify.toolchain import build_root_at

    with build_root_at(tmp_path):
        first = generate("top", rtl_config(1, 2, k_max=4))
        mtime = first.sources[0].stat().st_mtime_ns
        again = generate("top", rtl_config(1, 2, k_max=4))
        assert again == first and first.sources[0].stat().st_mtime_ns == mtime
        first.sources[0].unlink()
        assert generate("top", rtl_config(1, 2, k_max=4)).sources[0].exists()
    with build_root_at(tmp_path / "other"):
        assert generate("top", rtl_config(1, 2, k_max=4)).sources[0].is_relative_to(tmp_path / "other")


def test_a_linted_run_fails_on_a_lint_warning_without_building(tmp_path):
    """BenchRun(lint=True) lints its top first (verilator -Wall with the waiver file): clean -> None; a warning
    (here an empty bit range pasted into the emitted Verilog) fails the run before any simulator build."""
    from verify.designs import generate, lint_top, rtl_config
    from verify.plan import BenchRun
    from verify.toolchain import build_root_at

    run = BenchRun("tiles_1x2", "top", "top_tiles", (1, 2), 4, lint=True)
    with build_root_at(tmp_path / "clean"):
        assert lint_top(run.design()) is None
    with build_root_at(tmp_path / "bad"):
        design = generate("top", rtl_config(1, 2, k_max=4))
        text = design.sources[0].read_text()
        design.sources[0].write_text(text.replace("module dqt_top(", "module dqt_top_unused; wire [-1:0] x; endmodule\nmodule dqt_top(", 1))
        result = run.run("icarus")
        assert not result.ok and "lint" in result.failed[0] and run.verdict(result) is not None
        assert not (tmp_path / "bad" / "icarus").exists()
