"""`RtlConfig`: the generator's frozen parameter object; every RTL width derives from it.

It wraps the same `ArrayConfig` (rows, cols, pe_mode) and `NestedSpec` (N, ACC_BITS, M_BITS, logit bits) that
golden/ and sim/ read, plus the two generator-only knobs: the operand-buffer depth K_MAX and an optional deliberate
fault. pe_mode "fused" builds the precision-scalable PE of docs/sim.md ("PE modes"): widths N, N/2, N/4, ... >= 2
(sim.precision.fusion_widths), a b-bit view runs at the smallest of them >= b, a PE forms (N/w_w)·(N/w_a)
products per cycle on its N-bit operand ports and holds one accumulator per product lane.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from golden.spec import MAX_SHIFT, NestedSpec
from sim.config import ArrayConfig
from sim.precision import fusion_widths
from sim.tile import os_tile_cycles

MAX_RTL_DIM = 64  # largest R or C the generator accepts
DEFAULT_K_MAX = 4608  # largest reduction of ResNet-18 CIFAR / ResNet-50 ImageNet: 512 channels · 3·3

FAULTS = {
    "drop_round_bit": "view units drop the round bit: view = sat(q >> k) (truncation instead of half-up)",
    "no_view_saturate": "view units skip saturation: a round-up past the b-bit maximum is not clipped",
    "narrow_acc": "PE accumulators are 2·N bits instead of ACC_BITS (sums wrap early)",
    "drop_requant_round": "output units drop the requant rounding term 2^(s-1) (flooring instead of half-up)",
    "no_align": "output units skip the align shift (acc' = acc at every width)",
    "lane_swap": "fused PEs swap weight lanes 0 and 1 (at one weight lane per port lane 0 then reads the idle lane 1, "
                 "which is 0)",
    "acc_one_short": "the accumulation path is ACC_BITS - 1 bits: PE accumulators, acc' and acc' + bias wrap one bit early",
    "pe_acc_short": "PE accumulators one bit narrower than the proven bound for K_MAX (RtlConfig.pe_acc_bound_bits)",
    "align_one_short": "the align shifter has one stage fewer: the shift amount loses its top bit (align_bits - 1 bits)",
    "busy_stuck_0": "the status output busy is stuck at 0",
    "busy_stuck_1": "the status output busy is stuck at 1",
    "write_run_bank": "buffer writes during a running tile go to the bank the tile reads instead of the load bank",
}
FUSED_FAULTS = ("lane_swap",)  # faults that exist only in the fused PE

# The output-mode table: name -> cfg_mode code of the OutputUnit (clamp ranges: `out_mode_range`). Recorded in
# manifest.json (config.out_modes: code and range per mode), from which verify/ reads it back.
OUT_MODES = {"relu": 0, "signed": 1, "logits": 2, "wide": 3}


def out_mode_range(mode: str, spec: NestedSpec) -> tuple[int, int] | None:
    """Clamp range of an output mode (docs/spec.md §1 output ranges): relu [0, 2^N-1], signed N-bit [-2^(N-1),
    2^(N-1)-1], logits signed logit_bits; wide (acc' + bias, no requant): None."""
    if mode not in OUT_MODES:
        raise ValueError(f"mode must be one of {', '.join(OUT_MODES)}, got {mode!r}")
    ranges = {"relu": spec.int_range(spec.n_bits, False), "signed": spec.int_range(spec.n_bits, True),
              "logits": spec.logit_range, "wide": None}
    return ranges[mode]


def bits_for(value: int) -> int:
    """Unsigned width that holds every integer in [0, value]: max(1, value.bit_length())."""
    return max(1, int(value).bit_length())


@dataclass(frozen=True)
class RtlConfig:
    """Generator parameters of the DQT array.

    array  ArrayConfig: rows R (= filters per tile), cols C (= output pixels per tile), spec (all widths)
    k_max  depth of the weight and activation buffers: the largest reduction length K of one tile
    fault  None, or one key of FAULTS (a deliberate bug for proving that the benches catch faults)
    """

    array: ArrayConfig = field(default_factory=ArrayConfig)
    k_max: int = DEFAULT_K_MAX
    fault: str | None = None

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            v = getattr(self.array, name)
            if not 1 <= v <= MAX_RTL_DIM:
                raise ValueError(f"{name} must be in [1, {MAX_RTL_DIM}] for the RTL generator, got {v}")
        if self.array.dataflow != "os":
            raise ValueError(f"dataflow must be 'os' for the RTL generator, got {self.array.dataflow!r}")
        if isinstance(self.k_max, bool) or not isinstance(self.k_max, int) or not 1 <= self.k_max <= 1 << 20:
            raise ValueError(f"k_max must be an int in [1, {1 << 20}], got {self.k_max!r}")
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)} (or None), got {self.fault!r}")
        if self.fault in FUSED_FAULTS and self.pe_mode != "fused":
            raise ValueError(f"fault {self.fault!r} needs pe_mode 'fused', got pe_mode {self.pe_mode!r}")
        if self.pe_mode == "fused" and len(self.fusion_widths) < 2:
            raise ValueError(f"pe_mode 'fused' needs N with N/2 >= 2 an integer (a second, narrower brick width), "
                             f"got N = {self.spec.n_bits}")

    # ---- shape ------------------------------------------------------------------------------------
    @property
    def spec(self) -> NestedSpec:
        return self.array.spec

    @property
    def rows(self) -> int:
        return self.array.rows

    @property
    def cols(self) -> int:
        return self.array.cols

    @property
    def pe_mode(self) -> str:
        return self.array.pe_mode

    # ---- fused (precision-scalable) PE -----------------------------------------------------------
    @property
    def fusion_widths(self) -> tuple[int, ...]:
        """Widths the PE runs at, ascending: N, N/2, N/4, ... >= 2 in fused mode, (N,) in fixed mode."""
        return fusion_widths(self.spec) if self.pe_mode == "fused" else (self.spec.n_bits,)

    @property
    def max_lanes(self) -> int:
        """Operands per N-bit port at the narrowest width: N / min(fusion_widths) (1 in fixed mode)."""
        return self.spec.n_bits // self.fusion_widths[0]

    @property
    def lane_mode_bits(self) -> int:
        """Width of a lane-mode index j (lanes = 2^j, j = log2(N / w))."""
        return bits_for(len(self.fusion_widths) - 1)

    # ---- derived widths ---------------------------------------------------------------------------
    @property
    def code_bits(self) -> int:
        """Master code width N (buffer lanes)."""
        return self.spec.n_bits

    @property
    def operand_bits(self) -> int:
        """Signed view / PE operand width N+1."""
        return self.spec.operand_bits

    @property
    def width_bits(self) -> int:
        """Width of the b_w / b_a config registers: holds N."""
        return bits_for(self.spec.n_bits)

    @property
    def view_shift_bits(self) -> int:
        """Width of a view shift k = N - b, 0 <= k <= N-2."""
        return bits_for(self.spec.n_bits - 2)

    @property
    def align_bits(self) -> int:
        """Width of the align shift (N-b_w)+(N-b_a) <= 2(N-2)."""
        return bits_for(self.spec.max_align_shift)

    @property
    def acc_bits(self) -> int:
        """PE accumulator width: ACC_BITS (faults: 2N narrow_acc, ACC_BITS - 1 acc_one_short,
        pe_acc_bound_bits - 1 pe_acc_short)."""
        narrowed = {"narrow_acc": 2 * self.spec.n_bits, "acc_one_short": self.spec.acc_bits - 1,
                    "pe_acc_short": self.pe_acc_bound_bits - 1}
        return narrowed.get(self.fault, self.spec.acc_bits)

    @property
    def pe_acc_bound_bits(self) -> int:
        """Signed bits that hold every tile accumulator at K <= K_MAX: |acc| <= V = 2^(N-1)·(2^N - 1)·K_MAX
        (weight view -2^(N-1) times the unsigned activation view 2^N - 1 is the largest |w·a|), so
        bits = bits_for(V - 1) + 1, at most ACC_BITS (docs/spec.md §1 bounds acc by ACC_BITS as well)."""
        n = self.spec.n_bits
        return min(self.spec.acc_bits, bits_for((1 << (n - 1)) * ((1 << n) - 1) * self.k_max - 1) + 1)

    @property
    def wide_bits(self) -> int:
        """Signed width of acc' + bias and of the residual term r: ACC_BITS (docs/spec.md §1 steps 2-3)."""
        return self.spec.acc_bits

    @property
    def m_bits(self) -> int:
        return self.spec.m_bits

    @property
    def shift_bits(self) -> int:
        """Width of the requant shift register s, 0 <= s <= MAX_SHIFT."""
        return bits_for(MAX_SHIFT)

    @property
    def requant_bits(self) -> int:
        """Signed width of x·m + r·m_r + 2^(s-1): ACC_BITS + M_BITS + 2.

        |x·m|, |r·m_r| < 2^(ACC+M-1) each, so the sum lies in (-2^(ACC+M), 2^(ACC+M)). The shift is saturated at
        s_sat = ACC+M+1 (see `requant_shift_max`), so the rounding term is at most 2^(ACC+M); the total fits
        ACC+M+2 signed bits. This is exact w.r.t. the golden 64-bit requant for every s in [0, MAX_SHIFT].
        """
        return self.wide_bits + self.m_bits + 2

    @property
    def requant_shift_max(self) -> int:
        """Saturated requant shift: min(MAX_SHIFT, ACC+M+1). For s >= ACC+M+1 every result is 0 (rounded), so
        clamping s there changes nothing: (t + 2^(s-1)) >> s = 0 for |t| < 2^(ACC+M)."""
        return min(MAX_SHIFT, self.wide_bits + self.m_bits + 1)

    @property
    def out_bits(self) -> int:
        """Signed output lane width: holds ReLU N-bit, signed N-bit, logits and the wide acc'+bias."""
        return max(self.wide_bits, self.spec.logit_bits, self.spec.n_bits + 1)

    @property
    def k_addr_bits(self) -> int:
        return bits_for(self.k_max - 1)

    @property
    def k_len_bits(self) -> int:
        return bits_for(self.k_max)

    @property
    def row_bits(self) -> int:
        return bits_for(self.rows - 1)

    @property
    def filter_rows(self) -> int:
        """Rows of the p / r buffers = filters of the widest logical tile: R · max_lanes."""
        return self.rows * self.max_lanes

    @property
    def filter_row_bits(self) -> int:
        return bits_for(self.filter_rows - 1)

    @property
    def max_tile_cycles(self) -> int:
        return os_tile_cycles(self.rows, self.cols, self.k_max, self.max_lanes ** 2)

    @property
    def cycle_bits(self) -> int:
        """Width of the tile cycle counter: holds os_tile_cycles(R, C, K_MAX, max_lanes²)."""
        return bits_for(self.max_tile_cycles)

    def out_range(self, mode: str) -> tuple[int, int] | None:
        """Clamp range of an output mode for this design's spec: `out_mode_range(mode, spec)`."""
        return out_mode_range(mode, self.spec)

    def to_dict(self) -> dict:
        """Configuration as recorded in manifest.json."""
        spec = self.spec
        return {
            "rows": self.rows, "cols": self.cols, "k_max": self.k_max, "fault": self.fault, "pe_mode": self.pe_mode,
            "fusion_widths": list(self.fusion_widths), "max_lanes": self.max_lanes,
            "n_bits": spec.n_bits, "acc_bits": spec.acc_bits, "pe_acc_bits": self.acc_bits,
            "m_bits": spec.m_bits, "logit_bits": spec.logit_bits, "candidates": list(spec.candidates),
            "operand_bits": self.operand_bits,
            "requant_bits": self.requant_bits, "requant_shift_max": self.requant_shift_max,
            "out_bits": self.out_bits, "cycle_bits": self.cycle_bits,
            "out_modes": {name: {"code": code, "range": _json_range(out_mode_range(name, spec))}
                          for name, code in OUT_MODES.items()},
        }


