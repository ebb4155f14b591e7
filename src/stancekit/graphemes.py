"""Where a user-perceived character (an extended grapheme cluster) starts: the one home of that fact.

`tasks` never cuts a chunk inside a grapheme, and `validate` warns when a span boundary splits
one; both ask this module. Clusters are those of Unicode Standard Annex #29 as implemented by
the `regex` package's `\\X` (flags, skin-tone modifiers, emoji ZWJ and tag sequences, combining
marks, Hangul syllables, CR LF). All positions are code point indices into a Python `str`.
"""

from __future__ import annotations

import regex

_CLUSTER = regex.compile(r"\X", regex.DOTALL)


def _plain(ch: str) -> bool:
    return ch < "\x80" or ch.isspace()


def _safe_start(text: str, i: int) -> int:
    """A position <= i where a cluster certainly starts: between two characters that are each ASCII or
    whitespace, other than CR LF (no UAX #29 rule joins those), else the start of the text."""
    for p in range(i, 0, -1):
        a, b = text[p - 1], text[p]
        if _plain(a) and _plain(b) and not (a == "\r" and b == "\n"):
            return p
    return 0


def cluster_start(text: str, i: int) -> int:
    """The start of the grapheme cluster that holds code point i (i itself when i is a boundary).

    0 <= i <= len(text); len(text) is a boundary. Raises IndexError for i outside that range.
    """
    if not 0 <= i <= len(text):
        raise IndexError(f"position {i} is outside a text of {len(text)} code points")
    if i == 0 or i == len(text):
        return i
    pos = _safe_start(text, i)
    while True:
        end = _CLUSTER.match(text, pos).end()
        if end > i:
            return pos
        pos = end


def is_boundary(text: str, i: int) -> bool:
    """True when code point index i is between two grapheme clusters (or at either end of the text)."""
    if 0 < i < len(text):
        a, b = text[i - 1], text[i]
        if _plain(a) and _plain(b) and not (a == "\r" and b == "\n"):  # _safe_start(text, i) == i: a boundary
            return True
    return cluster_start(text, i) == i
