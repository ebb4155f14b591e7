"""The ingest driver: inputs -> documents (each file read by its format's reader), duplicates
dropped, the removal report; and the writers of documents.parquet and the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .. import columns
from .. import sources as sources_mod
from .._files import atomic_path
from .chrome import CHROME
from .dedup import drop_duplicates
from .formats import EXPECTED, READERS
from .offsets import to_raw_offsets
from .units import IngestError


@dataclass
class IngestResult:
    """Documents (dicts with the documents.parquet columns, plus ``where``: the file, or file:line
    of a JSONL feed, for messages, and ``removals``), warnings, errors for the inputs that were
    skipped, and the removal report: one dict per removed stretch (REPORT_FIELDS)."""

    documents: list[dict]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    report: list[dict] = field(default_factory=list)


def expand_inputs(paths: list[str | Path]) -> tuple[list[str], list[str]]:
    """Sorted input files (a directory contributes its files of a registered extension, not recursing)
    and one error line per path of another extension. Raises nothing (a missing file is read, and
    named, by `ingest`)."""
    files: set[str] = set()
    errors: list[str] = []
    for given in map(str, paths):
        path = Path(given)
        if path.is_dir():
            files.update(str(p) for p in path.iterdir() if p.suffix.lower() in READERS and p.is_file())
        elif path.suffix.lower() not in READERS:
            errors.append(f"{given}: unsupported file type (expected {EXPECTED})")
        else:
            files.add(given)
    return sorted(files), errors


def ingest(paths: list[str | Path], progress: Callable[[int, int], None] | None = None,
           sources: str | Path | None = None) -> IngestResult:
    """Read and clean every input; one document per .txt/.html file and per JSONL line. A bad
    input raises nothing: it is skipped and named in the result's `errors`.

    `sources`: sources.csv, read before any input (`stancekit.sources.read`: raises SourcesError
    when it is unreadable or malformed); it fills each document's source columns, and a raw file
    it does not describe is a warning. `progress`, when given, is called with (files done, files)
    before and after each file. Offsets in the documents' offset maps and in the report are bytes
    of the input files; the documents' text positions are code points."""
    described = sources_mod.read(sources) if sources is not None else None
    files, errors = expand_inputs(paths)
    warnings: list[str] = []
    documents: list[dict] = []
    for done, path in enumerate(files):
        if progress is not None:
            progress(done, len(files))
        try:
            docs = READERS[Path(path).suffix.lower()](path, warnings, errors)
        except IngestError as exc:
            errors.append(str(exc))
            continue
        for doc in docs:
            doc["source_file"] = path
        documents.extend(docs)
    if progress is not None:
        progress(len(files), len(files))
    kept, notes = drop_duplicates(documents)
    if described is not None:
        notes += [f"{path}: not in {sources}; its source columns are null"
                  for path in sources_mod.attach(kept, described)]
    return IngestResult(kept, warnings + notes, errors, removal_report(documents, kept))


REPORT_FIELDS = ("doc_id", "source_file", "rule", "raw_start", "raw_end", "text")
# Every rule of the removal report and what it removes. An HTML element skipped as chrome is
# reported as "html-<why>": its tag (nav, aside, footer, form, ...), "hidden", "role-<role>" or the
# class/id word that marked it (share, related, comments, ...).
RULES = {
    "invisible": "soft hyphens, zero-width spaces, word joiners, a BOM in mid-text, bidi controls",
    "mojibake": "a stretch of mojibake, replaced by its repair (the text is what was there)",
    "consent-banner": "a cookie/consent banner: its heading and the lines about cookies or its buttons",
    "related-list": "a related-posts or \"More from this author\" heading and the teaser lines after it",
    **{kind: f"single lines of page chrome: {kind.replace('-', ' ')} (src/stancekit/ingest/chrome.yaml)"
       for kind in CHROME.lines},
    "metadata": "metadata lines: bylines, dates, reading times, counters joined by separators",
    "repeat": "a paragraph or heading repeating an earlier one (the first is kept)",
    "html-*": "an HTML element skipped as chrome (navigation, aside, footer, forms, share/related/comment blocks)",
    "html-outside-article": "an HTML block outside the article that was kept (or outside <main>)",
    "duplicate-document": "a whole document: an exact or near duplicate of an earlier one",
}


def removal_report(documents: list[dict], kept: list[dict]) -> list[dict]:
    """One record per removed stretch (REPORT_FIELDS; raw_start/raw_end are byte offsets into
    source_file), in input order. A document dropped as a duplicate is one stretch of rule
    "duplicate-document" (its doc_id is in no output)."""
    kept_ids = {id(doc) for doc in kept}
    report = []
    for doc in documents:
        base = {"doc_id": doc["doc_id"], "source_file": doc["source_file"]}
        if id(doc) in kept_ids:
            report += [{**base, **r._asdict()} for r in doc["removals"]]
        else:
            start, end = to_raw_offsets(doc["offset_map"], 0, len(doc["text"]))
            report.append({**base, "rule": "duplicate-document", "raw_start": start, "raw_end": end,
                           "text": doc["text"]})
    return report


def write_report(report: list[dict], out: str | Path) -> None:
    """Write the removal report as JSON Lines (UTF-8), atomically (temp file + rename); raises OSError
    when it cannot."""
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for record in report:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


SCHEMA = columns.schema(columns.DOCUMENT_COLUMNS)  # declared with their meaning in stancekit.columns


def documents_table(documents: list[dict]) -> pa.Table:
    """The documents.parquet table; rows in input order (sorted by source file, then position).
    Raises pyarrow's ArrowInvalid/ArrowTypeError when a dict does not fit the schema (a bug, not input)."""
    return pa.Table.from_pylist(documents, schema=SCHEMA)


def write_documents(documents: list[dict], out: str | Path) -> None:
    """Write documents.parquet atomically (temp file + rename), byte-identical for the same input;
    raises OSError when it cannot."""
    with atomic_path(out) as tmp:
        pq.write_table(documents_table(documents), tmp, compression="zstd")


def write(result: IngestResult, out: str | Path, report: str | Path | None = None) -> None:
    """Write documents.parquet to `out` and, when given, the removal report to `report`, each
    atomically. Raises IngestError when there is no document to write (nothing is written then),
    or naming the file that cannot be written."""
    if not result.documents:
        raise IngestError("nothing could be ingested; no output written")
    writes = [(out, lambda: write_documents(result.documents, out))]
    if report is not None:
        writes.append((report, lambda: write_report(result.report, report)))
    for target, write_one in writes:
        try:
            write_one()
        except OSError as exc:
            raise IngestError(f"{target}: cannot write: {exc.strerror or exc}") from exc
