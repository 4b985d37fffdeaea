"""The executor options shared by commands that run on dist/executor.py (`sweep`, `eval`)."""
import click

EXECUTOR_OPTIONS = (
    click.option("--workers", default=None, type=click.IntRange(min=1),
                 help="worker processes of a local Dask cluster (default: one per core; 1: serial, no Dask)"),
    click.option("--scheduler", default=None, metavar="ADDRESS",
                 help="join the Dask cluster of this scheduler (tcp://host:8786) instead of starting one"),
    click.option("--chunk-size", default=None, type=click.IntRange(min=1),
                 help="items per Dask task (default: about 4 tasks per worker, at most 256 items)"),
)


def executor_options(command):
    """Add --workers, --scheduler and --chunk-size (values go to dist.executor.ExecutorOptions)."""
    for option in reversed(EXECUTOR_OPTIONS):
        command = option(command)
    return command

