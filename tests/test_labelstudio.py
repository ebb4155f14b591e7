"""`stancekit ls`: credentials, a real Label Studio (project, idempotent import, two annotators, export), errors."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import stat
import time
from pathlib import Path

import pytest
from ls_proxy import ForwardingProxy, serve
from click.testing import CliRunner

from stancekit import exports, labelstudio, taxonomy
from stancekit.records import parse_result
from stancekit import tasks as tasks_mod
from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
LABEL_CONFIG = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")
FIXTURE = ROOT / "tests/fixtures/exports/real_export.json"

spec = importlib.util.spec_from_file_location("make_real_export_fixture", ROOT / "scripts/make_real_export_fixture.py")
fixture_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixture_script)


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


# --- without a server ------------------------------------------------------------------------

def test_credentials_are_made_once_and_private(tmp_path):
    creds, created = labelstudio.ensure_credentials(tmp_path)
    again, created_again = labelstudio.ensure_credentials(tmp_path)
    assert created and not created_again and again == creds
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600
    assert len(creds.token) == 40  # the longest legacy token Label Studio accepts


def test_lost_credentials_with_existing_data_is_a_clear_error(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(labelstudio.LabelStudioError, match="credentials.json is gone"):
        labelstudio.ensure_credentials(tmp_path)


def test_port_taken_is_refused_before_starting(tmp_path):
    with socket.socket() as s:
        s.bind((labelstudio.HOST, 0))
        s.listen()
        port = s.getsockname()[1]
        result = run("ls", "up", "--state-dir", tmp_path, "--port", port, "--ls-venv", tmp_path)
        assert result.exit_code == 1
        assert result.output == f"stancekit: port {port} on 127.0.0.1 is taken by another program: choose another with --port\n"
    with socket.socket() as s:
        s.bind((labelstudio.HOST, 0))
        s.listen()
        with pytest.raises(labelstudio.LabelStudioError, match="is taken"):
            labelstudio.start_server(Path("/nonexistent"), s.getsockname()[1], tmp_path / "d", tmp_path / "h",
                                     labelstudio.new_credentials(), tmp_path / "log")


def test_connection_refused_is_one_line(tmp_path):
    labelstudio.ensure_credentials(tmp_path)
    url = f"http://127.0.0.1:{labelstudio.free_port()}"  # nothing listens there
    started = time.monotonic()
    result = run("ls", "pull", "--state-dir", tmp_path, "--url", url)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "connection refused" in result.output and url in result.output
    assert time.monotonic() - started < 15  # the SDK retries twice with backoff, then gives up


def test_missing_state_is_one_line(tmp_path):
    result = run("ls", "push", ROOT / "tests/fixtures/exports/real_export.json", "--state-dir", tmp_path)
    assert result.exit_code == 1 and "run `stancekit ls up`" in result.output


# --- against a real Label Studio -------------------------------------------------------------

@pytest.fixture
def project(label_studio, request):
    """A fresh project from the generated config, titled after the test."""
    title = f"test {request.node.name}"[:50]
    client = labelstudio.Client(label_studio.base_url, label_studio.token)
    project_id, what = labelstudio.ensure_project(client, title, LABEL_CONFIG)
    assert what == "created"
    yield title, project_id
    label_studio.client.projects.delete(id=project_id)


@pytest.fixture(scope="module")
def article_tasks(documents_parquet):
    return fixture_script.make_tasks(documents_parquet, TAXONOMY)


@pytest.mark.labelstudio
def test_round_trip_push_annotate_pull(label_studio, project, article_tasks, tmp_path, capsys):
    title, project_id = project
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write(article_tasks, tasks_file)
    state = ["--state-dir", label_studio.state_dir, "--project", title]

    started = time.monotonic()
    first = run("ls", "push", tasks_file, *state)
    import_seconds = time.monotonic() - started
    assert first.exit_code == 0, first.output
    assert f"imported {len(article_tasks)} new tasks; 0 already" in first.output
    with capsys.disabled():
        print(f"\n[measured] Label Studio start {label_studio.start_seconds:.1f} s; "
              f"push of {len(article_tasks)} tasks {import_seconds:.2f} s")

    users = fixture_script.annotate(label_studio.client, project_id, article_tasks, TAXONOMY)
    assert len(users) == 2

    pulled = run("ls", "pull", "--out-dir", tmp_path / "exports", *state)
    assert pulled.exit_code == 0, pulled.output
    export_path = Path(pulled.output.split("wrote ", 1)[1].strip())
    assert export_path.parent == tmp_path / "exports" and export_path.name.endswith("Z.json")
    assert not list(export_path.parent.glob("*.part"))
    check_export_shape(export_path, article_tasks)

    again = run("ls", "push", tasks_file, *state)
    assert again.exit_code == 0
    assert f"imported 0 new tasks; {len(article_tasks)} already" in again.output
    assert len(list(label_studio.client.tasks.list(project=project_id, page_size=100))) == len(article_tasks)
    for result in (first, pulled, again):
        assert label_studio.token not in result.output


def check_export_shape(path: Path, sent: list[dict]) -> None:
    """What the later stages rely on: data as sent, full predictions, two annotators, joined regions."""
    by_key = {labelstudio.task_key(t): t for t in sent}
    tasks = [task for _, task in exports.iter_tasks(path)]
    assert sorted(labelstudio.task_key(t) for t in tasks) == sorted(by_key)
    for task in tasks:
        original = by_key[labelstudio.task_key(task)]
        assert task["data"] == original["data"]
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == original["predictions"][0]["model_version"]
        assert prediction["result"] == original["predictions"][0]["result"]
        emails = sorted(a["completed_by"]["email"] for a in task["annotations"])
        assert emails == sorted(fixture_script.ANNOTATORS)
        text = task["data"]["text"]
        for annotation in task["annotations"]:
            choices, spans, _ = parse_result(annotation["result"], TAXONOMY, text, 0)
            assert all(choices.values())
            assert spans
            shown = {i["id"]: i["value"]["text"] for i in annotation["result"] if i["type"] == "labels"}
            for span in spans:
                assert shown[span.region_id] == fixture_script.browser_text(span.text)
                assert all(span.attributes[q.name] for q in TAXONOMY.attributes_for(span.label))


def test_committed_fixture_has_the_promised_shape():
    """tests/fixtures/exports/real_export.json (made by scripts/make_real_export_fixture.py)."""
    tasks = [task for _, task in exports.iter_tasks(FIXTURE)]
    assert len({t["data"]["doc_id"] for t in tasks}) == 5
    assert any(t["data"]["chunk"] > 0 and t["data"]["offset"] > 0 for t in tasks)
    crossing = 0
    for task in tasks:
        assert task["predictions"] and task["predictions"][0]["model_version"].startswith("rules-")
        assert sorted(a["completed_by"]["email"] for a in task["annotations"]) == sorted(fixture_script.ANNOTATORS)
        for annotation in task["annotations"]:
            assert len([i for i in annotation["result"] if i["from_name"] == "doc_stance"]) == 1
            crossing += sum("\\n" in i["value"]["text"] for i in annotation["result"] if i["type"] == "labels")
    assert crossing > 0


@pytest.mark.labelstudio
def test_config_update_is_validated_against_stored_annotations(label_studio, project, article_tasks):
    title, project_id = project
    client = labelstudio.Client(label_studio.base_url, label_studio.token)
    assert labelstudio.ensure_project(client, title, LABEL_CONFIG) == (project_id, "unchanged")
    labelstudio.push(client, project_id, article_tasks[:1])
    task_id = next(iter(label_studio.client.tasks.list(project=project_id))).id
    label_studio.client.annotations.create(id=task_id, result=fixture_script.annotation_result(article_tasks[0], 0, 0, TAXONOMY))

    used = TAXONOMY.label_names[0]
    without_used = "\n".join(line for line in LABEL_CONFIG.splitlines() if f'<Label value="{used}"' not in line)
    with pytest.raises(labelstudio.LabelStudioError, match=f"answered 400 .*{used}"):
        labelstudio.ensure_project(client, title, without_used)
    assert label_studio.client.projects.get(id=project_id).label_config.strip() == LABEL_CONFIG.strip()

    hinted = LABEL_CONFIG.replace('hint="The actor rejects the target."', 'hint="The actor says no."')
    assert labelstudio.ensure_project(client, title, hinted) == (project_id, "updated")

    result = run("ls", "up", "--state-dir", label_studio.state_dir, "--project", title,
                 "--config", ROOT / "schema/taxonomy.yaml")  # not XML: Label Studio's reply, on one line
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "answered 400" in result.output


@pytest.mark.labelstudio
def test_wrong_token_is_one_line_and_secret(label_studio, tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "f" * 40)
    result = run("ls", "pull", "--state-dir", tmp_path, "--url", label_studio.base_url)
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "refused the API token (401)" in result.output and "f" * 40 not in result.output


@pytest.mark.labelstudio
def test_push_resumes_after_a_partial_import(label_studio, project, article_tasks, tmp_path):
    """As if an earlier run died after its first batch: only the rest is imported."""
    title, project_id = project
    client = labelstudio.Client(label_studio.base_url, label_studio.token)
    first = labelstudio.push(client, project_id, article_tasks[:2])
    assert (first.imported, first.already_there, first.conflicts) == (2, 0, [])
    rest = labelstudio.push(client, project_id, article_tasks, batch_size=2)
    assert (rest.imported, rest.already_there, rest.conflicts) == (len(article_tasks) - 2, 2, [])

    changed = json.loads(json.dumps(article_tasks))
    changed[0]["data"]["text"] += " edited"
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write(changed, tasks_file)
    result = run("ls", "push", tasks_file, "--state-dir", label_studio.state_dir, "--project", title)
    assert result.exit_code == 1 and "1 task(s) already in the project with a different text" in result.output
    assert len(list(label_studio.client.tasks.list(project=project_id, page_size=100))) == len(article_tasks)


@pytest.mark.labelstudio
def test_up_restarts_a_stopped_server_and_down_stops_it(label_studio, tmp_path):
    """`ls up` on a copy of the session server's data dir (a restart, not a 70 s first start), then `ls down`."""
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy2(label_studio.state_dir / "credentials.json", state / "credentials.json")
    shutil.copytree(label_studio.state_dir / "data", state / "data")
    port = labelstudio.free_port()
    started = time.monotonic()
    up = run("ls", "up", "--state-dir", state, "--port", port, "--project", "restart test")
    try:
        assert up.exit_code == 0, up.output + (state / "server.log").read_text(errors="replace")[-2000:]
        assert f"http://127.0.0.1:{port}/projects/" in up.output and "created" in up.output
        assert f"log in as {label_studio.email} with password {label_studio.password}" in up.output  # once
        assert label_studio.token not in up.output
        print(f"[measured] ls up on an existing data dir: {time.monotonic() - started:.1f} s")
        again = run("ls", "up", "--state-dir", state, "--port", port, "--project", "restart test")
        assert again.exit_code == 0 and "unchanged" in again.output and "starting" not in again.output
        assert label_studio.password not in again.output and label_studio.token not in again.output
    finally:
        down = run("ls", "down", "--state-dir", state)
    assert down.output.strip() == "stopped Label Studio"
    assert not labelstudio.is_healthy(f"http://127.0.0.1:{port}")


