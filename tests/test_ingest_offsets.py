"""Property tests: every clean span traces back to the raw bytes it came from.

The guarantee (see `stancekit.ingest.to_raw_offsets`): the span, widened to whole units, is the
concatenation of its raw pieces, each decoded and normalised the way ingest reads that format;
a span that cleaning cut nothing out of is one piece, so its raw byte range alone decodes and
normalises to the span text.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

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
]
BOILERPLATE = ["Share This Post", "0", "by Jhon Lennon 36 views", "Categories: Uncategorized",
               "See more BBC Express News", "Customize Consent Preferences",
               "We use cookies to help you navigate.", "Always Active", "Related Posts",
               "Teaser headline", "14 minutes ago"]

words = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
body_line = st.tuples(st.sampled_from(["", " ", "    ", "\t"]), words, st.sampled_from(["", " ", "\t"])).map("".join)
line = st.one_of(body_line, body_line, body_line, st.sampled_from(BOILERPLATE), st.just(""),
                 body_line.map(lambda s: f"**{s.strip()}**"))
article = st.lists(line, min_size=1, max_size=14).flatmap(
    lambda lines: st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines))
    .map(lambda ends: "".join(l + e for l, e in zip(lines, ends))))
# Repeat a few lines so that the duplicate-paragraph rule cuts text out of the middle.
article = st.tuples(article, st.booleans()).map(lambda t: t[0] + t[0] if t[1] else t[0])

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def normalise(fmt: str, encoding: str, raw: bytes) -> str:
    """How ingest reads raw bytes of one format, independent of its implementation."""
    text = raw.decode(encoding)
    if fmt == "jsonl":
        text = json.loads('"' + text + '"')
    if fmt == "html":
        text = re.sub(r"[ \t\n\r\f]+", " ", html.unescape(text))
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def check_span(doc: dict, raw: bytes, start: int, end: int) -> None:
    omap, text = doc["offset_map"], doc["text"]
    pieces = ingest.raw_pieces(omap, start, end)
    cs, ce = pieces[0][0], pieces[-1][1]
    assert cs <= start < end <= ce
    rebuilt = ""
    for p_start, p_end, r_start, r_end in pieces:
        if r_start == r_end:  # a separator the HTML extractor inserted
            assert doc["source_format"] == "html" and text[p_start:p_end] == "\n" * (p_end - p_start)
            rebuilt += text[p_start:p_end]
        else:
            rebuilt += normalise(doc["source_format"], omap["encoding"], raw[r_start:r_end])
    assert rebuilt == text[cs:ce]
    rs, re_ = ingest.to_raw_offsets(omap, start, end)
    assert (rs, re_) == (pieces[0][2], pieces[-1][3])
    if len(pieces) == 1 and rs < re_:
        assert normalise(doc["source_format"], omap["encoding"], raw[rs:re_]) == text[start:end] or (cs, ce) != (start, end)


def ingest_one(path: Path) -> list[dict]:
    return ingest.ingest([path]).documents


def check_document(doc: dict, raw: bytes, data) -> None:
    text = doc["text"]
    assert unicodedata.is_normalized("NFC", text) and "\r" not in text
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


@SETTINGS
@given(body=article, data=st.data())
def test_cp1252_spans_trace_to_raw_bytes(tmp_path, body, data):
    body = "caf\u00e9 \u201cquote\u201d\n" + body.encode("cp1252", errors="ignore").decode("cp1252")
    raw = body.encode("cp1252")
    path = tmp_path / "a.txt"
    path.write_bytes(raw)
    for doc in ingest_one(path):
        assert doc["offset_map"]["encoding"] == "cp1252"
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
