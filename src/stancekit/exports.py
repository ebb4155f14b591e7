"""Read Label Studio JSON exports task by task, and turn annotations into plain spans.

An export is one JSON array of tasks that can reach gigabytes, so it is never loaded
whole: `iter_tasks` finds each top-level element's bytes and parses only that slice.
`annotation_regions` joins a span with its per-region choices (same region id) and
maps chunk offsets back to document offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from .taxonomy import LABELS_NAME, Taxonomy

CHUNK_BYTES = 1 << 20
_NEXT = re.compile(rb'["\[\]{}]')
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_WHITESPACE = b" \t\r\n"


class ExportReadError(ValueError):
    """The export cannot be read: not JSON, truncated, not UTF-8, or not an array of tasks."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message


@dataclass(frozen=True)
class RawTask:
    index: int  # position in the export's array, from 0
    offset: int  # byte offset of the task in the file
    data: bytes  # the task's JSON text


def iter_task_bytes(stream: BinaryIO, path: str | Path = "<stream>", chunk_bytes: int = CHUNK_BYTES) -> Iterator[RawTask]:
    """Yield each element of the top-level JSON array as raw bytes, in bounded memory."""
    buf = b""
    base = 0  # file offset of buf[0]
    pos = 0
    eof = False

    def more() -> bool:
        nonlocal buf, base, pos, eof, start, gap_from
        if eof:
            return False
        keep_from = start if start is not None else min(pos, gap_from)
        chunk = stream.read(chunk_bytes)
        if not chunk:
            eof = True
            return False
        buf = buf[keep_from:] + chunk
        base += keep_from
        pos -= keep_from
        gap_from -= keep_from
        if start is not None:
            start -= keep_from
        return True

    start: int | None = None
    gap_from = 0  # where the bytes between top-level elements begin
    # The opening bracket, after an optional BOM and whitespace.
    while len(buf) < 3 and more():
        pass
    if buf.startswith(b"\xef\xbb\xbf"):
        pos = 3
    while True:
        stripped = buf[pos:].lstrip(_WHITESPACE)
        if stripped:
            pos = len(buf) - len(stripped)
            break
        if not more():
            raise ExportReadError(path, "empty file: expected a JSON array of tasks")
    if buf[pos:pos + 1] != b"[":
        raise ExportReadError(path, f"not a Label Studio JSON export: expected '[' at byte {base + pos}, found {buf[pos:pos + 1]!r}")
    pos += 1
    depth = 1
    index = 0
    gap_from = pos
    while True:
        m = _NEXT.search(buf, pos)
        if m is None:
            pos = len(buf)
            if not more():
                break
            continue
        ch = m.group()
        if depth == 1:
            gap = buf[gap_from:m.start()].strip(_WHITESPACE + b",")
            if gap or ch == b'"':
                raise ExportReadError(path, f"task {index} at byte {base + gap_from} is not a JSON object")
        if ch == b'"':
            s = _STRING_REST.match(buf, m.end())
            if s is None:  # the string goes on past the buffer
                pos = m.start()
                if not more():
                    break
                continue
            pos = s.end()
            continue
        pos = m.end()
        if ch in b"[{":
            if depth == 1:
                if ch == b"[":
                    raise ExportReadError(path, f"task {index} at byte {base + m.start()} is not a JSON object")
                start = m.start()
            depth += 1
        else:
            depth -= 1
            if depth == 1:
                yield RawTask(index, base + start, buf[start:pos])
                index += 1
                start = None
                gap_from = pos
            elif depth == 0:
                trailing = buf[pos:].strip(_WHITESPACE)
                while not trailing and more():
                    trailing = buf[pos:].strip(_WHITESPACE)
                if trailing:
                    raise ExportReadError(path, f"unexpected data after the closing ']' at byte {base + pos}")
                return
    raise ExportReadError(path, f"truncated: the JSON array is not closed (read {index} complete tasks, {base + len(buf)} bytes)")


def parse_task(raw: RawTask, path: str | Path = "<stream>") -> dict:
    """Parse one task's bytes; a clear error names the task and byte offset."""
    try:
        task = orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        if isinstance(exc.__cause__, UnicodeDecodeError) or "utf-8" in str(exc).lower():
            raise ExportReadError(path, f"task {raw.index} at byte {raw.offset} is not valid UTF-8") from exc
        raise ExportReadError(path, f"task {raw.index} at byte {raw.offset} is not valid JSON ({exc})") from exc
    if not isinstance(task, dict):
        raise ExportReadError(path, f"task {raw.index} at byte {raw.offset} is not a JSON object")
    return task


def iter_tasks(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (index, task) for each task of an export file, streaming."""
    try:
        with open(path, "rb") as stream:
            for raw in iter_task_bytes(stream, path):
                yield raw.index, parse_task(raw, path)
    except OSError as exc:
        raise ExportReadError(path, f"cannot read ({exc.strerror})") from exc


def chunk_offset(task: dict) -> int:
    """Where the task's text starts in its document (0 unless the task is a chunk)."""
    offset = (task.get("data") or {}).get("offset", 0)
    return offset if isinstance(offset, int) and not isinstance(offset, bool) else 0


def annotation_regions(result: list, taxonomy: Taxonomy, offset: int = 0) -> tuple[dict[str, list[str]], list[dict]]:
    """Split a result list into document-level choices and spans joined with their attributes.

    Returns ({question: [choices]}, [span]) where each span is a plain dict with
    region_id, label, start, end (document offsets: chunk offset added), text (value.text as
    exported) and one key per region attribute (None when not set). Items that are
    malformed are skipped here; `validate` is where they are reported.
    """
    doc_names = {q.name for q in taxonomy.document_choices}
    attr_names = [q.name for q in taxonomy.region_attributes]
    choices: dict[str, list[str]] = {}
    spans: dict[str, dict] = {}
    attributes: dict[str, dict[str, str]] = {}
    for item in result if isinstance(result, list) else ():
        if not isinstance(item, dict):
            continue
        value = item.get("value") if isinstance(item.get("value"), dict) else {}
        name = item.get("from_name")
        if item.get("type") == "choices" and name in doc_names and "start" not in value:
            choices.setdefault(name, []).extend(v for v in value.get("choices") or [] if isinstance(v, str))
        elif item.get("type") == "labels" and name == LABELS_NAME:
            labels = value.get("labels") or []
            start, end = value.get("start"), value.get("end")
            if not (labels and isinstance(start, int) and isinstance(end, int)):
                continue
            spans[str(item.get("id"))] = {
                "region_id": str(item.get("id")),
                "label": labels[0],
                "start": start + offset,
                "end": end + offset,
                "text": value.get("text"),
            }
        elif item.get("type") == "choices" and name in attr_names:
            picked = value.get("choices") or []
            if picked:
                attributes.setdefault(str(item.get("id")), {})[name] = picked[0]
    out = []
    for region_id, span in spans.items():
        attrs = attributes.get(region_id, {})
        out.append({**span, **{name: attrs.get(name) for name in attr_names}})
    out.sort(key=lambda s: (s["start"], s["end"], s["label"], s["region_id"]))
    return choices, out
