"""The validator: a real export is clean, every defect is reported with its code and exact location."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from export_mutations import DEFECTS, ROOT, TAXONOMY, base_export, documents_parquet, with_defect, write
from stancekit import schema, validate
from stancekit.cli import main
from stancekit.documents import DocumentStore
from stancekit.exports import ExportReadError, iter_raw_tasks_at

CONFIG = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")


def problems_of(tasks: list, tmp_path: Path) -> list[validate.Problem]:
    """Every problem of the export, each task checked against the real export's documents too."""
    documents = DocumentStore.open(documents_parquet(tmp_path / "documents.parquet"))
    return list(validate.validate_exports([write(tasks, tmp_path / "export.json")], TAXONOMY, CONFIG, documents=documents))


def resolve(doc, pointer: str):
    """Follow an RFC 6901 pointer."""
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "stancekit"), *args], capture_output=True, text=True, cwd=ROOT)


# -- a real export --------------------------------------------------------------------------------

def test_real_export_has_no_errors(tmp_path):
    summary = validate.check([write(base_export(), tmp_path / "export.json")], TAXONOMY, CONFIG)
    assert summary.errors == 0, validate.format_summary(summary)
    assert summary.tasks == len(base_export()) and summary.annotations > 0


def test_real_export_cli_exits_0(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(write(base_export(), tmp_path / "e.json"))])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output or "no problems found" in result.output


# -- one defect per code ------------------------------------------------------------------------

def test_every_code_has_a_defect_fixture():
    assert set(DEFECTS) == set(validate.CODES)


@pytest.mark.parametrize("code", sorted(validate.CODES))
def test_defect_is_reported_with_code_and_location(code, tmp_path):
    tasks, pointer = with_defect(code)
    problems = problems_of(tasks, tmp_path)
    hits = [p for p in problems if p.code == code and p.pointer == pointer]
    assert hits, f"{code} at {pointer} not reported; got {[(p.code, p.pointer) for p in problems]}"
    problem = hits[0]
    assert problem.level == validate.CODES[code].level
    resolve(tasks, pointer)  # the pointer leads into the export
    task_index = int(pointer.split("/")[1])
    assert problem.task_index == task_index and problem.task_id == tasks[task_index]["id"]
    if "/annotations/" in pointer:
        assert problem.annotation_id == tasks[task_index]["annotations"][int(pointer.split("/")[3])]["id"]
    if "/result/" in pointer and code not in ("REQUIRED_CHOICE_MISSING", "MULTIPLE_CHOICES", "SPAN_CONTRADICTS_DOC_CHOICE"):
        item = resolve(tasks, "/".join(pointer.split("/")[:6]))
        assert problem.region_id == item.get("id", item.get("to_id"))
    assert "Fix:" in problem.message
    if problem.level == "error":
        assert "expected" in problem.message


@pytest.mark.parametrize("code", sorted(validate.CODES))
def test_cli_exit_code_follows_levels(code, tmp_path):
    tasks, _ = with_defect(code)
    path = write(tasks, tmp_path / "export.json")
    documents = documents_parquet(tmp_path / "documents.parquet")
    result = CliRunner().invoke(main, ["validate", "--format", "json", "--documents", str(documents), str(path)])
    records = [json.loads(line) for line in result.output.splitlines()]
    assert code in {r["code"] for r in records}
    errors = [r for r in records if r["level"] == "error"]
    assert result.exit_code == (1 if errors else 0)
    if validate.CODES[code].level == "warning":
        assert result.exit_code == 0, errors  # a warning alone never fails validation


def test_text_output_groups_by_code_with_counts(tmp_path):
    tasks = base_export()
    DEFECTS["UNKNOWN_LABEL"](tasks)
    DEFECTS["CANCELLED_ANNOTATION"](tasks)
    result = CliRunner().invoke(main, ["validate", str(write(tasks, tmp_path / "e.json"))])
    assert result.exit_code == 1
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()
            if len(line.split()) == 3 and line.split()[0] in validate.CODES}
    assert rows["UNKNOWN_LABEL"][1:] == ["error", "1"] and rows["CANCELLED_ANNOTATION"][1:] == ["warning", "1"]
    assert "e.json#/" in result.output


