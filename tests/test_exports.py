"""The streaming export reader splits any JSON array of objects exactly, in any chunking, and fails in one line."""

from __future__ import annotations

import io
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stancekit.exports import ExportReadError, iter_task_bytes, iter_tasks, parse_task

NASTY = st.lists(st.sampled_from(list('"\\{}[],: \n\tabПу') + ["🇺🇦", "\u2028", "\\\\", '\\"']), max_size=12).map("".join)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | NASTY,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(NASTY, children, max_size=3),
    max_leaves=8,
)
TASKS = st.lists(st.dictionaries(NASTY, VALUES, max_size=4), max_size=6)


def _dump(tasks: list, style: int) -> bytes:
    if style == 0:
        return orjson.dumps(tasks)
    if style == 1:
        return json.dumps(tasks, indent=2, ensure_ascii=False).encode()
    if style == 2:
        return b"\xef\xbb\xbf \n" + json.dumps(tasks, ensure_ascii=True).encode() + b"\n\n"
    return b"[\n" + b" ,\n ".join(orjson.dumps(t) for t in tasks) + b"\n ]"


@settings(max_examples=300, deadline=None)
@given(tasks=TASKS, style=st.integers(0, 3), chunk=st.integers(1, 64))
def test_split_matches_a_whole_parse(tasks, style, chunk):
    raw = _dump(tasks, style)
    pieces = list(iter_task_bytes(io.BytesIO(raw), chunk_bytes=chunk))
    assert [orjson.loads(p.data) for p in pieces] == tasks
    assert [p.index for p in pieces] == list(range(len(tasks)))
    for p in pieces:
        assert raw[p.offset:p.offset + len(p.data)] == p.data


@settings(max_examples=200, deadline=None)
@given(tasks=TASKS.filter(bool), style=st.integers(0, 3), chunk=st.integers(1, 64), data=st.data())
def test_truncation_is_a_read_error(tasks, style, chunk, data):
    raw = _dump(tasks, style)
    cut = data.draw(st.integers(0, len(raw.rstrip()) - 1))
    with pytest.raises(ExportReadError) as info:
        for piece in iter_task_bytes(io.BytesIO(raw[:cut]), "x.json", chunk_bytes=chunk):
            parse_task(piece, "x.json")
    assert str(info.value).startswith("x.json: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("raw, says", [
    (b"", "empty file"),
    (b"  \n", "empty file"),
    (b'{"id": 1}', "expected '['"),
    (b"[1]", "task 0 at byte 1 is not a JSON object"),
    (b'[{"a": 1}, "x"]', "task 1 at byte 9 is not a JSON object"),
    (b"[[]]", "task 0 at byte 1 is not a JSON object"),
    (b'[{"a": 1}}', "task 1 at byte 9 is not a JSON object"),
    (b'[{"a": 1}] x', "unexpected data after the closing ']'"),
    (b'[{"a": 1} {"b": 2}]', "task 1 at byte 9 is not a JSON object"),
    (b'[{"a": "\\"}]', "truncated"),
    (b'[{"a": [}]', "not valid JSON"),
    (b'[{"a": "\xff"}]', "not valid UTF-8"),
])
def test_bad_input_names_the_problem(raw, says, tmp_path):
    path = tmp_path / "e.json"
    path.write_bytes(raw)
    with pytest.raises(ExportReadError) as info:
        list(iter_tasks(path))
    assert says in str(info.value) and str(path) in str(info.value)


def test_empty_array_and_large_task(tmp_path):
    path = tmp_path / "e.json"
    path.write_bytes(b"[]")
    assert list(iter_tasks(path)) == []
    big = {"data": {"text": "x\\\"}{" * 600_000}}  # larger than a read chunk, escapes straddling chunk ends
    path.write_bytes(orjson.dumps([big, {"id": 2}]))
    assert [t for _, t in iter_tasks(path)] == [big, {"id": 2}]
