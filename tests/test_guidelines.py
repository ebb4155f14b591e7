"""GUIDELINES.md: generated tables from the taxonomy, and examples that teach without giving the gold away."""

import dataclasses
import json
import re
import unicodedata
from pathlib import Path

import yaml

from stancekit import guidelines, taxonomy

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
GUIDELINES = ROOT / "annotation/GUIDELINES.md"


def test_every_taxonomy_value_and_definition_is_in_the_tables():
    tables = guidelines.render_tables(TAXONOMY)
    assert f"version {TAXONOMY.version} (sha256 {TAXONOMY.sha256[:12]})" in tables
    for label in TAXONOMY.span_labels:
        assert f"| `{label.value}` |" in tables and label.definition in tables
    for question in TAXONOMY.questions:
        assert f"`{question.name}`" in tables
        for value in question.values:
            assert f"| `{value.value}` | {value.definition} |" in tables


def test_the_committed_guidelines_hold_the_fresh_tables():
    """The cog block of GUIDELINES.md is the render of the committed taxonomy (tests/test_docs.py runs
    `cog --check` on it too); an edited definition would not be there."""
    committed = GUIDELINES.read_text(encoding="utf-8")
    assert guidelines.render_tables(TAXONOMY) in committed
    q = TAXONOMY.region_attributes[0]
    edited = dataclasses.replace(q, values=(dataclasses.replace(q.values[0], definition="Edited | definition."),)
                                 + q.values[1:])
    changed = dataclasses.replace(TAXONOMY, region_attributes=(edited,) + TAXONOMY.region_attributes[1:])
    tables = guidelines.render_tables(changed)
    assert "Edited \\| definition." in tables and tables not in committed  # pipes escaped inside a table cell


RAWS = {p.name[:3]: p.read_text(encoding="utf-8") for p in (ROOT / "dataset/raw").glob("*.txt")}
WORKED = ROOT / "annotation/WORKED_EXAMPLES.md"
CORPUS_QUOTE = re.compile(r"\b(\d{3}) `([^`]+)`")
CONSTRUCTED = re.compile(r"✎ «([^»]+)»")
QUOTE_BUDGET, QUOTE_MIN_CHARS = 5, 25  # issue 17: at most 5 gold quotes of 25+ characters verbatim


def _norm(text: str) -> str:
    """Text compared loosely: NFKC, straight quotes, one space, case-folded (so a retyped quote still counts)."""
    text = unicodedata.normalize("NFKC", text)
    for curly, straight in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"')):
        text = text.replace(curly, straight)
    return " ".join(text.split()).casefold()


def gold_quotes(min_chars: int = QUOTE_MIN_CHARS) -> set[str]:
    """The span texts of annotation/gold/gold.json and the quotes of annotation/passes/*.yaml, min_chars or longer."""
    gold = json.loads((ROOT / "annotation/gold/gold.json").read_text(encoding="utf-8"))
    quotes = {span["text"] for doc in gold["documents"] for span in doc["spans"]}
    for path in sorted((ROOT / "annotation/passes").glob("*.yaml")):
        articles = yaml.safe_load(path.read_text(encoding="utf-8"))["articles"]
        quotes |= {span["quote"] for article in articles.values() for span in article.get("spans") or []}
    return {q for q in quotes if len(q) >= min_chars}


def quotes_standing_in(text: str, quotes: set[str]) -> list[str]:
    """The quotes that occur in text (compared with _norm), sorted."""
    haystack = _norm(text)
    return sorted(q for q in quotes if _norm(q) in haystack)


def test_at_most_five_gold_quotes_stand_verbatim_in_the_guidelines():
    quotes = gold_quotes()
    assert len(quotes) > 50  # the gold and the passes are read, so the budget below can be broken
    standing = quotes_standing_in(GUIDELINES.read_text(encoding="utf-8"), quotes)
    assert len(standing) <= QUOTE_BUDGET, f"{len(standing)} gold quotes stand in GUIDELINES.md: {standing}"


def test_the_quote_count_sees_retyped_and_reflowed_quotes():
    quotes = sorted(gold_quotes())[:QUOTE_BUDGET + 1]
    text = "\n".join(f"> {q.replace('’', chr(39)).replace(' ', chr(10) + '  ', 1).upper()}" for q in quotes)
    assert len(quotes_standing_in(text, gold_quotes())) >= QUOTE_BUDGET + 1


def test_corpus_quotes_in_the_guidelines_are_verbatim_and_few():
    examples = CORPUS_QUOTE.findall(GUIDELINES.read_text(encoding="utf-8"))
    assert [(n, q) for n, q in examples if q not in RAWS[n]] == []
    assert len(examples) <= 5


def test_worked_examples_are_verbatim_and_say_they_are_not_for_blind_annotators():
    text = WORKED.read_text(encoding="utf-8")
    head = text[:1500].casefold()
    assert "never" in head and "blind" in head
    examples = CORPUS_QUOTE.findall(text)
    assert len(examples) > 50
    assert [(n, q) for n, q in examples if q not in RAWS[n]] == []


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", _norm(re.sub(r"⟦[SC] |⟧", "", text)))


def test_constructed_examples_are_well_formed_and_not_copied_from_the_corpus():
    examples = CONSTRUCTED.findall(GUIDELINES.read_text(encoding="utf-8"))
    assert len(examples) > 100
    n = 6
    corpus = _words(" ".join(RAWS.values()))
    grams = {tuple(corpus[i:i + n]) for i in range(len(corpus) - n + 1)}
    for example in examples:
        assert example.count("⟦") == example.count("⟧"), example
        assert all(example[i + 1:i + 3] in ("S ", "C ") for i, c in enumerate(example) if c == "⟦"), example
        words = _words(example)
        copied = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1) if tuple(words[i:i + n]) in grams]
        assert not copied, f"constructed example shares {copied} with an article"


def _sections(text: str) -> dict[str, str]:
    """Definition sections (### 3.N) and decision rules (**4.N ...) of the guidelines, by number."""
    parts = re.split(r"^(?:### (3\.\d+)|\*\*(4\.\d+) )", text, flags=re.M)
    return {a or b: body for a, b, body in zip(parts[1::3], parts[2::3], parts[3::3])}


def test_every_definition_and_rule_has_constructed_positive_and_negative_examples():
    sections = _sections(GUIDELINES.read_text(encoding="utf-8").split("## 5.")[0])
    assert {f"3.{i}" for i in range(1, 6)} | {f"4.{i}" for i in range(1, 20)} <= set(sections)
    for number, body in sections.items():
        if number == "4.19":  # the hard cases: worked decisions, each on a constructed text
            assert body.count("✎") >= 10
            continue
        assert "✎" in body and "✔" in body and "✘" in body, f"section {number} lacks a constructed ✔ or ✘ example"


def test_every_condition_category_has_a_constructed_example():
    text = GUIDELINES.read_text(encoding="utf-8")
    categories = next(q for q in TAXONOMY.region_attributes if q.name == "condition_type")
    for value in categories.value_names:
        assert re.search(rf"^- `{value}` ✔ ✎", text, flags=re.M), value
