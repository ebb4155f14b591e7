"""Adjudication round trip through a real Label Studio: two annotators disagree, the disputed
documents go back as tasks with each version as a prediction, the adjudicator's ground truth
comes back in an export and becomes the gold."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import ls_export as lx
from agreement_cases import BASE_STANCES, ROOT, TASK_IDS, TAXONOMY, TEXTS, base_spans, shifted_spans
from stancekit import agreement, labelstudio
from stancekit.cli import main

pytestmark = pytest.mark.labelstudio


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


def test_adjudication_round_trip(label_studio, tmp_path):
    client = labelstudio.Client(label_studio.base_url, label_studio.token)
    sdk = client.sdk
    config = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")
    emails = {who: f"agreement-roundtrip-{who}@example.org" for who in (1, 2)}
    users = {who: sdk.users.create(username=f"agreement-roundtrip-{who}", email=email).id for who, email in emails.items()}

    # Two annotators label four documents; they disagree on one stance and one boundary.
    project = sdk.projects.create(title="agreement round trip: annotators", label_config=config)
    docs = sorted(TEXTS)
    ids = sdk.projects.import_tasks(id=project.id, return_task_ids=True, request=[
        {"data": lx.task(TASK_IDS[d], d, TEXTS[d], [])["data"]} for d in docs]).task_ids
    versions = {1: (BASE_STANCES, base_spans), 2: (dict(BASE_STANCES, doc_c="oppose"), shifted_spans)}
    for who, (stances, spans) in versions.items():
        for task_id, doc in zip(ids, docs):
            sdk.annotations.create(id=task_id, result=lx.doc_choice(stances[doc]) + spans(doc), completed_by=users[who])
    original = labelstudio.pull(client, project.id, tmp_path / "exports")

    report = json.loads(run("agreement", original, "--format", "json", "--resamples", "0").stdout)
    assert report["annotators"] == [emails[1], emails[2]]
    assert report["document_choices"]["doc_stance"]["alpha"]["value"] == pytest.approx(10 / 17, abs=1e-4)
    assert report["spans"]["exact"]["pairs"][0]["scopes"]["all"]["f1"]["value"] == 0.75

    first_gold, adjudication_tasks = tmp_path / "gold1.json", tmp_path / "adjudication.json"
    run("adjudicate", original, "--out", first_gold, "--tasks-out", adjudication_tasks)
    tasks = json.loads(adjudication_tasks.read_text(encoding="utf-8"))
    assert [t["data"]["doc_id"] for t in tasks] == ["doc_a", "doc_c"]

    # The adjudicator sees both versions as predictions and submits annotator 2's as ground truth.
    adjudication = sdk.projects.create(title="agreement round trip: adjudication", label_config=config)
    adj_ids = sdk.projects.import_tasks(id=adjudication.id, request=tasks, return_task_ids=True).task_ids
    for task_id in adj_ids:
        predictions = {p.model_version: p.result for p in sdk.predictions.list(task=task_id)}
        assert set(predictions) == {emails[1], emails[2]}
        annotation = sdk.annotations.create(id=task_id, result=predictions[emails[2]])
        sdk.annotations.update(id=annotation.id, ground_truth=True)
    adjudicated = labelstudio.pull(client, adjudication.id, tmp_path / "exports")

    gold_path = tmp_path / "gold.json"
    run("adjudicate", original, adjudicated, "--out", gold_path, "--tasks-out", tmp_path / "left.json")
    assert json.loads((tmp_path / "left.json").read_text(encoding="utf-8")) == []
    gold = {d["doc_id"]: d for d in json.loads(gold_path.read_text(encoding="utf-8"))["documents"]}
    assert {d: (g["doc_stance"], g["doc_stance_status"]) for d, g in gold.items()} == {
        "doc_a": ("conditional_support", "adjudicated"), "doc_b": ("oppose", "unanimous"),
        "doc_c": ("oppose", "adjudicated"), "doc_d": ("oppose", "unanimous")}
    assert gold["doc_a"]["adjudicator"] == label_studio.email
    condition = [s for s in gold["doc_a"]["spans"] if s["label"] == "CONDITION"][0]
    assert condition["text"] == "not rearm during the pause" == TEXTS["doc_a"][condition["start"]:condition["end"]]
    # the adjudicator's annotations are not votes: agreement over both exports is unchanged
    both = agreement.measure(agreement.load_exports([original, adjudicated], TAXONOMY), TAXONOMY, resamples=0)
    assert both["annotators"] == report["annotators"]
    assert both["document_choices"] == report["document_choices"]
