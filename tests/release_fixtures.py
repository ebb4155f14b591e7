"""Small release inputs in the contract shapes (CONTRACTS.md): documents.parquet, a Label
Studio JSON export, gold.json and tasks.json with predictions. Values come from the taxonomy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stancekit import agreement, ingest
from stancekit.ingest.decoding import byte_offsets, units_of
from stancekit.taxonomy import LABELS_NAME, TEXT_NAME, Taxonomy

TEXTS = {
    "000.txt": "Putin said Russia supports the ceasefire 🕊️ in principle.\nBut Ukraine must not rearm during the pause.",
    "001.txt": "Кремль: Moscow demands that NATO membership is off the table, analysts say it may reject the truce.",
    "002.txt": "The article does not say what the Kremlin thinks. Cafe\u0301 owners reopened 🇺🇦.",
}


def doc_id(text: str) -> str:
    return "doc_" + hashlib.sha256(text.encode()).hexdigest()[:16]


def identity_offset_map(text: str) -> dict:
    """Ingest's offset map for a raw file that is `text` in UTF-8 (nothing cleaned)."""
    return ingest.offset_map(units_of(text, byte_offsets(text, "utf-8", 0)), "utf-8")


def write_documents(path: Path, texts: dict[str, str] = TEXTS) -> list[dict]:
    rows = []
    for name in sorted(texts):
        text = texts[name]
        rows.append({
            "doc_id": doc_id(text), "title": f"Article {name}", "text": text,
            "source_file": f"dataset/raw/{name}", "source_format": "txt", "url": None, "published": "2025-03-14",
            "raw_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "offset_map": identity_offset_map(text),
        })
    pq.write_table(pa.Table.from_pylist(rows), path)
    return rows


def _region(text: str, region_id: str, phrase: str, label: str, attrs: dict[str, str]) -> list[dict]:
    start = text.index(phrase)
    value = {"start": start, "end": start + len(phrase), "text": phrase}
    items = [{"id": region_id, "from_name": LABELS_NAME, "to_name": TEXT_NAME, "type": "labels",
              "value": {**value, "labels": [label]}, "origin": "manual"}]
    for name, choice in attrs.items():
        items.append({"id": region_id, "from_name": name, "to_name": TEXT_NAME, "type": "choices",
                      "value": {**value, "choices": [choice]}})
    return items


def _attrs(taxonomy: Taxonomy, label: str, pick: int = 0) -> dict[str, str]:
    return {q.name: q.value_names[pick % len(q.value_names)] for q in taxonomy.attributes_for(label)}


def _doc_choice(taxonomy: Taxonomy, pick: int) -> dict:
    q = taxonomy.document_choices[0]
    return {"id": f"doc{pick}", "from_name": q.name, "to_name": TEXT_NAME, "type": "choices",
            "value": {"choices": [q.value_names[pick % len(q.value_names)]]}}


PHRASES = {  # per document: (phrase, label index)
    "000.txt": [("Russia supports the ceasefire 🕊️", 0), ("Ukraine must not rearm during the pause", 1)],
    "001.txt": [("NATO membership is off the table", 1), ("it may reject the truce", 0)],
    "002.txt": [],
}


def phrases(name: str, text: str) -> list[tuple[str, int]]:
    """The phrases labelled in a document: those listed for it, else any listed phrase it contains."""
    if name in PHRASES:
        return PHRASES[name]
    return [p for listed in PHRASES.values() for p in listed if p[0] in text]


def _result(taxonomy: Taxonomy, name: str, text: str, variant: int) -> list[dict]:
    labels = taxonomy.label_names
    result = [_doc_choice(taxonomy, variant)]
    for i, (phrase, label) in enumerate(phrases(name, text)):
        result += _region(text, f"r{variant}{i}", phrase, labels[label], _attrs(taxonomy, labels[label], variant + i))
    return result


def write_export(path: Path, taxonomy: Taxonomy, texts: dict[str, str] = TEXTS, annotators: int = 2) -> None:
    tasks = []
    for n, name in enumerate(sorted(texts)):
        text = texts[name]
        data = {"text": text, "doc_id": doc_id(text), "title": name, "source": name, "chunk": 0, "offset": 0}
        annotations = []
        for a in range(annotators):
            who = {"id": a + 1, "email": f"annotator{a + 1}@example.org"} if a == 0 else a + 1
            annotations.append({
                "id": 100 * (n + 1) + a, "completed_by": who, "result": _result(taxonomy, name, text, a * (n % 2)),
                "was_cancelled": False, "ground_truth": False, "lead_time": 12.5 + a,
                "created_at": "2026-11-20T10:00:00.000000Z", "updated_at": "2026-11-20T10:05:00.000000Z",
            })
        annotations.append({"id": 100 * (n + 1) + 99, "completed_by": 9, "result": [], "was_cancelled": True})
        tasks.append({"id": n + 1, "data": data, "annotations": annotations, "predictions": []})
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")


def write_tasks(path: Path, taxonomy: Taxonomy, texts: dict[str, str] = TEXTS) -> None:
    tasks = []
    for name in sorted(texts):
        text = texts[name]
        data = {"text": text, "doc_id": doc_id(text), "title": name, "source": name, "chunk": 0, "offset": 0}
        tasks.append({"data": data, "predictions": [
            {"model_version": "rules-0.1", "score": 0.5, "result": _result(taxonomy, name, text, 0)[1:3]}]})
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")


def write_gold(path: Path, taxonomy: Taxonomy, texts: dict[str, str] = TEXTS) -> None:
    documents = []
    labels = taxonomy.label_names
    for name in sorted(texts, key=lambda n: doc_id(texts[n])):
        text = texts[name]
        spans = []
        for i, (phrase, label) in enumerate(phrases(name, text)):
            start = text.index(phrase)
            spans.append({"start": start, "end": start + len(phrase), "label": labels[label], "text": phrase,
                          **{q.name: None for q in taxonomy.region_attributes},
                          **_attrs(taxonomy, labels[label], i), "status": "unanimous",
                          "annotators": ["annotator1@example.org", "user:2"]})
        spans.sort(key=lambda s: (s["start"], s["end"], s["label"]))
        q = taxonomy.document_choices[0]
        documents.append({"doc_id": doc_id(text), q.name: q.value_names[0], f"{q.name}_status": "unanimous",
                          "annotators": ["annotator1@example.org", "user:2"],
                          "spans": spans})
    gold = {"taxonomy_version": taxonomy.version, "inputs": [], "documents": documents}
    path.write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")


def write_agreement(path: Path, export: Path, taxonomy: Taxonomy) -> None:
    """The report `stancekit agreement --format json EXPORT` gives."""
    report = agreement.measure(agreement.load_exports([export], taxonomy, keep_text=False), taxonomy)
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")


def write_inputs(root: Path, taxonomy: Taxonomy, texts: dict[str, str] = TEXTS) -> dict[str, Path]:
    """All five inputs under root; returns their paths by role."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {"documents": root / "documents.parquet", "export": root / "export.json",
             "gold": root / "gold.json", "tasks": root / "tasks.json", "agreement": root / "agreement.json"}
    write_documents(paths["documents"], texts)
    write_export(paths["export"], taxonomy, texts)
    write_gold(paths["gold"], taxonomy, texts)
    write_tasks(paths["tasks"], taxonomy, texts)
    write_agreement(paths["agreement"], paths["export"], taxonomy)
    return paths
