# The workflow. Every stage is a target with its inputs and outputs.
# `make dataset` and `make test` create or refresh the virtual environment first.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RAW     := $(sort $(wildcard dataset/raw/*.txt dataset/raw/*.html dataset/raw/*.jsonl))

.PHONY: venv config dataset test clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Stage: taxonomy -> Label Studio labeling config.
config: schema/labeling-config.xml
schema/labeling-config.xml: schema/taxonomy.yaml $(STAMP)
	$(BIN)/stancekit config --taxonomy schema/taxonomy.yaml --out $@

# The main job on the bundled data.
dataset: config

# Label Studio lives in its own virtual environment (it pins Django and many packages);
# STANCEKIT_LS_VENV=/path/to/venv reuses an existing install instead.
LS_VENV ?= $(or $(STANCEKIT_LS_VENV),.venv-ls)
LS_BIN  := $(LS_VENV)/bin/label-studio
export STANCEKIT_LS_VENV := $(abspath $(LS_VENV))

.PHONY: ls-install tasks label
ls-install: $(LS_BIN)
$(LS_BIN):
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q --upgrade pip
	$(LS_VENV)/bin/pip install -q label-studio==1.23.2

# Stage: documents -> Label Studio tasks with rule-based pre-annotations (MAX_CHARS=N to chunk).
tasks: annotation/tasks/tasks.json
annotation/tasks/tasks.json: build/documents.parquet schema/preannotator.yaml schema/taxonomy.yaml $(STAMP)
	$(BIN)/stancekit tasks build/documents.parquet --out $@ $(if $(MAX_CHARS),--max-chars $(MAX_CHARS))

# A labeling environment on 127.0.0.1: start Label Studio, create or update the project, import the tasks.
label: $(LS_BIN) config annotation/tasks/tasks.json
	$(BIN)/stancekit ls up
	$(BIN)/stancekit ls push annotation/tasks/tasks.json

test: $(STAMP) $(LS_BIN)
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache
