"""The offset map: clean code points <-> raw bytes of the input file, run-length encoded.

`offset_map` builds it from the clean units (the ``offset_map`` column of documents.parquet);
`to_raw_offsets` and `raw_pieces` map a span of the clean text back to raw bytes.
"""

from __future__ import annotations

import bisect

from .units import Unit


def offset_map(units: list[Unit], encoding: str) -> dict:
    """Run-length encode the units: run r covers count[r] units, each clean_step[r] code points
    and raw_step[r] bytes, starting at clean[r] (code points of the clean text) and raw[r] (bytes of
    the raw file); runs are split where raw bytes were dropped. Returns {"encoding", "clean", "raw",
    "clean_step", "raw_step", "count"} (the documents.parquet struct); raises nothing."""
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
    starts = omap["clean"]
    r = bisect.bisect_right(starts, index) - 1
    step, rstep, first = int(omap["clean_step"][r]), int(omap["raw_step"][r]), int(starts[r])
    k = (index - first) // step
    clean = first + k * step
    raw = int(omap["raw"][r]) + k * rstep
    return clean, clean + step, raw, raw + rstep


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

    `omap` is the ``offset_map`` of documents.parquet (lists or arrays). Raises ValueError when the
    span is not inside the document (0 <= start <= end <= its length in code points).
    """
    # _locate(omap, start)[2] and _locate(omap, end - 1)[3], each list looked up once (a release maps every span)
    starts, steps, raw, raw_steps = omap["clean"], omap["clean_step"], omap["raw"], omap["raw_step"]
    total = int(starts[-1] + omap["count"][-1] * steps[-1]) if len(starts) else 0  # code points
    if not 0 <= start <= end <= total:
        raise ValueError(f"span [{start}, {end}) is outside the document (length {total})")
    if start == end:
        pos = _locate(omap, start)[2] if start < total else _locate(omap, total - 1)[3] if total else 0
        return pos, pos
    r = bisect.bisect_right(starts, start) - 1
    raw_start = raw[r] + (start - starts[r]) // steps[r] * raw_steps[r]
    last = end - 1
    r = bisect.bisect_right(starts, last, r) - 1
    return int(raw_start), int(raw[r] + ((last - starts[r]) // steps[r] + 1) * raw_steps[r])


def raw_pieces(omap: dict, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The span [start, end) widened to whole units, as maximal pieces (clean start, clean end,
    raw start, raw end) whose raw bytes are contiguous (clean offsets in code points, raw in bytes);
    see `to_raw_offsets`. Raises ValueError for a span outside the document."""
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
