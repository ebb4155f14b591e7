"""Property tests: every clean span traces back to the raw bytes it came from.

The guarantee (see `stancekit.ingest.to_raw_offsets`): the span, widened to whole units, is the
concatenation of its raw pieces, each decoded and normalised the way ingest reads that format;
a span that cleaning cut nothing out of is one piece, so its raw byte range alone decodes and
normalises to the span text. A character repaired from mojibake covers exactly the raw bytes of
the characters it replaces: those bytes, decoded and repaired by ftfy, give the character.
Every rule runs here: chrome lines of each kind, invisible characters, mojibake, legacy encodings.
"""

from __future__ import annotations

import array
import html
import itertools
import json
import re
import unicodedata
from pathlib import Path

import ftfy
import ftfy.chardata
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancekit import ingest

# Pieces of text that stress offsets: ASCII, Cyrillic, emoji (with skin tone and ZWJ), flags,
# combining marks NFC composes (e + acute), reorders (acute + dot below), or expands (U+0958,
# U+0344), Hangul jamo that compose, curly quotes, no-break space, tabs.
PIECES = [
    "Putin", "ceasefire", "truce", " ", " ", "  ", "\t", ".", ",", "—", "\u201cno\u201d", "\u2019s",
    "перемирие", "Кремль", "\U0001F54A", "\U0001F44D\U0001F3FD", "\U0001F468\u200d\U0001F469\u200d\U0001F467",
    "\U0001F1FA\U0001F1E6", "e\u0301", "a\u0301\u0323", "\u0958", "\u0344", "\u1100\u1161\u11a8",
    "caf\u00e9", "\u00a0", " \u0301", "*", "&", "<", "0",
    # invisible format characters (deleted), and ZWNJ / variation selector (kept)
    "reser\u00advations", "\u200b", "\u2060", "\ufeff", "\u200e", "\u202e", "\u2066x\u2069", "\u200c", "\u2764\ufe0f",
]
# Specified by the issue, independent of the implementation's own list.
INVISIBLE = set("\u00ad\u200b\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BOILERPLATE = ["Share This Post", "0", "by Jhon Lennon 36 views", "Categories: Uncategorized",
               "See more BBC Express News", "Customize Consent Preferences",
               "We use cookies to help you navigate.", "Always Active", "Related Posts",
               "Teaser headline", "14 minutes ago",
               # one line of each chrome kind of chrome.yaml
               "By Anna Petrova • 3 March 2025 • 4 min read", "Updated 09:12 | 3,400 reads | 58 comments",
               "Advertisement", "Image: Agency/Archive", "Sign up for our morning briefing", "Follow us on WhatsApp",
               "Share on LinkedIn", "12 комментариев", "More from this author", "Реклама"]

words = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
body_line = st.tuples(st.sampled_from(["", " ", "    ", "\t"]), words, st.sampled_from(["", " ", "\t"])).map("".join)
line = st.one_of(body_line, body_line, body_line, st.sampled_from(BOILERPLATE), st.just(""),
                 body_line.map(lambda s: f"**{s.strip()}**"))
article = st.lists(line, min_size=1, max_size=14).flatmap(
    lambda lines: st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines))
    .map(lambda ends: "".join(line + end for line, end in zip(lines, ends))))
