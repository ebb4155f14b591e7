"""The rule-based pre-annotator: cues keyed by taxonomy values, predictions Label Studio accepts."""

from pathlib import Path

import pytest
import yaml
from label_studio_sdk.label_interface import LabelInterface

from stancekit import config, preannotate, records, taxonomy
from stancekit.documents import read_documents
from stancekit.taxonomy import LABELS_NAME


ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
CUES = ROOT / "schema/preannotator.yaml"
RULES = preannotate.load(TAXONOMY, CUES)



def regions(result: list, text: str) -> tuple[dict, list[dict]]:
    """(document choices, spans as dicts) of a prediction, parsed as the export reader parses it."""
    choices, spans, _ = records.parse_result(result, TAXONOMY, text, 0)
    return choices, [{"label": s.label, "start": s.start, "end": s.end, "text": s.text, **s.attributes} for s in spans]

def test_every_cue_key_is_a_taxonomy_value():
    raw = yaml.safe_load(CUES.read_text(encoding="utf-8"))
    for section in ("spans", "attributes"):
        for question, rule in raw[section].items():
            assert set(rule["cues"]) <= set(TAXONOMY.question(question).value_names), (section, question)
    for question, rule in raw["attributes"].items():
        assert rule["default"] in TAXONOMY.question(question).value_names
    for question, rule in raw["document"].items():
        values = TAXONOMY.question(question).value_names
        assert rule["default"] in values and rule["with_conditions"] in values
    assert RULES.model_version == f"{raw['name']}-{raw['version']}"


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["spans"]["polarity"]["cues"].update({"maybe": ["x"]}), "'maybe' is not a value of 'polarity'"),
    (lambda r: r["attributes"].update({"mood": {"default": "x", "cues": {}}}), "'mood' is not a question"),
    (lambda r: r["attributes"].pop("modality"), "no rule sets 'modality'"),
    (lambda r: r.pop("spans"), "missing or malformed key"),
])
def test_a_cue_file_that_drifts_from_the_taxonomy_is_refused(tmp_path, edit, message):
    raw = yaml.safe_load(CUES.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "cues.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(preannotate.PreannotatorError, match=message):
        preannotate.load(TAXONOMY, path)


def test_predictions_pass_label_interface_for_every_article(documents_parquet):
    li = LabelInterface(config.render(TAXONOMY))
    for doc in read_documents(documents_parquet):
        prediction = preannotate.predict_text(doc["text"], RULES, TAXONOMY)
        assert li.validate_prediction(prediction, return_errors=True) == [], doc["source_file"]
        assert prediction["model_version"] == RULES.model_version and 0 <= prediction["score"] <= 1


def test_prediction_shape_matches_human_annotations():
    text = ('The Kremlin said it would reject the truce.\n'
            '"We agree with the proposals to cease hostilities," Putin stated, but it must tackle the root causes.')
    prediction = preannotate.predict_text(text, RULES, TAXONOMY)
    choices, spans = regions(prediction["result"], text)
    assert [(s["label"], text[s["start"]:s["end"]]) for s in spans] == [
        ("STANCE", "The Kremlin said it would reject the truce."),
        ("STANCE", text.split("\n")[1]),
        ("CONDITION", "root causes"),
    ]
    assert [s["polarity"] for s in spans[:2]] == ["oppose", "conditional_support"]
    assert [s["attribution"] for s in spans] == ["government", "actor", "actor"]
    assert spans[2]["condition_type"] == "root_causes_lasting_settlement"
    assert all(s["text"] == text[s["start"]:s["end"]] for s in spans)
    assert choices == {"doc_stance": "conditional_support"}
    # every attribute the taxonomy asks for a label is set, on an item repeating the span's id
    for span in spans:
        for q in TAXONOMY.attributes_for(span["label"]):
            assert span[q.name] is not None
    labels = [r for r in prediction["result"] if r["from_name"] == LABELS_NAME]
    assert all("score" in r for r in labels)


def test_speculation_and_no_spans():
    text = "Analysts suggest Putin might reject the ceasefire."
    _, spans = regions(preannotate.predict_text(text, RULES, TAXONOMY)["result"], text)
    assert (spans[0]["attribution"], spans[0]["modality"]) == ("analyst", "speculative")
    empty = preannotate.predict_text("Nothing about it here.", RULES, TAXONOMY)
    assert empty["score"] == 0.0
    assert regions(empty["result"], "Nothing about it here.") == ({"doc_stance": "not_addressed"}, [])


def test_cues_match_whole_words_and_both_apostrophes():
    text = "Moscow’s position on NATO’s presence. Supportive words on the truce proposal."
    _, spans = regions(preannotate.predict_text(text, RULES, TAXONOMY)["result"], text)
    assert [(s["label"], s["condition_type"]) for s in spans] == [("CONDITION", "reduced_nato_presence")]
