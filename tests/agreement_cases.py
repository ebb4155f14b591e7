"""Constructed exports shared by the agreement and adjudication tests: four short documents, three annotators."""

from __future__ import annotations

from pathlib import Path

import ls_export as lx
from stancekit import taxonomy

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
A, B, C = 1, 2, 3  # Label Studio user ids; the export carries each as {"id", "email", ...}
EMAIL = {i: lx.user(i)["email"] for i in (A, B, C)}

TEXTS = {
    "doc_a": "Putin said Russia supports the ceasefire in principle. But Ukraine must not rearm during the pause.",
    "doc_b": "The Kremlin rejected the truce. Peskov said NATO troops in Ukraine are unacceptable.",
    "doc_c": "Analysts expect Moscow to stall. The Kremlin says it is studying the proposal.",
    "doc_d": "Putin 🇺🇦 said nothing; café owners in Kyiv Ж wait. Russia wants sanctions lifted first.",
}
TASK_IDS = {doc: i for i, doc in enumerate(sorted(TEXTS), start=1)}


def stance_span(doc, rid, phrase, shift=(0, 0), attribution="actor"):
    return lx.span(rid, TEXTS[doc], phrase, "STANCE", shift=shift, polarity="conditional_support",
                   attribution=attribution, modality="asserted")


def condition_span(doc, rid, phrase, category, shift=(0, 0)):
    return lx.span(rid, TEXTS[doc], phrase, "CONDITION", shift=shift, condition_type=category,
                   attribution="actor", modality="asserted")


def export(tmp_path: Path, name: str, plan: dict) -> Path:
    """plan: {user: {doc_id: (doc_stance or None, result items)}} -> one export file."""
    tasks = {}
    for who, docs in plan.items():
        for doc, (stance, items) in docs.items():
            result = (lx.doc_choice(stance) if stance else []) + items
            tasks.setdefault(doc, []).append(lx.annotation(lx.user(who), result, TASK_IDS[doc]))
    return lx.write(tmp_path / name, [lx.task(TASK_IDS[d], d, TEXTS[d], anns) for d, anns in sorted(tasks.items())])


BASE_STANCES = {"doc_a": "conditional_support", "doc_b": "oppose", "doc_c": "undecided", "doc_d": "oppose"}


def base_spans(doc):
    return {
        "doc_a": stance_span("doc_a", "a1", "supports the ceasefire in principle")
        + condition_span("doc_a", "a2", "must not rearm during the pause", "no_rearmament_during_pause"),
        "doc_b": stance_span("doc_b", "b1", "rejected the truce"),
        "doc_c": [],
        "doc_d": condition_span("doc_d", "d1", "sanctions lifted first", "sanctions_relief_assets"),
    }[doc]


def shifted_spans(doc):
    """base_spans, except that the doc_a condition starts 5 code points later ("must" -> "not rearm...")."""
    if doc == "doc_a":
        return (stance_span("doc_a", "a1", "supports the ceasefire in principle")
                + condition_span("doc_a", "a2", "must not rearm during the pause", "no_rearmament_during_pause",
                                 shift=(5, 0)))
    return base_spans(doc)


def plan_of(stances, spans=base_spans):
    return {doc: (stance, spans(doc)) for doc, stance in stances.items()}
