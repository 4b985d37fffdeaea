"""The per-layer table of a `sim` report as LaTeX (table.tex) and Markdown (table.md), returned as text.

Both hold the same columns and pre-formatted numbers: layer, GEMM shape M, K, N, widths b_w/b_a, cycles,
stall cycles, utilization (%), MBitOPs, energy (µJ); then a total row. Integers carry thousands separators
(LaTeX: a thin space `\\,`; Markdown: a comma). table.tex needs `booktabs` (and `longtable` for networks of
more than LONGTABLE_ROWS rows, which become a `longtable` that breaks across pages with its header
repeated); shorter networks give a `table` float; both at \\small with 3 pt column gaps (ResNet-50's
table is about 435 pt wide: a two-column paper's full text width, `table*`, not one column). Every LaTeX
special character of a layer name (`\\ { } $ & # ^ _ % ~`) is escaped, and the caption and label come from the run.
"""
from __future__ import annotations

import re

LONGTABLE_ROWS = 40
TEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}
TEX_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in TEX_SPECIALS))
HEADER = ("Layer", "$M$", "$K$", "$N$", "$b_w/b_a$", "Cycles", "Stall", r"Util.\ (\%)", "MBitOPs",
          r"Energy ($\mu$J)")
MD_HEADER = ("Layer", "M", "K", "N", "b_w/b_a", "Cycles", "Stall", "Util. (%)", "MBitOPs", "Energy (µJ)")
COLUMN_SPEC = "lrrrcrrrrr"


def tex_escape(text: str) -> str:
    """`text` with every LaTeX special character replaced by its escape (TEX_SPECIALS), in one pass."""
    return TEX_SPECIAL_RE.sub(lambda m: TEX_SPECIALS[m.group(0)], str(text))


def thousands(value: float, sep: str) -> str:
    """A rounded integer with `sep` between groups of three digits: thousands(1234567, r"\\,") = 1\\,234\\,567."""
    return f"{round(value):,}".replace(",", sep)


def _width(value: float) -> str:
    """A width: an integer as is, a mean over images to one decimal."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _cells(row: dict, sep: str) -> list[str]:
    """Formatted cells of one layer (or the total row: no shape or widths)."""
    shape = [thousands(row[k], sep) if k in row else "" for k in ("M", "K", "N")]
    widths = f"{_width(row['b_w'])}/{_width(row['b_a'])}" if "b_w" in row else ""
    return [*shape, widths, thousands(row["cycles"], sep), thousands(row["stall_cycles"], sep),
            f"{100 * row['utilization']:.1f}", f"{row['bitops'] / 1e6:,.1f}".replace(",", sep),
            f"{row['energy_uj']:,.2f}".replace(",", sep)]


def _total_row(summary: dict) -> dict:
    return {"cycles": summary["total_cycles"], "stall_cycles": summary["stall_cycles"],
            "utilization": summary["utilization"], "bitops": summary["bitops"], "energy_uj": summary["energy_uj"]}


def table_caption(summary: dict, network: str, sep: str = ",", escape=str, micro: str = "µ") -> str:
    """Caption: network, plan, array and memory configuration, latency and energy per image; `escape` is
    applied to the user-given parts (network and plan names), `sep` goes between thousands."""
    energy = f"{summary['energy_uj']:,.1f}".replace(",", sep)
    return (f"{escape(network)}, plan {escape(summary.get('plan', 'uniform:N'))}, on a {summary['pe']} array "
            f"({summary['dataflow']} dataflow, {summary['pe_mode']} PEs, {summary['layout']} layout, "
            f"{summary['clock_mhz']:g} MHz): {summary['latency_ms']:.3f} ms and {energy} {micro}J per image.")


def table_label(network: str) -> str:
    """`tab:sim-<network>` with every character outside [A-Za-z0-9-] replaced by '-'."""
    return "tab:sim-" + re.sub(r"[^A-Za-z0-9-]+", "-", network).strip("-")


def render_table_tex(rows: list[dict], summary: dict, network: str) -> str:
    """table.tex: a booktabs `table` (≤ LONGTABLE_ROWS rows) or `longtable`, caption and label included."""
    caption = table_caption(summary, network, r"\,", tex_escape, r"$\mu$")
    label = table_label(network)
    head = " & ".join(HEADER) + r" \\"
    body = [" & ".join([tex_escape(r["name"]), *_cells(r, r"\,")]) + r" \\" for r in rows]
    total = " & ".join(["Total", *_cells(_total_row(summary), r"\,")]) + r" \\"
    if len(rows) > LONGTABLE_ROWS:
        lines = [r"{\small\setlength{\tabcolsep}{3pt}", rf"\begin{{longtable}}{{{COLUMN_SPEC}}}", rf"\caption{{{caption}}}\label{{{label}}} \\",
                 r"\toprule", head, r"\midrule", r"\endfirsthead",
                 rf"\multicolumn{{{len(HEADER)}}}{{l}}{{\small\itshape continued from the previous page}} \\",
                 r"\toprule", head, r"\midrule", r"\endhead",
                 r"\midrule", rf"\multicolumn{{{len(HEADER)}}}{{r}}{{\small\itshape continued on the next page}} \\",
                 r"\endfoot", r"\endlastfoot",
                 *body, r"\midrule", total, r"\bottomrule", r"\end{longtable}", "}"]
    else:
        lines = [r"\begin{table}[t]", r"\centering", r"\small", r"\setlength{\tabcolsep}{3pt}", rf"\caption{{{caption}}}", rf"\label{{{label}}}",
                 rf"\begin{{tabular}}{{{COLUMN_SPEC}}}", r"\toprule", head, r"\midrule",
                 *body, r"\midrule", total, r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    preamble = r"% needs \usepackage{booktabs}" + (r" \usepackage{longtable}" if len(rows) > LONGTABLE_ROWS else "")
    return "\n".join((preamble, *lines)) + "\n"


MD_SPECIALS = re.compile(r"([\\|*_`<>\[\]])")


def md_escape(text: str) -> str:
    """`text` with Markdown's table and emphasis characters (\\ | * _ ` < > [ ]) backslash-escaped."""
    return MD_SPECIALS.sub(r"\\\1", str(text))


def render_table_md(rows: list[dict], summary: dict, network: str) -> str:
    """table.md: the same table as GitHub Markdown, the caption above it."""
    lines = [f"**{table_caption(summary, network, ',', md_escape)}**", "",
             "| " + " | ".join(MD_HEADER) + " |",
             "| " + " | ".join(["---"] + ["---:"] * 3 + [":---:"] + ["---:"] * 5) + " |"]
    lines += ["| " + " | ".join([md_escape(r["name"]), *_cells(r, ",")]) + " |" for r in rows]
    lines.append("| " + " | ".join(["**Total**", *_cells(_total_row(summary), ",")]) + " |")
    return "\n".join(lines) + "\n"
