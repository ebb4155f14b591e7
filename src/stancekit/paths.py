"""Default paths of the repository layout, relative to the working directory (the repository root).

The one place they are written: the CLI's option defaults and the modules' defaults come from here.
"""

from __future__ import annotations

from pathlib import Path

# schema/: the taxonomy and what is generated from it, and the pre-annotator's cues
TAXONOMY = Path("schema/taxonomy.yaml")
LABELING_CONFIG = Path("schema/labeling-config.xml")
EXPORT_SCHEMA = Path("schema/export.schema.json")
PREANNOTATOR = Path("schema/preannotator.yaml")
LS_PROJECT_SETTINGS = Path("schema/labelstudio-project.yaml")  # annotators per task, predictions shown, skipping

# annotation/: guidelines, tasks, Label Studio exports, gold
TASKS = Path("annotation/tasks/tasks.json")
EXPORTS_DIR = Path("annotation/exports")
EXPORTS_GLOB = f"{EXPORTS_DIR.as_posix()}/*.json"
GOLD = Path("annotation/gold/gold.json")

# build/: outputs of the stages that are not committed
DOCUMENTS = Path("build/documents.parquet")
AGREEMENT = Path("build/agreement.json")

# dataset/ and the documents generated from a release
RELEASES_DIR = Path("dataset/releases")
METADATA = Path("dataset/metadata.yaml")  # what croissant.json says about the dataset
DATASHEET = Path("DATASHEET.md")
PLOTS_DIR = Path("docs/datasheet")

# Label Studio: its state (credentials, pid, log; kept out of git) and its own virtual environment
LS_STATE_DIR = Path(".labelstudio")
LS_VENV = Path(".venv-ls")
