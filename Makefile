# The workflow. Every stage is a target with its inputs and outputs.
# `make dataset` and `make test` create or refresh the virtual environment first.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RAW     := $(sort $(wildcard dataset/raw/*.txt dataset/raw/*.html dataset/raw/*.jsonl))

.PHONY: venv config ingest dataset test clean schema validate

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

# Stage: taxonomy -> JSON Schema of a Label Studio export (enums from the taxonomy).
schema: schema/export.schema.json
schema/export.schema.json: schema/taxonomy.yaml $(STAMP)
	$(BIN)/stancekit schema --taxonomy schema/taxonomy.yaml --out $@

# Stage: check the committed Label Studio exports (exit 1 on errors, 2 on unreadable input).
EXPORTS := $(sort $(wildcard annotation/exports/*.json))
validate: schema/labeling-config.xml $(STAMP)
	$(if $(EXPORTS),$(BIN)/stancekit validate --config schema/labeling-config.xml --taxonomy schema/taxonomy.yaml $(EXPORTS),@echo "no exports in annotation/exports/")

dataset: schema validate

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf build .pytest_cache
