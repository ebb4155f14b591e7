"""Every column of a release, declared once: its name, Arrow type and meaning.

The Parquet schemas (`stancekit.release`), ingest's documents.parquet schema, the README column
table, the dataset card and croissant.json (`stancekit.croissant`) all read these declarations,
so a column's type and documentation cannot differ between them. Columns whose values come
from the taxonomy (document choices, region attributes, their gold statuses) are declared from
the taxonomy passed in.

Offsets are Unicode code points into `documents.text` unless a column says bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from .gold import DOC_STATUSES
from .taxonomy import Taxonomy

# What `source_kind` may say about a raw article (dataset/raw/sources.csv).
SOURCE_KINDS = ("news", "blog", "content_farm", "unknown")


@dataclass(frozen=True)
class Column:
    """One column: `type` is its Arrow type; `doc` its meaning, as README, the card and Croissant show it;
    `parts` the meaning of each child of a struct column, by child name."""

    name: str
    type: pa.DataType
    doc: str
    parts: tuple[tuple[str, str], ...] = ()


def dictionary_type() -> pa.DataType:
    """The type of a column whose values are a fixed list (written dictionary-encoded)."""
    return pa.dictionary(pa.int32(), pa.string())


_INT_LIST = pa.list_(pa.int64())
OFFSET_MAP_TYPE = pa.struct([("encoding", pa.string()), ("clean", _INT_LIST), ("raw", _INT_LIST),
                             ("clean_step", _INT_LIST), ("raw_step", _INT_LIST), ("count", _INT_LIST)])

# Source metadata of a raw article: from dataset/raw/sources.csv (`stancekit ingest --sources`).
SOURCE_COLUMNS = (
    Column("source_kind", pa.string(),
           f"what kind of site the article comes from: one of {', '.join(SOURCE_KINDS)} (dataset/raw/sources.csv)"),
    Column("source_caveats", pa.string(),
           "known problems of the source, `; `-separated (timeline inconsistency, speculative content, duplicated "
           "body, ...); empty when none is known; null when the article is not in sources.csv"),
    Column("outlet", pa.string(), "the outlet the page names itself (nullable; a content farm's branding is kept as it stands)"),
    Column("author", pa.string(), "the author the page names (nullable)"),
)

DOCUMENT_COLUMNS = (  # the documents.parquet contract (written by `stancekit ingest`), passed through by release
    Column("doc_id", pa.string(), "stable id: `doc_` + sha256(clean text)[:16]"),
    Column("title", pa.string(), "article title"),
    Column("text", pa.string(), "clean text (NFC, `\\n` line endings); every offset in the release points into it"),
    Column("source_file", pa.string(), "the raw file it was cleaned from"),
    Column("source_format", pa.string(), "txt, html or jsonl"),
    Column("source_id", pa.string(), "the record's `id` in a JSONL feed (null for other formats)"),
    Column("url", pa.string(), "where the article was found (nullable)"),
    Column("published", pa.string(),
           "publication date as given by the source, or as sources.csv states it (nullable)"),
    Column("raw_sha256", pa.string(), "sha256 of the raw file"),
    Column("text_sha256", pa.string(), "sha256 of `text` (UTF-8)"),
    Column("offset_map", OFFSET_MAP_TYPE,
           "maps clean offsets back to raw-file bytes (`stancekit.ingest.to_raw_offsets`)",
           parts=(("encoding", "the encoding the raw file was decoded with"),
                  ("clean", "per run: its first code point in `text`"),
                  ("raw", "per run: its first byte in the raw file"),
                  ("clean_step", "per run: code points per unit"),
                  ("raw_step", "per run: raw bytes per unit"),
                  ("count", "per run: units in the run (runs split where cleaning dropped raw bytes)"))),
    *SOURCE_COLUMNS,
)
# Columns of documents.parquet that the Hugging Face view repeats in each row.
HF_DOCUMENT_COLUMNS = ("doc_id", "title", "url", "published", "text", "source_kind", "source_caveats", "outlet", "author")


def _choice_doc(values: list[str]) -> str:
    return f"one of: {', '.join(values)}"


def annotation_columns(taxonomy: Taxonomy) -> list[Column]:
    """annotations.parquet: one row per annotation (annotation layer), per document (gold), per prediction."""
    cols = [
        Column("layer", dictionary_type(),
               "annotation (one row per submitted, not cancelled annotation), gold (one per document) or prediction"),
        Column("doc_id", pa.string(), "the document (documents.doc_id)"),
        Column("task_id", pa.int64(), "Label Studio task id (null for gold)"),
        Column("chunk", pa.int64(), "chunk number of the task (0: the whole document)"),
        Column("annotation_id", pa.int64(), "Label Studio annotation id, or prediction id (null for gold)"),
        Column("annotator", pa.string(), "Label Studio user's email, else `user:<id>` (annotation layer)"),
        Column("model_version", pa.string(), "the pre-annotator's model version (prediction layer)"),
        Column("score", pa.float64(), "the prediction's score (prediction layer)"),
    ]
    for q in taxonomy.document_choices:
        cols += [Column(q.name, dictionary_type(), _choice_doc(q.value_names)),
                 Column(f"{q.name}_status", dictionary_type(), f"gold: {', '.join(DOC_STATUSES)}")]
    cols += [
        Column("annotators", pa.list_(pa.string()), "who labelled the document (gold layer)"),
        Column("ground_truth", pa.bool_(), "Label Studio's ground-truth flag"),
        Column("lead_time", pa.float64(), "seconds spent, as exported"),
        Column("created_at", pa.string(), "as exported (string)"),
        Column("updated_at", pa.string(), "as exported (string)"),
        Column("source", pa.string(), "the export or task file the row comes from"),
    ]
    return cols


def span_columns(taxonomy: Taxonomy) -> list[Column]:
    """spans.parquet: one row per span of every layer."""
    cols = [
        Column("layer", dictionary_type(), "annotation, gold or prediction"),
        Column("doc_id", pa.string(), "the document (documents.doc_id)"),
        Column("annotation_id", pa.int64(), "Label Studio annotation id, or prediction id (null for gold)"),
        Column("region_id", pa.string(), "Label Studio region id (null for gold)"),
        Column("annotator", pa.string(), "who drew it (annotation layer)"),
        Column("model_version", pa.string(), "the pre-annotator's model version (prediction layer)"),
        Column("label", dictionary_type(), "span label (taxonomy span_labels)"),
        Column("start", pa.int64(), "code point offset into documents.text"),
        Column("end", pa.int64(), "code point offset, exclusive"),
        Column("raw_start", pa.int64(),
               "byte offset of the span in the raw file (documents.source_file), from `offset_map` "
               "(`stancekit.ingest.to_raw_offsets`); null when documents.parquet has no offset_map"),
        Column("raw_end", pa.int64(),
               "byte offset, exclusive; raw bytes [raw_start, raw_end) normalised as ingest does give `text` "
               "when cleaning dropped nothing inside the span"),
        Column("text", pa.string(), "documents.text[start:end] (never Label Studio's value.text)"),
    ]
    cols += [Column(q.name, dictionary_type(), _choice_doc(q.value_names)) for q in taxonomy.region_attributes]
    cols += [Column("status", dictionary_type(), "gold status of the span"),
             Column("annotators", pa.list_(pa.string()), "annotators behind a gold span")]
    return cols


def relation_columns() -> list[Column]:
    """relations.parquet (only in a release where some annotation or prediction has relations)."""
    return [
        Column("layer", dictionary_type(),
               "annotation or prediction: relations are released as drawn in Label Studio (gold has none)"),
        Column("doc_id", pa.string(), "the document (documents.doc_id)"),
        Column("task_id", pa.int64(), "Label Studio task id"),
        Column("annotation_id", pa.int64(), "Label Studio annotation id, or prediction id"),
        Column("annotator", pa.string(), "who drew it (annotation layer)"),
        Column("from_id", pa.string(), "region id of the source span (spans.region_id of the same doc_id and annotation_id)"),
        Column("to_id", pa.string(), "region id of the target span"),
        Column("direction", pa.string(), "left, right or bi, as in Label Studio (null when not given)"),
        Column("labels", pa.list_(pa.string()), "relation labels, as in Label Studio (often empty)"),
    ]


def hf_columns(taxonomy: Taxonomy) -> list[Column]:
    """The Hugging Face view data/<split>: one row per document, plain strings (datasets cannot read dictionaries)."""
    docs = {c.name: c for c in DOCUMENT_COLUMNS}
    span = pa.struct(
        [("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string())]
        + [(q.name, pa.string()) for q in taxonomy.region_attributes]
        + [("status", pa.string())]
    )
    cols = [docs[name] for name in HF_DOCUMENT_COLUMNS]
    for q in taxonomy.document_choices:
        cols += [Column(q.name, pa.string(), f"gold answer, {_choice_doc(q.value_names)}"),
                 Column(f"{q.name}_status", pa.string(), f"gold: {', '.join(DOC_STATUSES)}")]
    cols.append(Column("spans", pa.list_(span), "the gold spans: list of {start, end, label, text, attributes, status}"))
    return cols


TABLE_DOCS = {
    "documents": "one row per document: its clean text, provenance and what is known of its source",
    "annotations": "one row per submitted annotation (layer annotation), per document (gold) and per prediction "
                   "(prediction), with the document-level answers",
    "spans": "one row per span of every layer, with its code point and raw byte offsets and its attributes",
    "relations": "one row per relation drawn between two spans of one annotation or prediction",
}


def tables(taxonomy: Taxonomy) -> dict[str, list[Column]]:
    """The declared columns of each top-level Parquet table of a release, by table name."""
    return {"documents": list(DOCUMENT_COLUMNS), "annotations": annotation_columns(taxonomy),
            "spans": span_columns(taxonomy), "relations": relation_columns()}


def schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([(c.name, c.type) for c in columns])
