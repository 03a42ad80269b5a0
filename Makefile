# `make demo` and `make test` set everything up on a fresh machine: a .venv with the
# CPU build of torch installed first (an unpinned torch would pull a CUDA build), then
# the project and its dev extras. The stamp makes both quick once installed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT := out/demo

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install test demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/matrixcoder codebook show
	$(BIN)/matrixcoder ingest corpus/demo --out $(DEMO_OUT)/corpus
	$(BIN)/matrixcoder codebook counts labels/examples.jsonl

clean:
	rm -rf out .matrixcoder
