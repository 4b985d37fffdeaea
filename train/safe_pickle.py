"""A restricted unpickler for data files (CIFAR-10 "python version" batches): plain containers and numpy
arrays only.

Plain containers (dict, list, tuple, str, bytes, int, float, bool, None) are built by pickle opcodes without
importing anything; the only globals a numpy array's pickle needs are allowed, nothing else. Anything else
(os.system, builtins.eval, any class) is refused with a ValueError naming the global, before it is called.
Object-dtype arrays are refused too (their elements would be arbitrary pickled objects).
"""
from __future__ import annotations

import io
import pickle

import numpy as np

ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),   # numpy < 2 and Python 2 pickles (the official CIFAR files)
    ("numpy._core.multiarray", "_reconstruct"),  # numpy >= 2
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),       # protocol 5 out-of-band-capable array pickles
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),                       # bytes objects pickled by Python 3 at protocol <= 2
})


class UnsafePickleError(ValueError):
    """The pickle asks for a global outside ALLOWED_GLOBALS, or holds an object array."""


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"pickle global {module}.{name} is not allowed (only plain containers and "
                                    f"numpy arrays may be loaded)")
        return super().find_class(module, name)


def _check_no_objects(obj, where: str) -> None:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise UnsafePickleError(f"{where}: object-dtype numpy arrays are not allowed")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_no_objects(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_no_objects(v, f"{where}[{i}]")


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
