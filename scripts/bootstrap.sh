#!/usr/bin/env bash
# Installs everything DQT-HW needs on a fresh Debian 12 machine: apt packages (Icarus Verilog, ccache,
# a C++ toolchain for Verilator; pdflatex, about 80 MB, for the slow test that compiles sim's table.tex) and
# the project's virtual environment (.venv) with pinned Python packages.
# Idempotent: re-running installs only what is missing. Called by the Makefile's venv target.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v iverilog >/dev/null 2>&1 || need_apt+=(iverilog)
command -v ccache   >/dev/null 2>&1 || need_apt+=(ccache)
command -v g++      >/dev/null 2>&1 || need_apt+=(g++)
command -v make     >/dev/null 2>&1 || need_apt+=(make)
command -v pdflatex >/dev/null 2>&1 || need_apt+=(texlive-latex-base texlive-latex-recommended)  # table.tex compile test
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing apt packages: ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
EXTRAS=${DQT_EXTRAS:-bench,train,qonnx}
echo "bootstrap: installing the project into .venv (extras: $EXTRAS)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
touch .venv/.installed
