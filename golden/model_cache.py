"""On-disk cache of the seeded synthetic models (golden/synthetic.py): built and calibrated once, then loaded.

An entry is a model file (golden/model_file.py: safetensors + JSON header, no pickle), written atomically
(golden/atomic.py), named `<topology>-seed<seed>-<spec digest>-<key>.safetensors` where `key` is the SHA-256
(first 24 hex digits) of the topology name, the seed, the spec and the source code of the golden package
(the code that builds the model: topologies, calibration, kernels, model format). A changed input or changed
code gives another key, so a stale entry is never read; an entry of the same topology, seed and spec under
another key (older code) is deleted when the new one is written. Beside each
entry a JSON record (`.json`, written after the model file) names its key fields and the SHA-256 of the
model file's bytes. An entry is used only when its record matches the key and the file's bytes, and the
strict loader accepts it (header digest, tensor hashes, structure, ranges, accumulator bounds) with the
network and spec asked for; anything else (missing record, unreadable, corrupt, copied from another key) is
rebuilt and overwritten, never trusted.

Location: `$DQT_HW_CACHE_DIR` if set, else `$XDG_CACHE_HOME/dqt-hw`, else `~/.cache/dqt-hw`; entries live in
its `synthetic/` folder. `DQT_HW_CACHE_DIR=off` disables the cache (every call builds).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

from .atomic import atomic_write_bytes
from .ir import Network
from .model import NestedModel
from .model_file import load_model, save_model
from .spec import NestedSpec

CACHE_ENV = "DQT_HW_CACHE_DIR"
DISABLED = "off"
KEY_DIGITS = 24
PACKAGE = Path(__file__).resolve().parent


def cache_root() -> Path | None:
    """The cache folder (module docstring), None when disabled."""
    value = os.environ.get(CACHE_ENV)
    if value == DISABLED:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dqt-hw"


@cache
def code_digest() -> str:
    """SHA-256 over the golden package's Python sources (relative path and bytes, in sorted order)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode()).hexdigest()


def key_fields(name: str, seed: int, spec: NestedSpec) -> dict:
    """What an entry is keyed by: topology, seed, spec fields, code digest."""
    return {"topology": name, "seed": seed, "spec": dataclasses.asdict(spec), "code": code_digest()}


def entry_path(root: Path, name: str, seed: int, spec: NestedSpec) -> Path:
    """root/synthetic/<name>-seed<seed>-<spec digest>-<key>.safetensors, key = hash of key_fields."""
    key = _digest(key_fields(name, seed, spec))[:KEY_DIGITS]
    spec_digest = _digest(dataclasses.asdict(spec))[:8]
    return root / "synthetic" / f"{name}-seed{seed}-{spec_digest}-{key}.safetensors"


def record_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_entry(path: Path, fields: dict, network: Network, spec: NestedSpec) -> NestedModel | None:
    """The model in `path` when its record matches `fields` and the file's bytes, the strict loader accepts
    it, and it holds `network` at `spec`; else None."""
    try:
        record = json.loads(record_path(path).read_text())
        if record != {**json.loads(json.dumps(fields, default=list)), "sha256": _file_digest(path)}:
            return None
        model = load_model(path)
    except (OSError, ValueError):
        return None
    return model if model.network == network and model.spec == spec else None


def cached_model(network: Network, seed: int, spec: NestedSpec, build: Callable[[], NestedModel],
                 say: Callable[[str], None] = lambda line: None) -> NestedModel:
    """The cached synthetic model of (network, seed, spec), or build() it, store it and return it."""
    root = cache_root()
    if root is None:
        return build()
    name = network.name
    path, fields = entry_path(root, name, seed, spec), key_fields(name, seed, spec)
    if path.is_file():
        model = _load_entry(path, fields, network, spec)
        if model is not None:
            return model
        say(f"model cache: {path} is unreadable or does not match; rebuilding it")
    model = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, path)
        record = {**fields, "sha256": _file_digest(path)}
        atomic_write_bytes(record_path(path), json.dumps(record, sort_keys=True, default=list).encode())
    except OSError as e:  # a read-only or full cache folder costs the next run a rebuild, not this one its result
        say(f"model cache: cannot write {path} ({e}); the model is not cached")
        return model
    for stale in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.safetensors"):
        if stale != path:
            stale.unlink(missing_ok=True)
            record_path(stale).unlink(missing_ok=True)
    say(f"model cache: stored {path}")
    return model
