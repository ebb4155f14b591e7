"""The Label Studio API token never appears in logs, exceptions, CLI output or committed files."""

from __future__ import annotations

import http.server
import logging
import subprocess
import threading
import traceback
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
            for call in (lambda c=client: labelstudio.push(c, c.project_id("secrets 500"), tasks_mod.read(tasks_file)),
                         lambda c=client: labelstudio.pull(c, c.project_id("secrets"), tmp_path / "exports")):
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
    assert tracked and not [p for p in tracked if p.name == "credentials.json"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", ".labelstudio/credentials.json"], cwd=ROOT)
    assert ignored.returncode == 0, "add .labelstudio/ to .gitignore: it holds the API token"
    if (ROOT / ".labelstudio/credentials.json").exists():  # a developer's own Label Studio
        token = labelstudio.load_credentials(ROOT / ".labelstudio").token.encode()
        assert not [p for p in tracked if token in p.read_bytes()]
