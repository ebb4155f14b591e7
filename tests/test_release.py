"""Releases: byte-identical rebuilds, never overwritten, atomic, verified, and readable by load(), datasets and DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import stancekit
from release_fixtures import TEXTS, _attrs, _doc_choice, _region, doc_id, write_agreement, write_export, write_inputs
from stancekit import gold as gold_mod
from stancekit import preannotate, read, release, taxonomy
from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
STANCEKIT = str(Path(sys.executable).parent / "stancekit")


def release_args(paths: dict[str, Path], out_dir: Path, *more: str) -> list[str]:
    return ["release", "--taxonomy", str(ROOT / "schema/taxonomy.yaml"), "--documents", str(paths["documents"]),
            "--exports", str(paths["export"]), "--gold", str(paths["gold"]), "--tasks", str(paths["tasks"]),
            "--agreement", str(paths["agreement"]), "--out-dir", str(out_dir), *more]


def run(args: list[str]):
    return CliRunner().invoke(main, args)


@pytest.fixture
def inputs(tmp_path):
    return write_inputs(tmp_path / "in", TAXONOMY)


@pytest.fixture
def built(inputs, tmp_path):
    out = tmp_path / "releases"
    result = run(release_args(inputs, out, "--version", "1.0.0"))
    assert result.exit_code == 0, result.output
    return out / "v1.0.0"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_builds_are_byte_identical(inputs, built, tmp_path):
    other = tmp_path / "again"
    assert run(release_args(inputs, other, "--version", "1.0.0")).exit_code == 0
    first, second = tree(built), tree(other / "v1.0.0")
    assert first.keys() == second.keys()
    assert {"documents.parquet", "annotations.parquet", "spans.parquet", "manifest.json", "README.md"} <= first.keys()
    for name in first:
        assert first[name] == second[name], name
    # The same annotations exported in another order give the same tables.
    tasks = json.loads(inputs["export"].read_text())
    for task in tasks:
        task["annotations"].reverse()
    inputs["export"].write_text(json.dumps(tasks, ensure_ascii=False))
    assert run(release_args(inputs, tmp_path / "reordered", "--version", "1.0.0")).exit_code == 0
    third = tree(tmp_path / "reordered/v1.0.0")
    for name in first:
        if name.endswith(".parquet"):
            assert first[name] == third[name], name


def test_worker_processes_build_the_same_bytes(inputs, built, tmp_path, monkeypatch):
    """Rows built in the reader's worker processes (each task its own batch, its spans' raw offsets read
    from the workers' own connections to the document store) give the release of one process."""
    from stancekit import validate

    monkeypatch.setenv("STANCEKIT_WORKERS", "2")
    monkeypatch.setattr(validate, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(validate, "BATCH_BYTES", 1)
    result = run(release_args(inputs, tmp_path / "pooled", "--version", "1.0.0"))
    assert result.exit_code == 0, result.output
    pooled = tree(tmp_path / "pooled/v1.0.0")
    assert pooled == tree(built)
    assert pq.read_table(built / "spans.parquet").column("raw_start").null_count == 0  # the raw offsets were looked up


def test_release_contents(built):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["version"] == "1.0.0"
    assert manifest["taxonomy"] == {"name": TAXONOMY.name, "version": TAXONOMY.version, "sha256": TAXONOMY.sha256}
    assert [i["role"] for i in manifest["inputs"]] == ["documents", "export", "gold", "tasks", "agreement", "rules"]
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["counts"]["documents"] == len(TEXTS)
    assert manifest["counts"]["annotations"] == 2 * len(TEXTS)  # the cancelled ones are left out
    assert manifest["counts"]["annotators"] == 2
    assert sum(manifest["splits"].values()) == len(TEXTS)
    for name, entry in manifest["files"].items():
        assert (built / name).stat().st_size == entry["bytes"]
    assert manifest["parquet"]["pyarrow"] == pa.__version__
    for name in ("documents.parquet", "annotations.parquet", "spans.parquet"):
        assert pq.read_metadata(built / name).created_by == f"parquet-cpp-arrow version {pa.__version__}"
    spans = pq.read_table(built / "spans.parquet")
    assert spans.schema.field("label").type.value_type == "string"
    assert spans.column("label").chunk(0).dictionary.to_pylist() == TAXONOMY.label_names
    for q in TAXONOMY.region_attributes:
        assert spans.column(q.name).chunk(0).dictionary.to_pylist() == q.value_names
    annotators = set(pq.read_table(built / "annotations.parquet").column("annotator").to_pylist())
    assert {"annotator1@example.org", "user:2"} <= annotators


def test_span_text_is_the_document_slice_in_every_layer(built):
    tables = stancekit.load(layer=None, releases_dir=built.parent)
    texts = dict(zip(tables["documents"]["doc_id"], tables["documents"]["text"]))
    spans = tables["spans"]
    assert set(spans["layer"]) == set(read.LAYERS)
    for row in spans.itertuples():
        assert row.text == texts[row.doc_id][row.start:row.end]
    assert "🕊️" in "".join(spans["text"])  # offsets are code points, past emoji and Cyrillic


def test_raw_offsets_of_every_span_give_its_bytes_in_the_raw_file(built, inputs, tmp_path):
    tables = stancekit.load(layer=None, releases_dir=built.parent)
    raws = {d: t.encode() for d, t in zip(tables["documents"]["doc_id"], tables["documents"]["text"])}
    spans = tables["spans"]
    assert spans["raw_start"].notna().all() and spans["raw_end"].notna().all()
    for row in spans.itertuples():  # the fixture's raw file is the text itself, in UTF-8
        assert raws[row.doc_id][row.raw_start:row.raw_end].decode() == row.text
    assert (spans["raw_end"] - spans["raw_start"] > spans["end"] - spans["start"]).any()  # multi-byte characters
    # A documents table without offset_map (not ingest's) gives null raw offsets, not an error.
    no_map = tmp_path / "no_map.parquet"
    pq.write_table(pq.read_table(inputs["documents"]).drop(["offset_map"]), no_map)
    out = tmp_path / "no_map"
    args = release_args(inputs, out, "--version", "1.0.0")
    args[args.index("--documents") + 1] = str(no_map)
    assert run(args).exit_code == 0
    assert pq.read_table(out / "v1.0.0/spans.parquet").column("raw_start").null_count == len(spans)


def _counting_reads(monkeypatch) -> Counter:
    """Count how often each file is parsed as an export or task file (a spy around the real reader)."""
    from stancekit import exports, validate

    reads: Counter = Counter()
    real = exports.iter_raw_tasks_at  # what every read of an export goes through (iter_raw_tasks, iter_tasks too)

    def spy(path, *args, **kwargs):
        reads[Path(path).name] += 1
        return real(path, *args, **kwargs)

    for module in (exports, validate):
        monkeypatch.setattr(module, "iter_raw_tasks_at", spy)
    return reads


def test_exports_are_read_once_to_validate_and_build(inputs, tmp_path, monkeypatch):
    reads = _counting_reads(monkeypatch)
    release.build(release.Inputs(inputs["documents"], [inputs["export"]], inputs["gold"], inputs["tasks"]),
                  TAXONOMY, tmp_path / "releases", version="1.0.0")
    assert reads["export.json"] == 1  # one pass validates and builds
    assert reads["tasks.json"] == 2  # the prediction layer, then evaluate


def test_exports_with_validation_errors_are_refused_in_one_line(inputs, tmp_path):
    tasks = json.loads(inputs["export"].read_text())
    for task in tasks[:2]:
        region = next(item for item in task["annotations"][0]["result"] if item["type"] == "labels")
        region["value"]["end"] = len(task["data"]["text"]) + 5
    inputs["export"].write_text(json.dumps(tasks, ensure_ascii=False))
    out = tmp_path / "releases"
    result = run(release_args(inputs, out, "--version", "1.0.0"))
    assert result.exit_code == 1, result.output
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in line
    export = inputs["export"]
    assert f"{export}#/0/annotations/0/result/" in line and ": OFFSET_OUT_OF_RANGE: " in line  # the first error
    assert line.endswith(f"run `stancekit validate --documents {inputs['documents']} {export}` for every problem")
    assert not out.exists() or [p.name for p in out.iterdir()] == []


def test_agreement_and_prediction_scores_in_the_manifest(built, inputs):
    from stancekit import agreement

    manifest = json.loads((built / "manifest.json").read_text())
    summary = manifest["agreement"]
    # The manifest summarises the report of `stancekit agreement --format json`.
    report = json.loads(inputs["agreement"].read_text())
    assert summary["annotators"] == report["annotators"] == ["annotator1@example.org", "user:2"]
    for q in TAXONOMY.document_choices:
        block = summary["document_choices"][q.name]
        assert block["alpha"] == report["document_choices"][q.name]["alpha"]
        assert [k["annotators"] for k in block["kappa"]] == [["annotator1@example.org", "user:2"]]
        for metric in [block["alpha"], *block["kappa"]]:
            assert set(metric) >= {"value", "ci95", "n", "undefined"}
            assert (metric["value"] is None) == (metric["undefined"] is not None)
    for mode in agreement.MATCH_MODES:
        f1 = summary["span_f1"][mode]
        assert f1 == report["spans"][mode]["all_pairs"]["scopes"][agreement.ALL]["f1"]
        assert f1["value"] is not None and f1["n"]["comparisons"] == len(TEXTS) and len(f1["ci95"]) == 2
    scores = manifest["predictions_against_gold"]
    evaluation = agreement.evaluate(inputs["gold"], [inputs["tasks"]], TAXONOMY, baselines=preannotate.load(TAXONOMY))
    assert [m["model_version"] for m in scores["models"]] == ["baseline-actor-sentence", "baseline-majority", "rules-0.1"]
    for scored, evaluated in zip(scores["models"], evaluation["models"], strict=True):
        exact = scored["spans"]["exact"]
        assert exact[agreement.ALL] == evaluated["spans"]["exact"]["scopes"][agreement.ALL]
        assert scored["document_choices"] == evaluated["document_choices"]
    assert {f"label:{label}" for label in TAXONOMY.label_names} <= scores["models"][2]["spans"]["exact"].keys()


def test_one_annotator_and_no_gold_give_reasons_not_numbers(inputs, tmp_path):
    write_export(inputs["export"], TAXONOMY, annotators=1)
    write_agreement(inputs["agreement"], inputs["export"], TAXONOMY)
    inputs["gold"].unlink()
    out = tmp_path / "releases"
    built = release.build(release.Inputs(inputs["documents"], [inputs["export"]], None, inputs["tasks"],
                                         inputs["agreement"]), TAXONOMY, out, version="1.0.0")
    manifest = json.loads((built / "manifest.json").read_text())
    alpha = manifest["agreement"]["document_choices"][TAXONOMY.document_choices[0].name]["alpha"]
    assert alpha["value"] is None and alpha["undefined"] == "one annotator only"
    assert manifest["agreement"]["span_f1"]["exact"]["undefined"] == "one annotator only"
    assert manifest["predictions_against_gold"] == {"models": [], "undefined": "no gold"}
    without = release.build(release.Inputs(inputs["documents"], [inputs["export"]]), TAXONOMY, out, version="1.0.1")
    assert "no agreement report" in json.loads((without / "manifest.json").read_text())["agreement"]["undefined"]


def test_the_prediction_layer_comes_from_the_task_file_only(inputs, tmp_path):
    tasks = json.loads(inputs["tasks"].read_text())
    exported = json.loads(inputs["export"].read_text())
    for task, source in zip(exported, tasks):  # the export carries the same predictions, and one more model
        task["predictions"] = [{**p, "id": 7} for p in source["predictions"]]
        task["predictions"].append({**source["predictions"][0], "id": 8, "model_version": "annotator1@example.org"})
    inputs["export"].write_text(json.dumps(exported, ensure_ascii=False))
    built = release.build(release.Inputs(inputs["documents"], [inputs["export"]], inputs["gold"], inputs["tasks"]),
                          TAXONOMY, tmp_path / "releases", version="1.0.0")
    spans = stancekit.load(layer="prediction", releases_dir=built.parent)["spans"]
    expected = sum(1 for t in tasks for p in t["predictions"] for r in p["result"] if r["type"] == "labels")
    assert len(spans) == expected and set(spans["model_version"]) == {"rules-0.1"}
    assert "from one source only, the task file" in (built / "README.md").read_text()


def test_second_build_of_a_version_is_refused(inputs, built):
    before = tree(built)
    result = run(release_args(inputs, built.parent, "--version", "1.0.0"))
    assert result.exit_code == 1
    assert "already exists" in result.output and "Traceback" not in result.output
    assert tree(built) == before


def test_concurrent_builds_of_one_version_one_wins(inputs, tmp_path):
    out = tmp_path / "releases"
    args = [STANCEKIT, *release_args(inputs, out, "--version", "2.0.0")]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    assert "already exists" in next(err for code, err in results if code == 1)
    assert release.verify(out / "v2.0.0") == []
    assert [p.name for p in out.iterdir() if p.name.startswith(".build")] == []


def test_kill_during_release_leaves_no_version_and_next_run_succeeds(inputs, tmp_path):
    # A big export makes the build last long enough to be killed in the middle.
    big = {f"big{n:04}.txt": f"{TEXTS['000.txt']} #{n}" for n in range(200)}
    paths = write_inputs(tmp_path / "big", TAXONOMY, big)
    write_export(paths["export"], TAXONOMY, big, annotators=30)
    out = tmp_path / "releases"
    args = release_args(paths, out, "--version", "1.0.0")
    proc = subprocess.Popen([STANCEKIT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(out.glob(f".build-{proc.pid}-*/annotations.parquet")):
        assert proc.poll() is None, "the build finished before it could be killed: make the export bigger"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "v1.0.0").exists()
    result = run(args)
    assert result.exit_code == 0, result.output
    assert release.verify(out / "v1.0.0") == []
    assert sorted(p.name for p in out.iterdir()) == ["CHANGELOG.md", "v1.0.0"]


def release_files(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]


def test_verify_passes_on_a_fresh_release(built):
    result = run(["verify", str(built)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("how", ["flip", "append"])
def test_tampering_with_any_file_fails_verify_and_names_it(built, tmp_path, how):
    for name in release_files(built):
        copy = tmp_path / f"copy-{how}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(built, copy)
        path = copy / name
        data = bytearray(path.read_bytes())
        if how == "flip" and name == "manifest.json":  # still valid JSON: a count changed
            data = bytearray(bytes(data).replace(b'"documents": 3', b'"documents": 4', 1))
        elif how == "flip":
            data[len(data) // 2] ^= 0x01
        else:
            data += b"\n"
        path.write_bytes(bytes(data))
        result = run(["verify", str(copy)])
        assert result.exit_code == 1, (name, how)
        assert f"{copy}/{name}:" in result.output, result.output


def test_verify_names_extra_and_missing_files(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    (copy / "spans.parquet").unlink()
    (copy / "notes.txt").write_text("hi")
    result = run(["verify", str(copy)])
    assert result.exit_code == 1
    assert "spans.parquet: missing" in result.output and "notes.txt: not in the manifest" in result.output
    (copy / "manifest.json").unlink()
    result = run(["verify", str(copy)])
    assert result.exit_code == 2 and "manifest" in result.output


def test_load_layers_and_documented_dtypes(built):
    gold = stancekit.load(version="latest", layer="gold", releases_dir=built.parent)
    assert set(gold) == {"documents", "annotations", "spans"}
    assert set(gold["spans"]["layer"]) == {"gold"} and set(gold["annotations"]["layer"]) == {"gold"}
    assert len(gold["annotations"]) == len(TEXTS)
    by_version = stancekit.load(version="1.0.0", layer="annotation", releases_dir=built.parent)
    assert set(by_version["annotations"]["layer"]) == {"annotation"}
    documented = {}
    for line in release.columns_table(TAXONOMY).splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        documented[(cells[0], cells[1].strip("`"))] = cells[3]
    for name in ("annotations", "spans"):
        for column, dtype in gold[name].dtypes.items():
            assert documented[(name, column)] == str(dtype), (name, column)
    for column, dtype in gold["documents"].dtypes.items():
        assert documented[("documents", column)] == str(dtype), column
    with pytest.raises(ValueError):
        stancekit.load(layer="silver", releases_dir=built.parent)


def test_hugging_face_datasets_reads_the_release(built, tmp_path):
    datasets = pytest.importorskip("datasets")
    manifest = json.loads((built / "manifest.json").read_text())
    files = {s: str(built / release.hf_data_file(s)) for s, n in manifest["splits"].items() if n}
    ds = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    assert sum(len(ds[s]) for s in ds) == len(TEXTS)
    ds_card = datasets.load_dataset(str(built), cache_dir=str(tmp_path / "hf2"))
    assert set(ds_card) == set(files)
    row = next(r for s in ds_card for r in ds_card[s] if r["spans"])
    assert row["spans"][0]["text"] == row["text"][row["spans"][0]["start"]:row["spans"][0]["end"]]
    assert row["doc_stance"] in TAXONOMY.document_choices[0].value_names


def test_duckdb_reads_the_release(built):
    duckdb = pytest.importorskip("duckdb")
    rows = duckdb.sql(
        f"SELECT s.layer, count(*) FROM '{built}/spans.parquet' s JOIN '{built}/documents.parquet' d USING (doc_id) "
        "WHERE s.text = substring(d.text, s.start + 1, s.end - s.start) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    total = pq.read_metadata(built / "spans.parquet").num_rows
    assert sum(n for _, n in rows) == total and {layer for layer, _ in rows} == set(read.LAYERS)


def test_bump_follows_the_diff(inputs, built, tmp_path):
    out = built.parent
    same = run(release_args(inputs, out, "--bump"))
    assert same.exit_code == 0 and "nothing to release" in same.output
    # A new document and its annotations: records added -> minor.
    more = dict(TEXTS, **{"003.txt": "Putin: it may reject the truce, analysts say."})
    paths = write_inputs(tmp_path / "more", TAXONOMY, more)
    patch_only = run(release_args(paths, out, "--bump", "patch"))
    assert patch_only.exit_code == 1 and "need a minor bump" in patch_only.output
    assert run(release_args(paths, out, "--bump")).exit_code == 0
    assert (out / "v1.1.0").is_dir()
    # An existing gold label changed, a gold span moved and another lost an attribute -> major.
    gold = json.loads(paths["gold"].read_text())
    q = TAXONOMY.document_choices[0]
    first, second = gold["documents"][0], next(d for d in gold["documents"][1:] if d["spans"])
    first[q.name] = q.value_names[2]
    first["spans"][0]["end"] -= 1
    span = second["spans"][0]
    span[next(a.name for a in TAXONOMY.attributes_for(span["label"]) if span.get(a.name))] = None
    paths["gold"].write_text(json.dumps(gold))
    assert run(release_args(paths, out, "--bump")).exit_code == 0
    assert (out / "v2.0.0").is_dir()
    manifest = json.loads((out / "v2.0.0/manifest.json").read_text())
    why = "(a moved boundary counts as removed and added)"
    expected = {first["doc_id"]: f"gold spans of {first['doc_id']} {why}: {first['spans'][0]['label']} 1 added, 1 removed",
                second["doc_id"]: f"gold spans of {second['doc_id']} {why}: {span['label']} 1 changed"}
    assert manifest["change"] == {"previous": "1.1.0", "bump": "major",
                                  "lines": ["gold: 2 changed", *[expected[k] for k in sorted(expected)]]}
    changelog = (out / "CHANGELOG.md").read_text()
    assert changelog.index("## v2.0.0") < changelog.index("## v1.1.0") < changelog.index("## v1.0.0")
    assert "documents: 1 added" in changelog


def test_refuses_bad_input_without_leaving_anything(inputs, tmp_path):
    out = tmp_path / "releases"
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(inputs["export"].read_bytes()[:-200])
    args = release_args(inputs, out, "--version", "1.0.0")
    args[args.index("--exports") + 1] = str(truncated)
    result = run(args)
    assert result.exit_code == 2 and "truncated" in result.output and "Traceback" not in result.output
    for role, garbage, message in (("documents", b"PAR1 not parquet", "not a readable Parquet file"),
                                   ("gold", b"{not json", "not valid JSON"),
                                   ("gold", b'{"taxonomy_version": "0.0.1", "documents": []}', "rerun `stancekit adjudicate`")):
        saved = inputs[role].read_bytes()
        inputs[role].write_bytes(garbage)
        result = run(release_args(inputs, out, "--version", "1.0.0"))
        assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output, result.output
        assert str(inputs[role]) in result.output
        inputs[role].write_bytes(saved)
    # A task about a document that is not in documents.parquet: refused, naming the task.
    write_export(inputs["export"], TAXONOMY, dict(TEXTS, **{"009.txt": "Unknown text."}))
    result = run(release_args(inputs, out, "--version", "1.0.0"))
    assert result.exit_code == 1, result.output
    assert f"#/3/data/doc_id: UNKNOWN_DOCUMENT: document {doc_id('Unknown text.')} is not in" in result.output
    assert not out.exists() or [p.name for p in out.iterdir()] == []


def test_a_label_outside_the_taxonomy_is_refused(inputs, tmp_path):
    gold = json.loads(inputs["gold"].read_text())
    gold["documents"][0]["spans"][0]["label"] = "NOT_A_LABEL"
    inputs["gold"].write_text(json.dumps(gold))
    result = run(release_args(inputs, tmp_path / "releases", "--version", "1.0.0"))
    assert result.exit_code == 1 and "documents[0].spans[0].label: 'NOT_A_LABEL' is not one of STANCE" in result.output


def test_a_gold_span_without_a_label_is_refused(inputs, tmp_path):
    gold = json.loads(inputs["gold"].read_text())
    gold["documents"][0]["spans"][0]["label"] = None
    inputs["gold"].write_text(json.dumps(gold))
    out = tmp_path / "releases"
    result = run(release_args(inputs, out, "--version", "1.0.0"))
    assert result.exit_code == 1 and "documents[0].spans[0].label: None is not one of STANCE" in result.output
    assert not (out / "v1.0.0").exists()


def test_the_committed_gold_passes_the_gold_reader():
    """annotation/gold/gold.json is what `stancekit adjudicate` wrote (make dataset rewrites it)."""
    gold = gold_mod.read_gold(ROOT / "annotation/gold/gold.json", TAXONOMY)
    assert gold["documents"] and all(d["spans"] for d in gold["documents"])


def test_split_depends_on_the_doc_id_only():
    ids = [f"doc_{n:016x}" for n in range(2000)]
    splits = [release.split_of(i) for i in ids]
    assert splits == [release.split_of(i) for i in ids]
    shares = {name: splits.count(name) / len(ids) for name, _ in release.SPLITS}
    for name, share in release.SPLITS:
        assert abs(shares[name] - share) < 0.03


def test_readme_documents_the_release_columns():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert release.columns_table(TAXONOMY) in readme, "regenerate with `make docs`"


def test_chunked_tasks_give_document_offsets_and_a_wrong_text_is_refused(inputs, tmp_path):
    text = TEXTS["000.txt"]
    cut = text.index("\n") + 1
    phrase = "must not rearm"
    label = TAXONOMY.label_names[-1]
    tasks = []
    for chunk, (lo, hi) in enumerate([(0, cut), (cut, len(text))]):
        part = text[lo:hi]
        result = [_doc_choice(TAXONOMY, 1)]  # a valid export: release refuses validate errors
        if phrase in part:
            result += _region(part, "c1", phrase, label, _attrs(TAXONOMY, label))
        tasks.append({"id": chunk + 1, "data": {"text": part, "doc_id": doc_id(text), "chunk": chunk, "offset": lo},
                      "annotations": [{"id": 10 + chunk, "completed_by": 1, "result": result}]})
    inputs["export"].write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "releases"
    assert run(release_args(inputs, out, "--version", "1.0.0")).exit_code == 0
    spans = stancekit.load(layer="annotation", releases_dir=out)["spans"]
    assert list(zip(spans["start"], spans["end"], spans["text"])) == [
        (text.index(phrase), text.index(phrase) + len(phrase), phrase)]
    tasks[0]["data"]["text"] = text.replace("Putin", "Putun")  # the whole document, but not its text
    inputs["export"].write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    result = run(release_args(inputs, out, "--version", "1.0.1"))
    assert result.exit_code == 1 and "#/0/data/text: TASK_TEXT_MISMATCH: the task text differs from document" in result.output


def test_find_inputs_skips_absent_defaults_and_refuses_what_was_asked_for(inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no repository layout here: every default is absent
    found = release.find_inputs(inputs["documents"], [str(inputs["export"].parent / "*.json")])
    assert found.exports == sorted(p for p in inputs["export"].parent.glob("*.json"))
    assert (found.gold, found.tasks, found.rules, found.agreement, found.metadata) == (None,) * 5
    given = release.find_inputs(inputs["documents"], [inputs["export"]], gold=inputs["gold"], tasks=tmp_path / "none.json")
    assert given.gold == inputs["gold"] and given.tasks is None
    with pytest.raises(release.ReleaseInputError, match="none.json: no such file"):
        release.find_inputs(inputs["documents"], [inputs["export"]], required=["tasks"], tasks=tmp_path / "none.json")
    with pytest.raises(release.ReleaseInputError, match=r"nothing-\*.json: no such file"):
        release.find_inputs(inputs["documents"], [str(tmp_path / "nothing-*.json")])
    result = run(release_args(inputs, tmp_path / "out", "--version", "1.0.0") + ["--rules", str(tmp_path / "no.yaml")])
    assert result.exit_code == 2 and "no.yaml: no such file" in result.output
    one = release.find_inputs(inputs["documents"], str(inputs["export"]))  # one path, not a list of them
    assert one.exports == [inputs["export"]]
    # Export files listed after the options replace the default glob (annotation/exports/*.json, absent here).
    listed = run(["release", "--taxonomy", str(ROOT / "schema/taxonomy.yaml"), "--documents", str(inputs["documents"]),
                  "--out-dir", str(tmp_path / "listed"), "--version", "1.0.0", str(inputs["export"])])
    assert listed.exit_code == 0, listed.output
    manifest = json.loads((tmp_path / "listed/v1.0.0/manifest.json").read_text())
    assert [item["path"] for item in manifest["inputs"] if item["role"] == "export"] == [str(inputs["export"])]


def test_publish_promotes_the_verified_build_and_never_overwrites(inputs, built, tmp_path):
    published = tmp_path / "published"
    assert run(["publish", str(built), "--releases-dir", str(published)]).exit_code == 0
    assert tree(published / "v1.0.0") == tree(built) and release.verify(published / "v1.0.0") == []
    assert "## v1.0.0" in (published / "CHANGELOG.md").read_text()
    again = run(["publish", str(built), "--releases-dir", str(published)])
    assert again.exit_code == 1 and "exists: a release is never overwritten" in again.output
    # A build whose manifest recorded another history: its diff would describe the wrong previous release.
    assert run(release_args(inputs, built.parent, "--version", "1.0.1")).exit_code == 0
    other = tmp_path / "other"
    stray = run(["publish", str(built.parent / "v1.0.1"), "--releases-dir", str(other)])
    assert stray.exit_code == 1 and "built against previous release 1.0.0" in stray.output and not other.exists()
    # An input changed since the build: the build no longer is what the inputs give.
    second = tmp_path / "second"
    shutil.copytree(built, second / "v1.0.0")
    assert run(release_args(inputs, second, "--version", "1.1.0")).exit_code == 0
    inputs["gold"].write_text(inputs["gold"].read_text() + "\n")
    stale = run(["publish", str(second / "v1.1.0"), "--releases-dir", str(published)])
    assert stale.exit_code == 1 and f"its input {inputs['gold']} has changed" in stale.output
    # A version older than the newest published one would rewrite history.
    (published / "v3.0.0").mkdir()
    shutil.copy(built / "manifest.json", published / "v3.0.0/manifest.json")
    older = run(["publish", str(second / "v1.1.0"), "--releases-dir", str(published)])
    assert older.exit_code == 1 and "older than" in older.output
    shutil.rmtree(published / "v3.0.0")
    # A build edited after it was verified is refused, and nothing is published.
    (built.parent / "v1.0.1/documents.parquet").write_bytes(b"edited")
    edited = run(["publish", str(built.parent / "v1.0.1"), "--releases-dir", str(published)])
    assert edited.exit_code == 1 and "documents.parquet" in edited.output
    assert sorted(p.name for p in published.iterdir()) == ["CHANGELOG.md", "v1.0.0"]


def test_table_writer_rows_as_dicts_or_tuples_give_the_same_file(tmp_path):
    """add (a dict) and add_rows (tuples in column order) buffer the same row; a dictionary value outside
    the taxonomy is refused: at once by add, naming the row, and when its row group is written by add_rows."""
    from stancekit.release.writer import TableWriter

    schema = pa.schema([("layer", pa.dictionary(pa.int32(), pa.string())), ("label", pa.dictionary(pa.int32(), pa.string())),
                        ("start", pa.int64()), ("text", pa.string())])
    dicts = {"layer": ["annotation", "gold"], "label": ["STANCE", "ACTOR"]}
    rows = [{"layer": "gold", "label": "ACTOR", "start": 3, "text": "Путин"},
            {"layer": "annotation", "label": None, "start": None, "text": "🇺🇦"}]
    by_dict, by_tuple = TableWriter(tmp_path / "a.parquet", schema, dicts), TableWriter(tmp_path / "b.parquet", schema, dicts)
    for row in rows:
        by_dict.add(row, "here")
        values = tuple(row[name] for name in by_tuple.names)
        by_tuple.add_rows(row["layer"], [(values, sum(len(v) for v in values if isinstance(v, str)))])
    by_dict.close()
    by_tuple.close()
    by_tuple.close()  # closing again does nothing
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert pq.read_table(tmp_path / "b.parquet").to_pylist() == rows
    assert by_dict.layers == by_tuple.layers == Counter({"gold": 1, "annotation": 1})
    with pytest.raises(release.ReleaseRefused, match="here: label 'CLAIM' is not in the taxonomy"):
        TableWriter(tmp_path / "c.parquet", schema, dicts).add({**rows[0], "label": "CLAIM"}, "here")
    late = TableWriter(tmp_path / "d.parquet", schema, dicts)
    late.add_rows("gold", [(("gold", "CLAIM", 0, "x"), 10)])
    with pytest.raises(release.ReleaseRefused, match="d.parquet: label 'CLAIM' is not in the taxonomy"):
        late.close()


def test_table_writer_arrow_rows_with_their_characters_give_the_file_of_add(tmp_path, monkeypatch):
    """add_batch with each row's characters cuts row groups at the rows where add cuts them and writes each
    as contiguous arrays: the same bytes, even where a row group's text outgrows the dictionary page
    (where the writer falls back to plain encoding depends on how the arrays are chunked; row groups
    larger than the default make that happen here)."""
    from stancekit.release import writer

    monkeypatch.setattr(writer, "ROW_GROUP_CHARS", 1_000_000)
    span = pa.struct([("start", pa.int64()), ("label", pa.string())])
    schema = pa.schema([("doc_id", pa.string()), ("text", pa.string()), ("url", pa.string()), ("spans", pa.list_(span))])
    rows = [{"doc_id": f"d{i}", "text": ("😀🇺🇦🫠 Путин é\u0301" * (150 + 30 * i))[:-1], "url": None if i % 3 else "https://x",
             "spans": [{"start": i, "label": "ACTOR" if i % 2 else None}] * (i % 4)} for i in range(120)]
    by_row = writer.TableWriter(tmp_path / "a.parquet", schema, {})
    in_arrow = writer.TableWriter(tmp_path / "b.parquet", schema, {})
    for row in rows:
        by_row.add(row, "here")
    for at in range(0, len(rows), 7):
        part = rows[at:at + 7]
        in_arrow.add_batch(pa.RecordBatch.from_pylist(part, schema=schema),
                           [sum(len(v) for v in row.values() if type(v) is str) for row in part])
    by_row.close()
    in_arrow.close()
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.num_row_groups > 2 and any(meta.row_group(i).num_rows % 7 for i in range(meta.num_row_groups))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert by_row.rows == in_arrow.rows == len(rows)


def test_table_writer_raises_what_writing_a_row_group_in_the_background_raised(tmp_path):
    """Row groups are written by a background thread: an error there (a full disk, here a stand-in, since a
    real full disk cannot be made in a test) is raised by the writer's next row group or by close, not lost."""
    from stancekit.release import writer

    schema = pa.schema([("text", pa.string())])
    table_writer = writer.TableWriter(tmp_path / "a.parquet", schema, {})

    class FullDisk:  # stands in for pyarrow's ParquetWriter
        def write_table(self, table, row_group_size):
            raise OSError(28, "No space left on device")

    real, table_writer._writer = table_writer._writer, FullDisk()
    table_writer.add({"text": "x"}, "here")
    table_writer._flush()  # a row group, handed to the background thread, whose write fails
    with pytest.raises(OSError, match="No space left"):
        table_writer.close()
    real.close()


def test_no_fork_happens_while_a_background_thread_lives():
    """Before this process forks (the export reader's workers), every Background waits for its jobs and ends
    its thread: a child never inherits a lock held by a thread that does not exist in it. A job after the
    fork starts a new thread."""
    import threading
    import time

    from stancekit._background import Background

    background, started, done = Background("test"), threading.Event(), []
    background.submit(lambda: (started.set(), time.sleep(0.5), done.append(True)))
    started.wait()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert done == [True]  # the fork waited for the job
    assert not [t for t in threading.enumerate() if t.name.startswith(background.name)]  # and for its thread
    assert os.waitpid(pid, 0)[1] == 0
    assert background.submit(lambda: 7).result() == 7


def test_the_document_store_of_a_build_lives_in_its_build_directory(inputs, tmp_path):
    """The document store (a SQLite file as large as the corpus) is made inside the build directory, so that
    the store of a killed release (SIGTERM, SIGKILL: no cleanup runs) is swept with its build by the next one
    (`remove_stale_builds`), not left in the system's temporary directory."""
    from stancekit.release import builder

    root = tmp_path / f"{builder.BUILD_DIR_PREFIX}999999-x"
    root.mkdir()
    job = builder._Build(root, release.find_inputs(inputs["documents"], [inputs["export"]]), TAXONOMY)
    try:
        assert job.store.db_path.parent.parent == root and job.store.db_path.is_file()
    finally:
        job.store.close()
    assert not list(root.glob("stancekit-documents-*"))  # removed on close
