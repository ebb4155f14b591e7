"""Properties of the one export reader: what `validate` accepts is exactly what the release holds,
and how the annotations are spread over export files does not matter."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pandas as pd
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from export_mutations import DEFECTS, TAXONOMY, base_export, documents_parquet, write
from stancekit import fastpath, graphemes, release, validate
from stancekit.documents import DocumentStore

SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEY = ["layer", "doc_id", "annotation_id", "region_id", "start", "end", "label"]


def build(tmp_path: Path, name: str, exports: list[Path], documents: Path) -> Path | str:
    """The release directory, or the refusal's message."""
    try:
        return release.build(release.Inputs(documents, exports), TAXONOMY, tmp_path / name, version="1.0.0")
    except release.ReleaseError as exc:
        return str(exc)


def tables(root: Path) -> dict[str, pd.DataFrame]:
    """Each table without its provenance column (`source`: the file a row was read from), in a fixed row order."""
    out = {}
    for name in ("documents", "annotations", "spans", "relations"):
        path = root / f"{name}.parquet"
        if path.exists():
            frame = pd.read_parquet(path).drop(columns=["source"], errors="ignore")
            key = [k for k in KEY if k in frame.columns] if name != "documents" else ["doc_id"]
            out[name] = frame.sort_values(key, kind="stable").reset_index(drop=True)
    return out


@given(seed=st.integers(0, 2**32 - 1), files=st.integers(1, 4), repeats=st.integers(0, 4))
@SLOW
def test_splitting_or_duplicating_an_export_never_changes_the_tables(tmp_path_factory, seed, files, repeats):
    tmp_path = tmp_path_factory.mktemp("split")
    documents = documents_parquet(tmp_path / "documents.parquet")
    tasks = base_export()
    whole = build(tmp_path, "whole", [write(tasks, tmp_path / "whole.json")], documents)
    rng = random.Random(seed)
    parts: list[list[dict]] = [[] for _ in range(files)]
    for task in tasks:
        parts[rng.randrange(files)].append(task)
    for _ in range(repeats):  # the same task again, as in an overlapping `ls pull` snapshot
        parts[rng.randrange(files)].append(copy.deepcopy(rng.choice(tasks)))
    paths = [write(part, tmp_path / f"part-{i}.json") for i, part in enumerate(parts)]
    split = build(tmp_path, "split", paths, documents)
    left, right = tables(whole), tables(split)
    assert left.keys() == right.keys()
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def _spans_of(result: list) -> list[dict]:
    return [item for item in result if item.get("type") == "labels"]


def mutate(tasks: list[dict], rng: random.Random) -> None:
    """Random edits an annotator or a script could make: relations, removed spans, cancelled annotations,
    a repeated task, and now and then one of the validator's known defects."""
    for _ in range(rng.randrange(1, 5)):
        task = rng.choice(tasks)
        annotation = rng.choice(task["annotations"])
        spans = _spans_of(annotation["result"])
        kind = rng.choice(["relation", "bad_relation", "drop_span", "cancel", "repeat", "defect"])
        if kind == "relation" and len(spans) >= 2:
            a, b = rng.sample(spans, 2)
            annotation["result"].append({"type": "relation", "from_id": a["id"], "to_id": b["id"],
                                         "direction": rng.choice(["left", "right", "bi"]),
                                         "labels": rng.choice([[], ["condition_of"]])})
        elif kind == "bad_relation" and spans:
            annotation["result"].append({"type": "relation", "from_id": spans[0]["id"], "to_id": "nowhere",
                                         "direction": "right"})
        elif kind == "drop_span" and spans:
            gone = rng.choice(spans)["id"]
            annotation["result"] = [i for i in annotation["result"] if i.get("id") != gone or i.get("type") == "relation"]
            annotation["result"] = [i for i in annotation["result"]
                                    if i.get("type") != "relation" or gone not in (i["from_id"], i["to_id"])]
        elif kind == "cancel":
            annotation["was_cancelled"] = True
        elif kind == "repeat":
            tasks.append(copy.deepcopy(task))
        elif kind == "defect":
            DEFECTS[rng.choice(sorted(DEFECTS))](tasks)


