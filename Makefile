# DQT-HW. Every target sets itself up: the first run installs apt packages and the .venv (scripts/bootstrap.sh).
# Targets are thin: all logic lives in cli.py's library functions.

PY      := .venv/bin/python
STAMP   := .venv/.installed
MODEL   ?= resnet18
PLAN    ?= uniform:8
BATCH   ?= 1
SEED    ?= 0
PE      ?= 16x16
PE_MODE ?= fixed
DATAFLOW ?= os
OUT     ?= out/sim-$(notdir $(basename $(MODEL)))
RTL_OUT ?= out/rtl-$(PE)

.PHONY: setup sim test verify verify-long rtl rtl-stats sweep bench train-demo clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

setup: $(STAMP)

sim: $(STAMP)
	$(PY) cli.py sim --model $(MODEL) --plan $(PLAN) --batch $(BATCH) --seed $(SEED) --pe $(PE) --dataflow $(DATAFLOW) --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

verify: $(STAMP)
	$(PY) -m verify.suite

verify-long: $(STAMP)
	$(PY) -m verify.long_run --pe-mode $(PE_MODE) $(if $(filter command line environment,$(origin PLAN)),--plan $(PLAN))

rtl: $(STAMP)
	$(PY) cli.py gen-rtl --pe $(PE) --pe-mode $(PE_MODE) --out $(RTL_OUT)

rtl-stats: $(STAMP)
	$(PY) cli.py rtl-stats --pe $(PE) --pe-mode $(PE_MODE) --out $(RTL_OUT)-stats

sweep: $(STAMP)
	$(PY) cli.py sweep --model $(MODEL) --pe 8x8,16x16,32x32 --dataflow os,ws,is --plan uniform:8,uniform:4 --out out/sweep-$(MODEL)

bench: $(STAMP)
	$(PY) bench/golden_speed.py
	$(PY) bench/sim_speed.py

train-demo: $(STAMP)
	$(PY) cli.py train --dataset digits --out out/train-demo

clean:
	rm -rf out build sim_build .pytest_cache
