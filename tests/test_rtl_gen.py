"""Verilog generation (shapes, widths, manifest), Verilator lint, Icarus compile, CLI errors, rtl-stats helpers."""
from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from click.testing import CliRunner

from cli import cli
from rtl.emit import MANIFEST_FILE, TOP_NAME, VERILOG_FILE, WAIVER_FILE, write_rtl, write_unit_rtl
from rtl.lint import iverilog_compile, verilator_lint
from rtl.params import config_from_options
from rtl.stats import gate_equivalents, unit_instances
from rtl.toolchain import add_tool_paths, require_tool
from rtl.units import UNIT_MODULES, unit_module_name
from sim.tile import os_tile_cycles


def generate(tmp_path, pe, **kw):
    cfg = config_from_options(pe, **kw)
    out = tmp_path / f"rtl-{pe}"
    return cfg, out, write_rtl(cfg, out)


@pytest.mark.parametrize("pe,n_bits,acc_bits,k_max", [
    ("1x1", 8, 32, 16), ("1x16", 8, 32, 64), ("3x5", 6, 20, 40), ("4x8", 8, 24, 4608), ("16x16", 8, 32, 4608),
])
def test_generate_shapes_and_manifest(tmp_path, pe, n_bits, acc_bits, k_max):
    cfg, out, manifest = generate(tmp_path, pe, n_bits=n_bits, acc_bits=acc_bits, k_max=k_max)
    text = (out / VERILOG_FILE).read_bytes()
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == {VERILOG_FILE, WAIVER_FILE}
    assert files[VERILOG_FILE]["sha256"] == hashlib.sha256(text).hexdigest()
    assert json.loads((out / MANIFEST_FILE).read_text()) == manifest
    assert manifest["top"] == TOP_NAME and manifest["config"]["rows"] == cfg.rows
    assert manifest["config"]["fault"] is None
    assert "fault" not in manifest  # recorded once, in config
    ports = {p["name"]: p for p in manifest["ports"]}
    assert ports["w_data"]["width"] == cfg.rows * n_bits and ports["a_data"]["width"] == cfg.cols * n_bits
    assert ports["out_data"]["width"] == cfg.cols * max(acc_bits, 16) and ports["out_data"]["direction"] == "output"
    assert ports["r_data"]["width"] == cfg.cols * acc_bits and ports["p_bias"]["width"] == acc_bits
    assert ports["w_addr"]["width"] == max(1, (k_max - 1).bit_length())
    assert 2 ** ports["cycles"]["width"] > os_tile_cycles(cfg.rows, cfg.cols, k_max)
    source = text.decode()
    assert re.search(rf"^module {TOP_NAME}\(", source, re.M)
    kinds = unit_instances(source)
    assert kinds["pe"] == cfg.rows * cfg.cols
    assert kinds["weight_view"] == cfg.rows and kinds["act_view"] == cfg.cols and kinds["output_unit"] == cfg.cols
    assert f"[{cfg.acc_bits - 1}:0] acc;" in source  # accumulator width derives from the spec
    modules = re.findall(r"^module (\S+?)[(\s]", source, re.M)  # one module per unit kind, not per instance
    assert sorted(modules) == sorted([TOP_NAME, f"\\{TOP_NAME}.array", *(unit_module_name(k) for k in UNIT_MODULES),
                                      "dqt_ram"])
    assert "initial \\$auto$verilog_backend" in source and not re.search(r"dump_module\$\d+ += 0;", source)


def test_fault_recorded_and_changes_verilog(tmp_path):
    _, _, clean = generate(tmp_path, "2x2", k_max=8)
    cfg = config_from_options("2x2", k_max=8, fault="narrow_acc")
    faulty = write_rtl(cfg, tmp_path / "faulty")
    assert faulty["config"]["fault"] == "narrow_acc" and faulty["config"]["pe_acc_bits"] == 16
    assert faulty["files"][0]["sha256"] != clean["files"][0]["sha256"]



