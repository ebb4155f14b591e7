# The workflow. Every stage is a target with its inputs and outputs.
# `make dataset` and `make test` create or refresh the virtual environment first.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RAW     := $(sort $(wildcard dataset/raw/*.txt dataset/raw/*.html dataset/raw/*.jsonl))

.PHONY: venv config ingest dataset test clean

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

# Stage: raw articles -> clean documents with a map back to the raw bytes.
ingest: build/documents.parquet
build/documents.parquet: $(RAW) $(STAMP)
	$(BIN)/stancekit ingest $(RAW) --out $@

# The main job on the bundled data.
dataset: config build/documents.parquet

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache
