"""Options of every command that writes a run folder (--force) or reads user files (--limit), and the one way
such a command reports a library error: a one-line click error naming the option or file, never a traceback."""
from __future__ import annotations

import click

from golden.limits import Limits, parse_limits


def _limits(ctx, param, value) -> Limits:
    try:
        return parse_limits(value)
    except ValueError as e:
        raise click.BadParameter(str(e).removeprefix(f"--limit {value!r}: "), ctx=ctx, param=param) from None


force_option = click.option("--force", is_flag=True,
                            help="replace a non-empty --out that does not hold a previous run of this command")
limit_option = click.option("--limit", "limits", multiple=True, callback=_limits, metavar="NAME=VALUE",
                            help="raise a resource limit (golden/limits.py: max_layers, max_channels, "
                                 "max_tensor_elems, max_batch_elems, ...); repeatable")


def fail(error: BaseException) -> click.ClickException:
    """A click error of one line from a library error (ValueError / TypeError / OSError)."""
    if isinstance(error, OSError) and error.filename is not None:
        return click.ClickException(f"{error.filename}: {error.strerror or error}")
    return click.ClickException(" ".join(str(error).split("\n")))
