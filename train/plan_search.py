"""Static per-layer plans for the Pareto study: a greedy, sensitivity-ordered descent on the validation split.

Start with every switchable layer at the widest candidate. At each step try lowering each layer by one
candidate (b → the next narrower width) and keep the move with the smallest validation-loss increase per BitOP
saved,

    score(l) = (loss(plan with layer l lowered) − loss(plan)) / (MACs_l · (b_l² − b'_l²)),

until every layer is at the narrowest candidate. The path (L·(K−1) + 1 plans) is a frontier from all-N to
all-narrowest; `best_under` picks, for a BitOPs budget, the path or uniform plan with the best validation
accuracy. The test split is never looked at here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Widths = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class StaticPoint:
    """A static plan with its validation loss / accuracy (%) and BitOPs per image (switchable layers only:
    the stem and classifier add the same constant to every plan)."""

    name: str
    widths: Widths
    val_loss: float
    val_acc: float
    bitops: float


def plan_bitops(widths: Widths, macs: dict[str, int]) -> float:
    """Σ_l MACs_l · b_w,l · b_a,l over the plan's layers."""
    return float(sum(macs[name] * b_w * b_a for name, (b_w, b_a) in widths.items()))


def greedy_plans(macs: dict[str, int], candidates: Sequence[int], evaluate: Callable[[Widths], tuple[float, float]],
                 progress: Callable[[str], None] | None = None) -> list[StaticPoint]:
    """The greedy path of the module docstring. `macs`: switchable layer -> MACs; `evaluate(widths)` ->
    (validation loss, validation accuracy %)."""
    cands = sorted(candidates)
    if not macs or not cands:
        raise ValueError("greedy_plans needs at least one layer and one candidate width")
    current = {name: (cands[-1], cands[-1]) for name in macs}
    loss, acc = evaluate(current)
    path = [StaticPoint("greedy:0", dict(current), loss, acc, plan_bitops(current, macs))]
    while True:
        best = None
        for name, (b, _) in current.items():
            i = cands.index(b)
            if i == 0:
                continue
            trial = {**current, name: (cands[i - 1], cands[i - 1])}
            t_loss, t_acc = evaluate(trial)
            score = (t_loss - loss) / (macs[name] * (b * b - cands[i - 1] ** 2))
            if best is None or score < best[0]:
                best = (score, trial, t_loss, t_acc)
        if best is None:
            return path
        _, current, loss, acc = best
        path.append(StaticPoint(f"greedy:{len(path)}", dict(current), loss, acc, plan_bitops(current, macs)))
        if progress:
            progress(f"greedy plan {len(path) - 1}: {plan_bitops(current, macs) / 1e6:.3f} MBitOPs (switchable), "
                     f"val loss {loss:.4f}, val acc {acc:.2f}%")


def best_under(points: Sequence[StaticPoint], budget: float) -> StaticPoint | None:
    """The point with the highest validation accuracy among those with bitops ≤ budget (ties: fewer BitOPs);
    None when none fits."""
    fitting = [p for p in points if p.bitops <= budget]
    return max(fitting, key=lambda p: (p.val_acc, -p.bitops), default=None)
