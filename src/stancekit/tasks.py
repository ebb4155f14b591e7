"""Turn documents.parquet into Label Studio tasks, one per document or per chunk of one.

A task's `data` holds the exact text annotators see plus doc_id, title, source, `chunk`
(0 for a whole document) and `offset`, the code point where the chunk starts in the
document text: a chunk's span [s, e) is the document's [offset + s, offset + e).
Long documents are cut at paragraph boundaries (a blank line), falling back to line
breaks, then whitespace, and never inside a grapheme such as a flag or a combining mark.
The output is deterministic: the same documents give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import graphemes, paths
from ._files import write_text
from .errors import InputError
from .taxonomy import TEXT_NAME

DEFAULT_PATH = paths.TASKS

_PARAGRAPH_END = re.compile(r"\n[ \t]*\n+")
_LINE_END = re.compile(r"\n+")
_SPACE_END = re.compile(r"\s+")


class TasksError(InputError):
    """A task file cannot be read or lacks a key that `stancekit ls push` relies on."""


def chunk_bounds(text: str, max_chars: int | None) -> list[tuple[int, int]]:
    """[start, end) ranges that tile the text, each at most max_chars long (None: one chunk).

    Each chunk ends after a paragraph break if one lies in reach, else after a line break,
    else after whitespace, else at the limit moved back to a grapheme boundary. Offsets are
    code points. Raises ValueError when max_chars is below 1.
    """
    if max_chars is not None and max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if max_chars is None or len(text) <= max_chars:
        return [(0, len(text))]
    bounds = []
    start = 0
    while len(text) - start > max_chars:
        window = text[start:start + max_chars]
        cut = 0
        for pattern in (_PARAGRAPH_END, _LINE_END, _SPACE_END):
            ends = [m.end() for m in pattern.finditer(window)]
            if ends:
                cut = ends[-1]
                break
        if cut == 0:
            cut = graphemes.cluster_start(text, start + max_chars) - start
            if cut <= 0:  # a single grapheme longer than the limit: cut it rather than loop
                cut = max_chars
        bounds.append((start, start + cut))
        start += cut
    bounds.append((start, len(text)))
    return bounds


def make_tasks(documents: list[dict], max_chars: int | None = None,
               predict: Callable[[dict], list[dict]] | None = None) -> list[dict]:
    """One task per document (or per chunk), with predictions from `predict(task)` if given."""
    tasks = []
    for doc in documents:
        text = doc["text"]
        for chunk, (start, end) in enumerate(chunk_bounds(text, max_chars)):
            task: dict[str, Any] = {"data": {
                TEXT_NAME: text[start:end],
                "doc_id": doc["doc_id"],
                "title": doc.get("title"),
                "source": doc.get("source_file"),
                "chunk": chunk,
                "offset": start,
            }}
            if predict is not None:
                task["predictions"] = predict(task)
            tasks.append(task)
    return tasks


def dumps(tasks: list[dict]) -> str:
    """The tasks as a JSON array, byte-stable."""
    return json.dumps(tasks, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def write(tasks: list[dict], out: str | Path) -> None:
    """Write the tasks JSON atomically (temp file, then rename); raises OSError when it cannot."""
    write_text(out, dumps(tasks))


def read(path: str | Path) -> list[dict]:
    """Read a tasks JSON file written by `write` (or by hand), checking the keys push relies on;
    raises TasksError naming the file (and task) otherwise."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TasksError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TasksError(f"{path}: not a JSON task file ({exc})") from None
    if not isinstance(tasks, list):
        raise TasksError(f"{path}: expected a JSON array of tasks")
    for i, task in enumerate(tasks):
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get(TEXT_NAME), str) or not isinstance(data.get("doc_id"), str):
            raise TasksError(f"{path}: task {i}: needs data.{TEXT_NAME} and data.doc_id strings")
        if not isinstance(data.get("chunk", 0), int):
            raise TasksError(f"{path}: task {i}: data.chunk must be an integer")
    return tasks
