"""The bundled dataset end to end: raw offsets on the real corpus, and `make dataset` / `make publish`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import stancekit
from stancekit import ingest, read, release, taxonomy
from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
EXPORTS = sorted((ROOT / "annotation/exports").glob("*.json"))


def run(*args: str) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def test_raw_offsets_of_the_bundled_corpus_give_each_span_in_its_raw_file(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # source_file paths are relative to the repository, as make writes them
    documents, tasks, gold = tmp_path / "documents.parquet", tmp_path / "tasks.json", tmp_path / "gold.json"
    run("ingest", *sorted(Path("dataset/raw").glob("*.txt")), "--out", documents)
    run("tasks", documents, "--out", tasks)
    run("adjudicate", *EXPORTS, "--out", gold)
    built = release.build(release.Inputs(documents, EXPORTS, gold, tasks), TAXONOMY, tmp_path / "releases",
                          version="1.0.0")
    tables = stancekit.load(layer=None, releases_dir=built.parent)
    docs = tables["documents"].set_index("doc_id")
    spans = tables["spans"]
    assert set(spans["layer"]) == set(read.LAYERS)
    assert spans["raw_start"].notna().all() and spans["raw_end"].notna().all()
    raw = {doc_id: Path(path).read_bytes() for doc_id, path in docs["source_file"].items()}
    whole = 0
    for row in spans.itertuples():
        omap = docs.at[row.doc_id, "offset_map"]
        pieces = ingest.raw_pieces(omap, row.start, row.end)
        assert (row.raw_start, row.raw_end) == (pieces[0][2], pieces[-1][3])
        if len(pieces) == 1 and pieces[0][:2] == (row.start, row.end):  # nothing cleaned inside the span
            assert raw[row.doc_id][row.raw_start:row.raw_end].decode(omap["encoding"]) == row.text, row
            whole += 1
    assert whole > 0.9 * len(spans)


def _make(repo: Path, *targets: str) -> subprocess.CompletedProcess:
    venv = Path(sys.prefix)  # the running environment; -o: never reinstall it from the copy
    return subprocess.run(["make", "-C", str(repo), *targets, f"VENV={venv}", "-o", f"{venv}/.installed"],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_dataset_rebuilds_and_checks_the_committed_release_and_publish_never_overwrites(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md", "DATASHEET.md"):
        shutil.copy(ROOT / name, repo / name)
    for name in ("src", "schema", "annotation", "dataset"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "tasks.json"))
    (repo / "dataset/VERSION").write_text("9.9.9\n")

    first = _make(repo, "dataset")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "build/releases/v9.9.9: every file matches the manifest" in first.stdout
    assert "dataset/releases/v9.9.9 is not published yet" in first.stdout
    assert (repo / "annotation/tasks/tasks.json").is_file() and (repo / "annotation/gold/gold.json").is_file()

    published = _make(repo, "publish")
    assert published.returncode == 0, published.stdout + published.stderr
    assert release.verify(repo / "dataset/releases/v9.9.9") == []
    assert "v9.9.9" in (repo / "DATASHEET.md").read_text()

    again = _make(repo, "dataset")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "dataset/releases/v9.9.9 is reproducible: byte-identical" in again.stdout

    refused = _make(repo, "publish")
    assert refused.returncode != 0 and "v9.9.9 exists: a release is never overwritten" in refused.stderr

    # An annotation changed after publishing: the committed release is no longer what the inputs give.
    export = repo / "annotation/exports" / EXPORTS[0].name
    tasks = json.loads(export.read_text(encoding="utf-8"))
    question = TAXONOMY.document_choices[0]
    for item in tasks[0]["annotations"][0]["result"]:
        if item["from_name"] == question.name:
            item["value"]["choices"] = [next(v for v in question.value_names if v not in item["value"]["choices"])]
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    drifted = _make(repo, "dataset")
    assert drifted.returncode != 0
    assert "annotations.parquet" in drifted.stdout
    assert "dataset/releases/v9.9.9 is NOT what the committed inputs give" in drifted.stderr


def test_every_published_release_still_verifies_and_dataset_version_is_the_next_one():
    """Published releases are never changed (checksums, sizes, rows, schemas), whatever the current taxonomy."""
    published = sorted((ROOT / "dataset/releases").glob("v*"))
    assert ROOT / "dataset/releases/v1.0.0" in published
    for path in published:
        assert release.verify(path) == [], path
    # dataset/VERSION names the release `make dataset` builds; when it is not published yet it must be
    # newer than every published one (a taxonomy change means the committed inputs no longer give v1.0.0).
    version = tuple(int(p) for p in (ROOT / "dataset/VERSION").read_text().strip().split("."))
    newest = max(tuple(int(p) for p in path.name[1:].split(".")) for path in published)
    assert version >= newest
