"""Validate Label Studio JSON exports: structure, references, offsets and semantics.

Every problem is a `Problem` record with a stable code from `CODES`, a level, the task,
annotation and region it is about, and an RFC 6901 JSON pointer into the export file.
Structure is checked by the JSON Schema generated from the taxonomy (`stancekit.schema`,
compiled once with jsonschema-rs); what a schema cannot express (offsets against the text,
joins between items, counts, contradictions) is checked here. Most tasks of a real export have
no problem at all: `stancekit.fastpath` recognises those first (typed msgspec Structs, in C), and
only the others go through the JSON Schema and the checks here, which word every problem. Exports
are streamed task by task (`stancekit.exports.iter_raw_tasks_at`), so memory does not grow with the
export.

Library use (e.g. a release refusing invalid input):

    summary = validate.check(paths, taxonomy)
    if summary.errors: ...
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import stat
import zlib
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import jsonschema_rs
import orjson
from msgspec import UNSET

from . import config as config_mod
from . import fastpath
from . import schema as schema_mod
from ._files import markdown_table, table_cell
from .errors import CheckFailed, InputError
from .exports import ExportReadError, iter_raw_tasks, iter_raw_tasks_at, parse_task, raw_task_at
from .fastpath import CleanTasks, cuts, ls_text
from .records import Record, annotation_record, annotator_id
from .taxonomy import LABELS_NAME, TEXT_NAME, Taxonomy

if TYPE_CHECKING:  # only annotations name these here: importing documents pulls pyarrow, and numpy is loaded at first use
    import numpy as np

    from .documents import DocumentStore

ERROR, WARNING = "error", "warning"
T = TypeVar("T")


@dataclass(frozen=True)
class Code:
    name: str
    level: str
    group: str
    meaning: str
    fix: str


CODES: dict[str, Code] = {c.name: c for c in [
    Code("SCHEMA_VIOLATION", ERROR, "structure",
         "The export does not have the structure of schema/export.schema.json (a missing key, or a value of the wrong type).",
         "Export from Label Studio as JSON (not JSON_MIN, CSV or CONLL); if a script wrote this item, make it write Label Studio's shape."),
    Code("UNKNOWN_FROM_NAME", ERROR, "references",
         "A result item's `from_name` names no control of the labeling config.",
         "The project's config differs from schema/labeling-config.xml: update the project's config, "
         "then fix or delete the item in Label Studio."),
    Code("UNKNOWN_TO_NAME", ERROR, "references",
         "A result item's `to_name` is not the config's text object.",
         "Fix the item (or the script that imported it) to point at the text object named in the config."),
    Code("TYPE_MISMATCH", ERROR, "references",
         "A result item's `type` is not the type of its control (`labels` for spans, `choices` for choices).",
         "Fix the item (or the script that imported it); Label Studio itself writes the right type."),
    Code("UNKNOWN_LABEL", ERROR, "references",
         "A span's label is not in the taxonomy.",
         "Relabel the span in Label Studio, or add the label to schema/taxonomy.yaml and bump its version."),
    Code("UNKNOWN_CHOICE", ERROR, "references",
         "A choice is not one of the taxonomy's values for its question.",
         "Choose a listed value in Label Studio, or add the value to schema/taxonomy.yaml and bump its version."),
    Code("ORPHAN_REGION_CHOICE", ERROR, "references",
         "A per-region choice has an id that matches no span in the same annotation.",
         "Open the task in Label Studio and answer the question on the span itself; delete the stray choice."),
    Code("CHOICE_NOT_APPLICABLE", ERROR, "references",
         "A per-region question is answered for a span whose label it does not apply to.",
         "Check the span's label in Label Studio: relabel it, or clear the answer that belongs to the other label."),
    Code("RELATION_ENDPOINT_MISSING", ERROR, "references",
         "A relation's from_id or to_id names no span in the same annotation.",
         "Delete the relation in Label Studio and draw it again between existing spans."),
    Code("DUPLICATE_REGION_ID", ERROR, "references",
         "Two spans in one annotation share a region id, so their per-region choices cannot be told apart.",
         "Delete one of the spans in Label Studio and mark it again (the new one gets a fresh id)."),
    Code("OFFSET_NOT_INT", ERROR, "offsets",
         "A span's start or end is not an integer.",
         "Offsets are code point indices: fix the script that wrote them to write integers."),
    Code("OFFSET_OUT_OF_RANGE", ERROR, "offsets",
         "A span's start is negative or its end is past the end of the task text.",
         "The text changed after labelling, or a script computed offsets in other units: re-mark the span in Label Studio."),
    Code("SPAN_EMPTY_OR_REVERSED", ERROR, "offsets",
         "A span's start is not before its end.",
         "Delete the span in Label Studio and mark it again."),
    Code("SPAN_TEXT_MISMATCH", ERROR, "offsets",
         "A span's value.text differs from text[start:end] (allowing for Label Studio writing each CR and LF as a literal \\n).",
         "The offsets point at other text than the annotator saw (edited text, or offsets in bytes/UTF-16): re-mark the span."),
    Code("SPAN_WHITESPACE_ONLY", ERROR, "offsets",
         "A span covers only whitespace.",
         "Delete the span in Label Studio, or mark the words it was meant to cover."),
    Code("SPAN_BOUNDARY_IN_WORD", WARNING, "offsets",
         "A span starts or ends inside a word (or inside a character made of several code points).",
         "Usually a slip of the mouse: widen or narrow the span in Label Studio to whole words."),
    Code("REQUIRED_CHOICE_MISSING", ERROR, "semantics",
         "A required question is not answered: the document stance of an annotation, or a per-region attribute of a span.",
         "Open the annotation in Label Studio, select the span (or the document) and answer the question."),
    Code("MULTIPLE_CHOICES", ERROR, "semantics",
         "A single-choice question has more than one answer.",
         "Keep one answer in Label Studio and clear the others."),
    Code("DUPLICATE_REGION", ERROR, "semantics",
         "Two spans in one annotation have the same label and the same offsets.",
         "Delete one of the two spans in Label Studio (keep the one whose attributes are right)."),
    Code("SPAN_CONTRADICTS_DOC_CHOICE", WARNING, "semantics",
         "An annotation's document-level answer excludes span labels it also marks (e.g. conditions under an unconditional stance).",
         "Check the document answer (e.g. conditional rather than plain support) or the spans' labels."),
    Code("UNKNOWN_DOCUMENT", ERROR, "identity",
         "A task has no data.doc_id, or names a document that is not in the documents table.",
         "Import tasks made by `stancekit tasks` from the same documents.parquet, or pass the documents table they were made from."),
    Code("TASK_TEXT_MISMATCH", ERROR, "identity",
         "A task's text is not the stretch of its document it claims to be: documents.text[offset:offset + len(text)].",
         "The task or the document changed after import: re-run `stancekit tasks` and `ls push`, and re-label the changed tasks."),
    Code("CONFLICTING_TASK", ERROR, "identity",
         "Two tasks with the same id, document and chunk (in one export or across the exports given together) hold different data.",
         "The exports come from different projects or servers: pass the exports of one project only."),
    Code("DUPLICATE_ANNOTATION", WARNING, "identity",
         "An annotation (task id, annotation id) appears again with identical content, e.g. in two `ls pull` snapshots: counted once.",
         "Nothing to do; to silence it, pass only the latest snapshot of each project."),
    Code("CONFLICTING_ANNOTATION", ERROR, "identity",
         "An annotation (task id, annotation id) appears again with different content, e.g. edited between two `ls pull` snapshots.",
         "Pass only the latest snapshot (`ls pull` writes a full one each time), or the exports of one project."),
    Code("ANNOTATOR_MISSING", ERROR, "identity",
         "A submitted annotation names no annotator (no completed_by), so it cannot count as anyone's vote.",
         "Export from Label Studio (it always writes completed_by); if a script wrote the annotation, make it set completed_by."),
    Code("REPEATED_ANNOTATOR", ERROR, "identity",
         "One annotator has two submitted annotations of the same document chunk (of the same kind: ordinary or ground truth).",
         "One person, one vote: in Label Studio delete or cancel all but one of them."),
    Code("CANCELLED_ANNOTATION", WARNING, "semantics",
         "A cancelled (skipped) annotation: reported and excluded, never used as gold.",
         "Nothing to do if the skip was intended; otherwise have the task labelled again."),
    Code("DRAFT_EXCLUDED", WARNING, "semantics",
         "An unsubmitted draft: reported and excluded, never used as gold.",
         "Have the annotator submit the draft in Label Studio, or delete it."),
    Code("TASK_WITHOUT_ANNOTATION", WARNING, "semantics",
         "A task has no submitted, non-cancelled annotation.",
         "Have the task labelled, or leave it out of the release on purpose."),
]}

_MAX_SHOWN = 80  # characters of a found value quoted in a message


class ConfigError(InputError):
    """The labeling config cannot be parsed or does not match the taxonomy."""


@dataclass(frozen=True)
class Problem:
    code: str
    level: str
    file: str
    task_index: int | None
    task_id: object
    annotation_id: object
    region_id: object
    pointer: str  # RFC 6901 pointer into the export file, e.g. /0/annotations/1/result/3/value/start
    message: str  # what was found, what was expected, and what to do

    def as_dict(self) -> dict:
        return dict(vars(self))  # the fields in order; dataclasses.asdict would deep-copy them


@dataclass
class Summary:
    """Counts over a validation run, and the first few records of each code."""

    examples_per_code: int = 5
    files: int = 0
    tasks: int = 0
    annotations: int = 0  # validated: submitted and not cancelled
    excluded: int = 0  # cancelled annotations and drafts
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[Problem]] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        self.counts[problem.code] += 1
        shown = self.examples.setdefault(problem.code, [])
        if len(shown) < self.examples_per_code:
            shown.append(problem)

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.counts.items() if CODES[code].level == ERROR)

    @property
    def warnings(self) -> int:
        return sum(n for code, n in self.counts.items() if CODES[code].level == WARNING)


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


def _escape(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _key(value: object) -> str | int | None:
    """A region id usable as a dict key (exports may hold anything there)."""
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def check_config(config_xml: str, taxonomy: Taxonomy, where: str = "config") -> None:
    """Raise ConfigError unless the labeling config has exactly the taxonomy's controls and values.

    The text `stancekit config` renders from this taxonomy (byte for byte) has them by construction
    and is accepted without parsing; any other text is parsed with Label Studio's SDK (about 0.6 s
    to import)."""
    if config_xml == config_mod.render(taxonomy):
        return
    from label_studio_sdk.label_interface import LabelInterface  # slow import, needed only here

    try:
        controls = {c.name: c for c in LabelInterface(config_xml).controls}
    except Exception as exc:  # the SDK raises many kinds of errors on a malformed config
        raise ConfigError(f"{where}: not a valid labeling config ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    expected = {LABELS_NAME: ("Labels", taxonomy.label_names, False)}
    expected.update({q.name: ("Choices", q.value_names, False) for q in taxonomy.document_choices})
    expected.update({q.name: ("Choices", q.value_names, True) for q in taxonomy.region_attributes})
    if set(controls) != set(expected):
        raise ConfigError(f"{where}: controls {sorted(controls)} differ from the taxonomy's {sorted(expected)}; "
                          f"regenerate it with `stancekit config`")
    for name, (tag, values, per_region) in expected.items():
        c = controls[name]
        found = (c.tag, list(c.labels), str(c.attr.get("perRegion", "")).lower() == "true", list(c.to_name),
                 str(c.attr.get("choice", "single")).startswith("single"))
        if found != (tag, values, per_region, [TEXT_NAME], True):
            raise ConfigError(f"{where}: control {name!r} is {found[0]} {found[1]} (perRegion={found[2]}, toName={found[3]}, "
                              f"single choice={found[4]}), the taxonomy expects {tag} {values} (perRegion={per_region}, "
                              f"toName=['{TEXT_NAME}'], single choice=True); regenerate it with `stancekit config`")


class Validator:
    """Checks tasks against one taxonomy. Build once, then call `check_task` per task."""

    def __init__(self, taxonomy: Taxonomy, config_xml: str | None = None, config_where: str = "config"):
        if config_xml is not None:
            check_config(config_xml, taxonomy, config_where)
        self.taxonomy = taxonomy
        self.schema = schema_mod.build(taxonomy)
        self.clean = CleanTasks(taxonomy)  # the fast path for tasks with no problem (fastpath.py)
        self._schema = jsonschema_rs.validator_for(schema_mod.task_schema(self.schema))
        self._result_root = ({k: v for k, v in self.schema.items() if k not in ("type", "items")}
                             | {"type": "array", "items": {"$ref": "#/$defs/result_item"}})
        self._result_schema = jsonschema_rs.validator_for(self._result_root)
        self._doc_questions = taxonomy.document_choices
        self._doc_names = {q.name for q in taxonomy.document_choices}
        self._labels = set(taxonomy.label_names)
        self._attributes = {q.name: q for q in taxonomy.region_attributes}
        self._applies_to = {q.name: set(q.applies_to) for q in taxonomy.region_attributes}
        self._required_attributes = {
            label: [q.name for q in taxonomy.attributes_for(label) if q.required] for label in taxonomy.label_names
        }
        self._incompatible = {
            (q.name, v.value): set(v.incompatible_labels) for q in self._doc_questions for v in q.values if v.incompatible_labels
        }

    # -- records ---------------------------------------------------------------------------

    def _problem(self, ctx: tuple, code: str, pointer: str, message: str, annotation_id=None, region_id=None) -> Problem:
        file, index, task_id = ctx
        return Problem(code, CODES[code].level, file, index, task_id, annotation_id, region_id,
                       f"/{index}{pointer}", f"{message}. Fix: {CODES[code].fix}")

    def _schema_problem(self, ctx: tuple, task: dict, error, prefix: str = "") -> Problem:
        path = list(error.instance_path)
        if prefix:  # a prediction's result list: report the item's region id, no annotation
            path = ["result", *path]
        node, code = self._result_root if prefix else self.schema, "SCHEMA_VIOLATION"
        for step in error.schema_path[:-1]:
            node = node[step]
            if isinstance(node, dict) and schema_mod.CODE_KEY in node:
                code = node[schema_mod.CODE_KEY]
        keyword = error.schema_path[-1] if error.schema_path else ""
        keys = [p for p in path if isinstance(p, str)]
        where = (keys[-1] + (f"[{path[-1]}]" if isinstance(path[-1], int) else "")) if keys else "task"
        if keyword == "enum":
            message = f"{where}: found {_show(error.instance)}, expected one of {', '.join(map(str, node['enum']))}"
        elif keyword == "const":
            message = f"{where}: found {_show(error.instance)}, expected {_show(node['const'])}"
        elif keyword == "type":
            message = f"{where}: found {_show(error.instance)}, expected a value of type {node['type']}"
        else:
            message = f"{where}: {error.message if len(error.message) <= 2 * _MAX_SHOWN else error.message[:2 * _MAX_SHOWN] + '…'}"
        annotation_id = region_id = None
        if len(path) >= 2 and path[0] == "annotations" and isinstance(path[1], int):
            annotation = task["annotations"][path[1]]
            annotation_id = annotation.get("id") if isinstance(annotation, dict) else None
            if len(path) >= 4 and path[2] == "result" and isinstance(path[3], int):
                item = annotation["result"][path[3]]
                region_id = item.get("id") if isinstance(item, dict) else None
        if prefix:
            item = task["result"][path[1]] if len(path) > 1 and isinstance(path[1], int) else None
            return self._problem(ctx, code, prefix + "".join("/" + _escape(p) for p in path[1:]), message,
                                 None, _key(item.get("id")) if isinstance(item, dict) else None)
        return self._problem(ctx, code, "".join("/" + _escape(p) for p in path), message,
                             _key(annotation_id), _key(region_id))

    # -- checks ----------------------------------------------------------------------------

    def check_task(self, file: str, index: int, task: dict) -> list[Problem]:
        """All problems of one task (already parsed from the export)."""
        ctx = (file, index, _key(task.get("id")))
        problems: list[Problem] = []
        if not self._schema.is_valid(task):
            # dict.fromkeys: two subschemas can fail on the same value with the same message
            problems.extend(dict.fromkeys(self._schema_problem(ctx, task, e) for e in self._schema.iter_errors(task)))
        data = task.get("data")
        text = data.get(TEXT_NAME) if isinstance(data, dict) else None
        text = text if isinstance(text, str) else None
        drafts = task.get("drafts")
        drafts = drafts if isinstance(drafts, list) else []
        for k, draft in enumerate(drafts):
            draft_id, user = (draft.get("id"), draft.get("user")) if isinstance(draft, dict) else (draft, None)
            by = f" by {_show(user)}" if user is not None else ""
            problems.append(self._problem(ctx, "DRAFT_EXCLUDED", f"/drafts/{k}",
                                          f"draft {_show(draft_id)}{by} is not submitted and is left out"))
        annotations = task.get("annotations")
        validated = cancelled = 0
        for i, annotation in enumerate(annotations if isinstance(annotations, list) else ()):
            if not isinstance(annotation, dict):
                continue
            annotation_id = _key(annotation.get("id"))
            if annotation.get("was_cancelled") is True:
                cancelled += 1
                problems.append(self._problem(ctx, "CANCELLED_ANNOTATION", f"/annotations/{i}",
                                              f"annotation {_show(annotation_id)} was cancelled and is left out", annotation_id))
                continue
            validated += 1
            result = annotation.get("result")
            if isinstance(result, list):
                self._check_annotation(ctx, problems, f"/annotations/{i}/result", annotation_id, result, text)
        if not validated:
            problems.append(self._problem(ctx, "TASK_WITHOUT_ANNOTATION", "",
                                          f"task has no submitted annotation ({cancelled} cancelled, {len(drafts)} drafts)"))
        return problems

    def check_result(self, ctx: tuple, at: str, result: object, text: str | None) -> list[Problem]:
        """All problems of a prediction's result list, at pointer `at`. A pre-annotation may leave
        questions for the annotator: REQUIRED_CHOICE_MISSING does not apply."""
        if not isinstance(result, list):
            return [self._problem(ctx, "SCHEMA_VIOLATION", at, f"result is {_show(result)}, expected a list of result items")]
        problems = []
        if not self._result_schema.is_valid(result):
            for error in self._result_schema.iter_errors(result):
                problem = self._schema_problem(ctx, {"result": result}, error, prefix=at)
                if problem not in problems:
                    problems.append(problem)
        self._check_annotation(ctx, problems, at, None, result, text, complete=False)
        return problems

    def _check_offsets(self, ctx, problems, at, j, annotation_id, rid, value, text) -> tuple[int, int] | None:
        """Check the offsets and text of the span at result item j of `at`; return (start, end) when usable."""
        start, end = value.get("start"), value.get("end")
        if type(start) is not int or type(end) is not int:  # bool is not an offset either
            for name, offset in (("start", start), ("end", end)):
                if isinstance(offset, float):  # the schema accepts 3.0 as an integer; Python slicing does not
                    problems.append(self._problem(ctx, "OFFSET_NOT_INT", f"{at}/{j}/value/{name}",
                                                  f"{name} is {offset!r}, expected an integer code point index",
                                                  annotation_id, rid))
            return None
        if text is None:
            return None
        size = len(text)
        if start < 0 or end > size:
            problems.append(self._problem(ctx, "OFFSET_OUT_OF_RANGE", f"{at}/{j}/value/{'start' if start < 0 else 'end'}",
                                          f"span [{start}, {end}) is outside the task text, expected 0 <= start and end <= {size}",
                                          annotation_id, rid))
            return None
        if start >= end:
            problems.append(self._problem(ctx, "SPAN_EMPTY_OR_REVERSED", f"{at}/{j}/value/end",
                                          f"span [{start}, {end}): expected start < end", annotation_id, rid))
            return None
        piece = text[start:end]
        shown = value.get("text")
        if shown != piece and isinstance(shown, str) and shown != ls_text(piece):
            problems.append(self._problem(ctx, "SPAN_TEXT_MISMATCH", f"{at}/{j}/value/text",
                                          f"value.text is {_show(shown)}, expected text[{start}:{end}] = {_show(piece)} "
                                          f"(or with each CR and LF written as \\n)", annotation_id, rid))
        if piece.isspace():
            problems.append(self._problem(ctx, "SPAN_WHITESPACE_ONLY", f"{at}/{j}/value",
                                          f"span [{start}, {end}) is {_show(piece)}, expected some non-whitespace text",
                                          annotation_id, rid))
        elif (start > 0 and cuts(text, start)) or (end < size and cuts(text, end)):
            splits = [f"start {start} splits {_show(text[start - 1:start + 1])}"] if start > 0 and cuts(text, start) else []
            if end < size and cuts(text, end):
                splits.append(f"end {end} splits {_show(text[end - 1:end + 1])}")
            problems.append(self._problem(ctx, "SPAN_BOUNDARY_IN_WORD", f"{at}/{j}/value",
                                          f"span {_show(piece)}: {'; '.join(splits)}, expected whole words", annotation_id, rid))
        return start, end

    def _check_annotation(self, ctx, problems, at, annotation_id, result, text, complete: bool = True) -> None:
        """Problems of one result list; `complete=False` (a prediction) does not require answers."""
        spans: dict = {}  # region id -> (item index, label)
        by_offsets: dict = {}  # (label, start, end) -> region id
        doc_answers: dict[str, list[tuple[int, list]]] = {}
        region_choices = []  # (item index, question name, region id)
        relations = []
        for j, item in enumerate(result):
            if type(item) is not dict:
                continue
            kind, name, value = item.get("type"), item.get("from_name"), item.get("value")
            if kind == "relation":
                relations.append((j, item))
                continue
            if type(value) is not dict or type(name) is not str:
                continue
            rid = item.get("id")
            if type(rid) is not str:
                rid = _key(rid)
            if name == LABELS_NAME and kind == "labels":
                labels = value.get("labels")
                label = labels[0] if isinstance(labels, list) and labels and isinstance(labels[0], str) else None
                if rid is not None and rid in spans:
                    first = spans[rid][0]
                    problems.append(self._problem(ctx, "DUPLICATE_REGION_ID", f"{at}/{j}/id",
                                                  f"region id {_show(rid)} is also the id of the span at result item "
                                                  f"{first}, expected unique span ids",
                                                  annotation_id, rid))
                elif rid is not None:
                    spans[rid] = (j, label)
                offsets = self._check_offsets(ctx, problems, at, j, annotation_id, rid, value, text)
                if offsets and label is not None:
                    other = by_offsets.setdefault((label, *offsets), (j, rid))
                    if other[0] != j:
                        problems.append(self._problem(ctx, "DUPLICATE_REGION", f"{at}/{j}",
                                                      f"{label} span [{offsets[0]}, {offsets[1]}) repeats span {_show(other[1])} "
                                                      f"(result item {other[0]}), expected each span once", annotation_id, rid))
            elif kind == "choices" and name in self._attributes:
                region_choices.append((j, name, rid, value.get("choices")))
            elif kind == "choices" and name in self._doc_names:
                choices = value.get("choices")
                if isinstance(choices, list) and choices:
                    doc_answers.setdefault(name, []).append((j, choices))
        answered: dict = {}  # (region id, question) -> item index
        for j, name, rid, choices in region_choices:
            if rid is None:  # no usable id: a schema violation, reported already
                continue
            if rid not in spans:
                problems.append(self._problem(ctx, "ORPHAN_REGION_CHOICE", f"{at}/{j}/id",
                                              f"{name} choice has region id {_show(rid)}, expected the id of a span in this annotation",
                                              annotation_id, rid))
                continue
            span_at, label = spans[rid]
            if label in self._labels and label not in self._applies_to[name]:
                problems.append(self._problem(ctx, "CHOICE_NOT_APPLICABLE", f"{at}/{j}",
                                              f"{name} is answered for a {label} span, expected it only for "
                                              f"{', '.join(self._attributes[name].applies_to)}", annotation_id, rid))
                continue
            if not (isinstance(choices, list) and choices):
                continue
            first = answered.setdefault((rid, name), j)
            if first != j:
                problems.append(self._problem(ctx, "MULTIPLE_CHOICES", f"{at}/{j}",
                                              f"{name} of span {_show(rid)} is answered again (first at result item "
                                              f"{first}), expected one answer",
                                              annotation_id, rid))
        for rid, (j, label) in (spans.items() if complete else ()):
            missing = [name for name in self._required_attributes.get(label, ()) if (rid, name) not in answered]
            if missing:
                problems.append(self._problem(ctx, "REQUIRED_CHOICE_MISSING", f"{at}/{j}",
                                              f"{label} span {_show(rid)} has no {', '.join(missing)}, expected one answer each",
                                              annotation_id, rid))
        for q in self._doc_questions:
            items = doc_answers.get(q.name, [])
            if not items and q.required and complete:
                problems.append(self._problem(ctx, "REQUIRED_CHOICE_MISSING", at,
                                              f"no {q.name} answer, expected exactly one", annotation_id))
            for j, _ in items[1:]:
                problems.append(self._problem(ctx, "MULTIPLE_CHOICES", f"{at}/{j}",
                                              f"{q.name} is answered {len(items)} times, expected exactly one", annotation_id))
            for j, choices in items:
                excluded = set().union(*(self._incompatible.get((q.name, c), set()) for c in choices if isinstance(c, str)))
                clashing = [rid for rid, (_, label) in spans.items() if label in excluded] if excluded else None
                if clashing:
                    problems.append(self._problem(ctx, "SPAN_CONTRADICTS_DOC_CHOICE", f"{at}/{j}",
                                                  f"{q.name} is {_show(choices[0])} but the annotation marks {len(clashing)} "
                                                  f"{'/'.join(sorted(excluded))} span(s) (first {_show(clashing[0])})", annotation_id))
        for j, item in relations:
            for end in ("from_id", "to_id"):
                rid = _key(item.get(end))
                if rid is not None and rid not in spans:
                    problems.append(self._problem(ctx, "RELATION_ENDPOINT_MISSING", f"{at}/{j}/{end}",
                                                  f"relation {end} is {_show(item.get(end))}, expected the id of a span in this annotation",
                                                  annotation_id, rid))


class InputRejected(CheckFailed):
    """A stage refuses its input: the exports have validation errors. The message is one line: how
    many errors, the first location, and the `stancekit validate` command that lists them all."""


class Reader:
    """The one reader of Label Studio exports: validates every task and yields the records of the clean ones.

    One pass does both: `validate` is this reader's report, and every other stage consumes its
    records. Across all files read by one Reader, an annotation is identified by (task id,
    annotation id), scoped by the task's doc_id and chunk (`_hash`): a repeat with identical
    content (equal as JSON: `_digest`) is DUPLICATE_ANNOTATION (counted once), with other content
    CONFLICTING_ANNOTATION; a task id with other data is CONFLICTING_TASK. Contents are compared only
    when a key repeats (`_same`): both tasks are then read again from their files by byte offset, but
    for a task the exact reader or a pipe gave (no offset), whose digests were taken when it was checked.
    With a `documents` store, each task's text must be documents.text[offset:offset + len(text)].

        reader = Reader(taxonomy, documents=store)
        records = list(reader.read(paths))
        reader.refuse_errors()   # raises InputRejected if any error was found

    Records of a task with an error-level problem are not yielded (a stage refuses such input
    anyway). `read_tasks` turns each record into what the stage needs where the task was checked.
    Memory holds a few batches of tasks plus 20 bytes per task and per annotation and 16 per
    annotator vote (`_FirstSeen`), and 8 per task (its byte offset): about 14 MB for 100k tasks of
    3 annotations. Raises ConfigError (config does not match the taxonomy) and
    stancekit.exports.ExportReadError (a file that cannot be read as an export, or one that changed
    before a task of it was read again).
    """

    def __init__(self, taxonomy: Taxonomy, config_xml: str | None = None, documents: DocumentStore | None = None,
                 config_where: str = "config", on_problem: Callable[[Problem], None] | None = None,
                 workers: int | None = None, on_bytes: Callable[[int], None] | None = None):
        self.validator = Validator(taxonomy, config_xml, config_where)
        self.taxonomy = taxonomy
        self.documents = documents
        self.summary = Summary()
        self.on_problem = on_problem
        self.on_bytes = on_bytes  # called with the bytes of each export read, as it is read (progress bars)
        self.workers = workers  # None: default_workers() for each file
        self.min_pool_bytes = POOL_MIN_BYTES  # a smaller export is read in this process (no pool to start)
        self.paths: list[str] = []
        self.prediction_paths: list[str] = []
        self.predictions_ids_only = 0  # predictions given as ids only (a plain export), skipped
        self._files: list[str] = []  # every file read, once per read, so that a location packs into 64 bits (_where)
        self._offsets: list[array] = []  # per file read: the byte offset of each task, -1 from the exact reader
        self._stats: list[tuple[int, int] | None] = []  # per file read: (size, mtime_ns) when its read began, None
        # for a file that cannot be read again (a pipe)
        self._read_again: dict[tuple[int, int], list] = {}  # (file number, index) -> [bytes, task parsed or None]
        # of the last few tasks read again
        # The content of the first occurrence: a 32-bit digest of data or annotation for a task the exact
        # reader gave; 0 for a task read as bytes (read again by offset when the key repeats: `_same`).
        self._tasks = _FirstSeen()  # task key -> (digest of data or 0, where first seen)
        self._annotations = _FirstSeen()  # (*task key, annotation id) -> (digest or 0, where)
        self._votes = _FirstSeen(values=False)  # (doc_id, chunk, annotator, ground truth) -> where first seen

    def _report(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.summary.add(problem)
            if self.on_problem is not None:
                self.on_problem(problem)

    def read(self, paths: Iterable[str | Path]) -> Iterator[Record]:
        """Validate each Label Studio export and yield the records of its submitted annotations, in file order.
        Raises ExportReadError when a file cannot be read (problems go to the report; see `refuse_errors`).

        Tasks are checked in batches by `workers` processes (for an export of POOL_MIN_BYTES or more)
        and taken back in task order, so records and problems come out exactly as from one process."""
        for _, records in self._read(paths, True):
            yield from records

    def read_tasks(self, paths: Iterable[str | Path], convert: Callable[[Record, DocumentStore | None], T]
                   ) -> Iterator[list[T]]:
        """Like `read`, one list per task (of its clean annotations, in the export's order), each record
        turned into what the stage needs by `convert(record, documents)` where the task was checked (a
        worker process, with its own connection to the document store), so that the records themselves
        never travel between processes: what `convert` returns must pickle. Raises ExportReadError as `read`."""
        for _, converted in self._read(paths, True, convert):
            yield converted

    def check(self, paths: Iterable[str | Path]) -> Iterator[int]:
        """Validate like `read` without building records (the report only: `stancekit validate`);
        yield each task's index once its problems are reported. Raises ExportReadError as `read`."""
        for index, _ in self._read(paths, False):
            yield index

    def _read(self, paths: Iterable[str | Path], records: bool, convert: Callable | None = None) -> Iterator[tuple[int, list]]:
        """(index, records) of each task of each file: records only when asked for."""
        for path in paths:
            self.paths.append(str(path))
            self._files.append(str(path))  # a file read twice is two files: its tasks repeat
            self._offsets.append(array("q"))
            self._stats.append(_stat(str(path)))
            self.summary.files += 1
            for batch in self._checked(str(path), records, convert):
                self._tasks.prefetch([checked.key for _, checked in batch if checked.key is not None])
                self._annotations.prefetch([a[3] for _, checked in batch for a in checked.annotations if a[3] is not None])
                self._votes.prefetch([a[4][2] for _, checked in batch for a in checked.annotations if a[4] is not None])
                for index, checked in batch:
                    yield index, list(self._task(str(path), index, checked))

    def _checked(self, path: str, records: bool, convert: Callable | None) -> Iterator[list[tuple[int, _Checked]]]:
        """Batches of (index, what `_check` found) for the tasks of one export, in task order."""
        again = self._stats[-1] is not None
        raws = _noting(iter_raw_tasks_at(path), self._offsets[-1], again)
        if self.on_bytes is not None:
            raws = _counting(raws, self.on_bytes)
        if not again:  # a pipe: its tasks are parsed here, so that their digests are taken as they are checked
            raws = ((index, parse_task(path, index, raw)) for index, raw in raws)
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        ships: Literal["problems", "rows", "records"] = "problems" if not records else "records" if convert is None else "rows"
        workers = default_workers(ships) if self.workers is None else self.workers
        if workers <= 1 or size < self.min_pool_bytes:
            for batch in _batches(raws):
                if isinstance(batch, Exception):
                    raise batch
                yield from _finish(_check_all(self.validator, self.documents, path, batch, records, convert))
            return
        pending: deque = deque()
        gc.freeze()  # the forked workers then share this process's objects instead of copying them as the GC visits them
        try:
            with multiprocessing.get_context("fork").Pool(workers, _start_worker, (self.validator, self.documents, convert)) as pool:
                for batch in _batches(raws):
                    if isinstance(batch, Exception):
                        pending.append(batch)
                    else:  # from a file that can be read again, the worker reads the bytes itself
                        shipped = _by_offset(batch, self._offsets[-1], self._stats[-1]) if again else batch
                        pending.append(pool.apply_async(_check_batch, (path, shipped, records)))
                    while len(pending) > 2 * workers + 1 or (pending and isinstance(pending[-1], Exception)):
                        yield from _finish(_done(pending.popleft()))
                while pending:
                    yield from _finish(_done(pending.popleft()))
        finally:
            gc.unfreeze()

    def read_predictions(self, paths: Iterable[str | Path]) -> Iterator[Record]:
        """Validate the `predictions` of task files (`stancekit tasks`) or export snapshots and yield their
        records. Tasks need no id or annotations here; predictions given as ids only are skipped.
        Raises ExportReadError when a file cannot be read."""
        for path in paths:
            self.prediction_paths.append(str(path))
            self.summary.files += 1
            raws = iter_raw_tasks(path)
            for index, raw in (raws if self.on_bytes is None else _counting(raws, self.on_bytes)):
                task = parse_task(path, index, raw)
                self.summary.tasks += 1
                ctx = (str(path), index, _key(task.get("id")))
                data = task.get("data")
                if not isinstance(data, dict):
                    data = {}
                problems = _document_problems(self.validator, self.documents, ctx, data.get("doc_id"), _text_of(task),
                                              data.get("offset", 0))
                predictions = task.get("predictions")
                clean = []
                for k, prediction in enumerate(predictions if isinstance(predictions, list) else ()):
                    if not isinstance(prediction, dict):
                        self.predictions_ids_only += 1
                        continue
                    found = self.validator.check_result(ctx, f"/predictions/{k}/result", prediction.get("result"),
                                                        _text_of(task))
                    problems += found
                    clean.append((k, prediction, not any(p.level == ERROR for p in found)))
                self._report(problems)
                if any(p.level == ERROR for p in problems):
                    continue
                for k, prediction, ok in clean:
                    if ok:
                        yield annotation_record(str(path), index, f"/{index}/predictions/{k}", task, prediction, self.taxonomy)

    def _task(self, path: str, index: int, checked: _Checked) -> Iterator:
        self.summary.tasks += 1
        ctx = (path, index, checked.task_id)
        problems = checked.problems
        if checked.key is not None:
            here = self._where(index)
            digest, where = self._tasks.setdefault(checked.key, checked.data_digest, here)
            if where != here and not self._same(where, digest, here, checked.data_digest):
                problems.append(self.validator._problem(
                    ctx, "CONFLICTING_TASK", "/data", f"task {ctx[2]} of document {checked.doc_id} has other "
                    f"data at {self._place(where)}, expected one task per id"))
        fresh = []
        for i, annotation_id, digest, key, vote, record in checked.annotations:
            if digest == _CANCELLED:
                self.summary.excluded += 1
                continue
            self.summary.annotations += 1
            if self._annotation_identity(ctx, problems, i, annotation_id, digest, key):
                fresh.append((i, annotation_id, vote, record))
        self.summary.excluded += checked.drafts
        if not any(p.level == ERROR for p in problems):
            for i, annotation_id, vote, _ in fresh:
                self._vote(ctx, problems, checked, i, annotation_id, vote)
        self._report(problems)
        if not any(p.level == ERROR for p in problems):
            yield from (record for *_, record in fresh if record is not None)

    def _annotation_identity(self, ctx: tuple, problems: list[Problem], i: int, annotation_id: object,
                             digest: int | None, key: int | None) -> bool:
        """False when this annotation was read before (reported as a duplicate or a conflict). `key` is
        the hash of (task id, doc_id, chunk, annotation id), None when they are not all usable."""
        if key is None or digest is None:
            return True  # no usable identity: a schema violation, reported already
        here = self._where(ctx[1], i)
        first_digest, first = self._annotations.setdefault(key, digest, here)
        if first == here:
            return True
        if self._same(first, first_digest, here, digest):
            problems.append(self.validator._problem(ctx, "DUPLICATE_ANNOTATION", f"/annotations/{i}",
                                                    f"annotation {annotation_id} of task {ctx[2]} is also at {self._place(first)}: "
                                                    f"counted once", annotation_id))
        else:
            problems.append(self.validator._problem(ctx, "CONFLICTING_ANNOTATION", f"/annotations/{i}",
                                                    f"annotation {annotation_id} of task {ctx[2]} differs from the one at "
                                                    f"{self._place(first)}, expected one version per (task id, annotation id)",
                                                    annotation_id))
        return False

    def _vote(self, ctx: tuple, problems: list[Problem], checked: _Checked, i: int, annotation_id: object,
              vote: tuple[str | None, bool, int]) -> None:
        """ANNOTATOR_MISSING and REPEATED_ANNOTATOR of annotation i, by `vote`: (annotator, ground truth,
        hash of (doc_id, chunk, annotator, ground truth))."""
        annotator, ground_truth, key = vote
        pointer = f"/annotations/{i}"
        if annotator is None:
            problems.append(self.validator._problem(ctx, "ANNOTATOR_MISSING", pointer, f"annotation {annotation_id} "
                                                    f"has no completed_by, expected the annotator's user id or object",
                                                    annotation_id))
            return
        here = self._where(ctx[1], i)
        _, first = self._votes.setdefault(key, 0, here)
        if first != here:
            role = "ground-truth annotation" if ground_truth else "annotation"
            problems.append(self.validator._problem(ctx, "REPEATED_ANNOTATOR", pointer,
                                                    f"{annotator} has another {role} of document {checked.doc_id} "
                                                    f"chunk {checked.chunk} at {self._place(first)}, expected one per person",
                                                    annotation_id))

    def _where(self, index: int, annotation: int | None = None) -> int:
        """A location in the file being read packed into 63 bits: file number (15), task index (32),
        annotation index + 1 (16; 0: the task)."""
        return ((len(self._files) - 1) << 48) | (index << 16) | (0 if annotation is None else annotation + 1)

    def _same(self, first: int, first_digest: int, here: int, digest: int) -> bool:
        """Whether the task data or annotations at two packed locations (`_where`) are equal as JSON, given
        the digests stored with them (`_FirstSeen`: 0 for a task read as bytes). Two tasks read as bytes
        whose bytes are equal hold equal data, and equal annotations at the same index (nothing to parse: a
        file given twice, an unchanged task in two snapshots); else (an annotation id can repeat within one
        task, at another index) their content digests (`_content`) are compared. Raises ExportReadError when
        a file changed since its read began."""
        tasks = [(where >> 48, (where >> 16) & 0xFFFFFFFF) for where in (first, here)]  # (file number, index)
        if first & 0xFFFF == here & 0xFFFF and all(self._offsets[file][index] >= 0 for file, index in tasks) and \
                self._again(*tasks[0])[0] == self._again(*tasks[1])[0]:
            return True
        return self._content(first, first_digest) == self._content(here, digest)

    def _content(self, where: int, digest: int) -> int:
        """The content digest (`_digest`) of the task data or annotation at a packed location: `digest`
        (stored with its key) when the exact reader gave the task; else that of the task read again (`_again`)
        and parsed here, as a worker would have. Raises ExportReadError as `_again`."""
        file, index, annotation = where >> 48, (where >> 16) & 0xFFFFFFFF, where & 0xFFFF
        if self._offsets[file][index] < 0:
            return digest
        entry = self._again(file, index)
        if entry[1] is None:
            entry[1] = parse_task(self._files[file], index, entry[0])
        task = entry[1]
        annotations = task.get("annotations")
        if annotation == 0 and isinstance(task.get("data"), dict):
            return _digest(task["data"])
        if annotation and isinstance(annotations, list) and annotation <= len(annotations):
            return _digest(annotations[annotation - 1])
        raise ExportReadError(self._files[file], f"task {index} at byte {self._offsets[file][index]} changed while "
                                                 f"the file was read")

    def _again(self, file: int, index: int) -> list:
        """[bytes, None or the task parsed] of task `index` of file read number `file`, read again at its byte
        offset (`raw_task_at`: the distance to the next task first, when known); the last few are kept. Raises
        ExportReadError when the file's size or modification time changed since its read began, or no task
        is at that offset any more."""
        entry = self._read_again.get((file, index))
        if entry is None:
            path, offsets = self._files[file], self._offsets[file]
            _unchanged(path, self._stats[file], f"task {index} is read again to compare a repeated id")
            following = offsets[index + 1] if index + 1 < len(offsets) and offsets[index + 1] >= 0 else -1
            size = following - offsets[index] if following >= 0 else _AGAIN_BYTES
            entry = [raw_task_at(path, index, offsets[index], size), None]
            if len(self._read_again) >= 4:
                del self._read_again[next(iter(self._read_again))]
            self._read_again[(file, index)] = entry
        return entry

    def _place(self, where: int) -> str:
        """`file#/index` or `file#/index/annotations/i` of a packed location."""
        index, annotation = (where >> 16) & 0xFFFFFFFF, where & 0xFFFF
        return f"{self._files[where >> 48]}#/{index}" + (f"/annotations/{annotation - 1}" if annotation else "")

    def refuse_errors(self) -> None:
        """Raise InputRejected when the pass found any error-level problem."""
        if self.summary.errors:
            first = next(p for code in self.summary.examples for p in self.summary.examples[code] if p.level == ERROR)
            documents = f"--documents {self.documents.path} " if self.documents is not None and self.documents.path else ""
            commands = [f"stancekit validate {documents}{' '.join(self.paths)}"] if self.paths else []
            if self.prediction_paths:
                commands.append(f"stancekit validate --predictions {documents}{' '.join(self.prediction_paths)}")
            raise InputRejected(
                f"{self.summary.errors} validation error(s) in the input, first {first.file}#{first.pointer}: {first.code}: "
                f"{first.message.split('. Fix: ')[0]}; run `{'` and `'.join(commands)}` for every problem")


def _document_problems(validator: Validator, documents: DocumentStore | None, ctx: tuple, doc_id: object,
                       text: str | None, offset: object) -> list[Problem]:
    """UNKNOWN_DOCUMENT and TASK_TEXT_MISMATCH of one task (its text against `documents`, when given)."""
    problems = []
    problem = validator._problem
    if not isinstance(doc_id, str) or not doc_id:
        problems.append(problem(ctx, "UNKNOWN_DOCUMENT", "/data", f"data.doc_id is {_show(doc_id)}, expected "
                                f"the id of a document (tasks made by `stancekit tasks` carry it)"))
    elif documents is not None and text is not None:
        document = documents.text(doc_id)
        offset = offset if type(offset) is int else 0
        if document is None:
            problems.append(problem(ctx, "UNKNOWN_DOCUMENT", "/data/doc_id", f"document {doc_id} is not in "
                                    f"{documents.path}, expected one of its doc_ids"))
        elif document[offset:offset + len(text)] != text:
            piece = document[offset:offset + len(text)]
            at = next((k for k, (x, y) in enumerate(zip(text, piece)) if x != y), min(len(text), len(piece)))
            problems.append(problem(ctx, "TASK_TEXT_MISMATCH", f"/data/{TEXT_NAME}",
                                    f"the task text differs from document {doc_id} at code point {offset + at} "
                                    f"(task {_show(text[at:at + 20])}, document {_show(piece[at:at + 20])}), expected "
                                    f"text == documents.text[{offset}:{offset + len(text)}]"))
    return problems


def _text_of(task: dict) -> str | None:
    data = task.get("data")
    text = data.get(TEXT_NAME) if isinstance(data, dict) else None
    return text if isinstance(text, str) else None


def _canonical(value: object) -> bytes:
    """The value's canonical JSON (sorted keys), so that values equal as JSON give the same bytes."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # an integer past 64 bits, which orjson does not write
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


def _hash(value: tuple) -> int:
    """The identity keys of `_FirstSeen`: tuples equal as JSON get the same key, others (but for a false
    match) not.

    Python's hash of the tuple when it holds only strings, None and integers that are their own hash (the
    workers are forked, so they share its seed); else 63 bits of blake2b over its canonical JSON: Python
    hashes 1, 1.0 and True alike, -1 like -2, and integers 2**61 - 1 apart alike, and cannot hash a list
    or an object (where a malformed export has a chunk). With 64 bits, a false match among a million keys
    has a chance of about 1 in 10^7."""
    for v in value:
        if type(v) is not str and v is not None and (type(v) is not int or hash(v) != v):
            return int.from_bytes(hashlib.blake2b(_canonical(value), digest_size=8).digest(), "big") >> 1
    return hash(value)


def _digest(value: object) -> int:
    """A 32-bit content digest (CRC-32 of the canonical JSON): whether a repeat of a key holds the same
    content. Two different contents under one key look alike with a chance of about 1 in 4 * 10^9."""
    return zlib.crc32(_canonical(value))


# ---------------------------------------------------------------- workers

POOL_MIN_BYTES = 32 << 20  # below this an export is read in the calling process
BATCH_BYTES = 1 << 20  # tasks are checked (in the workers: sent) in batches of about this many bytes
_CANCELLED = -1  # the digest slot of a cancelled annotation
_AGAIN_BYTES = 1 << 16  # read first when a task is read again and the next task's offset is not known yet
# Set in each worker process by _start_worker: the validator, the worker's own connection to the
# document store, and the stage's conversion of records (Reader.read_tasks); or the error that kept
# the worker from opening the store.
_worker: tuple[Validator, DocumentStore | None, Callable | None] | InputError


def default_workers(ships: Literal["problems", "rows", "records"] = "records") -> int:
    """Processes that check tasks: $STANCEKIT_WORKERS; else, on a machine of two cores or more, by what
    the workers ship back (`ships`): for "problems" (`Reader.check`) 2; for "rows" built in the workers
    (`Reader.read_tasks`) 2 when the load average over the last minute is below the number of cores;
    for "records" (`Reader.read`) 2 only when it leaves a core idle; else 1 (checked in the calling
    process).

    A check pays even on a busy machine (issue 15, 10k tasks under a load of 4 to 7 on this project's
    shared 2-core machine: 16-22 s with two workers, 37-52 s in one process). Rows cost no more CPU in
    the workers than in one process (10k-task release, load 1.1: 21.9 CPU s and 13.9 s with two workers,
    21.1 CPU s and 21.4 s in one process), but under a load of 3 two workers were slower (43 s against
    30 s). Records cost about a quarter of checking them to ship back."""
    try:
        return max(1, int(os.environ["STANCEKIT_WORKERS"]))
    except (KeyError, ValueError):
        cores = os.cpu_count() or 1
        if cores < 2:
            return 1
        load = os.getloadavg()[0]
        return 2 if ships == "problems" or (ships == "rows" and load < cores) or cores - load >= 1 else 1


@dataclass
class _Checked:
    """What `_check` found in one task: all the Reader needs to finish it, without the task itself."""

    task_id: object  # the task id usable as a key, or None
    problems: list[Problem]  # of the task on its own (Validator.check_task) and against its document
    doc_id: object
    chunk: object
    key: int | None  # hash of (task id, doc_id, chunk), when the task has a usable id and doc_id
    data_digest: int  # of data, when the task has a key and came as a dict (exact reader); else 0
    annotations: list[tuple]  # (index, id as a key, digest or _CANCELLED, key, vote, record) per annotation object:
    # digest: as data_digest (0 for a task read as bytes), None when the annotation has no key;
    # key: hash of (task id, doc_id, chunk, annotation id) when the digest is not None; vote (annotator,
    # ground truth, hash of (doc_id, chunk, annotator, ground truth)) when the task is clean, else None;
    # record: when asked for and the task is clean, the Record (or what the stage's conversion made of it)
    drafts: int


def _check(validator: Validator, documents: DocumentStore | None, path: str, index: int, raw: bytes | dict,
           records: bool = True, convert: Callable | None = None) -> _Checked:
    """Parse and check one task (against its document, with `documents`), and (when it has no error of its
    own) take the vote of each annotation and, with `records`, build its record (passed through `convert`).
    Content digests (`_digest`) are taken only of a task the exact reader gave (a dict): one read as bytes
    has a byte offset, by which the Reader reads it again should one of its ids repeat."""
    typed = validator.clean.decode(raw) if isinstance(raw, bytes) else None  # None: not certainly clean
    if typed is not None:
        return _check_typed(validator, documents, path, index, typed, records, convert)
    task = parse_task(path, index, raw)
    problems = validator.check_task(path, index, task)
    eager = isinstance(raw, dict)
    task_id = _key(task.get("id"))
    data = task.get("data") if isinstance(task.get("data"), dict) else None
    doc_id = data.get("doc_id") if data is not None else None
    chunk = data.get("chunk", 0) if data is not None else 0
    problems += _document_problems(validator, documents, (path, index, task_id), doc_id, _text_of(task),
                                   (data or {}).get("offset", 0))
    clean = isinstance(doc_id, str) and doc_id and not any(p.level == ERROR for p in problems)
    annotations: list[tuple[int, str | int | None, int | None, int | None, tuple[str | None, bool, int] | None,
                            object]] = []
    given = task.get("annotations")
    for i, annotation in enumerate(given if isinstance(given, list) else []):
        if not isinstance(annotation, dict):
            continue
        if annotation.get("was_cancelled") is True:
            annotations.append((i, None, _CANCELLED, None, None, None))
            continue
        annotation_id = _key(annotation.get("id"))
        identified = task_id is not None and annotation_id is not None and data is not None
        digest = (_digest(annotation) if eager else 0) if identified else None
        key = _hash((task_id, doc_id, chunk, annotation_id)) if identified else None
        vote = record = None
        if clean:
            annotator, ground_truth = annotator_id(annotation.get("completed_by")), annotation.get("ground_truth") is True
            vote = (annotator, ground_truth, _hash((doc_id, chunk, annotator, int(ground_truth))))
            if records:
                record = annotation_record(path, index, f"/{index}/annotations/{i}", task, annotation, validator.taxonomy)
                if convert is not None:
                    record = convert(record, documents)
        annotations.append((i, annotation_id, digest, key, vote, record))
    drafts = task.get("drafts")
    identified = task_id is not None and isinstance(doc_id, str)
    return _Checked(task_id, problems, doc_id, chunk, _hash((task_id, doc_id, chunk)) if identified else None,
                    _digest(data) if identified and eager else 0, annotations, len(drafts) if isinstance(drafts, list) else 0)


def _check_typed(validator: Validator, documents: DocumentStore | None, path: str, index: int,
                 typed: fastpath.Clean, records: bool, convert: Callable | None) -> _Checked:
    """`_check` of a task read as bytes that the fast path found clean (`CleanTasks.decode`), from its typed
    Structs: no dict of the task is built. The same _Checked as `_check` would give (data.chunk defaults
    to 0 in both, a missing doc_id is None); tests/test_fastpath.py compares the two."""
    task, data, _ = typed
    doc_id = None if data.doc_id is UNSET else data.doc_id
    problems = _document_problems(validator, documents, (path, index, task.id), doc_id, data.text, data.offset)
    clean = doc_id and not any(p.level == ERROR for p in problems)
    made = validator.clean.records(typed, path, index) if clean and records else [None] * len(task.annotations)
    annotations = []
    for i, (annotation, record) in enumerate(zip(task.annotations, made)):
        vote = None
        if clean:
            annotator = annotator_id(annotation.completed_by)  # UNSET: nobody, as a missing completed_by
            vote = (annotator, annotation.ground_truth, _hash((doc_id, data.chunk, annotator, int(annotation.ground_truth))))
            if record is not None and convert is not None:
                record = convert(record, documents)
        annotations.append((i, annotation.id, 0, _hash((task.id, doc_id, data.chunk, annotation.id)), vote, record))
    key = _hash((task.id, doc_id, data.chunk)) if doc_id is not None else None
    return _Checked(task.id, problems, doc_id, data.chunk, key, 0, annotations, 0)


def _start_worker(validator: Validator, documents: DocumentStore | None, convert: Callable | None) -> None:
    """The worker pool's initializer. It never raises: a pool whose initializer raises starts new workers
    for ever (the run hangs); the error is kept, and the worker's first batch raises it."""
    global _worker
    try:
        _worker = (validator, None if documents is None else documents.reopen(), convert)
    except InputError as exc:  # DocumentsError: the store's file cannot be opened
        _worker = exc