# Repeat a few lines so that the duplicate-paragraph rule cuts text out of the middle.
article = st.tuples(article, st.booleans()).map(lambda t: t[0] + t[0] if t[1] else t[0])

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def normalise(fmt: str, encoding: str, raw: bytes, origin: str | None = None) -> str:
    """How ingest reads raw bytes of one format, independent of its implementation; with `origin`,
    as mojibake repaired: re-encoded with that single-byte codec and decoded as UTF-8."""
    text = raw.decode(encoding)
    if fmt == "jsonl":
        text = json.loads('"' + text + '"')
    if fmt == "html":
        text = re.sub(r"[ \t\n\r\f]+", " ", html.unescape(text))
    if origin:
        try:
            text = text.encode(origin).decode("utf-8")
        except UnicodeError:
            return ""
    text = "".join(c for c in text if c not in INVISIBLE)
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def check_span(doc: dict, raw: bytes, start: int, end: int) -> None:
    omap, text = doc["offset_map"], doc["text"]
    fmt, encoding = doc["source_format"], omap["encoding"]
    pieces = ingest.raw_pieces(omap, start, end)
    cs, ce = pieces[0][0], pieces[-1][1]
    assert cs <= start < end <= ce
    repaired = False
    index = cs
    while index < ce:  # unit by unit: its raw bytes give its text (repaired from mojibake, or as read)
        ((u_start, u_end, r_start, r_end),) = ingest.raw_pieces(omap, index, index + 1)
        if r_start == r_end:  # a separator the HTML extractor inserted
            assert fmt == "html" and text[u_start:u_end] == "\n" * (u_end - u_start)
        elif normalise(fmt, encoding, raw[r_start:r_end]) != text[u_start:u_end]:
            assert text[u_start:u_end] in {normalise(fmt, encoding, raw[r_start:r_end], origin)
                                           for origin in ftfy.chardata.CHARMAP_ENCODINGS}
            repaired = True
        index = u_end
    rs, re_ = ingest.to_raw_offsets(omap, start, end)
    assert (rs, re_) == (pieces[0][2], pieces[-1][3])
    # the release reads offset maps from its DocumentStore with the lists as arrays: the same answers
    as_arrays = {name: array.array("q", v) if isinstance(v, list) else v for name, v in omap.items()}
    assert ingest.to_raw_offsets(as_arrays, start, end) == (rs, re_) and ingest.raw_pieces(as_arrays, start, end) == pieces
    if repaired:
        return
    rebuilt = ""  # piece by piece: the raw bytes of each contiguous piece give its text
    for p_start, p_end, r_start, r_end in pieces:
        rebuilt += text[p_start:p_end] if r_start == r_end else normalise(fmt, encoding, raw[r_start:r_end])
    assert rebuilt == text[cs:ce]
    if len(pieces) == 1 and rs < re_:
        assert normalise(fmt, encoding, raw[rs:re_]) == text[start:end] or (cs, ce) != (start, end)


def ingest_one(path: Path) -> list[dict]:
    return ingest.ingest([path]).documents


def check_document(doc: dict, raw: bytes, data) -> None:
    text = doc["text"]
    assert unicodedata.is_normalized("NFC", text) and "\r" not in text and not INVISIBLE & set(text)
    check_span(doc, raw, 0, len(text))
    for _ in range(5):
        start = data.draw(st.integers(0, len(text) - 1))
        end = data.draw(st.integers(start + 1, len(text)))
        check_span(doc, raw, start, end)


