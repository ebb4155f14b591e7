"""Internal helpers shared by the stages: atomic writes, file hashes, Markdown tables."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path, mode: int = 0o666) -> Iterator[Path]:
    """Yield a new empty temporary file next to `path` to write; when the block ends without an
    exception, fsync it and rename it over `path` (readers see the old file or the new one, never
    a part). On an exception the temporary file is removed and `path` is left as it was.

    The parent folder is created if needed. `mode` is the new file's permission bits before the
    umask (0o600: readable by the owner only). Raises OSError when the folder is not writable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, mode: int = 0o666) -> None:
    """Write `text` (UTF-8, newlines as given) to `path` atomically (see `atomic_path`)."""
    with atomic_path(path, mode) as tmp, open(tmp, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)


def update_generated(path: str | Path, text: str, check: bool = False) -> bool:
    """Bring a generated file in line with `text` (written atomically); with `check`, write nothing.
    Returns True when the file was stale: missing or different. Raises OSError when it cannot be written."""
    path = Path(path)
    stale = not path.exists() or path.read_text(encoding="utf-8") != text
    if stale and not check:
        write_text(path, text)
    return stale


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, as 64 hex digits (read in blocks: memory stays flat)."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def table_cell(text: object) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> list[str]:
    """The lines of a Markdown table: the header, the rule, one line per row (cells as given, by str()).

    `align` has one letter per column, "l" (the default for missing letters) or "r" (right-aligned,
    for numbers). An empty cell is written `| |`. Cells are not escaped: pass them through
    `table_cell` where they may hold a pipe."""
    rule = "".join("---:|" if align[i:i + 1] == "r" else "---|" for i in range(len(header)))
    return [_row(header), "|" + rule, *(_row(row) for row in rows)]


def _row(cells: Sequence[object]) -> str:
    return "|" + "|".join(f" {cell} " if str(cell) else " " for cell in cells) + "|"
