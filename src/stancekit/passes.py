"""Annotation passes as data: turn an annotator's pass file into Label Studio results.

A pass file (annotation/passes/*.yaml, format in annotation/GUIDELINES.md section 5) names each
span by a verbatim `quote` of the raw article and its `occurrence`. Here each quote is found in
the raw file, and then in the clean document text at the place whose offset map leads back to
those same raw bytes, so a span lands on exactly the passage the annotator read.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import ingest, records
from .taxonomy import Taxonomy


class PassError(ValueError):
    """A pass file cannot be read, or one of its spans cannot be placed."""


def load_pass(path: str | Path) -> dict:
    """Read a pass file; a clear error when it is not YAML of the expected shape."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PassError(f"{path}: cannot read the pass file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("articles"), dict) or not data.get("annotator"):
        raise PassError(f"{path}: expected keys 'annotator' and 'articles'")
    return data


def _nth(text: str, quote: str, occurrence: int) -> int:
    """Code-point index of the occurrence-th (1-based) match of quote in text, or -1."""
    at = -1
    for _ in range(occurrence):
        at = text.find(quote, at + 1)
        if at < 0:
            return -1
    return at


def place_span(document: dict, raw_text: str, quote: str, occurrence: int = 1) -> tuple[int, int]:
    """Clean-text (start, end) of the occurrence-th quote of the raw article, traced through the offset map."""
    raw_at = _nth(raw_text, quote, occurrence)
    if raw_at < 0:
        raise PassError(f"quote not found {occurrence}x in the raw article: {quote!r}")
    raw_bytes = (len(raw_text[:raw_at].encode("utf-8")), len(raw_text[:raw_at + len(quote)].encode("utf-8")))
    text = document["text"]
    at = text.find(quote)
    while at >= 0:
        if ingest.to_raw_offsets(document["offset_map"], at, at + len(quote)) == raw_bytes:
            return at, at + len(quote)
        at = text.find(quote, at + 1)
    raise PassError(f"quote removed by ingest or changed by cleaning: {quote!r}")


def pass_results(pass_data: dict, documents: list[dict], taxonomy: Taxonomy) -> dict[str, list[dict]]:
    """{doc_id: Label Studio result list} for every article of the pass, in document offsets."""
    by_file = {Path(d["source_file"]).name: d for d in documents}
    annotator = pass_data["annotator"]
    out = {}
    for file_name, article in pass_data["articles"].items():
        document = by_file.get(file_name)
        if document is None:
            raise PassError(f"{annotator}: article {file_name} is not among the ingested documents")
        raw_text = Path(document["source_file"]).read_text(encoding="utf-8-sig")
        choices = {q.name: article.get(q.name) for q in taxonomy.document_choices}
        result = records.choice_items(choices, {name: f"{annotator}-{name}" for name in choices}, origin="manual")
        spans = []
        for i, span in enumerate(article.get("spans") or []):
            try:
                start, end = place_span(document, raw_text, span["quote"], span.get("occurrence", 1))
            except PassError as exc:
                raise PassError(f"{annotator}: {file_name} span {i}: {exc}") from exc
            spans.append({**span, "region_id": f"{annotator}-{i:03d}", "start": start, "end": end})
        result += records.span_items(taxonomy, document["text"], spans, origin="manual")
        out[document["doc_id"]] = result
    return out
