"""Secrets never appear in logs, exceptions, CLI output or committed files: the Label Studio API
token, the database password of a team server, the organization's invite token, and the
annotators' passwords (printed once by `ls users add`, and nowhere else)."""

from __future__ import annotations

import http.server
import logging
import re
import subprocess
import threading
import traceback
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from stancekit import labelstudio, taxonomy
from stancekit import tasks as tasks_mod
from stancekit.cli import main
from test_faults_labelstudio import FailingProxy, fixture_script

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")


@pytest.mark.labelstudio
def test_the_token_is_in_no_output_log_exception_or_file(label_studio, documents_parquet, tmp_path, caplog):
    """Every `stancekit ls` path, good and failing, with all loggers at DEBUG: grep for the token."""
    caplog.set_level(logging.DEBUG)
    token, wrong = label_studio.token, "5ec7e7" * 6 + "dead"  # the real token, and one the server refuses
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write(fixture_script.make_tasks(documents_parquet, TAXONOMY)[:2], tasks_file)
    state = ["--state-dir", label_studio.state_dir, "--project", "secrets"]
    nobody = f"http://{labelstudio.HOST}:{labelstudio.free_port()}"
    proxy = http.server.ThreadingHTTPServer((labelstudio.HOST, 0), type("Handler", (FailingProxy,), {
        "upstream": label_studio.base_url, "rules": [["POST", "/import", 0, None], ["GET", "/download", 0, None]],
        "failed": []}))
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    failing = f"http://{labelstudio.HOST}:{proxy.server_address[1]}"
    runs = [  # (arguments, environment, expected exit code)
        (["ls", "up", *state, "--config", ROOT / "schema/labeling-config.xml"], {}, 0),
        (["ls", "push", tasks_file, *state], {}, 0),
        (["ls", "pull", "--out-dir", tmp_path / "exports", *state], {}, 0),
        (["ls", "push", tasks_file, "--url", label_studio.base_url, "--project", "secrets"],
         {"LABEL_STUDIO_API_KEY": token}, 0),
        (["ls", "pull", "--url", label_studio.base_url, "--project", "secrets", "--out-dir", tmp_path / "exports"],
         {"LABEL_STUDIO_API_KEY": wrong}, 1),  # 401
        (["ls", "push", tasks_file, "--url", nobody, "--project", "secrets"], {"LABEL_STUDIO_API_KEY": token}, 1),
        (["ls", "push", tasks_file, "--url", failing, "--project", "secrets 500"], {"LABEL_STUDIO_API_KEY": token}, 1),
        (["ls", "pull", "--url", failing, "--project", "secrets", "--out-dir", tmp_path / "exports"],
         {"LABEL_STUDIO_API_KEY": token}, 1),
        (["ls", "pull", *state[:2], "--project", "no such project", "--out-dir", tmp_path / "exports"], {}, 1),
    ]
    labelstudio.ensure_project(labelstudio.Client(label_studio.base_url, token), "secrets 500",
                               (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8"))
    try:
        shown = []
        for args, env, code in runs:
            result = CliRunner().invoke(main, [str(a) for a in args], env=env)
            assert result.exit_code == code, (args, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit)
            shown.append(result.output)
        errors = []
        for url, key in ((label_studio.base_url, wrong), (nobody, token), (failing, token)):
            client = labelstudio.Client(url, key)
            for call in (lambda: labelstudio.push(client, client.project_id("secrets 500"), tasks_mod.read(tasks_file)),
                         lambda: labelstudio.pull(client, client.project_id("secrets"), tmp_path / "exports")):
                with pytest.raises(labelstudio.LabelStudioError) as err:
                    call()
                errors.append("".join(traceback.format_exception(err.value)) + repr(err.value))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert len(errors) == 6 and all("LabelStudioError" in e for e in errors)
    logged = caplog.text + "".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    logged += label_studio.log_path.read_text(encoding="utf-8", errors="replace")  # the server's log in the state dir
    assert "HTTP Request" in logged  # the HTTP traffic was logged, and would show a token in its URL
    files = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "exports").iterdir())
    committed = b"".join(p.read_bytes() for p in tracked_files()).decode("utf-8", errors="replace")
    for secret in (token, wrong):
        for what, text in (("CLI output", "".join(shown)), ("exception", "".join(errors)), ("log", logged),
                           ("export", files), ("committed file", committed)):
            assert secret not in text, f"the token appears in a {what}"


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_committed_file_holds_a_token_and_the_state_dir_is_ignored():
    """Credentials live in .labelstudio/ (git-ignored); no tracked file holds the local token."""
    tracked = tracked_files()
    assert tracked and not [p for p in tracked if p.name in ("credentials.json", "database.url")]
    for secret_file in (".labelstudio/credentials.json", ".labelstudio/database.url"):
        ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", secret_file], cwd=ROOT)
        assert ignored.returncode == 0, f"add .labelstudio/ to .gitignore: {secret_file} holds a secret"
    if (ROOT / ".labelstudio/credentials.json").exists():  # a developer's own Label Studio
        token = labelstudio.load_credentials(ROOT / ".labelstudio").token.encode()
        assert not [p for p in tracked if token in p.read_bytes()]


