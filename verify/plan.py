"""Which bench runs on which generated design: one `BenchRun` per (design, cocotb module, parameters).

Shared by `python -m verify.suite` (make verify) and the pytest runners (tests/test_verify_*.py), so both run
the same benches. A BenchRun with `fault` set generates the RTL with that deliberate bug and passes only when
the bench FAILS with mismatches > 0 (proof that the bench can fail).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .designs import generate, lint_top, rtl_config
from .runner import Design, RunResult, bench_env, build, run_bench
from .toolchain import build_root

TILE_SHAPES = ((16, 16), (4, 8), (1, 16), (3, 5))
FUSED_TILE_SHAPES = ((4, 8), (3, 5))  # fused tiles: every (b_w, b_a) in [2, N]² (rounded-up widths included)
TILE_K_MAX = 64     # tile benches draw K up to this (k_cap); small buffers keep the Icarus model small
LAYER_K_MAX = None  # the generator default (K_MAX = 4608): the same build as make verify-long
FUSED_LAYER_K_MAX = 512  # the fused conv-layer bench: layer4.0.downsample has K = 256
# Edge shapes of the generator's range (R, C in 1..64; 1×16 is in TILE_SHAPES): one-PE and one-column arrays (1-bit
# out_clamped, 1-deep p / r buffers), every width pair, at a small K_MAX, and the largest array, 64×64, built and
# run for 3 tiles (one random width pair, then a width switch), all in make verify on both simulators. Each is also
# linted (verilator -Wall, BenchRun.lint). The 64×64 Verilator build keeps the PE one class
# (verify.runner.verilator_controls).
EDGE_TILE_SHAPES = ((1, 1), (16, 1))
EDGE_K_MAX = 16
LARGEST_SHAPE, LARGEST_K_MAX = (64, 64), 4


@dataclass(frozen=True)
class BenchRun:
    name: str
    unit: str                      # view_unit | pe | output_unit | top
    module: str                    # cocotb test module under verify.benches
    shape: tuple[int, int] = (16, 16)
    k_max: int | None = None
    params: dict = field(default_factory=dict)
    fault: str | None = None
    pe_mode: str = "fixed"
    tests: tuple[str, ...] | None = None  # cocotb tests of `module` to run (None: all)
    sims: tuple[str, ...] | None = None   # simulators this run is for (None: every selected one)
    lint: bool = False             # top only: the run fails unless the design lints clean (verify.designs.lint_top)

    def runs_on(self, sim: str) -> bool:
        return self.sims is None or sim in self.sims

    def design(self) -> Design:
        return generate(self.unit, rtl_config(*self.shape, k_max=self.k_max, fault=self.fault, pe_mode=self.pe_mode))

    def run(self, sim: str) -> RunResult:
        design = self.design()
        if self.lint and (why := lint_top(design)) is not None:
            return RunResult(design, sim, failed=[why])
        built = build(design, sim)
        env = bench_env(**self.params)
        if "layer" in self.params:  # conv-layer benches: the golden job is prepared here, outside the simulator
            from .layer_job import prepare_layer_job

            env["VERIFY_JOB"] = str(prepare_layer_job(self.params["layer"], self.params["b_w"], self.params["b_a"],
                                                      build_root() / "jobs", self.params.get("model", "resnet18")))
        return run_bench(built, f"verify.benches.{self.module}", testcases=list(self.tests) if self.tests else None,
                         env=env, tag=self.name)

    def verdict(self, result: RunResult) -> str | None:
        """None when the run did what it should; otherwise why not."""
        if self.fault is None:
            if not result.ok:
                return f"failed tests {result.failed}"
            bad = [r for r in result.records if r["vectors"] == 0 or r["mismatches"]]
            return f"records with no vectors or with mismatches: {bad}" if bad or not result.records else None
        caught = sum(r["mismatches"] for r in result.records)
        if result.ok or not caught:
            return f"fault {self.fault} was NOT detected (tests passed: {result.passed}, mismatches {caught})"
        return None


def _tiles(shape, repeats, k_cap, switches, pe_mode: str = "fixed", k_max: int = TILE_K_MAX, pairs: int = 0,
           **run) -> BenchRun:
    """top_tiles on an R×C design: `pairs` > 0 runs that many random width pairs instead of all of them; `run`:
    further BenchRun fields (lint, sims)."""
    r, c = shape
    params = {"repeats": repeats, "k_cap": k_cap, "switches": switches, **({"pairs": pairs} if pairs else {})}
    return BenchRun(f"tiles_{r}x{c}" + ("_fused" if pe_mode == "fused" else ""), "top", "top_tiles", shape, k_max,
                    params, pe_mode=pe_mode, **run)


def edge_shape_runs() -> list[BenchRun]:
    """Linted edge-shape designs with tiles (EDGE_TILE_SHAPES, every width pair, 8 width switches)."""
    return [_tiles(shape, 1, EDGE_K_MAX, 8, k_max=EDGE_K_MAX, lint=True) for shape in EDGE_TILE_SHAPES]


def largest_shape_runs() -> list[BenchRun]:
    """The linted largest array with one width pair and one width switch (3 tiles, K <= LARGEST_K_MAX); in make
    verify, and alone in make verify-largest."""
    return [_tiles(LARGEST_SHAPE, 1, LARGEST_K_MAX, 2, k_max=LARGEST_K_MAX, pairs=1, lint=True)]


def unit_vectors_on_top(shape=(3, 5), vectors: int = 200) -> BenchRun:
    """The output-unit bench's corner vectors plus `vectors` random ones, routed as tiles through the top's output
    units (verify/benches/top_unit_vectors.py), on the design the R×C tile bench builds."""
    return BenchRun(f"unit_vectors_{shape[0]}x{shape[1]}", "top", "top_unit_vectors", shape, TILE_K_MAX,
                    {"vectors": vectors})


def _corners(shape, pe_mode: str = "fixed", fault: str | None = None, tests: tuple[str, ...] | None = None,
             name: str | None = None, sims: tuple[str, ...] | None = None) -> BenchRun:
    """Corner tiles at the proven bounds + protocol rules (verify/benches/top_corners.py) on the tile design."""
    r, c = shape
    name = name or f"corners_{r}x{c}" + ("_fused" if pe_mode == "fused" else "")
    return BenchRun(name, "top", "top_corners", shape, TILE_K_MAX, fault=fault, pe_mode=pe_mode, tests=tests, sims=sims)


def _corners_largest_k(sims: tuple[str, ...] | None = None) -> BenchRun:
    """The corner tiles of (8, 8) at K = 4608, the largest layer's, on the conv-layer design: |acc| reaches
    2^7·255·4608 (≈ 2^27.2), the bound golden/bounds.py allows for any ResNet layer."""
    return BenchRun("corners_16x16_k4608", "top", "top_corners", (16, 16), LAYER_K_MAX, {"pairs": "8/8"},
                    tests=("corner_tiles",), sims=sims)


# corner runs whose Icarus share is long (big arrays, many tiles): Verilator in make verify, both in verify-corners
LONG_CORNERS = (((16, 16), "fixed"), ((1, 16), "fixed"), ((4, 8), "fused"))


def _corners_default(shape, pe_mode: str = "fixed") -> BenchRun:
    """make verify's corner run of a tile design: both simulators, or Verilator only for LONG_CORNERS."""
    return _corners(shape, pe_mode, sims=("verilator",) if (shape, pe_mode) in LONG_CORNERS else None)


