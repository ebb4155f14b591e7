"""The prediction layer against gold (`evaluate`): P/R/F1 and accuracy of each prediction model,
and of two baselines, against the adjudicated gold."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .._files import file_sha256
from ..documents import DocumentStore
from ..gold import read_gold
from ..preannotate import ACTOR_SENTENCE_BASELINE, Rules, actor_sentence_spans
from ..taxonomy import TEXT_NAME, Taxonomy
from ..validate import Reader
from .metrics import AGREEMENT, DEFAULT_RESAMPLES, DEFAULT_SEED, KAPPA, Bootstrap, span_metrics
from .spans import count_spans


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
        pairs: list[tuple[list, list] | None] = []
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