@pytest.mark.labelstudio
@pytest.mark.postgres
def test_team_secrets_are_in_no_log_file_or_other_output(label_studio_pg, postgres_url, tmp_path, caplog, capsys):
    """On the PostgreSQL-backed server, every team verb (`ls users add/list`, `ls status`, `ls push`,
    `ls pull`, over --url; `ls up --database`, refused), good and failing, with all loggers at DEBUG.
    Each annotator's password shows exactly once, in the output of the `ls users add` that made it."""
    caplog.set_level(logging.DEBUG)
    server = label_studio_pg
    token, wrong = server.token, "0badc0de" * 5
    db_password = labelstudio.database_env(postgres_url)["POSTGRE_PASSWORD"]
    first_invite = server.client.organizations.invites.get_invite_link().token
    title = f"secrets team {uuid.uuid4().hex[:6]}"
    labelstudio.ensure_project(labelstudio.Client(server.base_url, token), title,
                               (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8"))
    tasks_file = tmp_path / "tasks.json"
    tasks_mod.write([{"data": {"doc_id": "doc_secret", "chunk": 0, "text": "Peskov said: no ceasefire yet."}}], tasks_file)
    emails = [f"secret{n}-{uuid.uuid4().hex[:6]}@team.example.org" for n in (1, 2)]
    remote = ["--url", server.base_url]
    runs = [  # (arguments, token, expected exit code)
        (["ls", "users", "add", *emails, *remote], token, 0),
        (["ls", "users", "add", *emails, *remote], token, 0),  # exist already: no password
        (["ls", "users", "add", "x@team.example.org", *remote], wrong, 1),
        (["ls", "users", "list", *remote], token, 0),
        (["ls", "push", tasks_file, *remote, "--project", title], token, 0),
        (["ls", "status", *remote, "--project", title], token, 0),
        (["ls", "status", "--format", "json", *remote, "--project", title], wrong, 1),
        (["ls", "pull", "--out-dir", tmp_path / "exports", *remote, "--project", title], token, 0),
        (["ls", "up", "--state-dir", tmp_path / "state", "--database", postgres_url.replace("/labelstudio?", "/?"),
          "--ls-venv", tmp_path], token, 1),  # a URL without a database name
    ]
    shown = []
    for args, key, code in runs:
        result = CliRunner().invoke(main, [str(a) for a in args], env={"LABEL_STUDIO_API_KEY": key})
        assert result.exit_code == code, (args[:3], result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        shown.append(result.output)
    passwords = [line.split(": created; password ", 1)[1].split()[0]
                 for line in shown[0].splitlines() if ": created; password " in line]
    assert len(passwords) == 2
    logged = caplog.text + "".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert "HTTP Request" in logged and "/user/signup/" not in logged  # our side never logs the invite link
    server_log = server.log_path.read_text(encoding="utf-8", errors="replace")
    # Label Studio's access log shows each invite link used; `ls users add` resets the token after use.
    used = set(re.findall(r"/user/signup/\?token=(\w+)", server_log))
    invite = server.client.organizations.invites.get_invite_link().token  # the live one
    assert used and first_invite in used and invite not in used
    logged += server_log
    files = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "exports").iterdir())
    files += "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*") if p.is_file()
                     and p.suffix != ".url")  # state/database.url is not written for a refused URL; checked below
    committed = b"".join(p.read_bytes() for p in tracked_files()).decode("utf-8", errors="replace")
    captured = capsys.readouterr()
    for secret in (token, wrong, db_password, invite, *passwords):
        for what, text in (("log", logged), ("file", files), ("committed file", committed),
                           ("test output", captured.out + captured.err)):
            assert secret not in text, f"a secret appears in a {what}"
    for secret in (token, wrong, db_password, invite):
        assert secret not in "".join(shown), "a token or the database password appears in CLI output"
    for password in passwords:
        assert [o.count(password) for o in shown] == [1] + [0] * (len(shown) - 1)
    assert not (tmp_path / "state" / "database.url").exists()
