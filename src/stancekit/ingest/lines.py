"""Lines and cleaning rules (deletions only): units -> clean units, clean lines and what was removed.

`clean_units` runs, in order: line endings to ``\\n``, mojibake repair, invisible characters,
NFC, then the line rules of CLEANING_RULES (indentation and trailing whitespace, Markdown bold
around a heading line, consent banners, related-posts lists, single lines of page chrome by kind
from chrome.yaml, repeated paragraphs) and blank-line collapsing. A rule only ever deletes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from .chrome import CHROME, chrome_kind
from .decoding import nfc, unify_line_endings
from .repairs import drop_invisible, repair_mojibake
from .units import Removal, Unit


@dataclass
class Line:
    """One line of an article being cleaned: its units (without the newline) and the unit that ends it."""

    units: list[Unit]
    newline: Unit | None  # the unit that ends the line; None for the last line
    index: int = 0  # position among the lines of the document before cleaning

    @cached_property
    def text(self) -> str:
        return "".join(u[0] for u in self.units)

    @cached_property
    def words(self) -> int:
        return len(self.text.split())


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


def _drop_runs(lines: list[Line], removed: list[tuple[str, Line]], rule: str,
               starts: Callable[[Line], bool], goes_on: Callable[[Line], bool]) -> list[Line]:
    """Drop each run of lines from a line that `starts` one through the lines after it that `go on`
    with it, each named `rule` in `removed`; return the lines kept."""
    out: list[Line] = []
    inside = False
    for line in lines:
        if starts(line):
            inside = True
        elif inside and not goes_on(line):
            inside = False
        if inside:
            removed.append((rule, line))
        else:
            out.append(line)
    return out


def _drop_consent_banners(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """A cookie/consent banner: its heading and the lines after it that are blank, speak of cookies or
    consent, or are banner controls ("Always Active", "Accept all")."""
    return _drop_runs(lines, removed, "consent-banner", lambda line: bool(CHROME.consent_heading.search(line.text)),
                      lambda line: not line.text or bool(CHROME.consent_continues.search(line.text)
                                                         or CHROME.consent_controls.match(line.text)))


def _drop_related_lists(lines: list[Line], removed: list[tuple[str, Line]]) -> list[Line]:
    """A "Related Posts"/"More from this author" list: its heading and the short lines that follow
    it (teaser headlines, blurbs, "14 minutes ago"), up to the next body-length paragraph."""
    return _drop_runs(lines, removed, "related-list",
                      lambda line: any(p.fullmatch(line.text) for p in CHROME.teaser_headings),
                      lambda line: line.words < CHROME.teaser_max_words)


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

    Returns the clean units, the clean lines, what was removed (sorted by raw offset, in bytes of
    the input file; whitespace, blank lines and markup are not listed) and notes for warnings.
    Raises nothing: any text is cleanable (it may come out empty)."""
    removals: list[Removal] = []
    notes: list[str] = []
    units = unify_line_endings(units)
    units = drop_invisible(repair_mojibake(units, removals, notes), removals)
    lines = _split_lines(nfc(units))
    removed: list[tuple[str, Line]] = []
    for rule in CLEANING_RULES:
        lines = rule(lines, removed)
    removals += _line_stretches(removed, lines)
    out = _assemble(lines)
    return out, [line for line in _split_lines(out) if line.units], sorted(removals, key=lambda r: r[1:3]), notes
