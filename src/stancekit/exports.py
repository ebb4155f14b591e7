"""Parse Label Studio JSON exports task by task, in bounded memory.

An export is one JSON array of tasks that can reach gigabytes, so it is never loaded
whole: `iter_raw_tasks` finds each task's extent in a bounded window (msgspec, in C, building
nothing) and `parse_task` parses it (in the reader's worker processes when there are some);
`iter_tasks` does both. `iter_json_array`, the stdlib's decoder over a text stream, is the
exact reader that takes over whatever the scan refuses and words every error. This is the parsing
layer only: stages read exports through `stancekit.validate.Reader`, which validates each
task and turns its annotations into `stancekit.records.Record`s.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import msgspec

from .errors import InputError

CHUNK_CHARS = 1 << 20
MAX_TASK_CHARS = 1 << 26  # a task larger than this is reported, not buffered without end
_DECODER = json.JSONDecoder()
_BETWEEN = " \t\r\n,"
WINDOW_BYTES = 1 << 20
_BLANK = b" \t\r\n"
_SEPARATORS = b" \t\r\n,"
_AFTER_TASK = b" \t\r\n,]"
_RAW = msgspec.json.Decoder(type=msgspec.Raw)  # scans one JSON value, builds nothing
_DECODE = msgspec.json.decode
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")


class ExportReadError(InputError):
    """The export cannot be read: not JSON, truncated, not UTF-8, or not an array of tasks."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message

    def __reduce__(self):  # raised in a reader's worker process, it travels back whole
        return type(self), (self.path, self.message)


