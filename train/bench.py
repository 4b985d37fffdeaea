"""The Pareto study (`cli.py train-bench`, `make train-bench`): dynamic precision against static plans on the
graded-difficulty digits benchmark (train/graded.py), every accuracy from the golden integer model on the test
split with 95 % bootstrap CIs (train/bootstrap.py).

Steps:
1. Float pre-training of the graded16 ResNet, BatchNorm folding, calibration, DQT training (train/dqt.py, joint
   controller at the middle target). Exported as models/backbone.safetensors: the static plans run on it, and
   its controller is the "joint" dynamic point (the old recipe).
2. Static plans: uniform 2..8, and the greedy sensitivity-ordered path (train/plan_search.py), searched on the
   validation split with the float32 fake-quant forward; each written as models/<name>.safetensors (the
   controller-free backbone) and plans/<name>.json.
3. Dynamic: per cost target, budgeted controllers (one per seed, the best on validation kept), backbone frozen
   (train/controller_fit.py), exported as models/dynamic_t<target>.safetensors; the headroom analysis
   (train/headroom.py) and a controller imitating the validation split's severity-level allocation
   (train/controller_imitate.py), exported as models/level_t<target>.safetensors.
4. Golden inference of every point on the test split; per dynamic point the comparator = the static plan with
   the best *validation* accuracy at ≤ its test BitOPs, and the paired bootstrap CI of the difference.
   (The "oracle" comparator, best static by test accuracy, is listed too; nothing is chosen by it.)
5. Per point, per-image cycles, latency and energy on a 16×16 array, fixed and fused PE modes (sim library).
6. results.csv, results.json, allocations.csv, plots (PDF, SVG, PNG), plans/*.json, test_images.npy,
   test_labels.npy, test_levels.npy.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from golden.atomic import atomic_write_bytes
from golden.inference import infer
from golden.ir import INPUT, GlobalAvgPool
from golden.model import NestedModel
from golden.model_file import load_model, save_model
from golden.plan import plan_from_mapping
from golden.progress import progress_bar
from golden.spec import DEFAULT_SPEC

from .arch import arch as arch_by_name
from .bench_report import write_bench_outputs
from .bootstrap import accuracy_ci, difference_ci, resample_index
from .calibrate import calibrate
from .controller_fit import BudgetConfig, train_controller
from .controller_imitate import ImitationConfig, imitate_widths, width_targets
from .dqt import DQTConfig, train_dqt
from .evaluate import EVAL_BATCH, input_codes
from .export import evaluation_copy, export_model_file
from .float_train import FloatConfig, float_accuracy, train_float
from .fold import fold_resnet
from .graded import LEVELS, GradedBench, build_graded
from .headroom import (apply_level_allocation, level_allocation, per_image_oracle,
                       severity_predictability)
from .nested import NestedNet
from .plan_search import StaticPoint, best_under, greedy_plans, plan_bitops
from .resnet import ResNet
from .runtime import limit_threads

PE_MODES = ("fixed", "fused")
ARRAY = "16x16"


@dataclass(frozen=True)
class BenchConfig:
    """targets: relative BitOPs budgets of the dynamic controllers (switchable layers, 1 = all at N bits);
    draws: per-split draw counts overriding train/graded.DRAWS (quick runs and tests);
    controller_seeds: one controller per seed and target, the one with the best validation accuracy kept."""

    targets: tuple[float, ...] = (0.07, 0.10, 0.14, 0.20)
    uniform: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
    float_epochs: int = 10
    dqt_epochs: int = 6
    controller_epochs: int = 6
    controller_seeds: tuple[int, ...] = (0, 1)
    seed: int = 0
    backend: str = "numba"
    draws: dict = field(default_factory=dict)

    def validate(self) -> None:
        if len(self.targets) < 1 or any(not 0 < t <= 1 for t in self.targets):
            raise ValueError(f"targets must be in (0, 1], got {self.targets}")
        for b in self.uniform:
            DEFAULT_SPEC.check_width(b, "uniform")
        if len(self.controller_seeds) < 1:
            raise ValueError("controller_seeds must name at least one seed")


@dataclass
class Point:
    """One operating point on the test split (golden)."""

    name: str
    family: str                      # "uniform", "greedy", "dynamic", "joint"
    model_path: Path
    plan: str | None                 # sim --plan argument (None: --dynamic)
    correct: np.ndarray
    bitops: float
    avg_bits: float
    widths: list
    val_acc: float | None = None
    target: float | None = None
    ci: tuple[float, float] = (0.0, 0.0)
    hardware: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return 100.0 * float(self.correct.mean())


def _save_npy(path: Path, a: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, a, allow_pickle=False)


@torch.no_grad()
def static_logits(net: NestedNet, codes: torch.Tensor, widths: dict) -> torch.Tensor:
    """Logits of the fake-quant net (its dtype) at static `widths` on fixed input codes."""
    net = net.eval()
    return torch.cat([net(codes[i:i + EVAL_BATCH], widths=widths).logits for i in range(0, len(codes), EVAL_BATCH)])


def val_evaluator(net: NestedNet, codes: torch.Tensor, labels: torch.Tensor
                  ) -> Callable[[dict], tuple[float, float]]:
    """widths -> (mean cross-entropy, accuracy %) of the float32 fake-quant net on fixed input codes."""

    def evaluate(widths: dict) -> tuple[float, float]:
        logits = static_logits(net, codes, widths)
        return float(F.cross_entropy(logits, labels)), 100.0 * float((logits.argmax(1) == labels).float().mean())

    return evaluate


@torch.no_grad()
def channel_means(net: NestedNet, codes: torch.Tensor, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """{tensor name: (images, channels) float64 channel means} of backbone tensors at N bits (the fake-quant
    forward of `net`; e.g. the controller input, whose golden GAP is these means requantized)."""
    n = net.spec.n_bits
    parts: dict[str, list] = {name: [] for name in names}
    for i in range(0, len(codes), EVAL_BATCH):
        tensors = {INPUT: (codes[i:i + EVAL_BATCH], net.input_step)}
        for op in net.network.ops:
            tensors[op.name] = net.backbone.run_op(op, tensors, True, (n, n), {})
        for name in names:
            q, step = tensors[name]
            parts[name].append((q * step).flatten(2).mean(2).double().numpy())
    return {name: np.concatenate(rows) for name, rows in parts.items()}


def train_backbone(bench: GradedBench, cfg: BenchConfig, log) -> NestedNet:
    """Step 1 of the module docstring."""
    data = bench.dataset()
    arch = arch_by_name("graded16").with_input(data.input_shape).with_classes(data.num_classes)
    network = arch.network()
    log(f"graded digits: {len(bench.train)} train / {len(bench.val)} val / {len(bench.test)} test images; arch "
        f"{arch.name} ({network.macs / 1e6:.3f} MMACs/img, {len(network.switchable_layers)} switchable layers)")
    torch.manual_seed(cfg.seed)
    float_model = train_float(ResNet(arch), data.train, FloatConfig(epochs=cfg.float_epochs, seed=cfg.seed), log)
    log(f"float (BN) test accuracy {float_accuracy(float_model, data.test):.2f}%")
    net = NestedNet(network, DEFAULT_SPEC, fold_resnet(float_model, network), 1.0, controller=True, seed=cfg.seed)
    calibrate(net, data.train.images[:512])
    mid = sorted(cfg.targets)[len(cfg.targets) // 2]
    train_dqt(net, data.train, DQTConfig(epochs=cfg.dqt_epochs, beta=2.0, cost_target=mid, seed=cfg.seed), log)
    return net


def export_static_point(backbone: NestedModel, name: str, widths: dict, out: Path) -> tuple[Path, Path]:
    """The files of static point `name` ("uniform:4", "greedy:19"): models/<name>.safetensors, the backbone
    without its controller (the network a static plan runs, written by golden.model_file.save_model like every
    exported model), and plans/<name>.json, its per-layer widths (a `sim --plan` / VERIFY_PLAN file); ':' -> '_'
    in the file names. Returns (model path, plan path)."""
    stem = name.replace(":", "_")
    model_path = out / "models" / f"{stem}.safetensors"
    plan_path = out / "plans" / f"{stem}.json"
    save_model(replace(backbone, controller=None), model_path)
    atomic_write_bytes(plan_path, (json.dumps({n: list(w) for n, w in widths.items()}, indent=1) + "\n").encode())
    return model_path, plan_path


def _golden_point(model: NestedModel, images: np.ndarray, labels: np.ndarray, backend: str, name: str, family: str,
                  model_path: Path, plan: str | None, widths: dict | None) -> Point:
    plan_obj = None if widths is None else plan_from_mapping(name, widths, model.network, model.spec)
    res = infer(model, images, plan=plan_obj, dynamic=widths is None, backend=backend)
    return Point(name, family, model_path, plan, res.predictions == labels, float(res.bitops), float(res.avg_bits),
                 res.widths)


def simulate_point(model: NestedModel, point: Point) -> dict:
    """{pe_mode: {quantity: {mean, std, min, max}}} of per-image total cycles, latency (ms) and energy (µJ) on
    the 16×16 array (sim.simulate.simulate_network; the controller counted for dynamic points)."""
    from sim.session import make_config
    from sim.simulate import simulate_network

    controller = model.controller.network if point.plan is None else None
    out = {}
    for mode in PE_MODES:
        config = make_config(pe=ARRAY, pe_mode=mode, spec=model.spec)
        cache: dict[tuple, dict] = {}
        rows = []
        for widths in point.widths:
            key = tuple(sorted((k, tuple(int(b) for b in v)) for k, v in widths.items()))
            if key not in cache:
                cache[key] = simulate_network(model.network, config, widths, None, controller).totals()
            rows.append(cache[key])
        out[mode] = {q: _spread(np.array([r[q] for r in rows], np.float64))
                     for q in ("total_cycles", "latency_ms", "energy_uj")}
    return out


def _spread(values: np.ndarray) -> dict:
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max())}


def allocation_stats(point: Point, network, levels: np.ndarray, kinds: np.ndarray, spec) -> dict:
    """Per-image allocation statistics of a dynamic point: distinct allocations, share of images per width per
    layer, mean BitOPs (switchable layers only) and MAC-weighted bits per severity level, accuracy per level,
    Pearson/Spearman correlation of image BitOPs with level, mean bits per corruption kind."""
    from scipy.stats import pearsonr, spearmanr

    layers = [layer.name for layer in network.switchable_layers]
    macs = {layer.name: layer.macs for layer in network.switchable_layers}
    allocs = [tuple(w[name][0] for name in layers) for w in point.widths]
    bitops = np.array([plan_bitops({n: w[n] for n in layers}, macs) for w in point.widths])
    bits = np.array([sum(macs[n] * a for n, a in zip(layers, alloc)) / sum(macs.values()) for alloc in allocs])
    distinct, counts = np.unique(np.array(allocs), axis=0, return_counts=True)
    order = np.argsort(-counts)
    share = {name: {str(b): float(np.mean([a[i] == b for a in allocs])) for b in spec.candidates}
             for i, name in enumerate(layers)}
    per_level = {str(lv): {"images": int((levels == lv).sum()),
                           "mean_switchable_mbitops": float(bitops[levels == lv].mean() / 1e6),
                           "mean_bits": float(bits[levels == lv].mean()),
                           "accuracy": 100.0 * float(point.correct[levels == lv].mean())}
                 for lv in range(LEVELS + 1) if (levels == lv).any()}
    constant = bitops.std() == 0
    return {
        "distinct_allocations": int(len(distinct)),
        "top_allocations": [{"widths": dict(zip(layers, map(int, distinct[i]))), "images": int(counts[i])}
                            for i in order[:5]],
        "share_per_layer": share,
        "per_level": per_level,
        "pearson_bitops_level": None if constant else float(pearsonr(bitops, levels)[0]),
        "spearman_bitops_level": None if constant else float(spearmanr(bitops, levels)[0]),
        "mean_bits_per_kind": {str(int(k)): float(bits[kinds == k].mean()) for k in np.unique(kinds)},
    }


def run_bench(out_dir, cfg: BenchConfig = BenchConfig(), progress: Callable[[str], None] = print) -> dict:
    """The whole study of the module docstring; returns the results.json body."""
    cfg.validate()
    start = time.perf_counter()

    def log(line: str) -> None:
        progress(f"[{time.perf_counter() - start:7.1f} s] {line}")

    limit_threads()
    out = Path(out_dir)
    for sub in ("", "models", "plans"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    bench = build_graded(cfg.seed, cfg.draws)
    net = train_backbone(bench, cfg, log)
    spec, network = net.spec, net.network
    backbone_path = out / "models" / "backbone.safetensors"
    backbone = export_model_file(net, backbone_path)
    test_codes = input_codes(net, bench.test.split).to(torch.int64).numpy()
    labels = bench.test.split.labels.numpy()
    _save_npy(out / "test_images.npy", test_codes)
    _save_npy(out / "test_labels.npy", labels)
    _save_npy(out / "test_levels.npy", bench.test.level)
    val_codes = input_codes(net, bench.val.split).float()
    evaluate = val_evaluator(net, val_codes, bench.val.split.labels)
    macs = {layer.name: layer.macs for layer in network.switchable_layers}
    log("greedy static plan search on the validation split")
    statics = [StaticPoint(f"uniform:{b}", {n: (b, b) for n in macs}, *evaluate({n: (b, b) for n in macs}),
                           plan_bitops({n: (b, b) for n in macs}, macs)) for b in cfg.uniform]
    statics += greedy_plans(macs, spec.candidates, evaluate, log)
    points: list[Point] = []
    with progress_bar(total=len(statics), desc="static plans", unit="point") as bar:
        for s in statics:
            bar.set_postfix_str(s.name)
            family = s.name.split(":")[0]
            model_path, plan_path = export_static_point(backbone, s.name, s.widths, out)
            p = _golden_point(backbone, test_codes, labels, cfg.backend, s.name, family, model_path, str(plan_path),
                              s.widths)
            p.val_acc = s.val_acc
            points.append(p)
            bar.update(1)
    log(f"golden test accuracy of {len(points)} static plans done")
    val_labels = bench.val.split.labels.numpy()
    val_correct = np.stack([static_logits(net, val_codes, s.widths).argmax(1).numpy() == val_labels
                            for s in statics])
    analysis = {"val_correct": val_correct, "predictability": _severity_predictability(net, bench, log)}
    joint = _golden_point(backbone, test_codes, labels, cfg.backend, "joint", "joint", backbone_path, None, None)
    joint.val_acc = _dynamic_val_acc(net, val_codes, bench.val.split.labels)
    points.append(joint)
    with progress_bar(total=len(cfg.targets), desc="dynamic points", unit="point") as bar:
        for t in cfg.targets:
            trials = []
            for seed in cfg.controller_seeds:
                dyn, lam = train_controller(net, bench.train.split,
                                            BudgetConfig(target=t, epochs=cfg.controller_epochs, seed=seed), log)
                trials.append((_dynamic_val_acc(dyn, val_codes, bench.val.split.labels), seed, dyn, lam))
            val_acc, seed, dyn, lam = max(trials, key=lambda trial: trial[0])
            log(f"controller t={t:.3f}: validation accuracy per seed "
                + ", ".join(f"{s}: {a:.2f}%" for a, s, _, _ in trials) + f"; keeping seed {seed}")
            path = out / "models" / f"dynamic_t{t:.3f}.safetensors"
            model = export_model_file(dyn, path)
            p = _golden_point(model, test_codes, labels, cfg.backend, f"dynamic:{t:.3f}", "dynamic", path, None,
                              None)
            p.target, p.val_acc, p.extra["lambda"] = t, val_acc, lam
            p.extra["controller_seeds"] = {"chosen": seed, "val_acc": {str(s): a for a, s, _, _ in trials}}
            points.append(p)
            with bar.external_write_mode():
                log(f"dynamic t={t:.3f}: test {p.accuracy:.2f}% at {p.bitops / 1e6:.3f} MBitOPs")
            bar.update(1)
    points += _level_controllers(net, statics, analysis, bench, cfg, out, test_codes, labels, val_codes, log)
    body = _summarize(points, statics, backbone, bench, cfg, log, analysis)
    body["seconds"] = time.perf_counter() - start
    write_bench_outputs(out, body, points)
    log(f"wrote {out}/results.csv, results.json, allocations.csv, pareto.*, bits_vs_strength.*")
    return body


@torch.no_grad()
def _dynamic_val_acc(net: NestedNet, codes: torch.Tensor, labels: torch.Tensor) -> float:
    from .nested import hard_gates

    net64 = evaluation_copy(net)
    codes = codes.double()
    pred = torch.cat([net64(codes[i:i + EVAL_BATCH], gates=hard_gates).logits.argmax(1)
                      for i in range(0, len(codes), EVAL_BATCH)])
    return 100.0 * float((pred == labels).float().mean())


def _level_controllers(net: NestedNet, statics: list[StaticPoint], analysis: dict, bench: GradedBench,
                       cfg: BenchConfig, out: Path, test_codes: np.ndarray, labels: np.ndarray,
                       val_codes: torch.Tensor, log) -> list[Point]:
    """Per target t: the severity-level allocation over the static plans of candidate widths, chosen on the
    validation split at switchable BitOPs t·(all-N), imitated on the training images by a controller
    (train/controller_imitate.py) and exported as models/level_t<t>.safetensors (family "level")."""
    spec = net.spec
    usable = [i for i, s in enumerate(statics) if all(b in spec.candidates for b, _ in s.widths.values())]
    cost = np.array([statics[i].bitops for i in usable])
    full = plan_bitops({layer.name: (spec.n_bits, spec.n_bits) for layer in net.switchable},
                       {layer.name: layer.macs for layer in net.switchable})
    train_codes = net.input_codes(bench.train.split.images).float()
    points = []
    for t in cfg.targets:
        plans = level_allocation(analysis["val_correct"][usable], cost, bench.val.level, t * full)
        if plans is None:
            log(f"level controller t={t:.3f}: no static plan fits the budget")
            continue
        chosen = {lv: statics[usable[i]] for lv, i in plans.items()}
        log(f"level controller t={t:.3f}: plans per severity level (validation) "
            + ", ".join(f"{lv}: {s.name}" for lv, s in sorted(chosen.items())))
        targets = width_targets(net, [chosen[int(lv)].widths for lv in bench.train.level])
        dyn = imitate_widths(net, train_codes, targets, ImitationConfig(seed=cfg.seed), log)
        path = out / "models" / f"level_t{t:.3f}.safetensors"
        model = export_model_file(dyn, path)
        p = _golden_point(model, test_codes, labels, cfg.backend, f"level:{t:.3f}", "level", path, None, None)
        p.target, p.val_acc = t, _dynamic_val_acc(dyn, val_codes, bench.val.split.labels)
        p.extra["level_plans"] = {str(lv): s.name for lv, s in chosen.items()}
        log(f"level controller t={t:.3f}: test {p.accuracy:.2f}% at {p.bitops / 1e6:.3f} MBitOPs")
        points.append(p)
    return points


def _severity_predictability(net: NestedNet, bench: GradedBench, log) -> dict:
    """Spearman ρ(level, predicted level) on the validation split, predictors fit on the train split, from the
    channel means of the controller input (what the §1 controller sees) and of the last global-average-pool
    output (what the classifier sees)."""
    gap = [op.name for op in net.network.ops if isinstance(op, GlobalAvgPool)][-1]
    names = (net.network.controller_input, gap)
    train_x = channel_means(net, net.input_codes(bench.train.split.images).float(), names)
    val_x = channel_means(net, net.input_codes(bench.val.split.images).float(), names)
    out = {f"{label}:{name}": severity_predictability(train_x[name], bench.train.level, val_x[name], bench.val.level)
           for label, name in zip(("controller_input", "last_gap"), names)}
    log("severity predictability (Spearman rho on validation): " + ", ".join(f"{k} {v:+.2f}" for k, v in out.items()))
    return out


def _headroom(p: Point, points: list[Point], statics: list[StaticPoint], analysis: dict, bench: GradedBench,
              fixed: float, index: np.ndarray, comparator: Point | None) -> dict:
    """At dynamic point p's switchable BitOPs: the per-image oracle's and the severity-level allocation's
    validation accuracy over the static plans (train/headroom.py), and the level allocation (chosen on
    validation) measured on the test split against the static comparator."""
    cost = np.array([s.bitops for s in statics])
    budget = p.bitops - fixed
    oracle = per_image_oracle(analysis["val_correct"], cost, budget)
    plans = level_allocation(analysis["val_correct"], cost, bench.val.level, budget)
    row = {"budget_mbitops": p.bitops / 1e6, "oracle_val_acc": None if oracle is None else oracle[0],
           "level_allocation": None}
    if plans is None:
        return row
    val_right, _ = apply_level_allocation(analysis["val_correct"], cost, bench.val.level, plans)
    by_name = {q.name: q for q in points}
    test_correct = np.stack([by_name[s.name].correct for s in statics])
    test_right, test_cost = apply_level_allocation(test_correct, cost, bench.test.level, plans)
    level = {"plans": {str(lv): statics[i].name for lv, i in plans.items()}, "val_acc": 100.0 * float(val_right.mean()),
             "test_acc": 100.0 * float(test_right.mean()), "test_mbitops": (test_cost + fixed) / 1e6}
    if comparator is not None:
        level["diff_vs_static"] = 100.0 * float(test_right.mean() - comparator.correct.mean())
        level["diff_ci_vs_static"] = difference_ci(test_right, comparator.correct, index)
    row["level_allocation"] = level
    return row


def _summarize(points: list[Point], statics: list[StaticPoint], backbone: NestedModel, bench: GradedBench,
               cfg: BenchConfig, log, analysis: dict) -> dict:
    """CIs, comparators, allocation statistics, headroom and hardware numbers of every point (results.json
    body)."""
    index = resample_index(len(bench.test), seed=cfg.seed)
    levels = bench.test.level
    for p in points:
        p.ci = accuracy_ci(p.correct, index)
        p.extra["accuracy_per_level"] = {str(lv): 100.0 * float(p.correct[levels == lv].mean())
                                         for lv in range(LEVELS + 1) if (levels == lv).any()}
    fixed = points[0].bitops - statics[0].bitops  # stem + classifier at N bits: the same in every plan
    static_points = {p.name: p for p in points if p.family in ("uniform", "greedy")}
    comparisons = []
    for p in points:
        if p.family not in ("dynamic", "joint", "level"):
            continue
        chosen = best_under(statics, p.bitops - fixed)
        fitting = [s for s in static_points.values() if s.bitops <= p.bitops]
        oracle = max(fitting, key=lambda s: (s.accuracy, -s.bitops), default=None)
        row = {"dynamic": p.name, "dynamic_acc": p.accuracy, "dynamic_ci": p.ci, "dynamic_mbitops": p.bitops / 1e6}
        for label, s in (("static", None if chosen is None else static_points[chosen.name]), ("oracle", oracle)):
            if s is None:
                row[label] = None
                continue
            low, high = difference_ci(p.correct, s.correct, index)
            row[label] = {"name": s.name, "acc": s.accuracy, "ci": s.ci, "mbitops": s.bitops / 1e6,
                          "diff": p.accuracy - s.accuracy, "diff_ci": (low, high), "dynamic_wins": low > 0}
        row["static_val_acc"] = None if chosen is None else chosen.val_acc
        row["headroom"] = _headroom(p, points, statics, analysis, bench, fixed, index,
                                    None if chosen is None else static_points[chosen.name])
        comparisons.append(row)
        p.extra["allocation"] = allocation_stats(p, backbone.network, bench.test.level, bench.test.kind,
                                                 backbone.spec)
    log("simulating every point on the 16x16 array (fixed and fused PE modes)")
    for p in points:
        p.hardware = simulate_point(load_model(p.model_path), p)
    wins = {family: sum(1 for c in comparisons if c["dynamic"].startswith(f"{family}:") and c["static"] and
                        c["static"]["dynamic_wins"]) for family in ("dynamic", "level")}
    return {"config": {**asdict(cfg), "targets": list(cfg.targets)}, "test_images": len(bench.test),
            "val_images": len(bench.val), "train_images": len(bench.train), "comparisons": comparisons,
            "dynamic_wins_over_best_static": wins, "bootstrap_resamples": int(index.shape[0]),
            "severity_predictability": analysis["predictability"]}
