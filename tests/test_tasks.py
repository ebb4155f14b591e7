"""Tasks from documents.parquet: one per document or chunk, offsets into the document, deterministic."""

import array
import json
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from stancekit import tasks
from stancekit.cli import main

# Text made of the troublesome pieces: emoji, flags, CRLF, combining marks, Cyrillic, blank lines.
PIECES = st.sampled_from(["word", " ", "\n", "\n\n", "\r\n", "😀", "🇺🇦", "e\u0301", "Путин", "👩\u200d💻", ".", "\t"])
TEXTS = st.lists(PIECES, max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, max_chars=st.integers(min_value=1, max_value=60))
def test_chunks_tile_the_text_within_the_limit(text, max_chars):
    bounds = tasks.chunk_bounds(text, max_chars)
    assert "".join(text[a:b] for a, b in bounds) == text
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(a < b for a, b in bounds) or text == ""
    assert all(b - a <= max_chars for a, b in bounds)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, max_chars=st.integers(min_value=4, max_value=60))
def test_chunks_do_not_split_graphemes(text, max_chars):
    regional = "".join(chr(c) for c in range(0x1F1E6, 0x1F200))
    for a, _ in tasks.chunk_bounds(text, max_chars)[1:]:  # every cut; the longest grapheme here is 3 code points
        assert not unicodedata.combining(text[a]) and text[a - 1] != "\u200d"
        if text[a] in regional:
            assert (len(text[:a]) - len(text[:a].rstrip(regional))) % 2 == 0


def test_chunks_prefer_paragraph_boundaries():
    text = "First paragraph here.\nstill first.\n\nSecond paragraph.\n\nThird."
    bounds = tasks.chunk_bounds(text, 40)
    assert [text[a:b] for a, b in bounds] == ["First paragraph here.\nstill first.\n\n", "Second paragraph.\n\nThird."]
    assert tasks.chunk_bounds(text, None) == [(0, len(text))]


@settings(max_examples=100, deadline=None)
@given(text=TEXTS, max_chars=st.integers(min_value=1, max_value=50), start=st.integers(0, 400), length=st.integers(0, 30))
def test_chunk_offsets_map_spans_back_to_the_document(text, max_chars, start, length):
    made = tasks.make_tasks([{"doc_id": "d", "title": "t", "text": text, "source_file": "s"}], max_chars)
    for task in made:
        chunk, offset = task["data"]["text"], task["data"]["offset"]
        s = min(start, len(chunk))
        e = min(s + length, len(chunk))
        assert chunk[s:e] == text[offset + s:offset + e]
    assert [t["data"]["chunk"] for t in made] == list(range(len(made)))


def _documents(tmp_path, rows):
    path = tmp_path / "documents.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_cli_writes_deterministic_tasks_with_predictions(tmp_path, documents_parquet):
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    runner = CliRunner()
    for out in (out1, out2):
        result = runner.invoke(main, ["tasks", str(documents_parquet), "--out", str(out), "--max-chars", "9000"])
        assert result.exit_code == 0, result.output
    assert out1.read_bytes() == out2.read_bytes()
    made = json.loads(out1.read_text(encoding="utf-8"))
    docs = pq.read_table(documents_parquet).to_pylist()
    assert len({t["data"]["doc_id"] for t in made}) == len(docs) and len(made) > len(docs)  # the longest is chunked
    by_id = {d["doc_id"]: d for d in docs}
    for task in made:
        data = task["data"]
        assert set(data) == {"text", "doc_id", "title", "source", "chunk", "offset"}
        assert by_id[data["doc_id"]]["text"][data["offset"]:data["offset"] + len(data["text"])] == data["text"]
        assert data["source"] == by_id[data["doc_id"]]["source_file"]
        assert task["predictions"][0]["model_version"].startswith("rules-")


