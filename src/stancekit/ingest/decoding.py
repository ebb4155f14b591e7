"""Decoding: an article's bytes -> text and the raw byte offset of each character -> units.

The order: a UTF-8 BOM; for HTML, the declared charset (WHATWG labels, `webencodings`); UTF-8; else
charset-normalizer's choice among the legacy web encodings, refused when ftfy takes the result for
mojibake. Then line endings to ``\\n`` and Unicode NFC, each unit keeping its raw byte range.
"""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata

import charset_normalizer
import ftfy
import ftfy.bad_codecs
import ftfy.badness
import webencodings

from .units import IngestError, Unit

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


def decode(data: bytes, where: str, warnings: list[str], html_page: bool = False) -> tuple[str, str, int]:
    """Return (text, Python codec, byte offset of the text in `data`): the offset is 3 after a UTF-8
    BOM, else 0. Warnings (a declaration ignored, an encoding detected, a cut last character) are
    appended to `warnings`, each naming `where`.

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


def byte_offsets(text: str, encoding: str, base: int, data: bytes = b"") -> list[int]:
    """Raw byte offset of each character of `text` (decoded from data[base:] with `encoding`),
    plus one past the end: len(text) + 1 offsets, in bytes of `data`. `data` may be left out for
    UTF-8 and for text decoded one byte per character. Raises nothing."""
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


def units_of(text: str, offsets: list[int], start: int = 0, end: int | None = None) -> list[Unit]:
    """The units of text[start:end] (code points), one per character, its raw byte range from
    `offsets` (as `byte_offsets` gives them)."""
    end = len(text) if end is None else end
    return [(text[i], offsets[i], offsets[i + 1]) for i in range(start, end)]


def unify_line_endings(units: list[Unit]) -> list[Unit]:
    """CR LF and lone CR become one LF unit that covers the raw bytes (one or two); other units are kept."""
    out: list[Unit] = []
    for unit in units:
        if unit[0] == "\n" and out and out[-1][0] == "\r" and out[-1][2] == unit[1]:
            out[-1] = ("\n", out[-1][1], unit[2])
        else:
            out.append(unit)
    return [("\n", u[1], u[2]) if u[0] == "\r" else u for u in out]


def nfc(units: list[Unit]) -> list[Unit]:
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
