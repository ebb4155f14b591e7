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

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache

# Stage: documents + exports + gold + predictions -> dataset/releases/vX.Y.Z (immutable).
# A bare --bump derives major/minor/patch from the diff; with unchanged inputs it builds nothing.
.PHONY: release datasheet
release: $(STAMP)
	$(BIN)/stancekit release --bump
	$(BIN)/stancekit verify $$(ls -d dataset/releases/v*/ | sort -V | tail -1)

# DATASHEET.md statistics and plots, and README's release columns, from the latest release.
datasheet: $(STAMP)
	$(BIN)/stancekit datasheet