def _check_all(validator: Validator, documents: DocumentStore | None, path: str, batch: list[tuple[int, bytes | dict]],
               records: bool, convert: Callable | None) -> tuple[list[tuple[int, _Checked]], ExportReadError | None]:
    """`_check` of each task of a batch up to the first that cannot be read: (index, what was found) of
    those before it, and its ExportReadError (None when every task was read)."""
    checked = []
    for index, raw in batch:
        try:
            checked.append((index, _check(validator, documents, path, index, raw, records, convert)))
        except ExportReadError as exc:
            return checked, exc
    return checked, None


def _check_batch(path: str, batch: list[tuple[int, bytes | dict]] | _ByOffset, records: bool
                 ) -> tuple[list[tuple[int, _Checked]], ExportReadError | None]:
    """`_check_all` in a worker process; a batch shipped `_by_offset` is first read from the file. Raises
    ExportReadError (it travels back to the Reader whole) when that file cannot be read or changed since
    its read began, and the error that kept the worker from opening the document store (InputError)."""
    if isinstance(_worker, InputError):
        raise _worker
    validator, documents, convert = _worker
    if isinstance(batch, _ByOffset):
        try:
            with open(path, "rb") as stream:
                stream.seek(batch.start)
                data = stream.read(batch.end - batch.start)
        except OSError as exc:  # e.g. removed since the scan
            raise ExportReadError(path, f"cannot read ({exc.strerror})") from exc
        _unchanged(path, None if len(data) != batch.end - batch.start else batch.stat, f"at byte {batch.start}")
        batch = [(index, data[start:end]) for index, start, end in batch.tasks]
    return _check_all(validator, documents, path, batch, records, convert)


