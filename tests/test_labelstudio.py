"""`stancekit ls`: credentials, a real Label Studio (project, idempotent import, two annotators, export), errors."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import stat
import time
import uuid
from pathlib import Path

import httpx
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


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
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


def test_a_port_whose_server_just_stopped_is_free():
    """`ls down` then `ls up` on the same port at once: the stopped server's connections wait in
    TIME_WAIT on its port, which must not count as taken (a listener still does)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Label Studio's server does
    server.bind((labelstudio.HOST, 0))
    server.listen()
    port = server.getsockname()[1]
    visitor = socket.create_connection((labelstudio.HOST, port))
    accepted, _ = server.accept()
    assert not labelstudio.port_is_free(port)  # listening
    accepted.close()  # the server side closes first: its end of the connection goes to TIME_WAIT
    server.close()
    visitor.close()
    assert labelstudio.port_is_free(port)


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


# --- project settings, accounts and the campaign, without a server ---------------------------

SETTINGS = ROOT / "schema/labelstudio-project.yaml"


def test_the_dataset_project_asks_for_two_annotators_per_task():
    """The one declared place: every task goes to 2 annotators, all of them (overlap cohort 100%)."""
    settings = labelstudio.load_settings(SETTINGS)
    assert settings.fields() == {"maximum_annotations": 2, "overlap_cohort_percentage": 100,
                                 "show_collab_predictions": True, "show_skip_button": True}


@pytest.mark.parametrize("text, message", [
    ("annotators_per_task: 0\n", "annotators_per_task must be a whole number >= 1, not 0"),
    ("annotators_per_task: two\n", "annotators_per_task must be a whole number >= 1, not 'two'"),
    ("allow_skip: maybe\n", "allow_skip must be true or false, not 'maybe'"),
    ("overlap: 2\n", "unknown setting 'overlap'"),
    ("allow_skip: true\nshow_predictions: [\n", ":3: not YAML"),
    ("- 2\n", "expected a mapping of settings"),
])
def test_bad_settings_are_one_line_and_start_nothing(tmp_path, text, message):
    path = tmp_path / "project.yaml"
    path.write_text(text, encoding="utf-8")
    for verb in (["ls", "up", "--state-dir", tmp_path / "state", "--ls-venv", tmp_path],
                 ["ls", "push", ROOT / "tests/fixtures/exports/real_export.json", "--state-dir", tmp_path / "state"]):
        result = run(*verb, "--settings", path)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert result.output.startswith(f"stancekit: {path}") and message in result.output
    assert not (tmp_path / "state").exists()


def test_database_urls_become_label_studio_settings_and_never_show_the_password(tmp_path):
    assert labelstudio.database_env("postgresql://ls:s3cr%40t@db.example.org:6543/labels") == {
        "DJANGO_DB": "default", "POSTGRE_NAME": "labels", "POSTGRE_USER": "ls", "POSTGRE_PASSWORD": "s3cr@t",
        "POSTGRE_HOST": "db.example.org", "POSTGRE_PORT": "6543"}
    socket_dir = labelstudio.database_env("postgresql://ls:pw@/labels?host=/run/PostgreSQL")
    assert (socket_dir["POSTGRE_HOST"], socket_dir["POSTGRE_PORT"]) == ("/run/PostgreSQL", "5432")
    assert labelstudio.database_env("postgresql://ls@%2Frun%2FPG/labels")["POSTGRE_HOST"] == "/run/PG"
    assert labelstudio.redact("postgresql://ls:s3cr%40t@db:6543/labels") == "postgresql://ls:***@db:6543/labels"
    for bad in ("mysql://ls:hunter2@db/labels", "postgresql://ls:hunter2@db/", "postgresql://ls:hunter2@db:99999/x"):
        result = run("ls", "up", "--state-dir", tmp_path, "--database", bad, "--ls-venv", tmp_path)
        assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
        assert "--database postgresql://ls:***@" in result.output or "--database mysql://ls:***@" in result.output
        assert "hunter2" not in result.output
    assert not (tmp_path / "database.url").exists()


def test_status_report_counts_and_draws_the_campaign():
    status = {"project": "p", "project_id": 3, "target": 2, "tasks": 4, "tasks_by_submitted": {"0": 1, "1": 1, "2+": 2},
              "submitted": 5, "needed": 8, "progress": 5 / 8,
              "annotators": [{"email": "a@x.org", "submitted": 3, "skipped": 1, "drafts": 0}],
              "documents_short": [{"doc_id": "doc_1", "tasks": 2, "tasks_short": 2, "fewest_submitted": 0}]}
    text = labelstudio.format_status(status)
    assert "[###################-----------]  62%  5/8 annotations" in text
    assert "tasks by submitted annotations: 0: 1, 1: 1, 2+: 2" in text
    assert "doc_1: 2/2 task(s) short, fewest submitted 0" in text
    assert labelstudio.progress_bar(0.0, 4) == "[----]   0%" and labelstudio.progress_bar(1.0, 4) == "[####] 100%"


