"""Read Label Studio JSON exports task by task, and turn annotations into plain spans.

An export is one JSON array of tasks that can reach gigabytes, so it is never loaded
whole: `iter_tasks` finds each top-level element's bytes and parses only that slice.
`annotation_regions` joins a span with its per-region choices (same region id) and
maps chunk offsets back to document offsets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from .taxonomy import LABELS_NAME, Taxonomy

CHUNK_BYTES = 1 << 20
_WHITESPACE = b" \t\r\n"
_QUOTE, _BACKSLASH = 0x22, 0x5C
_OPENS, _CLOSES = (0x7B, 0x5B), (0x7D, 0x5D)  # { [ and } ]


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


def _depth_changes(piece: bytes, in_string: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Positions of the brackets outside strings in `piece`, their depth steps (+1/-1), and the string state at its end.

    Escapes are blanked first (an escaped backslash, then an escaped quote), which keeps
    byte positions; the remaining quotes all delimit strings, so a bracket is outside a
    string when an even number of quotes precede it. `piece` never ends inside a run of backslashes.
    """
    clean = piece.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    arr = np.frombuffer(clean, dtype=np.uint8)
    quotes = np.flatnonzero(arr == _QUOTE)
    opens = (arr == _OPENS[0]) | (arr == _OPENS[1])
    brackets = np.flatnonzero(opens | (arr == _CLOSES[0]) | (arr == _CLOSES[1]))
    positions = brackets[((np.searchsorted(quotes, brackets) + in_string) & 1) == 0]
    return positions, np.where(opens[positions], 1, -1), bool((len(quotes) + in_string) & 1)


def iter_task_bytes(stream: BinaryIO, path: str | Path = "<stream>", chunk_bytes: int = CHUNK_BYTES) -> Iterator[RawTask]:
    """Yield each element of the top-level JSON array as raw bytes, in bounded memory.

    Each chunk is scanned with vectorised byte operations (no Python loop per token):
    only the brackets outside strings are visited, and only those at the top two levels
    cost a Python step.
    """
    buf = b""  # bytes not yet yielded; buf[0] is at file offset `base`
    base = 0
    scanned = 0  # buf[:scanned] has been scanned
    depth = 0
    in_string = False
    start: int | None = None  # where the current task begins in buf
    gap_from = 0  # where the bytes after the previous element begin in buf
    index = 0
    eof = False
    opened = False

    while True:
        if not eof:
            chunk = stream.read(chunk_bytes)
            if chunk:
                buf += chunk
            else:
                eof = True
        limit = len(buf)
        if not eof:  # never split a run of backslashes between two scans
            while limit > scanned and buf[limit - 1] == _BACKSLASH:
                limit -= 1
        if not opened:
            head = buf[3:] if buf.startswith(b"\xef\xbb\xbf") else buf
            stripped = head.lstrip(_WHITESPACE)
            if not stripped:
                if eof:
                    raise ExportReadError(path, "empty file: expected a JSON array of tasks")
                continue
            if len(buf) < 3 and not eof:
                continue
            first = len(buf) - len(stripped)
            if stripped[:1] != b"[":
                raise ExportReadError(path, f"not a Label Studio JSON export: expected '[' at byte {first}, found {stripped[:1]!r}")
            opened = True
            depth = 1
            scanned = gap_from = first + 1
        if limit > scanned:
            positions, steps, in_string = _depth_changes(buf[scanned:limit], in_string)
            levels = depth + np.cumsum(steps)
            # Only brackets that open or close a top-level element, or close the array, matter here.
            for k in np.flatnonzero((levels <= 1) | ((levels == 2) & (steps == 1))):
                pos = scanned + int(positions[k])
                level = int(levels[k])
                if level == 2:  # a task opens
                    gap = buf[gap_from:pos].strip(_WHITESPACE)
                    if gap != (b"," if index else b"") or buf[pos] != _OPENS[0]:
                        raise ExportReadError(path, f"task {index} at byte {base + gap_from} is not a JSON object")
                    start = pos
                elif level == 1:  # a task closes
                    yield RawTask(index, base + start, buf[start:pos + 1])
                    index += 1
                    start = None
                    gap_from = pos + 1
                else:  # the array closes
                    gap = buf[gap_from:pos].strip(_WHITESPACE)
                    if gap and (gap != b"," or index == 0) or buf[pos] != _CLOSES[1]:
                        raise ExportReadError(path, f"task {index} at byte {base + gap_from} is not a JSON object")
                    trailing = buf[pos + 1:].strip(_WHITESPACE)
                    while not trailing and not eof:
                        chunk = stream.read(chunk_bytes)
                        eof = not chunk
                        trailing = chunk.strip(_WHITESPACE)
                    if trailing:
                        raise ExportReadError(path, f"unexpected data after the closing ']' at byte {base + pos + 1}")
                    return
            depth = int(levels[-1]) if len(levels) else depth
            scanned = limit
        if eof:
            raise ExportReadError(path, f"truncated: the JSON array is not closed (read {index} complete tasks, {base + len(buf)} bytes)")
        keep = start if start is not None else gap_from
        buf = buf[keep:]
        base += keep
        scanned -= keep
        gap_from -= keep
        if start is not None:
            start = 0


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