def test_cli_without_predictions(tmp_path, documents_parquet):
    out = tmp_path / "t.json"
    result = CliRunner().invoke(main, ["tasks", str(documents_parquet), "--out", str(out), "--no-predictions"])
    assert result.exit_code == 0
    tasks = json.loads(out.read_text())
    docs = pq.read_table(documents_parquet).to_pylist()
    assert [t["data"]["doc_id"] for t in tasks] == [d["doc_id"] for d in docs] and len(tasks) == 5
    assert all("predictions" not in t for t in tasks)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.parquet", "no such file"),
    (lambda p: (p / "x.parquet").write_text("not parquet") and p / "x.parquet", "not a readable Parquet file"),
    (lambda p: _documents(p, [{"doc_id": "d", "text": "t"}]), "missing column(s) title, source_file"),
    (lambda p: _documents(p, [{"doc_id": None, "title": "", "text": "t", "source_file": "s"}]), "row 0"),
    (lambda p: _documents(p, [{"doc_id": "d", "title": "", "text": "t", "source_file": "s"}] * 2), "row 1: doc_id d appears twice"),
])
def test_bad_documents_are_one_clear_line(tmp_path, make, message):
    out = tmp_path / "tasks.json"
    result = CliRunner().invoke(main, ["tasks", str(make(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("body, message", [
    ("{}", "expected a JSON array"),
    ("[{\"data\": {\"doc_id\": \"d\"}}]", "task 0: needs data.text"),
    ("[1", "not a JSON task file"),
])
def test_bad_task_files_are_rejected(tmp_path, body, message):
    path = tmp_path / "tasks.json"
    path.write_text(body)
    with pytest.raises(tasks.TasksError, match=message):
        tasks.read(path)


@pytest.mark.parametrize("repeat_of, at", [(3, 7), (10, 120), (130, 249)])
def test_document_store_refuses_a_repeated_doc_id_as_read_documents_does(tmp_path, repeat_of, at):
    """The store keeps no set of doc_ids (it asks its table): a repeat within a batch or across batches of
    documents.BATCH_ROWS rows gets the message of read_documents, naming the same row."""
    from stancekit import documents

    rows = [{"doc_id": f"d{i}", "title": "", "text": "t", "source_file": "s"} for i in range(250)]
    rows[at] = dict(rows[repeat_of])
    path = _documents(tmp_path, rows)
    with pytest.raises(documents.DocumentsError) as read:
        documents.read_documents(path)
    with pytest.raises(documents.DocumentsError) as stored:
        documents.DocumentStore.open(path)
    assert str(stored.value) == str(read.value) == f"{path}: row {at}: doc_id d{repeat_of} appears twice"
    store = documents.DocumentStore.open(_documents(tmp_path, rows[:at]))
    assert store.text(f"d{at - 1}") == "t" and f"d{at}" not in store


def test_a_document_store_made_in_a_relative_directory_can_be_reopened(tmp_path, monkeypatch):
    """`stancekit release --out-dir rel` makes its store in a relative build directory, and each export reader
    worker reopens it (`reopen`, through a file URI, which must be absolute): that raised ValueError in the
    pool's initializer, and the pool started new workers for ever (the release hung)."""
    from stancekit import documents

    path = _documents(tmp_path, [{"doc_id": "d0", "title": "", "text": "t", "source_file": "s"}])
    monkeypatch.chdir(tmp_path)
    Path("rel").mkdir()
    store = documents.DocumentStore(directory=Path("rel"))
    for _ in store.load(path):
        pass
    again = store.reopen()
    assert again.text("d0") == "t"
    again.close()
    store.close()
    assert not list(Path("rel").iterdir())  # removed on close


_ints = st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(0, 2**31 - 1), max_size=6)
_maps = st.none() | st.fixed_dictionaries({
    "encoding": st.none() | st.sampled_from(["utf-8", "cp1251"]),
    **{name: st.none() | _ints | st.lists(st.none() | st.integers(0, 9), max_size=3)
       for name in ("clean", "raw", "clean_step", "raw_step", "count")}})


@settings(max_examples=40, deadline=None)
@given(st.lists(_maps, min_size=1, max_size=250))
def test_document_store_gives_back_each_offset_map_as_read(maps):
    """The store keeps offset maps as packed integers (int32 when a batch's fit), or as they were read when a
    list holds a null: offset_map gives back what pyarrow reads from documents.parquet, for every row (a list
    as an array of the same integers)."""
    import tempfile
    from pathlib import Path

    from stancekit import columns, documents

    rows = [{"doc_id": f"d{i}", "title": "", "text": "t", "source_file": "s", "offset_map": m} for i, m in enumerate(maps)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "documents.parquet"
        schema = pa.schema([*(pa.field(n, pa.string()) for n in ("doc_id", "title", "text", "source_file")),
                            pa.field("offset_map", columns.OFFSET_MAP_TYPE)])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        expected = pq.read_table(path).column("offset_map").to_pylist()
        store = documents.DocumentStore.open(path)
        given = [store.offset_map(f"d{i}") for i in range(len(maps))]
        assert [m and {k: list(v) if isinstance(v, array.array) else v for k, v in m.items()} for m in given] == expected
        store.close()


@pytest.mark.parametrize("null_at, repeat_at, message", [
    (5, 3, "row 3: doc_id d1 appears twice"), (3, 5, "row 3: doc_id and text must be non-null strings"),
    (150, 120, "row 120: doc_id d1 appears twice"), (120, 150, "row 120: doc_id and text must be non-null strings")])
def test_documents_name_the_first_bad_row_null_or_repeated(tmp_path, null_at, repeat_at, message):
    """A batch is checked at once, but the error names its first bad row, a null doc_id or a repeat, as a
    row-by-row check would (read_documents and the store alike)."""
    from stancekit import documents

    rows = [{"doc_id": f"d{i}", "title": "", "text": "t", "source_file": "s"} for i in range(200)]
    rows[null_at]["doc_id"] = None
    rows[repeat_at]["doc_id"] = "d1"
    path = _documents(tmp_path, rows)
    for read in (documents.read_documents, documents.DocumentStore.open):
        with pytest.raises(documents.DocumentsError, match=f"^{path}: {message}$"):
            read(path)


def test_a_dictionary_encoded_doc_id_column_is_read_as_strings(tmp_path):
    """Parquet keeps a dictionary column's Arrow type: its doc_ids are still strings, not a bad row."""
    from stancekit import documents

    table = pa.Table.from_pylist([{"doc_id": f"d{i}", "title": "", "text": "t", "source_file": "s"} for i in range(3)])
    table = table.set_column(0, "doc_id", table.column("doc_id").dictionary_encode())
    path = tmp_path / "documents.parquet"
    pq.write_table(table, path)
    assert pa.types.is_dictionary(pq.read_schema(path).field("doc_id").type)
    assert [row["doc_id"] for row in documents.read_documents(path)] == ["d0", "d1", "d2"]
    assert documents.DocumentStore.open(path).text("d2") == "t"
