# The workflow. Every stage is a target with its inputs and outputs.
# `make dataset` and `make test` create or refresh the virtual environment first.
#
# make dataset: venv -> config -> schema -> ingest -> tasks -> validate -> gold -> release-build
#   (build/releases/v$(VERSION), verified) -> reproducible (byte-identical to the committed
#   dataset/releases/v$(VERSION), when there is one).
# make publish: that verified build promoted into dataset/releases/v$(VERSION) (refused when it exists),
#   then the DATASHEET statistics. The version is in one place: dataset/VERSION.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RAW     := $(sort $(wildcard dataset/raw/*.txt dataset/raw/*.html dataset/raw/*.jsonl))
SRC     := $(shell find src/stancekit -name "*.py")
VERSION := $(shell cat dataset/VERSION)

.PHONY: venv config ingest test clean schema validate

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

# Stage: raw articles -> clean documents with a map back to the raw bytes and what sources.csv knows
# of each, and the report of every stretch cleaning removed (build/ingest-report.jsonl).
ingest: build/documents.parquet
build/documents.parquet: $(RAW) dataset/raw/sources.csv $(SRC) src/stancekit/ingest/chrome.yaml $(STAMP)
	$(BIN)/stancekit ingest $(RAW) --sources dataset/raw/sources.csv --out $@ --report build/ingest-report.jsonl

# Stage: taxonomy -> JSON Schema of a Label Studio export (enums from the taxonomy).
schema: schema/export.schema.json
schema/export.schema.json: schema/taxonomy.yaml $(STAMP)
	$(BIN)/stancekit schema --taxonomy schema/taxonomy.yaml --out $@

