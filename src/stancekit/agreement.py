"""Agreement between annotators in Label Studio exports, and of a prediction layer against gold.

Exports are read task by task and grouped by document (task `data.doc_id`), so the chunked
tasks of one document combine; cancelled annotations are left out. An annotation marked
ground truth is the adjudication of its document; it is also its author's vote only when it
sits next to ordinary annotations (a reviewer starred one annotator's work), not when it is
alone in its task (an adjudication task).

Every number is a `Metric`: a value with the counts behind it, a bootstrap 95% interval over
documents (fixed seed, so a rerun gives the same numbers), or the reason it is undefined.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import krippendorff
import numpy as np

from .documents import DocumentStore
from .gold import read_gold
from .preannotate import ACTOR_SENTENCE_BASELINE, Rules, actor_sentence_spans
from .records import Record
from .validate import Reader
from .taxonomy import TEXT_NAME, Taxonomy

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
MATCH_MODES = ("exact", "overlap")
ALL = "all"


# --- reading exports -------------------------------------------------------------------------

@dataclass
class Annotation:
    """One person's work on one document: the chunks they annotated, combined."""

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
    annotations: dict[str, Annotation] = field(default_factory=dict)  # annotator -> annotation
    adjudication: Annotation | None = None  # the ground-truth annotation, if any

    def text(self, start: int, end: int) -> str | None:
        """The document text in [start, end), from the chunk that holds it (None if none does)."""
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
        return sorted({a for doc in self.documents for a in doc.annotations})


def load_exports(paths: list[str | Path], taxonomy: Taxonomy, keep_text: bool = True,
                 documents: DocumentStore | None = None) -> Collection:
    """Read exports through the one reader (`validate.Reader`) into documents with one combined annotation per person.

    `keep_text=False` drops the task texts (agreement does not need them; memory then grows
    with the annotations only). Raises validate.InputRejected when the exports have validation
    errors (nothing is measured then), ExportReadError when a file cannot be read.
    """
    reader = Reader(taxonomy, documents=documents)
    records = list(reader.read(paths))
    reader.refuse_errors()
    inputs = [{"path": str(path), "sha256": file_sha256(path)} for path in paths]
    return collect(records, inputs, taxonomy, keep_text)


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def collect(records: Iterable[Record], inputs: list[dict], taxonomy: Taxonomy, keep_text: bool = True) -> Collection:
    """Group the reader's annotation records by document and person (see `load_exports`).

    What the records allow but agreement cannot use as it is becomes a one-line problem: a person
    whose chunks disagree on a document-level choice (that choice left out), ground truth from more
    than one person on a document (counted as ordinary annotations).
    """
    problems: list[str] = []
    documents: dict[str, Document] = {}
    found: dict[tuple, list] = defaultdict(list)  # (doc_id, chunk, annotator, ground truth) -> annotations
    for _, task_records in itertools.groupby(records, key=lambda r: (r.file, r.task_index)):
        task_records = list(task_records)
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
    combined: dict[tuple, Annotation] = {}
    given: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))  # values over chunks
    truths: dict[str, list[Annotation]] = defaultdict(list)
    for (doc_id, chunk, annotator, truth), versions in sorted(found.items(), key=lambda kv: kv[0]):
        if (doc_id, annotator, truth) in twice:
            continue
        source, choices, spans = versions[0]
        ann = combined.setdefault((doc_id, annotator, truth), Annotation(annotator, {}, {}, []))
        ann.chunks[chunk] = spans
        ann.sources.append(source)
        for q in taxonomy.document_choices:
            if choices.get(q.name) is not None:
                given[(doc_id, annotator, truth)][q.name].add(choices[q.name])
    for (doc_id, annotator, truth), ann in combined.items():
        for q in taxonomy.document_choices:
            values = given[(doc_id, annotator, truth)][q.name]
            if len(values) > 1:
                problems.append(f"{annotator} gave document {doc_id} different {q.name} values in different "
                                f"chunks ({', '.join(sorted(values))}): left out")
            ann.choices[q.name] = next(iter(values)) if len(values) == 1 else None
        if truth:
            truths[doc_id].append(ann)
        else:
            documents[doc_id].annotations[annotator] = ann
    for doc_id, anns in truths.items():
        doc = documents[doc_id]
        if len(anns) == 1:
            doc.adjudication = anns[0]
            continue
        # Label Studio marks annotations imported with tasks as ground truth unless told otherwise.
        problems.append(f"document {doc_id} has ground-truth annotations by {len(anns)} people "
                        f"({', '.join(a.annotator for a in anns)}): an adjudication has one; "
                        f"counted as ordinary annotations")
        for ann in anns:
            if ann.annotator in doc.annotations and doc.annotations[ann.annotator].sources == ann.sources:
                continue  # already a vote: a pick among ordinary annotations
            if ann.annotator in doc.annotations:
                problems.append(f"{ann.annotator} has an ordinary and a ground-truth annotation of document {doc_id}: "
                                f"the ground-truth one is left out")
            else:
                doc.annotations[ann.annotator] = ann
    docs = sorted(documents.values(), key=lambda d: d.doc_id)
    for doc in docs:
        doc.annotations = dict(sorted(doc.annotations.items()))
    return Collection(docs, inputs, problems)


