"""Strict schema of a model file's JSON header (docs/model-format.md), checked before anything is built from it.

`parse_header` turns the header text into JSON values (golden.strict_json: no duplicate keys — another reader
keeping the first value would see a different model under the same digest —, no NaN / Infinity, nesting at
most limits.max_json_depth, integers within int64). `check_header` then checks every field's type (a bool is
not an int, a float is not an int, a name is a string), the set of keys of every object, and the sizes that
decide memory (op count, channels, tensor elements) against `Limits`, before any tensor is read. Value ranges
that depend on the spec (multipliers, shifts, codes) are golden.model.validate_model's job.
"""
from __future__ import annotations

import dataclasses

from . import strict_json
from .ir import Conv, GlobalAvgPool, MaxPool
from .limits import Limits
from .strict_json import short

HEADER_KEYS = {"format", "version", "spec", "model", "controller", "tensors", "digest"}
SPEC_KEYS = {"n_bits", "acc_bits", "m_bits", "logit_bits", "candidates"}
MODEL_KEYS = {"network", "input_signed", "layers", "pools", "scales"}
NETWORK_KEYS = {"name", "input_shape", "num_classes", "controller_input", "ops"}
LAYER_KEYS = {"m", "shift", "m_r", "weight_scale"}
TENSOR_KEYS = {"dtype", "shape", "sha256"}
OP_KINDS = {"conv": Conv, "linear": Conv, "maxpool": MaxPool, "gap": GlobalAvgPool}
# JSON type of each op field (None allowed only for "residual")
OP_FIELD_TYPES = {"name": str, "input": str, "in_ch": int, "out_ch": int, "channels": int, "in_hw": list,
                  "kernel": int, "stride": int, "padding": int, "output_kind": str, "residual": str,
                  "switchable": bool, "kind": str}


class HeaderError(ValueError):
    """The header breaks the schema (the message names the field path and the value)."""


def parse_header(text: str, limits: Limits) -> dict:
    """JSON header text -> dict (see the module docstring); raises HeaderError."""
    limits.check("max_header_bytes", len(text), "header size")
    try:
        header = strict_json.loads(text, limits.max_json_depth, "header")
    except strict_json.StrictJSONError as e:
        raise HeaderError(str(e)) from None
    if not isinstance(header, dict):
        raise HeaderError(f"must be a JSON object, got {type(header).__name__}")
    return header


def _type(value, expected: type, path: str, none_ok: bool = False) -> None:
    if value is None and none_ok:
        return
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        name = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object",
                float: "a number"}[expected]
        raise HeaderError(f"{path} must be {name}{' or null' if none_ok else ''}, got {short(value)}")


def _keys(obj, keys: set[str], path: str) -> None:
    _type(obj, dict, path)
    if set(obj) != keys:
        missing, extra = sorted(keys - set(obj)), sorted(set(obj) - keys)
        raise HeaderError(f"{path}: fields missing {missing}, unexpected {extra}")


def _list_of(value, expected: type, path: str, length: int | None = None, none_ok: bool = False) -> None:
    _type(value, list, path, none_ok)
    if value is None:
        return
    if length is not None and len(value) != length:
        raise HeaderError(f"{path} must have {length} entries, got {len(value)}")
    for i, v in enumerate(value):
        _type(v, expected, f"{path}[{i}]")


def _op(op, path: str, limits: Limits) -> None:
    _type(op, dict, path)
    kind = op.get("kind")
    if kind not in OP_KINDS:
        raise HeaderError(f"{path}.kind must be one of {sorted(OP_KINDS)}, got {short(kind)}")
    fields = {f.name for f in dataclasses.fields(OP_KINDS[kind])}
    if set(op) != fields:
        raise HeaderError(f"{path}: fields missing {sorted(fields - set(op))}, unexpected {sorted(set(op) - fields)}")
    for key, value in op.items():
        if key == "in_hw":
            _list_of(value, int, f"{path}.in_hw", 2)
        else:
            _type(value, OP_FIELD_TYPES[key], f"{path}.{key}", none_ok=key == "residual")
    for key in ("in_ch", "out_ch", "channels"):
        if key in op:
            limits.check("max_channels", op[key], f"{path}.{key}")
    h, w = op["in_hw"]
    channels = op.get("in_ch", op.get("channels"))
    limits.check("max_tensor_elems", abs(channels * h * w), f"{path}: input tensor elements")


def _model(d, path: str, limits: Limits) -> None:
    _keys(d, MODEL_KEYS, path)
    net = d["network"]
    _keys(net, NETWORK_KEYS, f"{path}.network")
    _type(net["name"], str, f"{path}.network.name")
    _type(net["controller_input"], str, f"{path}.network.controller_input")
    _type(net["num_classes"], int, f"{path}.network.num_classes")
    _list_of(net["input_shape"], int, f"{path}.network.input_shape", 3)
    c, h, w = net["input_shape"]
    limits.check("max_tensor_elems", abs(c * h * w), f"{path}.network.input_shape {net['input_shape']}: elements")
    _type(net["ops"], list, f"{path}.network.ops")
    limits.check("max_layers", len(net["ops"]), f"{path}.network.ops: op count")
    for i, op in enumerate(net["ops"]):
        _op(op, f"{path}.network.ops[{i}]", limits)
    _type(d["input_signed"], bool, f"{path}.input_signed")
    _type(d["layers"], dict, f"{path}.layers")
    for name, p in d["layers"].items():
        lp = f"{path}.layers.{name}"
        _keys(p, LAYER_KEYS, lp)
        _list_of(p["m"], int, f"{lp}.m", none_ok=True)
        _list_of(p["m_r"], int, f"{lp}.m_r", none_ok=True)
        _type(p["shift"], int, f"{lp}.shift", none_ok=True)
        _list_of(p["weight_scale"], float, f"{lp}.weight_scale")
    _type(d["pools"], dict, f"{path}.pools")
    for name, g in d["pools"].items():
        _keys(g, {"m", "shift"}, f"{path}.pools.{name}")
        _type(g["m"], int, f"{path}.pools.{name}.m")
        _type(g["shift"], int, f"{path}.pools.{name}.shift")
    _type(d["scales"], dict, f"{path}.scales")
    for name, v in d["scales"].items():
        _type(v, float, f"{path}.scales.{name}")


def check_header(header: dict, limits: Limits) -> None:
    """Every field's type and key set, and the memory-deciding sizes (see the module docstring)."""
    _keys(header, HEADER_KEYS, "header")
    _type(header["format"], str, "header.format")
    _type(header["version"], int, "header.version")
    _type(header["digest"], str, "header.digest")
    _keys(header["spec"], SPEC_KEYS, "header.spec")
    for key in SPEC_KEYS - {"candidates"}:
        _type(header["spec"][key], int, f"header.spec.{key}")
    _list_of(header["spec"]["candidates"], int, "header.spec.candidates")
    _model(header["model"], "header.model", limits)
    if header["controller"] is not None:
        _model(header["controller"], "header.controller", limits)
    _type(header["tensors"], dict, "header.tensors")
    for name, t in header["tensors"].items():
        tp = f"header.tensors.{name}"
        _keys(t, TENSOR_KEYS, tp)
        _type(t["dtype"], str, f"{tp}.dtype")
        _list_of(t["shape"], int, f"{tp}.shape")
        _type(t["sha256"], str, f"{tp}.sha256")
        if any(v < 0 for v in t["shape"]):
            raise HeaderError(f"{tp}.shape must be non-negative, got {t['shape']}")
        elems = 1
        for v in t["shape"]:
            elems *= v
        limits.check("max_tensor_elems", elems, f"{tp}: elements")
