"""The fast path (stancekit.fastpath) accepts only tasks in which the full check finds no problem.

The property checked everywhere: `CleanTasks.decode(raw) is not None` implies
`Validator.check_task(...) == []`. It is checked on the real export, on the export with each
validator code's defect, on random mutations of the real export, and on one-span tasks over texts
with emoji, flags, combining marks, CRLF and Cyrillic; on the real export and the one-span tasks
the fast path must also accept what the full check finds clean (else it would not be fast).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from export_mutations import DEFECTS, TAXONOMY, base_export, documents_parquet
from stancekit import validate
from stancekit.documents import DocumentStore
from test_validate import JSON_VALUES, TEXTS, _one_span_export, _paths

VALIDATOR = validate.Validator(TAXONOMY)


def _verdicts(tasks: list) -> list[tuple[bool, list]]:
    """(accepted by the fast path, check_task's problems) of each task, each read from its JSON bytes."""
    out = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict):  # not a task: the reader refuses it before any check
            continue
        raw = json.dumps(task, ensure_ascii=False).encode()
        out.append((VALIDATOR.clean.decode(raw) is not None, VALIDATOR.check_task("export.json", index, json.loads(raw))))
    return out


def test_the_real_export_takes_the_fast_path():
    verdicts = _verdicts(base_export())
    assert [accepted for accepted, _ in verdicts] == [problems == [] for _, problems in verdicts]
    assert sum(accepted for accepted, _ in verdicts) >= 5  # all but the task with a warning


# the codes of the Reader (identity across tasks, the documents): not check_task's to find
READER_CODES = {"UNKNOWN_DOCUMENT", "TASK_TEXT_MISMATCH", "CONFLICTING_TASK", "DUPLICATE_ANNOTATION",
                "CONFLICTING_ANNOTATION", "ANNOTATOR_MISSING", "REPEATED_ANNOTATOR"}


def _clean_tasks() -> list:
    """The tasks of the real export in which the full check finds nothing."""
    return [task for task, (_, problems) in zip(base_export(), _verdicts(base_export())) if not problems]


@pytest.mark.parametrize("code", sorted(set(DEFECTS) - READER_CODES))
def test_a_task_with_a_defect_is_left_to_the_full_check(code):
    tasks = _clean_tasks()
    pointer = DEFECTS[code](tasks)  # the defect lands on an otherwise clean task
    verdicts = _verdicts(tasks)
    defective = verdicts[int(pointer.split("/")[1])]
    assert code in {p.code for p in defective[1]}
    assert not defective[0]
    assert not [problems for accepted, problems in verdicts if accepted and problems]


@given(data=st.data())
def test_a_mutated_task_is_accepted_only_when_the_full_check_finds_nothing(data):
    tasks = base_export()[:2]
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(tasks))[1:]
        if not paths:  # both tasks deleted: nothing left to mutate (sampled_from([]) is an error)
            break
        path = data.draw(st.sampled_from(paths))
        parent = tasks
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            del parent[path[-1]]  # a field, or an item, choice, annotation
        elif data.draw(st.booleans()) and isinstance(parent, list):
            parent.append(parent[path[-1]])  # a repeated item, annotation or choice
        else:
            parent[path[-1]] = data.draw(JSON_VALUES | st.integers(-2, 3000) | st.sampled_from(_NAMES))
    for accepted, problems in _verdicts(tasks):
        assert not (accepted and problems), problems


_NAMES = [*TAXONOMY.label_names, *(q.name for q in TAXONOMY.questions),
          *(v for q in TAXONOMY.questions for v in q.value_names), "labels", "choices", "relation", "text"]


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, data=st.data())
def test_a_span_is_accepted_exactly_when_the_full_check_finds_nothing(text, data):
    start = data.draw(st.integers(-1, len(text)))
    end = data.draw(st.integers(start, len(text) + 1))
    piece = text[max(start, 0):max(end, 0)]
    shown = data.draw(st.sampled_from([piece, piece.replace("\r", "\\n").replace("\n", "\\n"), piece + "x", piece.strip()]))
    [(accepted, problems)] = _verdicts(_one_span_export(text, start, end, shown))
    assert accepted == (problems == []), problems


def _first_span(task: dict) -> dict:
    return next(item for item in task["annotations"][0]["result"] if item["type"] == "labels")


