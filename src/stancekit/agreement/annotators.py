"""Agreement between annotators: document answers (Krippendorff's alpha, observed agreement, Cohen's
kappa per pair) and spans (P/R/F1 per pair and pooled, attribute agreement on matched spans), and
each annotator against the adjudicated gold."""

from __future__ import annotations

import itertools

import numpy as np

from ..taxonomy import Taxonomy
from .collection import Collection, Document
from .metrics import AGREEMENT, DEFAULT_RESAMPLES, DEFAULT_SEED, KAPPA, PAIR_AGREEMENT, Bootstrap, Metric, alpha_nominal, span_metrics
from .spans import MATCH_MODES, count_spans


def measure(collection: Collection, taxonomy: Taxonomy, resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED) -> dict:
    """The agreement report (JSON-ready) for the documents of `collection`: inputs, annotators,
    problems, per document question Krippendorff's alpha and observed agreement (and Cohen's kappa
    per pair), per match mode span P/R/F1 by scope per pair and pooled. `resamples=0` turns the
    bootstrap off. Raises nothing: what cannot be measured is an undefined Metric with its reason."""
    docs = collection.documents
    annotators = collection.annotators
    problems = list(collection.problems)
    multi = sum(1 for d in docs if len(d.codings) >= 2)
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
        shared: list[tuple[list, list] | None] = []
        for doc in docs:
            x, y = doc.codings.get(a), doc.codings.get(b)
            common = sorted(set(x.chunks) & set(y.chunks)) if x and y else []
            shared.append(([s for c in common for s in x.chunks[c]], [s for c in common for s in y.chunks[c]])
                          if x and y and common else None)
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
            mine, truth = doc.codings.get(annotator), doc.adjudication
            if mine is not None and truth is not None and truth.annotator != annotator:
                docs.append(Document(doc.doc_id, doc.tasks, {annotator: mine, GOLD: truth}))
        if docs:
            out[annotator] = Collection(docs, collection.inputs, [])
    return out


def report(collection: Collection, taxonomy: Taxonomy, resamples: int = DEFAULT_RESAMPLES,
           seed: int = DEFAULT_SEED) -> dict:
    """`measure` of the collection, plus `against_gold`: each annotator's agreement with the adjudicated
    gold, {annotator: {document_choices, spans}} (the pair's numbers from `measure`), where there is gold.
    Raises nothing."""
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
        for coding in doc.codings.values():
            if coding.choices.get(question.name) in index:
                value_counts[d, index[coding.choices[question.name]]] += 1
    pairable = value_counts.sum(axis=1) >= 2
    pair_counts = np.stack([(value_counts * (value_counts - 1) // 2).sum(axis=1),
                            value_counts.sum(axis=1) * (value_counts.sum(axis=1) - 1) // 2], axis=1)
    alpha = boot.by_rows(alpha_nominal, value_counts, {
        "documents": int(pairable.sum()), "values": int(value_counts[pairable].sum())})
    observed = boot.additive({"observed_agreement": PAIR_AGREEMENT}, pair_counts, {
        "documents": int(pairable.sum()), "pairs": int(pair_counts[:, 1].sum())})["observed_agreement"]
    if len({a for doc in docs for a in doc.codings}) < 2:
        alpha = Metric(None, alpha.n, "one annotator only")
        observed = Metric(None, observed["n"], "one annotator only").to_json()
    by_pair: list[dict] = []
    out = {"alpha": alpha.to_json(), "observed_agreement": observed, "pairs": by_pair}
    for a, b in pairs:
        confusion = np.zeros((len(docs), k, k), dtype=np.int64)
        for d, doc in enumerate(docs):
            x = doc.codings[a].choices.get(question.name) if a in doc.codings else None
            y = doc.codings[b].choices.get(question.name) if b in doc.codings else None
            if x in index and y in index:
                confusion[d, index[x], index[y]] = 1
        n = {"documents": int(confusion.sum())}
        by_pair.append({"annotators": [a, b],
                        **boot.additive({"kappa": KAPPA, "observed_agreement": AGREEMENT}, confusion, n)})
    return out
