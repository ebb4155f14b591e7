"""Characters: mojibake repair (ftfy, where certain) and invisible format characters, before NFC.

Both work on units (see `stancekit.ingest.units`): a repaired character covers the raw bytes of the
mojibake it replaces; each run of deleted characters is reported as a `Removal`.
"""

from __future__ import annotations

import unicodedata

import ftfy
import ftfy.badness

from .units import Removal, Unit

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


def repair_mojibake(units: list[Unit], removed: list[Removal], notes: list[str]) -> list[Unit]:
    """UTF-8 text that was once decoded with a legacy encoding ("â€™" for "’", "Ð¿" for "п"). Each
    run of non-ASCII characters that ftfy takes for mojibake is repaired when ftfy undoes it by
    re-encoding with one single-byte codec (or a chain of them) and decoding UTF-8; runs may come
    from different codecs. Repairs go to `removed` (rule "mojibake"); a run ftfy cannot undo that
    way is left and named in `notes`. Returns the units (a repaired character covers the raw bytes
    of the mojibake it replaces); raises nothing."""
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


def drop_invisible(units: list[Unit], removed: list[Removal]) -> list[Unit]:
    """Delete the INVISIBLE characters; each run of them goes to `removed` (rule "invisible", its raw
    byte range). Raises nothing."""
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
    units = drop_invisible(repair_mojibake([(c, 0, 0) for c in title], [], []), [])
    return " ".join(unicodedata.normalize("NFC", "".join(u[0] for u in units)).split())
