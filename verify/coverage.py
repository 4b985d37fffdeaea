"""Functional coverage of the top's benches: named bins, counted per bench run, merged and printed by the suite.

Bins (group: bins), sampled per tile from the job the DUT ran (golden values, verify/tile_job.py) and per clock
cycle from the protocol checker (verify/protocol.py):

    |acc| bits         bit length of |acc| of every output, 0 .. ACC_BITS (log2 buckets)
    |acc'| bits        the same for acc' = acc << align
    |acc'+bias| bits   the same for x = acc' + bias, plus "x = min" / "x = max" (x exactly at the ACC limits)
    view saturation    per operand kind (w, a unsigned, a signed) and width b < N: a view that saturated
    requant ties       "tie +" / "tie -": x·m + r·m_r ≡ 2^(s-1) mod 2^s (s > 0) with the sum > 0 / < 0
    residual           "on" / "off" (requant modes)
    output mode        relu, signed, logits, wide;  clamp: "<mode> lo" / "<mode> hi" (the result clamped there)
    width pair         every (b_w, b_a)
    width switch       between consecutive tiles of one run: "b_w only", "b_a only", "both", "none"
    protocol           the events ProtocolModel counts (start/cfg write while busy, writes while busy, ...)

`targets(p)` names the bins the corner tiles and protocol bench must hit on a design; `python -m verify.suite`
fails when one of them is empty after the whole suite. A record carries `coverage` (bin -> count, every bin of
the universe, zeros included) and `coverage_targets`.
"""
from __future__ import annotations

import numpy as np

from golden.primitives import align_shift, view
from golden.spec import NestedSpec

from .tile_job import TileJob, expected_tile, tile_acc

PROTOCOL_EVENTS = ("reset", "start with cfg write", "start on the registers (no cfg write)",
                   "start on new operands (bank swap)", "start on the previous operands", "start while busy (ignored)",
                   "cfg write while busy (ignored)", "buffer write while busy", "buffer write while idle",
                   "start in the cycle after done")
MODES = ("relu", "signed", "logits", "wide")
SEP = ": "


def _bin(group: str, name) -> str:
    return f"{group}{SEP}{name}"


def universe(spec: NestedSpec) -> list[str]:
    """Every bin of a design with `spec`, in table order."""
    n, acc = spec.n_bits, spec.acc_bits
    widths = range(2, n + 1)
    bins = [_bin(g, b) for g in ("|acc| bits", "|acc'| bits", "|acc'+bias| bits") for b in range(acc + 1)]
    bins += [_bin("|acc'+bias| bits", "x = min"), _bin("|acc'+bias| bits", "x = max")]
    bins += [_bin("view saturation", f"{kind} b={b}") for kind in ("w", "a unsigned", "a signed") for b in widths[:-1]]
    bins += [_bin("requant ties", t) for t in ("tie +", "tie -")]
    bins += [_bin("residual", r) for r in ("on", "off")]
    bins += [_bin("output mode", m) for m in MODES]
    bins += [_bin("clamp", f"{m} {side}") for m in MODES[:3] for side in ("lo", "hi")]
    bins += [_bin("width pair", f"{b_w}/{b_a}") for b_w in widths for b_a in widths]
    bins += [_bin("width switch", s) for s in ("b_w only", "b_a only", "both", "none")]
    bins += [_bin("protocol", e) for e in PROTOCOL_EVENTS]
    return bins


def targets(spec: NestedSpec, k_max: int) -> list[str]:
    """The bins the corner tiles (verify/corners.py) and the protocol bench hit by construction on a design with
    buffer depth `k_max`: the top |acc| bucket of the K_MAX bound 2^(N-1)·(2^N-1)·K_MAX, the top |acc'| bucket of
    the largest |acc'| over the width pairs, x at both ACC limits (buckets ACC-1 and ACC), every saturation,
    tie, residual, mode, clamp, width pair and switch kind but "none", every protocol event."""
    n, acc_bits = spec.n_bits, spec.acc_bits
    acc_top = ((1 << (n - 1)) * ((1 << n) - 1) * k_max).bit_length()
    aligned_top = max(((1 << (b_w - 1)) * ((1 << b_a) - 1) * k_max << align_shift(b_w, b_a, spec)).bit_length()
                      for b_w in range(2, n + 1) for b_a in range(2, n + 1))
    wanted = {_bin("|acc| bits", acc_top), _bin("|acc'| bits", aligned_top), _bin("|acc'+bias| bits", acc_bits - 1),
              _bin("|acc'+bias| bits", acc_bits), _bin("|acc'+bias| bits", "x = min"),
              _bin("|acc'+bias| bits", "x = max"), _bin("width switch", "b_w only"), _bin("width switch", "b_a only"),
              _bin("width switch", "both")}
    groups = ("view saturation", "requant ties", "residual", "output mode", "clamp", "width pair", "protocol")
    return [b for b in universe(spec) if b in wanted or b.split(SEP)[0] in groups]


