"""Where a user-perceived character (an extended grapheme cluster) starts: the one home of that fact.

`tasks` never cuts a chunk inside a grapheme, and `validate` warns when a span boundary splits
one; both ask this module. Clusters are those of Unicode Standard Annex #29 as implemented by
the `regex` package's `\\X` (flags, skin-tone modifiers, emoji ZWJ and tag sequences, combining
marks, Hangul syllables, CR LF). All positions are code point indices into a Python `str`.
"""

from __future__ import annotations

import regex

_CLUSTER = regex.compile(r"\X", regex.DOTALL)
# Grapheme_Cluster_Break Other, Control, CR or LF: between two such characters no UAX #29 rule but
# CR x LF (GB3) keeps a cluster together (GB9-GB13 need Extend, ZWJ, SpacingMark, Prepend, Hangul
# or Regional_Indicator on one side). Every ASCII and whitespace character is one of them.
_SIMPLE = regex.compile(r"[\p{Grapheme_Cluster_Break=Other}\p{Grapheme_Cluster_Break=Control}"
                        r"\p{Grapheme_Cluster_Break=CR}\p{Grapheme_Cluster_Break=LF}]")
_simple_chars: dict[str, bool] = {}  # character -> whether _SIMPLE matches it (bounded by the characters seen)
_pairs: dict[str, bool] = {}  # two characters, one of them ASCII -> whether a cluster boundary lies between them
_PAIRS_KEPT = 1 << 14  # about 2 MB; every position of the five articles of dataset/ meets 832 pairs


def _plain(ch: str) -> bool:
    plain = _simple_chars.get(ch)
    if plain is None:
        plain = _simple_chars[ch] = _SIMPLE.match(ch) is not None
    return plain


def _safe_start(text: str, i: int) -> int:
    """A position <= i where a cluster certainly starts: between two characters of break property
    Other, Control, CR or LF, other than CR LF (no UAX #29 rule joins those), else the start of the text."""
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
        if a < "\x80" or b < "\x80":
            return _pair_boundary(a, b)
        if _plain(a) and _plain(b):  # _safe_start(text, i) == i: a boundary
            return True
    return cluster_start(text, i) == i


def _pair_boundary(a: str, b: str) -> bool:
    """Whether a cluster boundary lies between a and b when one of them is ASCII: then the two decide
    alone. The UAX #29 rules that look further left (GB9c Indic conjuncts, GB11 emoji ZWJ sequences,
    GB12-13 flags) need a non-ASCII character on both sides (a linker, ZWJ or regional indicator
    left, a consonant, pictograph or indicator right), and no rule looks right of b. Answered by \\X
    over the pair, kept per pair (up to _PAIRS_KEPT pairs: then forgotten and kept anew)."""
    boundary = _pairs.get(a + b)
    if boundary is None:
        if len(_pairs) >= _PAIRS_KEPT:
            _pairs.clear()
        boundary = _pairs[a + b] = _CLUSTER.match(a + b).end() == 1
    return boundary