@given(seed=st.integers(0, 2**32 - 1))
@SLOW
def test_what_validate_accepts_is_released_whole_and_what_it_rejects_is_refused(tmp_path_factory, seed):
    tmp_path = tmp_path_factory.mktemp("accepted")
    documents = documents_parquet(tmp_path / "documents.parquet")
    tasks = base_export()
    mutate(tasks, random.Random(seed))
    path = write(tasks, tmp_path / "export.json")
    summary = validate.check([path], TAXONOMY, documents=DocumentStore.open(documents))
    built = build(tmp_path, "rel", [path], documents)
    if summary.errors:
        assert isinstance(built, str) and f"{summary.errors} validation error(s)" in built
        return
    assert not isinstance(built, str), built
    out = tables(built)
    # Expected from the export itself, not from the reader: each (task, annotation) once, submitted only.
    seen, annotations, spans, choices, relations = set(), set(), set(), set(), set()
    for task in tasks:
        for annotation in task["annotations"]:
            key = (task["id"], task["data"]["doc_id"], annotation["id"])
            if annotation.get("was_cancelled") or key in seen:
                continue
            seen.add(key)
            annotations.add(annotation["id"])
            offset = task["data"].get("offset", 0)
            for item in annotation["result"]:
                value = item.get("value", {})
                if item.get("type") == "labels":
                    spans.add((annotation["id"], item["id"], value["start"] + offset, value["end"] + offset,
                               value["labels"][0]))
                elif item.get("type") == "choices" and "start" in value:
                    choices.add((annotation["id"], item["id"], item["from_name"], value["choices"][0]))
                elif item.get("type") == "choices":
                    choices.add((annotation["id"], None, item["from_name"], value["choices"][0]))
                elif item.get("type") == "relation":
                    relations.add((annotation["id"], item["from_id"], item["to_id"]))
    rows = out["annotations"][out["annotations"].layer == "annotation"]
    assert sorted(rows.annotation_id) == sorted(annotations)
    span_rows = out["spans"][out["spans"].layer == "annotation"]
    assert set(zip(span_rows.annotation_id, span_rows.region_id, span_rows.start, span_rows.end,
                   span_rows.label.astype(str))) == spans
    released_choices = {(r.annotation_id, r.region_id, q.name, getattr(r, q.name)) for r in span_rows.itertuples()
                        for q in TAXONOMY.region_attributes if isinstance(getattr(r, q.name), str)}
    released_choices |= {(r.annotation_id, None, q.name, getattr(r, q.name)) for r in rows.itertuples()
                         for q in TAXONOMY.document_choices if isinstance(getattr(r, q.name), str)}
    assert released_choices == choices
    frame = out.get("relations", pd.DataFrame(columns=["annotation_id", "from_id", "to_id"]))
    assert set(zip(frame.annotation_id, frame.from_id, frame.to_id)) == relations


# -- grapheme boundaries: one home, checked against a full \X scan -----------------------------

PIECES = ["a", "Ж", "й", "e\u0301", "\r\n", "\n", " ", "👍🏽", "👨\u200d👩\u200d👧", "🇺🇦", "🇷", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
          "\u0301", "\u200d", "\ufe0f", "❤️", "क्षि", "각",
          # break properties the fast path must not take for Other: SpacingMark (Thai SARA AM, a letter),
          # Prepend (Arabic number sign), Hangul jamo L and V, a half-width voiced mark (Extend, a letter)
          "กำ", "\u0600١", "\u1100", "\u1161", "ｶ\uff9e", "\u0e33",
          # beside ASCII (the pair decides alone): Prepend before a letter or a space, a virama (Indic linker),
          # ZWJ and a regional indicator before ASCII, ASCII before a SpacingMark
          "\u0600", "\u094d", "\u0915", "\r", "1", ".", "\u0903"]


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_grapheme_boundaries_match_a_full_scan(text):
    boundaries = {0, len(text)} | {m.end() for m in regex.finditer(r"\X", text, flags=regex.DOTALL)}
    for i in range(len(text) + 1):
        assert graphemes.is_boundary(text, i) == (i in boundaries), (text, i)
        assert graphemes.cluster_start(text, i) in boundaries and graphemes.cluster_start(text, i) <= i


def test_the_kept_pairs_stay_bounded_and_right(monkeypatch):
    monkeypatch.setattr(graphemes, "_PAIRS_KEPT", 4)
    monkeypatch.setattr(graphemes, "_pairs", {})
    text = "a\u0301b \u0600c Ж.🇺🇦 e\u0301!"
    expected = {0, len(text)} | {m.end() for m in regex.finditer(r"\X", text, flags=regex.DOTALL)}
    for _ in range(2):  # the second time over, from pairs kept or forgotten
        assert {i for i in range(len(text) + 1) if graphemes.is_boundary(text, i)} == expected
        assert len(graphemes._pairs) <= 4


def test_tasks_and_validate_agree_on_skin_tones_and_tag_sequences():
    from stancekit import tasks

    for text in ("ok 👍🏽 fine", "flag 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f here"):
        emoji = text.split()[1]
        inside = text.index(emoji) + 1
        assert not graphemes.is_boundary(text, inside)
        cut = tasks.chunk_bounds(text.replace(" ", ""), inside)[0][1]  # no space to cut at: the grapheme rule decides
        assert graphemes.is_boundary(text.replace(" ", ""), cut)
    assert fastpath.cuts("a👍🏽", 2) and not fastpath.cuts("a👍🏽", 1)


@pytest.mark.parametrize("text", ["Кремль\r\nсказал", "e\u0301e\u0301", "🇷🇺🇺🇦"])
def test_boundaries_of_fixed_texts(text):
    expected = {0, len(text)} | {m.end() for m in regex.finditer(r"\X", text, flags=regex.DOTALL)}
    assert {i for i in range(len(text) + 1) if graphemes.is_boundary(text, i)} == expected


def test_a_record_pointer_leads_to_its_annotation(tmp_path):
    tasks = base_export()
    path = write(tasks, tmp_path / "e.json")
    reader = validate.Reader(TAXONOMY)
    for record in reader.read([path]):
        node = json.loads(path.read_text())
        for token in record.pointer.split("/")[1:]:
            node = node[int(token)] if isinstance(node, list) else node[token]
        assert node["id"] == record.annotation_id
