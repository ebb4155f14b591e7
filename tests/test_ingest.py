"""Ingestion: the five seed articles, the real-world fixture shapes, duplicates, bad input, the CLI."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from stancekit import columns, ingest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "dataset" / "raw"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
SEEDS = sorted(RAW.glob("*.txt"))

# Per seed article: body sentences (and headings) that must survive exactly once, and
# boilerplate that must be gone.
SEED_CASES = {
    "000": dict(
        title="Putin's Stance On Ukraine Ceasefire",
        keep=[
            "Putin's Stance On Ukraine Ceasefire",
            "Hey guys! So, there's been a lot of buzz lately about a potential ceasefire in Ukraine, "
            "and it sounds like a pretty big deal, right?",
            "The hope for a ceasefire is always there, but without trust and mutual agreement, it remains just that – a hope.",
            "Understanding the Geopolitical Landscape",
            "Key Concerns Driving Putin's Hesitation",
            "Secondly, there's the issue of trust and verification.",
            "The Role of the United States in the Proposal",
            "Potential Implications of Continued Hesitation",
            "Moving Forward: What's Next?",
            "The hope for a resolution remains, but the path is fraught with obstacles, and overcoming "
            "Putin's reservations is a critical step on that long road.",
        ],
        gone=["Jhon Lennon", "36 views"],
    ),
    "001": dict(
        title="Putin's Reiterated Stance: Ceasefire Conditions Raise Questions of Genuine Intent",
        keep=[
            "As negotiations unfold, Putin's insistence on conditions raises doubts about his readiness for true reconciliation.",
            "Putin's Reiterated Stance: Ceasefire Conditions Raise Questions of Genuine Intent",
            "Vladimir Putin's nuanced proposal for a ceasefire highlights complex demands that may hinder peace efforts.",
            "In a recent dialogue with US representatives at the Kremlin, Russian President Vladimir Putin signaled a "
            "willingness to consider a ceasefire but stressed that \"there are nuances\" integral to his perspective.",
            "Putin's outlook centers around specific demands that echo his long-standing narrative since the "
            "commencement of the full-scale invasion of Ukraine.",
            "\"We agree with the proposals to cease hostilities,\" Putin stated, but added, “This cessation must lead "
            "to long-term peace and tackle the core issues of this crisis.”",
            "Since the beginning of the conflict, Putin has insisted on Ukraine's \"demilitarization,\" a concept that "
            "is vehemently opposed by Kyiv and its allies.",
            "“If we stop military actions for 30 days, what will that mean for the battlefield?” he queried.",
            "Russia's Defense Ministry recently announced full control over Sudzha, the biggest city captured during the conflict.",
            "Despite tentative entry from up to 15 Western nations to provide peacekeeping support if a durable peace "
            "agreement is established, Putin's outlook suggests such arrangements would quickly falter.",
            "Putin's detailed conditions reflect a precarious and challenging road ahead for negotiations in pursuit of peace.",
        ],
        gone=["**"],
    ),
    "002": dict(
        title="Putin Is ‘Carefully Studying’ Proposed Ukraine Cease-Fire",
        keep=[
            "Putin Is ‘Carefully Studying’ Proposed Ukraine Cease-Fire",
            "Putin’s Sudden Change of Heart: Exploring the Shift in Russia’s Stance on a Ukraine Ceasefire",
            "A Month of Dramatic Shifts in Geopolitics",
            "Just a month ago, in January, Russian President Vladimir Putin was unequivocal in his rejection of a "
            "temporary ceasefire in Ukraine.",
            "Putin’s spokesman, Dmitri S. Peskov, revealed that the Kremlin is now “carefully studying” the ceasefire proposal",
            "Sergei Markov, a pro-Kremlin analyst, predicts that Russia will demand preconditions, such as halting "
            "weapons supplies to Ukraine during the ceasefire.",
            "the Kremlin might accept a truce that is “tactically unfavorable but strategically favorable” if it "
            "allows Russia to present itself as a peacemaker.",
            "The Precarious Dance of Diplomacy and Power",
            "reflecting the complex interplay of power, diplomacy, and perception in a rapidly changing world.",
        ],
        gone=["Customize Consent Preferences", "cookies", "Always Active", "Share This Post", "Related Posts"],
    ),
    "003": dict(
        title="Putin may pursue terms amidst Ukraine ceasefire talks",
        keep=[
            "Putin may pursue terms amidst Ukraine ceasefire talks",
            "Ukraine recently indicated openness to a ceasefire, posing a dilemma for the Kremlin amid its military’s "
            "current strategic advantage.",
            "Additionally, Moscow explicitly opposes the inclusion of NATO troops as monitors in any prospective peace settlement.",
            "He also demands a withdrawal of Ukrainian forces from four Russian-seized regions.",
            "Sam Greene from the Center for European Policy Analysis indicates that a definitive “no” from Putin to "
            "the ceasefire is improbable.",
            "Moscow may find the process beneficial, provided it is largely governed by Washington.",
        ],
        gone=["\n0\n", "    "],
    ),
    "004": dict(
        title="Kremlin’s Surprising Shift: Putin Endorses Ukraine Ceasefire Initiatives",
        keep=[
            "Kremlin’s Surprising Shift: Putin Endorses Ukraine Ceasefire Initiatives",
            "In a dramatic policy reversal, Russian President Vladimir Putin has publicly expressed support for "
            "ceasefire initiatives in Ukraine, marking a potential turning point in the 18-month conflict.",
            "• Immediate cessation of hostilities along current front lines",
            "• Diverging views on security guarantees",
            "“Until tanks leave our land, words mean nothing.”",
            "3. Security assurances: Addressing Ukraine’s NATO membership aspirations",
            "The coming weeks will test whether this represents a genuine off-ramp or merely a tactical pause in "
            "Europe’s bloodiest conflict since WWII.",
        ],
        gone=["Categories: Uncategorized", "See more BBC Express News", "Recent Posts", "14 minutes ago",
              "Ex-US Army Analyst Sentenced", "Fetterman", "Pope Francis", "South Korea"],
    ),
}


@pytest.fixture(scope="module")
def seed_docs() -> dict[str, dict]:
    result = ingest.ingest(SEEDS)
    assert result.errors == [] and result.warnings == []
    return {Path(d["source_file"]).name[:3]: d for d in result.documents}


def test_five_seed_articles_give_five_documents(seed_docs):
    assert sorted(seed_docs) == sorted(SEED_CASES)


@pytest.mark.parametrize("key", sorted(SEED_CASES))
def test_seed_article_body_survives_once_and_boilerplate_is_gone(seed_docs, key):
    case, text = SEED_CASES[key], seed_docs[key]["text"]
    for sentence in case["keep"]:
        assert text.count(sentence) == 1, sentence
    for junk in case["gone"]:
        assert junk not in text, junk
    assert seed_docs[key]["title"] == case["title"]
    assert "\r" not in text and "\n\n\n" not in text and text == text.strip()
    assert all(line == line.strip() for line in text.split("\n"))


@pytest.mark.parametrize("key", sorted(SEED_CASES))
def test_seed_sentences_trace_to_their_raw_bytes(seed_docs, key):
    doc = seed_docs[key]
    raw = (RAW / Path(doc["source_file"]).name).read_bytes()
    for sentence in SEED_CASES[key]["keep"]:
        start = doc["text"].index(sentence)
        rs, re_ = ingest.to_raw_offsets(doc["offset_map"], start, start + len(sentence))
        assert raw[rs:re_].decode("utf-8") == sentence


def test_the_byline_of_000_becomes_its_author(seed_docs):
    """Next dataset version: the byline "by Jhon Lennon 36 views" is chrome, its name the author."""
    assert [seed_docs[k]["author"] for k in sorted(seed_docs)] == ["Jhon Lennon", None, None, None, None]
    assert [seed_docs[k]["published"] for k in sorted(seed_docs)] == [None] * 5


def test_duplicated_body_of_001_is_kept_first(seed_docs):
    raw = (RAW / Path(seed_docs["001"]["source_file"]).name).read_bytes()
    doc = seed_docs["001"]
    first = raw.index(b"Putin's outlook centers")
    start = doc["text"].index("Putin's outlook centers")
    assert ingest.to_raw_offsets(doc["offset_map"], start, start + 5)[0] == first
    assert raw.count(b"Putin's outlook centers") == 2


def test_doc_ids_are_stable_hashes_of_the_text(seed_docs):
    for doc in seed_docs.values():
        digest = hashlib.sha256(doc["text"].encode("utf-8")).hexdigest()
        assert doc["text_sha256"] == digest and doc["doc_id"] == "doc_" + digest[:16]
        assert doc["raw_sha256"] == hashlib.sha256(Path(doc["source_file"]).read_bytes()).hexdigest()
        assert doc["source_format"] == "txt" and doc["url"] is None and doc["published"] is None


# ---------------------------------------------------------------------------------------------
# Other real-world shapes


def test_html_page_keeps_the_article_and_drops_the_chrome():
    result = ingest.ingest([FIXTURES / "page.html"])
    assert result.errors == []
    (doc,) = result.documents
    text = doc["text"]
    assert doc["title"] == "Kremlin weighs truce terms & conditions"
    assert doc["url"] == "https://news.example.org/world/kremlin-weighs-truce-terms"
    assert doc["published"] == "2025-03-13T09:30:00Z"
    assert doc["source_format"] == "html"
    for sentence in [
        "Kremlin weighs truce terms & conditions",
        "Moscow said on Thursday it was “carefully studying” the proposal for a 30-day ceasefire, while "
        "officials signalled that any pause would come with conditions.",
        "The Kremlin’s spokesman said the details still had to be clarified with Washington\u00a0first.",
        "Analysts in Kyiv and Москва alike expect demands on arms supplies. \U0001F54A\uFE0F",
    ]:
        assert text.count(sentence) == 1, sentence
    for junk in ["Consent", "cookies", "Accept All", "Example Wire", "Politics", "dataLayer", "font-family",
                 "trackRead", "Share on Facebook", "1.2K shares", "Related Posts", "Oil prices", "14 minutes ago",
                 "Categories", "Most Read", "Ten things", "newsletter", "All rights reserved", "A truce is not a peace"]:
        assert junk not in text, junk
    assert "\n\n\n" not in text


def test_html_takes_the_longest_article_not_teaser_cards(tmp_path):
    page = tmp_path / "cards.html"
    page.write_text(
        "<html><body><main><section><article><h1>Teaser one</h1><p>Short blurb.</p></article>"
        "<article><h2>Teaser two</h2><p>Another blurb.</p></article></section>"
        "<article><h1>The story</h1><p>Putin said the truce needs guarantees, and his aides listed them "
        "one by one for the reporters.</p><p>Kyiv answered within the hour.</p></article></main></body></html>",
        encoding="utf-8")
    (doc,) = ingest.ingest([page]).documents
    assert doc["title"] == "The story"
    assert doc["text"].startswith("The story\n\nPutin said") and doc["text"].endswith("Kyiv answered within the hour.")
    assert "Teaser" not in doc["text"] and "blurb" not in doc["text"]


def test_crlf_bom_text():
    result = ingest.ingest([FIXTURES / "crlf_bom.txt"])
    (doc,) = result.documents
    assert result.warnings == [] and doc["offset_map"]["encoding"] == "utf-8"
    assert doc["text"] == (
        "Kremlin says truce needs guarantees\n\n"
        "Peskov said the 30-day pause “must not be used to rearm”.\n"
        "In Russian: «перемирие» was the word he used \U0001F54A\U0001F1FA\U0001F1E6.\n\n"
        "Café owners in Kyiv were unimpressed.")
    assert "\u00e9" in doc["text"]  # NFC composed the e + U+0301 of the raw file
    assert doc["title"] == "Kremlin says truce needs guarantees"
    assert ingest.to_raw_offsets(doc["offset_map"], 0, 7) == (3, 10)  # after the BOM


def test_cp1252_text_is_detected_with_a_warning():
    result = ingest.ingest([FIXTURES / "cp1252.txt"])
    (doc,) = result.documents
    assert result.warnings == [f"{FIXTURES / 'cp1252.txt'}: not UTF-8 (byte 5); detected cp1252 (charset-normalizer)"]
    assert doc["text"] == "Putin’s aide: “no pause without terms”\n\nThe envoy met him at the café near the Kremlin, an aide said."
    assert doc["offset_map"]["encoding"] == "cp1252"
    start = doc["text"].index("café")
    assert ingest.to_raw_offsets(doc["offset_map"], start, start + 4) == (start + 2, start + 6)  # 1 byte per char; two CR LF before


def test_jsonl_feed_with_a_duplicate_and_a_truncated_last_line():
    feed = FIXTURES / "feed.jsonl"
    result = ingest.ingest([feed])
    assert [d["source_id"] for d in result.documents] == ["wire-1", "wire-2"]
    first, second = result.documents
    assert first["title"] == "Truce talk stalls" and first["url"] == "https://wire.example/1"
    assert first["published"] == "2025-03-14" and first["source_file"] == str(feed)
    assert second["title"] == "Café diplomacy \U0001F54A"
    assert second["text"] == ("Café diplomacy \U0001F54A\n\nA Ukrainian delegation said the “ceasefire” must be "
                              "verified by observers.\nMoscow rejected NATO monitors.")
    assert result.warnings == [f"{feed}:4: exact duplicate of {feed}:1; kept the first"]
    assert result.errors == [
        f"{feed}:5: not a JSON object; line skipped",
        f'{feed}:6: no "text" string; line skipped',
        f"{feed}:7: empty article: no text left after cleaning; skipped",
        f"{feed}:8: malformed JSON (truncated last line?): Unterminated string starting at column 26; line skipped",
    ]
    raw = feed.read_bytes()
    start = second["text"].index("“ceasefire”")
    rs, re_ = ingest.to_raw_offsets(second["offset_map"], start, start + len("“ceasefire”"))
    assert raw[rs:re_] == rb"\u201cceasefire\u201d"  # the escapes in the file


def test_near_duplicate_across_inputs_is_reported_and_kept_once(tmp_path):
    original = (RAW / "003_7972854242302f16.txt").read_text(encoding="utf-8")
    (tmp_path / "a.txt").write_text(original, encoding="utf-8")
    (tmp_path / "b.txt").write_text(original.replace("consistently rejected", "repeatedly rejected"), encoding="utf-8")
    result = ingest.ingest([tmp_path / "b.txt", tmp_path / "a.txt"])
    assert [Path(d["source_file"]).name for d in result.documents] == ["a.txt"]
    (note,) = result.warnings
    assert re.fullmatch(rf"{tmp_path}/b.txt: near duplicate of {tmp_path}/a.txt \(Jaccard 0\.9\d\); kept the first", note)


# ---------------------------------------------------------------------------------------------
# Cleaning rules stay conservative


def clean(tmp_path: Path, text: str) -> str:
    path = tmp_path / "x.txt"
    path.write_text(text, encoding="utf-8")
    return ingest.ingest([path]).documents[0]["text"]


def test_related_list_ends_at_the_next_body_paragraph(tmp_path):
    body = ("Back to the article: the Kremlin said any truce must come with guarantees that Ukraine will not "
            "rearm, and officials repeated that the talks would take many more weeks to finish.")
    text = clean(tmp_path, f"Title\n\nFirst paragraph.\n\nRelated Posts\n\nTeaser one\n\n2 hours ago\n\n{body}\n")
    assert text == f"Title\n\nFirst paragraph.\n\n{body}"


def test_short_repeats_and_number_sentences_are_kept(tmp_path):
    text = clean(tmp_path, "Title\n\nHe said no.\n\nHe said no.\n\n2025 was the year 30 days mattered.\n\nYes\n\nYes\n\n...\n")
    assert text == "Title\n\nHe said no.\n\nHe said no.\n\n2025 was the year 30 days mattered.\n\nYes\n\nYes\n\n..."


def test_cookie_banner_ends_at_the_first_line_not_about_cookies(tmp_path):
    text = clean(tmp_path, "We use cookies to improve your experience.\nAccept all\nPutin spoke on Friday.\n")
    assert text == "Putin spoke on Friday."


# ---------------------------------------------------------------------------------------------
# CLI


def run_cli(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "stancekit"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True)


def test_cli_writes_five_documents_sorted_and_deterministic(tmp_path):
    out1, out2 = tmp_path / "one" / "documents.parquet", tmp_path / "two.parquet"
    first = run_cli("ingest", *[p.relative_to(ROOT) for p in SEEDS], "--out", out1)
    assert first.returncode == 0, first.stderr
    assert first.stderr == "" and "wrote 5 documents" in first.stdout
    second = run_cli("ingest", "dataset/raw", "--out", out2)  # a directory, any order: the same bytes
    assert second.returncode == 0, second.stderr
    assert out1.read_bytes() == out2.read_bytes()
    table = pq.read_table(out1)
    assert table.column_names == ["doc_id", "title", "text", "source_file", "source_format", "source_id", "url",
                                  "published", "raw_sha256", "text_sha256", "offset_map",
                                  "source_kind", "source_caveats", "outlet", "author"]
    assert table.column("source_kind").null_count == 5  # without --sources nothing is known of the sources
    files = table.column("source_file").to_pylist()
    assert files == sorted(files) == [f"dataset/raw/{p.name}" for p in SEEDS]
    row = table.slice(3, 1).to_pylist()[0]
    start = row["text"].index("Additionally, Moscow")
    rs, re_ = ingest.to_raw_offsets(row["offset_map"], start, start + 12)
    assert (ROOT / row["source_file"]).read_bytes()[rs:re_] == b"Additionally"
    frame = pd.read_parquet(out1)  # the map works as pandas returns it too (numpy arrays)
    assert ingest.to_raw_offsets(frame.iloc[3]["offset_map"], start, start + 12) == (rs, re_)
    assert [p.name for p in out1.parent.iterdir()] == ["documents.parquet"]  # no temp file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert out1.stat().st_mode & 0o777 == 0o666 & ~umask  # permissions like any file the user writes


def test_cli_partial_input_exits_1_and_names_the_lines(tmp_path):
    out = tmp_path / "d.parquet"
    result = run_cli("ingest", FIXTURES / "feed.jsonl", "--out", out)
    assert result.returncode == 1
    assert pq.read_table(out).num_rows == 2
    lines = result.stderr.splitlines()
    assert f"stancekit: error: {FIXTURES / 'feed.jsonl'}:8: malformed JSON (truncated last line?): " \
           "Unterminated string starting at column 26; line skipped" in lines
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("field", ["text", "title", "url", "published", "author", "id"])
def test_a_feed_line_with_an_unpaired_surrogate_escape_is_skipped_naming_the_field(field, tmp_path):
    """JSON may escape a lone surrogate ("\\ud83d"), which no Unicode text holds and UTF-8 cannot store (the
    CLI crashed writing documents.parquet for one in a title): the line is skipped with a one-line error
    naming its field; the other lines are ingested."""
    feed = tmp_path / "feed.jsonl"
    bad = {"text": "Putin answered the ceasefire proposal.", field: "\\ud83d and more"}
    lines = ['{"text": "A first article about the truce.", "id": "a1"}',
             "{" + ", ".join(f'"{k}": "{v}"' for k, v in bad.items()) + "}"]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "documents.parquet"
    result = run_cli("ingest", feed, "--out", out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f'stancekit: error: {feed}:2: "{field}" has an unpaired surrogate escape; line skipped']
    assert pq.read_table(out).column("source_id").to_pylist() == ["a1"]


@pytest.mark.parametrize("name, content, message", [
    ("missing.txt", None, "cannot read: No such file or directory"),
    ("binary.txt", b"\x81\x8d\x8f not text", "not UTF-8 (byte 0), and no encoding fits it; refused"),
    ("utf16.txt", "Putin".encode("utf-16"), "contains NUL bytes: binary or UTF-16, not a text article"),
    ("boiler.txt", b"Share This Post\n\n0\n\nRelated Posts\n", "empty article: no text left after cleaning; skipped"),
    ("empty.html", b"<html><body><nav>Home</nav><script>x()</script></body></html>",
     "empty article: no text left after cleaning; skipped"),
    ("notes.csv", b"a,b\n", "unsupported file type (expected .txt, .html, .htm or .jsonl)"),
    ("feed.jsonl", b"\n\n", "empty feed: no JSON lines"),
])
def test_cli_unusable_input_exits_2_with_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous release")
    result = run_cli("ingest", path, "--out", out)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"stancekit: error: {path}: {message}",
                                          "stancekit: nothing could be ingested; no output written"]
    assert out.read_bytes() == b"previous release"


def test_cli_help_documents_the_verb():
    result = run_cli("ingest", "--help")
    assert result.returncode == 0 and "--out" in result.stdout and "documents.parquet" in result.stdout


def test_readme_and_makefile_know_the_stage():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| ingest | `stancekit ingest` |" in readme
    assert "| `stancekit ingest` | `PATHS...` | `--out`, `--sources`, `--report`" in readme and "## Ingest" in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "build/documents.parquet: $(RAW)" in makefile and "--report build/ingest-report.jsonl" in makefile
    assert re.search(r"^dataset:.*build/documents\.parquet", makefile, re.M)


def test_sources_csv_describes_every_raw_article():
    import csv
    with open(RAW / "sources.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [p.name for p in SEEDS]
    assert all(r["title"] and r["notes"] for r in rows)
    assert list(rows[0]) == ["file", "title", "source_kind", "source_caveats", "outlet", "author", "published",
                             "outlet_in_text", "date_in_text", "author_in_text", "notes"]
    assert all(r["source_kind"] in columns.SOURCE_KINDS for r in rows)


def test_every_quote_of_the_committed_annotation_passes_survives_cleaning(seed_docs):
    import yaml

    by_file = {Path(d["source_file"]).name: d["text"] for d in seed_docs.values()}
    passes = sorted((ROOT / "annotation" / "passes").glob("*.yaml"))
    assert passes
    for path in passes:
        for name, article in yaml.safe_load(path.read_text(encoding="utf-8"))["articles"].items():
            for span in article.get("spans", []):
                assert span["quote"] in by_file[name], f"{path.name}: {name}: {span['quote']!r}"
