"""Ingest on text the rules were not written from: each kind of page chrome (in several languages),
legacy encodings with and without a declaration, mojibake, invisible characters, the removal report.
Includes the regression cases cp1251-html and soft-hyphen-html (tests/fixtures/<case>/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from stancekit import ingest, preannotate, taxonomy

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
STANCEKIT = str(Path(sys.executable).parent / "stancekit")

BODY = [
    "Moscow weighs the truce offer",
    "The Kremlin said on Tuesday that it would study the American proposal for a thirty-day pause in the fighting.",
    "Officials in Kyiv answered that any pause must not be used by Russian forces to regroup and rearm.",
    "By contrast, European diplomats said the talks could take weeks.",  # starts like a byline: kept
    "Sign the agreement first, the envoy said, and then we will talk about guarantees.",  # imperative: kept
    "Image quality of the satellite photos was poor, analysts said, but the build-up was clear.",
    "58 people were wounded in the strike, the regional governor said.",
]

# kind -> chrome lines of that kind, none of them in the seed articles or the rule file's examples
CHROME = {
    "metadata": ["By Olena Marchenko • 3 March 2025 • 4 min read", "Updated 09:12 | 3,400 reads | 58 comments",
                 "Von Karl Weber · 12. März 2025 · 5 Min. Lesezeit", "Автор: Иван Петров | 14 марта 2025 | 1 250 просмотров",
                 "Published March 3, 2025 — 7 min read"],
    "sponsor": ["Advertisement", "Sponsored content", "Story continues below advertisement", "Anzeige", "Реклама",
                "Publicité", "Publicidad"],
    "caption": ["Image: Agency/Archive", "Photo: Reuters/Maxim Shemetov", "Фото: РИА Новости", "Foto: dpa",
                "Image caption, Delegates arrive in Jeddah", "© AFP 2025"],
    "call-to-action": ["Sign up for our morning briefing", "Follow us on WhatsApp", "Download our app for breaking news",
                       "Abonnez-vous à notre newsletter", "Подписывайтесь на наш Telegram-канал", "Folgen Sie uns auf X"],
    "share": ["Share on LinkedIn", "Поделиться"],
    "comments": ["58 comments", "12 комментариев", "Kommentare (4)", "View all 31 comments", "Leave a comment",
                 "27 commentaires", "12 comentarios"],
}


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([STANCEKIT, *map(str, args)], capture_output=True, text=True)


def article_with_chrome() -> str:
    lines = [BODY[0], CHROME["metadata"][0], CHROME["caption"][0], BODY[1], CHROME["sponsor"][0], BODY[2]]
    for kind, examples in CHROME.items():
        for example in examples:
            lines += [example, ""]
    lines += BODY[3:] + ["More from this author", "Kremlin sets out its terms", "Kyiv's answer", "",
                         "An unrelated closing paragraph about the weather in Moscow, long enough to end the "
                         "teaser list because it has more than twenty-five words in it, as a body paragraph does."]
    return "\n".join(lines) + "\n"


def test_each_chrome_kind_is_removed_and_reported_by_its_rule(tmp_path):
    path = tmp_path / "unseen.txt"
    path.write_text(article_with_chrome(), encoding="utf-8")
    result = ingest.ingest([path])
    (doc,) = result.documents
    text = doc["text"]
    for sentence in BODY:
        assert text.count(sentence) == 1, sentence
    assert "An unrelated closing paragraph" in text
    raw = path.read_bytes()
    by_text = {r["text"]: r for r in result.report}
    for kind, examples in CHROME.items():
        for example in examples:
            assert example not in text, example
            record = next(r for t, r in by_text.items() if example in t.split("\n"))
            assert record["rule"] == kind, (example, record["rule"])
            assert example.encode() in raw[record["raw_start"]:record["raw_end"]]
    teasers = next(r for r in result.report if r["rule"] == "related-list")
    assert teasers["text"] == "More from this author\nKremlin sets out its terms\nKyiv's answer"
    for record in result.report:
        assert record["doc_id"] == doc["doc_id"] and record["source_file"] == str(path)
        assert raw[record["raw_start"]:record["raw_end"]].decode().startswith(record["text"].split("\n")[0])


@pytest.mark.parametrize("line", [
    "By contrast, the Kremlin said the talks could take weeks.", "Sign the agreement first, the envoy said.",
    "Photo opportunities were few, the correspondents complained.", "58 people were wounded.",
    "12:30", "Advertisement agencies in Moscow reported a slump in 2024.",
])
def test_body_lines_that_resemble_chrome_are_kept(line):
    assert ingest.chrome_kind(line) is None


def test_metadata_fields_give_the_byline_and_the_date():
    fields = dict(ingest.metadata_fields("By Olena Marchenko • 3 March 2025 • 4 min read"))
    assert fields["byline"].group("author") == "Olena Marchenko" and fields["date"].group("date") == "3 March 2025"
    assert ingest.metadata_fields("By the way • it rained") is None


# ---------------------------------------------------------------------------------------------
# Encodings


def test_regression_cp1251_html_is_decoded_with_its_declared_charset(tmp_path):
    """Regression cp1251-html: <meta charset="windows-1251"> was ignored (cp1252 mojibake, exit 0)."""
    page = FIXTURES / "cp1251-html" / "article-cp1251.html"
    out = tmp_path / "documents.parquet"
    result = run("ingest", page, "--out", out)
    assert result.returncode == 0 and result.stderr == ""
    (row,) = pq.read_table(out).to_pylist()
    assert row["title"] == "Кремль изучит предложение о перемирии"
    assert "Москва изучит американское предложение о 30-дневном перемирии." in row["text"]
    assert "Ê" not in row["text"] and row["offset_map"]["encoding"] == "cp1251"
    start = row["text"].index("Москва")
    rs, re_ = ingest.to_raw_offsets(row["offset_map"], start, start + 6)
    assert page.read_bytes()[rs:re_].decode("cp1251") == "Москва" and re_ - rs == 6


@pytest.mark.parametrize("declaration, codec", [
    ('<meta charset="windows-1251">', "cp1251"),
    ('<meta http-equiv="Content-Type" content="text/html; charset=cp1251">', "cp1251"),
    ('<meta charset="koi8-r">', "koi8-r"),
    ("<meta charset=ISO-8859-1>", "cp1252"),  # WHATWG: latin1 labels mean windows-1252
])
def test_declared_charset_labels_are_mapped_as_whatwg_does(tmp_path, declaration, codec):
    words = "Кремль изучит предложение" if "1251" in declaration or "koi8" in declaration else "Café “déjà vu” – naïve"
    page = tmp_path / "p.html"
    page.write_bytes(f"<html><head>{declaration}</head><body><p>{words}.</p></body></html>".encode(codec))
    (doc,) = ingest.ingest([page]).documents
    assert doc["text"] == words + "." and doc["offset_map"]["encoding"] == codec


def test_a_page_declaring_latin1_but_written_in_utf8_is_read_as_utf8(tmp_path):
    page = tmp_path / "p.html"
    page.write_bytes('<html><head><meta charset="iso-8859-1"></head><body><p>Kyiv’s view of the café deal.</p>'
                     '</body></html>'.encode())
    result = ingest.ingest([page])
    assert result.documents[0]["text"] == "Kyiv’s view of the café deal."
    (warning,) = result.warnings
    assert warning.startswith(f"{page}: declares cp1252 but is UTF-8 (cp1252 gives '") and "â€™" in warning
    assert warning.endswith("); decoded as UTF-8")
    page.write_bytes('<meta charset="windows-1252"><p>A “quoted” word.</p>'.encode())  # 0x9D: not windows-1252
    result = ingest.ingest([page])
    assert result.documents[0]["text"] == "A “quoted” word."
    byte = page.read_bytes().index(b"\x9d")
    assert result.warnings == [f"{page}: not in the charset it declares (cp1252, byte {byte}); declaration ignored"]


CYRILLIC = ("Пресс-секретарь президента заявил журналистам, что Москва внимательно изучит американское "
            "предложение о тридцатидневном перемирии. По его словам, Киев должен отказаться от вступления в "
            "НАТО, а западные страны должны прекратить поставки оружия. Переговоры продолжатся на следующей неделе.")
WESTERN = ("Le porte-parole du Kremlin a déclaré que Moscou étudierait la proposition américaine d’un cessez-le-feu "
           "de trente jours. Selon lui, l’Ukraine doit renoncer à l’OTAN, et les livraisons d’armes doivent cesser. "
           "Les négociations reprendront à Genève la semaine prochaine, a-t-il précisé à la télévision.")


@pytest.mark.parametrize("text, encoding", [(CYRILLIC, "cp1251"), (CYRILLIC, "koi8-r"), (WESTERN, "cp1252"),
                                            (WESTERN.replace("’", "'"), "iso-8859-15")])
def test_legacy_text_without_declaration_is_detected_with_a_warning(tmp_path, text, encoding):
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    result = ingest.ingest([path])
    (doc,) = result.documents
    assert doc["text"] == text
    chosen = doc["offset_map"]["encoding"]
    assert result.warnings == [f"{path}: not UTF-8 (byte 0); detected {chosen} (charset-normalizer)"] or \
        result.warnings[0].startswith(f"{path}: not UTF-8 (byte ") and chosen in result.warnings[0]
    start = text.index("Moscou" if text is not CYRILLIC else "Москва")
    rs, re_ = ingest.to_raw_offsets(doc["offset_map"], start, start + 6)
    assert path.read_bytes()[rs:re_].decode(encoding) == text[start:start + 6]


def test_a_charset_the_standard_does_not_decode_is_refused(tmp_path):
    page = tmp_path / "kr.html"
    page.write_bytes(b'<meta charset="iso-2022-kr"><p>text</p>')
    result = ingest.ingest([page])
    assert result.documents == [] and result.errors == [
        f"{page}: declares the charset 'iso-2022-kr', which the WHATWG Encoding Standard does not decode; refused"]


def test_bytes_no_encoding_fits_are_refused_with_one_line(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(0x80, 0x100)) * 4)
    out = tmp_path / "documents.parquet"
    result = run("ingest", path, "--out", out)
    assert result.returncode == 2 and not out.exists()
    assert result.stderr.splitlines() == [f"stancekit: error: {path}: not UTF-8 (byte 0), and no encoding fits it; refused",
                                          "stancekit: nothing could be ingested; no output written"]


def test_utf8_with_mojibake_of_two_origins_is_repaired_and_curly_quotes_stay_curly(tmp_path):
    clean = "Putin’s “truce” — перемирие, Kremlin says. Peskov: «нет»."
    scraped = ("Putin’s “truce” — " + "перемирие".encode().decode("cp1251") + ", Kremlin says. Peskov: "
               + "«нет»".encode().decode("cp1252"))
    path = tmp_path / "scraped.txt"
    path.write_bytes((scraped + ".").encode("utf-8"))
    result = ingest.ingest([path])
    (doc,) = result.documents
    assert doc["text"] == clean
    (warning,) = result.warnings
    assert warning.startswith(f"{path}: repaired 2 mojibake stretch(es) (UTF-8 read as sloppy-windows-1251, sloppy-windows-1252")
    assert [r["rule"] for r in result.report] == ["mojibake", "mojibake"]
    start = clean.index("перемирие")
    rs, re_ = ingest.to_raw_offsets(doc["offset_map"], start, start + 1)  # "п" <- "Рї" (4 bytes)
    assert path.read_bytes()[rs:re_].decode() == "Рї"


def test_mojibake_that_cannot_be_undone_with_certainty_is_named_in_a_warning(tmp_path):
    path = tmp_path / "lossy.txt"
    path.write_bytes("The envoy said Ã\u00a0 bientôt, and the deal fell through â€¦ again.".replace("Ã\u00a0", "Ã ").encode())
    result = ingest.ingest([path])
    assert any(w.startswith(f"{path}: looks like mojibake at character") or "repaired" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------
# Invisible characters


def test_regression_soft_hyphen_html_cues_are_found(tmp_path):
    """Regression soft-hyphen-html: U+00AD/U+200B survived, so 'reservations' and 'ceasefire' were not found."""
    page = FIXTURES / "soft-hyphen-html" / "article-shy.html"
    result = ingest.ingest([page])
    (doc,) = result.documents
    assert doc["text"].startswith("Kremlin weighs the ceasefire offer\n\nThe Kremlin said it has reservations about "
                                  "the 30-day ceasefire proposal.")
    assert doc["title"] == "Kremlin weighs the ceasefire offer"
    assert "\u00ad" not in doc["text"] + doc["title"] and "\u200b" not in doc["text"]
    tax = taxonomy.load(ROOT / "schema" / "taxonomy.yaml")
    prediction = preannotate.predict_text(doc["text"], preannotate.load(tax, ROOT / "schema" / "preannotator.yaml"), tax)
    spans = {r["id"]: r["value"]["text"] for r in prediction["result"] if r["value"].get("labels") == ["STANCE"]}
    assert list(spans.values()) == ["The Kremlin said it has reservations about the 30-day ceasefire proposal."]
    polarity = [r["value"]["choices"] for r in prediction["result"] if r["from_name"] == "polarity" and r["id"] in spans]
    assert polarity == [["undecided"]]
    assert sum(r["rule"] == "invisible" for r in result.report) == 5


def test_zwj_zwnj_and_variation_selectors_are_kept(tmp_path):
    text = "Family \U0001F468\u200d\U0001F469\u200d\U0001F467, heart \u2764\ufe0f, Persian \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645."
    path = tmp_path / "keep.txt"
    path.write_text("Title\n\n" + text.replace("heart", "he\u00adart\u200b") + "\u2066\u2069\n", encoding="utf-8")
    (doc,) = ingest.ingest([path]).documents
    assert doc["text"] == "Title\n\n" + text


# ---------------------------------------------------------------------------------------------
# The report


def test_cli_report_has_one_line_per_removed_stretch(tmp_path):
    path = tmp_path / "unseen.txt"
    path.write_text(article_with_chrome(), encoding="utf-8")
    report = tmp_path / "build" / "ingest-report.jsonl"
    result = run("ingest", path, "--out", tmp_path / "documents.parquet", "--report", report)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert records and all(list(r) == list(ingest.REPORT_FIELDS) for r in records)
    assert result.stdout.splitlines()[-1] == f"wrote {len(records)} removed stretches to {report}"
    assert [p.name for p in report.parent.iterdir()] == ["ingest-report.jsonl"]  # no temp file left
    raw = path.read_bytes()
    for r in records:
        assert 0 <= r["raw_start"] < r["raw_end"] <= len(raw)


# ---------------------------------------------------------------------------------------------
# Bylines and dates found in chrome (next dataset version: the seed article 000 gains an author)


def test_byline_and_date_of_removed_chrome_become_author_and_published(tmp_path):
    path = tmp_path / "unseen.txt"
    path.write_text(article_with_chrome(), encoding="utf-8")
    (doc,) = ingest.ingest([path]).documents
    assert (doc["author"], doc["published"]) == ("Olena Marchenko", "3 March 2025")
    path.write_text("Truce talks\n\nby Hanna Kovalenko 1.2K views\n\nThe Kremlin studied the offer.\n", encoding="utf-8")
    (doc,) = ingest.ingest([path]).documents
    assert (doc["author"], doc["published"]) == ("Hanna Kovalenko", None)
    path.write_text("Truce talks\n\nThe Kremlin studied the offer.\n", encoding="utf-8")
    (doc,) = ingest.ingest([path]).documents
    assert (doc["author"], doc["published"]) == (None, None)


def test_a_better_source_of_author_and_date_wins_over_chrome(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<html><head><meta name="author" content="Desk Editor">'
                    '<meta property="article:published_time" content="2025-03-13T09:30:00Z"></head><body><article>'
                    "<p>By Olena Marchenko • 3 March 2025 • 4 min read</p><p>The Kremlin studied the offer.</p>"
                    "</article></body></html>", encoding="utf-8")
    (doc,) = ingest.ingest([page]).documents
    assert (doc["author"], doc["published"]) == ("Desk Editor", "2025-03-13T09:30:00Z")
    assert doc["text"] == "The Kremlin studied the offer."
    feed = tmp_path / "f.jsonl"
    feed.write_text(json.dumps({"text": "Updated 09:12 | By Karl Weber\nThe Kremlin studied the offer.",
                                "author": "Wire staff"}) + "\n", encoding="utf-8")
    (doc,) = ingest.ingest([feed]).documents
    assert (doc["author"], doc["published"]) == ("Wire staff", None)
