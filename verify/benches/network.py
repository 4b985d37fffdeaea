"""Whole-network bench (make verify-long): one synthetic ResNet-18 CIFAR image, every conv / linear layer in
order through DqtTop, each layer fed with the RTL's own outputs of the layers before it.

Per layer the RTL output is compared with golden run_layer on the same inputs (bit-exact), every tile's
cycles with sim.tile.os_tile_cycles and the whole layer's counted cycles with the simulator's (verify.layer_flow); at the end the RTL's logits are compared with golden infer() of the
whole network under the same per-layer widths. The RTL has no pooling unit: global average pool (and max
pool, for networks that have one) run in the golden model between RTL layers.
Widths: VERIFY_PLAN (e.g. uniform:4) if set; otherwise switchable layers cycle through width_cycle(spec) (every (b_w, b_a) pair of the candidates, (N, N)
first), so consecutive layers switch width without a reset.
Progress: one line per layer on stdout, and a bar over the network's MACs (rate, time left) on stderr:
tqdm's on a terminal, a plain line at most every 30 s in a log (golden.progress).
"""
from __future__ import annotations

import itertools
import os
import time

import cocotb

from golden.execute import get_backend, run_gap, run_maxpool
from golden.inference import infer
from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool
from golden.plan import parse_plan, plan_from_mapping
from golden.progress import progress_bar
from golden.spec import NestedSpec
from golden.synthetic import synthetic_images, synthetic_model

from ..layer_flow import run_layer_on_rtl
from ..layer_job import layer_job
from ..manifest import DutParams
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..records import write_record
from ..tb.finish import finish
from ..tb.top import start_top

def width_cycle(spec: NestedSpec) -> tuple[tuple[int, int], ...]:
    """Every (b_w, b_a) pair over the widths W = (N, then spec.candidates other than N, descending).

    cycle = product(W, W) in lexicographic order, so (N, N) comes first and the pairs are all distinct: with more
    than one width, consecutive entries (and the wrap-around from the last to the first) always differ in b_w or
    b_a, i.e. consecutive switchable layers change width. The smallest candidate (2 bits) is included: the
    synthetic model's activations do not all view to 0 at 2 bits (its logits at b_a = 2 differ from those at
    b_a = 4), so 2-bit layers still compare non-trivial outputs.
    """
    widths = (spec.n_bits, *sorted((b for b in spec.candidates if b != spec.n_bits), reverse=True))
    return tuple(itertools.product(widths, widths))


def width_plan(model, spec: NestedSpec):
    """Plan giving switchable layer i the widths width_cycle(spec)[i mod len] (spec: the DUT manifest's);
    stem and classifier at N."""
    cycle = width_cycle(spec)
    names = [layer.name for layer in model.network.switchable_layers]
    mapping = {name: list(cycle[i % len(cycle)]) for i, name in enumerate(names)}
    return plan_from_mapping("verify-long", mapping, model.network, model.spec)


@cocotb.test()
async def network_through_rtl(dut):
    t_all, p = time.perf_counter(), DutParams.load()
    seed = env_int("seed", 0)
    model = synthetic_model(os.environ.get("VERIFY_MODEL", "resnet18"), seed)
    image = synthetic_images(model.network, 1, seed)
    plan = parse_plan(os.environ["VERIFY_PLAN"], model.network, model.spec) if os.environ.get("VERIFY_PLAN") \
        else width_plan(model, p.spec)
    widths = plan.layer_widths(model.network, model.spec)
    kernels = get_backend("numba")
    drv, mon = await start_top(dut, p)
    tensors, cycles, layer_boards = {INPUT: image}, Scoreboard("network tile cycles"), []
    with progress_bar(total=model.network.macs, desc="verify-long", unit="MAC", unit_scale=True) as bar:
        for op in model.network.ops:
            t0 = time.perf_counter()
            if isinstance(op, GlobalAvgPool):
                tensors[op.name] = run_gap(kernels, op, model.pools[op.name], tensors[op.input], model.spec).y
                continue
            if isinstance(op, MaxPool):
                tensors[op.name] = run_maxpool(kernels, op, tensors[op.input]).y
                continue
            assert isinstance(op, Conv)
            b_w, b_a = widths[op.name]
            job = layer_job(model, op.name, tensors[op.input], b_w, b_a, tensors[op.residual] if op.residual else None)
            got, figures = await run_layer_on_rtl(drv, mon, job, cycles)
            board = Scoreboard(op.name)
            board.check_array((), {"layer": op.name, "b_w": b_w, "b_a": b_a}, job.expected, got)
            tensors[op.name] = got.reshape(1, op.out_ch, *op.out_hw)
            secs = time.perf_counter() - t0
            with bar.external_write_mode():
                print(f"verify-long: {op.name:22} w{b_w}a{b_a} {job.mode:6} tiles {figures['tiles']:4} "
                      f"RTL cycles {figures['rtl_cycles']:8} sim cycles {figures['sim_cycles']:8} "
                      f"mismatches {board.mismatches:6}  {secs:6.1f} s", flush=True)
            bar.set_postfix_str(op.name)
            bar.update(op.macs)
            write_record(board, secs, b_w=b_w, b_a=b_a, **figures)  # keep going: later layers still compare exactly
            layer_boards.append(board)
    golden = infer(model, image, plan=plan)
    final = Scoreboard("network logits vs golden infer")
    last = model.network.ops[-1].name
    final.check_array((), {"plan": "verify-long"}, golden.logits[0], tensors[last].reshape(-1))
    write_record(final, time.perf_counter() - t_all)
    finish(cycles, t_all)
    for board in [*layer_boards, final]:
        board.assert_clean()
