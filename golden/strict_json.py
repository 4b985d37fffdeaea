"""Strict JSON for files users hand us (model headers, plans): no duplicate keys (readers disagree on which one
wins), no NaN / Infinity, bounded nesting depth (no RecursionError), every integer within int64."""
from __future__ import annotations

import json

INT64 = (-(1 << 63), (1 << 63) - 1)


class StrictJSONError(ValueError):
    """The text is not strict JSON (the message names the key path or the problem)."""


def short(value) -> str:
    """repr(value), cut to 40 characters (a 5000-digit integer in an error message helps nobody)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise StrictJSONError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _no_constant(name: str):
    raise StrictJSONError(f"{name} is not a JSON number")


def _walk(value, max_depth: int, root: str) -> None:
    """Nesting depth <= max_depth and every integer within int64 (iterative: no recursion limit)."""
    stack = [(value, 1, root)]
    while stack:
        v, depth, path = stack.pop()
        if depth > max_depth:
            raise StrictJSONError(f"{path}: nesting deeper than the limit max_json_depth={max_depth}")
        if isinstance(v, dict):
            stack.extend((item, depth + 1, f"{path}.{k}") for k, item in v.items())
        elif isinstance(v, list):
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(v))
        elif isinstance(v, int) and not isinstance(v, bool) and not INT64[0] <= v <= INT64[1]:
            raise StrictJSONError(f"{path}: integer {short(v)} outside int64")


def loads(text: str, max_depth: int, root: str = "") -> object:
    """Parse `text` strictly (see the module docstring); StrictJSONError names the key path (from `root`)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise StrictJSONError(f"nesting deeper than the limit max_json_depth={max_depth}") from None
    except StrictJSONError:
        raise
    except ValueError as e:  # JSONDecodeError, or an integer of thousands of digits
        raise StrictJSONError(f"not valid JSON ({e})") from None
    _walk(value, max_depth, root)
    return value
