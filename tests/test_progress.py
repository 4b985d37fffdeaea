"""golden/progress.py: plain lines (no carriage returns) off a terminal, at most one per interval plus the last;
rtl/stats.py's Yosys phase parser."""
import io

from golden.progress import LogProgress, progress_bar
from rtl.stats import yosys_phase


def test_log_progress_lines_without_carriage_returns():
    out = io.StringIO()
    with progress_bar(total=4, desc="sweep", unit="config", file=out, interval_s=3600) as bar:
        assert isinstance(bar, LogProgress)
        for i in range(4):
            bar.update(1)
            bar.set_postfix_str(f"c{i}")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 1  # the interval suppressed the rest; close() prints
    assert lines[0].startswith("sweep: 100%") and "4/4" in lines[0] and "config/s" in lines[0] and "c3" in lines[0]
    chatty = io.StringIO()
    with progress_bar(total=3, desc="x", file=chatty, interval_s=0) as bar:
        for _ in range(3):
            bar.update(1)
    assert [line.split(":")[1].split("%")[0].strip() for line in chatty.getvalue().splitlines()] == ["33", "67", "100"]


def test_yosys_phase():
    log = ("1. Executing Verilog-2005 frontend: dqt_top.v\nParsing...\n2.1. Executing OPT_EXPR pass (perform const "
           "folding).\n8. Executing ABC pass (technology mapping using ABC).\n8.2. Extracting gate netlist\n")
    assert yosys_phase(log) == "ABC pass (technology mapping using ABC)"
    assert yosys_phase("no passes yet\n") is None


def test_log_progress_unit_scale_and_external_lines():
    out = io.StringIO()
    with progress_bar(total=2_000_000, desc="golden", unit="MAC", unit_scale=True, file=out, interval_s=3600) as bar:
        with bar.external_write_mode():  # lines a run prints itself pass through untouched off a terminal
            out.write("op line\n")
        bar.update(2_000_000)
    assert out.getvalue().splitlines()[0] == "op line"
    assert out.getvalue().splitlines()[1].startswith("golden: 100% 2.00M/2.00M") and "MAC/s" in out.getvalue()
