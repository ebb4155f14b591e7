"""Defective exports for the validator's tests, each made by applying one defect to a real export.

`base_export()` is the real Label Studio export committed at tests/fixtures/exports/real_export.json.
`DEFECTS` maps every validator code to a function that injects that defect into a copy of it
and returns the JSON pointer where the validator must report it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from stancekit import taxonomy as taxonomy_mod
from stancekit.taxonomy import LABELS_NAME

ROOT = Path(__file__).resolve().parents[1]
REAL_EXPORT = ROOT / "tests/fixtures/exports/real_export.json"
TAXONOMY = taxonomy_mod.load(ROOT / "schema/taxonomy.yaml")


def base_export() -> list[dict]:
    return json.loads(REAL_EXPORT.read_text(encoding="utf-8"))


def write(tasks: list, path: Path) -> Path:
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


# -- finding things in an export ----------------------------------------------------------------

def _annotations(tasks):
    """(task index, annotation index, annotation) of every submitted, non-cancelled annotation."""
    for t, task in enumerate(tasks):
        for a, ann in enumerate(task["annotations"]):
            if not ann.get("was_cancelled"):
                yield t, a, ann


def _spans(tasks, label=None):
    """(task index, annotation index, item index, item) of every span, optionally of one label."""
    for t, a, ann in _annotations(tasks):
        for j, item in enumerate(ann["result"]):
            if item.get("type") == "labels" and (label is None or item["value"]["labels"][0] == label):
                yield t, a, j, item


def _first_span(tasks, label=None):
    return next(_spans(tasks, label))


def _doc_choice(tasks, name):
    for t, a, ann in _annotations(tasks):
        for j, item in enumerate(ann["result"]):
            if item.get("from_name") == name and item.get("type") == "choices":
                return t, a, j, item
    raise LookupError(name)


def _region_choice(tasks):
    names = {q.name for q in TAXONOMY.region_attributes}
    for t, a, ann in _annotations(tasks):
        for j, item in enumerate(ann["result"]):
            if item.get("from_name") in names:
                return t, a, j, item
    raise LookupError("per-region choice")


def _at(t, a, j=None, *rest):
    return f"/{t}/annotations/{a}/result" + ("" if j is None else f"/{j}") + "".join(f"/{r}" for r in rest)


def _set_span(tasks, t, a, j, start, end):
    """Move a span (and its per-region choices) to new offsets, keeping value.text consistent."""
    text = tasks[t]["data"]["text"]
    piece = text[start:end].replace("\r", "\\n").replace("\n", "\\n")
    rid = tasks[t]["annotations"][a]["result"][j]["id"]
    for item in tasks[t]["annotations"][a]["result"]:
        if item.get("id") == rid and "start" in item.get("value", {}):
            item["value"].update(start=start, end=end, text=piece)


# -- one defect per code --------------------------------------------------------------------------

def schema_violation(tasks):
    t, a, ann = next(_annotations(tasks))
    ann["id"] = "not-an-integer"
    return f"/{t}/annotations/{a}/id"


def unknown_from_name(tasks):
    t, a, j, item = _first_span(tasks)
    item["from_name"] = LABELS_NAME + "_renamed"
    return _at(t, a, j, "from_name")


def unknown_to_name(tasks):
    t, a, j, item = _first_span(tasks)
    item["to_name"] = "body"
    return _at(t, a, j, "to_name")


def type_mismatch(tasks):
    t, a, j, item = _region_choice(tasks)
    item["type"] = "labels"
    return _at(t, a, j, "type")


def unknown_label(tasks):
    t, a, j, item = _first_span(tasks)
    item["value"]["labels"] = ["NOT_IN_TAXONOMY"]
    return _at(t, a, j, "value/labels/0")


def unknown_choice(tasks):
    t, a, j, item = _doc_choice(tasks, TAXONOMY.document_choices[0].name)
    item["value"]["choices"] = ["not_in_taxonomy"]
    return _at(t, a, j, "value/choices/0")


def orphan_region_choice(tasks):
    t, a, j, item = _region_choice(tasks)
    item["id"] = "no-such-region"
    return _at(t, a, j, "id")


def choice_not_applicable(tasks):
    for t, a, j, span in _spans(tasks):
        label = span["value"]["labels"][0]
        others = [q for q in TAXONOMY.region_attributes if label not in q.applies_to]
        if others:
            q = others[0]
            result = tasks[t]["annotations"][a]["result"]
            result.append({"value": {**{k: span["value"][k] for k in ("start", "end", "text") if k in span["value"]},
                                     "choices": [q.value_names[0]]},
                           "id": span["id"], "from_name": q.name, "to_name": span["to_name"], "type": "choices",
                           "origin": "manual"})
            return _at(t, a, len(result) - 1)
    raise LookupError("a span with a label that some attribute does not apply to")


def relation_endpoint_missing(tasks):
    t, a, j, span = _first_span(tasks)
    result = tasks[t]["annotations"][a]["result"]
    result.append({"from_id": span["id"], "to_id": "no-such-region", "type": "relation", "direction": "right"})
    return _at(t, a, len(result) - 1, "to_id")


def duplicate_region_id(tasks):
    t, a, j, span = _first_span(tasks)
    result = tasks[t]["annotations"][a]["result"]
    twin = copy.deepcopy(span)
    result.append(twin)
    return _at(t, a, len(result) - 1, "id")


def offset_not_int(tasks):
    t, a, j, span = _first_span(tasks)
    span["value"]["start"] = str(span["value"]["start"])
    return _at(t, a, j, "value/start")


def offset_out_of_range(tasks):
    t, a, j, span = _first_span(tasks)
    span["value"]["end"] = len(tasks[t]["data"]["text"]) + 7
    return _at(t, a, j, "value/end")


def span_empty_or_reversed(tasks):
    t, a, j, span = _first_span(tasks)
    span["value"]["end"] = span["value"]["start"]
    return _at(t, a, j, "value/end")


def span_text_mismatch(tasks):
    t, a, j, span = _first_span(tasks)
    span["value"]["text"] = span["value"]["text"] + " (edited)"
    return _at(t, a, j, "value/text")


def span_whitespace_only(tasks):
    t, a, j, span = _first_span(tasks)
    i = tasks[t]["data"]["text"].index(" ")
    _set_span(tasks, t, a, j, i, i + 1)
    return _at(t, a, j, "value")


def span_boundary_in_word(tasks):
    for t, a, j, span in _spans(tasks):
        text, start = tasks[t]["data"]["text"], span["value"]["start"]
        if text[start:start + 2].isalnum():
            _set_span(tasks, t, a, j, start + 1, span["value"]["end"])
            return _at(t, a, j, "value")
    raise LookupError("a span that starts with two letters")


def required_choice_missing(tasks):
    t, a, j, _ = _doc_choice(tasks, TAXONOMY.document_choices[0].name)
    del tasks[t]["annotations"][a]["result"][j]
    return _at(t, a)


def multiple_choices(tasks):
    t, a, j, item = _doc_choice(tasks, TAXONOMY.document_choices[0].name)
    result = tasks[t]["annotations"][a]["result"]
    result.append({**copy.deepcopy(item), "id": item["id"] + "_again"})
    return _at(t, a, len(result) - 1)


def duplicate_region(tasks):
    t, a, j, span = _first_span(tasks)
    result = tasks[t]["annotations"][a]["result"]
    copies = [copy.deepcopy(item) for item in result if item.get("id") == span["id"]]
    for item in copies:
        item["id"] = span["id"] + "_twin"
    result.extend(copies)
    return _at(t, a, len(result) - len(copies))


def span_contradicts_doc_choice(tasks):
    for q in TAXONOMY.document_choices:
        for v in q.values:
            for label in v.incompatible_labels:
                t, a, j, span = _first_span(tasks, label)
                for k, item in enumerate(tasks[t]["annotations"][a]["result"]):
                    if item.get("from_name") == q.name:
                        item["value"]["choices"] = [v.value]
                        return _at(t, a, k)
    raise LookupError("a document answer with incompatible labels, and a span with such a label")


def cancelled_annotation(tasks):
    t, a, ann = next(_annotations(tasks))
    ann["was_cancelled"] = True
    return f"/{t}/annotations/{a}"


def draft_excluded(tasks):
    t, a, ann = next(_annotations(tasks))
    # the shape Label Studio 1.23 exports a draft in
    tasks[t]["drafts"] = [{"id": 987654, "user": "annotator@example.com", "created_username": "annotator@example.com, 2",
                           "created_ago": "0\xa0minutes", "result": copy.deepcopy(ann["result"]), "lead_time": 3.0,
                           "was_postponed": False, "import_id": None, "created_at": "2026-11-22T00:36:08.787550Z",
                           "updated_at": "2026-11-22T00:36:08.787577Z", "task": tasks[t]["id"], "annotation": None}]
    return f"/{t}/drafts/0"


def task_without_annotation(tasks):
    tasks[0]["annotations"] = []
    return "/0"


def unknown_document(tasks):
    del tasks[0]["data"]["doc_id"]
    return "/0/data"


def task_text_mismatch(tasks):
    text = tasks[0]["data"]["text"]
    at = text.index(" ") + 1  # one character of the first word after a space: an edit Label Studio would keep
    tasks[0]["data"]["text"] = text[:at] + ("X" if text[at] != "X" else "Y") + text[at + 1:]
    return "/0/data/text"


def conflicting_task(tasks):
    other = copy.deepcopy(tasks[0])
    other["data"]["title"] = "another title"
    other["annotations"] = []
    tasks.append(other)
    return f"/{len(tasks) - 1}/data"


def duplicate_annotation(tasks):
    tasks.append(copy.deepcopy(tasks[0]))  # the same task in a second snapshot
    return f"/{len(tasks) - 1}/annotations/0"


def conflicting_annotation(tasks):
    again = copy.deepcopy(tasks[0])
    again["annotations"][0]["lead_time"] = (again["annotations"][0].get("lead_time") or 0) + 60  # edited since
    tasks.append(again)
    return f"/{len(tasks) - 1}/annotations/0"


def annotator_missing(tasks):
    t, a, ann = next(_annotations(tasks))
    del ann["completed_by"]
    return f"/{t}/annotations/{a}"


def repeated_annotator(tasks):
    t, a, ann = next(_annotations(tasks))
    again = copy.deepcopy(ann)
    again["id"] = max(x["id"] for task in tasks for x in task["annotations"]) + 1
    tasks[t]["annotations"].append(again)
    return f"/{t}/annotations/{len(tasks[t]['annotations']) - 1}"


DEFECTS = {f.__name__.upper(): f for f in [
    schema_violation, unknown_from_name, unknown_to_name, type_mismatch, unknown_label, unknown_choice,
    orphan_region_choice, choice_not_applicable, relation_endpoint_missing, duplicate_region_id,
    offset_not_int, offset_out_of_range, span_empty_or_reversed, span_text_mismatch, span_whitespace_only,
    span_boundary_in_word, required_choice_missing, multiple_choices, duplicate_region,
    span_contradicts_doc_choice, cancelled_annotation, draft_excluded, task_without_annotation,
    unknown_document, task_text_mismatch, conflicting_task, duplicate_annotation, conflicting_annotation,
    annotator_missing, repeated_annotator,
]}


def documents_parquet(path: Path) -> Path:
    """documents.parquet of the real export's documents, each rebuilt from its chunk tasks (text at offset)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts: dict[str, dict[int, str]] = {}
    for task in base_export():
        texts.setdefault(task["data"]["doc_id"], {})[task["data"].get("offset", 0)] = task["data"]["text"]
    rows = [{"doc_id": doc_id, "title": doc_id, "text": "".join(chunks[k] for k in sorted(chunks)), "source_file": doc_id}
            for doc_id, chunks in sorted(texts.items())]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def with_defect(code: str) -> tuple[list[dict], str]:
    """A copy of the real export with the defect for `code`, and the pointer where it must be reported."""
    tasks = base_export()
    return tasks, DEFECTS[code](tasks)