@dataclass
class _ByOffset:
    """A batch of tasks sent to a worker by place instead of by value: bytes [start, end) of the file, and
    (index, start, end) of each task in them. Saves copying each task's bytes through a pipe."""

    start: int
    end: int
    tasks: list[tuple[int, int, int]]
    stat: tuple[int, int] | None  # (size, mtime) of the file when its read began (`_stat`)


def _by_offset(batch: list[tuple[int, bytes | dict]], offsets: array, stat: tuple[int, int] | None
               ) -> list[tuple[int, bytes | dict]] | _ByOffset:
    """The batch as a `_ByOffset`, when each of its tasks was read as bytes at a known offset (else itself)."""
    if any(type(raw) is not bytes or offsets[index] < 0 for index, raw in batch):
        return batch
    start = offsets[batch[0][0]]
    return _ByOffset(start, offsets[batch[-1][0]] + len(batch[-1][1]),
                     [(index, offsets[index] - start, offsets[index] - start + len(raw)) for index, raw in batch], stat)


def _finish(result: tuple[list[tuple[int, _Checked]], ExportReadError | None]) -> Iterator[list[tuple[int, _Checked]]]:
    """The tasks of `_check_all`, then its ExportReadError raised: the problems of the tasks before the one
    that cannot be read are reported first."""
    checked, error = result
    yield checked
    if error is not None:
        raise error


