"""Execution beyond one process: one map of `evaluate(context, item) -> result` over a list, run serially or on
Dask (dist/executor.py), resumable through a journal (dist/journal.py), with progress (golden/progress.py);
dataset evaluation on it (dist/evaluate.py). golden/ never imports this package."""
