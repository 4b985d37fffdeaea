"""table.tex / table.md: escaping of every LaTeX special character, balanced braces and environments, the
same cells in both, longtable for long networks; the slow test compiles both kinds with pdflatex."""
import re
import shutil
import subprocess

import pytest

from sim.config import ArrayConfig
from sim.report import hardware_report
from sim.report_tables import (HEADER, LONGTABLE_ROWS, md_escape, render_table_md, render_table_tex, tex_escape,
                               thousands)
from sim.simulate import NetworkSim, simulate_workload
from sim.workload import Workload

NASTY = r"a_b&c%d$e#f{g}h~i^j\k|l*m"


def report_for(names):
    count = len(names)
    workload = Workload(names=tuple(names), m=[64] * count, k=[1152] * count, n=[3136] * count,
                        in_elems=[128 * 56 * 56] * count, out_bits=[8] * count, residual_elems=[0] * count,
                        residual_bits=[8] * count, b_w=[4] * count, b_a=[4] * count)
    report = hardware_report(NetworkSim(simulate_workload(workload, ArrayConfig(dataflow="ws"))))
    report["summary"]["plan"] = "plan_#1.json"
    return report


def strip_escapes(tex: str) -> str:
    """The text with escaped specials (\\{ \\} \\& \\% \\$ \\# \\_) and \\\\ removed, for structure checks."""
    return re.sub(r"\\[{}&%$#_]|\\\\", "", tex)


def check_structure(tex: str, rows: int) -> None:
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    plain = strip_escapes(body)
    depth = 0
    for char in plain:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a closing brace without an opening one"
    assert depth == 0, "unbalanced braces"
    assert re.findall(r"\\begin\{(\w+)\}", body) == re.findall(r"\\end\{(\w+)\}", body)[::-1]
    assert not re.search(r"(?<!\\)[%$#_^~&]", re.sub(r"\$[^$]*\$", "", plain).replace("&", "")), \
        "an unescaped special character outside math"
    cells = [line for line in body.splitlines() if line.endswith(r"\\") and "&" in line and "multicolumn" not in line]
    data = cells[-(rows + 1):]  # rows, then the total row
    for line in data:
        assert len(re.split(r"(?<!\\)&", line)) == len(HEADER), line


def test_tex_escape_every_special():
    assert tex_escape(NASTY) == (r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\^{}j\textbackslash{}k|l*m")
    assert md_escape(NASTY) == r"a\_b&c%d$e#f{g}h~i^j\\k\|l\*m"
    assert thousands(1234567, r"\,") == r"1\,234\,567" and thousands(999, ",") == "999"


@pytest.mark.parametrize("count, env", [(3, "table"), (LONGTABLE_ROWS + 16, "longtable")])
def test_table_tex_structure_and_md_twin(count, env):
    names = [f"{NASTY}{i}" for i in range(count)]
    report = report_for(names)
    tex = render_table_tex(report["layers"], report["summary"], "net_#1")
    check_structure(tex, count)
    assert rf"\begin{{{env}}}" in tex and r"\caption{net\_\#1, plan plan\_\#1.json" in tex
    assert r"\label{tab:sim-net-1}" in tex
    assert "e+" not in tex  # no scientific notation
    first = report["layers"][0]
    assert rf"{thousands(first['cycles'], chr(92) + ',')} & " in tex
    md = render_table_md(report["layers"], report["summary"], "net_#1").splitlines()
    assert md[0].startswith(r"**net\_#1, plan plan\_#1.json")
    table = [line for line in md if line.startswith("|")]
    assert len(table) == 2 + count + 1
    assert all(len(re.split(r"(?<!\\)\|", line)) == len(HEADER) + 2 for line in table)
    assert f"| {thousands(first['cycles'], ',')} |" in table[2]


@pytest.mark.slow
@pytest.mark.parametrize("count", [3, LONGTABLE_ROWS + 16])
def test_table_tex_compiles_with_pdflatex(tmp_path, count):
    """Needs Debian's texlive-latex-base and texlive-latex-recommended (booktabs); fails when pdflatex is absent."""
    pdflatex = shutil.which("pdflatex")
    assert pdflatex, "pdflatex not found: apt-get install texlive-latex-base texlive-latex-recommended"
    report = report_for([f"{NASTY}{i}" for i in range(count)])
    (tmp_path / "table.tex").write_text(render_table_tex(report["layers"], report["summary"], "net_#1"))
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
                                      "\\usepackage{longtable}\n\\begin{document}\n\\input{table}\n\\end{document}\n")
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").read_bytes()[:5] == b"%PDF-"