# --- a team on a shared Label Studio backed by PostgreSQL ------------------------------------

def log_in(base_url: str, email: str, password: str) -> httpx.Client:
    """A browser-like session through Label Studio's login form; fails unless the password works."""
    web = httpx.Client(base_url=base_url, timeout=60)
    web.get("/user/login/")
    reply = web.post("/user/login/", data={"csrfmiddlewaretoken": web.cookies["csrftoken"], "email": email,
                                          "password": password})
    assert reply.status_code == 302, f"{email} could not log in with the printed password"
    return web


def passwords_in(output: str) -> dict[str, str]:
    """{email: password} from the output of `ls users add`."""
    found = {}
    for line in output.splitlines():
        if ": created; password " in line:
            email, rest = line.split(": created; password ", 1)
            found[email] = rest.split()[0]
    return found


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_ls_up_on_postgresql_applies_the_settings_and_remembers_the_database(label_studio_pg, postgres_url, tmp_path):
    """`ls up --database` starts a second Label Studio process on the session's PostgreSQL
    database (already migrated: a restart, not a first start), then again without --database."""
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy2(label_studio_pg.state_dir / "credentials.json", state / "credentials.json")
    (state / "password-shown").touch()
    port = labelstudio.free_port()
    db_password = labelstudio.database_env(postgres_url)["POSTGRE_PASSWORD"]
    title = f"team up {uuid.uuid4().hex[:6]}"
    outputs = []
    try:
        started = time.monotonic()
        up = run("ls", "up", "--state-dir", state, "--port", port, "--database", postgres_url, "--project", title)
        outputs.append(up.output)
        assert up.exit_code == 0, up.output + (state / "server.log").read_text(errors="replace")[-2000:]
        print(f"[measured] ls up on PostgreSQL (migrated database): {time.monotonic() - started:.1f} s")
        assert " on PostgreSQL postgresql://stancekit:***@/labelstudio?host=" in up.output
        assert "created" in up.output and "(2 annotator(s) per task)" in up.output
        assert stat.S_IMODE((state / "database.url").stat().st_mode) == 0o600
        project = label_studio_pg.client.projects.get(id=labelstudio.Client(
            label_studio_pg.base_url, label_studio_pg.token).project_id(title))
        assert (project.maximum_annotations, project.overlap_cohort_percentage, project.show_collab_predictions,
                project.show_skip_button) == (2, 100, True, True)
        outputs.append(run("ls", "down", "--state-dir", state).output)
        again = run("ls", "up", "--state-dir", state, "--port", port, "--project", title)
        outputs.append(again.output)
        assert again.exit_code == 0, again.output  # the same port at once: its old connections do not hold it
        assert " on PostgreSQL " in again.output and "unchanged" in again.output
    finally:
        outputs.append(run("ls", "down", "--state-dir", state).output)
    for secret in (db_password, label_studio_pg.token, label_studio_pg.password):
        assert not [o for o in outputs if secret in o]
        assert secret not in (state / "server.log").read_text(errors="replace")


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_a_team_on_postgresql_labels_every_task_twice(label_studio_pg, article_tasks, tmp_path):
    """Push and pull through --url with the token from the environment; two accounts from
    `ls users add` log in with their printed passwords and label through the API as themselves;
    the labeling stream serves each task to both; `ls status` follows along."""
    server = label_studio_pg
    env = {"LABEL_STUDIO_API_KEY": server.token}
    title = f"team {uuid.uuid4().hex[:6]}"
    tasks = article_tasks[:3]
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write(tasks, tasks_file)
    client = labelstudio.Client(server.base_url, server.token)
    project_id, _ = labelstudio.ensure_project(client, title, LABEL_CONFIG)  # Label Studio's defaults: 1 per task
    remote = ["--url", server.base_url, "--project", title]

    pushed = run("ls", "push", tasks_file, *remote, env=env)
    assert pushed.exit_code == 0, pushed.output
    assert "project settings updated: maximum_annotations, show_collab_predictions, show_skip_button" in pushed.output \
        or "project settings updated: maximum_annotations" in pushed.output
    assert "imported 3 new tasks" in pushed.output
    again = run("ls", "push", tasks_file, *remote, env=env)
    assert again.exit_code == 0 and "settings" not in again.output and "imported 0 new tasks; 3 already" in again.output
    assert [t.overlap for t in server.client.tasks.list(project=project_id, fields="all")] == [2, 2, 2]

    emails = [f"ann{n}-{uuid.uuid4().hex[:6]}@team.example.org" for n in (1, 2)]
    added = run("ls", "users", "add", *emails, "--url", server.base_url, env=env)
    assert added.exit_code == 0, added.output
    passwords = passwords_in(added.output)
    assert sorted(passwords) == sorted(emails)
    rerun = run("ls", "users", "add", emails[0], "--url", server.base_url, env=env)
    assert rerun.exit_code == 0 and f"{emails[0]}: exists already, unchanged" in rerun.output
    assert "password" not in rerun.output
    listed = run("ls", "users", "list", "--format", "json", "--url", server.base_url, env=env)
    assert set(emails) <= {u["email"] for u in json.loads(listed.output)}

    def status() -> dict:
        result = run("ls", "status", "--format", "json", *remote, env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    before = status()
    docs = sorted({t["data"]["doc_id"] for t in tasks})
    assert (before["tasks"], before["tasks_by_submitted"], before["progress"]) == (3, {"0": 3, "1": 0, "2+": 0}, 0.0)
    assert [d["doc_id"] for d in before["documents_short"]] == docs

    by_key = {labelstudio.task_key(t): (i, t) for i, t in enumerate(tasks)}
    served = {}
    for n, email in enumerate(emails):
        web = log_in(server.base_url, email, passwords[email])  # the printed password works
        token = web.get("/api/current-user/token").json()["token"]
        api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Token {token}"}, timeout=60)
        served[email] = []
        while (reply := api.get(f"/api/projects/{project_id}/next")).status_code == 200:
            task = reply.json()
            index, sent = by_key[labelstudio.task_key(task)]
            served[email].append(task["id"])
            if n == 1 and index == 2:  # the second annotator skips the last task
                made = api.post(f"/api/tasks/{task['id']}/annotations/", json={"result": [], "was_cancelled": True})
            else:
                made = api.post(f"/api/tasks/{task['id']}/annotations/",
                                json={"result": fixture_script.annotation_result(sent, index, n, TAXONOMY)})
            assert made.status_code == 201, made.text
            assert len(served[email]) <= 3, "the stream served a task twice to one annotator"
        assert reply.status_code == 404, reply.text  # nothing left for this annotator
        if n == 0:  # a draft left open: autosaved, not submitted
            first = served[email][0]
            api.post(f"/api/tasks/{first}/drafts", json={"result": [], "lead_time": 1.0}).raise_for_status()
        web.close()
        api.close()
    assert sorted(served[emails[0]]) == sorted(served[emails[1]]) and len(served[emails[0]]) == 3

    after = status()
    assert after["tasks_by_submitted"] == {"0": 0, "1": 1, "2+": 2}
    assert (after["submitted"], after["needed"]) == (5, 6)
    people = {a["email"]: a for a in after["annotators"]}
    assert people[emails[0]] == {"email": emails[0], "submitted": 3, "skipped": 0, "drafts": 1}
    assert people[emails[1]] == {"email": emails[1], "submitted": 2, "skipped": 1, "drafts": 0}
    assert [d["doc_id"] for d in after["documents_short"]] == [tasks[2]["data"]["doc_id"]]
    text = run("ls", "status", *remote, env=env)
    assert "campaign [#########################-----]  83%  5/6 annotations" in text.output

    pulled = run("ls", "pull", "--out-dir", tmp_path / "exports", *remote, env=env)
    assert pulled.exit_code == 0, pulled.output
    export_path = Path(pulled.output.split("wrote ", 1)[1].strip())
    for _, task in exports.iter_tasks(export_path):
        index, _ = by_key[labelstudio.task_key(task)]
        done = sorted(a["completed_by"]["email"] for a in task["annotations"] if not a["was_cancelled"])
        assert done == (sorted(emails) if index < 2 else [emails[0]])
    for result in (pushed, added, listed, text, pulled):
        assert server.token not in result.output


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_an_account_label_studio_refuses_is_one_line(label_studio_pg):
    env = {"LABEL_STUDIO_API_KEY": label_studio_pg.token}
    result = run("ls", "users", "add", "not-an-email", "--url", label_studio_pg.base_url, env=env)
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "refused the account not-an-email: " in result.output and "valid email" in result.output
