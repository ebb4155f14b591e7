"""Fuzzing ingest and validate: any bytes give documents or clear one-line errors, never an exception.

The number of examples comes from the Hypothesis profile (tests/conftest.py): a few hundred
locally, thousands in CI (`HYPOTHESIS_PROFILE=ci`, set by .ci/run).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import unicodedata
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from export_mutations import REAL_EXPORT, ROOT, TAXONOMY
from stancekit import ingest, validate
from stancekit.cli import main
from stancekit.exports import ExportReadError

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SAMPLES = {path.suffix: path.read_bytes() for path in [
    sorted((ROOT / "dataset/raw").glob("*.txt"))[1], ROOT / "tests/fixtures/ingest/page.html",
    ROOT / "tests/fixtures/ingest/feed.jsonl"]}
EXPORT = REAL_EXPORT.read_bytes()
CONFIG = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")
INTERESTING = [b"\x00", b"\r", b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xe2\x80", b"\xf0\x9f\x87\xba",
               b"e\xcc\x81", b"<", b">", b"&", b"&amp;", b"&#", b"<p>", b"</", b"<script>", b"\\", b'"', b"\\u", b"\\ud83d",
               b"{", b"}", b"[", b"]", b",", b":", b"\t", b" ", "Путин".encode(), "🇺🇦".encode(),
               b"&#0;", b"&#x110000;", b"&#xD800;", b"&#99999999999;", b"&nbsp", b"&bogus;", b"<br/>", b"<!--",
               b"<![CDATA[", b"<article>", b"</article>", b"<h1>", b"<main>", b"<script>", b"</p>",
               # charset declarations (known, unknown, UTF-16, the WHATWG replacement), mojibake, invisible characters
               b'<meta charset="windows-1251">', b"<meta charset=koi8-r>", b'<meta charset="bogus">',
               b'<meta charset="utf-16">', b'<meta charset="iso-2022-kr">', b'<meta charset="x-user-defined">',
               b'<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">', "â€™".encode(),
               "Ð¿Ðµ".encode(), "РїРµ".encode(), "Ã\x81".encode(), b"\xc2\xad", "\u202e".encode(), b"\xe2\x80\x8b",
               "By A. Name • 3 March 2025 • 4 min read".encode(), b"Advertisement\n"]


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """The original bytes with a few cuts, insertions (random or tricky bytes), deletions and duplications."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["truncate", "insert", "delete", "duplicate", "flip"]))
        if action == "truncate":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif action == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 200))]
        elif data and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


TRICKY_TEXT = st.lists(st.sampled_from(
    ["\ud83d", "\udfff", "\x00", "\r\n", "\r", "\ufeff", "e\u0301", "🇺🇦", "Путин", "\u2028", "&amp;", "<p>", "\\"])
    | st.text(max_size=20), max_size=8).map("".join)
JSON_VALUE = st.none() | st.booleans() | st.integers() | st.floats() | TRICKY_TEXT | st.lists(st.integers(), max_size=2)


@st.composite
def feeds(draw) -> bytes:
    """A JSONL feed of made-up records: tricky text (lone surrogates too), fields of any type, odd lines."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        record = {"text": draw(TRICKY_TEXT | JSON_VALUE)}
        for key in draw(st.lists(st.sampled_from(["title", "url", "published", "author", "id"]), unique=True)):
            record[key] = draw(JSON_VALUE)
        line = json.dumps(record, ensure_ascii=draw(st.booleans()))
        lines.append(draw(st.sampled_from([line, line, line[: len(line) // 2], "[" + line + "]", " "])))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines).encode("utf-8", errors="surrogatepass")


def inputs(suffix: str) -> st.SearchStrategy[bytes]:
    made_up = [feeds(), feeds()] if suffix == ".jsonl" else []  # weighted: they reach deepest
    return st.one_of(st.binary(max_size=300), mutated(SAMPLES[suffix]), *made_up)


def check_ingest(content: bytes, suffix: str) -> None:
    """Library: documents that keep the contract, or one-line errors naming the file. CLI: exit 0/1/2,
    one `stancekit:` line per problem on stderr, and no temp file left; nothing written on exit 2."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"article{suffix}"
        path.write_bytes(content)
        result = ingest.ingest([path])
        for message in result.errors + result.warnings:
            assert message.startswith(str(path)) and "\n" not in message
        assert result.documents or result.errors
        for doc in result.documents:
            text = doc["text"]
            assert text and "\r" not in text and unicodedata.is_normalized("NFC", text)
            assert doc["doc_id"] == "doc_" + hashlib.sha256(text.encode()).hexdigest()[:16]
            start, end = ingest.to_raw_offsets(doc["offset_map"], 0, len(text))
            assert 0 <= start <= end <= len(content)
        out = Path(tmp) / "out" / "documents.parquet"
        run = CliRunner().invoke(main, ["ingest", str(path), "--out", str(out)])
        assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
        assert run.exit_code == (2 if not result.documents else 1 if result.errors else 0)
        assert all(line.startswith("stancekit: ") for line in run.stderr.splitlines())
        assert out.exists() == bool(result.documents)
        assert not out.parent.exists() or [p.name for p in out.parent.iterdir()] == ["documents.parquet"]


@FUZZ
@given(content=inputs(".txt"))
def test_fuzz_ingest_txt(content):
    check_ingest(content, ".txt")


@FUZZ
@given(content=inputs(".html"))
@example(content=SAMPLES[".html"].replace(b"<!DOCTYPE", b"<![DOCTYPE", 1))  # Python 3.11's parser asserted on these
@example(content=SAMPLES[".html"].replace(b"<!DOCTYPE", b"<![\x01DOCTYPE", 1))
@example(content=SAMPLES[".html"] + b"<![ ")
def test_fuzz_ingest_html(content):
    check_ingest(content, ".html")


@FUZZ
@given(content=inputs(".jsonl"))
@example(content=b'{"text":":","title":"\\ud83d"}')  # a lone surrogate escape in a title: the CLI crashed writing it
def test_fuzz_ingest_jsonl(content):
    check_ingest(content, ".jsonl")


@FUZZ
@given(content=st.one_of(mutated(EXPORT), st.binary(max_size=300)))
def test_fuzz_validate_byte_mutations(content):
    """A real export with bytes cut, inserted, flipped: problem records, or one line and exit 2."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.json"
        path.write_bytes(content)
        try:
            for problem in validate.validate_exports([path], TAXONOMY, CONFIG):
                assert problem.code in validate.CODES and problem.pointer.startswith("/")
            unreadable = False
        except ExportReadError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
            unreadable = True
        run = CliRunner().invoke(main, ["validate", "--format", "json", str(path)])
        assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
        assert all(json.loads(line)["code"] in validate.CODES for line in run.stdout.splitlines())  # records
        if unreadable:  # streaming: the records of the tasks before the unreadable one, then one line
            assert run.exit_code == 2 and run.stderr.count("\n") == 1 and run.stderr.startswith(f"stancekit: {path}: ")
        else:
            assert run.exit_code in (0, 1) and run.stderr == ""