@SETTINGS
@given(body=article, bom=st.booleans(), data=st.data())
def test_txt_spans_trace_to_raw_bytes(tmp_path, body, bom, data):
    raw = (b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8")
    path = tmp_path / "a.txt"
    path.write_bytes(raw)
    for doc in ingest_one(path):
        check_document(doc, raw, data)


LEGACY = {  # a legacy encoding and a line in it, so that detection has something to go on
    "cp1252": "Le caf\u00e9 \u201cd\u00e9j\u00e0\u201d: gr\u00fc\u00dfe, se\u00f1or, a\u00f1o, tr\u00eave, \u00e9t\u00e9.\n",
    "cp1251": "\u041a\u0440\u0435\u043c\u043b\u044c \u0438\u0437\u0443\u0447\u0438\u0442 \u043f\u0440\u0435\u0434\u043b\u043e\u0436\u0435\u043d\u0438\u0435 \u043e \u043f\u0435\u0440\u0435\u043c\u0438\u0440\u0438\u0438, \u0441\u043a\u0430\u0437\u0430\u043b \u043f\u0440\u0435\u0441\u0441-\u0441\u0435\u043a\u0440\u0435\u0442\u0430\u0440\u044c.\n",
}


@SETTINGS
@given(body=article, encoding=st.sampled_from(sorted(LEGACY)), data=st.data())
def test_legacy_encoding_spans_trace_to_raw_bytes(tmp_path, body, encoding, data):
    body = LEGACY[encoding] + body.encode(encoding, errors="ignore").decode(encoding)
    raw = body.encode(encoding)
    path = tmp_path / "a.txt"
    path.write_bytes(raw)
    for doc in ingest_one(path):  # detected (or refused: then there is no document)
        assert doc["offset_map"]["encoding"] in ingest.WEB_ENCODINGS
        check_document(doc, raw, data)


@SETTINGS
@given(bodies=st.lists(article, min_size=1, max_size=3), ascii_only=st.booleans(), data=st.data())
def test_jsonl_spans_trace_to_raw_bytes(tmp_path, bodies, ascii_only, data):
    raw = "\n".join(json.dumps({"id": i, "text": b}, ensure_ascii=ascii_only) for i, b in enumerate(bodies))
    raw = raw.encode("utf-8")
    path = tmp_path / "a.jsonl"
    path.write_bytes(raw)
    for doc in ingest_one(path):
        check_document(doc, raw, data)


@SETTINGS
@given(paragraphs=st.lists(words, min_size=1, max_size=6), entities=st.booleans(), data=st.data())
def test_html_spans_trace_to_raw_bytes(tmp_path, paragraphs, entities, data):
    def markup(text: str) -> str:
        text = html.escape(text)
        if entities:
            text = "".join(f"&#{ord(c)};" if ord(c) > 127 and c.isalpha() else c for c in text)
        return text.replace(" ", " \n   ")
    page = "<html><body><nav>Home</nav><article>" + "".join(
        f"<p>\n  {markup(p)}<br>{markup(p[::-1])}</p>\r\n" for p in paragraphs) + "</article></body></html>"
    raw = page.encode("utf-8")
    path = tmp_path / "a.html"
    path.write_bytes(raw)
    for doc in ingest_one(path):
        check_document(doc, raw, data)


def test_known_cases_map_exactly(tmp_path):
    """Hand-checked byte ranges: CRLF + BOM, a composed é, a flag."""
    raw = b"\xef\xbb\xbfTitle line\r\n\r\n  Cafe\xcc\x81 \xf0\x9f\x87\xba\xf0\x9f\x87\xa6 ok.\r\n"
    path = tmp_path / "k.txt"
    path.write_bytes(raw)
    (doc,) = ingest_one(path)
    assert doc["text"] == "Title line\n\nCaf\u00e9 \U0001F1FA\U0001F1E6 ok."
    omap = doc["offset_map"]
    assert ingest.to_raw_offsets(omap, 0, 5) == (3, 8)                   # "Title" after the BOM
    assert ingest.to_raw_offsets(omap, 10, 11) == (13, 15)               # "\n" <- CR LF
    start = doc["text"].index("Caf")
    assert ingest.to_raw_offsets(omap, start, start + 4) == (19, 25)     # "Café" <- "Cafe" + U+0301
    assert raw[19:25].decode() == "Cafe\u0301"
    flag = doc["text"].index("\U0001F1FA")
    assert ingest.to_raw_offsets(omap, flag, flag + 2) == (26, 34)
    assert ingest.to_raw_offsets(omap, 0, len(doc["text"])) == (3, len(raw) - 2)
    assert ingest.to_raw_offsets(omap, 4, 4) == (7, 7)
    with pytest.raises(ValueError):
        ingest.to_raw_offsets(omap, 0, len(doc["text"]) + 1)


@SETTINGS
@given(body=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300), data=st.data())
def test_any_unicode_text_traces_to_raw_bytes(tmp_path, body, data):
    raw = body.encode("utf-8")
    for name, content in (("a.txt", raw), ("a.jsonl", json.dumps({"text": body}, ensure_ascii=False).encode())):
        path = tmp_path / name
        path.write_bytes(content)
        for doc in ingest_one(path):
            check_document(doc, content, data)