def test_library_summary_for_release(tmp_path):
    tasks, _ = with_defect("OFFSET_OUT_OF_RANGE")
    summary = validate.check([write(tasks, tmp_path / "e.json")], TAXONOMY)
    assert summary.errors >= 1 and summary.counts["OFFSET_OUT_OF_RANGE"] == 1
    assert summary.examples["OFFSET_OUT_OF_RANGE"][0].pointer.endswith("/value/end")


def test_several_files_are_reported_with_their_names(tmp_path):
    clean = write(base_export(), tmp_path / "clean.json")
    tasks, pointer = with_defect("SPAN_TEXT_MISMATCH")
    bad = write(tasks, tmp_path / "bad.json")
    problems = list(validate.validate_exports([clean, bad], TAXONOMY))
    assert [(p.file, p.pointer) for p in problems if p.code == "SPAN_TEXT_MISMATCH"] == [(str(bad), pointer)]


# -- unreadable input: exit 2, one line ---------------------------------------------------------

@pytest.mark.parametrize("content, says", [
    (lambda good: good[: len(good) // 2], "truncated"),
    (lambda good: good[:-1], "truncated"),
    (lambda good: good.replace(b'"text"', b'"t\xffxt"', 1), "not valid UTF-8"),
    # in a field that no check reads, of a task that is otherwise clean (the fast path must not skip over it)
    (lambda good: good.replace(b'"origin": "manual"', b'"origin": "m\xffnual"', 1), "not valid UTF-8"),
    (lambda good: b'{"tasks": []}', "expected a JSON array"),
    (lambda good: b"", "empty file"),
    (lambda good: b"[1, 2]", "not a JSON object"),
])
def test_unreadable_export_exits_2_with_one_line(content, says, tmp_path):
    path = tmp_path / "broken.json"
    path.write_bytes(content(json.dumps(base_export(), ensure_ascii=False).encode()))
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_file_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "cannot read" in result.output


def test_config_that_does_not_match_the_taxonomy_exits_2(tmp_path):
    config = tmp_path / "config.xml"
    config.write_text(CONFIG.replace('<Label value="STANCE"', '<Label value="EXTRA"/><Label value="STANCE"'))
    result = CliRunner().invoke(main, ["validate", "--config", str(config), str(write(base_export(), tmp_path / "e.json"))])
    assert result.exit_code == 2 and "regenerate it with `stancekit config`" in result.output
    config.write_text(CONFIG.replace('choice="single-radio"', 'choice="multiple"', 1))
    result = CliRunner().invoke(main, ["validate", "--config", str(config), str(tmp_path / "e.json")])
    assert result.exit_code == 2 and "single choice=False" in result.output
    config.write_text("<View><Labels")
    result = CliRunner().invoke(main, ["validate", "--config", str(config), str(tmp_path / "e.json")])
    assert result.exit_code == 2 and "not a valid labeling config" in result.output


# -- offsets: Label Studio's rewriting of line breaks, Unicode ---------------------------------------

TEXTS = st.lists(st.sampled_from(list("ab Пу\r\n\t") + ["🇺🇦", "é", "e\u0301", "👩‍👩‍👧", "🕊️", "\r\n"]),
                 min_size=2, max_size=30).map("".join)


def _one_span_export(text: str, start: int, end: int, shown: str) -> list:
    tasks = base_export()[:1]
    task = tasks[0]
    task["data"]["text"] = text
    for ann in task["annotations"]:
        ann["result"] = [item for item in ann["result"] if item.get("type") != "labels" and "start" not in item["value"]]
    ann = task["annotations"][0]
    label = TAXONOMY.label_names[0]
    value = {"start": start, "end": end, "text": shown}
    ann["result"].append({"value": {**value, "labels": [label]}, "id": "span1", "from_name": "label",
                          "to_name": "text", "type": "labels"})
    for q in TAXONOMY.attributes_for(label):
        ann["result"].append({"value": {**value, "choices": [q.value_names[-1]]}, "id": "span1", "from_name": q.name,
                              "to_name": "text", "type": "choices"})
    return tasks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, data=st.data())
def test_value_text_is_checked_under_label_studio_rewriting(text, data, tmp_path):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    piece = text[start:end]
    rewritten = piece.replace("\r", "\\n").replace("\n", "\\n")
    for shown in {piece, rewritten}:
        codes = {p.code for p in problems_of(_one_span_export(text, start, end, shown), tmp_path)}
        assert "SPAN_TEXT_MISMATCH" not in codes and "OFFSET_OUT_OF_RANGE" not in codes
        assert ("SPAN_WHITESPACE_ONLY" in codes) == piece.isspace()
    wrong = rewritten + "x"
    codes = {p.code for p in problems_of(_one_span_export(text, start, end, wrong), tmp_path)}
    assert "SPAN_TEXT_MISMATCH" in codes


def test_boundary_inside_a_flag_or_combining_sequence_warns(tmp_path):
    text = "peace 🇺🇦 cafe\u0301 now"
    flag = text.index("🇺🇦")
    for start, end in [(flag + 1, flag + 2), (text.index("cafe"), text.index("cafe") + 4)]:
        codes = {p.code for p in problems_of(_one_span_export(text, start, end, text[start:end]), tmp_path)}
        assert "SPAN_BOUNDARY_IN_WORD" in codes
    start = text.index("peace")
    codes = {p.code for p in problems_of(_one_span_export(text, start, start + 5, "peace"), tmp_path)}
    assert "SPAN_BOUNDARY_IN_WORD" not in codes


def test_chunk_offsets_are_checked_against_the_chunk_text(tmp_path):
    tasks = base_export()
    chunked = [i for i, t in enumerate(tasks) if t["data"].get("offset")]
    assert chunked, "the real export fixture has chunk tasks (scripts/make_real_export_fixture.py --max-chars)"
    assert not [p for p in problems_of(tasks, tmp_path) if p.level == "error"]
    # the same chunk claiming to start one code point later is not its document's text there
    tasks[chunked[0]]["data"]["offset"] += 1
    errors = [(p.code, p.pointer) for p in problems_of(tasks, tmp_path) if p.level == "error"]
    assert errors == [("TASK_TEXT_MISMATCH", f"/{chunked[0]}/data/text")]


# -- never an exception ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


def _paths(doc, prefix=()):
    yield prefix
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # examples: the Hypothesis profile
@given(data=st.data())
def test_any_mutated_export_gives_records_or_exit_2(data, tmp_path):
    tasks = base_export()
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(tasks))
        path = data.draw(st.sampled_from(paths[1:]))
        parent = tasks
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON_VALUES)
    raw = json.dumps(tasks, ensure_ascii=False).encode()
    if data.draw(st.integers(0, 5)) == 0:
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    file = tmp_path / "fuzz.json"
    file.write_bytes(raw)
    try:
        for problem in validate.validate_exports([file], TAXONOMY):
            assert problem.code in validate.CODES and problem.pointer.startswith("/")
    except ExportReadError as exc:
        assert "\n" not in str(exc)
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(file)])
    assert result.exit_code in (0, 1, 2) and not (result.exception and not isinstance(result.exception, SystemExit)), result.output


