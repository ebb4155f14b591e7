"""Annotation records: what every stage reads from a Label Studio export, and Label Studio result items.

The reader (`stancekit.validate.Reader`) turns each validated annotation or prediction of an
export into one `Record`; agreement, adjudication, evaluation and the release consume records,
never export JSON. The other direction, plain spans and choices to Label Studio result items,
is `choice_items` and `span_items`: the one builder of result items, used by the pre-annotator, the pass
loader and the adjudication tasks.

Offsets are Unicode code points. A record's spans are in document offsets (the task's chunk
offset added) and carry the document text they cover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .taxonomy import LABELS_NAME, TEXT_NAME, Taxonomy

ANNOTATION, PREDICTION = "annotation", "prediction"


@dataclass(slots=True)
class Span:
    """One labelled stretch: [start, end) in document code points, its text, and its attributes.
    (Not frozen: a frozen dataclass takes 1.1 us to build against 0.3, and a release builds one per span.)"""

    region_id: str
    label: str
    start: int
    end: int
    text: str  # the document's text[start:end] (never Label Studio's value.text)
    attributes: dict[str, str | None]  # every per-region question of the taxonomy -> value or None


@dataclass(frozen=True)
class Relation:
    """A Label Studio relation between two spans of the same annotation, by region id."""

    from_id: str
    to_id: str
    direction: str | None  # left, right or bi
    labels: tuple[str, ...]


@dataclass
class Record:
    """One submitted annotation (layer "annotation") or one prediction (layer "prediction") of a task."""

    layer: str
    file: str  # the export or task file it was read from
    task_index: int  # the task's position in that file
    pointer: str  # RFC 6901 pointer to the annotation or prediction in that file
    task_id: int | None  # None only in task files (never imported)
    doc_id: str
    chunk: int
    offset: int  # where the task's text starts in the document, in code points
    data: dict  # the task's data as exported (text, doc_id, chunk, offset, title, ...)
    annotation_id: int | None
    annotator: str | None  # annotations: the one identity (`annotator_id`); predictions: None
    choices: dict[str, str | None]  # every document-level question -> value or None
    spans: list[Span] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    ground_truth: bool | None = None
    lead_time: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    model_version: str | None = None  # predictions only
    score: float | None = None  # predictions only

    @property
    def where(self) -> str:
        return f"{self.file}#{self.pointer}"

    def span_dicts(self) -> list[dict]:
        """The spans as plain dicts: region_id, label, start, end, text and one key per attribute."""
        return [{"region_id": s.region_id, "label": s.label, "start": s.start, "end": s.end, "text": s.text,
                 **s.attributes} for s in self.spans]


def annotator_id(completed_by: object) -> str | None:
    """The annotator's identity: the Label Studio user's email when the export has it, else
    `user:<id>`; None when the export names nobody (the reader reports that as ANNOTATOR_MISSING)."""
    if isinstance(completed_by, dict):
        if isinstance(completed_by.get("email"), str) and completed_by["email"]:
            return completed_by["email"]
        completed_by = completed_by.get("id")
    if isinstance(completed_by, (int, str)) and not isinstance(completed_by, bool) and completed_by != "":
        return f"user:{completed_by}"
    return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_result(result: list, taxonomy: Taxonomy, task_text: str, offset: int
                 ) -> tuple[dict[str, str | None], list[Span], list[Relation]]:
    """(choices, spans, relations) of a result list that the validator passed without errors.

    Spans come out in document offsets (offset added), sorted by (start, end, label, region id),
    each joined with its per-region choices (same region id).
    """
    choices: dict[str, str | None] = {q.name: None for q in taxonomy.document_choices}
    attr_names = [q.name for q in taxonomy.region_attributes]
    found: dict[str, tuple[str, int, int]] = {}
    attributes: dict[str, dict[str, str]] = {}
    relations = []
    for item in result:
        kind, name, value = item.get("type"), item.get("from_name"), item.get("value") or {}
        if kind == "relation":
            relations.append(Relation(item["from_id"], item["to_id"], item.get("direction"),
                                      tuple(item.get("labels") or ())))
        elif kind == "labels" and name == LABELS_NAME:
            found[item["id"]] = (value["labels"][0], value["start"], value["end"])
        elif kind == "choices" and name in choices:
            choices[name] = value["choices"][0]
        elif kind == "choices" and name in attr_names and value.get("choices"):
            attributes.setdefault(item["id"], {})[name] = value["choices"][0]
    relations.sort(key=lambda r: (r.from_id, r.to_id, r.direction or "", r.labels))
    return choices, spans_of(found, attributes, attr_names, task_text, offset), relations


def spans_of(found: dict[str, tuple[str, int, int]], attributes: dict[str, dict[str, str]], attr_names: list[str],
             task_text: str, offset: int) -> list[Span]:
    """The spans of one annotation: `found` maps each region id to its (label, start, end) in task code
    points, `attributes` to its per-region answers (question name -> value); `attr_names` are the
    taxonomy's per-region questions. In document offsets (offset added), sorted by (start, end, label,
    region id), each with task_text[start:end] and a value or None for every per-region question."""
    unanswered: dict[str, str | None] = dict.fromkeys(attr_names)
    spans = [Span(rid, label, start + offset, end + offset, task_text[start:end], _answers(unanswered, attributes.get(rid)))
             for rid, (label, start, end) in found.items()]
    spans.sort(key=lambda s: (s.start, s.end, s.label, s.region_id))
    return spans


def _answers(unanswered: dict[str, str | None], answers: dict[str, str] | None) -> dict[str, str | None]:
    """Every per-region question (in the taxonomy's order: `unanswered`'s keys) -> its answer or None."""
    attributes: dict[str, str | None] = unanswered.copy()
    if answers:
        attributes.update(answers)  # keys of `unanswered` only: the order stays the taxonomy's
    return attributes


def annotation_record(file: str, task_index: int, pointer: str, task: dict, annotation: dict,
                      taxonomy: Taxonomy) -> Record:
    """The record of one validated annotation (or prediction) of a validated task."""
    data = task["data"]
    offset = data.get("offset", 0)
    choices, spans, relations = parse_result(annotation.get("result") or [], taxonomy, data[TEXT_NAME], offset)
    return record(file, task_index, pointer, task.get("id"), data, annotation.get, choices, spans, relations)


def record(file: str, task_index: int, pointer: str, task_id: int | None, data: dict, field: Callable[[str], object],
           choices: dict[str, str | None], spans: list[Span], relations: list[Relation]) -> Record:
    """The record of one validated annotation (or prediction, when `pointer` has /predictions/), from its
    task's id and data (as exported), its parsed result, and `field`, which gives the annotation's own
    fields by name (None when missing): `dict.get` of an exported annotation, or the attributes of the
    fast path's typed one (`stancekit.fastpath.records`)."""
    prediction = "/predictions/" in pointer
    annotation_id = field("id")
    return Record(
        layer=PREDICTION if prediction else ANNOTATION, file=file, task_index=task_index, pointer=pointer,
        task_id=task_id, doc_id=data["doc_id"], chunk=data.get("chunk", 0), offset=data.get("offset", 0), data=data,
        annotation_id=annotation_id if isinstance(annotation_id, int) else None,
        annotator=None if prediction else annotator_id(field("completed_by")),
        choices=choices, spans=spans, relations=relations,
        ground_truth=None if prediction else field("ground_truth") is True,
        lead_time=_number(field("lead_time")), created_at=_string(field("created_at")),
        updated_at=_string(field("updated_at")),
        model_version=_string(field("model_version")) if prediction else None,
        score=_number(field("score")) if prediction else None)


