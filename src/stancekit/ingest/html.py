"""The HTML format (.html, .htm): the text of the page's article, page chrome skipped.

The declared charset is honoured (see `stancekit.ingest.decoding`); the blocks of the longest
<article> (else <main>, else the body) are kept; elements that are chrome (navigation, asides,
footers, forms, hidden elements, share/related/comment blocks by class or id) are skipped and
reported; the <h1>, canonical URL, author and publication time come from the markup.
"""

from __future__ import annotations

import hashlib
import html
import re
from html.parser import HTMLParser

from . import article
from .decoding import byte_offsets, decode, units_of
from .units import Removal, Unit

EXTENSIONS = (".html", ".htm")

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

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        """A `<![` construct. Python 3.11's parser raises AssertionError on one it does not know as SGML
        (`<![DOCTYPE html>`, `<![ `): read that as browsers do, a bogus comment up to the next `>` (WHATWG
        HTML, "markup declaration open state"), so the page is ingested instead of crashing."""
        position = self.getpos()
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            self.lineno, self.offset = position  # it moved the position before raising
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1

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
            chars = units_of(self.source, self.offsets, start, start + len(raw))
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


def read(path: str, warnings: list[str], errors: list[str]) -> list[dict]:
    """The one document of the HTML page `path` (document dicts: see `article.document`), its title,
    URL, author and publication time from the markup; warnings are appended to `warnings`.

    Raises IngestError (one line naming the file) when the file cannot be read, is larger than
    MAX_ARTICLE_BYTES, is binary, declares a charset the WHATWG standard does not decode, fits no
    encoding, or has no text left after cleaning. `errors` is not used: a page is skipped whole."""
    data = article.read(path)
    text, encoding, base = decode(data, path, warnings, html_page=True)
    parser = _ArticleExtractor(text, byte_offsets(text, encoding, base, data))
    parser.feed(text)
    parser.close()
    units, title = parser.article()
    return [article.document(units, encoding, path, "html", hashlib.sha256(data).hexdigest(), warnings,
                      title=title, url=parser.url, published=parser.published, author=parser.author,
                      removed=parser.removed)]
