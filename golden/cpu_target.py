"""The CPU numba compiles for, and the SIMD capabilities the GEMM routes of golden/kernels.py need from it.

numba builds code for `NUMBA_CPU_NAME` (default: the host's CPU) with the feature string `NUMBA_CPU_FEATURES`
(default: the host's features, which then override whatever the CPU name implies); `NUMBA_CPU_FEATURES=""`
leaves the CPU name's own features. So `NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=""` compiles for an
AVX2-only CPU on any x86-64 host, and the routes must follow that target, not the host.

LLVM, not a table kept here, knows which features a CPU name implies: the capabilities are probed by
compiling two small functions for numba's exact (triple, CPU, features) target and reading the assembly:

* `madd256`: a 256-bit multiply-add of int16 pairs into int32 lanes (sext, mul, add of even and odd lanes)
  becomes one instruction, VPMADDWD or VPDPWSSD on ymm registers (AVX2, or AVX-VNNI);
* `vnni512`: the same pattern on 512-bit vectors, added to an accumulator, becomes VPDPWSSD on zmm registers:
  AVX-512 VNNI (the VPDPBUSD micro-kernel needs exactly that).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numba as nb
from llvmlite import binding as llvm
from numba.core import codegen

_PROBE_IR = """
define <{n} x i32> @madd_{bits}(<{n} x i32> %acc, <{n2} x i16> %a, <{n2} x i16> %b) {{
  %as = sext <{n2} x i16> %a to <{n2} x i32>
  %bs = sext <{n2} x i16> %b to <{n2} x i32>
  %m = mul <{n2} x i32> %as, %bs
  %e = shufflevector <{n2} x i32> %m, <{n2} x i32> poison, <{n} x i32> <{even}>
  %o = shufflevector <{n2} x i32> %m, <{n2} x i32> poison, <{n} x i32> <{odd}>
  %s = add <{n} x i32> %e, %o
  %r = add <{n} x i32> %acc, %s
  ret <{n} x i32> %r
}}
"""


@dataclass(frozen=True)
class CpuTarget:
    """What numba compiles for: LLVM CPU name, the feature string passed to LLVM ("" = the CPU's own), where
    they came from, and the probed capabilities (module docstring)."""

    name: str
    features: str
    source: str
    madd256: bool
    vnni512: bool

    def describe(self) -> str:
        caps = [c for c, ok in (("madd256", self.madd256), ("vnni512", self.vnni512)) if ok] or ["none"]
        return f"{self.name} ({self.source}; SIMD capabilities: {', '.join(caps)})"


def _probe_ir(bits: int) -> str:
    n = bits // 32
    return _PROBE_IR.format(n=n, n2=2 * n, bits=bits, even=", ".join(f"i32 {2 * i}" for i in range(n)),
                            odd=", ".join(f"i32 {2 * i + 1}" for i in range(n)))


def probe_assembly(cpu: str, features: str) -> str:
    """x86 assembly of the two probe functions compiled for (cpu, features), "" when the process's target is
    not x86 (then no probe instruction can appear)."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    triple = llvm.get_process_triple()
    if not re.match(r"(x86_64|i[3-6]86)", triple):
        return ""
    module = llvm.parse_assembly(_probe_ir(256) + _probe_ir(512))
    machine = llvm.Target.from_triple(triple).create_target_machine(cpu=cpu, features=features, opt=2)
    return machine.emit_assembly(module)


def capabilities(assembly: str) -> tuple[bool, bool]:
    """(madd256, vnni512) read from the probe's assembly (module docstring)."""
    functions = dict(re.findall(r"^(madd_\d+):\n(.*?)(?=^\S|\Z)", assembly, re.S | re.M))
    madd = functions.get("madd_256", "")
    vnni = functions.get("madd_512", "")
    madd256 = bool(re.search(r"\b(vpmaddwd|vpdpwssd)\s+%ymm", madd))
    vnni512 = bool(re.search(r"\bvpdpwssd\s+%zmm", vnni))
    return madd256, vnni512


SIMD_FEATURES = ("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vnni", "avxvnni", "amx-int8",
                 "neon", "dotprod", "sve")  # shown by host_summary


def host_summary() -> str:
    """The real host: LLVM's CPU name and which of SIMD_FEATURES it has."""
    features = llvm.get_host_cpu_features()
    have = [f for f in SIMD_FEATURES if features.get(f)]
    return f"{llvm.get_host_cpu_name()} (host features: {', '.join(have) or 'none of ' + ', '.join(SIMD_FEATURES)})"


@cache
def numba_target() -> CpuTarget:
    """The target numba's CPU codegen uses in this process (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES, else the
    host), with its probed capabilities."""
    name = nb.config.CPU_NAME or llvm.get_host_cpu_name()
    if nb.config.CPU_FEATURES is not None:
        features, source = nb.config.CPU_FEATURES, "NUMBA_CPU_FEATURES=" + repr(nb.config.CPU_FEATURES)
    else:
        features, source = codegen.get_host_cpu_features(), "host features"
    if nb.config.CPU_NAME:
        source = f"NUMBA_CPU_NAME={nb.config.CPU_NAME}, {source}"
    return CpuTarget(name, features, source, *capabilities(probe_assembly(name, features)))
