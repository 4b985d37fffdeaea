"""The Makefile passes every variable the README lists (MODEL, TOPOLOGY, PLAN, PE, DATAFLOW, PE_MODE) to the CLI
and names output folders after the network, not its path (make -n: nothing runs)."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dry_run(*args):
    make = shutil.which("make")
    assert make, "make not found"
    proc = subprocess.run([make, "-n", "-o", ".venv/.installed", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if "cli.py" in line]


@pytest.mark.parametrize("target, args, expected", [
    ("sim", [], ["--model resnet18", "--pe 16x16", "--dataflow os", "--pe-mode fixed", "--out out/sim-resnet18"]),
    ("sim", ["MODEL=path/x.dqt", "PLAN=uniform:4", "PE=8x8", "DATAFLOW=ws", "PE_MODE=fused"],
     ["--model path/x.dqt", "--plan uniform:4", "--pe 8x8", "--dataflow ws", "--pe-mode fused", "--out out/sim-x"]),
    ("sim", ["TOPOLOGY=nets/my.csv"], ["--topology nets/my.csv", "--out out/sim-my"]),
    ("sweep", [], ["--model resnet18", "--pe 8x8,16x16,32x32", "--dataflow os,ws,is",
                   "--plan uniform:8,uniform:4,uniform:2", "--pe-mode fixed,fused", "--out out/sweep-resnet18"]),
    ("sweep", ["TOPOLOGY=nets/my.csv", "PE=8x8,64x64", "PLAN=uniform:2", "DATAFLOW=os", "PE_MODE=fused"],
     ["--topology nets/my.csv", "--pe 8x8,64x64", "--plan uniform:2", "--dataflow os", "--pe-mode fused",
      "--out out/sweep-my"]),
    ("sweep", ["MODEL=/abs/path/x.dqt"], ["--model /abs/path/x.dqt", "--out out/sweep-x"]),
])
def test_make_passes_variables(target, args, expected):
    (line,) = dry_run(target, *args)
    for fragment in expected:
        assert fragment in line, (fragment, line)
    if "TOPOLOGY" not in " ".join(args):
        assert "--topology" not in line
    else:
        assert "--model" not in line and "--batch" not in line
