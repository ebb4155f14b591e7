"""What researchers load: a Hugging Face view that is never stale, croissant.json read back by
mlcroissant, source caveats as document columns, and `stancekit.load` from any directory."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import stancekit
from stancekit import columns, croissant, read, release, sources, taxonomy
from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY_PATH = ROOT / "schema/taxonomy.yaml"
TAXONOMY = taxonomy.load(TAXONOMY_PATH)
STALE = ROOT / "tests/fixtures/hf-stale-release"
EXPORTS = sorted((ROOT / "annotation/exports").glob("*.json"))
RAW = sorted((ROOT / "dataset/raw").glob("*.txt"))


def run(*args) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def build_from_committed_inputs(work: Path, out_dir: Path) -> Path:
    """The release of dataset/VERSION from the raw articles, sources.csv and the committed exports,
    with the stages `make dataset` runs (raw paths relative to the repository, as make gives them)."""
    version = (ROOT / "dataset/VERSION").read_text().strip()
    docs, tasks, gold, agree = work / "documents.parquet", work / "tasks.json", work / "gold.json", work / "agreement.json"
    run("ingest", *[p.relative_to(ROOT) for p in RAW], "--sources", "dataset/raw/sources.csv", "--out", docs)
    run("tasks", docs, "--out", tasks)
    exports = [p.relative_to(ROOT) for p in EXPORTS]
    run("adjudicate", "--documents", docs, *exports, "--out", gold)
    agree.write_text(run("agreement", "--documents", docs, "--format", "json", *exports).output)
    run("release", "--version", version, "--documents", docs, "--exports", *exports, "--gold", gold, "--tasks", tasks,
        "--agreement", agree, "--rules", "schema/preannotator.yaml", "--metadata", "dataset/metadata.yaml",
        "--out-dir", out_dir)
    return out_dir / f"v{version}"


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """The release that the committed inputs give (built twice, in two places)."""
    base = tmp_path_factory.mktemp("committed")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        first = build_from_committed_inputs(base / "work", base / "a")  # same input paths, as make's build/
        second = build_from_committed_inputs(base / "work", base / "b")
    return first, second


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the published and the next release

def test_every_committed_release_verifies():
    releases = read.list_releases(ROOT / read.RELEASES_DIR)
    assert releases and releases[0].name == "v1.0.0"
    for path in releases:
        assert release.verify(path) == [], path


def test_the_committed_inputs_give_one_deterministic_release_of_dataset_version(committed):
    first, second = committed
    assert tree(first) == tree(second)  # byte-identical, croissant.json and the card included
    assert release.verify(first) == []
    # That a published release is exactly what the committed inputs give is `make dataset`'s check
    # (tests/test_dataset.py), with make's own input paths, which the manifest records.
    manifest = json.loads((first / read.MANIFEST).read_text(encoding="utf-8"))
    assert croissant.FILE in manifest["files"] and release.CARD in manifest["files"]


def test_v1_still_loads_without_the_source_columns():
    tables = stancekit.load(path=ROOT / "dataset/releases/v1.0.0", layer="gold")
    assert len(tables["documents"]) == 5 and "source_kind" not in tables["documents"]
    assert len(tables["spans"]) == 74


# ---------------------------------------------------------------- source metadata as columns

def test_source_columns_carry_the_caveats_of_000_001_and_004(committed):
    docs = stancekit.load(path=committed[0])["documents"]
    by_file = {Path(f).name[:3]: row for f, row in zip(docs["source_file"], docs.to_dict("records"))}
    assert by_file["000"]["source_kind"] == "blog" and "speculative content" in by_file["000"]["source_caveats"]
    assert by_file["000"]["author"] == "Jhon Lennon"
    assert "duplicated body" in by_file["001"]["source_caveats"]
    assert by_file["004"]["source_kind"] == "content_farm" and by_file["004"]["outlet"] == "BBC Express News"
    assert "timeline inconsistency" in by_file["004"]["source_caveats"] and "2023" in by_file["004"]["source_caveats"]
    assert by_file["002"]["source_caveats"] == "" and by_file["003"]["source_caveats"] == ""
    assert str(docs["source_kind"].dtype) == "string"
    # The HF view repeats them per document.
    hf = pq.read_table(committed[0] / release.hf_data_file("train")).to_pylist()
    assert {r["doc_id"]: r["source_caveats"] for r in hf} == dict(zip(docs["doc_id"], docs["source_caveats"]))


def test_the_readme_one_liner_drops_documents_with_caveats(committed):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln.strip() for ln in readme.splitlines() if "source_caveats" in ln and ln.strip().startswith("clean ="))
    tables = stancekit.load(path=committed[0])
    scope = {"tables": tables}
    exec(line, scope)  # noqa: S102 (the README's own line)
    kept = {Path(f).name[:3] for f in scope["clean"]["source_file"]}
    assert kept == {"002", "003"}


def test_sources_csv_errors_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "sources.csv"
    bad.write_text("file,source_kind,source_caveats,outlet,author,published\na.txt,tabloid,,,,\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(RAW[0]), "--sources", str(bad), "--out", str(tmp_path / "d.parquet")])
    assert result.exit_code == 2 and "sources.csv:2: source_kind 'tabloid' is not one of" in result.output
    assert not (tmp_path / "d.parquet").exists()
    bad.write_text("file,source_kind\n", encoding="utf-8")
    with pytest.raises(sources.SourcesError, match="missing column"):
        sources.read(bad)


def test_an_article_missing_from_sources_csv_gets_null_source_columns_and_a_warning(tmp_path):
    raw = tmp_path / "new.txt"
    raw.write_text("A headline\n\nSome article text about the ceasefire talks.\n", encoding="utf-8")
    out = tmp_path / "d.parquet"
    result = CliRunner().invoke(main, ["ingest", str(raw), str(RAW[4]), "--sources", str(ROOT / "dataset/raw/sources.csv"),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{raw}: not in" in result.output
    rows = {Path(r["source_file"]).name: r for r in pq.read_table(out).to_pylist()}
    assert rows["new.txt"]["source_kind"] is None and rows["new.txt"]["source_caveats"] is None
    assert rows[RAW[4].name]["source_kind"] == "content_farm"


# ---------------------------------------------------------------- one declaration per column

def test_card_readme_and_croissant_take_each_column_doc_from_the_declarations(committed):
    doc = json.loads((committed[0] / croissant.FILE).read_text(encoding="utf-8"))
    card = (committed[0] / release.CARD).read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    in_release = {r["name"]: r for r in doc["recordSet"]}
    for table, cols in columns.tables(TAXONOMY).items():
        for col in cols:
            row = f"| {table} | `{col.name}` | {release.arrow_type_name(col.type)} |"
            assert row in readme, row
            assert (row in card) == (table in in_release), row  # the card shows the tables the release has
        if table not in in_release:  # relations.parquet exists only when some annotation drew relations
            continue
        fields = {f["name"]: f for f in in_release[table]["field"]}
        for col in cols:
            field = fields[col.name]
            assert field["description"] == col.doc
            if col.parts:  # a struct: every child a subField with its own type and meaning
                subs = {f["name"]: f for f in field["subField"]}
                assert list(subs) == [part for part, _ in col.parts]
                for part, part_doc in col.parts:
                    assert subs[part]["description"] == part_doc and f"| {table} | `{col.name}.{part}` |" in readme
                    assert (subs[part]["dataType"], subs[part].get("repeated", False)) == \
                        croissant.data_type(col.type.field(part).type)
            else:
                assert (field["dataType"], field.get("repeated", False)) == croissant.data_type(col.type)
    assert set(pq.read_schema(committed[0] / "documents.parquet").names) == {c.name for c in columns.DOCUMENT_COLUMNS}


def test_an_undeclared_column_is_refused(tmp_path):
    root = tmp_path / "rel"
    root.mkdir()
    pq.write_table(pq.read_table(ROOT / "dataset/releases/v1.0.0/documents.parquet").append_column(
        "mystery", pq.read_table(ROOT / "dataset/releases/v1.0.0/documents.parquet").column("doc_id")),
        root / "documents.parquet")
    with pytest.raises(croissant.CroissantError, match="'mystery' is not declared"):
        croissant.describe(root, TAXONOMY, "0.0.1")


# ---------------------------------------------------------------- Croissant, read back by mlcroissant

def _releases_with_croissant(committed) -> list[Path]:
    published = [p for p in read.list_releases(ROOT / read.RELEASES_DIR) if (p / croissant.FILE).is_file()]
    return published + [committed[0]]


def test_every_croissant_json_validates_and_its_records_equal_the_parquet_rows(committed):
    mlc = pytest.importorskip("mlcroissant")
    import pandas as pd

    for root in _releases_with_croissant(committed):
        doc = json.loads((root / croissant.FILE).read_text(encoding="utf-8"))
        assert doc["conformsTo"].startswith("http://mlcommons.org/croissant/1.")
        for key in ("name", "description", "license", "citeAs", "version", "dateModified", "creator", "subjectOf",
                    "rai:dataLimitations", "rai:dataAnnotationPlatform", "rai:annotatorDemographics"):
            assert doc.get(key), key
        manifest = json.loads((root / read.MANIFEST).read_text(encoding="utf-8"))
        parquet = {n: e for n, e in manifest["files"].items() if n.endswith(".parquet")}
        assert {f["contentUrl"]: f["sha256"] for f in doc["distribution"]} == {
            n: hashlib.sha256((root / n).read_bytes()).hexdigest() for n in parquet}

        dataset = mlc.Dataset(jsonld=root / croissant.FILE)  # raises on any validation error
        issues = dataset.metadata.ctx.issues
        assert not issues.errors
        assert all("datePublished" in w for w in issues.warnings), issues.warnings  # a build reads no clock
        tables = [n[:-8] for n in parquet if "/" not in n]
        assert sorted(r["name"] for r in doc["recordSet"]) == sorted(tables)
        for table in tables:
            records = list(dataset.records(record_set=table))
            assert len(records) == parquet[f"{table}.parquet"]["rows"], table
        spans = pd.read_parquet(root / "spans.parquet")
        got = [(r["spans/start"], r["spans/end"], r["spans/text"].decode("utf-8"))
               for r in dataset.records(record_set="spans")]
        assert got == list(zip(spans["start"], spans["end"], spans["text"]))
        documents = pd.read_parquet(root / "documents.parquet")
        for record, expected in zip(dataset.records(record_set="documents"), documents["offset_map"], strict=True):
            omap = {k.rsplit("/", 1)[1]: v for k, v in record["documents/offset_map"].items()}
            assert omap["encoding"].decode() == expected["encoding"]
            assert all(list(omap[k]) == [int(x) for x in expected[k]] for k in ("clean", "raw", "count"))


def test_croissant_of_a_release_with_emoji_and_cyrillic_spans(tmp_path):
    mlc = pytest.importorskip("mlcroissant")
    import pandas as pd

    from release_fixtures import write_inputs

    paths = write_inputs(tmp_path / "in", TAXONOMY)
    tasks = json.loads(paths["export"].read_text(encoding="utf-8"))  # one relation, so relations.parquet exists
    result = tasks[0]["annotations"][0]["result"]
    regions = list(dict.fromkeys(item["id"] for item in result if item["type"] == "labels"))
    result.append({"type": "relation", "from_id": regions[0], "to_id": regions[1], "direction": "right", "labels": []})
    paths["export"].write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    built = release.build(release.Inputs(paths["documents"], [paths["export"]], paths["gold"], paths["tasks"],
                                         metadata=ROOT / "dataset/metadata.yaml"),
                          TAXONOMY, tmp_path / "releases", version="0.1.0")
    dataset = mlc.Dataset(jsonld=built / croissant.FILE)
    spans = pd.read_parquet(built / "spans.parquet")
    got = [(r["spans/start"], r["spans/end"], r["spans/text"].decode()) for r in dataset.records(record_set="spans")]
    assert got == list(zip(spans["start"], spans["end"], spans["text"]))
    assert any("🕊" in text for _, _, text in got) and any("NATO" in text for _, _, text in got)
    annotators = [r["annotations/annotators"] for r in dataset.records(record_set="annotations")]
    assert [b"annotator1@example.org", b"user:2"] in annotators  # a list column, read as a list
    relations = [(r["relations/from_id"], r["relations/to_id"]) for r in dataset.records(record_set="relations")]
    assert relations == [(regions[0].encode(), regions[1].encode())]
    assert len(relations) == pq.read_metadata(built / "relations.parquet").num_rows


def test_bad_metadata_is_one_line(tmp_path):
    bad = tmp_path / "metadata.yaml"
    bad.write_text("rai:\n  dataVibes: good\n", encoding="utf-8")
    with pytest.raises(croissant.CroissantError, match="unknown RAI statement"):
        croissant.read_metadata(bad)


# ---------------------------------------------------------------- the Hugging Face view is keyed by content

def _stale_case(workdir: Path, out: str, with_gold: bool) -> Path:
    """The regression's commands: ingest the article, adjudicate, release v1.0.0 with or without gold."""
    docs, gold = workdir / "documents.parquet", workdir / "gold.json"
    export = STALE / "export-no-value-text.json"
    if not docs.exists():
        run("ingest", STALE / "article.txt", "--out", docs)
        run("adjudicate", "--taxonomy", TAXONOMY_PATH, export, "--out", gold)
    args = ["release", "--taxonomy", TAXONOMY_PATH, "--version", "1.0.0", "--documents", docs, "--exports", export,
            "--out-dir", workdir / out]
    run(*args, *(["--gold", gold] if with_gold else []))
    return workdir / out / "v1.0.0"


