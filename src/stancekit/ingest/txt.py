"""The plain-text format (.txt): one article per file, its encoding decoded (see `stancekit.ingest.decoding`)."""

from __future__ import annotations

import hashlib

from . import article
from .decoding import byte_offsets, decode, units_of

EXTENSIONS = (".txt",)


def read(path: str, warnings: list[str], errors: list[str]) -> list[dict]:
    """The one document of the .txt file `path` (document dicts: see `article.document`); warnings
    (an encoding detected, mojibake repaired) are appended to `warnings`.

    Raises IngestError (one line naming the file) when the file cannot be read, is larger than
    MAX_ARTICLE_BYTES, is binary, fits no encoding, or has no text left after cleaning. `errors`
    is not used: a .txt file is one article, skipped whole."""
    data = article.read(path)
    text, encoding, base = decode(data, path, warnings)
    units = units_of(text, byte_offsets(text, encoding, base, data))
    return [article.document(units, encoding, path, "txt", hashlib.sha256(data).hexdigest(), warnings)]
