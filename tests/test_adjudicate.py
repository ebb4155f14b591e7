"""Gold from constructed exports: unanimous, majority, ties, merged and disputed spans, ground truth, single."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import ls_export as lx
from agreement_cases import (
    BASE_STANCES,
    EMAIL,
    ROOT,
    TASK_IDS,
    TAXONOMY,
    TEXTS,
    A,
    B,
    C,
    base_spans,
    condition_span,
    export,
    plan_of,
    shifted_spans,
    stance_span,
)
from stancekit import _files, adjudicate, agreement, preannotate, validate
from stancekit.cli import main
from stancekit.records import parse_result

ADJUDICATOR = 9


def gold_for(*paths):
    gold, tasks, problems = adjudicate.aggregate(agreement.load_exports(list(paths), TAXONOMY), TAXONOMY)
    return gold, tasks, problems


def by_id(gold):
    return {d["doc_id"]: d for d in gold["documents"]}


def test_unanimous_annotators_give_unanimous_gold(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES)})
    gold, tasks, problems = gold_for(path)
    assert problems == [] and tasks == []
    assert gold["taxonomy_version"] == TAXONOMY.version
    assert gold["inputs"] == [{"path": str(path), "sha256": _files.file_sha256(path)}]
    assert [d["doc_id"] for d in gold["documents"]] == sorted(TEXTS)
    doc_a = by_id(gold)["doc_a"]
    assert doc_a["doc_stance"] == "conditional_support" and doc_a["doc_stance_status"] == "unanimous"
    assert doc_a["annotators"] == [EMAIL[A], EMAIL[B]]
    assert [(s["label"], s["status"], s["annotators"]) for s in doc_a["spans"]] == [
        ("STANCE", "unanimous", [EMAIL[A], EMAIL[B]]), ("CONDITION", "unanimous", [EMAIL[A], EMAIL[B]])]
    for doc in gold["documents"]:
        for s in doc["spans"]:
            assert s["text"] == TEXTS[doc["doc_id"]][s["start"]:s["end"]]
    # the emoji flag document: offsets are code points
    [d1] = by_id(gold)["doc_d"]["spans"]
    assert d1["text"] == "sanctions lifted first" and d1["condition_type"] == "sanctions_relief_assets"
    assert d1["polarity"] is None  # not asked for a CONDITION


def test_majority_and_merged(tmp_path):
    def without_doc_b_stance(doc):
        return [] if doc == "doc_b" else base_spans(doc)

    plan = {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose")),
            C: plan_of(BASE_STANCES, without_doc_b_stance)}
    gold, tasks, _ = gold_for(export(tmp_path, "e.json", plan))
    doc_c, doc_b = by_id(gold)["doc_c"], by_id(gold)["doc_b"]
    assert (doc_c["doc_stance"], doc_c["doc_stance_status"]) == ("undecided", "majority")
    [span] = doc_b["spans"]  # 2 of 3 marked it, same boundaries and attributes
    assert span["status"] == "merged" and span["annotators"] == [EMAIL[A], EMAIL[B]]
    assert tasks == []


def test_tie_is_flagged_and_sent_to_adjudication(tmp_path):
    plan = {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose"))}
    gold, tasks, _ = gold_for(export(tmp_path, "e.json", plan))
    doc_c = by_id(gold)["doc_c"]
    assert (doc_c["doc_stance"], doc_c["doc_stance_status"]) == (None, "tie")
    [task] = tasks
    assert task["data"]["doc_id"] == "doc_c" and task["data"]["text"] == TEXTS["doc_c"]
    versions = {p["model_version"]: parse_result(p["result"], TAXONOMY, task["data"]["text"], 0)[0]
                for p in task["predictions"]}
    assert versions == {EMAIL[A]: {"doc_stance": "undecided"}, EMAIL[B]: {"doc_stance": "oppose"}}


def test_shifted_boundary_is_disputed_with_every_version_as_a_prediction(tmp_path):

    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES, shifted_spans)})
    gold, tasks, _ = gold_for(path)
    stance, condition = by_id(gold)["doc_a"]["spans"]
    assert stance["status"] == "unanimous"
    # one vote each for two boundaries: the gold span covers both, and is disputed
    assert condition["status"] == "disputed" and condition["text"] == "must not rearm during the pause"
    assert condition["annotators"] == [EMAIL[A], EMAIL[B]]
    [task] = tasks
    assert task["data"]["doc_id"] == "doc_a"
    export_tasks = {t["data"]["doc_id"]: t for t in json.loads(path.read_text())}
    for prediction in task["predictions"]:
        assert prediction["score"] is None
        who = prediction["model_version"]
        [original] = [a for a in export_tasks["doc_a"]["annotations"] if a["completed_by"]["email"] == who]
        text = task["data"]["text"]
        assert parse_result(prediction["result"], TAXONOMY, text, 0) == parse_result(original["result"], TAXONOMY, text, 0)


def test_attribute_tie_is_disputed(tmp_path):
    def government(doc):
        if doc == "doc_b":
            return stance_span("doc_b", "b1", "rejected the truce", attribution="government")
        return base_spans(doc)

    gold, tasks, _ = gold_for(export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES, government)}))
    [span] = by_id(gold)["doc_b"]["spans"]
    assert span["status"] == "disputed" and span["attribution"] is None and span["modality"] == "asserted"
    assert [t["data"]["doc_id"] for t in tasks] == ["doc_b"]


def test_span_marked_by_half_or_fewer_is_disputed(tmp_path):
    def nothing_in_b(doc):
        return [] if doc == "doc_b" else base_spans(doc)

    gold, _, _ = gold_for(export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES, nothing_in_b)}))
    [span] = by_id(gold)["doc_b"]["spans"]
    assert span["status"] == "disputed" and span["annotators"] == [EMAIL[A]]


def test_single_annotator_passes_through(tmp_path):
    plan = {A: plan_of(BASE_STANCES), B: plan_of({d: s for d, s in BASE_STANCES.items() if d != "doc_d"})}
    gold, tasks, _ = gold_for(export(tmp_path, "e.json", plan))
    doc_d = by_id(gold)["doc_d"]
    assert doc_d["doc_stance_status"] == "single" and doc_d["annotators"] == [EMAIL[A]]
    assert [s["status"] for s in doc_d["spans"]] == ["single"]


def accept(adjudication_tasks: list[dict], version: str) -> list[dict]:
    """What an adjudicator's export looks like: each task annotated with one prediction's result, as ground truth."""
    out = []
    for i, t in enumerate(adjudication_tasks, start=100):
        [chosen] = [p for p in t["predictions"] if p["model_version"] == version]
        annotation = lx.annotation(lx.user(ADJUDICATOR), chosen["result"], i, ground_truth=True)
        out.append(lx.task(i, t["data"]["doc_id"], t["data"]["text"], [annotation], chunk=t["data"]["chunk"],
                           offset=t["data"]["offset"], predictions=t["predictions"]))
    return out


def test_ground_truth_overrides_and_is_not_a_vote(tmp_path):
    first = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose"))})
    _, tasks, _ = gold_for(first)
    adjudicated = lx.write(tmp_path / "adjudication-export.json", accept(tasks, EMAIL[B]))
    gold, tasks_after, problems = gold_for(first, adjudicated)
    assert problems == [] and tasks_after == []
    doc_c = by_id(gold)["doc_c"]
    assert (doc_c["doc_stance"], doc_c["doc_stance_status"]) == ("oppose", "adjudicated")
    assert doc_c["adjudicator"] == lx.user(ADJUDICATOR)["email"] and doc_c["annotators"] == [EMAIL[A], EMAIL[B]]
    assert by_id(gold)["doc_a"]["adjudicator"] is None
    report = agreement.measure(agreement.load_exports([first, adjudicated], TAXONOMY), TAXONOMY, resamples=0)
    assert report["annotators"] == [EMAIL[A], EMAIL[B]]


def test_adjudicator_who_also_annotated_is_not_counted_twice(tmp_path):
    first = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose"))})
    _, tasks, _ = gold_for(first)
    exported = accept(tasks, EMAIL[A])
    for t in exported:  # annotator A adjudicates their own dispute
        t["annotations"][0]["completed_by"] = lx.user(A)
    gold, _, problems = gold_for(first, lx.write(tmp_path / "adj.json", exported))
    assert problems == []
    doc_c = by_id(gold)["doc_c"]
    assert (doc_c["doc_stance"], doc_c["doc_stance_status"], doc_c["adjudicator"]) == ("undecided", "adjudicated", EMAIL[A])


def test_chunked_document_gold_and_adjudication_tasks(tmp_path):
    text = TEXTS["doc_a"]
    cut = text.index("But")
    tasks = []
    for chunk, (offset, part) in enumerate([(0, text[:cut]), (cut, text[cut:])]):
        anns = []
        for who, shift in ((A, (0, 0)), (B, (5, 0))):
            result = lx.doc_choice("conditional_support")
            if chunk == 1:
                result += lx.span(f"r{who}", part, "must not rearm", "CONDITION", shift=shift,
                                  condition_type="no_rearmament_during_pause", attribution="actor", modality="asserted")
            anns.append(lx.annotation(lx.user(who), result, 10 + chunk))
        tasks.append(lx.task(10 + chunk, "doc_a", part, anns, chunk=chunk, offset=offset))
    gold, adjudication, problems = gold_for(lx.write(tmp_path / "e.json", tasks))
    assert problems == []
    [doc] = gold["documents"]
    [span] = doc["spans"]
    assert span["text"] == text[span["start"]:span["end"]] == "must not rearm" and span["status"] == "disputed"
    assert [t["data"]["chunk"] for t in adjudication] == [0, 1]
    for prediction in adjudication[1]["predictions"]:
        [item] = [i for i in prediction["result"] if i["type"] == "labels"]
        assert item["value"]["text"] == adjudication[1]["data"]["text"][item["value"]["start"]:item["value"]["end"]]


def test_cli_writes_gold_and_tasks_atomically_and_reproducibly(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose"))})
    out, tasks_out = tmp_path / "gold" / "gold.json", tmp_path / "tasks" / "adjudication.json"
    args = ["adjudicate", str(path), "--out", str(out), "--tasks-out", str(tasks_out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "disputed documents for adjudication: 1 (1 tasks)" in result.stdout
    first = out.read_bytes()
    assert json.loads(first)["documents"][2]["doc_stance_status"] == "tie"
    assert json.loads(tasks_out.read_text())[0]["data"]["doc_id"] == "doc_c"
    assert CliRunner().invoke(main, args).exit_code == 0
    assert out.read_bytes() == first
    assert sorted(p.name for p in out.parent.iterdir()) == ["gold.json"]


def test_cli_unreadable_export_writes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    out = tmp_path / "gold.json"
    result = CliRunner().invoke(main, ["adjudicate", str(bad), "--out", str(out)])
    assert result.exit_code == 2 and str(bad) in result.stderr and not out.exists()


@pytest.fixture()
def gold_file(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES)})
    out = tmp_path / "gold.json"
    assert CliRunner().invoke(main, ["adjudicate", str(path), "--out", str(out)]).exit_code == 0
    return out


def test_evaluate_predictions_against_gold(tmp_path, gold_file):
    def prediction(result):
        return {"model_version": "rules-v1", "score": 0.5, "result": result}

    predicted = {
        "doc_a": lx.doc_choice("conditional_support") + stance_span("doc_a", "p1", "supports the ceasefire in principle")
        + condition_span("doc_a", "p2", "must not rearm during the pause", "no_rearmament_during_pause", shift=(5, 0)),
        "doc_b": lx.doc_choice("support"),
        "doc_c": [],
        "doc_d": condition_span("doc_d", "p3", "sanctions lifted first", "sanctions_relief_assets")
        + stance_span("doc_d", "p4", "Russia wants"),
    }
    tasks = [lx.task(TASK_IDS[d], d, TEXTS[d], [], predictions=[prediction(r)]) for d, r in sorted(predicted.items())]
    tasks_file = lx.write(tmp_path / "tasks.json", [{"data": t["data"], "predictions": t["predictions"]} for t in tasks])
    result = CliRunner().invoke(main, ["evaluate", "--gold", str(gold_file), "--predictions", str(tasks_file),
                                       "--format", "json", "--resamples", "100"])
    assert result.exit_code == 0, result.output
    [model] = json.loads(result.stdout)["models"]
    assert model["model_version"] == "rules-v1" and model["documents"] == 4
    exact, overlap = model["spans"]["exact"]["scopes"], model["spans"]["overlap"]["scopes"]
    # gold: 4 spans; predicted: 4; exact matches 2 (doc_a STANCE, doc_d CONDITION), overlap 3
    assert exact["all"]["precision"]["value"] == 0.5 and exact["all"]["recall"]["value"] == 0.5
    assert overlap["all"]["f1"]["value"] == 0.75
    assert exact["all"]["f1"]["n"] == {"documents": 4, "matched": 2, "first": 4, "second": 4}
    # STANCE: gold doc_a, doc_b; predicted doc_a, doc_d (a false one)
    assert exact["label:STANCE"]["precision"]["value"] == 0.5 and exact["label:STANCE"]["recall"]["value"] == 0.5
    assert overlap["condition_type:no_rearmament_during_pause"]["f1"]["value"] == 1.0
    accuracy = model["document_choices"]["doc_stance"]["accuracy"]
    assert accuracy["value"] == 0.5 and accuracy["n"] == {"documents": 2}


def test_baselines_are_scored_beside_the_predictions(tmp_path, gold_file):
    tasks = [{"data": lx.task(TASK_IDS[d], d, TEXTS[d], [])["data"], "predictions": [
        {"model_version": "rules-v1", "score": 0.5, "result": lx.doc_choice("oppose")}]} for d in sorted(TEXTS)]
    tasks_file = lx.write(tmp_path / "tasks.json", tasks)
    rules = preannotate.load(TAXONOMY)
    report = agreement.evaluate(gold_file, [tasks_file], TAXONOMY, resamples=0, baselines=rules)
    models = {m["model_version"]: m for m in report["models"]}
    assert set(models) == {"rules-v1", "baseline-majority", "baseline-actor-sentence"}
    # gold doc_stance: the majority value of BASE_STANCES, answered for every document
    stances = [BASE_STANCES[d] for d in sorted(TEXTS)]
    share = max(stances.count(v) for v in stances) / len(stances)
    assert models["baseline-majority"]["document_choices"]["doc_stance"]["accuracy"]["value"] == pytest.approx(share)
    # one stance span per sentence that mentions the actor, and nothing else
    expected = sum(len(preannotate.actor_sentence_spans(TEXTS[d], rules)) for d in TEXTS)
    assert expected > 0
    assert models["baseline-actor-sentence"]["spans"]["exact"]["scopes"]["all"]["f1"]["n"]["second"] == expected
    result = CliRunner().invoke(main, ["evaluate", "--gold", str(gold_file), "--predictions", str(tasks_file),
                                       "--baselines", "--resamples", "0"])
    assert result.exit_code == 0 and "model baseline-majority" in result.output


def test_evaluate_reports_ids_only_predictions_and_bad_gold(tmp_path, gold_file):
    plain = lx.write(tmp_path / "plain.json", [lx.task(1, "doc_a", TEXTS["doc_a"], [], predictions=[17])])
    result = CliRunner().invoke(main, ["evaluate", "--gold", str(gold_file), "--predictions", str(plain)])
    assert result.exit_code == 1 and "1 predictions are ids only" in result.stderr
    bad = tmp_path / "not-gold.json"
    bad.write_text("[]", encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", "--gold", str(bad), "--predictions", str(plain)])
    assert result.exit_code == 2 and result.stderr.strip() == (
        f"stancekit: {bad}: not a gold file: expected an object with a 'documents' list")


def test_ground_truth_from_several_people_counts_as_ordinary_annotations(tmp_path):
    """Label Studio sets ground_truth=true on annotations imported with tasks unless told otherwise."""
    tasks = [lx.task(TASK_IDS[d], d, TEXTS[d], [
        lx.annotation(lx.user(who), lx.doc_choice(BASE_STANCES[d]) + base_spans(d), TASK_IDS[d], ground_truth=True)
        for who in (A, B)]) for d in sorted(TEXTS)]
    gold, _, problems = gold_for(lx.write(tmp_path / "imported.json", tasks))
    assert problems[0] == (f"document doc_a has ground-truth annotations by 2 people ({EMAIL[A]}, {EMAIL[B]}): "
                           f"an adjudication has one; counted as ordinary annotations")
    assert len(problems) == 4
    assert {d["doc_stance_status"] for d in gold["documents"]} == {"unanimous"}
    assert all(d["adjudicator"] is None for d in gold["documents"])


def test_evaluate_rejects_a_malformed_gold_span(tmp_path, gold_file):
    gold = json.loads(gold_file.read_text())
    gold["documents"][1]["spans"][0]["start"] = "12"
    gold_file.write_text(json.dumps(gold))
    result = CliRunner().invoke(main, ["evaluate", "--gold", str(gold_file), "--predictions", str(gold_file)])
    assert result.exit_code == 2
    assert result.stderr == (f"stancekit: {gold_file}: documents[1].spans[0]: expected integer start and end "
                             f"with 0 <= start < end\n")


def test_ground_truth_picked_among_annotations_is_also_a_vote(tmp_path):
    """A reviewer stars one annotator's annotation in the original project."""
    flipped = dict(BASE_STANCES, doc_c="oppose")
    tasks = []
    for d in sorted(TEXTS):
        anns = [lx.annotation(lx.user(who), lx.doc_choice(stances[d]) + base_spans(d), TASK_IDS[d],
                              ground_truth=(who == B and d == "doc_c"))
                for who, stances in ((A, BASE_STANCES), (B, flipped))]
        tasks.append(lx.task(TASK_IDS[d], d, TEXTS[d], anns))
    path = lx.write(tmp_path / "e.json", tasks)
    gold, adjudication, problems = gold_for(path)
    assert problems == [] and adjudication == []
    doc_c = by_id(gold)["doc_c"]
    assert (doc_c["doc_stance"], doc_c["doc_stance_status"], doc_c["adjudicator"]) == ("oppose", "adjudicated", EMAIL[B])
    report = agreement.measure(agreement.load_exports([path], TAXONOMY), TAXONOMY, resamples=0)
    alpha = report["document_choices"]["doc_stance"]["alpha"]
    assert alpha["n"] == {"documents": 4, "values": 8} and alpha["value"] == pytest.approx(10 / 17, abs=1e-4)


def test_constructed_exports_and_adjudication_results_pass_the_validator(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(dict(BASE_STANCES, doc_c="oppose"))})
    _, tasks, _ = gold_for(path)
    adjudicated = lx.write(tmp_path / "adjudicated.json", accept(tasks, EMAIL[B]))
    config = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")
    assert [p.message for p in validate.validate_exports([path, adjudicated], TAXONOMY, config)] == []


def test_review_all_sends_undisputed_documents_too(tmp_path):
    path = export(tmp_path, "e.json", {A: plan_of(BASE_STANCES), B: plan_of(BASE_STANCES)})
    collection = agreement.load_exports([path], TAXONOMY)
    gold, tasks, _ = adjudicate.aggregate(collection, TAXONOMY, review_all=True)
    assert tasks and sorted({t["data"]["doc_id"] for t in tasks}) == sorted(d["doc_id"] for d in gold["documents"])
    assert all(len(t["predictions"]) == 2 for t in tasks)
