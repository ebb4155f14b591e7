"""Label Studio faults during push and pull: a stopped, frozen or failing server.

Stopping and freezing use a real Label Studio of the test's own (`labelstudio.temporary_server`
on a copy of the session server's data, so that the shared one keeps running and no migration
is run again). Only the 500s come from a fake: a proxy in front of the real server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from ls_proxy import ForwardingProxy, serve
from click.testing import CliRunner

from stancekit import labelstudio, taxonomy
from stancekit import tasks as tasks_mod
from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
LABEL_CONFIG = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")

_spec = importlib.util.spec_from_file_location("make_real_export_fixture", ROOT / "scripts/make_real_export_fixture.py")
fixture_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture_script)

pytestmark = pytest.mark.labelstudio


def run(*args, env: dict | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def keys_in(client: labelstudio.Client, project_id: int) -> list:
    return sorted(labelstudio.task_key({"data": t.data}) for t in client.sdk.tasks.list(project=project_id, page_size=100))


@pytest.fixture(scope="module")
def article_tasks(documents_parquet):
    return fixture_script.make_tasks(documents_parquet, TAXONOMY)


@pytest.fixture
def sleeps(monkeypatch):
    """Every backoff (push's, pull's and the SDK's), recorded; the waits are shortened to keep the tests quick."""
    slept: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), real_sleep(min(s, 0.05))))
    return slept


# --- a real server of our own, stopped and frozen ------------------------------------------------

@pytest.fixture
def own_state(label_studio, tmp_path):
    """A state dir with a copy of the session server's credentials and data (a restart, not a first start)."""
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy2(label_studio.state_dir / "credentials.json", state / "credentials.json")
    shutil.copytree(label_studio.state_dir / "data", state / "data")
    return state


def test_server_stopped_mid_push_fails_in_one_line_and_rerun_resumes(own_state, article_tasks, tmp_path):
    title = "stopped mid-push"
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write(article_tasks, tasks_file)
    with labelstudio.temporary_server(own_state) as (server, creds):
        client = labelstudio.Client(server.url, creds.token)
        project_id, _ = labelstudio.ensure_project(client, title, LABEL_CONFIG)
        said = []

        def stop_after_the_first_batch(line: str) -> None:
            said.append(line)
            if line.startswith("imported batch 1 "):
                labelstudio.stop_server(server.pid)  # the real server goes away between two batches

        with pytest.raises(labelstudio.LabelStudioError) as err:
            labelstudio.push(client, project_id, article_tasks, batch_size=2, say=stop_after_the_first_batch)
    message = str(err.value)
    assert "\n" not in message and creds.token not in message
    assert message.startswith(f"cannot connect to Label Studio at {server.url}") and "connection refused" in message
    assert any("resuming in 1 s" in line for line in said)  # it tried again before giving up

    with labelstudio.temporary_server(own_state) as (server, _):  # restarted, on another port
        again = run("ls", "push", tasks_file, "--state-dir", own_state, "--project", title)
        assert again.exit_code == 0, again.output
        assert f"imported {len(article_tasks) - 2} new tasks; 2 already" in again.output
        assert keys_in(labelstudio.Client(server.url, creds.token), project_id) == \
            sorted(labelstudio.task_key(t) for t in article_tasks)  # every task once