# --- span matching -----------------------------------------------------------------------------

def match_spans(first: list[dict], second: list[dict], mode: str) -> list[tuple[int, int]]:
    """One-to-one matches (index in first, index in second) of spans with the same label.

    exact: same start and end. overlap: the ranges share at least one code point; the pairs
    with the largest overlap are matched first, then those with the closest boundaries, so the
    result is deterministic and does not depend on which side is first.
    """
    if mode == "exact":
        free: dict[tuple, list[int]] = defaultdict(list)
        for j, s in enumerate(second):
            free[(s["start"], s["end"], s["label"])].append(j)
        pairs = []
        for i, s in enumerate(first):
            slot = free.get((s["start"], s["end"], s["label"]))
            if slot:
                pairs.append((i, slot.pop(0)))
        return pairs
    candidates = []
    for i, a in enumerate(first):
        for j, b in enumerate(second):
            shared = min(a["end"], b["end"]) - max(a["start"], b["start"])
            if a["label"] == b["label"] and shared > 0:
                ends = sorted([(a["start"], a["end"]), (b["start"], b["end"])])
                distance = abs(a["start"] - b["start"]) + abs(a["end"] - b["end"])
                candidates.append((-shared, distance, ends, i, j))
    candidates.sort()  # the same order whichever side is first: matching is symmetric
    used_i, used_j, pairs = set(), set(), []
    for *_, i, j in candidates:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def span_scopes(taxonomy: Taxonomy) -> list[str]:
    """The breakdowns of span scores: all, per label, per value of each label's own category.

    A category is a region attribute asked for one label only (the condition category of
    CONDITION, the polarity of STANCE): "all", "label:X", "<attribute>:<value>".
    """
    scopes = [ALL] + [f"label:{label}" for label in taxonomy.label_names]
    for q in taxonomy.region_attributes:
        if len(q.applies_to) == 1:
            scopes += [f"{q.name}:{value}" for value in q.value_names]
    return scopes


@dataclass
class SpanCounts:
    """Per-document additive counts of one comparison (two annotators, or gold and predictions)."""

    counts: dict[str, np.ndarray]  # mode -> (documents, scopes, 3): matched, first, second
    attributes: dict[str, dict[str, np.ndarray]]  # mode -> attribute -> (documents, K, K) confusion
    documents: int = 0  # documents compared

    def __add__(self, other: SpanCounts) -> SpanCounts:
        return SpanCounts(
            {m: self.counts[m] + other.counts[m] for m in self.counts},
            {m: {a: self.attributes[m][a] + other.attributes[m][a] for a in self.attributes[m]}
             for m in self.attributes},
            self.documents + other.documents)


def _groups(spans: list[dict], key) -> dict:
    out: dict = defaultdict(list)
    for s in spans:
        out[key(s)].append(s)
    return out