@pytest.mark.parametrize("unit", sorted(UNIT_MODULES))
def test_write_unit_rtl_manifest_matches_the_component(tmp_path, unit):
    cfg = config_from_options("2x3", n_bits=6, acc_bits=20, k_max=8)
    manifest = write_unit_rtl(unit, cfg, tmp_path)
    assert json.loads((tmp_path / MANIFEST_FILE).read_text()) == manifest
    assert manifest["top"] == unit_module_name(unit) and manifest["config"] == cfg.to_dict()
    [entry] = manifest["files"]
    text = (tmp_path / f"{unit}.v").read_bytes()
    assert entry["path"] == f"{unit}.v" and entry["sha256"] == hashlib.sha256(text).hexdigest()
    source = text.decode()
    assert re.search(rf"^module {unit_module_name(unit)}\(", source, re.M)
    declared = {m["name"]: (m["dir"], int(m["hi"] or 0) + 1) for m in re.finditer(
        r"^\s*(?P<dir>input|output) (?:\[(?P<hi>\d+):0\] )?(?P<name>\w+);", source, re.M)}
    assert set(declared) - {p["name"] for p in manifest["ports"]} <= {"clk", "rst"}
    for port in manifest["ports"]:
        assert declared[port["name"]] == (port["direction"], port["width"])
    write_rtl(cfg, tmp_path / "top")
    assert source in (tmp_path / "top" / VERILOG_FILE).read_text()  # the unit bench runs the top's own module


def test_write_unit_rtl_rejects_unknown_unit(tmp_path):
    with pytest.raises(ValueError, match="unit must be one of"):
        write_unit_rtl("top", config_from_options("2x2", k_max=8), tmp_path)
    assert not any(tmp_path.iterdir())

@pytest.mark.parametrize("pe,n_bits,acc_bits,pe_mode", [("4x8", 8, 32, "fixed"), ("3x5", 6, 20, "fixed"),
                                                        ("4x8", 8, 32, "fused"), ("3x5", 6, 20, "fused")])
def test_verilator_lint_and_iverilog(tmp_path, pe, n_bits, acc_bits, pe_mode):
    _, out, _ = generate(tmp_path, pe, n_bits=n_bits, acc_bits=acc_bits, k_max=64, pe_mode=pe_mode)
    lint = verilator_lint(out)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "%Warning" not in lint.stdout + lint.stderr
    compiled = iverilog_compile(out)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert (out / f"{TOP_NAME}.vvp").exists()


LINT_SHAPES = [("1x1", 16), ("1x1", 1), ("1x64", 16), ("64x1", 16), ("3x5", 1), ("2x2", 2),
               pytest.param("64x64", 8, marks=pytest.mark.slow)]  # 64x64: ~30 s to generate (make verify lints it too)


@pytest.mark.parametrize("pe,k_max", LINT_SHAPES)
def test_lint_clean_on_edge_shapes(tmp_path, pe, k_max):
    """Every corner of the generator's range (R, C in 1..64; K_MAX = 1 and 2) lints clean under -Wall with the
    emitted waivers and has no empty bit range: 1-deep buffers (R = 1 for bias/m/m_r and residuals, K_MAX = 1 for
    weights and activations) are registers, not 0-bit-address memories."""
    _, out, _ = generate(tmp_path, pe, k_max=k_max)
    assert "[-1:0]" not in (out / VERILOG_FILE).read_text()
    lint = verilator_lint(out)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "%Warning" not in lint.stdout + lint.stderr


def test_fused_manifest_ports_and_lane_widths(tmp_path):
    """Fused 4x8: operand and residual ports carry max_lanes lanes per row/column, p/r rows per logical filter,
    the manifest records the PE mode and its widths; each PE holds max_lanes² accumulators."""
    cfg, out, manifest = generate(tmp_path, "4x8", k_max=64, pe_mode="fused")
    ports = {p["name"]: p["width"] for p in manifest["ports"]}
    assert manifest["config"]["pe_mode"] == "fused" and manifest["config"]["fusion_widths"] == [2, 4, 8]
    assert cfg.max_lanes == 4 and ports["w_data"] == 4 * 4 * 8 and ports["a_data"] == 8 * 4 * 8
    assert ports["r_data"] == 8 * 4 * 32 and ports["p_row"] == ports["out_row"] == 4  # 16 filter rows
    assert ports["out_alane"] == 2
    assert 2 ** ports["cycles"] > os_tile_cycles(4, 8, 64, 16)