def test_server_stopped_mid_pull_leaves_no_partial_export_and_rerun_succeeds(own_state, article_tasks, tmp_path,
                                                                           monkeypatch):
    title = "stopped mid-pull"
    out_dir = tmp_path / "exports"
    with labelstudio.temporary_server(own_state) as (server, creds):
        client = labelstudio.Client(server.url, creds.token)
        project_id, _ = labelstudio.ensure_project(client, title, LABEL_CONFIG)
        labelstudio.push(client, project_id, article_tasks)
        download = client.sdk.projects.exports.download

        def stop_then_download(**kwargs):
            labelstudio.stop_server(server.pid)  # the snapshot is built; the server dies before the download
            return download(**kwargs)

        monkeypatch.setattr(client.sdk.projects.exports, "download", stop_then_download)
        with pytest.raises(labelstudio.LabelStudioError) as err:
            labelstudio.pull(client, project_id, out_dir)
    message = str(err.value)
    assert "\n" not in message and creds.token not in message
    assert message == (f"cannot connect to Label Studio at {server.url} while downloading the export "
                       f"(connection refused): is it running? `stancekit ls up` starts it")
    assert not out_dir.exists() or list(out_dir.iterdir()) == []  # nothing half-written

    with labelstudio.temporary_server(own_state):
        pulled = run("ls", "pull", "--out-dir", out_dir, "--state-dir", own_state, "--project", title)
        assert pulled.exit_code == 0, pulled.output
    (export,) = out_dir.iterdir()
    tasks = json.loads(export.read_text(encoding="utf-8"))
    assert sorted(labelstudio.task_key(t) for t in tasks) == sorted(labelstudio.task_key(t) for t in article_tasks)