def count_spans(pairs_by_doc: list[tuple[list, list] | None], taxonomy: Taxonomy) -> SpanCounts:
    """Compare (first, second) span lists per document; None where a document is not shared.

    Spans match within a label only, so "all" is the sum of the labels; a category value's
    line matches only the spans of that label with that value.
    """
    column = {scope: k for k, scope in enumerate(span_scopes(taxonomy))}
    categories = {label: [q.name for q in taxonomy.attributes_for(label) if len(q.applies_to) == 1]
                  for label in taxonomy.label_names}
    n = len(pairs_by_doc)
    counts = {m: np.zeros((n, len(column), 3), dtype=np.int64) for m in MATCH_MODES}
    attributes = {m: {q.name: np.zeros((n, len(q.values), len(q.values)), dtype=np.int64)
                      for q in taxonomy.region_attributes} for m in MATCH_MODES}
    index = {q.name: {v: k for k, v in enumerate(q.value_names)} for q in taxonomy.region_attributes}
    shared = 0
    for d, pair in enumerate(pairs_by_doc):
        if pair is None:
            continue
        shared += 1
        first, second = (_groups(spans, lambda s: s["label"]) for spans in pair)
        for mode in MATCH_MODES:
            for label in first.keys() | second.keys():
                a, b = first.get(label, []), second.get(label, [])
                matches = match_spans(a, b, mode)
                for scope in (ALL, f"label:{label}"):
                    if scope in column:
                        counts[mode][d, column[scope]] += (len(matches), len(a), len(b))
                for i, j in matches:
                    for q in taxonomy.attributes_for(label):
                        x, y = index[q.name].get(a[i].get(q.name)), index[q.name].get(b[j].get(q.name))
                        if x is not None and y is not None:
                            attributes[mode][q.name][d, x, y] += 1
                for name in categories.get(label, []):
                    by_a, by_b = _groups(a, lambda s: s.get(name)), _groups(b, lambda s: s.get(name))
                    for value in by_a.keys() | by_b.keys():
                        scope = f"{name}:{value}"
                        if scope in column:
                            va, vb = by_a.get(value, []), by_b.get(value, [])
                            counts[mode][d, column[scope]] = (len(match_spans(va, vb, mode)), len(va), len(vb))
    return SpanCounts(counts, attributes, shared)


# --- metrics -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    value: float | None
    n: dict[str, int]
    undefined: str | None = None  # why there is no value
    ci95: tuple[float, float] | None = None
    resamples: int = 0  # bootstrap resamples in which the value was defined

    def to_json(self) -> dict:
        return {"value": _round(self.value), "ci95": [_round(x) for x in self.ci95] if self.ci95 else None,
                "n": self.n, "undefined": self.undefined, "resamples": self.resamples}


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4) + 0.0


class Bootstrap:
    """Resamples of documents with replacement, drawn once from a fixed seed.

    Costs resamples x documents of memory and time; `resamples=0` turns it off.
    """

    def __init__(self, documents: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED):
        rng = np.random.default_rng(seed)
        draws = [np.bincount(rng.integers(0, documents, documents), minlength=documents)
                 for _ in range(resamples if documents else 0)]
        self.weights = np.array(draws, dtype=np.float64).reshape(len(draws), documents)

    def additive(self, stats: dict[str, Stat], per_doc: np.ndarray, n: dict) -> dict[str, dict]:
        """Metrics (as JSON) of counts that add up over documents (per_doc: documents x ...)."""
        point = per_doc.sum(axis=0)
        sums = (self.weights @ per_doc.reshape(len(per_doc), -1)).reshape(len(self.weights), *per_doc.shape[1:])
        out = {}
        for name, stat in stats.items():
            with np.errstate(divide="ignore", invalid="ignore"):
                value, resampled = float(stat.value(point)), stat.value(sums)
            out[name] = (Metric(None, n, stat.why(point)) if np.isnan(value)
                         else _with_ci(value, n, resampled)).to_json()
        return out

    def by_rows(self, stat, per_doc: np.ndarray, n: dict) -> Metric:
        """A metric of the per-document rows themselves: stat(rows) -> (value, reason)."""
        value, reason = stat(per_doc)
        if reason:
            return Metric(None, n, reason)
        resampled = [stat(np.repeat(per_doc, w.astype(np.int64), axis=0))[0] for w in self.weights]
        return _with_ci(value, n, np.array([np.nan if v is None else v for v in resampled], dtype=float))