def _batches(raws: Iterator[tuple[int, bytes | dict]]) -> Iterator[list | Exception]:
    """Tasks in batches of about BATCH_BYTES; an ExportReadError of the scan comes last, in its place."""
    batch, size = [], 0
    try:
        for index, raw in raws:
            batch.append((index, raw))
            size += len(raw) if isinstance(raw, bytes) else 1 << 12
            if size >= BATCH_BYTES:
                yield batch
                batch, size = [], 0
    except ExportReadError as exc:
        if batch:
            yield batch
        yield exc
        return
    if batch:
        yield batch


def _done(item) -> tuple:
    if isinstance(item, Exception):
        raise item
    return item.get()


def _noting(tasks: Iterator[tuple[int, int, bytes | dict]], offsets: array, again: bool
            ) -> Iterator[tuple[int, bytes | dict]]:
    """The (index, task) of `iter_raw_tasks_at`, each task's byte offset appended to `offsets` (at its index):
    -1 for a task of the exact reader, or of a file that cannot be read again (`again` False)."""
    for index, offset, raw in tasks:
        offsets.append(offset if again else -1)
        yield index, raw


def _unchanged(path: str, stat: tuple[int, int] | None, where: str) -> None:
    """Raise ExportReadError unless the file still has the `_stat` it had when its read began (`stat`;
    None: known to have changed). `where` says what was being read again."""
    if stat is None or _stat(path) != stat:
        raise ExportReadError(path, f"changed while it was read ({where}): read it again when it is complete")


