"""Agreement numbers on constructed exports match hand computation; bad inputs give clear messages."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest
from click.testing import CliRunner

import ls_export as lx
from agreement_cases import BASE_STANCES, EMAIL, TASK_IDS, TAXONOMY, TEXTS, A, B, C, base_spans, export, plan_of, shifted_spans, stance_span
from stancekit import agreement
from stancekit.cli import main
from stancekit.validate import InputRejected


def report_for(*paths, resamples=200):
    return agreement.measure(agreement.load_exports(list(paths), TAXONOMY), TAXONOMY, resamples=resamples)


def pair_block(report, mode):
    [pair] = report["spans"][mode]["pairs"]
    return pair


# --- known answers ------------------------------------------------------------------------------

def test_identical_annotators_agree_perfectly(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES)})
    report = report_for(path)
    stance = report["document_choices"]["doc_stance"]
    assert stance["alpha"]["value"] == 1.0
    assert stance["alpha"]["n"] == {"documents": 4, "values": 8}
    assert stance["alpha"]["ci95"] == [1.0, 1.0]
    [pair] = stance["pairs"]
    assert pair["annotators"] == [EMAIL[1], EMAIL[2]]
    assert pair["kappa"]["value"] == 1.0 and pair["observed_agreement"]["value"] == 1.0
    for mode in agreement.MATCH_MODES:
        block = pair_block(report, mode)
        for stat in ("precision", "recall", "f1"):
            assert block["scopes"]["all"][stat]["value"] == 1.0
        assert block["scopes"]["all"]["f1"]["n"] == {"documents": 4, "matched": 4, "first": 4, "second": 4}
        assert block["scopes"]["label:CONDITION"]["f1"]["n"]["matched"] == 2
        assert block["scopes"]["condition_type:sanctions_relief_assets"]["f1"]["value"] == 1.0
        # a category nobody used is undefined, with its reason, never NaN
        nato = block["scopes"]["condition_type:no_nato_membership"]["f1"]
        assert nato["value"] is None and nato["undefined"] == "no spans"
        assert block["attributes"]["attribution"]["agreement"]["value"] == 1.0
        assert block["attributes"]["attribution"]["agreement"]["n"] == {"matched_spans": 4}
    assert report["problems"] == []


def test_one_flipped_stance_matches_hand_computation(tmp_path):
    flipped = dict(BASE_STANCES, doc_c="oppose")
    # A: cs, oppose, undecided, oppose; B: cs, oppose, oppose, oppose.
    report = report_for(export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(flipped)}))
    stance = report["document_choices"]["doc_stance"]
    # Cohen's kappa: po = 3/4; A's marginals cs 1, oppose 2, undecided 1; B's cs 1, oppose 3.
    # pe = (1*1 + 2*3 + 1*0) / 16 = 7/16; kappa = (3/4 - 7/16) / (1 - 7/16) = 5/9.
    [pair] = stance["pairs"]
    assert pair["kappa"]["value"] == pytest.approx(5 / 9, abs=1e-4)
    assert pair["kappa"]["n"] == {"documents": 4}
    assert pair["observed_agreement"]["value"] == 0.75
    # Krippendorff's alpha: coincidences o(cs,cs)=2, o(op,op)=4, o(op,un)=o(un,op)=1;
    # n_cs=2, n_op=5, n_un=1, n=8; alpha = 1 - (n-1) * 2 / (n^2 - sum n_c^2) = 1 - 14 / 34 = 10/17.
    assert stance["alpha"]["value"] == pytest.approx(10 / 17, abs=1e-4)
    assert stance["alpha"]["n"] == {"documents": 4, "values": 8}
    assert stance["observed_agreement"]["value"] == 0.75
    assert stance["observed_agreement"]["n"] == {"documents": 4, "pairs": 4}
    low, high = stance["alpha"]["ci95"]
    assert low <= stance["alpha"]["value"] <= high <= 1.0


def test_one_shifted_boundary_matches_hand_computation(tmp_path):

    report = report_for(export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES, shifted_spans)}))
    exact, overlap = pair_block(report, "exact"), pair_block(report, "overlap")
    # exact: 3 of 4 spans match on each side -> P = R = F1 = 3/4
    for stat in ("precision", "recall", "f1"):
        assert exact["scopes"]["all"][stat]["value"] == 0.75
        assert overlap["scopes"]["all"][stat]["value"] == 1.0
    assert exact["scopes"]["label:STANCE"]["f1"]["value"] == 1.0
    cond = exact["scopes"]["label:CONDITION"]["f1"]
    assert cond["value"] == 0.5 and cond["n"] == {"documents": 4, "matched": 1, "first": 2, "second": 2}
    category = "condition_type:no_rearmament_during_pause"
    assert exact["scopes"][category]["f1"]["value"] == 0.0
    assert overlap["scopes"][category]["f1"]["value"] == 1.0
    # attributes are compared on matched spans only: 3 under exact, 4 under overlap
    assert exact["attributes"]["modality"]["agreement"]["n"] == {"matched_spans": 3}
    assert overlap["attributes"]["modality"]["agreement"]["n"] == {"matched_spans": 4}


def test_disjoint_annotators_have_no_overlap(tmp_path):
    a_docs = {d: s for d, s in BASE_STANCES.items() if d in ("doc_a", "doc_b")}
    b_docs = {d: s for d, s in BASE_STANCES.items() if d in ("doc_c", "doc_d")}
    report = report_for(export(tmp_path, "e.json", {A: plan_of(a_docs), B: plan_of(b_docs)}))
    stance = report["document_choices"]["doc_stance"]
    assert stance["alpha"]["value"] is None
    assert stance["alpha"]["undefined"] == "no document has values from two or more annotators"
    assert stance["pairs"][0]["kappa"]["undefined"] == "no item with a value from both"
    block = pair_block(report, "overlap")
    assert block["scopes"]["all"]["f1"] == {"value": None, "ci95": None, "resamples": 0,
                                           "undefined": "no document annotated by both",
                                           "n": {"documents": 0, "matched": 0, "first": 0, "second": 0}}
    assert report["problems"] == ["no document was annotated by two or more annotators: there is no overlap to measure"]


def test_attribute_agreement_and_kappa_on_matched_spans(tmp_path):
    def other_attribution(doc):
        if doc == "doc_b":
            return stance_span("doc_b", "b1", "rejected the truce", attribution="government")
        return base_spans(doc)

    report = report_for(export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES, other_attribution)}))
    attribution = pair_block(report, "exact")["attributes"]["attribution"]
    # 4 matched spans: 3 (actor, actor), 1 (actor, government). po = 3/4; A all actor, B actor 3 of 4:
    # pe = (4*3)/16 = 3/4 -> kappa = 0.
    assert attribution["agreement"]["value"] == 0.75
    assert attribution["kappa"]["value"] == 0.0
    # the spans still match: attributes do not take part in matching
    assert pair_block(report, "exact")["scopes"]["all"]["f1"]["value"] == 1.0


def test_three_annotators_with_missing_values_alpha_by_hand_and_by_package(tmp_path):
    # doc_a: cs, cs, cs; doc_b: cs, oppose, (C did not annotate it); doc_c: oppose x3; doc_d: only A.
    plan = {
        A: plan_of({"doc_a": "conditional_support", "doc_b": "conditional_support", "doc_c": "oppose", "doc_d": "oppose"}),
        B: plan_of({"doc_a": "conditional_support", "doc_b": "oppose", "doc_c": "oppose"}),
        C: plan_of({"doc_a": "conditional_support", "doc_c": "oppose"}),
    }
    report = report_for(export(tmp_path, "e.json", plan))
    alpha = report["document_choices"]["doc_stance"]["alpha"]
    # coincidences: doc_a o(cs,cs) += 3, doc_b o(cs,op) = o(op,cs) = 1, doc_c o(op,op) += 3 (doc_d unpairable)
    # n_cs = n_op = 4, n = 8: alpha = 1 - 7 * 2 / (2 * 4 * 4) = 18/32
    assert alpha["value"] == pytest.approx(18 / 32, abs=1e-4)
    assert alpha["n"] == {"documents": 3, "values": 8}
    reliability = [[0, 0, 1, 1], [0, 1, 1, np.nan], [0, np.nan, 1, np.nan]]
    assert krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal") == pytest.approx(18 / 32)
    assert len(report["document_choices"]["doc_stance"]["pairs"]) == 3


def test_match_spans_is_one_to_one_and_prefers_largest_overlap():
    def s(start, end, label="STANCE"):
        return {"start": start, "end": end, "label": label}

    first = [s(0, 10), s(20, 30)]
    second = [s(5, 25), s(0, 9), s(20, 30, "CONDITION")]
    assert agreement.match_spans(first, second, "overlap") == [(0, 1), (1, 0)]
    assert agreement.match_spans(first, second, "exact") == []
    assert agreement.match_spans([s(0, 10), s(0, 10)], [s(0, 10)], "exact") == [(0, 0)]


def test_alpha_from_value_counts_equals_package_on_reliability_data():
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4, size=(3, 30)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    counts = np.stack([np.bincount(col[~np.isnan(col)].astype(int), minlength=4) for col in data.T])
    value, reason = agreement.alpha_nominal(counts)
    assert reason is None
    assert value == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


# --- bad inputs -----------------------------------------------------------------------------------

def test_one_annotator_only(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES)})
    result = CliRunner().invoke(main, ["agreement", str(path), "--format", "json", "--resamples", "50"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["document_choices"]["doc_stance"]["alpha"]["undefined"] == "one annotator only"
    assert report["spans"]["exact"]["all_pairs"]["scopes"]["all"]["f1"]["undefined"] == "one annotator only"
    assert report["spans"]["exact"]["pairs"] == []
    assert f"only 1 annotator ({EMAIL[1]}) in the exports: agreement needs two or more" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "NaN" not in result.stdout


def test_same_person_annotating_a_document_twice_is_refused(tmp_path):
    tasks = []
    for doc in sorted(TEXTS):
        anns = [lx.annotation(lx.user(who), lx.doc_choice(BASE_STANCES[doc]) + base_spans(doc), TASK_IDS[doc]) for who in (A, B)]
        if doc == "doc_b":
            anns.append(lx.annotation(lx.user(A), lx.doc_choice("support"), TASK_IDS[doc]))
        tasks.append(lx.task(TASK_IDS[doc], doc, TEXTS[doc], anns))
    path = lx.write(tmp_path / "e.json", tasks)
    with pytest.raises(InputRejected, match=f"1 validation error.*#/1/annotations/2: REPEATED_ANNOTATOR: {EMAIL[1]} has "
                                            f"another annotation of document doc_b chunk 0 at .*#/1/annotations/0"):
        agreement.load_exports([path], TAXONOMY)
    result = CliRunner().invoke(main, ["agreement", str(path), "--resamples", "0"])
    assert result.exit_code == 1 and result.stdout == ""
    assert f"run `stancekit validate {path}`" in result.stderr and len(result.stderr.splitlines()) == 1


def test_cancelled_annotations_are_left_out(tmp_path):
    doc = "doc_b"
    anns = [lx.annotation(lx.user(A), lx.doc_choice("oppose"), 2), lx.annotation(lx.user(B), lx.doc_choice("oppose"), 2),
            lx.annotation(lx.user(C), lx.doc_choice("support"), 2, was_cancelled=True)]
    path = lx.write(tmp_path / "e.json", [lx.task(2, doc, TEXTS[doc], anns)])
    collection = agreement.load_exports([path], TAXONOMY)
    assert collection.annotators == [EMAIL[1], EMAIL[2]]


def test_integer_completed_by_is_user_id(tmp_path):
    anns = [lx.annotation(7, lx.doc_choice("oppose"), 2), lx.annotation(8, lx.doc_choice("oppose"), 2)]
    path = lx.write(tmp_path / "e.json", [lx.task(2, "doc_b", TEXTS["doc_b"], anns)])
    assert agreement.load_exports([path], TAXONOMY).annotators == ["user:7", "user:8"]


def test_chunked_tasks_of_one_document_combine(tmp_path):
    text = TEXTS["doc_a"]
    cut = text.index("But")
    parts = [(0, text[:cut]), (cut, text[cut:])]
    tasks = []
    for chunk, (offset, part) in enumerate(parts):
        anns = []
        for who in (A, B):
            result = lx.doc_choice("conditional_support")
            if chunk == 1:
                result += lx.span("r", part, "must not rearm", "CONDITION", condition_type="no_rearmament_during_pause",
                                  attribution="actor", modality="asserted")
            anns.append(lx.annotation(lx.user(who), result, 10 + chunk))
        tasks.append(lx.task(10 + chunk, "doc_a", part, anns, chunk=chunk, offset=offset))
    collection = agreement.load_exports([lx.write(tmp_path / "e.json", tasks)], TAXONOMY)
    [doc] = collection.documents
    coding = doc.codings[EMAIL[1]]
    assert coding.choices == {"doc_stance": "conditional_support"}
    [span] = coding.spans
    assert text[span["start"]:span["end"]] == "must not rearm"
    report = agreement.measure(collection, TAXONOMY, resamples=0)
    assert report["document_choices"]["doc_stance"]["alpha"]["n"] == {"documents": 1, "values": 2}
    assert pair_block(report, "exact")["scopes"]["all"]["f1"]["n"]["matched"] == 1


def test_conflicting_choices_across_chunks_are_a_problem(tmp_path):
    tasks = [lx.task(10 + c, "doc_a", part, [lx.annotation(lx.user(A), lx.doc_choice(stance), 10 + c)], chunk=c, offset=off)
             for c, (off, part, stance) in enumerate([(0, "Putin said", "oppose"), (10, " more", "support")])]
    collection = agreement.load_exports([lx.write(tmp_path / "e.json", tasks)], TAXONOMY)
    assert collection.problems == [f"{EMAIL[1]} gave document doc_a different doc_stance values in different chunks "
                                   f"(oppose, support): left out"]
    assert collection.documents[0].codings[EMAIL[1]].choices == {"doc_stance": None}


@pytest.mark.parametrize("content, message", [
    (b"not json", "not a Label Studio JSON export"),
    (b'[{"id": 1, "data": {"text": "x", "doc_id": "d"}}', "truncated"),
])
def test_unreadable_export_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["agreement", str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and str(path) in result.stderr


def test_task_without_doc_id_is_refused_naming_it(tmp_path):
    bad = lx.task(99, "x", "text", [lx.annotation(lx.user(A), lx.doc_choice("oppose"), 99)])
    del bad["data"]["doc_id"]
    with pytest.raises(InputRejected, match=r"e.json#/0/data: UNKNOWN_DOCUMENT: data.doc_id is null"):
        agreement.load_exports([lx.write(tmp_path / "e.json", [bad])], TAXONOMY)


# --- determinism and output ------------------------------------------------------------------

def test_bootstrap_is_deterministic_and_cli_output_is_stable(tmp_path):
    flipped = dict(BASE_STANCES, doc_c="oppose")
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(flipped), C: plan_of(BASE_STANCES)})
    runs = [CliRunner().invoke(main, ["agreement", str(path), "--format", "json"]) for _ in range(2)]
    assert runs[0].exit_code == 0 and runs[0].stdout == runs[1].stdout
    other_seed = CliRunner().invoke(main, ["agreement", str(path), "--format", "json", "--seed", "1"])
    first, second = json.loads(runs[0].stdout), json.loads(other_seed.stdout)
    alpha = first["document_choices"]["doc_stance"]["alpha"]
    assert alpha["value"] == second["document_choices"]["doc_stance"]["alpha"]["value"]
    assert runs[0].stdout != other_seed.stdout  # the seed drives the intervals
    assert alpha["resamples"] > 0


def test_text_report_shows_values_counts_and_undefined_reasons(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose"))})
    result = CliRunner().invoke(main, ["agreement", str(path), "--resamples", "100"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Krippendorff's alpha (nominal): 0.588 [" in out and "(n: 4 documents, 8 values)" in out
    assert f"{EMAIL[1]} vs {EMAIL[2]}: Cohen's kappa 0.556" in out
    assert "condition_type:sanctions_relief_assets" in out
    assert "condition_type:no_nato_membership" not in out  # empty categories are left out of the text
    assert "nan" not in out.lower()


def test_each_annotator_against_the_adjudicated_gold(tmp_path):
    flipped = dict(BASE_STANCES, doc_c="oppose")
    tasks = []
    for doc in sorted(TEXTS):
        anns = [lx.annotation(lx.user(A), lx.doc_choice(BASE_STANCES[doc]) + base_spans(doc), TASK_IDS[doc]),
                lx.annotation(lx.user(B), lx.doc_choice(flipped[doc]), TASK_IDS[doc])]
        tasks.append(lx.task(TASK_IDS[doc], doc, TEXTS[doc], anns))
        # the adjudication: another task of the same document, C's ground truth, agreeing with A
        truth = lx.annotation(lx.user(C), lx.doc_choice(BASE_STANCES[doc]) + base_spans(doc), 100 + TASK_IDS[doc],
                              ground_truth=True)
        tasks.append(lx.task(100 + TASK_IDS[doc], doc, TEXTS[doc], [truth]))
    path = lx.write(tmp_path / "e.json", tasks)
    report = agreement.report(agreement.load_exports([path], TAXONOMY), TAXONOMY, resamples=0)
    gold = report["against_gold"]
    assert set(gold) == {EMAIL[1], EMAIL[2]}  # C is the adjudicator, not measured against itself
    assert gold[EMAIL[1]]["documents"] == len(TEXTS)
    assert gold[EMAIL[1]]["document_choices"]["doc_stance"]["alpha"]["value"] == 1.0
    assert gold[EMAIL[1]]["spans"]["exact"]["scopes"]["all"]["f1"]["value"] == 1.0
    assert gold[EMAIL[1]]["spans"]["exact"]["annotators"] == [agreement.GOLD, EMAIL[1]]
    assert gold[EMAIL[2]]["document_choices"]["doc_stance"]["alpha"]["value"] < 1.0
    assert gold[EMAIL[2]]["spans"]["exact"]["scopes"]["all"]["f1"]["n"]["second"] == 0  # B marked no spans
    text = agreement.render_agreement(report)
    assert f"{EMAIL[1]} against the adjudicated gold (4 documents; gold first)" in text