# Stage: check the committed Label Studio exports (exit 1 on errors, 2 on unreadable input).
EXPORTS := $(sort $(wildcard annotation/exports/*.json))
validate: schema/labeling-config.xml build/documents.parquet $(STAMP)
	$(if $(EXPORTS),$(BIN)/stancekit validate --documents build/documents.parquet --config schema/labeling-config.xml --taxonomy schema/taxonomy.yaml $(EXPORTS),@echo "no exports in annotation/exports/")

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
# Not committed: regenerated here from committed inputs (the release records its sha256).
annotation/tasks/tasks.json: build/documents.parquet schema/preannotator.yaml schema/taxonomy.yaml $(SRC) $(STAMP)
	$(BIN)/stancekit tasks build/documents.parquet --out $@ $(if $(MAX_CHARS),--max-chars $(MAX_CHARS))

# A labeling environment on 127.0.0.1: start Label Studio, create or update the project with the settings of
# schema/labelstudio-project.yaml (2 annotators per task), import the tasks. STANCEKIT_LS_DATABASE=postgresql://...
# runs it on PostgreSQL (README: "A team server").
label: $(LS_BIN) config annotation/tasks/tasks.json
	$(BIN)/stancekit ls up
	$(BIN)/stancekit ls push annotation/tasks/tasks.json


# Stage: validated exports -> agreement report (JSON, for the release manifest); -> gold (deterministic, always rebuilt: it is
# committed, and the release records its sha256); -> adjudication tasks for Label Studio.
.PHONY: agreement gold adjudication-tasks
agreement: build/agreement.json
build/agreement.json: validate
	$(if $(EXPORTS),$(BIN)/stancekit agreement --documents build/documents.parquet --format json $(EXPORTS) > $@.tmp && mv $@.tmp $@,@echo "no exports in annotation/exports/")
gold: validate
	$(if $(EXPORTS),$(BIN)/stancekit adjudicate --documents build/documents.parquet $(EXPORTS) --out annotation/gold/gold.json,@echo "no exports in annotation/exports/")
adjudication-tasks: validate
	$(BIN)/stancekit adjudicate --documents build/documents.parquet $(EXPORTS) --out annotation/gold/gold.json --tasks-out annotation/tasks/adjudication.json

test: $(STAMP) $(LS_BIN) system-deps
	$(BIN)/pytest

# Lint (ruff), types of src/ (mypy, 0 errors) and the generated docs (cog): seconds, no server.
COGGED := README.md annotation/GUIDELINES.md docs/cli-reference.md
.PHONY: check
check: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/mypy
	$(BIN)/cog --check $(COGGED)

# Debian's headless Chromium and colour emoji font, for tests/test_browser.py (Playwright drives
# /usr/bin/chromium; it never downloads a browser), and Debian's PostgreSQL server, for the team
# tests (tests/postgres.py runs initdb and pg_ctl from /usr/lib/postgresql/<version>/bin into a
# throwaway cluster of its own; the package's own cluster is left alone). A no-op when all are installed.
CHROMIUM   := /usr/bin/chromium
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
PG_INITDB  := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
SUDO       := $(if $(filter 0,$(shell id -u)),,sudo)
.PHONY: system-deps
system-deps:
	@test -x $(CHROMIUM) -a -f $(EMOJI_FONT) -a -n "$(PG_INITDB)" || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    chromium fonts-noto-color-emoji postgresql; }

clean:
	rm -rf build .pytest_cache

# Stage: documents + validated exports + gold + predictions -> build/releases/v$(VERSION), verified.
# Earlier committed releases are copied in first: a manifest records the diff against the previous one.
EARLIER := $(filter-out dataset/releases/v$(VERSION),$(wildcard dataset/releases/v*))
.PHONY: dataset release-build reproducible publish datasheet
release-build: build/documents.parquet annotation/tasks/tasks.json gold agreement
	rm -rf build/releases
	mkdir -p build/releases
	$(if $(EARLIER),cp -R $(EARLIER) build/releases/)
	$(BIN)/stancekit release --version $(VERSION) --out-dir build/releases
	$(BIN)/stancekit verify build/releases/v$(VERSION)

# Stage: a committed release must be exactly what the raw articles and committed annotations give.
reproducible: release-build
	@if [ ! -d dataset/releases/v$(VERSION) ]; then \
	  echo "dataset/releases/v$(VERSION) is not published yet: 'make publish' publishes it"; \
	elif diff -r dataset/releases/v$(VERSION) build/releases/v$(VERSION) >/dev/null; then \
	  echo "dataset/releases/v$(VERSION) is reproducible: byte-identical to build/releases/v$(VERSION)"; \
	else \
	  diff -rq dataset/releases/v$(VERSION) build/releases/v$(VERSION); \
	  echo "dataset/releases/v$(VERSION) is NOT what the committed inputs give (files above differ):" \
	    "revert the inputs, or set a new version in dataset/VERSION and 'make publish'" >&2; \
	  exit 1; \
	fi

# The main job on the bundled data: every stage, in order.
dataset: config schema build/documents.parquet annotation/tasks/tasks.json validate gold agreement release-build reproducible

# Publish dataset/releases/v$(VERSION): the build `make dataset` verified, promoted as it is, not built
# again (verified, copied, verified again, renamed into place; refused when an input changed since the
# build, and never over a published release: set a new version in dataset/VERSION, the one
# `stancekit release --bump` derives from the diff: TFDS semantics), then the DATASHEET statistics.
publish: $(STAMP)
	@test -f build/releases/v$(VERSION)/manifest.json || { \
	  echo "build/releases/v$(VERSION) is not built: run 'make dataset' first" >&2; exit 1; }
	$(BIN)/stancekit publish build/releases/v$(VERSION)
	$(BIN)/stancekit datasheet

# DATASHEET.md statistics and plots, from the latest release.
datasheet: $(STAMP)
	$(BIN)/stancekit datasheet

# README's tables, GUIDELINES.md's taxonomy tables and docs/cli-reference.md: cog blocks generated from
# the code and the taxonomy (`make check` and tests/test_docs.py fail when one is stale).
.PHONY: docs
docs: $(STAMP)
	$(BIN)/cog -r $(COGGED)

# Benchmark validate and release against baselines on synthetic exports (TASKS="10000 100000"; README "Performance").
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python scripts/bench.py --settle 120 --tasks $(or $(TASKS),1000 10000)