@pytest.mark.parametrize("change", [
    lambda task: _first_span(task)["value"].update(start=float(_first_span(task)["value"]["start"])),  # 3.0
    lambda task: _first_span(task).update(id=7),
    lambda task: task["annotations"][0].update(was_cancelled=True),
    lambda task: task.update(drafts=[{"id": 1, "result": []}]),
    lambda task: task["annotations"][0]["result"].append({"from_id": "a", "to_id": "b", "type": "relation"}),
], ids=["float offset", "integer region id", "cancelled", "draft", "relation"])
def test_what_the_full_check_would_word_or_accept_is_left_to_it(change):
    """Conservative refusals: the full check accepts these, or words them; the fast path does not decide."""
    task = _clean_tasks()[0]
    change(task)
    assert VALIDATOR.clean.decode(json.dumps(task, ensure_ascii=False).encode()) is None


def test_a_lone_surrogate_is_left_to_the_exact_reader():
    task = _clean_tasks()[0]
    raw = json.dumps(task).replace('"text": "', '"text": "\\ud83d', 1).encode()
    assert b"\\ud83d" in raw and VALIDATOR.clean.decode(raw) is None


def test_a_second_span_under_a_region_id_is_left_to_the_full_check():
    """Its attributes are the first span's, so only the region id itself tells (DUPLICATE_REGION_ID)."""
    task, result = next((task, a["result"]) for task in _clean_tasks() for a in task["annotations"]
                        if len({item["value"]["labels"][0] for item in a["result"] if item["type"] == "labels"}) > 1)
    spans = [item for item in result if item["type"] == "labels"]
    first = spans[0]
    other = next(item for item in spans if item["value"]["labels"] != first["value"]["labels"])
    result.append({**first, "value": {**other["value"], "labels": first["value"]["labels"]}})
    [(accepted, problems)] = _verdicts([task])
    assert [p.code for p in problems] == ["DUPLICATE_REGION_ID"]
    assert not accepted


class _Unsure:
    """A fast path that is never sure: forces `_check` to parse and check every task the full way."""

    def decode(self, raw: bytes) -> None:
        return None


@pytest.mark.parametrize("change", [
    lambda task: None,
    lambda task: task["data"].update(offset=task["data"].get("offset", 0) + 1),  # TASK_TEXT_MISMATCH
    lambda task: task["data"].pop("doc_id"),  # UNKNOWN_DOCUMENT
    lambda task: task["annotations"][0].pop("completed_by"),  # ANNOTATOR_MISSING, in the Reader
    lambda task: task["annotations"][0].update(ground_truth=True, completed_by={"id": 3, "email": "a@b.org"}),
    lambda task: task["annotations"][1].update(lead_time=12.5, created_at="2026-11-21T10:00:00Z", updated_at=7),
    lambda task: task["data"].update(title=None, source="feed", extra={"nested": [1, "два"]}),
], ids=["as exported", "text not the document's", "no doc_id", "no annotator", "ground truth by email",
        "times", "more data"])
@pytest.mark.parametrize("records", [False, True])
def test_a_typed_task_is_checked_as_its_dict(change, records, tmp_path):
    """`_check` reads a task the fast path accepts from its typed Structs (`_check_typed`): it must find
    what the dict path finds, and make the same records (`CleanTasks.records` against
    `records.annotation_record`), but the content digests that only the dict path takes."""
    documents = DocumentStore.open(documents_parquet(tmp_path / "documents.parquet"))
    full = validate.Validator(TAXONOMY)
    full.clean = _Unsure()  # type: ignore[assignment]
    for index, task in enumerate(_clean_tasks()):
        change(task)
        raw = json.dumps(task, ensure_ascii=False).encode()
        assert VALIDATOR.clean.decode(raw) is not None
        typed = validate._check(VALIDATOR, documents, "e.json", index, raw, records=records)
        parsed = validate._check(full, documents, "e.json", index, raw, records=records)
        assert typed == parsed
        assert all(a[5] is not None for a in typed.annotations) == (records and bool(typed.annotations[0][4]))