def _json_range(rng: tuple[int, int] | None) -> list[int] | None:
    return None if rng is None else list(rng)


# Constructor field (first word of a NestedSpec / ArrayConfig / RtlConfig ValueError) -> the CLI option that sets it
OPTION_OF_FIELD = {"rows": "--pe", "cols": "--pe", "n_bits": "--n-bits", "candidates": "--n-bits",
                   "acc_bits": "--acc-bits", "k_max": "--k-max", "fault": "--fault", "pe_mode": "--pe-mode"}


def config_from_options(pe: str, n_bits: int = 8, acc_bits: int = 32, k_max: int = DEFAULT_K_MAX,
                        fault: str | None = None, pe_mode: str = "fixed") -> RtlConfig:
    """Build an RtlConfig from CLI-style options; ValueError messages name the offending option.

    The constructors do the checking; their error ("<field> must ...") is re-raised as "<option>: <error>"
    through OPTION_OF_FIELD. Candidates are the even widths in [2, N] plus N itself.
    """
    from sim.config import parse_pe

    rows, cols = parse_pe(pe)
    try:
        spec = NestedSpec(n_bits=n_bits, acc_bits=acc_bits,
                          candidates=tuple(b for b in range(2, n_bits + 1) if b % 2 == 0 or b == n_bits))
        return RtlConfig(array=ArrayConfig(rows=rows, cols=cols, spec=spec, pe_mode=pe_mode), k_max=k_max,
                         fault=fault)
    except (TypeError, ValueError) as err:
        option = OPTION_OF_FIELD.get(str(err).split(" ", 1)[0])
        if option is None:
            raise
        raise ValueError(f"{option}: {err}") from err
