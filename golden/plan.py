"""Static precision plans: which width (b_w, b_a) each switchable layer runs at.

A plan is written either `uniform:B` (every switchable layer at b_w = b_a = B) or as a JSON file mapping
layer names to a width: an int B (b_w = b_a = B) or a pair [b_w, b_a]; the optional key "default" gives the
width of every switchable layer the file does not name. The stem and the classifier always run at N bits
(docs/spec.md §1 precision policy): a plan may name them only at N.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import strict_json
from .ir import Network
from .spec import NestedSpec

Widths = dict[str, tuple[int, int]]
DEFAULT_KEY = "default"
UNIFORM_PREFIX = "uniform:"
PLAN_MAX_DEPTH = 3  # {layer: [b_w, b_a]}


@dataclass(frozen=True)
class Plan:
    """`name` (as given: "uniform:4" or the file path) and the width of every switchable layer."""

    name: str
    widths: Mapping[str, tuple[int, int]]

    def layer_widths(self, network: Network, spec: NestedSpec) -> Widths:
        """Width of every conv/linear of `network`: the plan's for switchable ones, (N, N) for the rest."""
        return {layer.name: self.widths[layer.name] if layer.switchable else (spec.n_bits, spec.n_bits)
                for layer in network.layers}


def _width_pair(layer: str, value, spec: NestedSpec) -> tuple[int, int]:
    """An int B -> (B, B); a pair [b_w, b_a] -> (b_w, b_a); each checked as 2 <= b <= N."""
    pair = [value, value] if not isinstance(value, (list, tuple)) else list(value)
    if len(pair) != 2:
        raise ValueError(f"plan: layer {layer}: width must be an int or [b_w, b_a], got {value!r}")
    for field, b in zip(("b_w", "b_a"), pair):
        spec.check_width(b, f"plan: layer {layer}: {field}")
    return pair[0], pair[1]


def plan_from_mapping(name: str, mapping: Mapping, network: Network, spec: NestedSpec) -> Plan:
    """Plan from {layer: B | [b_w, b_a], "default": B | [b_w, b_a]}; errors name the layer and width."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"plan {name}: must be a JSON object mapping layer names to widths")
    known = {layer.name: layer for layer in network.layers}
    for key, value in mapping.items():
        if key == DEFAULT_KEY:
            continue
        if key not in known:
            raise ValueError(f"plan {name}: unknown layer {key!r} (network {network.name})")
        if not known[key].switchable and _width_pair(key, value, spec) != (spec.n_bits, spec.n_bits):
            raise ValueError(f"plan {name}: layer {key} always runs at N={spec.n_bits} bits, got {value!r}")
    default = mapping.get(DEFAULT_KEY)
    widths = {}
    for layer in network.switchable_layers:
        value = mapping.get(layer.name, default)
        if value is None:
            raise ValueError(f"plan {name}: no width for layer {layer.name} (and no {DEFAULT_KEY!r})")
        widths[layer.name] = _width_pair(layer.name, value, spec)
    return Plan(name, widths)


def widths_by_name(name: str, mapping, names, spec: NestedSpec) -> Widths:
    """Width of every layer in `names` from {layer: B | [b_w, b_a], "default": ...}, every layer switchable
    (a network without roles, e.g. a SCALE-Sim topology CSV); errors name the plan, the layer and the width."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"plan {name}: must be a JSON object mapping layer names to widths")
    unknown = [key for key in mapping if key != DEFAULT_KEY and key not in set(names)]
    if unknown:
        raise ValueError(f"plan {name}: unknown layer {unknown[0]!r}")
    widths = {}
    for layer in names:
        value = mapping.get(layer, mapping.get(DEFAULT_KEY))
        if value is None:
            raise ValueError(f"plan {name}: no width for layer {layer} (and no {DEFAULT_KEY!r})")
        widths[layer] = _width_pair(layer, value, spec)
    return widths


def uniform_plan(bits: int, network: Network, spec: NestedSpec) -> Plan:
    """Every switchable layer at b_w = b_a = bits."""
    return plan_from_mapping(f"{UNIFORM_PREFIX}{bits}", {DEFAULT_KEY: bits}, network, spec)


def uniform_width(text: str, spec: NestedSpec) -> int | None:
    """B of a plan written `uniform:B`, checked 2 <= B <= N; None for any other plan text (a file path)."""
    if not text.startswith(UNIFORM_PREFIX):
        return None
    bits = text[len(UNIFORM_PREFIX):]
    if not (bits.isascii() and bits.isdigit()) or len(bits) > 4:
        raise ValueError(f"plan {text!r}: width {bits!r} is not an integer")
    return spec.check_width(int(bits), f"plan {text!r}: b_a and b_w")


def parse_plan(text: str, network: Network, spec: NestedSpec) -> Plan:
    """`uniform:B` or the path of a JSON plan file (see the module docstring)."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"plan must be 'uniform:B' or a JSON file path, got {text!r}")
    bits = uniform_width(text, spec)
    if bits is not None:
        return uniform_plan(bits, network, spec)
    return plan_from_mapping(text, read_plan_file(text), network, spec)


def read_plan_file(text: str):
    """The JSON value of the plan file at path `text`; ValueError naming the file when absent or invalid."""
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"plan {text!r}: not 'uniform:B' and no such file")
    try:
        return strict_json.loads(path.read_text(encoding="utf-8"), PLAN_MAX_DEPTH)
    except (strict_json.StrictJSONError, UnicodeDecodeError) as e:
        raise ValueError(f"plan {text}: invalid JSON: {e}") from None
