"""Run one tile of the *generated Verilog* in Icarus Verilog (a self-contained testbench, no cocotb).

Cross-checks what gen-rtl emits against the same golden expectation as the amaranth.sim tests (the load/run
protocol of rtl/top.py with the words of verify/tile_job.py); verify/benches hold the full cocotb benches."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from rtl.emit import TOP_NAME, VERILOG_FILE, port_table, write_rtl
from rtl.params import OUT_MODES, RtlConfig
from rtl.toolchain import require_tool, tool_env

from .tile_job import TileJob, load_words, unpack_lanes

TB_TEMPLATE = """`timescale 1ns/1ps
module tb;
{decls}
  always #5 clk = ~clk;
  {top} dut({conns});
  reg [{wb}:0] wmem [0:{ll}];
  reg [{ab}:0] amem [0:{ll}];
  reg [{rb}:0] rmem [0:{ll}];
  reg [{pb}:0] pmem [0:{ll}];
  integer i, t, f;
  initial begin
    $readmemh("w.hex", wmem); $readmemh("a.hex", amem); $readmemh("r.hex", rmem); $readmemh("p.hex", pmem);
    rst = 1; @(posedge clk); #1 rst = 0;
    for (i = 0; i < {load}; i = i + 1) begin
      w_we = i < {k_len}; w_addr = i; w_data = wmem[i]; a_we = i < {k_len}; a_addr = i; a_data = amem[i];
      p_we = i < {rows}; p_row = i; {{p_m_r, p_m, p_bias}} = pmem[i]; r_we = i < {rows}; r_row = i; r_data = rmem[i];
      @(posedge clk); #1;
    end
    w_we = 0; a_we = 0; p_we = 0; r_we = 0;
    cfg_we = 1; cfg_b_w = {b_w}; cfg_b_a = {b_a}; cfg_a_signed = {a_signed}; cfg_mode = {mode}; cfg_s = {s};
    cfg_res_en = {res_en}; cfg_k = {k_len}; start = 1;
    @(posedge clk); #1 cfg_we = 0; start = 0;
    f = $fopen("out.txt", "w"); t = 0;
    while (busy && t < {limit}) begin
      t = t + 1;
      if (out_valid) $fdisplay(f, "row %0d %h %h", out_row, out_data, out_clamped);
      @(posedge clk); #1;
    end
    $fdisplay(f, "end %0d %0d %0d", cycles, t, done);
    $fclose(f); $finish;
  end
endmodule
"""


def _hex_file(path: Path, words: list[int], bits: int) -> None:
    digits = (bits + 3) // 4
    path.write_text("".join(f"{w:0{digits}x}\n" for w in words))


def run_tile_iverilog(cfg: RtlConfig, job: TileJob, workdir: str | os.PathLike) -> dict:
    """Generate the Verilog for `cfg` into `workdir`, simulate `job` in Icarus, return y / clamped / counts."""
    work = Path(workdir)
    write_rtl(cfg, work)
    rows, cols, n, wide = cfg.rows, cfg.cols, cfg.code_bits, cfg.wide_bits
    c, words = job.config, load_words(job, n, wide)
    k_len = c.k
    _hex_file(work / "w.hex", words.weights, rows * n)
    _hex_file(work / "a.hex", words.acts, cols * n)
    _hex_file(work / "r.hex", words.resid, cols * wide)
    p_bits = wide + 2 * cfg.m_bits
    _hex_file(work / "p.hex", [(bias & ((1 << wide) - 1)) | (m << wide) | (m_r << (wide + cfg.m_bits))
                               for bias, m, m_r in words.params], p_bits)
    ports = port_table(cfg)
    decls = "\n".join(f"  {'reg' if p['direction'] == 'input' else 'wire'} [{p['width'] - 1}:0] {p['name']}"
                      f"{' = 0' if p['direction'] == 'input' else ''};" for p in ports)
    conns = ", ".join(f".{p['name']}({p['name']})" for p in ports)
    tb = TB_TEMPLATE.format(decls=decls, top=TOP_NAME, conns=conns, wb=rows * n - 1, ab=cols * n - 1,
                            rb=cols * wide - 1, pb=p_bits - 1, ll=words.cycles - 1, b_w=c.b_w, b_a=c.b_a,
                            a_signed=int(c.a_signed), mode=OUT_MODES[c.mode], s=c.s, res_en=int(c.res_en),
                            k_len=k_len, rows=rows, load=words.cycles, limit=cfg.max_tile_cycles + 10)
    (work / "tb.v").write_text(tb)
    env = tool_env()
    subprocess.run([require_tool("iverilog", env), "-g2012", "-s", "tb", "-o", "tb.vvp", "tb.v", VERILOG_FILE],
                   cwd=work, env=env, check=True, capture_output=True, text=True)
    subprocess.run([require_tool("vvp", env), "-n", "tb.vvp"], cwd=work, env=env, check=True, capture_output=True,
                   text=True)
    y = np.zeros((rows, cols), dtype=np.int64)
    clamped = np.zeros((rows, cols), dtype=np.int64)
    order, end = [], None
    for line in (work / "out.txt").read_text().split("\n"):
        parts = line.split()
        if parts and parts[0] == "row":
            row = int(parts[1])
            order.append((row, 0))  # (out_row, activation lane): a fixed design has one lane
            y[row] = unpack_lanes(int(parts[2], 16), cols, cfg.out_bits)
            clamped[row] = unpack_lanes(int(parts[3], 16), cols, 1, signed=False)
        elif parts and parts[0] == "end":
            end = [int(v) for v in parts[1:]]
    if end is None:
        raise RuntimeError(f"Icarus run in {work} produced no end line")
    return {"y": y, "clamped": clamped, "cycles": end[0], "busy_cycles": end[1], "done": end[2], "row_order": order}