class _LoseOneImportReply(ForwardingProxy):
    """A forwarding proxy in front of the real server that, once, lets an import request through
    and then hangs up instead of relaying the reply: the batch lands but the client never hears so.
    (The real server cannot be made to lose a reply on demand, hence this proxy.)"""

    lost: list = []

    def handle_request(self, body: bytes) -> None:
        reply = self.forward(body)
        if self.command == "POST" and "/import" in self.path and not self.lost:
            self.lost.append(self.path)
            self.close_connection = True
            return  # the tasks are imported; the reply is dropped
        self.relay(reply)


@pytest.mark.labelstudio
def test_a_lost_import_reply_does_not_duplicate_tasks(label_studio, project, article_tasks):
    _, project_id = project
    handler = type("Handler", (_LoseOneImportReply,), {"upstream": label_studio.base_url, "lost": []})
    proxy, url = serve(handler)
    try:
        client = labelstudio.Client(url, label_studio.token)
        said = []
        result = labelstudio.push(client, project_id, article_tasks, batch_size=2, say=said.append)
    finally:
        proxy.shutdown()
    assert handler.lost and any("resuming" in line for line in said)
    assert (result.imported, result.already_there, result.conflicts) == (len(article_tasks), 0, [])
    keys = [labelstudio.task_key({"data": t.data}) for t in label_studio.client.tasks.list(project=project_id, page_size=100)]
    assert sorted(keys) == sorted(labelstudio.task_key(t) for t in article_tasks)


@pytest.mark.labelstudio
def test_a_rejected_batch_names_its_tasks_and_imports_nothing(label_studio, project, article_tasks):
    _, project_id = project
    client = labelstudio.Client(label_studio.base_url, label_studio.token)
    bad = {"data": {"doc_id": "doc_without_text", "chunk": 0}}  # Label Studio rejects a task without $text
    with pytest.raises(labelstudio.LabelStudioError, match=r"answered 400 while importing tasks #0\.\.#1 .*") as err:
        labelstudio.push(client, project_id, [article_tasks[0], bad])
    assert "\n" not in str(err.value) and label_studio.token not in str(err.value)
    assert list(label_studio.client.tasks.list(project=project_id)) == []
