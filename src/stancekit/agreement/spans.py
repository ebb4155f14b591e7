"""Span matching: one-to-one matches of same-label spans (exact or overlapping), and the
per-document counts of a comparison, per scope (all, per label, per category value)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..taxonomy import Taxonomy

MATCH_MODES = ("exact", "overlap")
ALL = "all"


def match_spans(first: list[dict], second: list[dict], mode: str) -> list[tuple[int, int]]:
    """One-to-one matches (index in first, index in second) of spans with the same label.

    exact: same start and end. overlap: the ranges share at least one code point; the pairs
    with the largest overlap are matched first, then those with the closest boundaries, so the
    result is deterministic and does not depend on which side is first.

    Spans are dicts with "start", "end" (code points) and "label"; any mode other than "exact"
    matches by overlap. Returns the pairs sorted; raises KeyError for a span without those keys.
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
    line matches only the spans of that label with that value. Counts are (documents, scopes, 3)
    arrays per match mode: matched, first's spans, second's spans. Raises nothing for spans of
    the taxonomy's labels.
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
                    by_a, by_b = _groups(a, lambda s, name=name: s.get(name)), _groups(b, lambda s, name=name: s.get(name))
                    for value in by_a.keys() | by_b.keys():
                        scope = f"{name}:{value}"
                        if scope in column:
                            va, vb = by_a.get(value, []), by_b.get(value, [])
                            counts[mode][d, column[scope]] = (len(match_spans(va, vb, mode)), len(va), len(vb))
    return SpanCounts(counts, attributes, shared)
