"""Ingest raw articles (.txt, .html, .jsonl) into clean documents that keep a map to the raw bytes.

Per article: decode the bytes into characters that each remember the raw byte range they came
from -> line endings to ``\\n`` -> Unicode NFC -> line-level cleaning rules that only ever
delete (scraped boilerplate, repeated paragraphs, indentation, extra blank lines) -> text,
title, and an offset map. Exact and near-duplicate documents are kept once.

A character of the pipeline is a *unit* ``(text, raw_start, raw_end)``: ``text`` is one clean
code point, or several when NFC composes or expands (they stay together), and the raw byte
range it was decoded from. Separators the HTML extractor inserts between blocks have an
empty raw range.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = {".txt": "txt", ".html": "html", ".htm": "html", ".jsonl": "jsonl"}
NEAR_DUPLICATE_JACCARD = 0.9
SHINGLE_WORDS = 5
# Cleaning keeps a map entry per character (~150 bytes of memory per raw byte), so one article
# (a .txt or .html file, a JSONL line) larger than this is refused: memory stays bounded.
MAX_ARTICLE_BYTES = 8 << 20

Unit = tuple[str, int, int]


class IngestError(ValueError):
    """One input (a file, or a line of a JSONL feed) that cannot be ingested; the message is one line."""


@dataclass
class IngestResult:
    """Documents (dicts with the documents.parquet columns, plus ``where``: the file, or file:line
    of a JSONL feed, for messages), warnings, and errors for the inputs that were skipped."""

    documents: list[dict]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Decoding: bytes -> units


def _decode(data: bytes, where: str, warnings: list[str]) -> tuple[str, str, int]:
    """Return (text, encoding, byte offset of the text): UTF-8 (BOM skipped), else cp1252 with a warning.

    UTF-8 text cut inside its last character (a truncated download) stays UTF-8, with a warning."""
    if b"\x00" in data:
        raise IngestError(f"{where}: contains NUL bytes: binary or UTF-16, not a text article")
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[start:].decode("utf-8"), "utf-8", start
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if utf8_error.reason == "unexpected end of data":  # valid UTF-8 up to a last character cut short
        cut = data[start:start + utf8_error.start].decode("utf-8")
        if not cut.isascii():  # an ASCII prefix proves nothing: cp1252 text may end in such a byte
            warnings.append(f"{where}: ends inside a UTF-8 character (truncated?); its last "
                            f"{len(data) - start - utf8_error.start} byte(s) dropped")
            return cut, "utf-8", start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise IngestError(
            f"{where}: neither UTF-8 (byte {utf8_error.start}) nor cp1252: cannot decode") from None
    warnings.append(f"{where}: not UTF-8 (byte {utf8_error.start}), decoded as cp1252")
    return text, "cp1252", 0


def _byte_offsets(text: str, encoding: str, base: int) -> list[int]:
    """Raw byte offset of each character of `text`, plus one past the end."""
    if encoding == "cp1252" or text.isascii():
        return list(range(base, base + len(text) + 1))
    widths = (1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4 for o in map(ord, text))
    return list(itertools.accumulate(widths, initial=base))


def _units_of(text: str, offsets: list[int], start: int = 0, end: int | None = None) -> list[Unit]:
    end = len(text) if end is None else end
    return [(text[i], offsets[i], offsets[i + 1]) for i in range(start, end)]


def _unify_line_endings(units: list[Unit]) -> list[Unit]:
    """CR LF and lone CR become one LF unit that covers the raw bytes."""
    out: list[Unit] = []
    for unit in units:
        if unit[0] == "\n" and out and out[-1][0] == "\r" and out[-1][2] == unit[1]:
            out[-1] = ("\n", out[-1][1], unit[2])
        else:
            out.append(unit)
    return [("\n", u[1], u[2]) if u[0] == "\r" else u for u in out]


def _nfc(units: list[Unit]) -> list[Unit]:
    """Normalise to NFC. Each segment (a starter and its combining marks) that NFC changes
    becomes one unit covering its raw bytes; unchanged characters stay separate units.
    Whitespace is its own segment, so stripping whitespace never cuts a unit."""
    if unicodedata.is_normalized("NFC", "".join(u[0] for u in units)):
        return units
    segments: list[list[Unit]] = []
    for unit in units:
        starter = unicodedata.combining(unit[0][0]) == 0
        if segments and not starter and not segments[-1][-1][0].isspace():
            segments[-1].append(unit)
        else:
            segments.append([unit])
    merged: list[list[Unit]] = []
    for seg in segments:  # starters that compose with the previous segment (Hangul jamo, some Indic vowels)
        if merged:
            before, this = "".join(u[0] for u in merged[-1]), "".join(u[0] for u in seg)
            if unicodedata.normalize("NFC", before + this) != (
                    unicodedata.normalize("NFC", before) + unicodedata.normalize("NFC", this)):
                merged[-1].extend(seg)
                continue
        merged.append(seg)
    out: list[Unit] = []
    for seg in merged:
        text = "".join(u[0] for u in seg)
        normal = unicodedata.normalize("NFC", text)
        if normal == text:
            out.extend(seg)
        else:
            out.append((normal, min(u[1] for u in seg), max(u[2] for u in seg)))
    return out


# ---------------------------------------------------------------------------------------------
# Lines and cleaning rules (deletions only)


@dataclass
class Line:
    units: list[Unit]
    newline: Unit | None  # the unit that ends the line; None for the last line

    @cached_property
    def text(self) -> str:
        return "".join(u[0] for u in self.units)

    @cached_property
    def words(self) -> int:
        return len(self.text.split())


def _split_lines(units: list[Unit]) -> list[Line]:
    lines, current = [], []
    for unit in units:
        if unit[0] == "\n":
            lines.append(Line(current, unit))
            current = []
        else:
            current.append(unit)
    lines.append(Line(current, None))
    return lines


def _strip(lines: list[Line]) -> list[Line]:
    """Leading indentation and trailing whitespace: scraping noise in a plain-text article."""
    out = []
    for line in lines:
        units = line.units
        lo, hi = 0, len(units)
        while lo < hi and units[lo][0].isspace():
            lo += 1
        while hi > lo and units[hi - 1][0].isspace():
            hi -= 1
        out.append(line if (lo, hi) == (0, len(units)) else Line(units[lo:hi], line.newline))
    return out


_MARKDOWN_WRAP = re.compile(r"^(\*\*|__)(?!\1)(.+?)\1$")


def _unwrap_markdown(lines: list[Line]) -> list[Line]:
    """A whole line in **bold** (a scraped heading) loses its markers."""
    out = []
    for line in lines:
        m = _MARKDOWN_WRAP.match(line.text)
        width = len(m.group(1)) if m and "**" not in m.group(2) else 0
        marks = line.units[:width] + line.units[-width:] if width else []
        if width and all(len(u[0]) == 1 for u in marks):  # each marker is a unit of its own
            line = Line(line.units[width:-width], line.newline)
        out.append(line)
    return out


_CONSENT_HEADING = re.compile(
    r"^(customi[sz]e|manage)( your)? (consent|cookie|privacy) (preferences|settings)$"
    r"|^(cookie|privacy|consent) (settings|preferences|notice|consent)$"
    r"|^(we|this (web)?site) uses? cookies\b", re.I)
_CONSENT_LINE = re.compile(r"cookie|consent", re.I)
_CONSENT_CONTROL = re.compile(
    r"^(always active|(accept|reject|allow|deny)( all)?( cookies)?|save( my)? preferences|"
    r"necessary|functional|analytics|performance|advertisement|uncategori[sz]ed|"
    r"show (more|less|details)|powered by .{1,40})\.?$", re.I)


def _drop_consent_banners(lines: list[Line]) -> list[Line]:
    """A cookie/consent banner: its heading and the lines after it that speak of cookies or
    consent, or are banner controls ("Always Active", "Accept all")."""
    out: list[Line] = []
    in_banner = False
    for line in lines:
        text = line.text
        if _CONSENT_HEADING.search(text):
            in_banner = True
        elif in_banner and text and not (_CONSENT_LINE.search(text) or _CONSENT_CONTROL.match(text)):
            in_banner = False
        if not in_banner:
            out.append(line)
    return out


_RELATED_HEADING = re.compile(
    r"^((related|recent|popular|latest|more|recommended|trending|top)"
    r" (posts?|articles?|stories|news|reads?)|you (may|might) also like|read next|most (read|popular)):?$",
    re.I)
TEASER_MAX_WORDS = 25


def _drop_related_lists(lines: list[Line]) -> list[Line]:
    """A "Related Posts"/"Recent Posts" list: its heading and the short lines that follow it
    (teaser headlines, blurbs, "14 minutes ago"), up to the next body-length paragraph."""
    out: list[Line] = []
    in_list = False
    for line in lines:
        if _RELATED_HEADING.match(line.text):
            in_list = True
        elif in_list and line.words >= TEASER_MAX_WORDS:
            in_list = False
        if not in_list:
            out.append(line)
    return out


_COUNTER = re.compile(r"^\d[\d.,]*[km]?$", re.I)
_COUNTED = re.compile(r"^(by\s+.{1,80}?\s+)?\d[\d.,]*[km]?\s+(views?|likes?|shares?|comments?|reads?)$", re.I)
_SHARE = re.compile(
    r"^(share|tweet|email|print|pin|like)( (this|the) (post|article|story|page))?( on [\w ]{1,20})?:?$", re.I)
_TAXONOMY_LINE = re.compile(r"^(categor(y|ies)|tags?|filed under|posted in)\s*:.{0,100}$", re.I)
_SEE_MORE = re.compile(r"^(see|read|view) more\b[^.!?]{0,60}$", re.I)


def _drop_chrome(lines: list[Line]) -> list[Line]:
    """Single lines of page chrome: lone counters ("0"), "36 views" (with its "by NAME" byline),
    share buttons ("Share This Post"), "Categories: ...", "See more ... News"."""
    patterns = (_COUNTER, _COUNTED, _SHARE, _TAXONOMY_LINE, _SEE_MORE)
    return [line for line in lines if not any(p.match(line.text) for p in patterns)]


REPEAT_MIN_WORDS = 4


def _drop_repeats(lines: list[Line]) -> list[Line]:
    """A paragraph or heading of at least REPEAT_MIN_WORDS words that repeats an earlier line
    (a heading scraped twice, a body pasted twice): the first occurrence is kept."""
    seen: set[str] = set()
    out: list[Line] = []
    for line in lines:
        if line.words >= REPEAT_MIN_WORDS:
            key = " ".join(line.text.split())
            if key in seen:
                continue
            seen.add(key)
        out.append(line)
    return out


CLEANING_RULES = (_strip, _unwrap_markdown, _drop_consent_banners, _drop_related_lists,
                  _drop_chrome, _drop_repeats)


def _assemble(lines: list[Line]) -> list[Unit]:
    """Drop blank lines at both ends, collapse runs of blank lines to one, join with the raw newlines."""
    kept: list[Line] = []
    for line in lines:
        if not line.units and (not kept or not kept[-1].units):
            continue
        kept.append(line)
    while kept and not kept[-1].units:
        kept.pop()
    units: list[Unit] = []
    for i, line in enumerate(kept):
        units.extend(line.units)
        if i + 1 < len(kept):
            units.append(line.newline)
    return units


def clean_units(units: list[Unit]) -> tuple[list[Unit], list[Line]]:
    """Line endings, NFC and every cleaning rule; returns the clean units and the clean lines."""
    lines = _split_lines(_nfc(_unify_line_endings(units)))
    for rule in CLEANING_RULES:
        lines = rule(lines)
    out = _assemble(lines)
    return out, [line for line in _split_lines(out) if line.units]


TITLE_MAX_WORDS = 20


def _title(lines: list[Line]) -> str:
    """The first line that reads as a heading (short, no closing punctuation), else the first line."""
    for line in lines:
        text = line.text
        if line.words <= TITLE_MAX_WORDS and not re.search(r"[.,;:…]$", text):
            return text
    return lines[0].text if lines else ""


# ---------------------------------------------------------------------------------------------
# Offset map


def offset_map(units: list[Unit], encoding: str) -> dict:
    """Run-length encode the units: run r covers count[r] units, each clean_step[r] code points
    and raw_step[r] bytes, starting at clean[r] and raw[r]; runs are split where raw bytes were dropped."""
    runs: dict[str, list[int]] = {k: [] for k in ("clean", "raw", "clean_step", "raw_step", "count")}
    pos = 0
    for text, start, end in units:
        n, width = len(text), end - start
        if (runs["count"] and runs["clean_step"][-1] == n and runs["raw_step"][-1] == width
                and runs["raw"][-1] + runs["count"][-1] * width == start):
            runs["count"][-1] += 1
        else:
            for key, value in zip(runs, (pos, start, n, width, 1)):
                runs[key].append(value)
        pos += n
    return {"encoding": encoding, **runs}


def _locate(omap: dict, index: int) -> tuple[int, int, int, int]:
    """The unit that holds clean code point `index`: (clean start, clean end, raw start, raw end)."""
    r = bisect.bisect_right(omap["clean"], index) - 1
    step, rstep = int(omap["clean_step"][r]), int(omap["raw_step"][r])
    k = (index - int(omap["clean"][r])) // step
    clean = int(omap["clean"][r]) + k * step
    raw = int(omap["raw"][r]) + k * rstep
    return clean, clean + step, raw, raw + rstep


def _clean_length(omap: dict) -> int:
    if not len(omap["clean"]):
        return 0
    return int(omap["clean"][-1]) + int(omap["count"][-1]) * int(omap["clean_step"][-1])


def to_raw_offsets(omap: dict, start: int, end: int) -> tuple[int, int]:
    """Map the clean span [start, end) (code points) to the raw file's bytes [raw_start, raw_end).

    The range runs from the first byte of the unit holding `start` to the last byte of the unit
    holding `end - 1`. Guarantee (property-tested): with `raw_pieces`, for any span,
    ``text[s:e] == "".join(normalise(raw[a:b]) for s, e, a, b in raw_pieces(...))`` where
    [s, e) is the span widened to whole units (it differs from [start, end) only when the span
    cuts a unit that NFC composed or expanded) and normalise = decode with ``omap["encoding"]``,
    CR LF / CR -> LF, NFC (for HTML also entity unescape and whitespace collapse, for JSONL the
    JSON string unescape); pieces with an empty raw range are inserted block separators.
    When cleaning dropped nothing inside the span there is one piece, so
    ``normalise(raw[raw_start:raw_end]) == text[start:end]``. An empty span maps to an empty range.
    """
    total = _clean_length(omap)
    if not 0 <= start <= end <= total:
        raise ValueError(f"span [{start}, {end}) is outside the document (length {total})")
    if start == end:
        pos = _locate(omap, start)[2] if start < total else _locate(omap, total - 1)[3] if total else 0
        return pos, pos
    return _locate(omap, start)[2], _locate(omap, end - 1)[3]


def raw_pieces(omap: dict, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The span [start, end) widened to whole units, as maximal pieces (clean start, clean end,
    raw start, raw end) whose raw bytes are contiguous; see `to_raw_offsets`."""
    to_raw_offsets(omap, start, end)  # range check
    pieces: list[list[int]] = []
    index = start
    while index < end:
        cs, ce, rs, re_ = _locate(omap, index)
        if pieces and pieces[-1][1] == cs and pieces[-1][3] == rs and rs != re_:
            pieces[-1][1], pieces[-1][3] = ce, re_
        else:
            pieces.append([cs, ce, rs, re_])
        index = ce
    return [tuple(p) for p in pieces]


# ---------------------------------------------------------------------------------------------
# Formats


def _too_large(size: int) -> str:
    return f"{size} bytes, more than the {MAX_ARTICLE_BYTES >> 20} MiB one article may have"


def _read(path: str, one_article: bool = True) -> bytes:
    """The file's bytes; an article file larger than MAX_ARTICLE_BYTES is refused without reading it."""
    try:
        size = os.stat(path).st_size
        if one_article and size > MAX_ARTICLE_BYTES:
            raise IngestError(f"{path}: {_too_large(size)}; skipped")
        return Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _document(units: list[Unit], encoding: str, source: str, source_format: str, raw_sha256: str,
              *, title: str | None = None, url: str | None = None, published: str | None = None,
              source_id: str | None = None) -> dict:
    units, lines = clean_units(units)
    text = "".join(u[0] for u in units)
    if not text:
        raise IngestError(f"{source}: empty article: no text left after cleaning; skipped")
    text_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    title = " ".join(unicodedata.normalize("NFC", title).split()) if title else ""
    return {
        "doc_id": "doc_" + text_sha[:16], "title": title or _title(lines), "text": text,
        "where": source,  # file, or file:line for JSONL; for messages, not a column
        "source_file": None, "source_format": source_format, "source_id": source_id,
        "url": url, "published": published, "raw_sha256": raw_sha256, "text_sha256": text_sha,
        "offset_map": offset_map(units, encoding),
    }


def _ingest_txt(path: str, warnings: list[str]) -> list[dict]:
    data = _read(path)
    text, encoding, base = _decode(data, path, warnings)
    units = _units_of(text, _byte_offsets(text, encoding, base))
    return [_document(units, encoding, path, "txt", hashlib.sha256(data).hexdigest())]


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
    i = _JSON_WS.match(line, 1 + _JSON_WS.match(line).end()).end()
    while line[i] != "}":
        name, i = json.decoder.scanstring(line, i + 1)
        i = _JSON_WS.match(line, _JSON_WS.match(line, i).end() + 1).end()  # skip ':'
        if line[i] == '"':
            _, end = json.decoder.scanstring(line, i + 1)
            if name == key:
                found = (i + 1, end - 1)
        else:
            _, end = decoder.raw_decode(line, i)
        i = _JSON_WS.match(line, end).end()
        if line[i] == ",":
            i = _JSON_WS.match(line, i + 1).end()
    return found


def _optional_string(record: dict, key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise IngestError(f"{where}: field {key!r} must be a string, not {type(value).__name__}")


def _ingest_jsonl(path: str, warnings: list[str], errors: list[str]) -> list[dict]:
    data = _read(path, one_article=False)
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
            if len(raw_line) > MAX_ARTICLE_BYTES:
                raise IngestError(f"{where}: {_too_large(len(raw_line))}; line skipped")
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
            if any(0xD800 <= ord(c) < 0xE000 for c in record["text"]):
                raise IngestError(f'{where}: "text" has an unpaired surrogate escape; line skipped')
            start, end = _top_level_string(line, "text")
            units = _json_string_units(line, start, end, _byte_offsets(line, "utf-8", line_start))
            source_id = record.get("id")
            documents.append(_document(
                units, "utf-8", where, "jsonl", raw_sha,
                title=_optional_string(record, "title", where), url=_optional_string(record, "url", where),
                published=_optional_string(record, "published", where),
                source_id=None if source_id is None else str(source_id)))
        except IngestError as exc:
            errors.append(str(exc))
    if not any(raw_line.strip() for raw_line in raw_lines):
        raise IngestError(f"{path}: empty feed: no JSON lines")
    return documents


class _ArticleExtractor(HTMLParser):
    """Collect the text blocks of an HTML page as units, skipping page chrome."""

    SKIP_TAGS = {"head", "script", "style", "noscript", "template", "svg", "nav", "aside", "form",
                 "iframe", "button", "select", "footer", "dialog", "object", "canvas"}
    SKIP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search"}
    SKIP_CLASS = re.compile(
        r"(^|[\s_-])(cookies?|consent|gdpr|share|sharing|social|related|recommended|newsletter|"
        r"subscribe|comments?|breadcrumbs?|sidebar|promo|advert|advertisement|ads?|popup|modal|"
        r"nav|navbar|menu)($|[\s_-])", re.I)
    STRUCTURAL = {"html", "body", "main", "article"}
    BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5",
                  "h6", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "td",
                  "th", "figure", "figcaption", "hr", "address", "details", "summary", "body"}
    VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                 "source", "track", "wbr", "param"}
    WHITESPACE = " \t\n\r\f"

    def __init__(self, text: str, offsets: list[int]):
        super().__init__(convert_charrefs=False)
        self.source, self.offsets = text, offsets
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.open_articles: list[int] = []  # ordinals of the <article> elements we are in
        self.articles = 0
        self.skipping = 0
        self.blocks: list[tuple[str, list[Unit]]] = []  # (scope, units)
        self.current: list[Unit] = []
        self.h1_parts: list[str] | None = None  # raw pieces of the open <h1>
        self.h1s: list[tuple[str, str]] = []  # (scope, text) of each <h1>
        self.url = self.published = None

    def _index(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _scope(self) -> str:
        if self.open_articles:
            return f"article {self.open_articles[0]}"
        return "main" if "main" in {tag for tag, _ in self.stack} else "body"

    def _end_block(self) -> None:
        while self.current and self.current[-1][0] == " ":
            self.current.pop()
        if self.current:
            self.blocks.append((self._scope(), self.current))
        self.current = []

    def _skip(self, tag: str, attrs: dict) -> bool:
        if tag in self.SKIP_TAGS or "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return True
        if tag == "header" and "article" not in {t for t, _ in self.stack}:
            return True
        if attrs.get("role") in self.SKIP_ROLES:
            return True
        marks = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        return tag not in self.STRUCTURAL and bool(self.SKIP_CLASS.search(marks))

    def handle_starttag(self, tag, attrs):
        attrs = {k: v for k, v in attrs}
        if tag == "meta" and attrs.get("content"):
            prop = attrs.get("property") or attrs.get("name") or ""
            if prop == "og:url" and not self.url:
                self.url = attrs["content"]
            elif prop in ("article:published_time", "date", "datePublished") and not self.published:
                self.published = attrs["content"]
        elif tag == "link" and (attrs.get("rel") or "").lower() == "canonical" and attrs.get("href"):
            self.url = attrs["href"]
        elif tag == "time" and attrs.get("datetime") and not self.published and not self.skipping:
            self.published = attrs["datetime"]
        if tag == "br" and not self.skipping:
            pos = self.offsets[self._index()]
            self.current.append(("\n", pos, pos))
        if tag in self.BLOCK_TAGS and not self.skipping:
            self._end_block()
        if tag in self.VOID_TAGS:
            return
        skipped = self._skip(tag, attrs)
        self.stack.append((tag, skipped))
        self.skipping += skipped
        if tag == "article":
            self.articles += 1
            self.open_articles.append(self.articles)
        if tag == "h1" and not self.skipping:
            self.h1_parts = []

    def handle_endtag(self, tag):
        if tag not in {t for t, _ in self.stack}:
            return
        if tag in self.BLOCK_TAGS and not self.skipping:
            self._end_block()
        while self.stack:
            name, skipped = self.stack.pop()
            self.skipping -= skipped
            if name == "article":
                self.open_articles.pop()
            if name == "h1" and self.h1_parts is not None:
                self.h1s.append((self._scope(), html.unescape("".join(self.h1_parts))))
                self.h1_parts = None
            if name == tag:
                break

    def _text(self, raw: str, decoded: str) -> None:
        if self.skipping:
            return
        if self.h1_parts is not None:
            self.h1_parts.append(raw)
        start = self._index()
        if decoded != raw:  # a character reference: one unit (rarely two code points)
            chars = [(decoded, self.offsets[start], self.offsets[start + len(raw)])]
        else:
            chars = _units_of(self.source, self.offsets, start, start + len(raw))
        for ch, a, b in chars:
            if ch not in self.WHITESPACE:
                self.current.append((ch, a, b))
            elif self.current and self.current[-1][0] == " " and self.current[-1][2] == a:
                self.current[-1] = (" ", self.current[-1][1], b)  # extend the collapsed run
            elif self.current and self.current[-1][0] not in " \n":
                self.current.append((" ", a, b))

    def handle_data(self, data):
        self._text(data, data)

    def handle_entityref(self, name):
        start = self._index()
        raw = "&" + name + (";" if self.source.startswith(";", start + 1 + len(name)) else "")
        self._text(raw, html.unescape(raw if raw.endswith(";") else raw + ";"))

    def handle_charref(self, name):
        start = self._index()
        raw = "&#" + name + (";" if self.source.startswith(";", start + 2 + len(name)) else "")
        self._text(raw, html.unescape(raw if raw.endswith(";") else raw + ";"))

    def article(self) -> tuple[list[Unit], str | None]:
        """The blocks of the longest <article> (teaser cards are articles too), else of <main>,
        else all blocks, separated by a blank line; and the text of its first <h1>."""
        self._end_block()
        sizes: dict[str, int] = {}
        for scope, block in self.blocks:
            sizes[scope] = sizes.get(scope, 0) + len(block)
        articles = [s for s in sizes if s.startswith("article")]
        scope = max(articles, key=sizes.get) if articles else "main" if "main" in sizes else "body"
        units: list[Unit] = []
        for block_scope, block in self.blocks:
            if block_scope != scope:
                continue
            if units:
                pos = units[-1][2]
                units += [("\n", pos, pos), ("\n", pos, pos)]
            units += block
        titles = [text for h1_scope, text in self.h1s if h1_scope == scope] + [text for _, text in self.h1s]
        return units, next((t for t in titles if t.strip()), None)


def _ingest_html(path: str, warnings: list[str]) -> list[dict]:
    data = _read(path)
    text, encoding, base = _decode(data, path, warnings)
    parser = _ArticleExtractor(text, _byte_offsets(text, encoding, base))
    parser.feed(text)
    parser.close()
    units, title = parser.article()
    return [_document(units, encoding, path, "html", hashlib.sha256(data).hexdigest(),
                      title=title, url=parser.url, published=parser.published)]


# ---------------------------------------------------------------------------------------------
# Inputs, duplicates, output


def expand_inputs(paths: list[str | Path]) -> tuple[list[str], list[str]]:
    """Sorted input files (a directory contributes its .txt/.html/.htm/.jsonl files) and errors."""
    files, errors = set(), []
    for given in map(str, paths):
        path = Path(given)
        if path.is_dir():
            files.update(str(p) for p in path.iterdir() if p.suffix.lower() in FORMATS and p.is_file())
        elif path.suffix.lower() not in FORMATS:
            errors.append(f"{given}: unsupported file type (expected .txt, .html, .htm or .jsonl)")
        else:
            files.add(given)
    return sorted(files), errors


def _shingles(text: str) -> list[int]:
    """Word 5-shingles as sorted hashes (a global order for prefix filtering)."""
    words = re.findall(r"\w+", text.casefold())
    n = min(SHINGLE_WORDS, len(words))
    grams = {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)} if words else set()
    return sorted(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams)


def drop_duplicates(documents: list[dict]) -> tuple[list[dict], list[str]]:
    """Keep the first of exact (same text) and near duplicates (Jaccard of word 5-shingles >= 0.9).

    Candidates come from prefix filtering: two sets with Jaccard >= t share one of the first
    len - ceil(t * len) + 1 elements of each (in one global order), so no pair is missed
    and the corpus is not compared pair by pair."""
    kept: list[dict] = []
    shingle_sets: list[set[int]] = []
    by_text: dict[str, int] = {}
    by_prefix: dict[int, list[int]] = {}
    notes = []
    for doc in documents:
        if doc["text_sha256"] in by_text:
            first = kept[by_text[doc["text_sha256"]]]
            notes.append(f"{doc['where']}: exact duplicate of {first['where']}; kept the first")
            continue
        shingles = _shingles(doc["text"])
        prefix = shingles[:len(shingles) - math.ceil(NEAR_DUPLICATE_JACCARD * len(shingles)) + 1]
        candidates = sorted({i for h in prefix for i in by_prefix.get(h, ())})
        mine = set(shingles)
        for i in candidates:
            jaccard = len(mine & shingle_sets[i]) / len(mine | shingle_sets[i])
            if jaccard >= NEAR_DUPLICATE_JACCARD:
                notes.append(f"{doc['where']}: near duplicate of {kept[i]['where']} "
                             f"(Jaccard {jaccard:.2f}); kept the first")
                break
        else:
            by_text[doc["text_sha256"]] = len(kept)
            for h in prefix:
                by_prefix.setdefault(h, []).append(len(kept))
            kept.append(doc)
            shingle_sets.append(mine)
    return kept, notes


def ingest(paths: list[str | Path], progress: Callable[[int, int], None] | None = None) -> IngestResult:
    """Read and clean every input; one document per .txt/.html file and per JSONL line.

    `progress`, when given, is called with (files done, files) before and after each file."""
    files, errors = expand_inputs(paths)
    warnings: list[str] = []
    documents: list[dict] = []
    for done, path in enumerate(files):
        if progress is not None:
            progress(done, len(files))
        try:
            fmt = FORMATS[Path(path).suffix.lower()]
            if fmt == "jsonl":
                docs = _ingest_jsonl(path, warnings, errors)
            elif fmt == "html":
                docs = _ingest_html(path, warnings)
            else:
                docs = _ingest_txt(path, warnings)
        except IngestError as exc:
            errors.append(str(exc))
            continue
        for doc in docs:
            doc["source_file"] = path
        documents.extend(docs)
    if progress is not None:
        progress(len(files), len(files))
    documents, notes = drop_duplicates(documents)
    return IngestResult(documents, warnings + notes, errors)


_INT_LIST = pa.list_(pa.int64())
SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("title", pa.string()), ("text", pa.string()),
    ("source_file", pa.string()), ("source_format", pa.string()), ("source_id", pa.string()),
    ("url", pa.string()), ("published", pa.string()), ("raw_sha256", pa.string()),
    ("text_sha256", pa.string()),
    ("offset_map", pa.struct([("encoding", pa.string()), ("clean", _INT_LIST), ("raw", _INT_LIST),
                              ("clean_step", _INT_LIST), ("raw_step", _INT_LIST), ("count", _INT_LIST)])),
])


def documents_table(documents: list[dict]) -> pa.Table:
    """The documents.parquet table; rows in input order (sorted by source file, then position)."""
    return pa.Table.from_pylist(documents, schema=SCHEMA)


def write_documents(documents: list[dict], out: str | Path) -> None:
    """Write documents.parquet atomically (temp file + rename), byte-identical for the same input."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # same directory, so the rename is atomic
    try:
        pq.write_table(documents_table(documents), tmp, compression="zstd")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
