"""The data every ingest step passes on: the character unit, a removed stretch, and the ingest error.

A *unit* ``(text, raw_start, raw_end)`` is one clean code point, or several when NFC composes or
expands (they stay together), with the raw byte range [raw_start, raw_end) of the input file it was
decoded from. Separators the HTML extractor inserts between blocks have an empty raw range.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import InputError

Unit = tuple[str, int, int]


class IngestError(InputError):
    """One input (a file, or a line of a JSONL feed) that cannot be ingested; the message is one line."""


class Removal(NamedTuple):
    """A stretch cleaning removed (or, for rule "mojibake", replaced): raw bytes [raw_start, raw_end)
    of the input file, and the text that was there (clean characters; lines joined by ``\\n``)."""

    rule: str
    raw_start: int
    raw_end: int
    text: str
