"""Regenerate tests/fixtures/exports/real_export.json: a real Label Studio export of the five articles.

Starts a throwaway Label Studio (temporary HOME and data dir, a free port on 127.0.0.1), creates
the project from schema/labeling-config.xml, imports the tasks with their rule-based predictions
(the longest article cut into chunks), lets two annotators label every task through the API,
pulls a snapshot export, and stops the server.

The annotations are scripted, not real judgements: they are derived from the predictions, with
deliberate disagreements (an attribute, a span boundary, a document stance) and one span per
task that crosses a line break, whose value.text carries the literal backslash-n the Label
Studio frontend writes. Use the fixture for tests, never as data.

    .venv/bin/python scripts/make_real_export_fixture.py [DOCUMENTS.parquet] [--out PATH]

DOCUMENTS defaults to build/documents.parquet (`make ingest`). Label Studio comes from
STANCEKIT_LS_VENV or .venv-ls (`make ls-install`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from label_studio_sdk import LabelStudio

from stancekit import documents as documents_mod, labelstudio, preannotate, taxonomy as taxonomy_mod, tasks as tasks_mod
from stancekit.taxonomy import LABELS_NAME, TEXT_NAME, Taxonomy

ROOT = Path(__file__).resolve().parents[1]
ANNOTATORS = ("annotator1@stancekit.local", "annotator2@stancekit.local")
MAX_CHARS = 9000  # only the longest article (about 15,000 characters) is chunked


def browser_text(text: str) -> str:
    """value.text as the Label Studio 1.23 frontend stores it: a literal backslash-n per CR and per LF."""
    return text.replace("\r", "\\n").replace("\n", "\\n")


def _next(values: list[str], value: str) -> str:
    return values[(values.index(value) + 1) % len(values)]


def _span(rid: str, text: str, label: str, start: int, end: int, attrs: dict[str, str], taxonomy: Taxonomy) -> list[dict]:
    value = {"start": start, "end": end, "text": browser_text(text[start:end])}
    items = [{"id": rid, "from_name": LABELS_NAME, "to_name": TEXT_NAME, "type": "labels", "origin": "manual",
              "value": {**value, "labels": [label]}}]
    for q in taxonomy.attributes_for(label):
        items.append({"id": rid, "from_name": q.name, "to_name": TEXT_NAME, "type": "choices", "origin": "manual",
                      "value": {**value, "choices": [attrs[q.name]]}})
    return items


def line_break_span(text: str) -> tuple[int, int] | None:
    """A span from the last words before the first paragraph break to the first words after it."""
    m = re.search(r"\S\n+\S", text[40:])
    if not m:
        return None
    at = 40 + m.start() + 1
    start = text.rfind(" ", 0, at - 15) + 1
    after = text.find(" ", at + 15)
    return start, after if after != -1 else len(text)


def annotation_result(task: dict, task_index: int, annotator: int, taxonomy: Taxonomy) -> list[dict]:
    """One annotator's result for a task, derived from its prediction (see the module docstring)."""
    text = task["data"][TEXT_NAME]
    predicted = task["predictions"][0]["result"]
    spans = [r for r in predicted if r["type"] == "labels"][: 4 - annotator]
    attrs = {r["id"]: {} for r in spans}
    for r in predicted:
        if r["type"] == "choices" and r["id"] in attrs:
            attrs[r["id"]][r["from_name"]] = r["value"]["choices"][0]
    result = []
    for n, span in enumerate(spans):
        label, start, end = span["value"]["labels"][0], span["value"]["start"], span["value"]["end"]
        values = dict(attrs[span["id"]])
        if annotator == 1 and n == 0:  # disagree on an attribute every label has (who voices it)
            q = next(q for q in taxonomy.region_attributes if set(q.applies_to) == set(taxonomy.label_names))
            values[q.name] = _next(q.value_names, values[q.name])
        if annotator == 1 and n == 1:  # disagree on the boundary
            end -= 1
        result += _span(preannotate.region_id("human", annotator, start, end, label), text, label, start, end, values, taxonomy)
    crossing = line_break_span(text)
    if crossing:
        label = taxonomy.label_names[0]
        values = {q.name: q.value_names[0] for q in taxonomy.attributes_for(label)}
        result += _span(preannotate.region_id("human", annotator, *crossing, label), text, label, *crossing, values, taxonomy)
    for q in taxonomy.document_choices:
        predicted_choice = next(r["value"]["choices"][0] for r in predicted if r["from_name"] == q.name)
        choice = _next(q.value_names, predicted_choice) if annotator == 1 and task_index % 2 == 0 else predicted_choice
        result.append({"id": preannotate.region_id("human", annotator, q.name, task_index), "from_name": q.name,
                       "to_name": TEXT_NAME, "type": "choices", "origin": "manual", "value": {"choices": [choice]}})
    return result


def annotate(client: LabelStudio, project_id: int, tasks: list[dict], taxonomy: Taxonomy) -> dict[str, int]:
    """Create the two annotators and one annotation by each on every task; returns email -> user id."""
    users = {}
    for n, email in enumerate(ANNOTATORS, 1):
        users[email] = client.users.create(username=f"annotator{n}", email=email).id
    by_key = {labelstudio.task_key(t): t for t in tasks}
    stored = sorted(client.tasks.list(project=project_id, fields="task_only", include="id,data", page_size=1000),
                    key=lambda t: t.id)
    for index, stored_task in enumerate(stored):
        task = by_key[labelstudio.task_key({"data": stored_task.data})]
        for annotator, email in enumerate(ANNOTATORS):
            client.annotations.create(id=stored_task.id, result=annotation_result(task, index, annotator, taxonomy),
                                      completed_by=users[email], lead_time=30.0 + index + annotator)
    return users


def make_tasks(documents: Path, taxonomy: Taxonomy) -> list[dict]:
    return tasks_mod.make_tasks(documents_mod.read_documents(documents), MAX_CHARS,
                                preannotate.predictor(taxonomy, ROOT / preannotate.DEFAULT_PATH))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("documents", nargs="?", type=Path, default=ROOT / "build/documents.parquet")
    parser.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/exports/real_export.json")
    args = parser.parse_args()
    taxonomy = taxonomy_mod.load(ROOT / taxonomy_mod.DEFAULT_PATH)
    tasks = make_tasks(args.documents, taxonomy)
    state_dir = Path(tempfile.mkdtemp(prefix="stancekit-fixture-"))
    try:
        print("starting a throwaway Label Studio ...", file=sys.stderr)
        with labelstudio.temporary_server(state_dir) as (server, creds):
            client = labelstudio.Client(server.url, creds.token)
            label_config = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")
            project_id, _ = labelstudio.ensure_project(client, f"stancekit {taxonomy.name}", label_config)
            labelstudio.push(client, project_id, tasks)
            annotate(client.sdk, project_id, tasks, taxonomy)
            export = labelstudio.pull(client, project_id, state_dir / "exports")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export, args.out)
        print(f"wrote {args.out}: {len(tasks)} tasks, {len(ANNOTATORS)} annotators", file=sys.stderr)
    except (labelstudio.LabelStudioError, documents_mod.DocumentsError, tasks_mod.TasksError) as exc:
        sys.exit(f"make_real_export_fixture: {exc}")
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
