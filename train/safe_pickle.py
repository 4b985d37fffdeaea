"""A restricted unpickler for data files (CIFAR-10 "python version" batches): plain containers and numpy
arrays only.

Plain containers (dict, list, tuple, str, bytes, int, float, bool, None) are built by pickle opcodes without
importing anything; the only globals a numpy array's pickle needs are allowed, nothing else. Anything else
(os.system, builtins.eval, any class) is refused with a ValueError naming the global, before it is called.
numpy.ndarray is handed out only as the type argument of `_reconstruct`, never as a callable: a direct call
ndarray(shape, object, buffer) would build an object array whose element pointers are raw pickle bytes.
Object-dtype arrays are refused too (their elements would be arbitrary pickled objects).
"""
from __future__ import annotations

import io
import pickle

import numpy as np

ALLOWED_GLOBALS = frozenset({
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),       # protocol 5 out-of-band-capable array pickles
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),                       # bytes objects pickled by Python 3 at protocol <= 2
})
RECONSTRUCT_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),   # numpy < 2 and Python 2 pickles (the official CIFAR files)
    ("numpy._core.multiarray", "_reconstruct"),  # numpy >= 2
})
NDARRAY_GLOBAL = ("numpy", "ndarray")
_NUMPY_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's own _reconstruct, whatever its module


class UnsafePickleError(ValueError):
    """The pickle asks for a global outside ALLOWED_GLOBALS, calls numpy.ndarray, or holds an object array."""


class _NdarrayType:
    """numpy.ndarray as the pickle sees it: accepted by `_reconstruct`, refused when called."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError("pickle calls numpy.ndarray directly (only _reconstruct may build arrays)")


_NDARRAY = _NdarrayType()


def _reconstruct(subtype, shape, dtype):
    """numpy's _reconstruct(ndarray, shape, dtype) for plain ndarrays: an array whose data the next BUILD
    opcode sets through ndarray.__setstate__ (which checks the data against the dtype)."""
    if subtype is not _NDARRAY:
        raise UnsafePickleError(f"_reconstruct of {subtype!r}: only numpy.ndarray is allowed")
    return _NUMPY_RECONSTRUCT(np.ndarray, shape, dtype)


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in RECONSTRUCT_GLOBALS:
            return _reconstruct
        if (module, name) == NDARRAY_GLOBAL:
            return _NDARRAY
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"pickle global {module}.{name} is not allowed (only plain containers and "
                                    f"numpy arrays may be loaded)")
        return super().find_class(module, name)


def _check_no_objects(obj, where: str) -> None:
    """Refuse object-dtype arrays anywhere in nested dicts / lists / tuples (iterative: a pickle can build
    self-referencing or arbitrarily deep containers)."""
    stack, seen = [(obj, where)], set()
    while stack:
        obj, where = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise UnsafePickleError(f"{where}: object-dtype numpy arrays are not allowed")
        elif isinstance(obj, dict):
            stack.extend((v, f"{where}[{k!r}]") for k, v in obj.items())
        elif isinstance(obj, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(obj))


def safe_load(data: bytes, where: str = "pickle"):
    """Unpickle `data` with the restricted unpickler (bytes keys and strings of Python 2 pickles stay bytes,
    as the CIFAR-10 documentation's `encoding='bytes'`)."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{where}: {e}") from e
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, ImportError) as e:
        raise ValueError(f"{where}: not a readable pickle ({type(e).__name__}: {e})") from e
    _check_no_objects(obj, where)
    return obj
