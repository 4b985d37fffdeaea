"""Every GEMM route of golden/kernels.py on CPU classes other than the host's: tests/test_kernels.py's route
tests rerun in a subprocess that compiles for a forced target (NUMBA_CPU_NAME=<cpu> NUMBA_CPU_FEATURES="",
golden/cpu_target.py), on any x86-64 host (numba's cache keeps one build per target)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUTE_TESTS = "conv or linear or route or parallel"


def forced_env(cpu: str) -> dict:
    return {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": "", "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(("cpu", "routes"), [("haswell", "('maddubs', 'madd', 'dot')")])
def test_route_tests_pass_under_a_forced_cpu(cpu, routes):
    """haswell (AVX2, no AVX-512): the kernels have the maddubs and madd routes, and every route test of test_kernels.py
    passes (exact equality with the numpy twins at the operand and K bounds)."""
    env = forced_env(cpu)
    probe = subprocess.run([sys.executable, "-c", "from golden import kernels; print(kernels.available_routes())"],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == routes
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", ROUTE_TESTS,
                          str(ROOT / "tests" / "test_kernels.py")], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
