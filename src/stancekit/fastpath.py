"""The fast path of `stancekit.validate`: recognise, in C as far as possible, a task with no problem at all.

Most tasks of a real export are clean. For those, building a Python dict, running the JSON Schema
over it and then walking every result item in Python (`Validator.check_task`) finds nothing, at
about 0.5 ms a task. `CleanTasks.decode` instead decodes the task's bytes into typed msgspec
Structs (types, required fields and bounds checked while parsing, in C) and then runs the
semantic checks over those Structs with early exits. It answers only "certainly clean" (the typed
task) or "not certain" (None); on None the caller runs the full `check_task`, which words every
problem. So the fast path can be conservative (it refuses, for example, an empty `choices` list
or a float offset that the full check would accept or word) but must never accept a task in which
`check_task` finds a problem: tests/test_fastpath.py checks exactly that implication, on
generated tasks and on every export fixture.

The rules are the ones of `Validator.check_task` and `Validator._check_annotation` (their codes are
listed there); the span-text rules (`ls_text`, `cuts`) live here and serve both. A stage that needs the
records of a clean task (the release) gets them from the same Structs (`CleanTasks.records`), through
the one record builder (`records.record`, `records.spans_of`): the task is parsed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, NamedTuple, Union

import msgspec
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from . import graphemes
from .records import Record, record, spans_of
from .taxonomy import LABELS_NAME, TEXT_NAME, Taxonomy


def ls_text(piece: str) -> str:
    """value.text as Label Studio writes it: every CR and every LF becomes a literal backslash-n."""
    return piece.replace("\r", "\\n").replace("\n", "\\n")


def cuts(text: str, i: int) -> bool:
    """True when a span boundary at code point i (0 < i < len(text)) cuts a word or a grapheme cluster."""
    a, b = text[i - 1], text[i]
    if (a.isalnum() or a == "_") and (b.isalnum() or b == "_"):
        return True
    return (a > "\x7f" or b > "\x7f" or a == "\r") and not graphemes.is_boundary(text, i)  # ASCII: boundary but CR LF


# -- the typed shape of a clean task: the export schema's types, bounds and enums, checked by msgspec
#    while it parses. Unknown fields are ignored, as the schema ignores them. The taxonomy's names and
#    values are built into the Structs (`_task_type`); a result item's class is picked by its from_name.

_Count = Annotated[int, Meta(ge=0)]


class Annotation(Struct, gc=False):
    id: int
    result: list  # of the taxonomy's item Structs: `_task_type` derives the Struct that types it
    completed_by: int | dict | UnsetType = UNSET
    was_cancelled: bool = False
    ground_truth: bool = False
    lead_time: Any = None  # the record takes these as records.record does from a dict (a number, strings)
    created_at: Any = None
    updated_at: Any = None


class Data(Struct, gc=False):
    text: str = msgspec.field(name=TEXT_NAME)
    doc_id: str | UnsetType = UNSET
    title: str | None | UnsetType = UNSET
    chunk: _Count = 0
    offset: _Count = 0


class Task(Struct, gc=False):
    id: int
    data: Raw  # the JSON text of the task's data: `decode` reads it into a dict (parse_task's), then `Data`
    annotations: list[Annotation]
    drafts: list[int | dict] | UnsetType = UNSET
    predictions: list[int | dict] | UnsetType = UNSET


def _one_of(values: Iterable[str]) -> object:
    """A list of exactly one of `values` (labels and choices are single-choice controls)."""
    return Annotated[list[Literal[tuple(values)]], Meta(min_length=1, max_length=1)]  # type: ignore[misc]


def _task_type(taxonomy: Taxonomy) -> tuple[type, type, dict[str, type]]:
    """(task Struct, span item Struct, {question name: its choice item Struct}) of the taxonomy's labeling config:
    the result items are a union tagged by from_name (a relation, which has none, is refused)."""
    span_value = msgspec.defstruct("SpanValue", [("start", int), ("end", int), ("labels", _one_of(taxonomy.label_names)),
                                                 ("text", str | UnsetType, UNSET)], gc=False)
    item = [("id", str), ("to_name", Literal[TEXT_NAME]), ("type", Literal["labels"]), ("value", span_value)]
    span = msgspec.defstruct("Span", item, tag_field="from_name", tag=LABELS_NAME, gc=False)
    choices = {}
    for q in taxonomy.questions:
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [("choices", _one_of(q.value_names))]
        if q in taxonomy.region_attributes:
            fields += [("start", int | UnsetType, UNSET), ("end", int | UnsetType, UNSET), ("text", str | UnsetType, UNSET)]
        value = msgspec.defstruct(f"{q.name}Value", fields, gc=False)
        choice = msgspec.defstruct(q.name, [("id", str), ("to_name", Literal[TEXT_NAME]), ("type", Literal["choices"]),
                                            ("value", value)], tag_field="from_name", tag=q.name, gc=False)
        choices[q.name] = choice
    annotation = msgspec.defstruct("Annotation", [("result", list[Union[(span, *choices.values())]])],  # type: ignore[misc]
                                   bases=(Annotation,), gc=False)
    task = msgspec.defstruct("Task", [("annotations", list[annotation])], bases=(Task,), gc=False)  # type: ignore[valid-type]
    return task, span, choices


def _fields(annotation: Annotation) -> Callable[[str], object]:
    """The annotation's fields by name, as `dict.get` gives an exported annotation's (None when missing)."""
    return lambda name: getattr(annotation, name, None)


class Clean(NamedTuple):
    """A task the fast path found clean: its Structs, its data typed, and its data as `parse_task` gives it."""

    task: Task
    data: Data
    as_exported: dict


class CleanTasks:
    """Recognises clean tasks for one taxonomy. Build once, then call `decode` per task."""

    def __init__(self, taxonomy: Taxonomy):
        task, self._span, items = _task_type(taxonomy)  # items: question name -> its choice item Struct
        self._decoder: msgspec.json.Decoder[Task] = msgspec.json.Decoder(task)
        self._questions = [q.name for q in taxonomy.document_choices]
        self._attribute_names = [q.name for q in taxonomy.region_attributes]
        self._names = {kind: name for name, kind in items.items()}
        self._region = frozenset(items[q.name] for q in taxonomy.region_attributes)
        self._attributes = {label: frozenset(items[q.name] for q in taxonomy.attributes_for(label))
                            for label in taxonomy.label_names}
        self._required_attributes = {
            label: frozenset(items[q.name] for q in taxonomy.attributes_for(label) if q.required)
            for label in taxonomy.label_names
        }
        self._required_questions = frozenset(items[q.name] for q in taxonomy.document_choices if q.required)
        self._incompatible = {
            (items[q.name], v.value): frozenset(v.incompatible_labels)
            for q in taxonomy.document_choices for v in q.values if v.incompatible_labels
        }

    def decode(self, raw: bytes) -> Clean | None:
        """The task of `raw` (the JSON bytes of one task) when it is certainly clean (`Validator.check_task`
        would find no problem in it, and `parse_task` would read it), else None (not certain: run the full
        check). Never raises."""
        try:  # msgspec refuses a lone surrogate escape ("\\ud83d"), as parse_task does
            task = self._decoder.decode(raw)
            # data as a dict, as parse_task reads it: a number past a float (1e400, which only the exact
            # reader reads, as inf) in a field no check reads leaves the task to the full check
            as_exported = msgspec.json.decode(task.data)
            data = msgspec.convert(as_exported, Data)
            if not raw.isascii():  # msgspec skips a field it has no place for without checking its UTF-8
                raw.decode("utf-8")
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError):
            return None
        if task.drafts or not task.annotations:
            return None
        text = data.text
        for annotation in task.annotations:
            if annotation.was_cancelled or not self._clean_result(annotation.result, text):
                return None
        return Clean(task, data, as_exported)

    def records(self, clean: Clean, file: str, index: int) -> list[Record]:
        """The record of each annotation of a clean task (`decode`) that is task `index` of `file`: the
        records `records.annotation_record` makes of its dict (tests/test_fastpath.py compares them),
        from the typed result items."""
        task, data, as_exported = clean
        span: Any = self._span
        names = self._names
        out = []
        for i, annotation in enumerate(task.annotations):
            choices: dict[str, str | None] = dict.fromkeys(self._questions)
            found: dict[str, tuple[str, int, int]] = {}
            attributes: dict[str, dict[str, str]] = {}
            for item in annotation.result:
                kind = type(item)
                if kind is span:
                    value = item.value
                    found[item.id] = (value.labels[0], value.start, value.end)
                elif kind in self._region:
                    attributes.setdefault(item.id, {})[names[kind]] = item.value.choices[0]
                else:
                    choices[names[kind]] = item.value.choices[0]
            out.append(record(file, index, f"/{index}/annotations/{i}", task.id, as_exported,
                              _fields(annotation), choices,
                              spans_of(found, attributes, self._attribute_names, data.text, data.offset), []))
        return out

    def _clean_result(self, result: list[Any], text: str) -> bool:
        """Whether one submitted annotation's result list (of typed items) is clean against the task text."""
        span: Any = self._span
        region = self._region  # the Structs of per-region attributes
        spans: dict[str, str] = {}  # region id -> label
        places: set[tuple[str, int, int]] = set()
        answered: list[tuple[str, type]] = []  # (region id, Struct) of each per-region answer
        answers: dict[type, str] = {}  # Struct of a document question -> its answer
        questions = 0  # document questions' items (more than len(answers): one answered twice)
        size = len(text)
        for item in result:
            kind = type(item)
            if kind is not span:
                if kind in region:
                    answered.append((item.id, kind))
                else:
                    answers[kind] = item.value.choices[0]
                    questions += 1
                continue
            value = item.value
            start, end, label = value.start, value.end, value.labels[0]
            if item.id in spans or not 0 <= start < end <= size or (label, start, end) in places:
                return False
            spans[item.id] = label
            places.add((label, start, end))
            piece = text[start:end]
            shown = value.text
            if ((shown is not UNSET and shown != piece and shown != ls_text(piece)) or piece.isspace()
                    or (start > 0 and cuts(text, start)) or (end < size and cuts(text, end))):
                return False
        attributes = self._attributes
        for rid, kind in answered:
            label = spans.get(rid)
            if label is None or kind not in attributes[label]:
                return False  # an attribute answered for no span, or for a span it is not asked for
        given = set(answered)
        if len(given) != len(answered):
            return False  # an attribute answered twice for one span
        if len(given) != sum([len(attributes[label]) for label in spans.values()]):  # some not answered
            required = self._required_attributes
            if not {(rid, kind) for rid, label in spans.items() for kind in required[label]} <= given:
                return False
        if len(answers) != questions or not self._required_questions <= answers.keys():
            return False  # a document question answered twice, or a required one not at all
        for kind, answer in answers.items():
            excluded = self._incompatible.get((kind, answer))
            if excluded and not excluded.isdisjoint(spans.values()):
                return False
        return True
