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


# Stage: validated exports -> agreement report; -> gold and adjudication tasks for Label Studio.
.PHONY: agreement gold
agreement: validate
	$(if $(EXPORTS),$(BIN)/stancekit agreement $(EXPORTS),@echo "no exports in annotation/exports/")
gold: validate
	$(if $(EXPORTS),$(BIN)/stancekit adjudicate $(EXPORTS) --out annotation/gold/gold.json \
	  --tasks-out annotation/tasks/adjudication.json,@echo "no exports in annotation/exports/")

test: $(STAMP) $(LS_BIN)
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

# Benchmark validate and release against baselines on synthetic exports (TASKS="10000 100000"; README "Performance").
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python scripts/bench.py --tasks $(or $(TASKS),1000 10000)
