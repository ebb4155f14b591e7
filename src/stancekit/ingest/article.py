"""One article into one document: the size limit, reading the file, and cleaning an article's
units into a document dict (the documents.parquet columns). Every format module ends here."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from .chrome import byline_and_date
from .lines import Line, clean_units
from .offsets import offset_map
from .repairs import clean_title
from .units import IngestError, Removal, Unit

# Cleaning keeps a map entry per character (~150 bytes of memory per raw byte), so one article
# (a .txt or .html file, a JSONL line) larger than this is refused: memory stays bounded.
MAX_ARTICLE_BYTES = 8 << 20


TITLE_MAX_WORDS = 20


def _title(lines: list[Line]) -> str:
    """The first line that reads as a heading (short, no closing punctuation), else the first line."""
    for line in lines:
        text = line.text
        if line.words <= TITLE_MAX_WORDS and not re.search(r"[.,;:…]$", text):
            return text
    return lines[0].text if lines else ""


def too_large(size: int) -> str:
    """The reason an article of `size` bytes is refused, for an IngestError message."""
    return f"{size} bytes, more than the {MAX_ARTICLE_BYTES >> 20} MiB one article may have"


def read(path: str, one_article: bool = True) -> bytes:
    """The file's bytes. Raises IngestError (one line naming `path`) when it cannot be read, or when
    `one_article` and it is larger than MAX_ARTICLE_BYTES (refused without reading it)."""
    try:
        size = os.stat(path).st_size
        if one_article and size > MAX_ARTICLE_BYTES:
            raise IngestError(f"{path}: {too_large(size)}; skipped")
        return Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror or exc}") from None


def document(units: list[Unit], encoding: str, source: str, source_format: str, raw_sha256: str,
              warnings: list[str], *, title: str | None = None, url: str | None = None,
              published: str | None = None, author: str | None = None, source_id: str | None = None,
              removed: Sequence[Removal] = ()) -> dict:
    """Clean the units into a document dict (the documents.parquet columns, plus ``where`` and
    ``removals``: what the extractor (`removed`) and cleaning removed, sorted by raw offset).
    `author` and `published` given by the source win over a byline and date found in chrome.

    `units` are the article's raw units (see `stancekit.ingest.units`); `encoding` the codec they
    were decoded with (the offset map's); `source` the file, or file:line, for messages. Notes of
    cleaning are appended to `warnings`. Raises IngestError when no text is left after cleaning."""
    units, lines, removals, notes = clean_units(units)
    warnings.extend(f"{source}: {note}" for note in notes)
    text = "".join(u[0] for u in units)
    if not text:
        raise IngestError(f"{source}: empty article: no text left after cleaning; skipped")
    text_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    title = clean_title(title) if title else ""
    chrome_author, chrome_date = byline_and_date(removals)
    return {
        "doc_id": "doc_" + text_sha[:16], "title": title or _title(lines), "text": text,
        "where": source,  # file, or file:line for JSONL; for messages, not a column
        "source_file": None, "source_format": source_format, "source_id": source_id,
        "url": url, "published": published or chrome_date, "author": author or chrome_author,
        "raw_sha256": raw_sha256, "text_sha256": text_sha,
        "offset_map": offset_map(units, encoding),
        "removals": sorted([*removed, *removals], key=lambda r: r[1:3]),  # not a column
    }