@pytest.mark.parametrize("args,message", [
    (["--pe-mode", "fused", "--n-bits", "5"], "--pe-mode"),
    (["--fault", "lane_swap"], "--fault"),
    (["--pe-mode", "bitserial"], "--pe-mode"),
])
def test_cli_bad_pe_mode_combinations_name_the_option(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["gen-rtl", "--pe", "2x2", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("pe", ["0x16", "16x0", "65x2", "2x65", "16", "axb", ""])
def test_cli_bad_pe_names_option(tmp_path, pe):
    result = CliRunner().invoke(cli, ["gen-rtl", "--pe", pe, "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert "--pe" in result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args,option", [(["--n-bits", "1"], "--n-bits"), (["--acc-bits", "8"], "--acc-bits"),
                                         (["--k-max", "0"], "--k-max"), (["--fault", "nope"], "--fault")])
def test_cli_bad_widths_name_option(tmp_path, args, option):
    result = CliRunner().invoke(cli, ["gen-rtl", "--pe", "2x2", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and option in result.output


def test_cli_gen_rtl_writes_files(tmp_path):
    result = CliRunner().invoke(cli, ["gen-rtl", "--pe", "2x3", "--k-max", "32", "--out", str(tmp_path / "g")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "g" / MANIFEST_FILE).read_text())
    assert (manifest["config"]["rows"], manifest["config"]["cols"], manifest["config"]["k_max"]) == (2, 3, 32)


def test_gate_equivalents_table():
    assert gate_equivalents({"$_NAND_": 3, "$_XOR_": 1}) == 5.3
    assert gate_equivalents({"$_DFF_P_": 1, "$_SDFFE_PP0P_": 1}) == 11.3  # 4.67 + 6.67
    with pytest.raises(ValueError, match="unknown_cell"):
        gate_equivalents({"unknown_cell": 1})


@pytest.mark.slow
def test_rtl_stats_1x2(tmp_path):
    """Full Yosys run (a few minutes: the output unit's multipliers dominate); counts per unit kind."""
    from rtl.stats import write_stats

    cfg = config_from_options("1x2", k_max=16)
    report = write_stats(cfg, tmp_path, progress=lambda msg: None)
    kinds = {r["kind"]: r for r in report["modules"]}
    assert set(kinds) == {"pe", "weight_view", "act_view", "output_unit", "array_glue", "top_glue"}
    assert kinds["pe"]["instances"] == 2 and kinds["act_view"]["instances"] == 2 and kinds["weight_view"]["instances"] == 1
    # one PE module (rtl/units.py): the accumulator and both pass-through registers, synthesized once
    assert kinds["pe"]["module"] == "dqt_pe" and kinds["pe"]["flops_each"] == cfg.acc_bits + 2 * cfg.operand_bits
    assert kinds["weight_view"]["module"] == kinds["act_view"]["module"] == "dqt_view_unit"
    assert all(r["cells_each"] > 0 for r in kinds.values())
    assert report["total_cells"] == sum(r["cells_total"] for r in kinds.values())
    assert json.loads((tmp_path / "stats.json").read_text())["total_cells"] == report["total_cells"]
    assert "| PE" in (tmp_path / "stats.md").read_text()


def test_tool_env_puts_verilator_first_once_and_missing_tools_raise():
    env = add_tool_paths({"PATH": "/usr/bin"})
    again = add_tool_paths(dict(env))
    first = env["PATH"].split(os.pathsep)[0]
    assert again["PATH"] == env["PATH"] and first.endswith(os.path.join("verilator", "bin"))
    assert require_tool("verilator", env).startswith(first)
    with pytest.raises(RuntimeError, match="no-such-tool-xyz not found on PATH"):
        require_tool("no-such-tool-xyz", env)


def test_fused_lane_pair_accumulator_widths():
    """(0, 0) keeps ACC; the others get bit_length(K_MAX · 2^(w_p-1) · (2^w_q - 1)) + 1, capped at ACC."""
    from rtl.fused_pe import lane_pair_acc_bits, lane_pair_layout

    cfg = config_from_options("2x2", k_max=4608, pe_mode="fused")  # N = 8: lane widths 8, 4, 2, 2
    assert lane_pair_acc_bits(cfg, 0, 0) == 32
    assert lane_pair_acc_bits(cfg, 1, 1) == (4608 * 8 * 15).bit_length() + 1 == 21
    assert lane_pair_acc_bits(cfg, 0, 1) == (4608 * 128 * 15).bit_length() + 1 == 25
    assert lane_pair_acc_bits(cfg, 3, 2) == (4608 * 2 * 3).bit_length() + 1 == 16
    # rows p, columns q: [[32, 25, 22, 22], [25, 21, 18, 18], [23, 19, 16, 16], [23, 19, 16, 16]]
    assert lane_pair_layout(cfg).size == 331
    wide = config_from_options("2x2", k_max=1 << 20, pe_mode="fused")
    assert lane_pair_acc_bits(wide, 1, 0) == 32  # the bound (36 bits) is capped at ACC
    narrow = config_from_options("2x2", k_max=4608, pe_mode="fused", fault="narrow_acc")
    assert lane_pair_acc_bits(narrow, 0, 0) == lane_pair_acc_bits(narrow, 1, 1) == 16