def _stat(path: str) -> tuple[int, int] | None:
    """(size in bytes, modification time in ns) of a regular file, to tell whether it changed; None for
    anything else (a pipe, which cannot be read again; a missing file)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns) if stat.S_ISREG(found.st_mode) else None


def _counting(raws: Iterator[tuple[int, bytes | dict]], on_bytes: Callable[[int], None]) -> Iterator:
    for index, raw in raws:
        on_bytes(len(raw) + 1 if isinstance(raw, bytes) else 0)
        yield index, raw


class _FirstSeen:
    """key -> (value, where) of the first time each 64-bit key was seen: 20 bytes a key (16 without values).

    The keys of the last MERGE additions wait in a small dict; then they move into sorted numpy
    arrays (binary search), so memory grows by a 64-bit key, a 32-bit value (the Reader's: a content
    digest, or 0 for content read again by offset) and a 64-bit packed location per key, not by a Python
    tuple and its objects. `prefetch` looks up a batch's keys in the arrays with one binary search, so
    that `setdefault` of each stays a dict lookup. numpy is imported at the first merge (a small export never needs it).
    """

    MERGE = 1 << 12

    def __init__(self, values: bool = True) -> None:
        self._has_values = values
        self._keys: np.ndarray | None = None  # sorted; None until the first merge
        self._values: np.ndarray | None = None
        self._where: np.ndarray | None = None
        self._recent: dict[int, tuple[int, int]] = {}
        self._asked: dict[int, int] = {}  # prefetched key -> its position in the arrays, -1 when absent

    def __len__(self) -> int:
        return (0 if self._keys is None else len(self._keys)) + len(self._recent)

    def prefetch(self, keys: list[int]) -> None:
        """Look the keys up in the arrays at once (the answers hold until the next merge)."""
        if not keys or self._keys is None:
            self._asked = dict.fromkeys(keys, -1)
            return
        import numpy as np

        wanted = np.fromiter(keys, np.int64, len(keys))
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        at[self._keys[at] != wanted] = -1
        self._asked = dict(zip(keys, at.tolist()))

    def setdefault(self, key: int, value: int, where: int) -> tuple[int, int]:
        """(value, where) stored for `key`, storing the given ones when the key is new. `value` is
        0 <= value < 2**32 (0 for a map without values)."""
        found = self._recent.get(key)
        if found is not None:
            return found
        i = self._asked.get(key)
        if i is None:  # not prefetched
            i = -1
            if self._keys is not None:
                i = int(self._keys.searchsorted(key))
                i = i if i < len(self._keys) and self._keys[i] == key else -1
        if i >= 0:
            assert self._where is not None
            return (0 if self._values is None else int(self._values[i])), int(self._where[i])
        self._recent[key] = (value, where)
        if len(self._recent) >= self.MERGE:
            self._merge()
        return value, where

    def _merge(self) -> None:
        import numpy as np

        if self._keys is None or self._where is None:
            self._keys, self._where = np.empty(0, np.int64), np.empty(0, np.int64)
            self._values = np.empty(0, np.uint32) if self._has_values else None
        keys = np.fromiter(self._recent, np.int64, len(self._recent))
        order = np.argsort(keys)
        at = np.searchsorted(self._keys, keys[order])
        if self._values is not None:
            values = np.fromiter((v for v, _ in self._recent.values()), np.uint32, len(keys))[order]
            self._values = np.insert(self._values, at, values)
        places = np.fromiter((w for _, w in self._recent.values()), np.int64, len(keys))[order]
        self._where = np.insert(self._where, at, places)
        self._keys = np.insert(self._keys, at, keys[order])
        self._recent, self._asked = {}, {}


def validate_exports(paths: Iterable[str | Path], taxonomy: Taxonomy, config_xml: str | None = None,
                     summary: Summary | None = None, config_where: str = "config",
                     documents: DocumentStore | None = None, predictions: bool = False,
                     on_bytes: Callable[[int], None] | None = None) -> Iterator[Problem]:
    """Yield every problem of the given export files (the Reader's report), streaming.

    With `predictions`, the files are task files (or export snapshots) whose predictions are checked
    (`Reader.read_predictions`).

    `summary`, when given, is filled with the counts; `on_bytes` is called with the bytes of each task read.
    Raises ConfigError and ExportReadError as Reader does.
    """
    found: list[Problem] = []
    reader = Reader(taxonomy, config_xml, documents, config_where, on_problem=found.append, on_bytes=on_bytes)
    if summary is not None:
        reader.summary = summary
    for _ in (reader.read_predictions(paths) if predictions else reader.check(paths)):
        yield from found
        found.clear()
    yield from found


def check(paths: Iterable[str | Path], taxonomy: Taxonomy, config_xml: str | None = None,
          documents: DocumentStore | None = None) -> Summary:
    """Validate the exports and return the summary (counts per code, first records of each)."""
    reader = Reader(taxonomy, config_xml, documents)
    for _ in reader.check(paths):
        pass
    return reader.summary


def format_summary(summary: Summary) -> str:
    """The human report: one row per code with its count, then the first locations of each."""
    lines = [f"{summary.files} file(s), {summary.tasks} task(s), {summary.annotations} annotation(s) validated, "
             f"{summary.excluded} excluded (cancelled or draft)"]
    if not summary.counts:
        return "\n".join(lines + ["no problems found"]) + "\n"
    order = sorted(summary.counts, key=lambda c: (CODES[c].level != ERROR, list(CODES).index(c)))
    width = max(len(c) for c in order)
    lines += ["", f"{'code'.ljust(width)}  level    count", f"{'-' * width}  -------  -----"]
    lines += [f"{code.ljust(width)}  {CODES[code].level.ljust(7)}  {summary.counts[code]:>5}" for code in order]
    for code in order:
        lines += ["", f"{code} ({CODES[code].level}): {CODES[code].meaning}", f"  fix: {CODES[code].fix}"]
        for p in summary.examples[code]:
            ids = ", ".join(f"{k} {v}" for k, v in (("task", p.task_id), ("annotation", p.annotation_id), ("region", p.region_id))
                            if v is not None)
            lines.append(f"  {p.file}#{p.pointer} ({ids}): {p.message.split('. Fix: ')[0]}")
        if summary.counts[code] > len(summary.examples[code]):
            lines.append(f"  ... and {summary.counts[code] - len(summary.examples[code])} more")
    lines += ["", f"{summary.errors} error(s), {summary.warnings} warning(s)"]
    return "\n".join(lines) + "\n"


def codes_table() -> str:
    """The Markdown table of all codes, for README.md."""
    rows = [(f"`{c.name}`", c.level, c.group, table_cell(c.meaning), table_cell(c.fix)) for c in CODES.values()]
    return "\n".join(markdown_table(("code", "level", "check", "meaning", "how to fix"), rows)) + "\n"
