"""Ingest raw articles (.txt, .html, .jsonl) into clean documents that keep a map to the raw bytes.

Per article: decode the bytes (BOM, declared charset, UTF-8, detection) into characters that
each remember the raw byte range they came from -> line endings to ``\\n`` -> mojibake repaired
-> invisible format characters deleted -> Unicode NFC -> line-level cleaning rules that only ever
delete (page chrome by kind from chrome.yaml, repeated paragraphs, indentation, extra blank
lines) -> text, title, an offset map, and the list of removed stretches. Exact and
near-duplicate documents are kept once.

A character of the pipeline is a *unit* ``(text, raw_start, raw_end)``: ``text`` is one clean
code point, or several when NFC composes or expands (they stay together), and the raw byte
range it was decoded from. Separators the HTML extractor inserts between blocks have an
empty raw range.

The modules, in pipeline order: `units` (the unit, `Removal`, `IngestError`), `decoding`,
`repairs` (mojibake, invisible characters), `chrome` (the rules of chrome.yaml), `lines` (the
cleaning rules), `offsets` (the offset map), `article` (one article into a document dict), one
module per input format (`txt`, `html`, `jsonl`) registered by file extension in `formats`,
`dedup` (duplicates) and `driver` (`ingest`, the report, the writers). This package exports
the public API below; the helpers stay in their modules.
"""

from __future__ import annotations

from .chrome import chrome_kind, metadata_fields
from .decoding import WEB_ENCODINGS
from .driver import (
    REPORT_FIELDS,
    RULES,
    SCHEMA,
    IngestResult,
    documents_table,
    expand_inputs,
    ingest,
    removal_report,
    write,
    write_documents,
    write_report,
)
from .offsets import offset_map, raw_pieces, to_raw_offsets
from .units import IngestError, Removal, Unit

__all__ = [
    "REPORT_FIELDS", "RULES", "SCHEMA", "WEB_ENCODINGS", "IngestError", "IngestResult", "Removal", "Unit",
    "chrome_kind", "documents_table", "expand_inputs", "ingest", "metadata_fields", "offset_map", "raw_pieces",
    "removal_report", "to_raw_offsets", "write", "write_documents", "write_report",
]
