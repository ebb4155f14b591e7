"""The streaming export reader yields exactly the tasks of the array, at any chunk size, and fails in one line."""

import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stancekit.exports import ExportReadError, iter_json_array, iter_raw_tasks, iter_raw_tasks_at, iter_tasks, parse_task, raw_task_at
from stancekit.records import Relation, Span, parse_result
from stancekit.taxonomy import load

TEXT = st.text(alphabet=st.sampled_from(list('ab "\\{}[]:,\n\r\tЖé\u0301😀🇺🇦')), max_size=20)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)
TASKS = st.lists(st.dictionaries(TEXT, JSON_VALUE, max_size=4), max_size=6)


@settings(max_examples=300, deadline=None)
@given(tasks=TASKS, chunk=st.integers(1, 64), indent=st.sampled_from([None, 1]), ascii_only=st.booleans())
def test_split_equals_whole_parse(tasks, chunk, indent, ascii_only):
    data = json.dumps(tasks, indent=indent, ensure_ascii=ascii_only)
    got = [task for _, task in iter_json_array(io.StringIO(data), chunk_chars=chunk)]
    assert got == tasks


@settings(max_examples=300, deadline=None)
@given(tasks=TASKS, window=st.integers(1, 64), indent=st.sampled_from([None, 1]), ascii_only=st.booleans(),
       bom=st.booleans())
def test_fast_scan_equals_whole_parse(tmp_path_factory, tasks, window, indent, ascii_only, bom):
    """The scan (msgspec) + parse path gives exactly what json.loads gives, integers of any size included."""
    path = tmp_path_factory.mktemp("scan") / "export.json"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(tasks, indent=indent, ensure_ascii=ascii_only).encode())
    got = [parse_task(path, i, raw) for i, raw in iter_raw_tasks(path, window=window)]
    assert got == tasks
    assert [type(v) for t in got for v in t.values()] == [type(v) for t in tasks for v in t.values()]
    # Each task's byte offset finds its bytes again (the reader re-reads a task there when an id repeats),
    # whether the first read is bounded by the next task's offset or not.
    whole = path.read_bytes()
    found = list(iter_raw_tasks_at(path, window=window))
    ends = [offset if offset >= 0 else len(whole) for _, offset, _ in found[1:]] + [len(whole)]
    for (i, offset, raw), end in zip(found, ends):
        if offset < 0:  # given over to the exact reader (e.g. a BOM split by a window of 1 byte)
            assert isinstance(raw, dict)
            continue
        assert whole[offset:offset + len(raw)] == raw and raw[:1] == b"{"
        assert parse_task(path, i, raw_task_at(path, i, offset, end - offset)) == tasks[i]
        assert parse_task(path, i, raw_task_at(path, i, offset, window)) == tasks[i]


