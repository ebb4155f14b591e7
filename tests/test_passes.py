"""Committed annotation passes (annotation/passes/*.yaml): every quote is verbatim, every value is in the taxonomy."""

from pathlib import Path

import pytest
import yaml

from stancekit import taxonomy

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
RAW = ROOT / "dataset/raw"
PASSES = sorted((ROOT / "annotation/passes").glob("*.yaml"))
SPAN_KEYS = {"label", "quote", "occurrence", "note"}
TRAILING_PUNCTUATION = tuple(".,;:?!")


def matches(text: str, quote: str) -> list[int]:
    """Start offsets (code points) of every occurrence of quote, overlapping ones included."""
    starts, i = [], text.find(quote)
    while i >= 0:
        starts.append(i)
        i = text.find(quote, i + 1)
    return starts


def annotated_region(text: str, article: dict) -> str:
    """The raw text before a pasted-twice body (`duplicate_from`), or the whole text."""
    dup = article.get("duplicate_from")
    if not dup:
        return text
    starts = matches(text, dup["quote"])
    assert len(starts) >= dup["occurrence"] >= 2, f"duplicate_from {dup} not found"
    return text[:starts[dup["occurrence"] - 1]]


def span_problems(region: str, span: dict) -> list[str]:
    """What is wrong with one span of a pass, as readable strings (empty when it is fine)."""
    problems = []
    label, quote = span.get("label"), span.get("quote")
    if label not in TAXONOMY.label_names:
        return [f"unknown label {label!r}"]
    if not isinstance(quote, str) or not quote.strip():
        return ["empty quote"]
    if quote != quote.strip() or quote.endswith(TRAILING_PUNCTUATION):
        problems.append(f"{quote!r}: leading/trailing space or trailing punctuation")
    starts = matches(region, quote)
    occurrence = span.get("occurrence")
    if not starts:
        problems.append(f"{quote!r}: not found verbatim in the annotated text")
    elif occurrence is None and len(starts) > 1:
        problems.append(f"{quote!r}: occurs {len(starts)} times, needs `occurrence`")
    elif occurrence is not None and not (isinstance(occurrence, int) and 1 <= occurrence <= len(starts)):
        problems.append(f"{quote!r}: occurrence {occurrence!r} not in 1..{len(starts)}")
    asked = {q.name: q for q in TAXONOMY.attributes_for(label)}
    unknown = set(span) - SPAN_KEYS - set(asked)
    if unknown:
        problems.append(f"{quote!r}: attributes {sorted(unknown)} do not apply to {label}")
    for name, question in asked.items():
        if span.get(name) not in question.value_names:
            problems.append(f"{quote!r}: {name}={span.get(name)!r} not in {question.value_names}")
    if span.get("condition_type") == "other" and not span.get("note"):
        problems.append(f"{quote!r}: condition_type other needs a note")
    return problems


def offsets(region: str, span: dict) -> tuple[int, int]:
    start = matches(region, span["quote"])[span.get("occurrence", 1) - 1]
    return start, start + len(span["quote"])


def test_there_is_a_pass():
    assert PASSES


@pytest.mark.parametrize("path", PASSES, ids=lambda p: p.name)
def test_pass_is_valid(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw_files = {p.name for p in RAW.iterdir() if p.suffix in (".txt", ".html", ".jsonl")}
    assert set(data["articles"]) == raw_files
    doc_stances = TAXONOMY.question("doc_stance").value_names
    problems = []
    for name, article in data["articles"].items():
        region = annotated_region((RAW / name).read_text(encoding="utf-8"), article)
        if article.get("doc_stance") not in doc_stances:
            problems.append(f"{name}: doc_stance {article.get('doc_stance')!r} not in {doc_stances}")
        if not str(article.get("rationale", "")).strip():
            problems.append(f"{name}: no rationale")
        spans = article.get("spans") or []
        problems += [f"{name}: {p}" for span in spans for p in span_problems(region, span)]
        if problems:
            continue
        for label in TAXONOMY.label_names:  # same-label spans never overlap (guidelines 4.7)
            ranges = sorted(offsets(region, s) for s in spans if s["label"] == label)
            problems += [f"{name}: {label} spans {a} and {b} overlap" for a, b in zip(ranges, ranges[1:]) if b[0] < a[1]]
        voiced_by_russia = [s for s in spans if "condition_type" in s and s["attribution"] in ("actor", "government")]
        if article["doc_stance"] == "support" and voiced_by_russia:  # guidelines 4.9
            problems.append(f"{name}: doc_stance support but the actor attaches conditions")
    assert not problems, "\n".join(problems)


def test_checks_catch_bad_spans():
    region = "He demands “A” and A, and A."
    good = {"label": "CONDITION", "quote": "“A”", "condition_type": "other", "note": "x",
            "attribution": "actor", "modality": "asserted"}
    assert span_problems(region, good) == []
    assert span_problems(region, {**good, "quote": '"A"'})  # straight quotes are not curly ones
    assert span_problems(region, {**good, "quote": "A"})  # ambiguous without occurrence
    assert span_problems(region, {**good, "quote": "A", "occurrence": 3}) == []
    assert span_problems(region, {**good, "quote": "A", "occurrence": 4})
    assert span_problems(region, {**good, "quote": "and A."})  # trailing punctuation
    assert span_problems(region, {**good, "condition_type": "nonsense"})
    assert span_problems(region, {**good, "polarity": "support"})  # STANCE-only attribute
    assert span_problems(region, {**good, "note": ""})
    assert span_problems(region, {**good, "label": "CLAIM"})


def test_every_span_lands_on_its_quote_in_the_clean_text():
    from stancekit import ingest, passes, taxonomy
    documents = ingest.ingest(sorted(str(p) for p in (ROOT / "dataset/raw").glob("*.txt"))).documents
    tax = taxonomy.load(ROOT / "schema/taxonomy.yaml")
    for path in PASSES:
        data = passes.load_pass(path)
        results = passes.pass_results(data, documents, tax)
        by_id = {d["doc_id"]: d for d in documents}
        placed = [item for doc_id, result in results.items() for item in result if item["type"] == "labels"]
        quotes = [s["quote"] for a in data["articles"].values() for s in a.get("spans") or []]
        assert sorted(i["value"]["text"] for i in placed) == sorted(quotes)
        for doc_id, result in results.items():
            for item in result:
                if "start" in item["value"]:
                    v = item["value"]
                    assert by_id[doc_id]["text"][v["start"]:v["end"]] == v["text"]