# UTF-8 text that a scraper once decoded with a legacy codec: words and the codecs (origins) whose
# mojibake of them ftfy undoes with certainty. Each clean character must map to exactly the raw
# bytes of the mojibake characters it was repaired from (known here by construction).
WORDS = ["перемирие", "Путин", "“truce”", "Kyiv’s", "café", "Größe", "déjà", "—", "señor", "Zürich", "«мир»"]
ORIGINS = ["sloppy-windows-1252", "sloppy-windows-1251", "latin-1"]
MOJIBAKE = [(w, o) for w in WORDS for o in ORIGINS
            if ftfy.fix_encoding(w.encode().decode(o, errors="strict")) == w and w.encode().decode(o) != w]


def mojibake_token(word: str, origin: str | None) -> tuple[str, list[int]]:
    """The token as it sits in the raw file, and the raw byte width of each character of `word`."""
    if origin is None:
        return word, [len(c.encode()) for c in word]
    return word.encode().decode(origin), [
        sum(len(m.encode()) for m in c.encode().decode(origin)) for c in word]


@SETTINGS
@given(tokens=st.lists(st.one_of(st.sampled_from(MOJIBAKE), st.sampled_from(WORDS).map(lambda w: (w, None))),
                       min_size=1, max_size=12), data=st.data())
def test_mojibake_of_several_origins_is_repaired_onto_its_raw_bytes(tmp_path, tokens, data):
    raw_text, expected, widths = "Truce news:", "Truce news:", [1] * len("Truce news:")
    for word, origin in tokens:
        token, token_widths = mojibake_token(word, origin)
        raw_text, expected, widths = raw_text + " " + token, expected + " " + word, widths + [1] + token_widths
    raw = raw_text.encode("utf-8")
    path = tmp_path / "m.txt"
    path.write_bytes(raw)
    result = ingest.ingest([path])
    (doc,) = result.documents
    assert doc["text"] == expected
    assert any(o for _, o in tokens) == any("repaired" in w for w in result.warnings)
    ends = list(itertools.accumulate(widths))
    for _ in range(10):
        start = data.draw(st.integers(0, len(expected) - 1))
        end = data.draw(st.integers(start + 1, len(expected)))
        assert ingest.to_raw_offsets(doc["offset_map"], start, end) == (ends[start] - widths[start], ends[end - 1])
    check_document(doc, raw, data)


@SETTINGS
@given(paragraphs=st.lists(st.one_of(words, st.sampled_from(["中文报道说", "停火", "перемирие", "Путин"])),
                           min_size=1, max_size=6),
       charset=st.sampled_from(["windows-1251", "gb18030", "shift_jis", "koi8-r"]), entities=st.booleans(),
       data=st.data())
def test_declared_charset_spans_trace_to_raw_bytes(tmp_path, paragraphs, charset, entities, data):
    """Single-byte and multi-byte legacy encodings declared by the page (their offsets are byte by byte)."""
    codec = {"windows-1251": "cp1251", "shift_jis": "cp932"}.get(charset, charset)

    def markup(text: str) -> str:
        text = html.escape(text.encode(codec, errors="ignore").decode(codec))
        return "".join(f"&#{ord(c)};" if entities and ord(c) > 127 and c.isalpha() else c for c in text)
    page = (f'<html><head><meta charset="{charset}"></head><body><article>'
            + "".join(f"<p>{markup(p)}</p>\n" for p in paragraphs) + "</article></body></html>")
    raw = page.encode(codec)
    path = tmp_path / "a.html"
    path.write_bytes(raw)
    for doc in ingest_one(path):
        assert doc["offset_map"]["encoding"] == codec
        check_document(doc, raw, data)
