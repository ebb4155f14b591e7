"""Parse Label Studio JSON exports task by task, in bounded memory.

An export is one JSON array of tasks that can reach gigabytes, so it is never loaded
whole: `iter_tasks` parses one task at a time from a bounded buffer. This is the parsing
layer only: stages read exports through `stancekit.validate.Reader`, which validates each
task and turns its annotations into `stancekit.records.Record`s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


CHUNK_CHARS = 1 << 20
MAX_TASK_CHARS = 1 << 26  # a task larger than this is reported, not buffered without end
_DECODER = json.JSONDecoder()
_BETWEEN = " \t\r\n,"


class ExportReadError(ValueError):
    """The export cannot be read: not JSON, truncated, not UTF-8, or not an array of tasks."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message


def iter_json_array(stream: TextIO, path: str | Path = "<stream>", chunk_chars: int = CHUNK_CHARS) -> Iterator[tuple[int, dict]]:
    """Yield (index, object) for each element of a top-level JSON array, in bounded memory.

    Each element is parsed on its own by the stdlib's C decoder (`raw_decode`), so memory
    holds one chunk plus one task, and garbage from a parsed task is freed at once.
    """
    buf = ""
    pos = 0
    consumed = 0  # characters dropped from the front of buf
    eof = False

    def more(size: int = chunk_chars) -> bool:
        nonlocal buf, pos, consumed, eof
        if eof:
            return False
        try:
            chunk = stream.read(size)
        except UnicodeDecodeError as exc:
            raise ExportReadError(path, f"not valid UTF-8 after character {consumed + len(buf)} ({exc.reason})") from exc
        if not chunk:
            eof = True
            return False
        buf = buf[pos:] + chunk
        consumed += pos
        pos = 0
        return True

    def skip(chars: str) -> str:
        """Skip characters in `chars`; return the next character, or '' at the end."""
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in chars:
                pos += 1
            if pos < len(buf) or not more():
                return buf[pos:pos + 1]

    if skip(" \t\r\n\ufeff") != "[":
        found = repr(buf[pos:pos + 20]) if buf[pos:] else "an empty file"
        raise ExportReadError(path, f"not a Label Studio JSON export: expected a JSON array '[', found {found}")
    pos += 1
    index = 0
    while True:
        first = skip(_BETWEEN)
        if first == "]":
            pos += 1
            if skip(" \t\r\n"):
                raise ExportReadError(path, f"unexpected data after the closing ']' at character {consumed + pos}")
            return
        if first == "":
            raise ExportReadError(path, f"truncated: the JSON array is not closed after {index} complete tasks")
        if first != "{":
            raise ExportReadError(path, f"task {index} at character {consumed + pos} is not a JSON object")
        while True:
            try:
                task, end = _DECODER.raw_decode(buf, pos)
                break
            except RecursionError:
                raise ExportReadError(path, f"task {index} at character {consumed + pos} is nested too deeply "
                                            f"to be a Label Studio task") from None
            except json.JSONDecodeError as exc:
                pending = len(buf) - pos
                if pending < MAX_TASK_CHARS and more(max(chunk_chars, pending)):
                    continue  # the task may go on past the buffer: read as much again
                if pending >= MAX_TASK_CHARS:
                    raise ExportReadError(path, f"task {index} at character {consumed + pos} is not valid JSON "
                                                f"within {MAX_TASK_CHARS} characters ({exc.msg})") from exc
                # At the end of the file, a string left open or a value cut short (`fal`, `-`, `1e`)
                # means the file was truncated; anything else is an error inside the file.
                rest = buf[exc.pos:].rstrip()
                cut = (exc.msg.startswith("Unterminated string") or not rest.strip("-+.eE0123456789")
                       or any(literal.startswith(rest) for literal in ("true", "false", "null")))
                what = "truncated" if cut else f"not valid JSON ({exc.msg} at character {consumed + exc.pos})"
                raise ExportReadError(path, f"task {index} at character {consumed + pos} is {what}") from exc
        if buf.find("\\ud", pos, end) != -1 or buf.find("\\uD", pos, end) != -1:
            _require_unicode(task, path, f"task {index} at character {consumed + pos}")
        yield index, task
        index += 1
        pos = end


def _require_unicode(task: dict, path: str | Path, where: str) -> None:
    """JSON may escape a lone surrogate ("\\ud83d"), which no Unicode text holds: refuse it here, once."""
    try:
        json.dumps(task, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExportReadError(path, f"{where} holds a lone surrogate escape (\\u{ord(exc.object[exc.start]):04x}): "
                                    "not valid Unicode") from exc


def iter_tasks(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (index, task) for each task of an export file, streaming."""
    try:
        with open(path, encoding="utf-8") as stream:
            yield from iter_json_array(stream, path)
    except OSError as exc:
        raise ExportReadError(path, f"cannot read ({exc.strerror})") from exc