def _with_ci(value: float, n: dict, resampled: np.ndarray) -> Metric:
    defined = resampled[~np.isnan(resampled)]
    if not len(defined):
        return Metric(value, n)
    low, high = np.percentile(defined, [2.5, 97.5])
    return Metric(value, n, None, (float(low), float(high)), len(defined))


def alpha_nominal(value_counts: np.ndarray) -> tuple[float | None, str | None]:
    """Krippendorff's alpha (nominal) from a documents x categories matrix of value counts."""
    pairable = value_counts[value_counts.sum(axis=1) >= 2]
    if not len(pairable):
        return None, "no document has values from two or more annotators"
    if np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None, "every value is the same category: no variation to measure"
    return float(krippendorff.alpha(value_counts=pairable, level_of_measurement="nominal")), None


@dataclass(frozen=True)
class Stat:
    """A statistic of counts summed over documents, vectorized over leading (resample) axes.

    `value` is NaN where undefined (only inside: a Metric holds None and a reason), `why` the reason.
    """

    value: Callable[[np.ndarray], np.ndarray]
    why: Callable[[np.ndarray], str]


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den != 0)


def _agreement(confusion: np.ndarray) -> np.ndarray:
    return _ratio(np.trace(confusion, axis1=-2, axis2=-1), confusion.sum(axis=(-2, -1)))


def _kappa(confusion: np.ndarray) -> np.ndarray:
    total = confusion.sum(axis=(-2, -1))
    expected = _ratio(np.einsum("...i,...i->...", confusion.sum(axis=-1), confusion.sum(axis=-2)), total ** 2)
    return _ratio(_agreement(confusion) - expected, 1 - expected)


NO_ITEM = "no item with a value from both"
PRECISION = Stat(lambda c: _ratio(c[..., 0], c[..., 2]), lambda c: "the second marked no spans")
RECALL = Stat(lambda c: _ratio(c[..., 0], c[..., 1]), lambda c: "the first marked no spans")
F1 = Stat(lambda c: _ratio(2 * c[..., 0], c[..., 1] + c[..., 2]), lambda c: "no spans")
PAIR_AGREEMENT = Stat(lambda c: _ratio(c[..., 0], c[..., 1]), lambda c: "no pair of values on one document")
AGREEMENT = Stat(_agreement, lambda c: NO_ITEM)
KAPPA = Stat(_kappa, lambda c: "both used one and the same value throughout: chance agreement is 1"
             if c.sum() else NO_ITEM)


def span_metrics(counts: SpanCounts, taxonomy: Taxonomy, boot: Bootstrap, pooled: bool = False,
                 nothing_shared: str = "no document annotated by both") -> dict:
    """P/R/F1 per scope and attribute agreement per match mode.

    Pooled counts (all pairs of annotators added up) get F1 and agreement only, since precision
    and recall depend on which annotator of a pair comes first; their n counts comparisons
    (a document times a pair that annotated it).

    When no document was compared, every number is undefined for the reason `nothing_shared`.
    """
    def metrics(stats, per_doc, n):
        if not counts.documents:
            return {name: Metric(None, n, nothing_shared).to_json() for name in stats}
        return boot.additive(stats, per_doc, n)

    out = {}
    for mode in MATCH_MODES:
        scopes = {}
        for k, scope in enumerate(span_scopes(taxonomy)):
            per_doc = counts.counts[mode][:, k]
            tp, first, second = (int(x) for x in per_doc.sum(axis=0))
            n = {"comparisons" if pooled else "documents": counts.documents,
                 "matched": tp, "first": first, "second": second}
            scopes[scope] = metrics({"f1": F1} if pooled else {"precision": PRECISION, "recall": RECALL, "f1": F1},
                                    per_doc, n)
        attributes = {}
        for q in taxonomy.region_attributes:
            per_doc = counts.attributes[mode][q.name]
            stats = {"agreement": AGREEMENT} if pooled else {"agreement": AGREEMENT, "kappa": KAPPA}
            attributes[q.name] = metrics(stats, per_doc, {"matched_spans": int(per_doc.sum())})
        out[mode] = {"scopes": scopes, "attributes": attributes}
    return out


