"""Model files: safetensors tensors (weights, biases) plus a JSON header (everything else). No pickle.

The format is specified in docs/model-format.md. In short: the safetensors metadata key "dqt_hw" holds a
JSON object with the format name and version, the spec, the network (topology name and full op list), every
multiplier and shift, every float scale, the controller (same structure, nested), the SHA-256 of each
tensor's raw bytes and a digest over the whole header. `load_model` checks the file size and the header's
strict schema and limits (golden.header_schema, golden.limits) before loading any tensor, then the digest,
each tensor's dtype, shape and hash, then ranges (golden.model.validate_model) and the accumulator bounds
(golden.bounds); any failure raises ModelFileError (a ValueError) naming the file and the layer / field.
`save_model` validates and proves the bounds first, then writes a temp file, fsyncs and os.replace()s it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from .bounds import prove_bounds
from .header_schema import OP_KINDS, HeaderError, check_header, parse_header
from .ir import Network
from .limits import DEFAULT_LIMITS, Limits
from .model import MULT_DTYPE, ConvParams, GapParams, NestedModel, validate_model
from .run_folder import publish_file
from .spec import NestedSpec

FORMAT = "dqt-hw-model"
VERSION = 1
METADATA_KEY = "dqt_hw"
CONTROLLER_PREFIX = "controller."
SAFETENSORS_DTYPES = {"I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64", "U8": "uint8", "U16": "uint16",
                      "U32": "uint32", "U64": "uint64"}


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
    """Write tensors + header through golden.run_folder.publish_file: the folder checked, a lock, leftover temp
    files of a killed run removed, a temp file fsynced and os.replace()d onto `path`."""
    publish_file(path, lambda tmp: save_file({name: np.ascontiguousarray(a) for name, a in tensors.items()},
                                             str(tmp), metadata={METADATA_KEY: json.dumps(header, sort_keys=True)}))


def save_model(model: NestedModel, path) -> None:
    """Validate `model`, prove its accumulator bounds, and write it atomically to `path`."""
    validate_model(model)
    prove_bounds(model)
    write_model_file(path, *model_header(model))


# ---- file -> model (the header's types and keys were checked by golden.header_schema) ---------------------
def _network(d: dict, where: str) -> Network:
    ops = []
    for i, o in enumerate(d["ops"]):
        try:
            ops.append(OP_KINDS[o["kind"]](**{**o, "in_hw": tuple(o["in_hw"])}))
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{where}: op {i} ({o['name']!r}): {e}") from e
    try:
        return Network(d["name"], tuple(d["input_shape"]), tuple(ops), d["controller_input"], d["num_classes"])
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: {e}") from e


def _int_array(value: list[int] | None) -> np.ndarray | None:
    return None if value is None else np.array(value, dtype=MULT_DTYPE)


def _model(d: dict, prefix: str, spec: NestedSpec, tensors: dict, controller) -> NestedModel:
    net = _network(d["network"], f"header {prefix or 'model'}.network")
    layers = {}
    for name, p in d["layers"].items():
        for key in (f"{prefix}{name}.weight", f"{prefix}{name}.bias"):
            if key not in tensors:
                raise ModelFileError(f"layer {prefix}{name}: tensor {key!r} missing")
        layers[name] = ConvParams(tensors[f"{prefix}{name}.weight"], tensors[f"{prefix}{name}.bias"],
                                  _int_array(p["m"]), p["shift"], _int_array(p["m_r"]),
                                  np.array(p["weight_scale"], dtype=np.float64))
    pools = {name: GapParams(g["m"], g["shift"]) for name, g in d["pools"].items()}
    return NestedModel(net, spec, layers, pools, dict(d["scales"]), d["input_signed"], controller)


def _stored_meta(f, path) -> dict[str, tuple[str, list[int]]]:
    """{name: (numpy dtype name, shape)} of the stored tensors, from the safetensors header (nothing loaded)."""
    meta = {}
    for name in f.keys():
        sl = f.get_slice(name)
        code = sl.get_dtype()
        if code not in SAFETENSORS_DTYPES:
            raise ModelFileError(f"model file {path}: tensor {name}: dtype {code} is not an integer type")
        meta[name] = (SAFETENSORS_DTYPES[code], list(sl.get_shape()))
    return meta


def read_header(path, limits: Limits = DEFAULT_LIMITS) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, tensors) of a model file, after checking its size, the header's schema (golden.header_schema),
    the format, the digest, each stored tensor's dtype and shape against the header, the limits, and only
    then loading the tensors and checking each one's hash."""
    where = f"model file {path}"
    try:
        limits.check("max_file_bytes", Path(path).stat().st_size, f"{where}: size")
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            stored = _stored_meta(f, path)
            if METADATA_KEY not in metadata:
                raise ModelFileError(f"{where}: no {METADATA_KEY!r} header in the safetensors metadata")
            try:
                header = parse_header(metadata[METADATA_KEY], limits)
                if header.get("format") != FORMAT:
                    raise HeaderError(f"format must be {FORMAT!r}")
                version = header.get("version")
                if isinstance(version, bool) or version != VERSION:
                    raise HeaderError(f"unsupported version {version!r} (reads {VERSION})")
                check_header(header, limits)
            except ValueError as e:  # HeaderError, or a limit
                raise ModelFileError(f"{where}: {e}") from None
            if header["digest"] != header_digest(header):
                raise ModelFileError(f"{where}: header digest mismatch (file modified or corrupted)")
            listed = header["tensors"]
            if set(listed) != set(stored):
                raise ModelFileError(f"{where}: tensors {sorted(set(stored) ^ set(listed))} "
                                     f"not both listed in the header and stored")
            for name, (dtype, shape) in stored.items():
                if (listed[name]["dtype"], listed[name]["shape"]) != (dtype, shape):
                    raise ModelFileError(f"{where}: tensor {name}: header says {listed[name]['dtype']} "
                                         f"{listed[name]['shape']}, stored {dtype} {shape}")
            tensors = {name: f.get_tensor(name) for name in stored}
    except ModelFileError:
        raise
    except ValueError as e:  # a limit
        raise ModelFileError(f"{e}") from None
    except Exception as e:  # safetensors raises its own error types for truncated / garbled files
        raise ModelFileError(f"{where}: not a readable safetensors file ({type(e).__name__}: {e})") from None
    for name, a in tensors.items():
        if tensor_digest(a) != listed[name]["sha256"]:
            raise ModelFileError(f"{where}: tensor {name}: sha256 mismatch (data modified or corrupted)")
    return header, tensors


def load_model(path, limits: Limits = DEFAULT_LIMITS) -> NestedModel:
    """Read, verify and validate a model file (see the module docstring); raises ModelFileError."""
    header, tensors = read_header(path, limits)
    try:
        spec = NestedSpec(**{**header["spec"], "candidates": tuple(header["spec"]["candidates"])})
        ctrl_d = header["controller"]
        controller = None if ctrl_d is None else _model(ctrl_d, CONTROLLER_PREFIX, spec, tensors, None)
        model = _model(header["model"], "", spec, tensors, controller)
        used = {f"{p}{n}.{t}" for p, m in (("", model), (CONTROLLER_PREFIX, controller)) if m is not None
                for n in m.layers for t in ("weight", "bias")}
        if used != set(tensors):
            raise ModelFileError(f"tensors {sorted(set(tensors) - used)} belong to no layer")
        validate_model(model)
        prove_bounds(model)
    except (TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"model file {path}: {e}") from e
    return model