def test_frozen_server_times_out_with_a_clear_error(own_state, article_tasks, tmp_path):
    """SIGSTOP freezes the real server: it accepts connections but never answers."""
    with labelstudio.temporary_server(own_state) as (server, creds):
        client = labelstudio.Client(server.url, creds.token)
        project_id, _ = labelstudio.ensure_project(client, "frozen", LABEL_CONFIG)
        slow = labelstudio.Client(server.url, creds.token, timeout=2)
        os.killpg(server.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(labelstudio.LabelStudioError) as pushing:
                labelstudio.push(slow, project_id, article_tasks)
            with pytest.raises(labelstudio.LabelStudioError) as pulling:
                labelstudio.pull(slow, project_id, tmp_path / "exports")
            waited = time.monotonic() - started
        finally:
            os.killpg(server.pid, signal.SIGCONT)
        assert str(pushing.value) == (f"Label Studio at {server.url} did not answer in time "
                                      f"while listing the tasks of project {project_id}")
        assert str(pulling.value) == f"Label Studio at {server.url} did not answer in time while creating an export snapshot"
        assert waited < 30  # the timeout is honoured, not waited out forever
        assert not (tmp_path / "exports").exists()
        assert keys_in(client, project_id) == []  # thawed, it holds nothing half-imported


# --- 500s: a fake in front of the real server ------------------------------------------------------

class FailingProxy(ForwardingProxy):
    """A fake Label Studio: forwards every request to the real server, except that it answers 500
    to requests matching a rule [method, part of the path, matches to let through first, how many
    to fail (None: all)]. The real server cannot be made to answer 500 on demand, hence this fake."""

    rules: list = []
    failed: list = []

    def handle_request(self, body: bytes) -> None:
        for rule in self.rules:
            method, part, let_through, times = rule
            if self.command != method or part not in self.path:
                continue
            if let_through:
                rule[2] -= 1
            elif times != 0:
                rule[3] = None if times is None else times - 1
                self.failed.append(f"{self.command} {self.path}")
                page = b"<!doctype html>\n<title>Server Error (500)</title>\n<h1>Server Error (500)</h1>\n"
                self.send_response(500)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
        self.relay(self.forward(body))


@pytest.fixture
def failing(label_studio):
    """failing(*rules) starts a FailingProxy in front of the session server -> (its url, its handler class)."""
    servers = []

    def start(*rules):
        handler = type("Handler", (FailingProxy,), {"upstream": label_studio.base_url,
                                                   "rules": [list(r) for r in rules], "failed": []})
        proxy, url = serve(handler)
        servers.append(proxy)
        return url, handler

    yield start
    for proxy in servers:
        proxy.shutdown()
        proxy.server_close()


@pytest.fixture
def project(label_studio, request):
    title = f"faults {request.node.name}"[:50]
    client = labelstudio.Client(label_studio.base_url, label_studio.token)
    # As `ls up` makes it, so that `ls push` has no settings to change and says only what the faults do.
    project_id, _ = labelstudio.ensure_project(client, title, LABEL_CONFIG, labelstudio.load_settings())
    yield title, project_id, client
    label_studio.client.projects.delete(id=project_id)


def test_500_mid_push_is_retried_with_backoff_and_resumes_without_duplicates(label_studio, project, failing,
                                                                             article_tasks, sleeps):
    _, project_id, client = project
    url, handler = failing(("POST", "/import", 1, 2))  # the first batch lands, the second answers 500 twice
    said = []
    result = labelstudio.push(labelstudio.Client(url, label_studio.token), project_id, article_tasks, batch_size=2,
                              say=said.append)
    assert len(handler.failed) == 2
    resumed = [line for line in said if line.startswith("import failed")]
    assert len(resumed) == 2 and all(f"Label Studio at {url} answered 500" in line for line in resumed)
    assert [s for s in sleeps if s >= 1] == [1, 2]  # exponential backoff between the attempts
    assert (result.imported, result.already_there, result.conflicts) == (len(article_tasks), 0, [])
    assert keys_in(client, project_id) == sorted(labelstudio.task_key(t) for t in article_tasks)  # each once


def test_persistent_500_on_push_gives_one_final_line_after_backoff(label_studio, project, failing, article_tasks,
                                                                   tmp_path, sleeps):
    title, project_id, client = project
    url, handler = failing(("POST", "/import", 0, None))
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write(article_tasks, tasks_file)
    result = run("ls", "push", tasks_file, "--url", url, "--project", title, "--state-dir", tmp_path,
                 env={"LABEL_STUDIO_API_KEY": label_studio.token})
    assert result.exit_code == 1
    page = "<!doctype html> <title>Server Error (500)</title> <h1>Server Error (500)</h1>"
    assert result.output.splitlines() == [
        *(f"import failed (Label Studio at {url} answered 500 while importing: {page}); resuming in {s} s"
          for s in (1, 2, 4)),
        f"stancekit: Label Studio at {url} answered 500 while importing tasks #0..#{len(article_tasks) - 1} "
        f"(file order, from 0) into project {project_id}: {page}"]
    assert label_studio.token not in result.output
    assert len(handler.failed) == labelstudio.IMPORT_ATTEMPTS
    assert [s for s in sleeps if s >= 1] == [1, 2, 4]
    assert keys_in(client, project_id) == []


def test_500_mid_pull_is_retried_then_succeeds(label_studio, project, failing, article_tasks, tmp_path, sleeps):
    _, project_id, client = project
    labelstudio.push(client, project_id, article_tasks)
    url, handler = failing(("GET", "/exports/", 0, 2))  # polling the snapshot, or downloading it
    out = labelstudio.pull(labelstudio.Client(url, label_studio.token), project_id, tmp_path / "exports")
    assert len(handler.failed) == 2 and any(s >= 0.5 and s != 0.5 for s in sleeps)  # waited before trying again
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert sorted(labelstudio.task_key(t) for t in json.loads(out.read_text(encoding="utf-8"))) == \
        sorted(labelstudio.task_key(t) for t in article_tasks)


def test_persistent_500_mid_pull_gives_one_line_and_no_partial_file(label_studio, project, failing, article_tasks,
                                                                    tmp_path, sleeps):
    title, project_id, client = project
    labelstudio.push(client, project_id, article_tasks)
    url, handler = failing(("GET", "/download", 0, None))
    out_dir = tmp_path / "exports"
    result = run("ls", "pull", "--out-dir", out_dir, "--url", url, "--project", title, "--state-dir", tmp_path,
                 env={"LABEL_STUDIO_API_KEY": label_studio.token})
    assert result.exit_code == 1
    assert result.output == (f"stancekit: Label Studio at {url} answered 500 while downloading the export: "
                             f"<!doctype html> <title>Server Error (500)</title> <h1>Server Error (500)</h1>\n")
    assert len(handler.failed) == labelstudio.DOWNLOAD_ATTEMPTS
    assert [s for s in sleeps if s >= 1] == [1, 2]
    assert list(out_dir.iterdir()) == []  # no .part, no half export
