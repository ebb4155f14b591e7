"""Build Label Studio JSON exports in the exact shape Label Studio 1.23 writes (see LABEL_STUDIO_NOTES.md)."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

_ids = count(1)


def span(region_id: str, text: str, phrase: str, label: str, occurrence: int = 0, shift: tuple[int, int] = (0, 0),
         **attributes: str) -> list[dict]:
    """A span over `phrase` in `text` (its n-th occurrence), plus one per-region choice item per attribute."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(phrase, start + 1)
    start, end = start + shift[0], start + len(phrase) + shift[1]
    value = {"start": start, "end": end, "text": text[start:end]}
    items = [{"value": {**value, "labels": [label]}, "id": region_id, "from_name": "label", "to_name": "text",
              "type": "labels", "origin": "manual"}]
    for name, choice in attributes.items():
        items.append({"value": {**value, "choices": [choice]}, "id": region_id, "from_name": name,
                      "to_name": "text", "type": "choices", "origin": "manual"})
    return items


def doc_choice(value: str, name: str = "doc_stance") -> list[dict]:
    return [{"value": {"choices": [value]}, "id": f"dc{next(_ids)}", "from_name": name, "to_name": "text",
             "type": "choices", "origin": "manual"}]


def annotation(completed_by, result: list, task_id: int, ground_truth: bool = False,
               was_cancelled: bool = False) -> dict:
    """`completed_by` as Label Studio 1.23 writes it: an int user id in the plain export, a dict
    {"id", "email", "first_name", "last_name"} in a snapshot exported with
    serialization_options={"annotations__completed_by": {"only_id": False}}."""
    user = completed_by["id"] if isinstance(completed_by, dict) else completed_by
    return {
        "id": next(_ids), "completed_by": completed_by, "result": result, "was_cancelled": was_cancelled,
        "ground_truth": ground_truth, "created_at": "2026-11-21T10:00:00.000000Z",
        "updated_at": "2026-11-21T10:05:00.000000Z", "draft_created_at": None, "lead_time": 42.5,
        "prediction": {}, "result_count": len(result), "unique_id": f"u-{task_id}-{user}", "import_id": None,
        "last_action": None, "bulk_created": False, "task": task_id, "project": 1, "updated_by": user,
        "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
    }


def task(task_id: int, doc_id: str, text: str, annotations: list[dict], chunk: int = 0, offset: int = 0,
         predictions: list | None = None) -> dict:
    """A task as the plain JSON export writes it (key order included)."""
    return {
        "id": task_id, "annotations": annotations, "drafts": [], "predictions": predictions or [],
        "data": {"text": text, "doc_id": doc_id, "title": f"Title of {doc_id}", "source": f"dataset/raw/{doc_id}.txt",
                 "chunk": chunk, "offset": offset},
        "meta": {}, "created_at": "2026-11-21T09:00:00.000000Z", "updated_at": "2026-11-21T10:05:00.000000Z",
        "allow_skip": True, "inner_id": task_id, "total_annotations": len(annotations), "cancelled_annotations": 0,
        "total_predictions": len(predictions or []), "comment_count": 0, "unresolved_comment_count": 0,
        "last_comment_updated_at": None, "project": 1, "updated_by": 1, "comment_authors": [],
    }


def user(user_id: int) -> dict:
    return {"id": user_id, "email": f"annotator{user_id}@example.org", "first_name": "", "last_name": ""}


def write(path: Path, tasks: list[dict]) -> Path:
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
