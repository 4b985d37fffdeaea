"""Whole networks through the streaming harness: every conv / linear layer of a model in order, each fed with the
RTL's own outputs of the layers before it, for one or more images; resumable per layer.

Per image: the widths (a static plan, the width cycle of verify.benches.network, or the widths golden's dynamic
controller picked for that image), golden infer() of the whole network at those widths (the final reference),
then per conv / linear op: the layer job (verify.layer_job: im2col of the RTL's input tensor, golden run_layer as
the expected output), the harness run (verify.stream.session), a bit-exact comparison (np.array_equal; the count
of differing outputs is recorded), the tile cycles against sim.tile.os_tile_cycles and the layer's counted cycles
against the simulator's schedule. Pools (global average, max) and the residual adds' inputs come from golden
between RTL layers, as in the cocotb bench: the RTL has no pooling unit. At the end the RTL's logits are compared
with golden's.

Journal: <image folder>/journal.jsonl holds one JSON line per finished layer (its record), written after the
layer's RTL output (<image folder>/tensors/<layer>.npy); an interrupted run started again with the same settings
(<out>/run.json) skips the journalled layers, reloading their outputs, and continues at the layer where it
stopped.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.atomic import atomic_path, atomic_write_bytes
from golden.execute import get_backend, run_gap, run_maxpool
from golden.inference import infer
from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool
from golden.model import NestedModel
from golden.plan import parse_plan

from ..layer_job import layer_job
from .session import StreamSession

DYNAMIC = "dynamic"


@dataclass(frozen=True)
class ImagePlan:
    """The widths one image runs with and golden's logits of the whole network at those widths."""

    widths: dict[str, tuple[int, int]]
    golden_logits: np.ndarray
    plan: str


def image_plan(model: NestedModel, image: np.ndarray, plan: str | None, dut_spec) -> ImagePlan:
    """Widths for `image` (1, C, H, W): `plan` None -> verify.benches.network.width_plan (every width pair in turn,
    dut_spec: the design's), "dynamic" -> the widths golden's controller picks for this image, else a plan text
    (uniform:B or a plan file, golden.plan.parse_plan)."""
    if plan == DYNAMIC:
        result = infer(model, image, dynamic=True)
        return ImagePlan(result.widths[0], result.logits[0], DYNAMIC)
    if plan is None:
        from ..benches.network import width_plan  # the cocotb bench's width cycle (one definition)

        chosen = width_plan(model, dut_spec)
    else:
        chosen = parse_plan(plan, model.network, model.spec)
    return ImagePlan(chosen.layer_widths(model.network, model.spec), infer(model, image, plan=chosen).logits[0],
                     plan or "width_cycle")


