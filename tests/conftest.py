"""Shared fixtures: the bundled articles as a documents table, and a real Label Studio server."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from label_studio_sdk import LabelStudio

from postgres import throwaway_cluster
from stancekit import labelstudio

ROOT = Path(__file__).resolve().parents[1]

# Hypothesis examples for tests that do not fix their own number (the fuzz tests): a quick run
# locally, thousands in CI (.ci/run sets HYPOTHESIS_PROFILE=ci).
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=2500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
RAW = sorted((ROOT / "dataset/raw").glob("*.txt"))


@pytest.fixture(scope="session")
def documents_parquet(tmp_path_factory) -> Path:
    """The bundled articles ingested afresh by `stancekit ingest` (never build/ from an earlier run)."""
    from click.testing import CliRunner

    from stancekit.cli import main

    path = tmp_path_factory.mktemp("documents") / "documents.parquet"
    result = CliRunner().invoke(main, ["ingest", *map(str, RAW), "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


@dataclass
class LabelStudioServer:
    """A running Label Studio: `client` is a label_studio_sdk.LabelStudio logged in as the admin."""

    base_url: str
    token: str
    email: str
    password: str
    port: int
    state_dir: Path  # holds credentials.json and server.json, as `stancekit ls up` would write them
    log_path: Path
    client: LabelStudio
    start_seconds: float


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> LabelStudioServer:
    """A real Label Studio 1.23 on 127.0.0.1 for the whole test session.

    Started with `stancekit.labelstudio.start_server` on a free port, with a temporary HOME and
    data dir, a preset admin and a legacy API token (enabled on this first start); waits on
    /health/ and is stopped at the end. The first start runs migrations: about 70 s.

    Label Studio comes from STANCEKIT_LS_VENV or ./.venv-ls (`make ls-install`; `make test`
    installs it). Tests using it are marked `@pytest.mark.labelstudio`; they should create their
    own project (`label_studio.client.projects.create(...)`) so that they do not see each
    other's tasks. For the CLI, pass `--state-dir label_studio.state_dir`. The browser can log
    in at `base_url + "/user/login/"` with `email` / `password`.
    """
    yield from _session_server("stancekit-ls-", "Label Studio")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL for the session: a throwaway cluster on a unix socket (tests/postgres.py),
    with one database; its URL carries a random password. Removed at the end."""
    try:
        with throwaway_cluster() as url:
            yield url
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def label_studio_pg(postgres_url) -> LabelStudioServer:
    """A second real Label Studio for the session, on PostgreSQL (`postgres_url`): the team setup.

    Started like `label_studio` (same shape, a first start: about 70 s of migrations, once per
    session); `database_url` is the URL it runs on. Tests marked `@pytest.mark.postgres`.
    """
    yield from _session_server("stancekit-lspg-", "Label Studio (PostgreSQL)", database=postgres_url)


def _session_server(prefix: str, name: str, database: str | None = None):
    """Start a throwaway Label Studio in a fresh state dir (short path, outside the repo), yield it as a
    LabelStudioServer, stop it and remove the dir (kept with STANCEKIT_KEEP_LS_LOG set)."""
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    started = time.monotonic()
    try:
        with labelstudio.temporary_server(state_dir, database=database) as (server, creds):
            yield LabelStudioServer(base_url=server.url, token=creds.token, email=creds.email, password=creds.password,
                                    port=server.port, state_dir=state_dir, log_path=state_dir / "server.log",
                                    client=LabelStudio(base_url=server.url, api_key=creds.token),
                                    start_seconds=time.monotonic() - started)
    except labelstudio.LabelStudioError as exc:
        pytest.fail(str(exc))
    finally:
        if os.environ.get("STANCEKIT_KEEP_LS_LOG"):
            print(f"{name} log kept in {state_dir / 'server.log'}")
        else:
            shutil.rmtree(state_dir, ignore_errors=True)