def default_suite(model: str | None = None) -> list[BenchRun]:
    """make verify: every unit, random and corner tiles (+ protocol rules) on every shape (edge shapes 1×1, 1×16,
    16×1 and the largest, 64×64, included), conv layers (of the synthetic ResNet-18, or of the model file
    `model`: model_conv_runs), and the fault injections."""
    conv = [
        BenchRun("conv_layer", "top", "conv_layer", (16, 16), LAYER_K_MAX,
                 {"layer": "layer4.0.downsample", "b_w": 4, "b_a": 6}),
        BenchRun("conv_layer_stem", "top", "conv_layer", (16, 16), LAYER_K_MAX, {"layer": "conv1", "b_w": 8, "b_a": 8}),
        BenchRun("conv_layer_fused", "top", "conv_layer", (8, 8), FUSED_LAYER_K_MAX,
                 {"layer": "layer4.0.downsample", "b_w": 2, "b_a": 3}, pe_mode="fused"),
    ] if model is None else model_conv_runs(model)
    return [
        BenchRun("view_unit", "view_unit", "view_unit"),
        BenchRun("pe", "pe", "pe", params={"dots": 120}),
        BenchRun("output_unit", "output_unit", "output_unit", params={"vectors": 6000}),
        *[_tiles(shape, 1, TILE_K_MAX, 24) for shape in TILE_SHAPES],
        *[_tiles(shape, 1, TILE_K_MAX, 24, "fused") for shape in FUSED_TILE_SHAPES],
        *[_corners_default(shape) for shape in TILE_SHAPES],
        *[_corners_default(shape, "fused") for shape in FUSED_TILE_SHAPES],
        _corners_largest_k(sims=("verilator",)),
        *edge_shape_runs(),
        *largest_shape_runs(),
        unit_vectors_on_top(),
        *conv,
        *fault_runs(),
    ]