# -- the schema ---------------------------------------------------------------------------------

def test_committed_schema_equals_fresh_render():
    committed = (ROOT / schema.DEFAULT_PATH).read_text(encoding="utf-8")
    assert committed == schema.render(TAXONOMY), "run `make schema` and commit schema/export.schema.json"
    assert json.loads(committed)["$comment"].startswith("Generated by `stancekit schema`")


def test_schema_is_valid_draft_2020_12_and_agrees_with_the_reference_implementation():
    built = schema.build(TAXONOMY)
    jsonschema.Draft202012Validator.check_schema(built)
    reference = jsonschema.Draft202012Validator(built)
    assert not list(reference.iter_errors(base_export()))
    tasks, pointer = with_defect("UNKNOWN_LABEL")
    assert ["/" + "/".join(map(str, e.absolute_path)) for e in reference.iter_errors(tasks)] == [pointer]


def test_schema_enums_follow_the_taxonomy(tmp_path):
    raw = yaml.safe_load((ROOT / "schema/taxonomy.yaml").read_text(encoding="utf-8"))
    raw["span_labels"].append({"value": "CLAIM", "definition": "new", "color": "#000000"})
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    from stancekit import taxonomy

    built = schema.build(taxonomy.load(path))
    assert "CLAIM" in built["$defs"]["label"]["properties"]["value"]["properties"]["labels"]["items"]["enum"]
    result = CliRunner().invoke(main, ["schema", "--taxonomy", str(path), "--out", str(ROOT / schema.DEFAULT_PATH), "--check"])
    assert result.exit_code == 1 and "stale" in result.output


