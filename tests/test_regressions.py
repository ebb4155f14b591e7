"""Regression cases rebuilt from public bug reports (tests/fixtures/regressions/<case>/README.txt):
each runs the case's commands through the CLI and asserts the result its README expects."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests/fixtures/regressions"
T = ["--taxonomy", str(ROOT / "schema/taxonomy.yaml")]
V = [*T, "--config", str(ROOT / "schema/labeling-config.xml")]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def documents(tmp_path, monkeypatch):
    """Ingest the case's article, in an empty working directory (as the READMEs run them)."""
    monkeypatch.chdir(tmp_path)

    def ingest(article: Path) -> Path:
        out = tmp_path / "documents.parquet"
        result = run("ingest", article, "--out", out)
        assert result.exit_code == 0, result.output
        return out
    return ingest


def test_overlapping_pulls_count_each_annotation_once(tmp_path, documents):
    case = CASES / "overlapping-pulls"
    docs = documents(case / "article.txt")
    pulls = sorted(case.glob("*Z.json"))
    result = run("validate", *V, *pulls)
    assert result.exit_code == 0 and "DUPLICATE_ANNOTATION  warning      2" in result.output, result.output
    assert run("adjudicate", *T, *pulls, "--out", tmp_path / "gold.json").exit_code == 0
    result = run("release", *T, "--version", "1.0.0", "--documents", docs, "--exports", str(case / "*Z.json"),
                 "--gold", tmp_path / "gold.json", "--out-dir", tmp_path / "rel")
    assert result.exit_code == 0, result.output
    a = pd.read_parquet(tmp_path / "rel/v1.0.0/annotations.parquet")
    s = pd.read_parquet(tmp_path / "rel/v1.0.0/spans.parquet")
    assert ((a.layer == "annotation").sum(), (s.layer == "annotation").sum()) == (2, 3)
    # The same release as from the latest snapshot alone.
    one = run("release", *T, "--version", "1.0.0", "--documents", docs, "--exports", pulls[-1],
              "--gold", tmp_path / "gold.json", "--out-dir", tmp_path / "one")
    assert one.exit_code == 0, one.output
    for name in ("annotations.parquet", "spans.parquet", "documents.parquet"):
        left = pd.read_parquet(tmp_path / "rel/v1.0.0" / name).drop(columns=["source"], errors="ignore")
        right = pd.read_parquet(tmp_path / "one/v1.0.0" / name).drop(columns=["source"], errors="ignore")
        pd.testing.assert_frame_equal(left, right)


def test_end_past_text_is_refused_by_every_stage(tmp_path, documents):
    case = CASES / "end-past-text"
    docs = documents(case / "article.txt")
    export = case / "export-end-past-text.json"
    result = run("validate", *V, "--format", "json", export)
    assert result.exit_code == 1
    [problem] = [json.loads(line) for line in result.output.splitlines()]
    assert (problem["code"], problem["task_id"], problem["annotation_id"], problem["region_id"]) == \
        ("OFFSET_OUT_OF_RANGE", 1, 41, "end1")
    result = run("release", *T, "--version", "1.0.0", "--documents", docs, "--exports", export, "--out-dir", tmp_path / "rel")
    assert result.exit_code == 1 and "OFFSET_OUT_OF_RANGE" in result.output
    assert not (tmp_path / "rel/v1.0.0").exists()
    gold = tmp_path / "gold.json"
    gold.write_text("earlier gold\n")
    for verb in (["adjudicate", *T, export, "--out", gold], ["agreement", *T, export]):
        result = run(*verb)
        assert result.exit_code == 1 and result.stdout == "", (verb, result.output)
        assert "1 validation error(s)" in result.stderr and f"run `stancekit validate {export}`" in result.stderr
    assert gold.read_text() == "earlier gold\n"  # the refused run wrote nothing


def test_utf16_offsets_are_refused_by_agreement_and_adjudicate(tmp_path, documents):
    case = CASES / "utf16-offsets-emoji"
    documents(case / "article-emoji.txt")
    export = case / "export-utf16-offsets.json"
    result = run("validate", *V, "--format", "json", export)
    assert result.exit_code == 1
    errors = [p["code"] for p in map(json.loads, result.output.splitlines()) if p["level"] == "error"]
    assert errors == ["SPAN_TEXT_MISMATCH"] * 2
    assert run("agreement", *T, export).exit_code == 1
    result = run("adjudicate", *T, export, "--out", tmp_path / "gold.json")
    assert result.exit_code == 1 and "2 validation error(s)" in result.stderr and "SPAN_TEXT_MISMATCH" in result.stderr
    assert not (tmp_path / "gold.json").exists()


def test_an_edited_chunk_is_refused_naming_its_task(tmp_path, documents):
    case = CASES / "chunk-text-edited"
    docs = documents(case / "article.txt")
    for export, task_id in (("export-chunk-text-edited.json", 2), ("export-whole-text-edited.json", 1)):
        result = run("validate", *V, "--documents", docs, "--format", "json", case / export)
        assert result.exit_code == 1
        problems = [json.loads(line) for line in result.output.splitlines()]
        assert [(p["code"], p["task_id"], p["pointer"]) for p in problems if p["code"] == "TASK_TEXT_MISMATCH"] == \
            [("TASK_TEXT_MISMATCH", task_id, "/" + str(task_id - 1) + "/data/text")]
        result = run("release", *T, "--version", "1.0.0", "--documents", docs, "--exports", case / export,
                     "--out-dir", tmp_path / "rel")
        assert result.exit_code == 1 and "TASK_TEXT_MISMATCH" in result.output
        assert f"{case / export}#/{task_id - 1}/data/text" in result.output
        assert not (tmp_path / "rel/v1.0.0").exists()
