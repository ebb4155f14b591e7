"""Write a synthetic Label Studio JSON export of any size, in the shape Label Studio 1.23 exports.

Each task has ANNOTATIONS annotations of REGIONS spans; every span carries its per-region
choices as separate result items with the span's id (as Label Studio writes them). Texts mix
ASCII, Cyrillic, emoji, flags and CRLF. With --defects, a few tasks get one known defect each.
Labels and choices come from the taxonomy. Written streaming: memory does not grow with --tasks.

    python scripts/synthetic_export.py OUT.json --tasks 10000 [--defects]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from stancekit import taxonomy as taxonomy_mod

WORDS = ["Kremlin", "ceasefire", "Ukraine", "talks", "Moscow", "conditions", "Путин", "перемирие",
         "NATO", "truce", "🕊️", "🇺🇦", "café", "naïve", "weapons", "root", "causes", "30-day", "said", "the"]


def _text(rng: random.Random, words: int) -> tuple[str, list[tuple[int, int]]]:
    """A text and the (start, end) code point offsets of its words."""
    parts, spans, pos = [], [], 0
    for i in range(words):
        word = rng.choice(WORDS)
        spans.append((pos, pos + len(word)))
        sep = "\r\n" if i % 40 == 39 else ". " if i % 12 == 11 else " "
        parts.append(word + sep)
        pos += len(word) + len(sep)
    return "".join(parts), spans


def _region_id(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for _ in range(10))


def _ls_text(piece: str) -> str:
    """value.text as Label Studio exports it: every CR and LF becomes a literal backslash-n."""
    return piece.replace("\r", "\\n").replace("\n", "\\n")


def task(rng: random.Random, tax: taxonomy_mod.Taxonomy, task_id: int, annotations: int, regions: int) -> dict:
    text, words = _text(rng, 300)
    doc_q = tax.document_choices
    result_sets = []
    for a in range(annotations):
        result = []
        for r, first in enumerate(rng.sample(range(len(words) - 6), regions)):
            start, end = words[first][0], words[first + rng.randrange(1, 6)][1]
            label = tax.label_names[r % len(tax.label_names)]
            rid = _region_id(rng)
            piece = _ls_text(text[start:end])
            result.append({"value": {"start": start, "end": end, "text": piece, "labels": [label]},
                           "id": rid, "from_name": taxonomy_mod.LABELS_NAME, "to_name": taxonomy_mod.TEXT_NAME,
                           "type": "labels", "origin": "manual"})
            for q in tax.attributes_for(label):
                result.append({"value": {"start": start, "end": end, "text": piece,
                                         "choices": [rng.choice(q.value_names)]},
                               "id": rid, "from_name": q.name, "to_name": taxonomy_mod.TEXT_NAME,
                               "type": "choices", "origin": "manual"})
        for q in doc_q:
            # never the first value, so that conditions do not contradict an unconditional answer
            result.append({"value": {"choices": [rng.choice(q.value_names[1:])]}, "id": _region_id(rng),
                           "from_name": q.name, "to_name": taxonomy_mod.TEXT_NAME, "type": "choices",
                           "origin": "manual"})
        ann_id = task_id * annotations + a
        result_sets.append({
            "id": ann_id, "completed_by": 1 + a, "result": result, "was_cancelled": False,
            "ground_truth": False, "created_at": "2026-11-21T10:00:00.000000Z",
            "updated_at": "2026-11-21T10:00:00.000000Z", "draft_created_at": None, "lead_time": 42.5,
            "prediction": {}, "result_count": len(result), "unique_id": f"00000000-0000-0000-0000-{ann_id:012d}",
            "import_id": None, "last_action": None, "bulk_created": False, "task": task_id, "project": 1,
            "updated_by": 1 + a, "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
        })
    return {
        "id": task_id, "annotations": result_sets, "file_upload": None, "drafts": [], "predictions": [],
        "data": {"text": text, "doc_id": f"doc_{task_id:016x}", "title": f"Synthetic article {task_id}",
                 "source": "synthetic", "chunk": 0, "offset": 0},
        "meta": {}, "created_at": "2026-11-21T09:00:00.000000Z", "updated_at": "2026-11-21T10:00:00.000000Z",
        "inner_id": task_id, "total_annotations": annotations, "cancelled_annotations": 0, "total_predictions": 0,
        "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": None, "project": 1,
        "updated_by": 1, "comment_authors": [],
    }


def inject_defect(t: dict, kind: int, tax: taxonomy_mod.Taxonomy) -> None:
    """Give one task one known defect (cycles through a few kinds)."""
    result = t["annotations"][0]["result"]
    if kind == 0:
        result[0]["value"]["end"] = len(t["data"]["text"]) + 5  # OFFSET_OUT_OF_RANGE
    elif kind == 1:
        result[0]["value"]["labels"] = ["NOT_A_LABEL"]  # UNKNOWN_LABEL
    elif kind == 2:
        result[-1]["value"]["choices"] = []  # REQUIRED_CHOICE_MISSING (document stance)
    else:
        result[1]["id"] = "orphan"  # ORPHAN_REGION_CHOICE


def write(path: Path, tasks: int, annotations: int = 3, regions: int = 8, seed: int = 0,
          defects: bool = False, taxonomy_path: Path = taxonomy_mod.DEFAULT_PATH) -> None:
    tax = taxonomy_mod.load(taxonomy_path)
    rng = random.Random(seed)
    every = max(1, tasks // 10)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write("[")
        for i in range(tasks):
            t = task(rng, tax, i + 1, annotations, regions)
            if defects and i % every == every // 2:
                inject_defect(t, (i // every) % 4, tax)
            out.write("\n" if i == 0 else ",\n")
            out.write(json.dumps(t, ensure_ascii=False))
        out.write("\n]\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--annotations", type=int, default=3)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--defects", action="store_true", help="inject a few known defects")
    parser.add_argument("--taxonomy", type=Path, default=taxonomy_mod.DEFAULT_PATH)
    args = parser.parse_args(argv)
    write(args.out, args.tasks, args.annotations, args.regions, args.seed, args.defects, args.taxonomy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
