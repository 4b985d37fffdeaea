"""DQT-HW command line. Thin click commands over library functions; the commands live in commands/."""
import click

from commands import register


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """DQT-HW: nested-integer dynamic quantization, golden model to Verilog."""


register(cli)

if __name__ == "__main__":
    cli()
