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
# Caches and run stores of the checkout's own runs stay beside it (an installed matrixcoder uses
# the user's data folder instead).
export MATRIXCODER_HOME ?= $(CURDIR)/.matrixcoder

.PHONY: install test demo lint clean

install: $(STAMP)

# pip's build warnings go to a log, shown only if the install fails.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing torch==2.13.0 (CPU), then matrixcoder[dev] into $(VENV) (log: $(VENV)/install.log)"
	@( $(BIN)/python -m pip install --quiet --upgrade pip \
	  && $(BIN)/python -m pip install --quiet torch==2.13.0 \
	  && $(BIN)/python -m pip install --quiet -e '.[dev]' ) > $(VENV)/install.log 2>&1 \
	  || (tail -40 $(VENV)/install.log; exit 1)
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# Style that is checked: ruff (lint, import order, complexity), ruff format, mypy on the package.
# mypy reads the package through a link named matrixcoder, since the repository root is the package.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p build/mypy && ln -sfn $(CURDIR) build/mypy/matrixcoder
	cd build/mypy && $(CURDIR)/$(BIN)/mypy matrixcoder --explicit-package-bases \
	  --exclude 'matrixcoder/(tests|bench|build|\.venv|corpus/demo|corpus/demo_sources)/'

# The main job end to end: ingest, train the default model (once), suggest codes with
# evidence for two documents, score the corpus into the alliance matrix and Table 2.
demo: $(STAMP) models/default/bundle.json
	$(BIN)/matrixcoder ingest corpus/demo --out $(DEMO_OUT)/corpus
	$(BIN)/matrixcoder suggest corpus/demo/EUROTEQ/euroteq-catalogue-1.txt corpus/demo/ECIU/eciu-position-paper-1.pdf
	$(BIN)/matrixcoder score $(DEMO_OUT)/corpus --out $(DEMO_OUT)/scores

models/default/bundle.json: labels/examples.jsonl labels/codebook.yaml $(STAMP)
	$(BIN)/matrixcoder codebook counts labels/examples.jsonl
	$(BIN)/matrixcoder train labels/examples.jsonl --out models/default --compare

clean:
	rm -rf out .matrixcoder models/default
