"""Gold by majority vote with ground-truth overrides (`aggregate`), and the disputed documents sent
back to Label Studio for adjudication.

Per document (each annotator's `Coding`: their chunked tasks combined):
- an annotation marked ground truth in Label Studio (the adjudicator's) is the gold for the
  whole document: status `adjudicated`;
- a document with one annotator passes through: status `single`;
- otherwise each document-level choice is taken by majority (`unanimous`, `majority`, or a
  `tie` with no value), and spans of the same label that overlap are merged into one:
  `unanimous` (everyone marked it, same boundaries, same attributes), `merged` (a majority
  marked it, with the same boundaries, and each attribute has a majority), or `disputed`
  (boundaries differ, half or fewer marked it, or an attribute is tied).
A document with a tie or a disputed span is disputed: the adjudication task file carries it
with every annotator's version as a prediction (model_version = the annotator).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from . import records
from ._files import write_text
from .agreement import Coding, Collection, Document
from .taxonomy import TEXT_NAME, Taxonomy


def aggregate(collection: Collection, taxonomy: Taxonomy, review_all: bool = False) -> tuple[dict, list[dict], list[str]]:
    """Aggregate the codings of each document of `collection` into gold: majority vote, overridden by
    a ground-truth coding where there is one. Returns (gold, adjudication tasks, problems): gold is
    the gold file's shape (`stancekit.gold`; span offsets in code points of the document), the tasks
    are Label Studio tasks (one per chunk of each disputed document), problems one line each.

    With review_all, every document without an adjudication goes to the adjudicator, disputed
    or not (for a review pass, e.g. after the guidelines changed). Raises nothing: what cannot be
    aggregated (a span outside every task's text) is a problem.
    """
    problems = list(collection.problems)
    documents, tasks = [], []
    for doc in collection.documents:
        if doc.adjudication is not None:
            documents.append(_adjudicated(doc, doc.adjudication, taxonomy, problems))
        elif doc.codings:
            gold_doc = _merged(doc, taxonomy, problems)
            documents.append(gold_doc)
            if review_all or _disputed(gold_doc, taxonomy):
                tasks += adjudication_tasks(doc, taxonomy)
    gold = {"taxonomy_version": taxonomy.version, "inputs": collection.inputs, "documents": documents}
    return gold, tasks, problems


def _disputed(gold_doc: dict, taxonomy: Taxonomy) -> bool:
    return (any(gold_doc[f"{q.name}_status"] == "tie" for q in taxonomy.document_choices)
            or any(s["status"] == "disputed" for s in gold_doc["spans"]))


def _gold_span(doc: Document, span: dict, taxonomy: Taxonomy, status: str, annotators: list[str],
               problems: list[str]) -> dict:
    text = doc.text(span["start"], span["end"])
    if text is None:
        problems.append(f"document {doc.doc_id}: span [{span['start']}, {span['end']}) is outside every task's text")
    out = {"start": span["start"], "end": span["end"], "label": span["label"], "text": text}
    out.update({q.name: span.get(q.name) for q in taxonomy.region_attributes})
    out.update({"status": status, "annotators": annotators})
    return out


def _document(doc: Document, choices: dict, adjudicator: str | None, spans: list[dict]) -> dict:
    out: dict[str, object] = {"doc_id": doc.doc_id}
    for name, (value, status) in choices.items():
        out[name] = value
        out[f"{name}_status"] = status
    out.update({"annotators": list(doc.codings), "adjudicator": adjudicator,
                "spans": sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))})
    return out


def _adjudicated(doc: Document, truth: Coding, taxonomy: Taxonomy, problems: list[str]) -> dict:
    choices = {q.name: (truth.choices.get(q.name), "adjudicated") for q in taxonomy.document_choices}
    spans = [_gold_span(doc, s, taxonomy, "adjudicated", [truth.annotator], problems) for s in truth.spans]
    return _document(doc, choices, truth.annotator, spans)


def _vote(values: list) -> tuple[object, str]:
    """(value, unanimous|majority|tie) of a vote; None is a missing value, not a vote."""
    counts = Counter(v for v in values if v is not None).most_common()
    if not counts:
        return None, "unanimous"
    if len(counts) == 1 and counts[0][1] == len(values):
        return counts[0][0], "unanimous"
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None, "tie"
    return counts[0][0], "majority"


def _merged(doc: Document, taxonomy: Taxonomy, problems: list[str]) -> dict:
    codings = list(doc.codings.values())
    if len(codings) == 1:
        only = codings[0]
        choices: dict[str, tuple[object, str]] = {q.name: (only.choices.get(q.name), "single")
                                                  for q in taxonomy.document_choices}
        spans = [_gold_span(doc, s, taxonomy, "single", [only.annotator], problems) for s in only.spans]
        return _document(doc, choices, None, spans)
    choices = {}
    for q in taxonomy.document_choices:
        choices[q.name] = _vote([a.choices.get(q.name) for a in codings])
    spans = []
    for chunk in sorted({c for a in codings for c in a.chunks}):
        present = [a for a in codings if chunk in a.chunks]
        spans += _merge_chunk(doc, present, chunk, taxonomy, problems)
    return _document(doc, choices, None, spans)


def _merge_chunk(doc: Document, codings: list[Coding], chunk: int, taxonomy: Taxonomy,
                 problems: list[str]) -> list[dict]:
    """Merge the spans of one chunk: clusters of same-label spans linked by overlap."""
    marked = []
    for coding in codings:
        seen = set()
        for span in coding.chunks[chunk]:
            key = (span["start"], span["end"], span["label"])
            if key not in seen:
                seen.add(key)
                marked.append((coding.annotator, span))
    if len(codings) == 1:
        return [_gold_span(doc, s, taxonomy, "single", [who], problems) for who, s in marked]
    marked.sort(key=lambda m: (m[1]["label"], m[1]["start"], m[1]["end"], m[0]))
    clusters: list[list[tuple[str, dict]]] = []
    reach = None  # (label, end) of the current cluster
    for who, span in marked:
        if reach and span["label"] == reach[0] and span["start"] < reach[1]:
            clusters[-1].append((who, span))
            reach = (reach[0], max(reach[1], span["end"]))
        else:
            clusters.append([(who, span)])
            reach = (span["label"], span["end"])
    out = []
    for cluster in clusters:
        supporters = sorted({who for who, _ in cluster})
        bounds = Counter((s["start"], s["end"]) for _, s in cluster).most_common()
        agreed_bounds = len(bounds) == 1 and len(cluster) == len(supporters)
        if len(bounds) == 1 or bounds[0][1] > bounds[1][1]:
            start, end = bounds[0][0]
        else:
            start, end = min(s["start"] for _, s in cluster), max(s["end"] for _, s in cluster)
        label = cluster[0][1]["label"]
        span = {"start": start, "end": end, "label": label}
        attribute_status = []
        for q in taxonomy.attributes_for(label):
            span[q.name], status = _vote([s.get(q.name) for _, s in cluster])
            attribute_status.append(status)
        everyone = len(supporters) == len(codings)
        if not agreed_bounds or 2 * len(supporters) <= len(codings) or "tie" in attribute_status:
            status = "disputed"
        elif everyone and all(s == "unanimous" for s in attribute_status):
            status = "unanimous"
        else:
            status = "merged"
        out.append(_gold_span(doc, span, taxonomy, status, supporters, problems))
    return out


def prediction_result(coding: Coding, chunk: int, data: dict, taxonomy: Taxonomy) -> list[dict]:
    """An annotator's coding of one chunk as a Label Studio result: document offsets (code points)
    made relative to the chunk's `offset`, span text from the chunk's text. Raises nothing."""
    offset = data.get("offset", 0) if isinstance(data.get("offset"), int) else 0
    return (records.choice_items(coding.choices)
            + records.span_items(taxonomy, data.get(TEXT_NAME, ""), coding.chunks.get(chunk, []), offset))


def adjudication_tasks(doc: Document, taxonomy: Taxonomy) -> list[dict]:
    """One Label Studio task per chunk of a disputed document, every annotator's version as a
    prediction (model_version = the annotator). Raises nothing."""
    tasks = []
    for chunk in sorted(doc.tasks):
        data = doc.tasks[chunk]
        predictions = [{"model_version": coding.annotator, "score": None,
                        "result": prediction_result(coding, chunk, data, taxonomy)}
                       for coding in doc.codings.values() if chunk in coding.chunks]
        tasks.append({"data": data, "predictions": predictions})
    return tasks


def write_json(path: str | Path, value) -> None:
    """Write JSON atomically: a temp file in the same directory, then rename; raises OSError when it cannot."""
    write_text(path, json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def summary(gold: dict, tasks: list[dict], taxonomy: Taxonomy) -> str:
    """A few lines: documents and spans per status, disputed documents. Raises nothing."""
    lines = [f"{len(gold['documents'])} documents"]
    for q in taxonomy.document_choices:
        counts = Counter(d[f"{q.name}_status"] for d in gold["documents"])
        lines.append(f"  {q.name}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    counts = Counter(s["status"] for d in gold["documents"] for s in d["spans"])
    lines.append(f"  spans: {sum(counts.values())} (" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")")
    disputed = sorted({t["data"].get("doc_id") for t in tasks})
    lines.append(f"  disputed documents for adjudication: {len(disputed)} ({len(tasks)} tasks)")
    return "\n".join(lines)