def test_fast_scan_hands_tasks_over_as_bytes(tmp_path):
    """Well-formed tasks are scanned, not parsed, by the reader's first stage (they parse in the workers)."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"id": 1, "text": "Путин 🇺🇦"}, {"id": 2}], ensure_ascii=False), encoding="utf-8")
    raws = list(iter_raw_tasks(path))
    assert [type(raw) for _, raw in raws] == [bytes, bytes]
    assert [parse_task(path, i, raw) for i, raw in raws] == [{"id": 1, "text": "Путин 🇺🇦"}, {"id": 2}]


def test_exact_reader_takes_over_what_the_scan_refuses(tmp_path):
    """NaN is not JSON to msgspec but the stdlib reads it: the file goes on through the exact reader."""
    path = tmp_path / "export.json"
    path.write_text('[{"id": 1}, {"id": 2, "x": NaN}, {"id": 3}]', encoding="utf-8")
    assert [t["id"] for _, t in iter_tasks(path)] == [1, 2, 3]
    assert [(i, offset, type(t)) for i, offset, t in iter_raw_tasks_at(path)] == [(0, 1, bytes), (1, -1, dict), (2, -1, dict)]


def test_a_task_read_again_after_the_file_changed_is_a_one_line_error(tmp_path):
    """`raw_task_at` finds no task where the file no longer has one: ExportReadError naming the file, no traceback."""
    path = tmp_path / "export.json"
    path.write_text('[{"id": 1}, {"id": 2}]', encoding="utf-8")
    (_, _, _), (i, offset, raw) = iter_raw_tasks_at(path)
    assert raw_task_at(path, i, offset) == raw == b'{"id": 2}'
    path.write_text('[{"id": 1}]', encoding="utf-8")
    with pytest.raises(ExportReadError, match=rf"^{re.escape(str(path))}: task 1 is no longer at byte 12: the file changed"):
        raw_task_at(path, i, offset)


@settings(max_examples=300, deadline=None)
@given(tasks=TASKS.filter(bool), cut=st.integers(1, 10_000), chunk=st.integers(1, 64))
def test_truncated_export_is_an_error_never_a_crash(tasks, cut, chunk):
    data = json.dumps(tasks)
    data = data[: max(0, len(data) - 1 - cut % len(data))]
    with pytest.raises(ExportReadError):
        list(iter_json_array(io.StringIO(data), chunk_chars=chunk))


@pytest.mark.parametrize("data, message", [
    (b"", "found an empty file"),
    (b'{"id": 1}', "expected a JSON array '['"),
    (b"[1, 2]", "task 0 at character 1 is not a JSON object"),
    (b'[{"id": 1}] trailing', "unexpected data after"),
    (b'[{"id": 1}, {"id"', "task 1 at character 12 is truncated"),
    (b'[{"id": 1}, {"id": x}]', "task 1 at character 12 is not valid JSON"),
    (b'[{"id": 1}', "the JSON array is not closed after 1 complete tasks"),
    (b'[{"id": 1}, {"text": "cut in a stri', "task 1 at character 12 is truncated"),
    (b'[{"id": 1}, {"ok": fal', "task 1 at character 12 is truncated"),
    (b'[{"id": 1}, {"ok": 1, "x": y, "more": "and more text after the error"}]', "not valid JSON (Expecting value at character 27)"),
])
def test_not_an_export(tmp_path, data, message):
    path = tmp_path / "export.json"
    path.write_bytes(data)
    with pytest.raises(ExportReadError, match=re.escape(message)):
        list(iter_tasks(path))


def test_lone_surrogate_escape_names_the_task(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b'[{"id": 1}, {"id": "\\udc00 and more"}]')
    with pytest.raises(ExportReadError, match="task 1 at character 12 holds a lone surrogate escape"):
        list(iter_tasks(path))


def test_task_that_is_not_utf8_names_the_task(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b'[{"id": 1}, {"id": "\xff"}]')
    with pytest.raises(ExportReadError, match="not valid UTF-8"):
        list(iter_tasks(path))


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b'\xef\xbb\xbf[{"id": 7}]')
    assert list(iter_tasks(path)) == [(0, {"id": 7})]


def test_records_join_per_region_choices_add_the_chunk_offset_and_keep_relations():
    result = [
        {"id": "r1", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 3, "end": 8, "text": "hello", "labels": ["CONDITION"]}},
        {"id": "r1", "from_name": "condition_type", "to_name": "text", "type": "choices",
         "value": {"start": 3, "end": 8, "text": "hello", "choices": ["halt_arms_supplies"]}},
        {"id": "r2", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 2, "text": "Oh", "labels": ["STANCE"]}},
        {"id": "d", "from_name": "doc_stance", "to_name": "text", "type": "choices",
         "value": {"choices": ["oppose"]}},
        {"type": "relation", "from_id": "r2", "to_id": "r1", "direction": "right", "labels": []},
    ]
    choices, spans, relations = parse_result(result, load(), "Oh hello there", offset=100)
    assert choices == {"doc_stance": "oppose"}
    assert spans == [
        Span("r2", "STANCE", 100, 102, "Oh", {"polarity": None, "condition_type": None, "attribution": None, "modality": None}),
        Span("r1", "CONDITION", 103, 108, "hello",
             {"polarity": None, "condition_type": "halt_arms_supplies", "attribution": None, "modality": None})]
    assert relations == [Relation("r2", "r1", "right", ())]
