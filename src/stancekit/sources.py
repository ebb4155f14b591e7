"""What is known about each raw article's source, from dataset/raw/sources.csv, as document columns.

sources.csv has one row per raw file (`file`, relative to the CSV's directory). Its columns
`source_kind`, `source_caveats`, `outlet`, `author` and `published` become the document columns
declared in `stancekit.columns` (`stancekit ingest --sources FILE`); the `*_in_text` and `notes`
columns are the prose evidence for them, for people. An empty cell means "not stated" (null),
except `source_caveats`, where empty means "no known caveat".
"""

from __future__ import annotations

import csv
from pathlib import Path

from .columns import SOURCE_KINDS

REQUIRED = ("file", "source_kind", "source_caveats", "outlet", "author", "published")
# sources.csv column -> document column; a document value from the input itself wins for `published`.
DOCUMENT_FIELDS = ("source_kind", "source_caveats", "outlet", "author")


class SourcesError(Exception):
    """sources.csv is unreadable or malformed; the message names the file and line."""


def read(path: str | Path) -> dict[Path, dict]:
    """The rows of sources.csv by the resolved path of the raw file each describes.

    Raises SourcesError (one line, naming the file and line) for an unreadable file, a missing
    column, an unknown `source_kind` or a file listed twice.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise SourcesError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = {}
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if row["source_kind"] not in SOURCE_KINDS:
                    raise SourcesError(f"{where}: source_kind {row['source_kind']!r} is not one of {', '.join(SOURCE_KINDS)}")
                key = (path.parent / row["file"]).resolve()
                if key in rows:
                    raise SourcesError(f"{where}: {row['file']} is listed twice")
                rows[key] = row
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourcesError(f"{path}: cannot read ({exc})") from exc
    return rows


def attach(documents: list[dict], sources: dict[Path, dict]) -> list[str]:
    """Set the source columns of each document (in place) from its raw file's row.

    `published` is taken from sources.csv only when the input gave none; `author` from sources.csv
    when it names one, else the input's own (page metadata, or a byline ingest found in removed
    chrome). Returns the raw files that sources.csv does not describe (their source columns stay null).
    """
    unknown = []
    for doc in documents:
        row = sources.get(Path(doc["source_file"]).resolve())
        if row is None:
            if doc["source_file"] not in unknown:
                unknown.append(doc["source_file"])
            continue
        for name in DOCUMENT_FIELDS:
            if name == "author":
                doc[name] = row[name] or doc.get(name)
            else:
                doc[name] = row[name] if (row[name] or name == "source_caveats") else None
        if not doc.get("published") and row["published"]:
            doc["published"] = row["published"]
    return unknown
