# DQT-HW. Every target sets itself up: the first run installs apt packages and the .venv (scripts/bootstrap.sh).
# Targets are thin: all logic lives in cli.py's library functions.

PY      := .venv/bin/python
STAMP   := .venv/.installed
MODEL   ?= resnet18
PLAN    ?= uniform:8
BATCH   ?= 1
SEED    ?= 0
PE      ?= 16x16
DATAFLOW ?= os
PE_MODE ?= fixed
FIGURES ?= png
TOPOLOGY ?=
NAME    := $(notdir $(basename $(or $(TOPOLOGY),$(MODEL))))
OUT     ?= out/sim-$(NAME)
# sweep: comma lists; PE, PLAN, DATAFLOW, PE_MODE given on the command line (or in the environment) win
comma   := ,
given    = $(filter command line environment,$(origin $(1)))
SWEEP_PE       = $(if $(call given,PE),$(PE),8x8$(comma)16x16$(comma)32x32)
SWEEP_PLAN     = $(if $(call given,PLAN),$(PLAN),uniform:8$(comma)uniform:4$(comma)uniform:2)
SWEEP_DATAFLOW = $(if $(call given,DATAFLOW),$(DATAFLOW),os$(comma)ws$(comma)is)
SWEEP_PE_MODE  = $(if $(call given,PE_MODE),$(PE_MODE),fixed$(comma)fused)
NETWORK  = $(if $(TOPOLOGY),--topology $(TOPOLOGY),--model $(MODEL))
IMAGES  ?= synthetic:2000
RTL_OUT ?= out/rtl-$(PE)$(if $(filter fused,$(PE_MODE)),-fused)

.PHONY: setup sim test fuzz verify verify-corners verify-largest verify-long verify-long-sharded rtl rtl-stats sweep eval bench train-demo train-bench qonnx-demo clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

setup: $(STAMP)

sim: $(STAMP)
	$(PY) cli.py sim $(NETWORK) --plan $(PLAN) $(if $(TOPOLOGY),,--batch $(BATCH) --seed $(SEED)) --pe $(PE) --dataflow $(DATAFLOW) --pe-mode $(PE_MODE) --figures $(FIGURES) --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

fuzz: $(STAMP)
	DQT_FUZZ=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py --hypothesis-show-statistics

verify: $(STAMP)
	$(PY) cli.py verify $(if $(call given,MODEL),--model $(MODEL))

verify-corners: $(STAMP)
	$(PY) cli.py verify --corners

verify-largest: $(STAMP)
	$(PY) cli.py verify --largest

verify-long: $(STAMP)
	$(PY) cli.py verify-long --pe-mode $(PE_MODE) $(if $(call given,MODEL),--model $(MODEL)) \
	  $(if $(call given,PLAN),--plan $(PLAN)) $(if $(call given,IMAGES),--images $(IMAGES)) \
	  $(if $(call given,INPUT),--input $(INPUT)) $(if $(call given,PE),--pe $(PE)) \
	  $(if $(call given,HARNESS),--harness $(HARNESS)) $(if $(call given,THREADS),--threads $(THREADS))

verify-long-sharded: $(STAMP)
	$(PY) -m verify.sharded_long --pe-mode $(PE_MODE) $(if $(call given,PLAN),--plan $(PLAN)) $(if $(call given,WORKERS),--workers $(WORKERS))

rtl: $(STAMP)
	$(PY) cli.py gen-rtl --pe $(PE) --pe-mode $(PE_MODE) --out $(RTL_OUT)

rtl-stats: $(STAMP)
	$(PY) cli.py rtl-stats --pe $(PE) --pe-mode $(PE_MODE) --out $(RTL_OUT)-stats

sweep: $(STAMP)
	$(PY) cli.py sweep $(NETWORK) --pe $(SWEEP_PE) --dataflow $(SWEEP_DATAFLOW) --plan $(SWEEP_PLAN) --pe-mode $(SWEEP_PE_MODE) --out out/sweep-$(NAME)

eval: $(STAMP)
	$(PY) cli.py eval --model $(MODEL) --images $(IMAGES) --dynamic --out out/eval-$(NAME)

bench: $(STAMP)
	$(PY) bench/golden_speed.py
	$(PY) bench/sim_speed.py

train-demo: $(STAMP)
	$(PY) cli.py train --dataset digits --out out/train-demo

train-bench: $(STAMP)
	$(PY) cli.py train-bench --out out/train-bench

qonnx-demo: $(STAMP)
	mkdir -p out/qonnx-demo
	$(PY) cli.py qonnx-reference --model resnet18 --mixed -o out/qonnx-demo/r18.onnx
	$(PY) cli.py import-qonnx out/qonnx-demo/r18.onnx -o out/qonnx-demo/r18.dqt --plan-out out/qonnx-demo/plan.json --compare 64
	$(PY) cli.py export-qonnx out/qonnx-demo/r18.dqt --plan out/qonnx-demo/plan.json -o out/qonnx-demo/r18-back.onnx --check 8

clean:
	rm -rf out build sim_build .pytest_cache
