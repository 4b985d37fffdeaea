"""Resource limits checked before anything is allocated (model files, topology CSVs, input batches).

The defaults admit every network of golden/topologies.py with room to spare (ResNet-50: 54 layers, 2048
channels, a 3×224×224 input) and refuse inputs that would run a machine out of memory or time. A user with a
bigger network raises a limit on the command line: `--limit max_layers=20000` (repeatable).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """max_file_bytes     size of a model file or topology CSV
    max_header_bytes   size of a model file's JSON header
    max_json_depth     nesting depth of that header (the format itself needs 6)
    max_layers         ops of a model network, or layers of a topology CSV after depthwise expansion
    max_channels       channels / filters of one layer
    max_tensor_elems   elements of one activation tensor (C·H·W, the network input included) or stored tensor
    max_batch_elems    elements of a whole input batch (B·C·H·W)
    """

    max_file_bytes: int = 1 << 32
    max_header_bytes: int = 1 << 26
    max_json_depth: int = 32
    max_layers: int = 4096
    max_channels: int = 1 << 16
    max_tensor_elems: int = 1 << 26
    max_batch_elems: int = 1 << 28

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"limit {f.name} must be a positive int, got {v!r}")

    def check(self, name: str, value: int, what: str) -> None:
        """Raise ValueError naming `what` when `value` exceeds the limit `name`, and how to raise it."""
        limit = getattr(self, name)
        if value > limit:
            raise ValueError(f"{what}: {value:,} exceeds the limit {name}={limit:,} "
                             f"(raise it with --limit {name}=VALUE)")


DEFAULT_LIMITS = Limits()


def parse_limits(items: tuple[str, ...] | list[str]) -> Limits:
    """Limits from NAME=VALUE strings (the --limit option), defaults elsewhere; ValueError names the item."""
    names = [f.name for f in dataclasses.fields(Limits)]
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or name not in names:
            raise ValueError(f"--limit {item!r}: expected NAME=VALUE with NAME one of {', '.join(names)}")
        if not text.isdigit() or len(text) > 18 or int(text) < 1:
            raise ValueError(f"--limit {item!r}: VALUE must be a positive integer below 10^18")
        values[name] = int(text)
    return Limits(**values)
