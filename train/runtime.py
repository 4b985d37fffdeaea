"""CPU budget of training jobs on a shared machine: at most MAX_THREADS threads per pool, and workers that sleep
(not spin) when they have no work.

Why: torch's OpenMP workers spin at the end of each parallel region by default (GNU OpenMP spins for a while
before it sleeps). On a 2-core machine that other jobs also load, a spinning worker steals the core the working
thread needs, and every barrier waits for a descheduled thread. Measured on the 2-core development machine with
three other CPU-bound processes: 2 float epochs of the digits net (640 images) took 19.6 s with torch's defaults,
2.1 s with passive waits (2 threads) and 1.8 s on one thread.

The process holds up to three pools: torch's OpenMP (its bundled libgomp), numba's "omp" threading layer (the
system libgomp) and OpenBLAS (numpy, scipy). They run one after another (training, then golden evaluation);
with passive waits an idle pool sleeps instead of competing with the active one, and OpenBLAS gets one thread.

`configure_threads` must run before torch (and numba) are imported, because both read these variables once at
import; the `train`, `import` and `train-bench` commands call it first. `limit_threads` caps torch's pools
afterwards (torch imported by then).
"""
import os

MAX_THREADS = 2

THREAD_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",     # OpenMP workers (torch's, numba's omp layer) sleep when idle
    "KMP_BLOCKTIME": "0",             # the same for an Intel OpenMP runtime (ms to spin before sleeping)
    "OMP_NUM_THREADS": str(MAX_THREADS),
    "MKL_NUM_THREADS": str(MAX_THREADS),
    "OPENBLAS_NUM_THREADS": "1",      # numpy/scipy BLAS: small calls here; OpenBLAS workers busy-wait
    "NUMBA_NUM_THREADS": str(MAX_THREADS),
}


def configure_threads() -> dict[str, str]:
    """Set every THREAD_ENV variable the user has not set (os.environ.setdefault); returns the values in effect.
    Call before importing torch or numba."""
    return {name: os.environ.setdefault(name, value) for name, value in THREAD_ENV.items()}


def limit_threads() -> None:
    """torch intra-op threads = min(MAX_THREADS, current); one inter-op thread (set once per process: torch
    refuses a change after its first parallel work, which is then left as it is)."""
    import torch

    torch.set_num_threads(min(MAX_THREADS, torch.get_num_threads()))
    if torch.get_num_interop_threads() != 1:
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already started: the pool exists and stays idle (training runs no inter-op work)
