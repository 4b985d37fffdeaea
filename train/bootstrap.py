"""95 % percentile-bootstrap confidence intervals of test accuracy, and of paired accuracy differences.

Resample the test images with replacement R times (one seeded index matrix shared by every model, so that
differences are paired: the same resampled images for both models) and take the 2.5th and 97.5th percentiles
of the resampled accuracy (%) or accuracy difference (points).
"""
from __future__ import annotations

import numpy as np

RESAMPLES = 2000
LEVEL = 95.0


def resample_index(n: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, n) image indices drawn uniformly with replacement."""
    if n < 1 or resamples < 1:
        raise ValueError(f"need n >= 1 and resamples >= 1, got n={n}, resamples={resamples}")
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def accuracy_ci(correct: np.ndarray, index: np.ndarray) -> tuple[float, float]:
    """(low, high) percentile CI of 100·mean(correct) over the resamples `index`."""
    acc = 100.0 * np.asarray(correct, dtype=np.float64)[index].mean(axis=1)
    tail = (100.0 - LEVEL) / 2
    return float(np.percentile(acc, tail)), float(np.percentile(acc, 100.0 - tail))


def difference_ci(correct_a: np.ndarray, correct_b: np.ndarray, index: np.ndarray) -> tuple[float, float]:
    """(low, high) percentile CI of accuracy(a) − accuracy(b) in points, paired over the same resamples."""
    diff = np.asarray(correct_a, dtype=np.float64) - np.asarray(correct_b, dtype=np.float64)
    return accuracy_ci(diff, index)