# --- agreement between annotators -----------------------------------------------------------

def measure(collection: Collection, taxonomy: Taxonomy, resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED) -> dict:
    """The agreement report (JSON-ready) for the documents of `collection`."""
    docs = collection.documents
    annotators = collection.annotators
    problems = list(collection.problems)
    multi = sum(1 for d in docs if len(d.annotations) >= 2)
    if len(annotators) < 2:
        problems.append(f"only {len(annotators)} annotator{'s' if len(annotators) != 1 else ''} "
                        f"({', '.join(annotators) or 'none'}) in the exports: agreement needs two or more")
    elif not multi:
        problems.append("no document was annotated by two or more annotators: there is no overlap to measure")
    boot = Bootstrap(len(docs), resamples, seed)
    pairs = list(itertools.combinations(annotators, 2))
    report = {
        "taxonomy_version": taxonomy.version,
        "inputs": collection.inputs,
        "annotators": annotators,
        "documents": len(docs),
        "documents_with_two_or_more_annotators": multi,
        "bootstrap": {"resamples": resamples, "seed": seed},
        "problems": problems,
        "document_choices": {q.name: _choice_agreement(q, docs, pairs, boot) for q in taxonomy.document_choices},
    }
    per_pair = []
    for a, b in pairs:
        shared = []
        for doc in docs:
            x, y = doc.annotations.get(a), doc.annotations.get(b)
            common = sorted(set(x.chunks) & set(y.chunks)) if x and y else []
            shared.append(([s for c in common for s in x.chunks[c]], [s for c in common for s in y.chunks[c]])
                          if common else None)
        per_pair.append(((a, b), count_spans(shared, taxonomy)))
    pooled = sum((c for _, c in per_pair[1:]), per_pair[0][1]) if per_pair else count_spans([None] * len(docs), taxonomy)
    pooled_metrics = span_metrics(pooled, taxonomy, boot, pooled=True, nothing_shared=(
        "one annotator only" if len(annotators) < 2 else "no document was annotated by two or more annotators"))
    pair_metrics = [(names, span_metrics(c, taxonomy, boot)) for names, c in per_pair]
    report["spans"] = {
        mode: {"all_pairs": pooled_metrics[mode],
               "pairs": [{"annotators": list(names), **m[mode]} for names, m in pair_metrics]}
        for mode in MATCH_MODES
    }
    return report


GOLD = "(gold)"  # the gold coder's name; "(" sorts before any email, so gold is the first of each pair


def against_gold(collection: Collection) -> dict[str, Collection]:
    """For each annotator, a two-coder collection: that annotator and the adjudicated gold (coder "gold",
    `GOLD`, the ground-truth annotation of each document), over the documents that have both.

    `measure` of one of them is that annotator's agreement with gold: Krippendorff's alpha and
    kappa of the document answers, span P/R/F1 per label and category (gold first), and agreement
    on the attributes of matched spans. An annotator who is also the adjudicator is left out.
    """
    out = {}
    for annotator in collection.annotators:
        docs = []
        for doc in collection.documents:
            mine, truth = doc.annotations.get(annotator), doc.adjudication
            if mine is not None and truth is not None and truth.annotator != annotator:
                docs.append(Document(doc.doc_id, doc.tasks, {annotator: mine, GOLD: truth}))
        if docs:
            out[annotator] = Collection(docs, collection.inputs, [])
    return out


