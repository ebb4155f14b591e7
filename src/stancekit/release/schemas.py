"""The files of a release and their Arrow schemas: the tables, their dictionaries, the Hugging Face view.

Every column is declared once, in `stancekit.columns`; this module turns the declarations into
Arrow schemas, lists the value dictionaries (from the taxonomy and the gold contract), and fixes
the deterministic split of the Hugging Face view.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

from .. import columns
from .. import gold as gold_mod
from ..read import LAYERS
from ..taxonomy import Taxonomy

# Deterministic split of the Hugging Face view: by the first 8 bytes of sha256(doc_id).
SPLITS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
SPLIT_RULE = "sha256(doc_id): first 8 bytes as a big-endian fraction of 2**64; < 0.8 train, < 0.9 validation, else test"


def dictionaries(taxonomy: Taxonomy) -> dict[str, list[str]]:
    """The value list of every dictionary-encoded column, from the taxonomy and the gold contract."""
    out = {"layer": list(LAYERS), "label": taxonomy.label_names}
    for q in taxonomy.questions:
        out[q.name] = q.value_names
    for q in taxonomy.document_choices:
        out[f"{q.name}_status"] = list(gold_mod.DOC_STATUSES)
    out["status"] = list(gold_mod.SPAN_STATUSES)
    return out


def annotations_schema(taxonomy: Taxonomy) -> pa.Schema:
    """annotations.parquet: one row per annotation, prediction or gold document (`stancekit.columns`)."""
    return columns.schema(columns.annotation_columns(taxonomy))


def spans_schema(taxonomy: Taxonomy) -> pa.Schema:
    """spans.parquet: one row per span, offsets in code points into documents.text (`stancekit.columns`)."""
    return columns.schema(columns.span_columns(taxonomy))


def relations_schema() -> pa.Schema:
    """relations.parquet, written only when some annotation or prediction has relations."""
    return columns.schema(columns.relation_columns())


def hf_schema(taxonomy: Taxonomy) -> pa.Schema:
    """The Hugging Face view: one row per document, plain strings (datasets cannot read dictionary columns)."""
    return columns.schema(columns.hf_columns(taxonomy))


def schema_fingerprint(schema: pa.Schema) -> str:
    """sha256 over the column names, types and nullability (not the metadata)."""
    text = "\n".join(f"{f.name}\t{f.type}\t{f.nullable}" for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()


def split_of(doc_id: str) -> str:
    """The Hugging Face split of a document, from its id alone (see SPLIT_RULE)."""
    fraction = int.from_bytes(hashlib.sha256(doc_id.encode()).digest()[:8], "big") / 2**64
    bound = 0.0
    for name, share in SPLITS:
        bound += share
        if fraction < bound:
            return name
    return SPLITS[-1][0]


def hf_data_file(split: str) -> str:
    """The path, inside a release, of a split's file of the Hugging Face view."""
    return f"data/{split}-00000-of-00001.parquet"
