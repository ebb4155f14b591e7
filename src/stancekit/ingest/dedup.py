"""Duplicates: exact (same clean text) and near duplicates (Jaccard of word 5-shingles), the first kept."""

from __future__ import annotations

import hashlib
import math
import re

NEAR_DUPLICATE_JACCARD = 0.9
SHINGLE_WORDS = 5


def _shingles(text: str) -> list[int]:
    """Word 5-shingles as sorted hashes (a global order for prefix filtering)."""
    words = re.findall(r"\w+", text.casefold())
    n = min(SHINGLE_WORDS, len(words))
    grams = {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)} if words else set()
    return sorted(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams)


def drop_duplicates(documents: list[dict]) -> tuple[list[dict], list[str]]:
    """Keep the first of exact (same text) and near duplicates (Jaccard of word 5-shingles >= 0.9).

    Candidates come from prefix filtering: two sets with Jaccard >= t share one of the first
    len - ceil(t * len) + 1 elements of each (in one global order), so no pair is missed
    and the corpus is not compared pair by pair.

    `documents` are document dicts (``text``, ``text_sha256``, ``where``), in input order. Returns
    the kept ones, in that order, and one note per dropped document naming the one kept. Raises nothing."""
    kept: list[dict] = []
    shingle_sets: list[set[int]] = []
    by_text: dict[str, int] = {}
    by_prefix: dict[int, list[int]] = {}
    notes = []
    for doc in documents:
        if doc["text_sha256"] in by_text:
            first = kept[by_text[doc["text_sha256"]]]
            notes.append(f"{doc['where']}: exact duplicate of {first['where']}; kept the first")
            continue
        shingles = _shingles(doc["text"])
        prefix = shingles[:len(shingles) - math.ceil(NEAR_DUPLICATE_JACCARD * len(shingles)) + 1]
        candidates = sorted({i for h in prefix for i in by_prefix.get(h, ())})
        mine = set(shingles)
        for i in candidates:
            jaccard = len(mine & shingle_sets[i]) / len(mine | shingle_sets[i])
            if jaccard >= NEAR_DUPLICATE_JACCARD:
                notes.append(f"{doc['where']}: near duplicate of {kept[i]['where']} "
                             f"(Jaccard {jaccard:.2f}); kept the first")
                break
        else:
            by_text[doc["text_sha256"]] = len(kept)
            for h in prefix:
                by_prefix.setdefault(h, []).append(len(kept))
            kept.append(doc)
            shingle_sets.append(mine)
    return kept, notes
