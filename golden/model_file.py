"""Model files: safetensors tensors (weights, biases) plus a JSON header (everything else). No pickle.

The format is specified in docs/model-format.md. In short: the safetensors metadata key "dqt_hw" holds a
JSON object with the format name and version, the spec, the network (topology name and full op list), every
multiplier and shift, every float scale, the controller (same structure, nested), the SHA-256 of each
tensor's raw bytes and a digest over the whole header. `load_model` checks the digest, the tensor hashes,
then shapes, dtypes and ranges (golden.model.validate_model) and the accumulator bounds (golden.bounds);
any failure raises ModelFileError (a ValueError) naming the file and the layer / field.
`save_model` validates and proves the bounds first, then writes a temp file and os.replace()s it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from .atomic import atomic_path
from .bounds import prove_bounds
from .ir import Conv, GlobalAvgPool, MaxPool, Network
from .model import MULT_DTYPE, ConvParams, GapParams, NestedModel, validate_model
from .spec import NestedSpec

FORMAT = "dqt-hw-model"
VERSION = 1
METADATA_KEY = "dqt_hw"
CONTROLLER_PREFIX = "controller."
OP_TYPES = {"conv": Conv, "linear": Conv, "maxpool": MaxPool, "gap": GlobalAvgPool}


class ModelFileError(ValueError):
    """A model file is unreadable, tampered with, or describes an invalid model."""


def header_digest(header: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of the header without its "digest" key:
    json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True) encoded as UTF-8."""
    body = {k: v for k, v in header.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def tensor_digest(a: np.ndarray) -> str:
    """SHA-256 (hex) of a tensor's raw little-endian C-order bytes (as stored by safetensors)."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# ---- model -> header + tensors ------------------------------------------------------------------------------
def _model_json(model: NestedModel, prefix: str, tensors: dict) -> dict:
    layers = {}
    for layer in model.network.layers:
        p = model.params(layer.name)
        tensors[f"{prefix}{layer.name}.weight"] = np.ascontiguousarray(p.weight)
        tensors[f"{prefix}{layer.name}.bias"] = np.ascontiguousarray(p.bias)
        layers[layer.name] = {
            "m": None if p.m is None else [int(v) for v in p.m],
            "shift": None if p.shift is None else int(p.shift),
            "m_r": None if p.m_r is None else [int(v) for v in p.m_r],
            "weight_scale": [float(v) for v in p.weight_scale],
        }
    net = model.network
    return {
        "network": {"name": net.name, "input_shape": list(net.input_shape), "num_classes": net.num_classes,
                    "controller_input": net.controller_input, "ops": [dataclasses.asdict(op) for op in net.ops]},
        "input_signed": model.input_signed,
        "layers": layers,
        "pools": {name: {"m": int(g.m), "shift": int(g.shift)} for name, g in model.pools.items()},
        "scales": {name: float(v) for name, v in model.scales.items()},
    }


def model_header(model: NestedModel) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, tensors) of `model`: the JSON header object (digest included) and the named tensors."""
    tensors: dict[str, np.ndarray] = {}
    header = {"format": FORMAT, "version": VERSION, "spec": dataclasses.asdict(model.spec)}
    header["model"] = _model_json(model, "", tensors)
    header["controller"] = None if model.controller is None else \
        _model_json(model.controller, CONTROLLER_PREFIX, tensors)
    header["tensors"] = {name: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": tensor_digest(a)}
                         for name, a in sorted(tensors.items())}
    header["digest"] = header_digest(header)
    return header, tensors


def write_model_file(path, header: dict, tensors: dict[str, np.ndarray]) -> None:
    """Atomically write tensors + header (golden.atomic: temp file in the target folder, os.replace)."""
    with atomic_path(path) as tmp:
        save_file({name: np.ascontiguousarray(a) for name, a in tensors.items()}, str(tmp),
                  metadata={METADATA_KEY: json.dumps(header, sort_keys=True)})


def save_model(model: NestedModel, path) -> None:
    """Validate `model`, prove its accumulator bounds, and write it atomically to `path`."""
    validate_model(model)
    prove_bounds(model)
    write_model_file(path, *model_header(model))


# ---- file -> model ------------------------------------------------------------------------------------------
def _field(obj: dict, key: str, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise ModelFileError(f"{where}: field {key!r} missing")
    return obj[key]


def _network(d: dict, where: str) -> Network:
    ops = []
    for i, o in enumerate(_field(d, "ops", where)):
        kind = o.get("kind") if isinstance(o, dict) else None
        if kind not in OP_TYPES:
            raise ModelFileError(f"{where}: op {i}: kind must be one of {sorted(OP_TYPES)}, got {kind!r}")
        try:
            o = {**o, "in_hw": tuple(o["in_hw"])}
            ops.append(OP_TYPES[kind](**o))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{where}: op {i} ({o.get('name')!r}): {e}") from e
    try:
        return Network(_field(d, "name", where), tuple(_field(d, "input_shape", where)), tuple(ops),
                       _field(d, "controller_input", where), _field(d, "num_classes", where))
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: {e}") from e


def _int_list(value, where: str, field: str) -> np.ndarray | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ModelFileError(f"{where}: {field} must be a list of ints")
    return np.array(value, dtype=MULT_DTYPE)


def _model(d: dict, prefix: str, spec: NestedSpec, tensors: dict, controller) -> NestedModel:
    where = f"header {prefix or 'model'}"
    net = _network(_field(d, "network", where), f"{where}.network")
    layers = {}
    for name, p in _field(d, "layers", where).items():
        lw = f"layer {prefix}{name}"
        for key in (f"{prefix}{name}.weight", f"{prefix}{name}.bias"):
            if key not in tensors:
                raise ModelFileError(f"{lw}: tensor {key!r} missing")
        ws = _field(p, "weight_scale", lw)
        if not isinstance(ws, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ws):
            raise ModelFileError(f"{lw}: weight_scale must be a list of numbers")
        layers[name] = ConvParams(tensors[f"{prefix}{name}.weight"], tensors[f"{prefix}{name}.bias"],
                                  _int_list(_field(p, "m", lw), lw, "m"), _field(p, "shift", lw),
                                  _int_list(_field(p, "m_r", lw), lw, "m_r"), np.array(ws, dtype=np.float64))
    pools = {name: GapParams(_field(g, "m", f"pool {name}"), _field(g, "shift", f"pool {name}"))
             for name, g in _field(d, "pools", where).items()}
    input_signed = _field(d, "input_signed", where)
    if not isinstance(input_signed, bool):
        raise ModelFileError(f"{where}: input_signed must be true or false, got {input_signed!r}")
    return NestedModel(net, spec, layers, pools, dict(_field(d, "scales", where)), input_signed, controller)


def read_header(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, tensors) of a model file, after checking the format, the digest and every tensor hash."""
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as e:  # safetensors raises its own error types for truncated / garbled files
        raise ModelFileError(f"model file {path}: not a readable safetensors file ({type(e).__name__}: {e})") from e
    if METADATA_KEY not in metadata:
        raise ModelFileError(f"model file {path}: no {METADATA_KEY!r} header in the safetensors metadata")
    try:
        header = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as e:
        raise ModelFileError(f"model file {path}: header is not valid JSON ({e})") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"model file {path}: format must be {FORMAT!r}")
    if header.get("version") != VERSION:
        raise ModelFileError(f"model file {path}: unsupported version {header.get('version')!r} (reads {VERSION})")
    if header.get("digest") != header_digest(header):
        raise ModelFileError(f"model file {path}: header digest mismatch (file modified or corrupted)")
    listed = _field(header, "tensors", f"model file {path}")
    if not isinstance(listed, dict) or not all(isinstance(v, dict) for v in listed.values()):
        raise ModelFileError(f"model file {path}: header field 'tensors' must map each tensor name to an "
                             f"object {{dtype, shape, sha256}}")
    if set(listed) != set(tensors):
        raise ModelFileError(f"model file {path}: tensors {sorted(set(tensors) ^ set(listed))} "
                             f"not both listed in the header and stored")
    for name, a in tensors.items():
        if tensor_digest(a) != listed[name].get("sha256"):
            raise ModelFileError(f"model file {path}: tensor {name}: sha256 mismatch (data modified or corrupted)")
    return header, tensors


def load_model(path) -> NestedModel:
    """Read, verify and validate a model file (see the module docstring); raises ModelFileError."""
    header, tensors = read_header(path)
    try:
        spec_d = _field(header, "spec", "header")
        spec = NestedSpec(**{**spec_d, "candidates": tuple(_field(spec_d, "candidates", "header.spec"))})
        ctrl_d = header.get("controller")
        controller = None if ctrl_d is None else _model(ctrl_d, CONTROLLER_PREFIX, spec, tensors, None)
        model = _model(_field(header, "model", "header"), "", spec, tensors, controller)
        used = {f"{p}{n}.{t}" for p, m in (("", model), (CONTROLLER_PREFIX, controller)) if m is not None
                for n in m.layers for t in ("weight", "bias")}
        if used != set(tensors):
            raise ModelFileError(f"tensors {sorted(set(tensors) - used)} belong to no layer")
        validate_model(model)
        prove_bounds(model)
    except (TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"model file {path}: {e}") from e
    return model