class Journal:
    """The finished layers of one image (name -> record), appended one JSON line at a time."""

    def __init__(self, folder: Path):
        self.path, self.tensors = folder / "journal.jsonl", folder / "tensors"
        self.tensors.mkdir(parents=True, exist_ok=True)
        self.done: dict[str, dict] = {}
        if self.path.exists():
            text = self.path.read_text()
            lines = text.splitlines()
            if text and not text.endswith("\n"):  # killed while appending: drop the partial last line
                lines = lines[:-1]
                atomic_write_bytes(self.path, "".join(line + "\n" for line in lines).encode())
            for line in lines:
                record = json.loads(line)
                if (self.tensors / f"{record['bench']}.npy").exists():
                    self.done[record["bench"]] = record

    def output(self, name: str) -> np.ndarray:
        return np.load(self.tensors / f"{name}.npy").astype(np.int64)

    def add(self, record: dict, output: np.ndarray) -> None:
        """Store the layer's RTL output, then its record (so a journalled layer always has its output)."""
        small = output.astype(np.int32) if np.array_equal(output.astype(np.int32), output) else output
        with atomic_path(self.tensors / f"{record['bench']}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, small)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.done[record["bench"]] = record


def run_image(session: StreamSession, model: NestedModel, image: np.ndarray, plan: ImagePlan, folder: Path,
              bar, index: int = 0) -> tuple[list[dict], dict]:
    """Every op of `model` on `image` with the conv / linear layers on the RTL; returns the per-layer records
    (journalled ones included, marked "resumed") and the logits check {logits_match, logits_mismatches}."""
    journal = Journal(folder)
    kernels = get_backend("numba")
    ops = model.network.ops
    last_use = {t: i for i, op in enumerate(ops) for t in (op.input, getattr(op, "residual", None)) if t is not None}
    tensors, records = {INPUT: np.asarray(image, dtype=np.int64)}, []
    for i, op in enumerate(ops):
        if isinstance(op, GlobalAvgPool):
            tensors[op.name] = run_gap(kernels, op, model.pools[op.name], tensors[op.input], model.spec).y
        elif isinstance(op, MaxPool):
            tensors[op.name] = run_maxpool(kernels, op, tensors[op.input]).y
        elif op.name in journal.done:
            tensors[op.name] = journal.output(op.name).reshape(1, op.out_ch, *op.out_hw)
            records.append({**journal.done[op.name], "resumed": True})
            bar.update(op.macs)
        else:
            assert isinstance(op, Conv)
            record, got = _run_layer(session, model, op, tensors, plan.widths[op.name], index)
            journal.add(record, got)
            tensors[op.name] = got.reshape(1, op.out_ch, *op.out_hw)
            records.append(record)
            with bar.external_write_mode():
                print(f"verify-long: image {index} {op.name:22} w{record['b_w']}a{record['b_a']} "
                      f"tiles {record['tiles']:5} RTL cycles {record['rtl_cycles']:9} sim cycles "
                      f"{record['sim_cycles']:9} mismatches {record['mismatches']:6} {record['seconds']:6.2f} s "
                      f"({record['rtl_cycles'] / max(record['rtl_seconds'], 1e-9) / 1e3:5.0f} k cycles/s, "
                      f"{record['rtl_cycles'] / max(record['rtl_cpu_seconds'], 1e-9) / 1e3:5.0f} k per CPU s)",
                      flush=True)
            bar.set_postfix_str(op.name)
            bar.update(op.macs)
        for t in [t for t, j in last_use.items() if j == i and t != INPUT]:
            tensors.pop(t, None)
    logits = tensors[ops[-1].name].reshape(-1)
    return records, {"logits_match": bool(np.array_equal(logits, plan.golden_logits)),
                     "logits_mismatches": int(np.sum(logits != plan.golden_logits))}


def _run_layer(session: StreamSession, model: NestedModel, op: Conv, tensors: dict, widths, index: int):
    t0 = time.perf_counter()
    b_w, b_a = widths
    job = layer_job(model, op.name, tensors[op.input], b_w, b_a, tensors[op.residual] if op.residual else None)
    t1 = time.perf_counter()
    got, figures = session.run_layer(job)
    rtl_seconds = time.perf_counter() - t1
    mismatches = int(np.sum(got != job.expected))
    record = {"bench": op.name, "image": index, "b_w": b_w, "b_a": b_a, "mode": job.mode, **figures,
              "vectors": int(job.expected.size), "mismatches": mismatches,
              "cycles_match": figures["rtl_cycles"] == figures["sim_cycles"] and figures["tile_cycle_errors"] == 0,
              "rtl_seconds": round(rtl_seconds, 3), "seconds": round(time.perf_counter() - t0, 3)}
    return record, got


def check_settings(out: Path, settings: dict, fresh: bool) -> None:
    """Resume only a run with the same settings: <out>/run.json is written on the first start; a different one
    raises ValueError (unless `fresh`, which clears the old journals)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "run.json"
    if path.exists() and not fresh:
        old = json.loads(path.read_text())
        if old != settings:
            changed = sorted(k for k in settings.keys() | old.keys() if old.get(k) != settings.get(k))
            raise ValueError(f"{out} holds a run with other settings ({', '.join(changed)} differ): give another "
                             f"--out or --fresh to start over")
    if fresh:
        for journal in out.glob("image-*/journal.jsonl"):
            journal.unlink()
    atomic_write_bytes(path, (json.dumps(settings, indent=2) + "\n").encode())