def test_a_number_past_a_float_in_the_data_is_read_as_without_the_fast_path(tmp_path):
    """A data field no check reads may hold a number msgspec cannot hold (1e400; the exact reader reads inf):
    the fast path leaves the task to the full check, whose records carry the data as `parse_task` gives it."""
    task = _clean_tasks()[0]
    task["data"]["weight"] = "past a float"
    raw = json.dumps(task, ensure_ascii=False).replace('"past a float"', "1e400").encode()
    path = tmp_path / "export.json"
    path.write_bytes(b"[" + raw + b"]")
    full = validate.Validator(TAXONOMY)
    full.clean = _Unsure()  # type: ignore[assignment]
    assert VALIDATOR.clean.decode(raw) is None
    typed = validate._check(VALIDATOR, None, str(path), 0, raw, records=True)
    assert typed == validate._check(full, None, str(path), 0, raw, records=True)
    assert typed.annotations[0][5].data["weight"] == float("inf")


def _objects(value: object):
    """Every object (dict) in a JSON value, outer first."""
    if isinstance(value, dict):
        yield value
    for inner in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        yield from _objects(inner)


_KEYS = ["id", "start", "end", "from_name", "type", "labels", "choices", "text", "chunk", "offset", "doc_id",
         "completed_by", "was_cancelled", "ground_truth", "result", "annotations", "drafts", "meta", "title",
         "lead_time", "created_at", "updated_at", "data"]
_VALUES = st.sampled_from(['0', '1', '3.0', '1e2', '-1', '-0.0', '0.1', '1e400', '-1E400', 'true', 'false', 'null', '""', '[]',
                           '{}', '"label"', '"polarity"', '"choices"', '["STANCE"]', '["support"]', '{"id": 3, "email": "a@b.org"}',
                           '123456789012345678901234567890', '18446744073709551616', '"\\ud83d"', '"\\ud83d\\ude00"', '"\\u00e9"'])
_STRING = st.binary(max_size=6).map(lambda b: b'"' + bytes(c for c in b if c >= 0x20 and c not in b'"\\') + b'"')


@settings(max_examples=100, deadline=None)
@given(data=st.data(), records=st.booleans())
def test_a_task_written_otherwise_is_checked_as_without_the_fast_path(data, records, tmp_path_factory):
    """`_check` with and without the fast path gives the same (problems, keys, votes, records, to the types
    of their values; or the same ExportReadError) for a clean task whose JSON text gets a key again (a
    duplicate key: the last one counts), first or last in its object and maybe written with an escape, or a
    field no check reads, whose bytes may not be UTF-8 (msgspec skips such a field unread)."""
    task = data.draw(st.sampled_from(_clean_tasks()))
    fields = []
    for n in range(data.draw(st.integers(1, 3))):
        inner = list(_objects(task))  # the task, its data and annotations, or any object in it
        into = data.draw(st.sampled_from([task, task["data"], *task["annotations"]]) | st.sampled_from(inner))
        place = {f"\0{n}": None}  # a mark, written over below
        if data.draw(st.booleans()):  # first in its object: the key written after it counts
            place.update(into)
            into.clear()
        into.update(place)  # else last: it counts
        key = data.draw(st.sampled_from(_KEYS))
        if data.draw(st.booleans()):  # "was\u005fcancelled" is "was_cancelled"
            i = data.draw(st.integers(0, len(key) - 1))
            key = f"{key[:i]}\\u{ord(key[i]):04x}{key[i + 1:]}"
        fields.append(b'"' + key.encode() + b'": ' + data.draw(_STRING | _VALUES.map(str.encode)))
    raw = json.dumps(task, ensure_ascii=data.draw(st.booleans())).encode()
    for n, field in enumerate(fields):
        raw = raw.replace(b'"\\u0000%d": null' % n, field)
    path = tmp_path_factory.mktemp("written") / "export.json"
    path.write_bytes(b"[" + raw + b"]")
    full = validate.Validator(TAXONOMY)
    full.clean = _Unsure()  # type: ignore[assignment]
    found = []
    for validator in (VALIDATOR, full):
        try:
            found.append(validate._check(validator, None, str(path), 0, raw, records=records))
        except validate.ExportReadError as exc:
            found.append(str(exc))
    assert found[0] == found[1]
    assert repr(found[0]) == repr(found[1])  # 1 and 1.0 and True are equal, but a record must hold the same type
