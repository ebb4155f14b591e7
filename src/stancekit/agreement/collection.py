"""Reading exports for agreement: the reader's records grouped by document and annotator.

Exports are read task by task and grouped by document (task `data.doc_id`), so the chunked
tasks of one document combine; cancelled annotations are left out. An annotation marked
ground truth is the adjudication of its document; it is also its author's vote only when it
sits next to ordinary annotations (a reviewer starred one annotator's work), not when it is
alone in its task (an adjudication task).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .._files import file_sha256
from ..documents import DocumentStore
from ..records import Record
from ..taxonomy import TEXT_NAME, Taxonomy
from ..validate import Reader


@dataclass
class Coding:
    """One annotator's coding of one document (a coding in the content-analysis sense): the labels
    they gave it, document answers and spans, combined across the document's chunks.

    Not a Label Studio annotation: a chunked document's coding combines one Label Studio annotation
    per chunk (`sources` names each). Spans are dicts with the record's fields (label, attributes,
    text), `start`/`end` in Unicode code points of the whole document (chunk offset added)."""

    annotator: str
    choices: dict[str, str | None]  # document question -> the chosen value
    chunks: dict[int, list[dict]]  # chunk number -> spans, in document offsets
    sources: list[str]  # "<export>: task <id> annotation <id>", one per chunk

    @property
    def spans(self) -> list[dict]:
        return [s for chunk in sorted(self.chunks) for s in self.chunks[chunk]]


@dataclass
class Document:
    doc_id: str
    tasks: dict[int, dict] = field(default_factory=dict)  # chunk number -> task data
    codings: dict[str, Coding] = field(default_factory=dict)  # annotator -> their coding of this document
    adjudication: Coding | None = None  # the coding of the ground-truth annotation(s), if any

    def text(self, start: int, end: int) -> str | None:
        """The document text in [start, end) (code points of the document), from the chunk that holds
        it; None if no chunk does (or the texts were not kept)."""
        for data in self.tasks.values():
            text, offset = data.get(TEXT_NAME), data.get("offset", 0)
            if isinstance(text, str) and offset <= start and end <= offset + len(text):
                return text[start - offset:end - offset]
        return None


@dataclass
class Collection:
    documents: list[Document]  # sorted by doc_id
    inputs: list[dict]  # {"path", "sha256"} per export
    problems: list[str]

    @property
    def annotators(self) -> list[str]:
        return sorted({a for doc in self.documents for a in doc.codings})


def load_exports(paths: list[str | Path], taxonomy: Taxonomy, keep_text: bool = True,
                 documents: DocumentStore | None = None) -> Collection:
    """Read exports through the one reader (`validate.Reader`) into documents with one `Coding` per
    annotator (spans in code points of the document), sorted by doc_id.

    `keep_text=False` drops the task texts (agreement does not need them; memory then grows
    with the annotations only). Raises validate.InputRejected (a CheckFailed) when the exports
    have validation errors (nothing is measured then), exports.ExportReadError (an InputError)
    when a file cannot be read or parsed.
    """
    reader = Reader(taxonomy, documents=documents)
    records = list(reader.read(paths))
    reader.refuse_errors()
    inputs = [{"path": str(path), "sha256": file_sha256(path)} for path in paths]
    return collect(records, inputs, taxonomy, keep_text)


def collect(records: Iterable[Record], inputs: list[dict], taxonomy: Taxonomy, keep_text: bool = True) -> Collection:
    """Group the reader's annotation records by document and person (see `load_exports`).

    What the records allow but agreement cannot use as it is becomes a one-line problem: a person
    whose chunks disagree on a document-level choice (that choice left out), ground truth from more
    than one person on a document (counted as ordinary annotations). `inputs` ({"path", "sha256"}
    per export) is carried into the collection. Raises nothing.
    """
    problems: list[str] = []
    documents: dict[str, Document] = {}
    found: dict[tuple, list] = defaultdict(list)  # (doc_id, chunk, annotator, ground truth) -> annotations
    for _, grouped in itertools.groupby(records, key=lambda r: (r.file, r.task_index)):
        task_records = list(grouped)
        # A ground-truth annotation next to ordinary ones is a reviewer's pick among the
        # annotators' work: it is its author's vote too. Alone (an adjudication task), it is not.
        picked_among = any(not r.ground_truth for r in task_records)
        for record in task_records:
            data = record.data if keep_text else {k: v for k, v in record.data.items() if k != TEXT_NAME}
            doc = documents.setdefault(record.doc_id, Document(record.doc_id))
            doc.tasks.setdefault(record.chunk, data)
            version = (record.where, record.choices, record.span_dicts())
            found[(record.doc_id, record.chunk, record.annotator, record.ground_truth)].append(version)
            if record.ground_truth and picked_among:
                found[(record.doc_id, record.chunk, record.annotator, False)].append(version)

    twice = set()
    for (doc_id, chunk, annotator, truth), versions in found.items():
        if len(versions) > 1:  # the reader refuses repeats; this is a pick among one's own annotations
            problems.append(f"{annotator} has {len(versions)} annotations of document {doc_id} chunk {chunk} "
                            f"({'; '.join(v[0] for v in versions)}): one person, one vote; "
                            f"their work on this document is left out")
            twice.add((doc_id, annotator, truth))
    combined: dict[tuple, Coding] = {}
    given: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))  # values over chunks
    truths: dict[str, list[Coding]] = defaultdict(list)
    for (doc_id, chunk, annotator, truth), versions in sorted(found.items(), key=lambda kv: kv[0]):
        if (doc_id, annotator, truth) in twice:
            continue
        source, choices, spans = versions[0]
        coding = combined.setdefault((doc_id, annotator, truth), Coding(annotator, {}, {}, []))
        coding.chunks[chunk] = spans
        coding.sources.append(source)
        for q in taxonomy.document_choices:
            if choices.get(q.name) is not None:
                given[(doc_id, annotator, truth)][q.name].add(choices[q.name])
    for (doc_id, annotator, truth), coding in combined.items():
        for q in taxonomy.document_choices:
            values = given[(doc_id, annotator, truth)][q.name]
            if len(values) > 1:
                problems.append(f"{annotator} gave document {doc_id} different {q.name} values in different "
                                f"chunks ({', '.join(sorted(values))}): left out")
            coding.choices[q.name] = next(iter(values)) if len(values) == 1 else None
        if truth:
            truths[doc_id].append(coding)
        else:
            documents[doc_id].codings[annotator] = coding
    for doc_id, codings in truths.items():
        doc = documents[doc_id]
        if len(codings) == 1:
            doc.adjudication = codings[0]
            continue
        # Label Studio marks annotations imported with tasks as ground truth unless told otherwise.
        problems.append(f"document {doc_id} has ground-truth annotations by {len(codings)} people "
                        f"({', '.join(a.annotator for a in codings)}): an adjudication has one; "
                        f"counted as ordinary annotations")
        for coding in codings:
            if coding.annotator in doc.codings and doc.codings[coding.annotator].sources == coding.sources:
                continue  # already a vote: a pick among ordinary annotations
            if coding.annotator in doc.codings:
                problems.append(f"{coding.annotator} has an ordinary and a ground-truth annotation of document {doc_id}: "
                                f"the ground-truth one is left out")
            else:
                doc.codings[coding.annotator] = coding
    docs = sorted(documents.values(), key=lambda d: d.doc_id)
    for doc in docs:
        doc.codings = dict(sorted(doc.codings.items()))
    return Collection(docs, inputs, problems)