def model_conv_runs(model: str) -> list[BenchRun]:
    """The conv-layer benches on the layers verify.layer_job.model_layer_picks chooses from model file `model`
    (its golden run on one seeded synthetic image feeds them)."""
    from golden.session import resolve_model

    from .layer_job import model_layer_picks

    picks = model_layer_picks(resolve_model(model, 0), FUSED_LAYER_K_MAX)
    runs = [("conv_layer", "middle", (16, 16), LAYER_K_MAX, "fixed"),
            ("conv_layer_stem", "stem", (16, 16), LAYER_K_MAX, "fixed"),
            ("conv_layer_fused", "fused", (8, 8), FUSED_LAYER_K_MAX, "fused")]
    return [BenchRun(name, "top", "conv_layer", shape, k_max,
                     {"layer": picks[role][0], "b_w": picks[role][1], "b_a": picks[role][2], "model": model},
                     pe_mode=pe_mode) for name, role, shape, k_max, pe_mode in runs]


def fault_runs() -> list[BenchRun]:
    """Deliberate RTL faults each bench must catch."""
    return [
        BenchRun("fault_view_round", "view_unit", "view_unit", fault="drop_round_bit"),
        BenchRun("fault_requant_round", "output_unit", "output_unit", params={"vectors": 500},
                 fault="drop_requant_round"),
        _corners((4, 8), fault="narrow_acc", tests=("corner_tiles",), name="fault_narrow_acc"),
        *[_corners((3, 5), fault=f, tests=("corner_tiles",), name=f"fault_{f}") for f in ("acc_one_short", "align_one_short")],
        *[_corners((3, 5), fault=f, tests=("protocol_rules",), name=f"fault_{f}")
          for f in ("busy_stuck_0", "busy_stuck_1", "write_run_bank")],
        BenchRun("fault_lane_swap", "top", "top_tiles", (3, 5), TILE_K_MAX, {"k_cap": 16, "switches": 4},
                 fault="lane_swap", pe_mode="fused"),
    ]


def corner_suite() -> list[BenchRun]:
    """make verify-corners: every corner run on both simulators (make verify runs LONG_CORNERS and K = 4608 on
    Verilator only), and the fault pe_acc_short (PE accumulator one bit under the K_MAX bound: only the
    K = K_MAX extremes of (8, 8) exceed it)."""
    return [
        *[_corners(shape) for shape in TILE_SHAPES],
        *[_corners(shape, "fused") for shape in FUSED_TILE_SHAPES],
        _corners_largest_k(),
        _corners((3, 5), fault="pe_acc_short", tests=("corner_tiles",), name="fault_pe_acc_short"),
    ]


def short_suite() -> list[BenchRun]:
    """make test's share: quick versions on both simulators (a couple of minutes at most)."""
    return [
        BenchRun("view_unit", "view_unit", "view_unit"),
        BenchRun("output_unit", "output_unit", "output_unit", params={"vectors": 500}),
        BenchRun("pe", "pe", "pe", params={"dots": 20}),
        _tiles((3, 5), 1, 16, 6),
        _tiles((3, 5), 1, 16, 6, "fused"),
        _tiles((16, 1), 1, 8, 4, k_max=EDGE_K_MAX, lint=True),
        BenchRun("fault_view_round", "view_unit", "view_unit", fault="drop_round_bit"),
    ]
