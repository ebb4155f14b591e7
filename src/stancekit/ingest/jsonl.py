"""The JSON Lines feed format (.jsonl): one article per line, an object with a "text" string and
optional "id", "title", "url", "published", "author". A bad line is skipped and named; the rest is kept.

Offsets are into the raw file: each character of the "text" value (a JSON escape too) covers
the bytes of the line it was written as.
"""

from __future__ import annotations

import hashlib
import json
import re

from . import article
from .decoding import byte_offsets
from .units import IngestError, Unit

EXTENSIONS = (".jsonl",)

_JSON_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_JSON_WS = re.compile(r"[ \t\n\r]*")


def _json_string_units(line: str, start: int, end: int, offsets: list[int]) -> list[Unit]:
    """Units of the JSON string literal line[start:end] (between its quotes): one per decoded
    character, an escape (a surrogate pair too) covering its raw bytes."""
    units: list[Unit] = []
    i = start
    while i < end:
        if line[i] != "\\":
            units.append((line[i], offsets[i], offsets[i + 1]))
            i += 1
            continue
        if line[i + 1] == "u":
            code, j = int(line[i + 2:i + 6], 16), i + 6
            if 0xD800 <= code < 0xDC00 and line[j:j + 2] == "\\u" and 0xDC00 <= int(line[j + 2:j + 6], 16) < 0xE000:
                code = 0x10000 + ((code - 0xD800) << 10) + (int(line[j + 2:j + 6], 16) - 0xDC00)
                j += 6
            ch = chr(code)
        else:
            ch, j = _JSON_ESCAPES[line[i + 1]], i + 2
        units.append((ch, offsets[i], offsets[j]))
        i = j
    return units


def _top_level_string(line: str, key: str) -> tuple[int, int]:
    """Start and end (code points, quotes excluded) of the last `key` string value of the JSON object `line`."""
    decoder = json.JSONDecoder()
    found = (-1, -1)
    i = _ws_end(line, 1 + _ws_end(line, 0))
    while line[i] != "}":
        name, i = decoder.raw_decode(line, i)
        i = _ws_end(line, _ws_end(line, i) + 1)  # skip ':'
        _, end = decoder.raw_decode(line, i)
        if name == key and line[i] == '"':
            found = (i + 1, end - 1)
        i = _ws_end(line, end)
        if line[i] == ",":
            i = _ws_end(line, i + 1)
    return found


def _ws_end(line: str, i: int) -> int:
    """The index of the first character at or after `i` that is not JSON whitespace."""
    m = _JSON_WS.match(line, i)
    return m.end() if m else i


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode(value: str, key: str, where: str) -> str:
    """`value`, which JSON may give with an unpaired surrogate escape ("\\ud83d"): no Unicode text holds one,
    and no file can store it (UTF-8 cannot encode it). Raises IngestError naming the field then."""
    if _SURROGATE.search(value):
        raise IngestError(f'{where}: "{key}" has an unpaired surrogate escape; line skipped')
    return value


def _optional_string(record: dict, key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return _unicode(value, key, where) if value else None
    raise IngestError(f"{where}: field {key!r} must be a string, not {type(value).__name__}")


def read(path: str, warnings: list[str], errors: list[str]) -> list[dict]:
    """One document per usable line of the feed `path` (document dicts: see `article.document`;
    ``where`` is "path:line"). A line that cannot be used (larger than MAX_ARTICLE_BYTES, not UTF-8,
    malformed JSON, not an object, no "text" string, a field of the wrong type, no text left after
    cleaning) is skipped: its one-line message is appended to `errors`.

    Raises IngestError when the file cannot be read or has no JSON line at all."""
    data = article.read(path, one_article=False)
    raw_sha = hashlib.sha256(data).hexdigest()
    documents = []
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    raw_lines = data[pos:].split(b"\n")
    for number, raw_line in enumerate(raw_lines, start=1):
        line_start, pos = pos, pos + len(raw_line) + 1
        where = f"{path}:{number}"
        if not raw_line.strip():
            continue
        try:
            if len(raw_line) > article.MAX_ARTICLE_BYTES:
                raise IngestError(f"{where}: {article.too_large(len(raw_line))}; line skipped")
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(f"{where}: not UTF-8 (byte {exc.start} of the line); line skipped") from None
            try:
                record = json.loads(line)
            except RecursionError:
                raise IngestError(f"{where}: JSON nested too deeply to be an article; line skipped") from None
            except json.JSONDecodeError as exc:
                cut = " (truncated last line?)" if number == len(raw_lines) else ""
                raise IngestError(f"{where}: malformed JSON{cut}: {exc.msg.removesuffix(' at')} at column "
                                  f"{exc.colno}; line skipped") from None
            if not isinstance(record, dict):
                raise IngestError(f"{where}: not a JSON object; line skipped")
            if not isinstance(record.get("text"), str):
                raise IngestError(f'{where}: no "text" string; line skipped')
            _unicode(record["text"], "text", where)
            start, end = _top_level_string(line, "text")
            units = _json_string_units(line, start, end, byte_offsets(line, "utf-8", line_start))
            source_id = record.get("id")
            documents.append(article.document(
                units, "utf-8", where, "jsonl", raw_sha, warnings,
                title=_optional_string(record, "title", where), url=_optional_string(record, "url", where),
                published=_optional_string(record, "published", where),
                author=_optional_string(record, "author", where),
                source_id=None if source_id is None else _unicode(str(source_id), "id", where)))
        except IngestError as exc:
            errors.append(str(exc))
    if not any(raw_line.strip() for raw_line in raw_lines):
        raise IngestError(f"{path}: empty feed: no JSON lines")
    return documents
