"""`NestedSpec`: the one frozen object holding every width of the nested-integer arithmetic.

golden/, sim/, rtl/ and verify/ all read widths from here; no width is a literal elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_SHIFT = 62  # requant shift s satisfies 0 <= s <= MAX_SHIFT (docs/spec.md §1, 64-bit requant)
REQUANT_BITS = 64  # requant's internal width


def _check_int(field: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int, got {value!r} ({type(value).__name__})")
    if not lo <= value <= hi:
        raise ValueError(f"{field} must be in [{lo}, {hi}], got {value}")


@dataclass(frozen=True)
class NestedSpec:
    """Widths of the nested-integer arithmetic.

    n_bits      master width N of every weight and activation code (views are b <= N bits)
    acc_bits    signed accumulator width ACC_BITS (conv sum, aligned sum and bias add must fit)
    m_bits      width of the unsigned requant multipliers m and m_r
    logit_bits  signed width of classifier / controller logits
    candidates  widths the controller chooses from, sorted ascending, each in [2, N]
    """

    n_bits: int = 8
    acc_bits: int = 32
    m_bits: int = 16
    logit_bits: int = 16
    candidates: tuple[int, ...] = (2, 4, 6, 8)

    def __post_init__(self) -> None:
        _check_int("n_bits", self.n_bits, 2, 16)
        _check_int("acc_bits", self.acc_bits, 2 * self.n_bits + 2, 48)
        _check_int("m_bits", self.m_bits, 1, 31)
        _check_int("logit_bits", self.logit_bits, 2, 32)
        if not isinstance(self.candidates, tuple) or not self.candidates:
            raise TypeError(f"candidates must be a non-empty tuple of ints, got {self.candidates!r}")
        for b in self.candidates:
            self.check_width(b, "candidates")
        if list(self.candidates) != sorted(set(self.candidates)):
            raise ValueError(f"candidates must be strictly ascending, got {self.candidates}")

    # ---- derived widths -------------------------------------------------------------------------
    @property
    def operand_bits(self) -> int:
        """Signed PE operand width: N+1 bits hold every signed or unsigned view of an N-bit code."""
        return self.n_bits + 1

    @property
    def max_align_shift(self) -> int:
        """Largest align shift (N-b_w)+(N-b_a) with b >= 2: 2(N-2)."""
        return 2 * (self.n_bits - 2)

    def check_width(self, b, field: str = "width") -> int:
        """Validate a view width b: an int with 2 <= b <= N. Returns b."""
        _check_int(field, b, 2, self.n_bits)
        return b

    # ---- integer ranges -------------------------------------------------------------------------
    @staticmethod
    def int_range(bits: int, signed: bool) -> tuple[int, int]:
        """[lo, hi] of a `bits`-bit integer: signed [-2^(bits-1), 2^(bits-1)-1], unsigned [0, 2^bits-1]."""
        if signed:
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return 0, (1 << bits) - 1

    def code_range(self, signed: bool, bits: int | None = None) -> tuple[int, int]:
        """Range of a code at width `bits` (default the master width N)."""
        return self.int_range(self.n_bits if bits is None else self.check_width(bits, "bits"), signed)

    @property
    def acc_range(self) -> tuple[int, int]:
        return self.int_range(self.acc_bits, True)

    @property
    def m_max(self) -> int:
        return (1 << self.m_bits) - 1

    @property
    def logit_range(self) -> tuple[int, int]:
        return self.int_range(self.logit_bits, True)


DEFAULT_SPEC = NestedSpec()
