"""train/data.py and safe_pickle.py: digits split, CIFAR-10 binary and python batches, malicious pickles."""
import os
import pickle
import struct

import numpy as np
import pytest

from train.data import CIFAR_TEST, CIFAR_TRAIN, load_cifar10, load_dataset, load_digits, read_cifar_binary
from train.safe_pickle import UnsafePickleError, safe_load


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n)


def _write_binary(directory, n=3):
    batches = {}
    for i, name in enumerate(CIFAR_TRAIN + CIFAR_TEST):
        pixels, labels = _batch(n, i)
        records = np.concatenate([labels.astype(np.uint8)[:, None], pixels], axis=1)
        records.tofile(directory / f"{name}.bin")
        batches[name] = (pixels, labels)
    return batches


def _write_python(directory, n=3):
    batches = {}
    for i, name in enumerate(CIFAR_TRAIN + CIFAR_TEST):
        pixels, labels = _batch(n, i)
        with open(directory / name, "wb") as f:
            pickle.dump({b"batch_label": b"tiny", b"labels": [int(v) for v in labels], b"data": pixels}, f, protocol=2)
        batches[name] = (pixels, labels)
    return batches


def test_digits_split_is_fixed_and_normalized():
    d = load_digits()
    assert (len(d.train), len(d.test)) == (1437, 360)
    assert d.input_shape == (1, 8, 8)
    assert float(d.train.images.min()) == -1.0 and float(d.train.images.max()) == 1.0
    assert np.array_equal(load_digits().test.labels.numpy(), d.test.labels.numpy())
    assert sorted(set(d.test.labels.tolist())) == list(range(10))


@pytest.mark.parametrize("writer", [_write_binary, _write_python])
def test_cifar_formats_load_the_same_pixels(tmp_path, writer):
    batches = writer(tmp_path)
    ds = load_cifar10(tmp_path)
    assert (len(ds.train), len(ds.test), ds.input_shape) == (15, 3, (3, 32, 32))
    pixels, labels = batches["test_batch"]
    assert np.array_equal(ds.test.labels.numpy(), labels)
    # channel 0 of image 1 pixel (0, 5) is byte 5 of its record (R plane first, row-major)
    expected = (pixels[1, 5] / 255.0 - 0.4914) / 0.2470
    assert float(ds.test.images[1, 0, 0, 5]) == pytest.approx(expected, rel=1e-5)


def test_binary_and_python_batches_agree(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "p").mkdir()
    _write_binary(tmp_path / "b")
    _write_python(tmp_path / "p")
    a, b = load_cifar10(tmp_path / "b"), load_cifar10(tmp_path / "p")
    assert np.array_equal(a.train.images.numpy(), b.train.images.numpy())
    assert np.array_equal(a.train.labels.numpy(), b.train.labels.numpy())


def test_truncated_binary_batch_is_refused(tmp_path):
    (tmp_path / "data_batch_1.bin").write_bytes(b"\x01" * 3000)
    with pytest.raises(ValueError, match="3073-byte"):
        read_cifar_binary(tmp_path / "data_batch_1.bin")


def test_out_of_range_labels_are_named(tmp_path):
    _write_python(tmp_path)
    pixels, _ = _batch(2, 0)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"labels": [-1, 3], b"data": pixels}, f, protocol=2)
    with pytest.raises(ValueError, match=r"test_batch: label -1 outside \[0, 9\]"):
        load_cifar10(tmp_path)
    (tmp_path / "data_batch_2.bin").write_bytes(bytes([10]) + bytes(3072))
    with pytest.raises(ValueError, match=r"data_batch_2.bin: label 10 outside"):
        load_cifar10(tmp_path)


def test_missing_batch_names_it(tmp_path):
    with pytest.raises(ValueError, match="data_batch_1"):
        load_cifar10(tmp_path)
    with pytest.raises(ValueError, match="--data"):
        load_dataset("cifar10", None)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_malicious_pickle_is_refused_before_anything_runs(tmp_path):
    data = pickle.dumps({b"data": _Evil(), b"labels": [1]}, protocol=2)
    with pytest.raises(UnsafePickleError, match="system"):
        safe_load(data)
    _write_python(tmp_path)
    (tmp_path / "data_batch_3").write_bytes(data)
    with pytest.raises(UnsafePickleError, match="not allowed"):
        load_cifar10(tmp_path)


def test_builtins_eval_and_object_arrays_are_refused():
    class EvalReduce:
        def __reduce__(self):
            return (eval, ("1+1",))
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        safe_load(pickle.dumps(EvalReduce()))
    with pytest.raises(UnsafePickleError, match="object-dtype"):
        safe_load(pickle.dumps(np.array([1, "a"], dtype=object)))


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def test_direct_ndarray_call_cannot_forge_object_pointers():
    """ndarray((1,), dtype("O8"), bytearray(b"AAAAAAAA")) would be an object array whose element is the pointer
    0x4141414141414141; the SETITEM after it would decref that address (a segfault before the fix)."""
    object_dtype = _global("numpy", "dtype") + b"X\x02\x00\x00\x00O8\x89\x88\x87R"   # dtype("O8", False, True)
    writable = b"\x96" + struct.pack("<Q", 8) + b"AAAAAAAA"                          # BYTEARRAY8
    forged = _global("numpy", "ndarray") + b"K\x01\x85" + object_dtype + writable + b"\x87R"
    with pytest.raises(UnsafePickleError, match="numpy.ndarray directly"):
        safe_load(b"\x80\x05" + forged + b"K\x00K\x01s.")                           # forged[0] = 1


def test_self_referencing_and_deep_containers_load():
    loop = []
    loop.append(loop)
    back = safe_load(pickle.dumps({b"a": loop, b"x": np.arange(2)}))
    assert back[b"a"][0] is back[b"a"]
    deep = b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."                    # 100,000 nested lists
    assert isinstance(safe_load(deep), list)


def test_plain_containers_and_arrays_round_trip():
    obj = {b"k": [1, 2.5, "s", None, (True, b"x")], "a": np.arange(6, dtype=np.int16).reshape(2, 3)}
    for protocol in (2, 4, 5):
        back = safe_load(pickle.dumps(obj, protocol=protocol))
        assert back[b"k"] == obj[b"k"] and np.array_equal(back["a"], obj["a"])