def report(collection: Collection, taxonomy: Taxonomy, resamples: int = DEFAULT_RESAMPLES,
           seed: int = DEFAULT_SEED) -> dict:
    """`measure` of the collection, plus `against_gold`: each annotator's agreement with the adjudicated
    gold, {annotator: {document_choices, spans}} (the pair's numbers from `measure`), where there is gold."""
    out = measure(collection, taxonomy, resamples, seed)
    out["against_gold"] = {}
    for annotator, pair in against_gold(collection).items():
        measured = measure(pair, taxonomy, resamples, seed)
        out["against_gold"][annotator] = {
            "documents": measured["documents"],
            "document_choices": measured["document_choices"],
            "spans": {mode: block["pairs"][0] for mode, block in measured["spans"].items()},
        }
    return out


def _choice_agreement(question, docs: list[Document], pairs: list[tuple[str, str]], boot: Bootstrap) -> dict:
    index = {v: k for k, v in enumerate(question.value_names)}
    k = len(index)
    value_counts = np.zeros((len(docs), k), dtype=np.int64)
    for d, doc in enumerate(docs):
        for ann in doc.annotations.values():
            if ann.choices.get(question.name) in index:
                value_counts[d, index[ann.choices[question.name]]] += 1
    pairable = value_counts.sum(axis=1) >= 2
    pair_counts = np.stack([(value_counts * (value_counts - 1) // 2).sum(axis=1),
                            value_counts.sum(axis=1) * (value_counts.sum(axis=1) - 1) // 2], axis=1)
    alpha = boot.by_rows(alpha_nominal, value_counts, {
        "documents": int(pairable.sum()), "values": int(value_counts[pairable].sum())})
    observed = boot.additive({"observed_agreement": PAIR_AGREEMENT}, pair_counts, {
        "documents": int(pairable.sum()), "pairs": int(pair_counts[:, 1].sum())})["observed_agreement"]
    if len({a for doc in docs for a in doc.annotations}) < 2:
        alpha = Metric(None, alpha.n, "one annotator only")
        observed = Metric(None, observed["n"], "one annotator only").to_json()
    out = {"alpha": alpha.to_json(), "observed_agreement": observed, "pairs": []}
    for a, b in pairs:
        confusion = np.zeros((len(docs), k, k), dtype=np.int64)
        for d, doc in enumerate(docs):
            x = doc.annotations[a].choices.get(question.name) if a in doc.annotations else None
            y = doc.annotations[b].choices.get(question.name) if b in doc.annotations else None
            if x in index and y in index:
                confusion[d, index[x], index[y]] = 1
        n = {"documents": int(confusion.sum())}
        out["pairs"].append({"annotators": [a, b],
                             **boot.additive({"kappa": KAPPA, "observed_agreement": AGREEMENT}, confusion, n)})
    return out


# --- the prediction layer against gold -------------------------------------------------------

def evaluate(gold_path: str | Path, prediction_paths: list[str | Path], taxonomy: Taxonomy,
             resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, documents: DocumentStore | None = None,
             baselines: Rules | None = None) -> dict:
    """P/R/F1 of each prediction model (task `predictions`, by model_version) against gold.

    With `baselines` (the pre-annotator's rules, for its actor cues), two baseline models are scored
    beside them on the same tasks: `baseline-majority` answers every document question with its most
    frequent gold value (ties: the taxonomy's order) and marks no span; `baseline-actor-sentence`
    marks one stance span per sentence that mentions the actor (`preannotate.actor_sentence_spans`).

    Gold is the first side and the predictions the second: precision is the share of predicted
    spans found in gold, recall the share of gold spans predicted. Only the parts of documents
    that the prediction file has tasks for are compared. Predictions are read by the one reader
    (`validate.Reader.read_predictions`); raises validate.InputRejected when they have validation
    errors, gold.GoldError for a gold file that is not one, ExportReadError for an unreadable file.
    """
    gold = read_gold(gold_path, taxonomy)
    gold_docs = {d["doc_id"]: d for d in gold["documents"]}
    problems: list[str] = []
    covered: dict[str, set[tuple[int, int]]] = defaultdict(set)
    predicted: dict[str, dict[str, dict]] = defaultdict(dict)  # model -> doc_id -> {"spans", "choices"}
    reader = Reader(taxonomy, documents=documents)
    texts: dict[tuple[str, int], str] = {}  # (doc_id, offset) -> task text
    for record in reader.read_predictions(prediction_paths):
        covered[record.doc_id].add((record.offset, record.offset + len(record.data[TEXT_NAME])))
        texts[(record.doc_id, record.offset)] = record.data[TEXT_NAME]
        entry = predicted[record.model_version or "unnamed"].setdefault(record.doc_id, {"spans": [], "choices": defaultdict(list)})
        entry["spans"] += record.span_dicts()
        for name, value in record.choices.items():
            if value is not None:
                entry["choices"][name].append(value)
    reader.refuse_errors()
    ids_only = reader.predictions_ids_only
    inputs = [{"path": str(path), "sha256": file_sha256(path)} for path in prediction_paths]
    if ids_only:
        problems.append(f"{ids_only} predictions are ids only (a plain Label Studio export): pass the task file, "
                        f"or an export snapshot with full predictions")
    docs = sorted(set(gold_docs) & set(covered))
    if baselines is not None:
        _add_baselines(predicted, texts, [gold_docs[d] for d in docs], taxonomy, baselines)
    missing, extra = len(set(gold_docs) - set(covered)), len(set(covered) - set(gold_docs))
    if missing:
        problems.append(f"{missing} gold documents have no task in the prediction files: not evaluated")
    if extra:
        problems.append(f"{extra} documents of the prediction files are not in gold: not evaluated")
    boot = Bootstrap(len(docs), resamples, seed)
    models = []
    for model in sorted(predicted):
        pairs = []
        for doc_id in docs:
            ranges = covered[doc_id]
            gold_spans = [s for s in gold_docs[doc_id]["spans"]
                          if any(lo <= s["start"] and s["end"] <= hi for lo, hi in ranges)]
            pairs.append((gold_spans, predicted[model].get(doc_id, {"spans": []})["spans"]))
        choice_metrics = {}
        for q in taxonomy.document_choices:
            index = {v: k for k, v in enumerate(q.value_names)}
            confusion = np.zeros((len(docs), len(index), len(index)), dtype=np.int64)
            for d, doc_id in enumerate(docs):
                picked = predicted[model].get(doc_id, {"choices": {}})["choices"].get(q.name, [])
                truth = gold_docs[doc_id].get(q.name)
                if truth in index and len(set(picked)) == 1 and picked[0] in index:
                    confusion[d, index[truth], index[picked[0]]] = 1
            n = {"documents": int(confusion.sum())}
            choice_metrics[q.name] = boot.additive({"accuracy": AGREEMENT, "kappa": KAPPA}, confusion, n)
        models.append({"model_version": model, "documents": len(docs), "document_choices": choice_metrics,
                       "spans": span_metrics(count_spans(pairs, taxonomy), taxonomy, boot)})
    return {"taxonomy_version": taxonomy.version, "gold": {"path": str(gold_path), "sha256": file_sha256(gold_path)},
            "inputs": inputs, "bootstrap": {"resamples": resamples, "seed": seed}, "problems": problems,
            "models": models}


def _add_baselines(predicted: dict, texts: dict[tuple[str, int], str], gold_docs: list[dict], taxonomy: Taxonomy,
                   rules: Rules) -> None:
    """Add the two baseline models of `evaluate` to `predicted` (model -> doc_id -> spans and choices)."""
    for q in taxonomy.document_choices:
        counts = {v: sum(d.get(q.name) == v for d in gold_docs) for v in q.value_names}
        majority = max(q.value_names, key=lambda v: counts[v])  # max keeps the first of equal counts
        for d in gold_docs:
            entry = predicted["baseline-majority"].setdefault(d["doc_id"], {"spans": [], "choices": defaultdict(list)})
            entry["choices"][q.name].append(majority)
    for (doc_id, offset), text in sorted(texts.items()):
        entry = predicted[ACTOR_SENTENCE_BASELINE].setdefault(doc_id, {"spans": [], "choices": defaultdict(list)})
        entry["spans"] += [{**s, "start": s["start"] + offset, "end": s["end"] + offset}
                           for s in actor_sentence_spans(text, rules)]


# --- text rendering -----------------------------------------------------------------------------

def format_counts(n: dict) -> str:
    return "n: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in n.items())


def format_value(m: dict) -> str:
    """'0.812 [0.700, 0.910]' or 'undefined (reason)'."""
    if m["value"] is None:
        return f"undefined ({m['undefined']})"
    ci = f" [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]" if m["ci95"] else ""
    return f"{m['value']:.3f}{ci}"


def format_metric(m: dict) -> str:
    return f"{format_value(m)} ({format_counts(m['n'])})"


_SHORT = {"precision": "P", "recall": "R", "f1": "F1"}


def _span_lines(block: dict, indent: str) -> list[str]:
    """One line per scope with spans (and always "all"), one per attribute."""
    lines = []
    for scope, stats in block["scopes"].items():
        n = next(iter(stats.values()))["n"]
        if scope == ALL or n["first"] or n["second"]:
            values = "  ".join(f"{_SHORT[name]} {format_value(m)}" for name, m in stats.items())
            lines.append(f"{indent}{scope:<45} {values}  ({format_counts(n)})")
    for name, stats in block["attributes"].items():
        values = "  ".join(f"{stat} {format_value(m)}" for stat, m in stats.items())
        lines.append(f"{indent}{name + ' of matched spans':<45} {values}  "
                     f"({format_counts(next(iter(stats.values()))['n'])})")
    return lines


def render_agreement(report: dict) -> str:
    lines = [f"{len(report['annotators'])} annotators, {report['documents']} documents "
             f"({report['documents_with_two_or_more_annotators']} with two or more annotators); "
             f"95% intervals from {report['bootstrap']['resamples']} bootstrap resamples of documents "
             f"(seed {report['bootstrap']['seed']})"]
    if report["problems"]:
        lines.append(f"{len(report['problems'])} problems (listed on stderr)")
    for name, block in report["document_choices"].items():
        lines.append(f"\n{name}")
        lines.append(f"  Krippendorff's alpha (nominal): {format_metric(block['alpha'])}")
        lines.append(f"  observed agreement: {format_metric(block['observed_agreement'])}")
        for pair in block["pairs"]:
            lines.append(f"  {pair['annotators'][0]} vs {pair['annotators'][1]}: "
                         f"Cohen's kappa {format_metric(pair['kappa'])}; "
                         f"observed agreement {format_metric(pair['observed_agreement'])}")
    for mode, block in report["spans"].items():
        lines.append(f"\nspans, {mode} match (precision: of the second annotator's spans against the first's)")
        lines.append("  all pairs pooled")
        lines += _span_lines(block["all_pairs"], "    ")
        for pair in block["pairs"]:
            lines.append(f"  {pair['annotators'][0]} (first) vs {pair['annotators'][1]} (second)")
            lines += _span_lines(pair, "    ")
    for annotator, block in report.get("against_gold", {}).items():
        lines.append(f"\n{annotator} against the adjudicated gold ({block['documents']} documents; gold first)")
        for name, choice in block["document_choices"].items():
            lines.append(f"  {name}: Krippendorff's alpha {format_metric(choice['alpha'])}")
        for mode, pair in block["spans"].items():
            lines.append(f"  spans, {mode} match")
            lines += _span_lines(pair, "    ")
    return "\n".join(lines) + "\n"


def render_evaluation(report: dict) -> str:
    lines = [f"predictions against {report['gold']['path']}; 95% intervals from "
             f"{report['bootstrap']['resamples']} bootstrap resamples of documents (seed {report['bootstrap']['seed']})"]
    if report["problems"]:
        lines.append(f"{len(report['problems'])} problems (listed on stderr)")
    for model in report["models"]:
        lines.append(f"\nmodel {model['model_version']}: {model['documents']} documents")
        for name, stats in model["document_choices"].items():
            lines += [f"  {name} {stat}: {format_metric(m)}" for stat, m in stats.items()]
        for mode, block in model["spans"].items():
            lines.append(f"  spans, {mode} match (first: gold, second: predictions)")
            lines += _span_lines(block, "    ")
    return "\n".join(lines) + "\n"
