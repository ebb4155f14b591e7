#!/usr/bin/env python3
"""Load annotation passes into a real Label Studio through its API, and pull the export.

Each pass file (annotation/passes/*.yaml) is one annotator's reading of the articles; its
quotes are placed on the ingested text (stancekit.passes), and each article becomes one
annotation by that annotator's own Label Studio user (completed_by). A pass with
`ground_truth: true` (the adjudicator's) is stored as ground truth. The tasks carry the
rule-based predictions, so the export holds both layers, kept apart.

    .venv/bin/python scripts/load_passes.py PASS.yaml... --out annotation/exports/NAME.json
        [--documents build/documents.parquet] [--tasks TASKS.json] [--project TITLE]
        [--url URL (token in LABEL_STUDIO_API_KEY)]

--tasks imports that task file instead of fresh tasks with rule-based predictions: for the
adjudicator, `annotation/tasks/adjudication.json` from `stancekit adjudicate --tasks-out`, whose
predictions are the annotators' versions.

Without --url it starts a throwaway Label Studio (STANCEKIT_LS_VENV or .venv-ls) and stops it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from stancekit import documents as documents_mod, labelstudio, passes, preannotate
from stancekit import tasks as tasks_mod
from stancekit import taxonomy as taxonomy_mod

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def server(url: str | None):
    """A client for --url, or for a throwaway server."""
    if url:
        yield labelstudio.Client(url, os.environ.get("LABEL_STUDIO_API_KEY", ""))
        return
    state_dir = Path(tempfile.mkdtemp(prefix="stancekit-passes-"))
    try:
        print("starting a throwaway Label Studio ...", file=sys.stderr)
        with labelstudio.temporary_server(state_dir) as (srv, creds):
            yield labelstudio.Client(srv.url, creds.token)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def user_id(client: labelstudio.Client, email: str) -> int:
    for user in client.call("listing users", client.sdk.users.list):
        if user.email == email:
            return user.id
    return client.call("creating a user", client.sdk.users.create, username=email.split("@")[0], email=email).id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("passes", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--documents", type=Path, default=Path("build/documents.parquet"))
    parser.add_argument("--tasks", type=Path, help="a task file to import instead of fresh tasks")
    parser.add_argument("--project", help="the project title (default: stancekit <taxonomy name>)")
    parser.add_argument("--url")
    args = parser.parse_args()
    taxonomy = taxonomy_mod.load()
    try:
        documents = documents_mod.read_documents(args.documents)
        offset_maps = pq.read_table(args.documents, columns=["doc_id", "offset_map"]).to_pylist()
        for document, row in zip(documents, offset_maps):
            document["offset_map"] = row["offset_map"]
        loaded = [passes.load_pass(p) for p in args.passes]
        results = [passes.pass_results(p, documents, taxonomy) for p in loaded]
        if args.tasks:
            tasks = tasks_mod.read(args.tasks)
        else:
            tasks = tasks_mod.make_tasks(documents, None, preannotate.predictor(taxonomy))
        with server(args.url) as client:
            label_config = Path("schema/labeling-config.xml").read_text(encoding="utf-8")
            project_id, _ = labelstudio.ensure_project(client, args.project or f"stancekit {taxonomy.name}",
                                                         label_config)
            labelstudio.push(client, project_id, tasks)
            stored = {t.data["doc_id"]: t.id for t in client.call("listing tasks", lambda: list(client.sdk.tasks.list(
                project=project_id, fields="task_only", include="id,data", page_size=1000)))}
            for pass_data, by_doc in zip(loaded, results):
                uid = user_id(client, f"{pass_data['annotator']}@stancekit.local")
                for doc_id, result in sorted(by_doc.items()):
                    client.call("creating an annotation", client.sdk.annotations.create, id=stored[doc_id],
                                result=result, completed_by=uid, ground_truth=bool(pass_data.get("ground_truth")))
                print(f"{pass_data['annotator']}: {len(by_doc)} annotations", file=sys.stderr)
            export = labelstudio.pull(client, project_id, Path(tempfile.mkdtemp(prefix="stancekit-pull-")))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(export, args.out)
        print(f"wrote {args.out}", file=sys.stderr)
    except (passes.PassError, labelstudio.LabelStudioError, documents_mod.DocumentsError, tasks_mod.TasksError) as exc:
        sys.exit(f"load_passes: {exc}")


if __name__ == "__main__":
    main()
