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

# Stage: Label Studio exports -> agreement report; exports -> gold and adjudication tasks.
EXPORTS := $(sort $(wildcard annotation/exports/*.json))
.PHONY: agreement gold
agreement: $(STAMP)
	$(BIN)/stancekit agreement $(EXPORTS)
gold: annotation/gold/gold.json
annotation/gold/gold.json: $(EXPORTS) schema/taxonomy.yaml $(STAMP)
	$(BIN)/stancekit adjudicate $(EXPORTS) --out $@ --tasks-out annotation/tasks/adjudication.json

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache
