"""Ingest raw articles (.txt, .html, .jsonl) into clean documents that keep a map to the raw bytes.

Per article: decode the bytes (BOM, declared charset, UTF-8, detection) into characters that
each remember the raw byte range they came from -> line endings to ``\\n`` -> mojibake repaired
-> invisible format characters deleted -> Unicode NFC -> line-level cleaning rules that only ever
delete (page chrome by kind from chrome.yaml, repeated paragraphs, indentation, extra blank
lines) -> text, title, an offset map, and the list of removed stretches. Exact and
near-duplicate documents are kept once.

A character of the pipeline is a *unit* ``(text, raw_start, raw_end)``: ``text`` is one clean
code point, or several when NFC composes or expands (they stay together), and the raw byte
range it was decoded from. Separators the HTML extractor inserts between blocks have an
empty raw range.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import html
import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

import charset_normalizer
import ftfy
import ftfy.bad_codecs
import ftfy.badness
import pyarrow as pa
import pyarrow.parquet as pq
import webencodings
import yaml

from . import columns
from ._files import atomic_path
from .errors import InputError

FORMATS = {".txt": "txt", ".html": "html", ".htm": "html", ".jsonl": "jsonl"}
NEAR_DUPLICATE_JACCARD = 0.9
SHINGLE_WORDS = 5
# Cleaning keeps a map entry per character (~150 bytes of memory per raw byte), so one article
# (a .txt or .html file, a JSONL line) larger than this is refused: memory stays bounded.
MAX_ARTICLE_BYTES = 8 << 20

Unit = tuple[str, int, int]


class IngestError(InputError):
    """One input (a file, or a line of a JSONL feed) that cannot be ingested; the message is one line."""


@dataclass
class IngestResult:
    """Documents (dicts with the documents.parquet columns, plus ``where``: the file, or file:line
    of a JSONL feed, for messages, and ``removals``), warnings, errors for the inputs that were
    skipped, and the removal report: one dict per removed stretch (REPORT_FIELDS)."""

    documents: list[dict]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    report: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Decoding: bytes -> units


# Encodings a web page without a usable declaration may be in: the legacy encodings of the WHATWG
# Encoding Standard (as Python codecs). Detection chooses among these only.
WEB_ENCODINGS = (
    "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
    "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_10",
    "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r", "koi8_u", "mac_cyrillic", "cp866",
    "gb18030", "big5", "euc_jp", "shift_jis", "euc_kr", "iso2022_jp",
)
DETECT_MAX_CHAOS = 0.1  # charset-normalizer's mess ratio above which a detected encoding is not believed
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([^\s"'>;/]+)""", re.I)
_UTF8_BOM = b"\xef\xbb\xbf"


def _declared_codec(data: bytes, where: str, warnings: list[str]) -> str | None:
    """The Python codec of the charset an HTML page declares (``<meta charset>`` or ``http-equiv``
    Content-Type) in its first 1024 bytes, its label mapped as the WHATWG Encoding Standard does
    (``latin1``/``ascii`` -> windows-1252, ``utf-16*`` -> UTF-8); None when none is declared."""
    match = _META_CHARSET.search(data[:1024])
    if not match:
        return None
    label = match.group(1).decode("ascii", "replace")
    encoding = webencodings.lookup(label)
    if encoding is None:
        warnings.append(f"{where}: declares an unknown charset {label!r}; ignored")
        return None
    if encoding.name == "replacement":  # ISO-2022-KR, HZ and the like: the standard decodes them to nothing
        raise IngestError(f"{where}: declares the charset {label!r}, which the WHATWG Encoding Standard "
                          "does not decode; refused")
    if encoding.name in ("utf-16be", "utf-16le"):  # a page that decodes its own meta tag is not UTF-16
        return "utf-8"
    if encoding.name == "x-user-defined":
        return "cp1252"
    return encoding.codec_info.name


def _bad_stretch(text: str) -> str | None:
    """The first stretch of `text` that ftfy's heuristic takes for mojibake, with some context; else None."""
    match = ftfy.badness.BADNESS_RE.search(text)
    if not match or not ftfy.badness.is_bad(text):
        return None
    start, end = max(0, match.start() - 10), match.end() + 10
    return " ".join(text[start:end].split())


def _detect(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most plausible among WEB_ENCODINGS, None when none is
    convincing: the best decodes with more than DETECT_MAX_CHAOS chaos, or several tie and none
    shows a language.

    Encodings that decode the bytes to the same text, or tie on chaos and coherence, are told
    apart by the order of WEB_ENCODINGS (windows-1252 and windows-1251 first, as browsers fall back)."""
    matches = list(charset_normalizer.from_bytes(data, cp_isolation=list(WEB_ENCODINGS)))
    if not matches or matches[0].chaos > DETECT_MAX_CHAOS:
        return None
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if best.coherence == 0 and len(tied) > 1:
        return None
    names = {name for m in tied for name in m.could_be_from_charset}
    return next((e for e in WEB_ENCODINGS if e in names), best.encoding)


def _decode(data: bytes, where: str, warnings: list[str], html_page: bool = False) -> tuple[str, str, int]:
    """Return (text, Python codec, byte offset of the text in `data`).

    Order: a UTF-8 BOM; for HTML, the declared charset; UTF-8; else charset-normalizer's choice
    among WEB_ENCODINGS, with a warning naming it. UTF-8 text cut inside its last character (a
    truncated download) stays UTF-8, with a warning. Raises IngestError (one line) for binary
    input, when no encoding fits, and when the decoded text looks like mojibake (ftfy's heuristic).
    """
    if b"\x00" in data:
        raise IngestError(f"{where}: contains NUL bytes: binary or UTF-16, not a text article")
    start = 3 if data.startswith(_UTF8_BOM) else 0
    declared = _declared_codec(data, where, warnings) if html_page and not start else None
    if declared and declared != "utf-8":
        try:
            text = data.decode(declared)
        except UnicodeDecodeError as exc:
            warnings.append(f"{where}: not in the charset it declares ({declared}, byte {exc.start}); declaration ignored")
        else:
            bad = _bad_stretch(text)
            if bad and not data.isascii() and _is_utf8(data):
                warnings.append(f"{where}: declares {declared} but is UTF-8 ({declared} gives {bad!r}); decoded as UTF-8")
                return data.decode("utf-8"), "utf-8", 0
            if bad:
                raise IngestError(f"{where}: decoded as the declared {declared} it looks like mojibake ({bad!r}); refused")
            return text, declared, 0
    try:
        return data[start:].decode("utf-8"), "utf-8", start
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if utf8_error.reason == "unexpected end of data":  # valid UTF-8 up to a last character cut short
        cut = data[start:start + utf8_error.start].decode("utf-8")
        if not cut.isascii():  # an ASCII prefix proves nothing: legacy text may end in such a byte
            warnings.append(f"{where}: ends inside a UTF-8 character (truncated?); its last "
                            f"{len(data) - start - utf8_error.start} byte(s) dropped")
            return cut, "utf-8", start
    not_utf8 = f"not UTF-8 (byte {start + utf8_error.start})"
    if start:
        raise IngestError(f"{where}: starts with a UTF-8 byte order mark but is {not_utf8}; refused")
    encoding = _detect(data)
    if encoding is None:
        raise IngestError(f"{where}: {not_utf8}, and no encoding fits it; refused")
    text = data.decode(encoding)
    bad = _bad_stretch(text)
    if bad:
        raise IngestError(f"{where}: {not_utf8}; decoded as {encoding} (the likeliest) it looks like mojibake "
                          f"({bad!r}); refused")
    warnings.append(f"{where}: {not_utf8}; detected {encoding} (charset-normalizer)")
    return text, encoding, 0


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _byte_offsets(text: str, encoding: str, base: int, data: bytes = b"") -> list[int]:
    """Raw byte offset of each character of `text` (decoded from data[base:] with `encoding`),
    plus one past the end."""
    if text.isascii() or (encoding != "utf-8" and len(text) == len(data) - base):  # one byte per character
        return list(range(base, base + len(text) + 1))
    if encoding == "utf-8":
        widths = (1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4 for o in map(ord, text))
        return list(itertools.accumulate(widths, initial=base))
    decoder = codecs.getincrementaldecoder(encoding)()  # a multi-byte legacy encoding: byte by byte
    offsets = [base]
    for i in range(base, len(data)):
        offsets.extend([i + 1] * len(decoder.decode(data[i:i + 1])))
    return offsets


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
# Characters: mojibake repair and invisible format characters (before NFC)

# Deleted wherever they are: soft hyphen, zero-width space, word joiner, a BOM in mid-text, and the
# bidi controls (marks, embeddings, overrides, isolates). ZWJ, ZWNJ and variation selectors stay:
# emoji sequences and some scripts need them.
INVISIBLE = frozenset("\u00ad\u200b\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _runs(units: list[Unit], inside) -> list[tuple[int, int]]:
    """[start, end) index ranges of the maximal runs of single-character units for which `inside` holds."""
    runs, start = [], None
    for i, unit in enumerate(units + [("", 0, 0)]):
        if len(unit[0]) == 1 and inside(unit[0]):
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i))
            start = None
    return runs


def _undo_mojibake(units: list[Unit], steps: list[tuple[str, str]]) -> list[Unit] | None:
    """Apply ftfy's steps (pairs of encode with a single-byte codec, decode UTF-8) to the units: each
    repaired character covers the raw bytes of the characters it replaces. None when a step is of
    another kind (ftfy's lossy heuristics): such a repair is not certain."""
    if not steps or len(steps) % 2:
        return None
    for (op, codec), (op2, codec2) in zip(steps[::2], steps[1::2]):
        if (op, op2, codec2) != ("encode", "decode", "utf-8"):
            return None
        try:
            encoded = [u[0].encode(codec) for u in units]
            if any(len(b) != 1 for b in encoded):
                return None
            decoded = b"".join(encoded).decode("utf-8")
        except UnicodeError:
            return None
        repaired, k = [], 0
        for ch in decoded:
            width = len(ch.encode("utf-8"))
            repaired.append((ch, units[k][1], units[k + width - 1][2]))
            k += width
        units = repaired
    return units


def _repair_mojibake(units: list[Unit], removed: list[Removal], notes: list[str]) -> list[Unit]:
    """UTF-8 text that was once decoded with a legacy encoding ("â€™" for "’", "Ð¿" for "п"). Each
    run of non-ASCII characters that ftfy takes for mojibake is repaired when ftfy undoes it by
    re-encoding with one single-byte codec (or a chain of them) and decoding UTF-8; runs may come
    from different codecs. Repairs go to `removed` (rule "mojibake"); a run ftfy cannot undo that
    way is left and named in `notes`."""
    text = "".join(u[0] for u in units)
    if text.isascii() or not ftfy.badness.is_bad(text):
        return units
    out: list[Unit] = []
    repaired: list[tuple[str, str, str]] = []
    done, unsure = 0, None
    for start, end in _runs(units, lambda ch: not ch.isascii()):
        run = units[start:end]
        run_text = "".join(u[0] for u in run)
        if not ftfy.badness.is_bad(run_text):
            continue
        fixed, steps = ftfy.fix_encoding_and_explain(run_text)
        new = _undo_mojibake(run, [(s.action, s.parameter) for s in steps]) if steps and fixed != run_text else None
        if not steps or new is None or "".join(u[0] for u in new) != fixed or ftfy.badness.is_bad(fixed):
            unsure = unsure or (len("".join(u[0] for u in out + units[done:start])), run_text)
            continue
        out += units[done:start] + new
        done = end
        repaired.append((run_text, fixed, steps[0][1]))
        removed.append(Removal("mojibake", run[0][1], run[-1][2], run_text))
    out += units[done:]
    if repaired:
        codecs_used = sorted({codec for _, _, codec in repaired})
        first = repaired[0]
        notes.append(f"repaired {len(repaired)} mojibake stretch(es) (UTF-8 read as {', '.join(codecs_used)}), "
                     f"first {first[0]!r} -> {first[1]!r}")
    if unsure:
        notes.append(f"looks like mojibake at character {unsure[0]} ({unsure[1]!r}); not repaired")
    return out


def _drop_invisible(units: list[Unit], removed: list[Removal]) -> list[Unit]:
    """Delete the INVISIBLE characters; each run of them goes to `removed` (rule "invisible")."""
    runs = _runs(units, INVISIBLE.__contains__)
    if not runs:
        return units
    out, done = [], 0
    for start, end in runs:
        out += units[done:start]
        done = end
        removed.append(Removal("invisible", units[start][1], units[end - 1][2],
                               "".join(u[0] for u in units[start:end])))
    return out + units[done:]


def clean_title(title: str) -> str:
    """A title given by the source (HTML <h1>, JSONL field): mojibake repaired, invisible characters
    deleted, NFC, whitespace collapsed."""
    units = _drop_invisible(_repair_mojibake([(c, 0, 0) for c in title], [], []), [])
    return " ".join(unicodedata.normalize("NFC", "".join(u[0] for u in units)).split())


# ---------------------------------------------------------------------------------------------
# Lines and cleaning rules (deletions only)


@dataclass
class Line:
    units: list[Unit]
    newline: Unit | None  # the unit that ends the line; None for the last line
    index: int = 0  # position among the lines of the document before cleaning

    @cached_property
    def text(self) -> str:
        return "".join(u[0] for u in self.units)

    @cached_property
    def words(self) -> int:
        return len(self.text.split())


class Removal(NamedTuple):
    """A stretch cleaning removed (or, for rule "mojibake", replaced): raw bytes [raw_start, raw_end)
    of the input file, and the text that was there (clean characters; lines joined by ``\\n``)."""

    rule: str
    raw_start: int
    raw_end: int
    text: str


def _split_lines(units: list[Unit]) -> list[Line]:
    lines: list[Line] = []
    current: list[Unit] = []
    for unit in units:
        if unit[0] == "\n":
            lines.append(Line(current, unit, len(lines)))
            current = []
        else:
            current.append(unit)
    lines.append(Line(current, None, len(lines)))
    return lines


def _strip(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """Leading indentation and trailing whitespace: scraping noise in a plain-text article."""
    out = []
    for line in lines:
        units = line.units
        lo, hi = 0, len(units)
        while lo < hi and units[lo][0].isspace():
            lo += 1
        while hi > lo and units[hi - 1][0].isspace():
            hi -= 1
        out.append(line if (lo, hi) == (0, len(units)) else Line(units[lo:hi], line.newline, line.index))
    return out


_MARKDOWN_WRAP = re.compile(r"^(\*\*|__)(?!\1)(.+?)\1$")


def _unwrap_markdown(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """A whole line in **bold** (a scraped heading) loses its markers."""
    out = []
    for line in lines:
        m = _MARKDOWN_WRAP.match(line.text)
        width = len(m.group(1)) if m and "**" not in m.group(2) else 0
        marks = line.units[:width] + line.units[-width:] if width else []
        if width and all(len(u[0]) == 1 for u in marks):  # each marker is a unit of its own
            line = Line(line.units[width:-width], line.newline, line.index)
        out.append(line)
    return out


@dataclass(frozen=True)
class ChromeRules:
    """The chrome patterns of chrome.yaml, compiled (case-insensitive)."""

    consent_heading: re.Pattern
    consent_continues: re.Pattern
    consent_controls: re.Pattern
    teaser_headings: list[re.Pattern]
    teaser_max_words: int
    lines: dict[str, list[re.Pattern]]  # kind -> patterns, in the order they are tried
    separators: re.Pattern
    fields: dict[str, list[re.Pattern]]


CHROME_PATH = Path(__file__).with_name("chrome.yaml")


def load_chrome(path: str | Path = CHROME_PATH) -> ChromeRules:
    """Compile a chrome rules file (see chrome.yaml). Raises OSError, yaml.YAMLError, KeyError, re.error."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    meta = data["metadata"]
    shared = {"{date}": meta["date"].replace("{month}", meta["month"]), "{time}": meta["time"]}

    def compile_(pattern: str) -> re.Pattern:
        for name, value in shared.items():
            pattern = pattern.replace(name, value)
        return re.compile(pattern, re.I)

    consent, related = data["blocks"]["consent-banner"], data["blocks"]["related-list"]
    return ChromeRules(
        consent_heading=compile_(consent["heading"]), consent_continues=compile_(consent["continues"]),
        consent_controls=compile_(consent["controls"]),
        teaser_headings=[compile_(p) for p in related["headings"]], teaser_max_words=related["teaser_max_words"],
        lines={kind: [compile_(p) for p in patterns] for kind, patterns in data["lines"].items()},
        separators=compile_(meta["separators"]),
        fields={kind: [compile_(p) for p in patterns] for kind, patterns in meta["fields"].items()},
    )


CHROME = load_chrome()


def _drop_consent_banners(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """A cookie/consent banner: its heading and the lines after it that speak of cookies or
    consent, or are banner controls ("Always Active", "Accept all")."""
    out: list[Line] = []
    in_banner = False
    for line in lines:
        text = line.text
        if CHROME.consent_heading.search(text):
            in_banner = True
        elif in_banner and text and not (CHROME.consent_continues.search(text) or CHROME.consent_controls.match(text)):
            in_banner = False
        if in_banner:
            removed.append(("consent-banner", line))
        else:
            out.append(line)
    return out


def _drop_related_lists(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """A "Related Posts"/"More from this author" list: its heading and the short lines that follow
    it (teaser headlines, blurbs, "14 minutes ago"), up to the next body-length paragraph."""
    out: list[Line] = []
    in_list = False
    for line in lines:
        if any(p.fullmatch(line.text) for p in CHROME.teaser_headings):
            in_list = True
        elif in_list and line.words >= CHROME.teaser_max_words:
            in_list = False
        if in_list:
            removed.append(("related-list", line))
        else:
            out.append(line)
    return out


def metadata_fields(text: str) -> list[tuple[str, re.Match]] | None:
    """The fields of a metadata line ("By X • 3 March • 4 min read") as (field kind, match), or None
    when `text` is not one: every field between separators must match a field pattern of
    chrome.yaml in full (a byline's author words start with a capital letter), and a line of
    one field must not be a bare time."""
    fields = []
    for part in CHROME.separators.split(text.strip()):
        for kind, patterns in CHROME.fields.items():
            match = next((m for p in patterns if (m := p.fullmatch(part))), None)
            if match and kind == "byline" and not all(
                    w[0].isupper() for w in match.group("author").split() if w.isalpha() and len(w) > 3):
                match = None
            if match:
                fields.append((kind, match))
                break
        else:
            return None
    if len(fields) == 1 and fields[0][0] == "time":
        return None
    return fields or None


def chrome_kind(text: str) -> str | None:
    """The kind of page chrome a whole line is (a kind of chrome.yaml's `lines`, or "metadata"), or None."""
    for kind, patterns in CHROME.lines.items():
        if any(p.fullmatch(text) for p in patterns):
            return kind
    return "metadata" if metadata_fields(text) else None


def byline_and_date(removed: list[Removal]) -> tuple[str | None, str | None]:
    """The first author and the first date (as written) that removed chrome lines name: the
    `author`/`date` groups of chrome.yaml's patterns, bylines and dates of metadata lines."""
    found: dict[str, str] = {}
    for rule, _, _, text in removed:
        for line in text.split("\n"):
            if rule == "metadata":
                matches = [m for _, m in metadata_fields(line) or []]
            else:
                matches = [m for p in CHROME.lines.get(rule, []) if (m := p.fullmatch(line))][:1]
            for match in matches:
                for key in ("author", "date"):
                    if match.re.groupindex.get(key) and match.group(key):
                        found.setdefault(key, " ".join(match.group(key).split()))
    return found.get("author"), found.get("date")


def _drop_chrome(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """Single lines of page chrome, by kind (chrome.yaml): comment and view counters, sponsor
    markers, photo captions and credits, calls to action, share buttons, "Categories: ...",
    "See more ...", metadata lines of bylines, dates, reading times and counters."""
    out = []
    for line in lines:
        kind = chrome_kind(line.text) if line.units else None
        if kind:
            removed.append((kind, line))
        else:
            out.append(line)
    return out


REPEAT_MIN_WORDS = 4


def _drop_repeats(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """A paragraph or heading of at least REPEAT_MIN_WORDS words that repeats an earlier line
    (a heading scraped twice, a body pasted twice): the first occurrence is kept."""
    seen: set[str] = set()
    out: list[Line] = []
    for line in lines:
        if line.words >= REPEAT_MIN_WORDS:
            key = " ".join(line.text.split())
            if key in seen:
                removed.append(("repeat", line))
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
        if i + 1 < len(kept) and line.newline is not None:  # only the text's last line has none
            units.append(line.newline)
    return units


def _line_stretches(removed: list[tuple[str, Line]], kept: list[Line]) -> list[Removal]:
    """Removed lines as stretches: neighbouring lines removed by the same rule (blank lines between
    them allowed, no kept text) make one stretch."""
    kept_at = sorted(line.index for line in kept if line.units)
    stretches: list[list] = []  # [rule, first index, last index, raw start, raw end, texts]
    for rule, line in sorted(((r, ln) for r, ln in removed if ln.units), key=lambda item: item[1].index):
        last = stretches[-1] if stretches else None
        if (last and last[0] == rule
                and bisect.bisect_right(kept_at, last[2]) == bisect.bisect_left(kept_at, line.index)):
            last[2], last[4] = line.index, line.units[-1][2]
            last[5].append(line.text)
        else:
            stretches.append([rule, line.index, line.index, line.units[0][1], line.units[-1][2], [line.text]])
    return [Removal(rule, start, end, "\n".join(texts)) for rule, _, _, start, end, texts in stretches]


def clean_units(units: list[Unit]) -> tuple[list[Unit], list[Line], list[Removal], list[str]]:
    """Line endings, mojibake repair, invisible characters, NFC and every cleaning rule.

    Returns the clean units, the clean lines, what was removed (sorted by raw offset; whitespace,
    blank lines and markup are not listed) and notes for warnings."""
    removals: list[Removal] = []
    notes: list[str] = []
    units = _unify_line_endings(units)
    units = _drop_invisible(_repair_mojibake(units, removals, notes), removals)
    lines = _split_lines(_nfc(units))
    removed: list[tuple[str, Line]] = []
    for rule in CLEANING_RULES:
        lines = rule(lines, removed)
    removals += _line_stretches(removed, lines)
    out = _assemble(lines)
    return out, [line for line in _split_lines(out) if line.units], sorted(removals, key=lambda r: r[1:3]), notes


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
    delete the INVISIBLE characters, CR LF / CR -> LF, NFC (for HTML also entity unescape and
    whitespace collapse, for JSONL the JSON string unescape); pieces with an empty raw range are
    inserted block separators. A character repaired from mojibake is one unit whose raw bytes
    are the mojibake it replaced (they give it once re-encoded with the codec ftfy named and
    decoded as UTF-8).
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
    return [(p[0], p[1], p[2], p[3]) for p in pieces]


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
              warnings: list[str], *, title: str | None = None, url: str | None = None,
              published: str | None = None, author: str | None = None, source_id: str | None = None,
              removed: Sequence[Removal] = ()) -> dict:
    """Clean the units into a document dict (the documents.parquet columns, plus ``where`` and
    ``removals``: what the extractor (`removed`) and cleaning removed, sorted by raw offset).
    `author` and `published` given by the source win over a byline and date found in chrome."""
    units, lines, removals, notes = clean_units(units)
    warnings.extend(f"{source}: {note}" for note in notes)
    text = "".join(u[0] for u in units)
    if not text:
        raise IngestError(f"{source}: empty article: no text left after cleaning; skipped")
    text_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    title = clean_title(title) if title else ""
    chrome_author, chrome_date = byline_and_date(removals)
    return {
        "doc_id": "doc_" + text_sha[:16], "title": title or _title(lines), "text": text,
        "where": source,  # file, or file:line for JSONL; for messages, not a column
        "source_file": None, "source_format": source_format, "source_id": source_id,
        "url": url, "published": published or chrome_date, "author": author or chrome_author,
        "raw_sha256": raw_sha256, "text_sha256": text_sha,
        "offset_map": offset_map(units, encoding),
        "removals": sorted([*removed, *removals], key=lambda r: r[1:3]),  # not a column
    }


def _ingest_txt(path: str, warnings: list[str]) -> list[dict]:
    data = _read(path)
    text, encoding, base = _decode(data, path, warnings)
    units = _units_of(text, _byte_offsets(text, encoding, base, data))
    return [_document(units, encoding, path, "txt", hashlib.sha256(data).hexdigest(), warnings)]


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
                units, "utf-8", where, "jsonl", raw_sha, warnings,
                title=_optional_string(record, "title", where), url=_optional_string(record, "url", where),
                published=_optional_string(record, "published", where),
                author=_optional_string(record, "author", where),
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
    NOT_TEXT = {"head", "script", "style", "noscript", "template", "svg", "object", "canvas", "iframe"}
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
        self.url = self.published = self.author = None
        self.removed: list[Removal] = []  # text of skipped elements and of blocks outside the article
        self.skipped_text: list | None = None  # [rule, raw start, raw end, parts] of the open skipped element

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

    def _skip(self, tag: str, attrs: dict) -> str | None:
        """Why the element is chrome (its tag, "hidden", its role or class word), or None."""
        if tag in self.SKIP_TAGS:
            return tag
        if "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return "hidden"
        if tag == "header" and "article" not in {t for t, _ in self.stack}:
            return "header"
        if attrs.get("role") in self.SKIP_ROLES:
            return f"role-{attrs['role']}"
        match = self.SKIP_CLASS.search(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")
        return match.group(2).lower() if match and tag not in self.STRUCTURAL else None

    def _close_skipped(self) -> None:
        if self.skipped_text:
            rule, start, end, parts = self.skipped_text
            text = " ".join("".join(parts).split())
            if text:
                self.removed.append(Removal(f"html-{rule}", start, end, text))
        self.skipped_text = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v for k, v in attrs}
        if tag == "meta" and attrs.get("content"):
            prop = attrs.get("property") or attrs.get("name") or ""
            if prop == "og:url" and not self.url:
                self.url = attrs["content"]
            elif prop in ("article:published_time", "date", "datePublished") and not self.published:
                self.published = attrs["content"]
            elif prop in ("author", "article:author") and not self.author:
                self.author = attrs["content"]
        elif tag == "link" and (attrs.get("rel") or "").lower() == "canonical" and attrs.get("href"):
            self.url = attrs["href"]
        elif tag == "time" and attrs.get("datetime") and not self.published and not self.skipping:
            self.published = attrs["datetime"]
        if tag == "br" and not self.skipping:
            pos = self.offsets[self._index()]
            self.current.append(("\n", pos, pos))
        if tag in self.BLOCK_TAGS and not self.skipping:
            self._end_block()
        elif (tag in self.BLOCK_TAGS or tag == "br") and self.skipped_text:
            self.skipped_text[3].append(" ")  # "Most Read" + "Ten things" -> two words in the report
        if tag in self.VOID_TAGS:
            return
        reason = self._skip(tag, attrs)
        skipped = reason is not None
        if skipped and not self.skipping:
            self.skipped_text = [reason, None, None, []]
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
            if skipped and not self.skipping:
                self._close_skipped()
            if name == "article":
                self.open_articles.pop()
            if name == "h1" and self.h1_parts is not None:
                self.h1s.append((self._scope(), html.unescape("".join(self.h1_parts))))
                self.h1_parts = None
            if name == tag:
                break

    def _text(self, raw: str, decoded: str) -> None:
        if self.skipping:
            if self.skipped_text and not self.NOT_TEXT & {t for t, _ in self.stack}:
                start = self._index()
                record = self.skipped_text
                record[1] = self.offsets[start] if record[1] is None else record[1]
                record[2] = self.offsets[start + len(raw)]
                record[3].append(decoded)
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
        else all blocks, separated by a blank line; and the text of its first <h1>. The blocks
        left out go to `removed` (rule "html-outside-article")."""
        self._end_block()
        self._close_skipped()
        sizes: dict[str, int] = {}
        for scope, block in self.blocks:
            sizes[scope] = sizes.get(scope, 0) + len(block)
        articles = [s for s in sizes if s.startswith("article")]
        scope = max(articles, key=lambda s: sizes[s]) if articles else "main" if "main" in sizes else "body"
        units: list[Unit] = []
        for block_scope, block in self.blocks:
            if block_scope != scope:
                self.removed.append(Removal("html-outside-article", block[0][1], block[-1][2],
                                            " ".join("".join(u[0] for u in block).split())))
                continue
            if units:
                pos = units[-1][2]
                units += [("\n", pos, pos), ("\n", pos, pos)]
            units += block
        titles = [text for h1_scope, text in self.h1s if h1_scope == scope] + [text for _, text in self.h1s]
        return units, next((t for t in titles if t.strip()), None)


def _ingest_html(path: str, warnings: list[str]) -> list[dict]:
    data = _read(path)
    text, encoding, base = _decode(data, path, warnings, html_page=True)
    parser = _ArticleExtractor(text, _byte_offsets(text, encoding, base, data))
    parser.feed(text)
    parser.close()
    units, title = parser.article()
    return [_document(units, encoding, path, "html", hashlib.sha256(data).hexdigest(), warnings,
                      title=title, url=parser.url, published=parser.published, author=parser.author,
                      removed=parser.removed)]


# ---------------------------------------------------------------------------------------------
# Inputs, duplicates, output


def expand_inputs(paths: list[str | Path]) -> tuple[list[str], list[str]]:
    """Sorted input files (a directory contributes its .txt/.html/.htm/.jsonl files) and errors."""
    files: set[str] = set()
    errors: list[str] = []
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
    """Read and clean every input; one document per .txt/.html file and per JSONL line. Raises
    nothing for a bad input: it is skipped and named in the result's `errors`.

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
    kept, notes = drop_duplicates(documents)
    return IngestResult(kept, warnings + notes, errors, removal_report(documents, kept))


REPORT_FIELDS = ("doc_id", "source_file", "rule", "raw_start", "raw_end", "text")
# Every rule of the removal report and what it removes. An HTML element skipped as chrome is
# reported as "html-<why>": its tag (nav, aside, footer, form, ...), "hidden", "role-<role>" or the
# class/id word that marked it (share, related, comments, ...).
RULES = {
    "invisible": "soft hyphens, zero-width spaces, word joiners, a BOM in mid-text, bidi controls",
    "mojibake": "a stretch of mojibake, replaced by its repair (the text is what was there)",
    "consent-banner": "a cookie/consent banner: its heading and the lines about cookies or its buttons",
    "related-list": "a related-posts or \"More from this author\" heading and the teaser lines after it",
    **{kind: f"single lines of page chrome: {kind.replace('-', ' ')} (src/stancekit/chrome.yaml)"
       for kind in CHROME.lines},
    "metadata": "metadata lines: bylines, dates, reading times, counters joined by separators",
    "repeat": "a paragraph or heading repeating an earlier one (the first is kept)",
    "html-*": "an HTML element skipped as chrome (navigation, aside, footer, forms, share/related/comment blocks)",
    "html-outside-article": "an HTML block outside the article that was kept (or outside <main>)",
    "duplicate-document": "a whole document: an exact or near duplicate of an earlier one",
}


def removal_report(documents: list[dict], kept: list[dict]) -> list[dict]:
    """One record per removed stretch (REPORT_FIELDS; raw_start/raw_end are byte offsets into
    source_file), in input order. A document dropped as a duplicate is one stretch of rule
    "duplicate-document" (its doc_id is in no output)."""
    kept_ids = {id(doc) for doc in kept}
    report = []
    for doc in documents:
        base = {"doc_id": doc["doc_id"], "source_file": doc["source_file"]}
        if id(doc) in kept_ids:
            report += [{**base, **r._asdict()} for r in doc["removals"]]
        else:
            start, end = to_raw_offsets(doc["offset_map"], 0, len(doc["text"]))
            report.append({**base, "rule": "duplicate-document", "raw_start": start, "raw_end": end,
                           "text": doc["text"]})
    return report


def write_report(report: list[dict], out: str | Path) -> None:
    """Write the removal report as JSON Lines (UTF-8), atomically (temp file + rename); raises OSError
    when it cannot."""
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for record in report:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


SCHEMA = columns.schema(columns.DOCUMENT_COLUMNS)  # declared with their meaning in stancekit.columns


def documents_table(documents: list[dict]) -> pa.Table:
    """The documents.parquet table; rows in input order (sorted by source file, then position)."""
    return pa.Table.from_pylist(documents, schema=SCHEMA)


def write_documents(documents: list[dict], out: str | Path) -> None:
    """Write documents.parquet atomically (temp file + rename), byte-identical for the same input;
    raises OSError when it cannot."""
    with atomic_path(out) as tmp:
        pq.write_table(documents_table(documents), tmp, compression="zstd")