def iter_json_array(stream: TextIO, path: str | Path = "<stream>", chunk_chars: int = CHUNK_CHARS) -> Iterator[tuple[int, dict]]:
    """Yield (index, object) for each element of a top-level JSON array, in bounded memory.

    Each element is parsed on its own by the stdlib's C decoder (`raw_decode`), so memory
    holds one chunk plus one task, and garbage from a parsed task is freed at once. Raises
    ExportReadError (naming the file and byte offset) for anything but a JSON array.
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
            except ValueError as exc:  # an integer past Python's limit of digits for str -> int
                raise ExportReadError(path, f"task {index} at character {consumed + pos} holds an integer of more than "
                                            f"{sys.get_int_max_str_digits()} digits, which Python does not read") from exc
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


def iter_raw_tasks(path: str | Path, window: int = WINDOW_BYTES) -> Iterator[tuple[int, bytes | dict]]:
    """Yield (index, task) for each task of an export file, the task still as its JSON bytes, streaming.

    The fast path: msgspec scans each task's extent in C without building objects (in a window of
    `window` bytes, widened for a longer task up to MAX_TASK_CHARS bytes), and the bytes are
    parsed later by `parse_task`, possibly in another process. A task the scan cannot place
    (not JSON, NaN, a file cut short, garbage between tasks) hands the file over to the exact reader,
    `iter_json_array`, from that task on: it yields parsed dicts, or raises its one-line
    ExportReadError naming the task and character. So either path yields the same tasks and the
    same errors.
    """
    for index, _, task in iter_raw_tasks_at(path, window):
        yield index, task


def iter_raw_tasks_at(path: str | Path, window: int = WINDOW_BYTES) -> Iterator[tuple[int, int, bytes | dict]]:
    """`iter_raw_tasks` with where each task is: (index, offset, task), `offset` the byte offset of the
    task's bytes in the file (of its opening brace; `raw_task_at` reads them again from there), or -1
    for a task yielded as a dict by the exact reader. Raises ExportReadError as `iter_raw_tasks`."""
    try:
        with open(path, "rb") as stream:
            buf = stream.read(window)
            base = 0  # the file offset of buf[0], in bytes
            pos = 3 if buf.startswith(b"\xef\xbb\xbf") else 0
            while True:  # the opening bracket
                while pos < len(buf) and buf[pos] in _BLANK:
                    pos += 1
                if pos < len(buf) or len(buf) < window:
                    break
                buf, base, pos = buf[pos:] + stream.read(window), base + pos, 0
            if buf[pos:pos + 1] != b"[":
                yield from _exact_at(path, 0)  # raises its message
                return
            pos += 1
            index = 0
            while True:
                while True:  # between tasks
                    while pos < len(buf) and buf[pos] in _SEPARATORS:
                        pos += 1
                    if pos < len(buf):
                        break
                    more = stream.read(window)
                    if not more:
                        break
                    buf, base, pos = more, base + len(buf), 0
                if buf[pos:pos + 1] != b"{":
                    rest = buf[pos + 1:]
                    while buf[pos:pos + 1] == b"]" and not rest.strip(_BLANK):
                        rest = stream.read(window)
                        if not rest:
                            return
                    yield from _exact_at(path, index)
                    return
                while True:
                    end = _task_end(buf, pos)
                    if end is not None:
                        break
                    if len(buf) - pos < MAX_TASK_CHARS:  # the task may go on past the window
                        more = stream.read(max(window, len(buf) - pos))
                        if more:
                            buf, base, pos = buf[pos:] + more, base + pos, 0
                            continue
                    yield from _exact_at(path, index)
                    return
                yield index, base + pos, buf[pos:end]
                index += 1
                pos = end
    except OSError as exc:
        raise ExportReadError(path, f"cannot read ({exc.strerror})") from exc


def _task_end(buf: bytes, pos: int) -> int | None:
    """Where the JSON value at buf[pos] ends (msgspec's scan, building nothing), when it ends within buf
    and is followed by a separator, `]` or nothing; else None (cut short by the end of buf, or not JSON)."""
    try:
        _RAW.decode(memoryview(buf)[pos:])
        return len(buf)  # the task ends exactly at the end of the buffer
    except (msgspec.DecodeError, RecursionError) as exc:
        found = _TRAILING.search(str(exc))
        if found and buf[pos + int(found.group(1)) - 1] in _AFTER_TASK:
            return pos + int(found.group(1)) - 1
        return None


def raw_task_at(path: str | Path, index: int, offset: int, size: int = WINDOW_BYTES) -> bytes:
    """The bytes of task `index` read again from byte `offset` of the file, where `iter_raw_tasks_at`
    found it: the same scan, reading `size` bytes first (the distance to the next task when known), then
    more up to MAX_TASK_CHARS. Raises ExportReadError when no task is there any more (the file changed
    since it was read) or the file cannot be read."""
    try:
        with open(path, "rb") as stream:
            stream.seek(offset)
            buf = stream.read(max(size, 1))
            while buf[:1] == b"{":
                end = _task_end(buf, 0)
                if end is not None:
                    return buf[:end]
                more = stream.read(max(WINDOW_BYTES, len(buf))) if len(buf) < MAX_TASK_CHARS else b""
                if not more:
                    break
                buf += more
    except OSError as exc:
        raise ExportReadError(path, f"cannot read ({exc.strerror})") from exc
    raise ExportReadError(path, f"task {index} is no longer at byte {offset}: the file changed while it was read")


def parse_task(path: str | Path, index: int, raw: bytes | dict) -> dict:
    """The task of `iter_raw_tasks` as a dict (msgspec: integers of any size, as the stdlib parses them).

    Bytes that do not parse (not UTF-8, a lone surrogate escape) are read again by the exact
    reader for its one-line ExportReadError."""
    if isinstance(raw, dict):
        return raw
    try:
        task = _DECODE(raw)
    except (msgspec.DecodeError, RecursionError):  # e.g. nested deeper than msgspec goes
        task = None
    if not isinstance(task, dict) or ((b"\\ud" in raw or b"\\uD" in raw) and not _is_unicode(task)):
        for _, exact in _exact(path, index):  # raises
            return exact
        raise ExportReadError(path, f"task {index} cannot be read")  # the file changed while being read
    return task


def _exact(path: str | Path, index: int) -> Iterator[tuple[int, dict]]:
    """The tasks from `index` on, read by the exact (stdlib) reader: the slow path for what the scan refuses."""
    try:
        with open(path, encoding="utf-8") as stream:
            for i, task in iter_json_array(stream, path):
                if i >= index:
                    yield i, task
    except OSError as exc:
        raise ExportReadError(path, f"cannot read ({exc.strerror})") from exc


def _is_unicode(task: dict) -> bool:
    try:
        json.dumps(task, ensure_ascii=False).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _exact_at(path: str | Path, index: int) -> Iterator[tuple[int, int, dict]]:
    """`_exact` as (index, -1, task): a task of the exact reader has no byte offset."""
    for i, task in _exact(path, index):
        yield i, -1, task


def iter_tasks(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (index, task) for each task of an export file, streaming (`iter_raw_tasks` + `parse_task`)."""
    for index, raw in iter_raw_tasks(path):
        yield index, parse_task(path, index, raw)
