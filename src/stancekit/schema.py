"""Render the JSON Schema (draft 2020-12) of a Label Studio JSON export from the taxonomy.

The schema describes the structure of an export and carries the taxonomy's names as enums.
Subschemas whose failure has a specific validator code name it in `x-stancekit-code`;
any other failure is reported as SCHEMA_VIOLATION.
"""

from __future__ import annotations

import json
from typing import Any

from . import paths
from .taxonomy import LABELS_NAME, TEXT_NAME, Question, Taxonomy

DEFAULT_PATH = paths.EXPORT_SCHEMA
CODE_KEY = "x-stancekit-code"

_INT = {"type": "integer"}
_OFFSET = {"type": "integer", CODE_KEY: "OFFSET_NOT_INT"}


def _choice_item(q: Question, per_region: bool) -> dict:
    value: dict[str, Any] = {
        "type": "object",
        "required": ["choices"],
        "properties": {
            "choices": {
                "type": "array",
                "maxItems": 1,
                CODE_KEY: "MULTIPLE_CHOICES",
                "items": {"enum": q.value_names, CODE_KEY: "UNKNOWN_CHOICE"},
            },
        },
    }
    if per_region:
        value["properties"].update(start=_OFFSET, end=_OFFSET, text={"type": "string"})
    return {
        "$comment": f"{'Per-region' if per_region else 'Document-level'} choice {q.name!r}.",
        "properties": {"type": {"const": "choices", CODE_KEY: "TYPE_MISMATCH"}, "value": value},
    }


def build(taxonomy: Taxonomy) -> dict:
    """The export schema as a dict, stable for the same taxonomy."""
    controls = [LABELS_NAME] + [q.name for q in taxonomy.questions]
    defs: dict[str, dict] = {
        "task": {
            "type": "object",
            "required": ["id", "data", "annotations"],
            "properties": {
                "id": _INT,
                "data": {"$ref": "#/$defs/data"},
                "annotations": {"type": "array", "items": {"$ref": "#/$defs/annotation"}},
                "drafts": {"type": "array", "items": {"type": ["integer", "object"]}},
                "predictions": {"type": "array", "items": {"type": ["integer", "object"]}},
            },
        },
        "data": {
            "type": "object",
            "required": [TEXT_NAME],
            "properties": {
                TEXT_NAME: {"type": "string"},
                "doc_id": {"type": "string"},
                "title": {"type": ["string", "null"]},
                "chunk": {"type": "integer", "minimum": 0},
                "offset": {"type": "integer", "minimum": 0},
            },
        },
        "annotation": {
            "type": "object",
            "required": ["id", "result"],
            "properties": {
                "id": _INT,
                "completed_by": {"type": ["integer", "object"]},
                "was_cancelled": {"type": "boolean"},
                "ground_truth": {"type": "boolean"},
                "result": {"type": "array", "items": {"$ref": "#/$defs/result_item"}},
            },
        },
        "result_item": {
            "type": "object",
            "if": {"required": ["type"], "properties": {"type": {"const": "relation"}}},
            "then": {"$ref": "#/$defs/relation"},
            "else": {"$ref": "#/$defs/region"},
        },
        "relation": {
            "required": ["from_id", "to_id"],
            "properties": {
                "from_id": {"type": "string"},
                "to_id": {"type": "string"},
                "direction": {"enum": ["left", "right", "bi"]},
                "labels": {"type": "array", "items": {"type": "string"}},
            },
        },
        "region": {
            "required": ["id", "from_name", "to_name", "type", "value"],
            "properties": {
                "id": {"type": "string"},
                "from_name": {"enum": controls, CODE_KEY: "UNKNOWN_FROM_NAME"},
                "to_name": {"const": TEXT_NAME, CODE_KEY: "UNKNOWN_TO_NAME"},
                "type": {"enum": ["labels", "choices"], CODE_KEY: "TYPE_MISMATCH"},
                "value": {"type": "object"},
            },
            "allOf": [
                {
                    "if": {"required": ["from_name"], "properties": {"from_name": {"const": name}}},
                    "then": {"$ref": f"#/$defs/{name}"},
                }
                for name in controls
            ],
        },
        LABELS_NAME: {
            "$comment": "A span: a highlighted stretch of the task text.",
            "properties": {
                "type": {"const": "labels", CODE_KEY: "TYPE_MISMATCH"},
                "value": {
                    "type": "object",
                    "required": ["start", "end", "labels"],
                    "properties": {
                        "start": _OFFSET,
                        "end": _OFFSET,
                        "text": {"type": "string"},
                        "labels": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 1,
                            "items": {"enum": taxonomy.label_names, CODE_KEY: "UNKNOWN_LABEL"},
                        },
                    },
                },
            },
        },
    }
    for q in taxonomy.document_choices:
        defs[q.name] = _choice_item(q, per_region=False)
    for q in taxonomy.region_attributes:
        defs[q.name] = _choice_item(q, per_region=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (
            f"Generated by `stancekit schema` from {paths.TAXONOMY.as_posix()} ({taxonomy.name} {taxonomy.version}, "
            f"sha256 {taxonomy.sha256[:12]}). Do not edit by hand: edit the taxonomy and run `make schema`."
        ),
        "title": f"Label Studio JSON export for the {taxonomy.name} labeling config",
        "type": "array",
        "items": {"$ref": "#/$defs/task"},
        "$defs": defs,
    }


def task_schema(schema: dict) -> dict:
    """The same schema, rooted at one task instead of the export's array."""
    return {k: v for k, v in schema.items() if k not in ("type", "items")} | {"$ref": "#/$defs/task"}


def render(taxonomy: Taxonomy) -> str:
    """The schema as JSON text, byte-stable for the same taxonomy."""
    return json.dumps(build(taxonomy), indent=2, ensure_ascii=False) + "\n"
