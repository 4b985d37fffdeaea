"""Click commands, one module per area; each module exposes COMMANDS, a list of click commands."""
import click

MODULES: list = []  # each area appends its module here (see the imports below)


def register(group: click.Group) -> None:
    for module in MODULES:
        for command in module.COMMANDS:
            group.add_command(command)
