"""Bad input to `stancekit ingest` and `stancekit validate`, through the real command line.

Truncated, binary, deeply nested and huge (a 50 MB single line) inputs: the exit code says what
happened, stderr has one `stancekit:` line per problem naming the file (and line or task), never
a traceback; no output file and no temp file is left behind; memory stays bounded.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from export_mutations import ROOT, base_export
from stancekit import ingest

STANCEKIT = str(Path(sys.executable).parent / "stancekit")
HUGE = 50_000_000  # bytes on a single line
MAX_RSS_MB = 600  # the CLI itself takes ~100 MB; a 50 MB article cleaned in full would take ~7 GB
ARTICLE = (ROOT / "dataset/raw").glob("*.txt").__next__().read_bytes()


def run(*args, cwd: Path) -> tuple[int, str, str, float]:
    """Run the CLI; (exit code, stdout, stderr, peak memory of the process in MB).

    The peak is the kernel's high-water mark of the program's own memory (VmHWM), sampled until
    it exits: rusage would also count the pytest process it was forked from."""
    out, err = cwd / ".stdout", cwd / ".stderr"
    peak_kb = 0
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([STANCEKIT, *map(str, args)], stdout=o, stderr=e, cwd=cwd)
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak_kb = max(peak_kb, int(status.split("VmHWM:", 1)[1].split()[0]))
            except (OSError, IndexError):
                pass  # exited meanwhile
            time.sleep(0.01)
    stdout, stderr = out.read_text(), err.read_text()
    out.unlink()
    err.unlink()
    assert "Traceback" not in stdout + stderr
    return proc.returncode, stdout, stderr, peak_kb / 1024


def huge_line(prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """HUGE bytes on one line: prefix, words, suffix."""
    size = HUGE - len(prefix) - len(suffix)
    return prefix + (b"word " * (size // 5 + 1))[:size] + suffix


# --- ingest ---------------------------------------------------------------------------------------

INGEST_CASES = {
    "gzip.txt": (gzip.compress(ARTICLE), "contains NUL bytes: binary or UTF-16, not a text article"),
    "png.html": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
                 "contains NUL bytes: binary or UTF-16, not a text article"),
    "random.txt": (bytes([0x81, 0x8d, 0x8f, 0x90, 0x9d]) * 1000, "not UTF-8 (byte 0), and no encoding fits it; refused"),
    "huge.txt": (huge_line(), f"{HUGE} bytes, more than the 8 MiB one article may have; skipped"),
    "huge.html": (huge_line(b"<html><body><article><p>", b"</p></article></body></html>"),
                  f"{HUGE} bytes, more than the 8 MiB one article may have; skipped"),
    "huge.jsonl": (huge_line(b'{"text": "', b'"}'), f"{HUGE} bytes, more than the 8 MiB one article may have; line skipped"),
    "deep.jsonl": (b'{"text": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                   "JSON nested too deeply to be an article; line skipped"),
    "cut.jsonl": (b'{"text": "An article cut short by a failed download, in the midd',
                  "malformed JSON (truncated last line?): Unterminated string starting at column 10; line skipped"),
}


@pytest.mark.parametrize("name", INGEST_CASES)
def test_ingest_of_unusable_input_exits_2_naming_it_and_writes_nothing(name, tmp_path):
    content, message = INGEST_CASES[name]
    (tmp_path / name).write_bytes(content)
    code, stdout, stderr, peak_mb = run("ingest", name, "--out", "out/documents.parquet", cwd=tmp_path)
    where = f"{name}:1" if name.endswith(".jsonl") else name
    assert (code, stdout) == (2, "")
    assert stderr.splitlines() == [f"stancekit: error: {where}: {message}",
                                   "stancekit: nothing could be ingested; no output written"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no output, no temp file, not even out/
    assert peak_mb < MAX_RSS_MB


def test_ingest_skips_a_huge_line_of_a_feed_and_keeps_the_rest(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(huge_line(b'{"text": "', b'"}\n') + json.dumps({"text": "A short article.\n\nIt has two "
                                                                            "paragraphs."}).encode() + b"\n")
    code, stdout, stderr, peak_mb = run("ingest", feed.name, "--out", "documents.parquet", cwd=tmp_path)
    assert code == 1 and stdout == "wrote 1 documents to documents.parquet\n"
    assert stderr == f"stancekit: error: feed.jsonl:1: {HUGE - 1} bytes, more than the 8 MiB one article may have; line skipped\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents.parquet", "feed.jsonl"]
    assert peak_mb < MAX_RSS_MB


def test_ingest_of_a_utf8_article_cut_inside_a_character_stays_utf8_with_a_warning(tmp_path):
    """A download cut short inside a character is still UTF-8, not cp1252 mojibake."""
    (tmp_path / "cut.txt").write_bytes(ARTICLE + "\n\nПутин".encode()[:-1])
    code, stdout, stderr, _ = run("ingest", "cut.txt", "--out", "documents.parquet", cwd=tmp_path)
    assert code == 0 and stdout == "wrote 1 documents to documents.parquet\n"
    assert stderr == "stancekit: warning: cut.txt: ends inside a UTF-8 character (truncated?); its last 1 byte(s) dropped\n"
    row = pq.read_table(tmp_path / "documents.parquet").to_pylist()[0]
    assert row["text"].endswith("\n\nПути") and ARTICLE.decode("utf-8").split("\n", 1)[0].strip() in row["text"]
    start, end = ingest.to_raw_offsets(row["offset_map"], len(row["text"]) - 4, len(row["text"]))
    assert (tmp_path / "cut.txt").read_bytes()[start:end] == "Пути".encode()  # offsets still trace to the raw bytes


def test_ingest_bad_input_keeps_a_previous_output_untouched(tmp_path):
    (tmp_path / "gzip.txt").write_bytes(gzip.compress(ARTICLE))
    (tmp_path / "documents.parquet").write_bytes(b"the previous run")
    code, _, stderr, _ = run("ingest", "gzip.txt", "--out", "documents.parquet", cwd=tmp_path)
    assert code == 2 and len(stderr.splitlines()) == 2
    assert (tmp_path / "documents.parquet").read_bytes() == b"the previous run"


# --- validate ---------------------------------------------------------------------------------------

GOOD = json.dumps(base_export(), ensure_ascii=False).encode()
TASK = json.dumps(base_export()[0], ensure_ascii=False).encode()

VALIDATE_CASES = {
    "cut-in-a-string": (GOOD[: GOOD.index(b'"text"') + 20], "task 0 at character 1 is truncated"),
    "cut-between-tasks": (b"[" + TASK + b",", "truncated: the JSON array is not closed after 1 complete tasks"),
    "cut-in-a-character": (("[" + json.dumps({"data": {"text": "Путин"}}, ensure_ascii=False)).encode()[:-5],
                           "task 0 at character 1 is truncated"),
    "gzip": (gzip.compress(GOOD), "not valid UTF-8 after character 0 (invalid start byte)"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not valid UTF-8 after character 0 (invalid start byte)"),
    "nul": (b"[\x00]", "task 0 at character 1 is not a JSON object"),
    "huge-unterminated": (huge_line(b'[{"data": {"text": "'), "task 0 at character 1 is truncated"),
    "huge-not-json": (huge_line(b"[{", b"}]"), "task 0 at character 1 is not valid JSON "
                                               "(Expecting property name enclosed in double quotes at character 2)"),
    "deep": (b'[{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]",
             "task 0 at character 1 is nested too deeply to be a Label Studio task"),
    "integer-of-5000-digits": (b'[{"id": 1, "data": {"text": "x", "n": 1' + b"0" * 5000 + b'}, "annotations": []}]',
                               "task 0 at character 1 holds an integer of more than 4300 digits, which Python does not read"),
}


@pytest.mark.parametrize("name", VALIDATE_CASES)
def test_validate_of_unreadable_input_exits_2_with_one_line(name, tmp_path):
    content, message = VALIDATE_CASES[name]
    path = tmp_path / f"{name}.json"
    path.write_bytes(content)
    code, stdout, stderr, peak_mb = run("validate", "--config", ROOT / "schema/labeling-config.xml",
                                        "--taxonomy", ROOT / "schema/taxonomy.yaml", path.name, cwd=tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr == f"stancekit: {path.name}: {message}\n"
    assert peak_mb < MAX_RSS_MB


def test_validate_reads_a_huge_single_line_task_in_bounded_memory(tmp_path):
    task = base_export()[0]
    task["data"]["text"] = "word " * (HUGE // 5)
    path = tmp_path / "huge-task.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    assert path.stat().st_size > HUGE and path.read_bytes().count(b"\n") == 0
    code, stdout, stderr, peak_mb = run("validate", "--config", ROOT / "schema/labeling-config.xml",
                                        "--taxonomy", ROOT / "schema/taxonomy.yaml", "--format", "json",
                                        path.name, cwd=tmp_path)
    assert code == 1 and stderr == ""  # its spans no longer match the text: records, not a crash
    records = [json.loads(line) for line in stdout.splitlines()]
    assert records and all(r["file"] == path.name and r["pointer"].startswith("/0/") for r in records)
    assert peak_mb < MAX_RSS_MB
