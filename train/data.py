"""Datasets as float tensors (N, C, H, W) with int64 labels: scikit-learn's digits (bundled, the demo) and
CIFAR-10 from a user-given directory (official binary batches, or the python batches via the restricted
unpickler of train/safe_pickle.py; never plain pickle).

digits:  1,797 real 8×8 images, pixel p ∈ [0, 16] -> x = p/8 − 1 ∈ [−1, 1]; a fixed stratified 80/20
         train/test split (seed 0, 1,437 / 360 images).
CIFAR-10 binary: data_batch_1.bin … data_batch_5.bin, test_batch.bin; records of 1 label byte + 3,072 pixel
         bytes (1,024 R, 1,024 G, 1,024 B, row-major 32×32).
CIFAR-10 python: data_batch_1 … data_batch_5, test_batch; dicts {b"data": uint8 (n, 3072), b"labels": [int]}.
         x = (p/255 − mean_c) / std_c with the usual CIFAR-10 channel statistics.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .safe_pickle import safe_load

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0
CIFAR_SHAPE = (3, 32, 32)
CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_CLASSES = 10
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = ["test_batch"]
CIFAR_SUBDIRS = ("", "cifar-10-batches-bin", "cifar-10-batches-py")


@dataclass(frozen=True)
class Split:
    """images float32 (N, C, H, W), normalized; labels int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"images {tuple(self.images.shape)} / labels {tuple(self.labels.shape)} mismatch")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, n: int) -> Split:
        return Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])


def _split(images: np.ndarray, labels: np.ndarray) -> Split:
    return Split(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64)))


def load_digits() -> Dataset:
    """scikit-learn's bundled digits with the fixed split of the module docstring."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    images = (d.images.astype(np.float32) / 8.0 - 1.0)[:, None]
    x_tr, x_te, y_tr, y_te = train_test_split(images, d.target, test_size=DIGITS_TEST_FRACTION,
                                              random_state=DIGITS_SPLIT_SEED, stratify=d.target)
    return Dataset("digits", _split(x_tr, y_tr), _split(x_te, y_te), 10)


def _normalize_cifar(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (n, 3072) -> float32 (n, 3, 32, 32), x = (p/255 − mean_c) / std_c."""
    x = pixels.reshape(-1, *CIFAR_SHAPE).astype(np.float32) / 255.0
    mean = np.array(CIFAR_MEAN, np.float32)[:, None, None]
    std = np.array(CIFAR_STD, np.float32)[:, None, None]
    return torch.from_numpy((x - mean) / std)


def _check_labels(labels: np.ndarray, where: str) -> np.ndarray:
    bad = labels[(labels < 0) | (labels >= CIFAR_CLASSES)]
    if bad.size:
        raise ValueError(f"{where}: label {int(bad[0])} outside [0, {CIFAR_CLASSES - 1}]")
    return labels.astype(np.int64)


def read_cifar_binary(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pixels uint8 (n, 3072), labels int64 (n,)) of one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD:
        raise ValueError(f"{path}: size {raw.size} bytes is not a positive multiple of the {CIFAR_RECORD}-byte "
                         f"CIFAR-10 record")
    records = raw.reshape(-1, CIFAR_RECORD)
    return records[:, 1:], _check_labels(records[:, 0], str(path))


def read_cifar_python(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, labels) of one python-version batch, through the restricted unpickler."""
    batch = safe_load(path.read_bytes(), str(path))
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a dict batch, got {type(batch).__name__}")
    data, labels = batch.get(b"data", batch.get("data")), batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: field data must be a uint8 array of shape (n, 3072)")
    if not isinstance(labels, list) or len(labels) != data.shape[0] or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        raise ValueError(f"{path}: field labels must be a list of {data.shape[0]} ints")
    return data, _check_labels(np.array(labels), str(path))


def _read_split(directory: Path, names: list[str]) -> Split:
    pixels, labels = [], []
    for name in names:
        for sub in CIFAR_SUBDIRS:
            binary, python = directory / sub / f"{name}.bin", directory / sub / name
            if binary.is_file():
                p, y = read_cifar_binary(binary)
                break
            if python.is_file():
                p, y = read_cifar_python(python)
                break
        else:
            raise ValueError(f"CIFAR-10 directory {directory}: neither {name}.bin nor {name} found "
                             f"(looked in {', '.join(repr(s or '.') for s in CIFAR_SUBDIRS)})")
        pixels.append(p)
        labels.append(y)
    return Split(_normalize_cifar(np.concatenate(pixels)), torch.from_numpy(np.concatenate(labels)))


def load_cifar10(directory) -> Dataset:
    """CIFAR-10 train (5 batches) and test batch from `directory` (binary or python format)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"CIFAR-10 directory {str(directory)!r} does not exist")
    return Dataset("cifar10", _read_split(directory, CIFAR_TRAIN), _read_split(directory, CIFAR_TEST),
                   CIFAR_CLASSES)


def load_dataset(name: str, directory=None) -> Dataset:
    """A dataset by name: "digits" (bundled) or "cifar10" (needs `directory`)."""
    if name == "digits":
        return load_digits()
    if name == "cifar10":
        if directory is None:
            raise ValueError("dataset cifar10 needs --data DIR (the CIFAR-10 batch files)")
        return load_cifar10(directory)
    raise ValueError(f"unknown dataset {name!r}; known: digits, cifar10")
