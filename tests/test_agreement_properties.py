"""Properties of span matching and of the chunk-offset round trip in adjudication tasks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agreement_cases import TAXONOMY
from stancekit import agreement
from stancekit.adjudicate import prediction_result
from stancekit.records import parse_result

LABELS = TAXONOMY.label_names
SPANS = st.lists(st.builds(lambda start, length, label: {"start": start, "end": start + length, "label": label},
                           st.integers(0, 40), st.integers(1, 12), st.sampled_from(LABELS)), max_size=8)
TEXT = st.text(alphabet=st.sampled_from(list("ab \n\r\tЖé\u0301😀🇺🇦")), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(first=SPANS, second=SPANS)
def test_matching_is_one_to_one_symmetric_and_exact_within_overlap(first, second):
    for mode in agreement.MATCH_MODES:
        pairs = agreement.match_spans(first, second, mode)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        assert all(first[i]["label"] == second[j]["label"] for i, j in pairs)
        assert len(agreement.match_spans(second, first, mode)) == len(pairs)
    assert len(agreement.match_spans(first, second, "exact")) <= len(agreement.match_spans(first, second, "overlap"))
    assert len(agreement.match_spans(first, list(first), "exact")) == len(first)


@settings(max_examples=200, deadline=None)
@given(first=SPANS, second=SPANS)
def test_span_counts_swap_with_the_pair(first, second):
    forward = agreement.count_spans([(first, second)], TAXONOMY)
    backward = agreement.count_spans([(second, first)], TAXONOMY)
    for mode in agreement.MATCH_MODES:
        assert (forward.counts[mode][..., 0] == backward.counts[mode][..., 0]).all()
        assert (forward.counts[mode][..., 1] == backward.counts[mode][..., 2]).all()


@settings(max_examples=300, deadline=None)
@given(text=TEXT, offset=st.integers(0, 10_000), data=st.data())
def test_prediction_result_round_trips_document_offsets(text, offset, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    span = {"region_id": "r1", "label": "CONDITION", "start": offset + start, "end": offset + end, "text": None,
            "polarity": None, "condition_type": "other", "attribution": "actor", "modality": None}
    coding = agreement.Coding("someone", {"doc_stance": "oppose"}, {3: [span]}, [])
    result = prediction_result(coding, 3, {"text": text, "offset": offset}, TAXONOMY)
    choices, [back], _ = parse_result(result, TAXONOMY, text, offset)
    assert choices == {"doc_stance": "oppose"}
    assert back.text == text[start:end] and [r["value"]["text"] for r in result if r["type"] == "labels"] == [back.text]
    assert (back.start, back.end, back.label) == (span["start"], span["end"], span["label"])
    assert {k: back.attributes[k] for k in ("condition_type", "attribution", "modality")} == {
        k: span[k] for k in ("condition_type", "attribution", "modality")}