def test_hf_stale_release_a_rebuilt_folder_is_read_afresh(tmp_path, monkeypatch):
    """Regression hf-stale-release: after rebuilding v1.0.0 without gold, datasets returns 0 gold spans."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    monkeypatch.chdir(tmp_path)  # the README.txt's commands run in an empty directory
    cache = str(tmp_path / "hf-cache")

    def spans(path):
        return [len(s) for s in datasets.load_dataset(str(path), cache_dir=cache)["train"]["spans"]]

    rel = _stale_case(tmp_path, "relA", with_gold=True)
    assert spans(rel) == [1]
    shutil.rmtree(tmp_path / "relA")
    rel = _stale_case(tmp_path, "relA", with_gold=False)
    pandas_view = [len(s) for s in pq.read_table(rel / release.hf_data_file("train")).column("spans").to_pylist()]
    assert pandas_view == [0]
    assert spans(rel) == pandas_view  # EXPECTED of the case: what the files hold
    # Another folder with the same name and other content is not served from the first one's cache.
    other = _stale_case(tmp_path, "relB", with_gold=True)
    assert spans(other) == [1] and spans(rel) == [0]


def test_the_card_yaml_carries_the_content_fingerprint(committed):
    card = (committed[0] / release.CARD).read_text(encoding="utf-8")
    manifest = json.loads((committed[0] / read.MANIFEST).read_text(encoding="utf-8"))
    front = card.split("---\n")[1]
    assert f"content sha256 {manifest['content_sha256']}" in front
    assert manifest["content_sha256"] == release.content_sha256(manifest["files"])


def test_the_data_files_form_reads_a_rebuilt_folder_afresh(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    monkeypatch.chdir(tmp_path)
    cache = str(tmp_path / "hf-cache")

    def spans(path):
        files = {"train": str(path / release.hf_data_file("train"))}
        return [len(s) for s in datasets.load_dataset("parquet", data_files=files, cache_dir=cache)["train"]["spans"]]

    assert spans(_stale_case(tmp_path, "relA", with_gold=True)) == [1]
    shutil.rmtree(tmp_path / "relA")
    assert spans(_stale_case(tmp_path, "relA", with_gold=False)) == [0]


def test_readme_documents_both_datasets_forms():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'datasets.load_dataset(R)' in readme
    assert re.search(r'datasets\.load_dataset\("parquet", data_files=', readme)


# ---------------------------------------------------------------- loading from anywhere

def test_load_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STANCEKIT_RELEASES", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        stancekit.load()
    message = str(err.value)
    assert str(tmp_path / "dataset/releases") in message and "root=" in message and "path=" in message
    assert len(stancekit.load(root=ROOT)["spans"]) > 0
    assert len(stancekit.load(path=ROOT / "dataset/releases/v1.0.0")["documents"]) == 5
    with pytest.raises(FileNotFoundError, match="is not a release directory"):
        stancekit.load(path=tmp_path)
    with pytest.raises(FileNotFoundError, match="no release 9.9.9 .*versions there: v1.0.0"):
        stancekit.load(version="9.9.9", root=ROOT)
    monkeypatch.chdir(ROOT / "src/stancekit")  # inside the repository: the nearest dataset/releases above
    assert len(stancekit.load()["documents"]) == 5


# ---------------------------------------------------------------- the README's researcher tour

def test_the_readme_researcher_tour_runs_on_one_release(committed, monkeypatch):
    pytest.importorskip("mlcroissant")
    pytest.importorskip("duckdb")
    pytest.importorskip("datasets")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme.split("### For researchers", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "stancekit.load" in tour and "duckdb" in tour and "datasets.load_dataset" in tour and "mlcroissant" in tour
    monkeypatch.chdir(ROOT)
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", committed[0].parent.parent / "hf-cache")
    tour = re.sub(r'^R = .*$', f'R = "{committed[0]}"', tour, count=1, flags=re.M)
    scope: dict = {}
    exec(tour, scope)  # noqa: S102 (README's own code)
    assert scope["n_pandas"] == scope["n_duckdb"] == scope["n_datasets"] == scope["n_croissant"] > 0
