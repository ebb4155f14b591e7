"""The input formats, one module each, and the registry by file extension (in the spirit of the
packaged builders of Hugging Face `datasets`).

A format module has `EXTENSIONS` (lower case, with the dot) and ``read(path, warnings, errors)``:
the document dicts of one file (see `stancekit.ingest.article.document`), appending warnings to
`warnings` and, for a format of many articles per file, the one-line message of each article
skipped to `errors`; it raises IngestError for a file it cannot use at all. A new format is a
new module added to FORMATS.
"""

from __future__ import annotations

from collections.abc import Callable

from . import html, jsonl, txt

Reader = Callable[[str, list[str], list[str]], list[dict]]

FORMATS = (txt, html, jsonl)
READERS: dict[str, Reader] = {ext: fmt.read for fmt in FORMATS for ext in fmt.EXTENSIONS}
EXPECTED = ", ".join(list(READERS)[:-1]) + " or " + list(READERS)[-1]  # ".txt, .html, .htm or .jsonl"
