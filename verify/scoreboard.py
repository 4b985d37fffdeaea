"""Scoreboard: compares what the DUT produced with what the golden model expects, exactly.

Every compared value counts as one vector. The first `keep` mismatches are kept with their index, the
inputs that produced them, the expected and the got value, so a failure message says where to look.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Mismatch:
    index: tuple
    inputs: dict
    expected: int
    got: int

    def __str__(self) -> str:
        ins = ", ".join(f"{k}={v}" for k, v in self.inputs.items())
        return f"at {self.index}: expected {self.expected}, got {self.got} ({ins})"


@dataclass
class Scoreboard:
    """Counts vectors and mismatches of one bench; keeps the first `keep` mismatches."""

    bench: str
    keep: int = 8
    vectors: int = 0
    mismatches: int = 0
    first: list[Mismatch] = field(default_factory=list)

    def check(self, index, inputs: dict, expected: int, got: int) -> bool:
        """Compare one value; True when equal."""
        self.vectors += 1
        if int(expected) == int(got):
            return True
        self._miss(Mismatch(tuple(index) if isinstance(index, (tuple, list)) else (index,), dict(inputs),
                            int(expected), int(got)))
        return False

    def check_array(self, index, inputs: dict, expected: np.ndarray, got: np.ndarray) -> bool:
        """Compare two integer arrays element by element (np.array_equal semantics); True when equal.

        Mismatches are indexed as `index` + the element's position in the array.
        """
        expected, got = np.asarray(expected), np.asarray(got)
        if expected.shape != got.shape:
            raise ValueError(f"{self.bench}: expected shape {expected.shape} but the DUT gave {got.shape}")
        self.vectors += expected.size
        if np.array_equal(expected, got):
            return True
        prefix = tuple(index) if isinstance(index, (tuple, list)) else (index,)
        for pos in zip(*np.nonzero(expected != got)):
            self._miss(Mismatch(prefix + tuple(int(p) for p in pos), dict(inputs), int(expected[pos]), int(got[pos])))
        return False

    def _miss(self, m: Mismatch) -> None:
        self.mismatches += 1
        if len(self.first) < self.keep:
            self.first.append(m)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.vectors > 0

    def report(self) -> str:
        head = f"{self.bench}: {self.vectors} vectors, {self.mismatches} mismatches"
        return "\n".join([head] + [f"  {m}" for m in self.first])

    def assert_clean(self) -> None:
        """Raise AssertionError (failing the cocotb test) on any mismatch or when nothing was compared."""
        if self.vectors == 0:
            raise AssertionError(f"{self.bench}: no vectors were compared")
        if self.mismatches:
            raise AssertionError(self.report())
