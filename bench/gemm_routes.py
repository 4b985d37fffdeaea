"""GEMM rate of each exact route of golden/kernels.py on a network's real layers: the operands every conv /
linear multiplies in an inference (weight views at the plan's widths, the layer's real input viewed at its
b_a), packed once (golden.kernels.prepare_conv_gemm), then only the GEMM timed (GemmJob.run). Reports per
route the whole network's MACs / time (wall-clock, and per CPU-second of the process: insensitive to other
jobs on a shared machine) and, per layer, the route the kernels pick by default. Used by
bench/golden_speed.py; the CPU the routes are compiled for is golden.kernels.TARGET (NUMBA_CPU_NAME /
NUMBA_CPU_FEATURES, else the host).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from golden import kernels
from golden.inference import infer
from golden.ir import INPUT
from golden.primitives import view


@dataclass(frozen=True)
class LayerOperands:
    name: str
    x: np.ndarray  # the layer's input viewed at b_a
    w: np.ndarray  # the weight view at b_w
    stride: int
    padding: int


def layer_operands(model, images, plan, widths: dict[str, tuple[int, int]]) -> list[LayerOperands]:
    """Every conv / linear's view operands in an inference of `images` under the static `plan` (`widths`:
    its (b_w, b_a) per layer)."""
    tensors = {**infer(model, images, plan, keep_tensors=True).tensors, INPUT: images}
    spec = model.spec
    layers = []
    for layer in model.network.layers:
        b_w, b_a = widths[layer.name]
        x = tensors[layer.input]
        x = x.reshape(len(x), -1, 1, 1) if x.ndim == 2 else x
        xv = view(x, b_a, layer.input == INPUT and model.input_signed, spec)
        w = view(model.params(layer.name).weight, b_w, True, spec)
        w = w.reshape(*w.shape[:2], 1, 1) if w.ndim == 2 else w
        layers.append(LayerOperands(layer.name, xv, w, layer.stride, layer.padding))
    return layers


def _best_run(job, rounds: int) -> tuple[float, float]:
    """(best wall, best process CPU seconds) of job.run() over `rounds` runs after a warm-up."""
    job.run()
    best_wall = best_cpu = float("inf")
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        job.run()
        best_wall = min(best_wall, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best_wall, best_cpu


def route_rates(layers: list[LayerOperands], rounds: int) -> tuple[list[dict], dict[str, str]]:
    """Per route of the target, over the layers whose operand bounds it takes exactly (`layers` of them,
    `mac_share` of the network's MACs), and for "default" (every layer through the route pick_route gives
    it): MACs, best wall and CPU seconds of the GEMMs summed over those layers, GMAC/s both ways. Also the
    default route of each layer."""
    total = sum(kernels.prepare_conv_gemm(op.x, op.w, op.stride, op.padding).macs for op in layers)
    default, rows = {}, []
    for route in ("default", *kernels.available_routes()):
        macs, wall, cpu, taken = 0, 0.0, 0.0, 0
        for op in layers:
            try:
                job = kernels.prepare_conv_gemm(op.x, op.w, op.stride, op.padding,
                                                route=None if route == "default" else route)
            except ValueError:  # the route is not exact (or not available) for this layer's bounds
                continue
            if route == "default":
                default[op.name] = job.route
            layer_wall, layer_cpu = _best_run(job, rounds)
            macs, wall, cpu, taken = macs + job.macs, wall + layer_wall, cpu + layer_cpu, taken + 1
        if taken:
            rows.append({"route": route, "layers": taken, "mac_share": macs / total, "macs": macs,
                         "gemm_wall_s": wall, "gemm_cpu_s": cpu, "gmac_s": macs / wall / 1e9,
                         "gmac_per_cpu_s": macs / cpu / 1e9})
    return rows, default
