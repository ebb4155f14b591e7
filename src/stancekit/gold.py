"""The gold file (`annotation/gold/gold.json`, written by `stancekit adjudicate`): its shape and its one reader.

    {"taxonomy_version": "1.0.0", "inputs": [{"path", "sha256"}],
     "documents": [{"doc_id", "<question>": value, "<question>_status": status, "annotators": [...],
                    "adjudicator": str | null,
                    "spans": [{"start", "end", "label", "text", "<attribute>": value, "status", "annotators"}]}]}

Offsets are code points into the document text. Evaluation and the release read gold only through
`read_gold`, with one strictness: every value must be one the taxonomy allows.
"""

from __future__ import annotations

import json
from pathlib import Path

from .taxonomy import Taxonomy

DEFAULT_PATH = Path("annotation/gold/gold.json")
DOC_STATUSES = ("unanimous", "majority", "tie", "single", "adjudicated")
SPAN_STATUSES = ("unanimous", "merged", "disputed", "single", "adjudicated")


class GoldError(ValueError):
    """The gold file cannot be read, is not of the gold shape, or holds a value the taxonomy does not allow.
    The message names the file and the JSON path of the first bad value."""


def _ints(span: dict) -> bool:
    start, end = span.get("start"), span.get("end")
    return type(start) is int and type(end) is int and 0 <= start < end


def read_gold(path: str | Path, taxonomy: Taxonomy) -> dict:
    """The gold object of `path`, checked against the taxonomy; raises GoldError naming the first problem.

    The file must have been built with this taxonomy version (else: rerun `stancekit adjudicate`).
    """
    try:
        gold = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise GoldError(f"{path}: cannot read ({exc.strerror})") from exc
    except (ValueError, RecursionError) as exc:
        raise GoldError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(gold, dict) or not isinstance(gold.get("documents"), list):
        raise GoldError(f"{path}: not a gold file: expected an object with a 'documents' list")
    if gold.get("taxonomy_version") != taxonomy.version:
        raise GoldError(f"{path}: built with taxonomy {gold.get('taxonomy_version')!r}, but the taxonomy is "
                        f"{taxonomy.version!r}: rerun `stancekit adjudicate`")
    attributes = {q.name: q for q in taxonomy.region_attributes}
    seen = set()
    for i, doc in enumerate(gold["documents"]):
        at = f"{path}: documents[{i}]"
        if not (isinstance(doc, dict) and isinstance(doc.get("doc_id"), str) and isinstance(doc.get("spans"), list)):
            raise GoldError(f"{at}: expected a doc_id and a spans list")
        if doc["doc_id"] in seen:
            raise GoldError(f"{at}: document {doc['doc_id']} appears twice")
        seen.add(doc["doc_id"])
        for q in taxonomy.document_choices:
            if doc.get(q.name) is not None and doc[q.name] not in q.value_names:
                raise GoldError(f"{at}.{q.name}: {doc[q.name]!r} is not one of {', '.join(q.value_names)}")
            if doc.get(f"{q.name}_status") not in DOC_STATUSES:
                raise GoldError(f"{at}.{q.name}_status: {doc.get(f'{q.name}_status')!r} is not one of {', '.join(DOC_STATUSES)}")
        for j, span in enumerate(doc["spans"]):
            where = f"{at}.spans[{j}]"
            if not (isinstance(span, dict) and _ints(span)):
                raise GoldError(f"{where}: expected integer start and end with 0 <= start < end")
            if span.get("label") not in taxonomy.label_names:
                raise GoldError(f"{where}.label: {span.get('label')!r} is not one of {', '.join(taxonomy.label_names)}")
            for name, q in attributes.items():
                value = span.get(name)
                if value is not None and (span["label"] not in q.applies_to or value not in q.value_names):
                    raise GoldError(f"{where}.{name}: {value!r} is not a {name} of a {span['label']} span")
            if span.get("status") not in SPAN_STATUSES:
                raise GoldError(f"{where}.status: {span.get('status')!r} is not one of {', '.join(SPAN_STATUSES)}")
            if not (isinstance(span.get("annotators"), list) and all(isinstance(a, str) for a in span["annotators"])):
                raise GoldError(f"{where}.annotators: expected a list of annotator ids")
    return gold
