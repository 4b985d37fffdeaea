"""The graded-difficulty digits benchmark ("graded digits"): scikit-learn's bundled digits, upsampled to 16×16,
each image drawn several times with a seeded corruption of graded strength. Built by code, no download.

Construction (all seeds fixed; `build_graded` is deterministic):

1. Base images: the 1,797 digits, x = p/8 − 1 ∈ [−1, 1], bilinearly upsampled 8×8 → 16×16
   (torch `interpolate`, align_corners=False).
2. Splits of the *base* images, stratified by class (seed 0): 60 % train, 15 % validation, 25 % test
   (1,077 / 270 / 450). All draws of one digit stay in one split, so no test digit is seen in training.
3. Draws: each base image is drawn DRAWS[split] times (train 4, validation 3, test 3: 4,308 / 810 / 1,350
   images). Draw j of base image i gets its own generator `numpy.random.default_rng((seed, split, i, j))`,
   which picks a corruption kind (uniform over KINDS) and a severity level (uniform over 0..LEVELS; level 0 is
   the clean image) and the corruption's random parameters. Strength s = level / LEVELS ∈ [0, 1].
4. Corruptions at strength s (16×16 pixels), result clipped to [−1, 1]:
       noise       x + N(0, (0.9·s)²) i.i.d. per pixel
       blur        Gaussian filter, σ = 1.6·s pixels (scipy.ndimage.gaussian_filter, mode "nearest")
       occlusion   a square of side round(11·s) at a uniform position set to 0 (mid-grey)
       contrast    −1 + (x + 1)·(1 − 0.85·s): ink fades towards the background
       rotation    ±45·s degrees (sign random), bilinear, background −1 outside
   Strength is the one difficulty axis: the accuracy of every model falls as the level rises (results.csv of
   `cli.py train-bench` lists accuracy per level).

Test split: 1,350 images, one image = 0.074 points (≥ 10 images per accuracy point). Tune on validation only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import Dataset, Split

SIZE = 16
KINDS = ("noise", "blur", "occlusion", "contrast", "rotation")
LEVELS = 5
SPLITS = ("train", "val", "test")
FRACTIONS = {"train": 0.60, "val": 0.15, "test": 0.25}
DRAWS = {"train": 4, "val": 3, "test": 3}
SPLIT_SEED = 0


@dataclass(frozen=True)
class GradedSplit:
    """Images and labels plus, per image, the corruption kind (index into KINDS), the severity level 0..LEVELS
    and the base digit's index in scikit-learn's order."""

    split: Split
    kind: np.ndarray
    level: np.ndarray
    base: np.ndarray

    def __len__(self) -> int:
        return len(self.split)

    @property
    def strength(self) -> np.ndarray:
        return self.level / LEVELS


@dataclass(frozen=True)
class GradedBench:
    train: GradedSplit
    val: GradedSplit
    test: GradedSplit

    def dataset(self) -> Dataset:
        """The train and test splits as a `Dataset` (named "graded")."""
        return Dataset("graded", self.train.split, self.test.split, 10)


def upsample(images: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Bilinear resize (N, 1, h, w) float32 -> (N, 1, size, size) (align_corners=False)."""
    t = torch.nn.functional.interpolate(torch.from_numpy(images), size=(size, size), mode="bilinear",
                                        align_corners=False)
    return t.numpy()


def corrupt(x: np.ndarray, kind: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    """One corruption of the module docstring on one (H, W) image in [−1, 1]; strength 0 returns x unchanged."""
    from scipy import ndimage

    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if strength == 0.0:
        return x.copy()
    if kind == "noise":
        y = x + rng.normal(0.0, 0.9 * strength, x.shape)
    elif kind == "blur":
        y = ndimage.gaussian_filter(x, 1.6 * strength, mode="nearest")
    elif kind == "occlusion":
        side = max(1, round(11 * strength))
        r, c = rng.integers(0, x.shape[0] - side + 1), rng.integers(0, x.shape[1] - side + 1)
        y = x.copy()
        y[r:r + side, c:c + side] = 0.0
    elif kind == "contrast":
        y = -1.0 + (x + 1.0) * (1.0 - 0.85 * strength)
    elif kind == "rotation":
        angle = 45.0 * strength * (1 if rng.random() < 0.5 else -1)
        y = ndimage.rotate(x, angle, reshape=False, order=1, mode="constant", cval=-1.0)
    else:
        raise ValueError(f"unknown corruption kind {kind!r}; known: {', '.join(KINDS)}")
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def _draw(images: np.ndarray, labels: np.ndarray, base: np.ndarray, split_index: int, draws: int,
          seed: int) -> GradedSplit:
    out, kinds, levels, bases, ys = [], [], [], [], []
    for i, (x, y, b) in enumerate(zip(images, labels, base)):
        for j in range(draws):
            rng = np.random.default_rng((seed, split_index, int(b), j))
            kind, level = int(rng.integers(len(KINDS))), int(rng.integers(LEVELS + 1))
            out.append(corrupt(x[0], KINDS[kind], level / LEVELS, rng)[None])
            kinds.append(kind)
            levels.append(level)
            bases.append(b)
            ys.append(y)
    split = Split(torch.from_numpy(np.stack(out).astype(np.float32)), torch.tensor(ys, dtype=torch.int64))
    return GradedSplit(split, np.array(kinds), np.array(levels), np.array(bases))


def build_graded(seed: int = 0, draws: dict[str, int] | None = None) -> GradedBench:
    """The benchmark of the module docstring (`draws` overrides DRAWS per split, e.g. for quick tests)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    draws = {**DRAWS, **(draws or {})}
    for name, n in draws.items():
        if name not in DRAWS or n < 1:
            raise ValueError(f"draws: need splits {SPLITS} with counts >= 1, got {name}={n}")
    d = load_digits()
    images = upsample((d.images.astype(np.float32) / 8.0 - 1.0)[:, None])
    index = np.arange(len(images))
    rest, test = train_test_split(index, test_size=FRACTIONS["test"], random_state=SPLIT_SEED, stratify=d.target)
    val_share = FRACTIONS["val"] / (FRACTIONS["train"] + FRACTIONS["val"])
    train, val = train_test_split(rest, test_size=val_share, random_state=SPLIT_SEED, stratify=d.target[rest])
    parts = {name: _draw(images[idx], d.target[idx], idx, k, draws[name], seed)
             for k, (name, idx) in enumerate(zip(SPLITS, (np.sort(train), np.sort(val), np.sort(test))))}
    return GradedBench(**parts)