def test_readme_lists_every_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert validate.codes_table() in readme, "run `make docs`: README's codes table is generated by cog"


def test_mutations_do_not_leak_between_fixtures():
    before = copy.deepcopy(base_export())
    with_defect("DUPLICATE_REGION")
    assert base_export() == before


def test_a_lone_surrogate_escape_is_unreadable_input_not_a_crash(tmp_path):
    """JSON may escape a lone surrogate ("\\ud83d"), which is not Unicode: exit 2 in one line (found by the fuzzer)."""
    path = tmp_path / "export.json"
    pair = '{"id": 1, "data": {"text": "\\ud83d\\ude00"}, "annotations": []}'  # a surrogate pair is fine
    path.write_text(f'[{pair}, {{"id": "\\ud83d", "data": {{"text": "a"}}, "annotations": []}}]', encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{path}: task 1 at character" in result.output and "lone surrogate escape (\\ud83d)" in result.output


def test_first_seen_keeps_the_first_value_and_place_across_merges(monkeypatch):
    """The reader's compact identity map (sorted numpy arrays after every MERGE keys) answers like a dict,
    whether a key was looked up with its batch (`prefetch`, as the reader does) or alone."""
    import random

    from stancekit.validate import _FirstSeen

    monkeypatch.setattr(_FirstSeen, "MERGE", 7)
    seen, places, plain = _FirstSeen(), _FirstSeen(values=False), {}
    rng = random.Random(0)
    keys = [rng.randrange(300) * 7919 + (2**62 if n % 3 else 0) - (2**63 if n % 5 == 0 else 0) for n in range(2000)]
    for n, key in enumerate(keys):
        if n % 10 == 0 and n % 20:  # a batch of the next keys, looked up at once (half of the batches)
            seen.prefetch(keys[n:n + 10])
            places.prefetch(keys[n:n + 10])
        value = (n * 2654435761) % 2**32
        assert seen.setdefault(key, value, n * 2**40) == plain.setdefault(key, (value, n * 2**40))
        assert places.setdefault(key, 0, n * 2**40) == (0, plain[key][1])
    assert len(seen) == len(places) == len(plain)


def test_workers_give_the_records_and_problems_of_one_process(tmp_path):
    """Tasks checked in worker processes come back in task order: the same records and problems, in the same order."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import bench

    tax = TAXONOMY
    data = bench.generate(tmp_path, 60, defects=6)
    text = data["export"].read_text(encoding="utf-8")
    second = tmp_path / "again.json"  # a repeat and a conflict across files, so identity checks run too
    second.write_text(text.replace('"lead_time": 42.5', '"lead_time": 43.5', 1), encoding="utf-8")
    runs, checks = [], []
    for workers in (1, 2):
        for with_records in (True, False):  # read (a stage) and check (the report): the same problems
            found = []
            reader = validate.Reader(tax, on_problem=found.append, workers=workers)
            reader.min_pool_bytes = 0
            validate.BATCH_BYTES, old = 50_000, validate.BATCH_BYTES
            try:
                if with_records:
                    runs.append((list(reader.read([data["export"], second])), found, reader.summary.counts))
                else:
                    assert list(reader.check([data["export"], second])) == [*range(60), *range(60)]
                    checks.append((found, reader.summary.counts))
            finally:
                validate.BATCH_BYTES = old
    assert runs[0] == runs[1]
    assert checks[0] == checks[1] == runs[0][1:]
    assert runs[0][2]["DUPLICATE_ANNOTATION"] and runs[0][2]["CONFLICTING_ANNOTATION"] == 1


@pytest.mark.parametrize("ids", [(-1, -2), (0, 2**61 - 1), (5, 5 + 2**61 - 1)])
def test_ids_python_hashes_alike_are_still_two_annotations(ids, tmp_path):
    """Identity keys tell apart what JSON tells apart: Python hashes -1 like -2, and integers 2**61 - 1
    apart alike, but two annotations with such ids (any integer is a valid id) are not a conflict."""
    tasks = base_export()[:1]
    tasks[0]["annotations"][0]["id"], tasks[0]["annotations"][1]["id"] = ids
    assert [p.code for p in problems_of(tasks, tmp_path) if p.level == "error"] == []


def test_identity_keys_follow_json_equality():
    from stancekit.validate import _hash

    assert _hash((1, "d", 0)) == _hash((1, "d", 0)) != _hash((2, "d", 0))
    keys = [_hash((7, "d", chunk)) for chunk in (1, 1.0, True, "1", [1], None, -1, -2)]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("workers", [1, 2])
def test_problems_before_an_unreadable_task_are_reported(workers, tmp_path):
    """A task whose bytes cannot be read (not UTF-8) stops the pass with ExportReadError, after the problems of
    every task before it, in its batch too (in one process and with workers alike)."""
    tasks = base_export()
    tasks[0]["annotations"][0]["was_cancelled"] = True
    path = write(tasks, tmp_path / "export.json")
    expected: list[validate.Problem] = []
    list(validate.Reader(TAXONOMY, on_problem=expected.append, workers=1).check([path]))
    assert ("CANCELLED_ANNOTATION", 0) in [(p.code, p.task_index) for p in expected]
    path.write_bytes(path.read_bytes()[:-1] + b', {"id": 7, "data": {"text": "a\xff"}, "annotations": []}]')
    found: list[validate.Problem] = []
    reader = validate.Reader(TAXONOMY, on_problem=found.append, workers=workers)
    reader.min_pool_bytes = 0
    with pytest.raises(ExportReadError):
        list(reader.check([path]))
    assert found == expected and reader.summary.tasks == len(tasks)


def test_a_file_given_twice_repeats_like_a_copy(tmp_path):
    """The same path read twice in a row is two reads: each annotation of the second is a DUPLICATE_ANNOTATION
    of the first, as it is for a copy under another name (the path once named one file number for both)."""
    path = write(base_export(), tmp_path / "export.json")
    copy_ = tmp_path / "copy.json"
    copy_.write_bytes(path.read_bytes())
    twice = [(p.code, p.pointer, p.message) for p in validate.validate_exports([path, path], TAXONOMY)]
    copied = [(p.code, p.pointer, p.message.replace(str(copy_), str(path)))
              for p in validate.validate_exports([path, copy_], TAXONOMY)]
    duplicates = [c for c in twice if c[0] == "DUPLICATE_ANNOTATION"]
    assert twice == copied and len(duplicates) == sum(len(t["annotations"]) for t in base_export())


# -- repeats across files: contents compared (read again by byte offset) only when a key repeats ---------------------

def _reordered(value):
    """The same JSON value with the keys of every object in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    return [_reordered(v) for v in value] if isinstance(value, list) else value


def _identity_run(paths: list[Path], workers: int, monkeypatch) -> list[tuple]:
    """Every problem of reading `paths` with one Reader (in `workers` processes, small batches)."""
    found: list[validate.Problem] = []
    reader = validate.Reader(TAXONOMY, on_problem=found.append, workers=workers)
    reader.min_pool_bytes = 0
    monkeypatch.setattr(validate, "BATCH_BYTES", 20_000)
    list(reader.check(paths))
    return [(p.code, p.file, p.pointer, p.message.split(". Fix: ")[0]) for p in found]


@pytest.mark.parametrize("exact", [None, "first", "second"])
@pytest.mark.parametrize("changed", [False, True])
def test_a_repeat_is_compared_as_json_not_as_bytes(exact, changed, tmp_path, monkeypatch):
    """The tasks of one export written again otherwise (keys in another order, indented, "\\u00e9" for "é")
    repeat as DUPLICATE_ANNOTATIONs, none CONFLICTING; a real change of an annotation is CONFLICTING_ANNOTATION
    and of a task's data CONFLICTING_TASK, exactly there. Alike when either file goes to the exact reader
    (a NaN in its fourth task: the digests of the tasks from there on are taken as they are checked, the other
    side's tasks read again by offset),
    and in one process or two workers."""
    from stancekit.exports import iter_raw_tasks_at

    tasks = base_export()
    tasks[1]["annotations"][0]["meta"] = {"comment": "café"}
    again = _reordered(copy.deepcopy(tasks))
    if changed:
        again[2]["annotations"][1]["lead_time"] += 1
        again[4]["data"]["note"] = "edited"
    for chosen, name in ((tasks, "first"), (again, "second")):
        if exact == name:
            chosen[3]["meta"] = {"score": float("nan")}  # not JSON to the scan: the exact reader reads on from task 3
    first = write(tasks, tmp_path / "first.json")
    second = tmp_path / "second.json"
    second.write_text(json.dumps(again, ensure_ascii=True, indent=2), encoding="utf-8")
    assert "café" in first.read_text(encoding="utf-8") and "caf\\u00e9" in second.read_text(encoding="utf-8")
    for path, name in ((first, "first"), (second, "second")):
        assert [type(raw) for _, _, raw in iter_raw_tasks_at(path)] == [bytes] * 3 + [dict if exact == name else bytes] * 3
    runs = [_identity_run([first, second], workers, monkeypatch) for workers in (1, 2)]
    assert runs[0] == runs[1]
    identity = [(code, file, pointer, message) for code, file, pointer, message in runs[0] if file == str(second)]
    expected = []
    for t, task in enumerate(tasks):
        if changed and t == 4:
            expected.append(("CONFLICTING_TASK", str(second), f"/{t}/data", f"task {task['id']} of document "
                             f"{task['data']['doc_id']} has other data at {first}#/{t}, expected one task per id"))
        for a, annotation in enumerate(task["annotations"]):
            if changed and (t, a) == (2, 1):
                expected.append(("CONFLICTING_ANNOTATION", str(second), f"/{t}/annotations/{a}",
                                 f"annotation {annotation['id']} of task {task['id']} differs from the one at "
                                 f"{first}#/{t}/annotations/{a}, expected one version per (task id, annotation id)"))
            else:
                expected.append(("DUPLICATE_ANNOTATION", str(second), f"/{t}/annotations/{a}",
                                 f"annotation {annotation['id']} of task {task['id']} is also at "
                                 f"{first}#/{t}/annotations/{a}: counted once"))
    assert [p for p in identity if p[0] != "SPAN_BOUNDARY_IN_WORD"] == expected


@pytest.mark.parametrize("exact", [False, True])
def test_an_annotation_id_repeated_within_one_task_is_compared_by_its_content(exact, tmp_path, monkeypatch):
    """Two annotations of one task under one id lie in the same task bytes: only their contents tell a
    DUPLICATE_ANNOTATION (same content) from a CONFLICTING_ANNOTATION, in that task and in a copy of it (whose
    bytes equal the first task's, but whose edited annotation sits at another place than the first of its id),
    read as bytes or by the exact reader."""
    tasks = base_export()[:1]
    annotations = tasks[0]["annotations"]
    edited = copy.deepcopy(annotations[0])
    edited["lead_time"] = 12345.5
    annotations += [edited, copy.deepcopy(annotations[0])]
    if exact:
        tasks[0]["meta"] = {"score": float("nan")}  # not JSON to the scan: the exact reader gives the task
    tasks.append(copy.deepcopy(tasks[0]))
    path = write(tasks, tmp_path / "e.json")
    assert [type(raw) for _, _, raw in iter_raw_tasks_at(path)] == [dict if exact else bytes] * 2
    found = [p[:3] for p in _identity_run([path], 1, monkeypatch) if p[0].endswith("_ANNOTATION")]
    n = len(annotations)
    assert found == [("CONFLICTING_ANNOTATION" if a == n - 2 else "DUPLICATE_ANNOTATION", str(path), f"/{t}/annotations/{a}")
                     for t in (0, 1) for a in range(n) if t == 1 or a >= n - 2]


@pytest.mark.parametrize("change", ["rewritten", "same size and time"])
def test_a_file_changed_before_a_repeat_is_read_again_is_a_one_line_error(change, tmp_path):
    """A repeat reads the first occurrence again from its file: when that file changed since it was read,
    the pass stops with a one-line ExportReadError naming it, never a traceback or a wrong verdict."""
    import os

    tasks = base_export()
    first, second = write(tasks, tmp_path / "first.json"), write(tasks, tmp_path / "second.json")
    reader = validate.Reader(TAXONOMY, workers=1)
    checked = reader.check([first, second])
    assert [next(checked) for _ in tasks] == list(range(len(tasks)))  # the first file is read
    before = first.stat()
    if change == "rewritten":
        first.write_text(json.dumps(tasks[1:], ensure_ascii=False), encoding="utf-8")
        says = f"{first}: changed while it was read (task 0 is read again to compare a repeated id)"
    else:  # what the size and time do not tell: no task where there was one
        first.write_bytes(b"[" + b" " * (before.st_size - 2) + b"]")
        os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns))
        says = f"{first}: task 0 is no longer at byte 1: the file changed while it was read"
    with pytest.raises(ExportReadError) as raised:
        next(checked)
    assert str(raised.value).startswith(says) and "\n" not in str(raised.value)


