"""One execution layer: `map_items(evaluate, items, context=...)` returns `[evaluate(context, item) for item in
items]`, in order, computed either

- serially in this process (`ExecutorOptions(workers=1)`: no Dask imported at all), or
- on Dask (`dask.distributed`): a `LocalCluster` of `workers` processes with one thread each (default: one per
  core), or an existing cluster (`scheduler="tcp://host:8786"`).

Items go to tasks in chunks of `chunk_size` (default: about four chunks per worker, at most MAX_CHUNK items),
so per-task overhead does not dominate a millisecond evaluation; a serial map goes in about SERIAL_STEPS
chunks (its progress and journal steps). Results come back in item order whichever
path ran them, so files written from them are identical byte for byte.

With `journal` (dist/journal.py) and one stable key per item, every finished chunk is appended to the journal
by this process (the only writer) and a re-run skips the items whose keys are already there.

Worker death: Dask reschedules the chunks a dead worker held (up to its `allowed-failures`, default 3, per
chunk); a chunk's result is accepted once, from the one future that finished it, so nothing is lost or
counted twice. `context` is broadcast once to every worker (`scatter`); tasks hold the chunk's items.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .journal import Journal

MAX_CHUNK = 256
CHUNKS_PER_WORKER = 4
SERIAL_STEPS = 100
# Dask settings of the LocalCluster a map starts: its monitors wake less often (event-loop tick 20 ms -> 1 s,
# system and memory monitors -> 2 s / 1 s, no statistical profiler): on the loaded 2-core machine a sweep's CPU
# per configuration went from about 2.0 to 1.7 ms (docs/distributed.md); they only feed the dashboard and
# the memory limits.
BATCH_CONFIG = {
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
}

Evaluate = Callable[[object, object], object]
Progress = Callable[[int, int], None]


def machine_workers() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _positive_int_or_none(value, option: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{option} must be an int >= 1, got {value!r}")


@dataclass(frozen=True)
class ExecutorOptions:
    """Where a map runs. workers: None = one per core, 1 = serial (no Dask); scheduler: address of an
    existing Dask scheduler (then workers is the cluster's business and must stay None); chunk_size: items
    per task (None: `default_chunk_size`)."""

    workers: int | None = None
    scheduler: str | None = None
    chunk_size: int | None = None

    def __post_init__(self) -> None:
        _positive_int_or_none(self.workers, "--workers")
        _positive_int_or_none(self.chunk_size, "--chunk-size")
        if self.scheduler is not None:
            if not isinstance(self.scheduler, str) or not self.scheduler.strip():
                raise ValueError(f"--scheduler must be an address such as tcp://host:8786, got {self.scheduler!r}")
            if self.workers is not None:
                raise ValueError(f"--workers {self.workers} and --scheduler {self.scheduler}: give one of them "
                                 "(a scheduler's cluster has its own workers)")

    @property
    def serial(self) -> bool:
        return self.scheduler is None and self.workers == 1

    def describe(self) -> str:
        if self.serial:
            return "serial (1 process, no Dask)"
        if self.scheduler is not None:
            return f"Dask scheduler {self.scheduler}"
        return f"Dask LocalCluster, {self.workers or machine_workers()} worker processes x 1 thread"


SERIAL = ExecutorOptions(workers=1)


def default_chunk_size(items: int, workers: int) -> int:
    """ceil(items / (CHUNKS_PER_WORKER · workers)), clipped to [1, MAX_CHUNK]."""
    return max(1, min(MAX_CHUNK, math.ceil(items / (CHUNKS_PER_WORKER * max(workers, 1)))))


def serial_chunk_size(items: int) -> int:
    """ceil(items / SERIAL_STEPS), clipped to [1, MAX_CHUNK]: a serial map reports progress and journals
    about SERIAL_STEPS times."""
    return max(1, min(MAX_CHUNK, math.ceil(items / SERIAL_STEPS)))


def evaluate_chunk(evaluate: Evaluate, context, chunk: Sequence) -> list:
    """One task: `evaluate(context, item)` for each item of the chunk, in order."""
    return [evaluate(context, item) for item in chunk]


@contextmanager
def dask_client(options: ExecutorOptions) -> Iterator:
    """A `dask.distributed.Client` on a new LocalCluster (closed on exit) or on `options.scheduler`."""
    from dask.distributed import Client, LocalCluster

    if options.scheduler is not None:
        try:
            client = Client(options.scheduler, timeout="20s")
        except OSError as e:
            raise ValueError(f"--scheduler {options.scheduler}: cannot connect ({e})") from e
        with client:
            yield client
        return
    import dask

    with dask.config.set(BATCH_CONFIG), \
            LocalCluster(n_workers=options.workers or machine_workers(), threads_per_worker=1, processes=True,
                         dashboard_address=":0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def map_items(evaluate: Evaluate, items: Sequence, *, context=None, options: ExecutorOptions = SERIAL,
              keys: Sequence[str] | None = None, journal: Journal | None = None,
              progress: Progress | None = None) -> list:
    """[evaluate(context, item) for item in items] on `options`' executor, in item order (module docstring).
    `evaluate` must be importable by name on the workers (a module-level function or a functools.partial of
    one). With `journal`, `keys` (one per item) name the items; journaled items are not evaluated again."""
    if not isinstance(options, ExecutorOptions):
        raise TypeError(f"options must be an ExecutorOptions, got {type(options).__name__}")
    items = list(items)
    results = [None] * len(items)
    if journal is not None and (keys is None or len(keys) != len(items)):
        raise ValueError(f"journal {journal.path}: need one key per item ({len(items)}), got "
                         f"{'none' if keys is None else len(keys)}")
    done = journal.load() if journal is not None else {}
    todo = []
    for i in range(len(items)):
        if journal is not None and keys[i] in done:
            results[i] = done[keys[i]]
        else:
            todo.append(i)
    finished = len(items) - len(todo)
    if progress:
        progress(finished, len(items))

    def accept(indices: list[int], values: list) -> None:
        nonlocal finished
        for i, value in zip(indices, values, strict=True):
            results[i] = value
        if journal is not None:
            journal.append((keys[i], results[i]) for i in indices)
        finished += len(indices)
        if progress:
            progress(finished, len(items))

    if not todo:
        return results
    if options.serial:
        size = options.chunk_size or serial_chunk_size(len(todo))
        for start in range(0, len(todo), size):
            indices = todo[start:start + size]
            accept(indices, evaluate_chunk(evaluate, context, [items[i] for i in indices]))
        return results
    with dask_client(options) as client:
        from dask.distributed import as_completed

        workers = sum(client.nthreads().values()) or 1
        size = options.chunk_size or default_chunk_size(len(todo), workers)
        [shared] = client.scatter([context], broadcast=True, hash=False)
        chunks = {}
        for start in range(0, len(todo), size):
            indices = todo[start:start + size]
            chunks[client.submit(evaluate_chunk, evaluate, shared, [items[i] for i in indices], pure=False)] = indices
        for future, values in as_completed(list(chunks), with_results=True):
            accept(chunks.pop(future), values)
    return results
