"""Click commands, one module per area; each module exposes COMMANDS, a list of click commands."""
import click

MODULES: list = []  # each area appends its module here (see the imports below)


def register(group: click.Group) -> None:
    for module in MODULES:
        for command in module.COMMANDS:
            group.add_command(command)


from . import golden_cmds  # noqa: E402
MODULES.append(golden_cmds)
from . import sim_cmds  # noqa: E402
MODULES.append(sim_cmds)
from . import sweep_cmds  # noqa: E402
MODULES.append(sweep_cmds)
from . import eval_cmds  # noqa: E402
MODULES.append(eval_cmds)
from . import rtl_cmds  # noqa: E402
MODULES.append(rtl_cmds)
from . import train_cmds  # noqa: E402
MODULES.append(train_cmds)
from . import qonnx_cmds  # noqa: E402
MODULES.append(qonnx_cmds)
from . import verify_cmds  # noqa: E402
MODULES.append(verify_cmds)