class Coverage:
    """Bin counters of one bench run (one simulator process)."""

    def __init__(self, spec: NestedSpec):
        self.spec = spec
        self.counts = dict.fromkeys(universe(spec), 0)
        self._last_widths: tuple[int, int] | None = None

    def hit(self, group: str, name, times: int = 1) -> None:
        key = _bin(group, name)
        if key not in self.counts:
            raise KeyError(f"coverage bin {key!r} is not in the universe")
        self.counts[key] += int(times)

    def _buckets(self, group: str, values: np.ndarray) -> None:
        bits = np.frompyfunc(lambda v: int(v).bit_length(), 1, 1)(np.abs(values.astype(object)))
        for b, count in zip(*np.unique(bits.astype(np.int64), return_counts=True)):
            self.hit(group, int(b), count)

    def sample_tile(self, job: TileJob, out_range) -> None:
        """Every bin a tile's operands and golden values hit (out_range: the mode's clamp range, None for wide)."""
        spec, c = self.spec, job.config
        acc = tile_acc(job.weights, job.acts, c.b_w, c.b_a, c.a_signed, spec)
        aligned = acc << align_shift(c.b_w, c.b_a, spec)
        x = aligned + job.bias[:, None]
        for group, v in (("|acc| bits", acc), ("|acc'| bits", aligned), ("|acc'+bias| bits", x)):
            self._buckets(group, v)
        lo, hi = spec.acc_range
        self.hit("|acc'+bias| bits", "x = min", int((x == lo).sum()))
        self.hit("|acc'+bias| bits", "x = max", int((x == hi).sum()))
        for kind, codes, b, signed in (("w", job.weights, c.b_w, True),
                                       ("a signed" if c.a_signed else "a unsigned", job.acts, c.b_a, c.a_signed)):
            if b < spec.n_bits:
                k = spec.n_bits - b
                raw = (codes.astype(np.int64) + (1 << (k - 1))) >> k
                self.hit("view saturation", f"{kind} b={b}", int((raw != view(codes, b, signed, spec)).sum()))
        self.hit("output mode", c.mode)
        self.hit("width pair", f"{c.b_w}/{c.b_a}")
        if self._last_widths is not None:
            dw, da = self._last_widths[0] != c.b_w, self._last_widths[1] != c.b_a
            self.hit("width switch", "both" if dw and da else "b_w only" if dw else "b_a only" if da else "none")
        self._last_widths = (c.b_w, c.b_a)
        if out_range is None:
            return
        self.hit("residual", "on" if c.res_en else "off")
        t = x * job.m[:, None] + (job.resid * job.m_r[:, None] if c.res_en else 0)
        if c.s > 0:
            tie = (t & ((1 << c.s) - 1)) == 1 << (c.s - 1)
            self.hit("requant ties", "tie +", int((tie & (t > 0)).sum()))
            self.hit("requant ties", "tie -", int((tie & (t < 0)).sum()))
        y, clamped = expected_tile(job, spec, out_range)
        self.hit("clamp", f"{c.mode} lo", int((clamped & (y == out_range[0])).sum()))
        self.hit("clamp", f"{c.mode} hi", int((clamped & (y == out_range[1])).sum()))

    def add_events(self, events: dict[str, int]) -> None:
        for name, times in events.items():
            self.hit("protocol", name, times)


def merge(records: list[dict]) -> tuple[dict[str, int], set[str]]:
    """(summed bin counts, union of targets) over the records that carry coverage."""
    counts: dict[str, int] = {}
    wanted: set[str] = set()
    for rec in records:
        for key, times in rec.get("coverage", {}).items():
            counts[key] = counts.get(key, 0) + times
        wanted.update(rec.get("coverage_targets", ()))
    return counts, wanted


def missing_targets(counts: dict[str, int], wanted: set[str]) -> list[str]:
    """The targeted bins no run hit."""
    return sorted(b for b in wanted if not counts.get(b))


def format_coverage(counts: dict[str, int], wanted: set[str], title: str = "functional coverage") -> str:
    """One line per group: bins hit / bins, share, targeted bins hit / targeted, the empty targeted bins;
    then a total line."""
    groups: dict[str, list[str]] = {}
    for key in counts:
        groups.setdefault(key.split(SEP)[0], []).append(key)
    head = f"{'group':<18} {'hit':>5} {'bins':>5} {'share':>7} {'targets hit':>12}  empty targets"
    lines = [title, head, "-" * len(head)]
    for group, keys in groups.items():
        hit = sum(1 for k in keys if counts[k])
        tg = [k for k in keys if k in wanted]
        empty = [k.split(SEP, 1)[1] for k in tg if not counts[k]]
        lines.append(f"{group:<18} {hit:>5} {len(keys):>5} {hit / len(keys):>7.1%} "
                     f"{f'{len(tg) - len(empty)}/{len(tg)}':>12}  {', '.join(empty) or '-'}")
    total_hit = sum(1 for v in counts.values() if v)
    tg_hit = sum(1 for k in wanted if counts.get(k))
    lines.append("-" * len(head))
    lines.append(f"{'total':<18} {total_hit:>5} {len(counts):>5} {total_hit / max(1, len(counts)):>7.1%} "
                 f"{f'{tg_hit}/{len(wanted)}':>12}")
    return "\n".join(lines)