def _feed(fd: int, data: bytes) -> None:
    with open(fd, "wb") as stream:
        stream.write(data)


def test_repeats_in_pipes_are_compared_without_reading_again(tmp_path, monkeypatch):
    """A pipe (`stancekit validate <(cat a.json) <(cat b.json)`) cannot be read again by offset: its tasks are
    digested as they are checked, with the same verdicts as the files themselves (no "cannot read")."""
    import os
    import threading

    tasks = base_export()
    again = _reordered(copy.deepcopy(tasks))
    again[2]["annotations"][1]["lead_time"] += 1
    contents = [json.dumps(tasks, ensure_ascii=False).encode(), json.dumps(again, indent=2).encode()]
    files = []
    for n, content in enumerate(contents):
        files.append(tmp_path / f"file{n}.json")
        files[-1].write_bytes(content)
    expected = _identity_run(files, 1, monkeypatch)
    pipes, writers = [], []
    for content in contents:  # what the shell's process substitution passes: /dev/fd/N of a pipe
        read, write = os.pipe()
        pipes.append(Path(f"/dev/fd/{read}"))
        writers.append(threading.Thread(target=_feed, args=(write, content)))
        writers[-1].start()
    try:
        got = _identity_run(pipes, 1, monkeypatch)
    finally:
        for writer, pipe in zip(writers, pipes):
            writer.join(5)
            os.close(int(pipe.name))
    for pipe, file in zip(pipes, files):
        got = [tuple(str(v).replace(str(pipe), str(file)) for v in problem) for problem in got]
    assert got == expected and ("CONFLICTING_ANNOTATION", str(files[1]), "/2/annotations/1") in [p[:3] for p in got]
    assert sum(p[0] == "DUPLICATE_ANNOTATION" for p in got) == sum(len(t["annotations"]) for t in tasks) - 1


