"""How much a per-image width allocation could gain at best over static plans (the Pareto study, train/bench.py),
from per-image correctness of the static plans; plans are chosen on the validation split only.

- `per_image_oracle`: an allocator that knows, for every image, which static plans classify it right. Every
  image starts at the cheapest plan; an image wrong there moves to its cheapest right plan, cheapest moves
  first, while the mean cost stays within the budget. Each move buys exactly one right image, so taking the
  moves in ascending cost maximizes the count (a unit-value knapsack): an upper bound for any controller that
  picks among these plans.
- `level_allocation`: an allocator that knows only each image's corruption severity level ℓ and gives every
  image of level ℓ the static plan p_ℓ, maximizing Σ_ℓ right(p_ℓ, ℓ) subject to Σ_ℓ n_ℓ·cost(p_ℓ) ≤ n·budget
  (a multiple-choice knapsack, solved exactly over the (cost, right) Pareto frontier level by
  level).
- `severity_predictability`: Spearman ρ between the severity level and its prediction from features (e.g.
  the controller's input, the channel means of the stem output) by gradient-boosted trees fit on another split.
"""
from __future__ import annotations

import numpy as np


def _check(correct: np.ndarray, cost: np.ndarray) -> None:
    if correct.ndim != 2 or correct.shape[0] != cost.shape[0] or correct.shape[0] < 1:
        raise ValueError(f"correct must be (plans, images) and cost (plans,), got {correct.shape}, {cost.shape}")


def per_image_oracle(correct: np.ndarray, cost: np.ndarray, budget: float) -> tuple[float, float] | None:
    """(accuracy %, mean cost) of the per-image oracle (module docstring) at mean cost ≤ `budget`;
    None when even the cheapest plan costs more than the budget.

    correct: (P, n) bool, image i right under plan p; cost: (P,) cost per image of plan p."""
    _check(correct, cost)
    cheapest = int(np.argmin(cost))
    if cost[cheapest] > budget:
        return None
    right = correct[cheapest].copy()
    masked = np.where(correct, cost[:, None], np.inf)       # cost of plan p for image i if right there
    moves = np.sort(masked.min(axis=0)[~right] - cost[cheapest])
    moves = moves[np.isfinite(moves)]
    n = correct.shape[1]
    spare = (budget - cost[cheapest]) * n
    taken = int(np.searchsorted(np.cumsum(moves), spare, side="right"))
    spent = float(moves[:taken].sum())
    return 100.0 * (int(right.sum()) + taken) / n, float(cost[cheapest] + spent / n)


def level_allocation(correct: np.ndarray, cost: np.ndarray, levels: np.ndarray, budget: float) -> dict | None:
    """{level: plan index} maximizing the right images when every image of a level gets that level's plan, at
    mean cost ≤ `budget` (module docstring); None when no allocation fits. Ties: the cheaper allocation."""
    _check(correct, cost)
    n = correct.shape[1]
    frontier = [(0.0, 0, {})]                                # (total cost, right images, level -> plan)
    for level in np.unique(levels):
        mask = levels == level
        count, right = int(mask.sum()), correct[:, mask].sum(axis=1)
        merged = sorted(((c + count * float(cost[p]), r + int(right[p]), {**plans, int(level): p})
                         for c, r, plans in frontier for p in range(len(cost))), key=lambda t: (t[0], -t[1]))
        frontier, best = [], -1
        for item in merged:                                  # keep the (cost, right) Pareto frontier
            if item[1] > best and item[0] <= budget * n + 1e-9:
                frontier.append(item)
                best = item[1]
    if not frontier:
        return None
    return max(frontier, key=lambda t: (t[1], -t[0]))[2]


def apply_level_allocation(correct: np.ndarray, cost: np.ndarray, levels: np.ndarray, plans: dict
                           ) -> tuple[np.ndarray, float]:
    """(per-image right (n,) bool, mean cost) of giving each image its level's plan."""
    index = np.array([plans[int(lv)] for lv in levels])
    return correct[index, np.arange(len(levels))], float(cost[index].mean())


def severity_predictability(train_x: np.ndarray, train_level: np.ndarray, eval_x: np.ndarray,
                            eval_level: np.ndarray, seed: int = 0) -> float:
    """Spearman ρ(level, prediction) on the eval features of sklearn's HistGradientBoostingRegressor fit on the
    train features (rows: images). One OpenMP thread: its pool next to torch's oversubscribed the 2 cores."""
    from scipy.stats import spearmanr
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        model = HistGradientBoostingRegressor(max_iter=200, random_state=seed).fit(train_x, train_level)
        return float(spearmanr(model.predict(eval_x), eval_level)[0])