def choice_items(choices: dict[str, str | None], ids: dict[str, str] | None = None, origin: str | None = None) -> list[dict]:
    """Label Studio result items of document-level choices (a None value is left out); item ids from
    `ids` (question -> id), else the question's name."""
    extra = {"origin": origin} if origin else {}
    return [{"id": (ids or {}).get(name, name), "from_name": name, "to_name": TEXT_NAME, "type": "choices",
             "value": {"choices": [value]}, **extra}
            for name, value in choices.items() if value is not None]


def span_items(taxonomy: Taxonomy, text: str, spans: Iterable[dict], offset: int = 0,
               origin: str | None = None) -> list[dict]:
    """Label Studio result items of spans: each span's `labels` item, then its per-region choices.

    `spans` are dicts with region_id, label, start, end (document code points), the taxonomy's
    attribute names (a None or missing value is left out) and optionally `score`. `text` is the
    task text, which starts at `offset` in the document; value.text is always text[start:end].
    """
    extra = {"origin": origin} if origin else {}
    result = []
    for span in spans:
        start, end = span["start"] - offset, span["end"] - offset
        value = {"start": start, "end": end, "text": text[start:end]}
        scored = {"score": span["score"]} if span.get("score") is not None else {}
        result.append({"id": span["region_id"], "from_name": LABELS_NAME, "to_name": TEXT_NAME, "type": "labels",
                       "value": {**value, "labels": [span["label"]]}, **scored, **extra})
        for q in taxonomy.attributes_for(span["label"]):
            if span.get(q.name) is not None:
                result.append({"id": span["region_id"], "from_name": q.name, "to_name": TEXT_NAME, "type": "choices",
                               "value": {**value, "choices": [span[q.name]]}, **extra})
    return result