def test_a_batch_sent_by_offset_is_read_as_it_was_scanned(tmp_path):
    """Workers read a batch of a regular file themselves (`_ByOffset`); a file changed since its read
    began is a one-line ExportReadError, not tasks cut from other bytes."""
    from array import array

    export = write(base_export(), tmp_path / "e.json")
    offsets, batch = array("q"), []
    for index, offset, raw in iter_raw_tasks_at(export):
        offsets.append(offset)
        batch.append((index, raw))
    validate._start_worker(validate.Validator(TAXONOMY), None, None)
    by_value = validate._check_batch(str(export), batch, True)
    shipped = validate._by_offset(batch, offsets, validate._stat(str(export)))
    assert isinstance(shipped, validate._ByOffset)
    assert validate._check_batch(str(export), shipped, True) == by_value
    export.write_bytes(export.read_bytes().replace(b'"text"', b'"Text"', 1))
    with pytest.raises(ExportReadError, match="changed while it was read") as changed:
        validate._check_batch(str(export), shipped, True)
    assert "\n" not in str(changed.value)
    export.unlink()  # removed since the scan (which holds it open): the same kind of error, not an OSError
    with pytest.raises(ExportReadError, match="cannot read"):
        validate._check_batch(str(export), shipped, True)


def test_a_worker_that_cannot_open_the_document_store_is_an_error_not_a_hang(tmp_path):
    """A worker opens the document store again (its own read-only connection). When that fails (here its
    file was removed after the main process opened it), the run ends with a one-line DocumentsError, as
    `stancekit release --out-dir` with a relative path once did not: an exception in the pool's initializer
    makes multiprocessing start new workers for ever. A 60-second alarm turns such a hang into a failure."""
    import signal

    from stancekit.documents import DocumentsError

    store = DocumentStore.open(documents_parquet(tmp_path / "documents.parquet"))
    path = write(base_export(), tmp_path / "export.json")
    store.db_path.unlink()  # the main process's connection keeps its file; a new connection cannot open it
    reader = validate.Reader(TAXONOMY, documents=store, workers=2)
    reader.min_pool_bytes = 0

    def hang(*_):
        raise TimeoutError("the reader hangs: a worker that cannot start is started again and again")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(60)
    try:
        with pytest.raises(DocumentsError, match="cannot open the document store again"):
            list(reader.read([path]))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
