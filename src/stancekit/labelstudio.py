"""Run a local Label Studio and move tasks into it and exports out of it (label-studio-sdk 2.x).

Label Studio lives in its own virtual environment (`make ls-install`, or STANCEKIT_LS_VENV
pointing at an existing one). `up` starts it on 127.0.0.1 with a preset admin and a legacy
API token, generated once into `.labelstudio/credentials.json` (mode 600, outside git), and
creates or updates the project from the labeling config, checking the new config against
the annotations already stored first. `push` imports tasks keyed by (doc_id, chunk), so
re-running it, even after an interrupted run, imports only what is missing. `pull` writes a
snapshot export with full predictions. The project's distribution settings (annotators per
task, predictions shown, skipping) come from one file, `schema/labelstudio-project.yaml`, and
are applied by `up` and `push`. `add_user` creates annotator accounts through the
organization's invite link; `campaign_status` reports how far labeling has got. The server
runs on SQLite in its data dir, or on PostgreSQL (`database=` a `postgresql://` URL). Errors
are `LabelStudioError`, one line each, never showing the token or a password.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import yaml
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from . import config as config_mod
from . import paths
from . import tasks as tasks_mod
from ._files import atomic_path, write_text
from .errors import InputError, StancekitError

LS_VERSION = "1.23.2"
HOST = "127.0.0.1"
DEFAULT_STATE_DIR = paths.LS_STATE_DIR
DEFAULT_LS_VENV = paths.LS_VENV
DEFAULT_EXPORT_DIR = paths.EXPORTS_DIR
DEFAULT_SETTINGS = paths.LS_PROJECT_SETTINGS
START_TIMEOUT = 600.0  # seconds; a first start runs the migrations (~70 s on 2 cores, more when busy)
IMPORT_BATCH = 500
IMPORT_ATTEMPTS = 4
DOWNLOAD_ATTEMPTS = 3  # the SDK does not retry a streamed download itself


class LabelStudioError(StancekitError, RuntimeError):
    """Something went wrong talking to or running Label Studio; the message is one line."""


# --- credentials and state -------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    email: str
    password: str
    token: str


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically (temp file, then rename)."""
    write_text(path, text, mode=0o600)


def new_credentials() -> Credentials:
    # A legacy Label Studio token is at most 40 characters.
    return Credentials(email="admin@stancekit.local", password=secrets.token_urlsafe(12), token=secrets.token_hex(20))


def load_credentials(state_dir: Path) -> Credentials:
    """The credentials stored in state_dir; raises LabelStudioError when they cannot be read."""
    path = state_dir / "credentials.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(email=raw["email"], password=raw["password"], token=raw["token"])
    except FileNotFoundError:
        raise LabelStudioError(f"{path} not found: run `stancekit ls up` first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabelStudioError(f"{path}: unreadable credentials ({type(exc).__name__}); delete {state_dir} to start over") from None


def ensure_credentials(state_dir: Path) -> tuple[Credentials, bool]:
    """The stored credentials, or new ones written once; True when they were just created.
    Raises LabelStudioError when stored ones cannot be read."""
    if (state_dir / "credentials.json").exists():
        return load_credentials(state_dir), False
    if (state_dir / "data").exists():
        raise LabelStudioError(
            f"{state_dir / 'data'} exists but {state_dir / 'credentials.json'} is gone: "
            f"its admin cannot be recovered; move {state_dir} away to start over")
    creds = new_credentials()
    _write_private(state_dir / "credentials.json", json.dumps(asdict(creds), indent=2) + "\n")
    return creds, True


def first_showing(state_dir: Path) -> bool:
    """True the first time it is asked for this state dir: the password is shown once, after a successful start."""
    marker = state_dir / "password-shown"
    if marker.exists():
        return False
    marker.touch()
    return True


# --- the server process ----------------------------------------------------------------

def ls_executable(ls_venv: str | Path | None = None) -> Path:
    """The `label-studio` program of the dedicated virtual environment; raises LabelStudioError when
    it is not installed there."""
    venv = Path(ls_venv or os.environ.get("STANCEKIT_LS_VENV") or DEFAULT_LS_VENV)
    exe = venv / "bin" / "label-studio"
    if not exe.exists():
        raise LabelStudioError(f"Label Studio is not installed in {venv}: run `make ls-install` or set STANCEKIT_LS_VENV")
    return exe


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether nothing listens on host:port. SO_REUSEADDR as the server itself sets it: connections
    of a server stopped a moment ago (TIME_WAIT) do not make the port taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def database_env(url: str) -> dict[str, str]:
    """Label Studio's environment for a PostgreSQL database given as a libpq-style URL.

    `postgresql://USER:PASSWORD@HOST:PORT/NAME`; a unix socket directory goes in `?host=/dir`
    or percent-encoded as the host. Returns DJANGO_DB and the POSTGRE_* variables Label Studio
    reads. Raises LabelStudioError (without the password) when the URL is not of that form.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise LabelStudioError(f"--database {redact(url)}: not a URL") from None
    name = unquote(parts.path.lstrip("/"))
    if parts.scheme not in ("postgresql", "postgres") or not name or "/" in name:
        raise LabelStudioError(f"--database {redact(url)}: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    netloc_host = parts.netloc.rpartition("@")[2]  # as written: hostname would lower-case a socket path
    netloc_host = netloc_host[:-len(f":{port}")] if port else netloc_host.rstrip(":")
    host = (parse_qs(parts.query).get("host") or [unquote(netloc_host).strip("[]") or "localhost"])[-1]
    return {"DJANGO_DB": "default", "POSTGRE_NAME": name, "POSTGRE_USER": unquote(parts.username or "postgres"),
            "POSTGRE_PASSWORD": unquote(parts.password or ""), "POSTGRE_HOST": host, "POSTGRE_PORT": str(port or 5432)}


def redact(url: str) -> str:
    """A database URL fit to show: the password replaced by ***."""
    return re.sub(r"(//[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)


def remember_database(state_dir: Path, url: str | None) -> str | None:
    """The database to run on: `url` (then recorded in state_dir, mode 600, for later starts), or
    the one recorded earlier, or None (SQLite in the data dir)."""
    path = state_dir / "database.url"
    if url:
        database_env(url)  # refuse a malformed URL before recording it
        _write_private(path, url + "\n")
        return url
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def start_server(executable: Path, port: int, data_dir: Path, home: Path, creds: Credentials,
                 log_path: Path, database: str | None = None) -> subprocess.Popen:
    """Start Label Studio on 127.0.0.1:port in its own process group; output goes to log_path.

    HOME is redirected too: Label Studio writes ~/.local/share/label-studio whatever its data dir.
    Legacy tokens are enabled, which must happen on the first start of a data dir (or database).
    `database`: a postgresql:// URL (see `database_env`); None keeps SQLite in data_dir. Raises
    LabelStudioError when the port is taken by another program.
    """
    if not port_is_free(port):
        # Label Studio would silently move to the next port; refuse instead.
        raise LabelStudioError(f"port {port} on {HOST} is taken by another program: choose another with --port")
    for d in (data_dir, home, log_path.parent):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": creds.email,
        "LABEL_STUDIO_PASSWORD": creds.password,
        "LABEL_STUDIO_USER_TOKEN": creds.token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        **(database_env(database) if database else {}),
    }
    args = [str(executable), "start", "--no-browser", "--internal-host", HOST, "--port", str(port)]
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def is_healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/", timeout=5).json().get("status") == "UP"
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = START_TIMEOUT,
                 log_path: Path | None = None) -> float:
    """Poll /health/ until it answers UP; return the seconds waited. Raises LabelStudioError when the
    process exits or the timeout passes first."""
    started = time.monotonic()
    while not is_healthy(url):
        if proc is not None and proc.poll() is not None:
            raise LabelStudioError(f"Label Studio exited with code {proc.returncode} while starting; see {log_path or 'its log'}")
        if time.monotonic() - started > timeout:
            raise LabelStudioError(f"Label Studio at {url} not healthy after {timeout:.0f} s; see {log_path or 'its log'}")
        time.sleep(1)
    return time.monotonic() - started


def stop_server(pid: int, timeout: float = 30.0) -> None:
    """Stop the process group that `start_server` created (SIGTERM, then SIGKILL)."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    port: int


def read_server(state_dir: Path) -> Server | None:
    try:
        raw = json.loads((state_dir / "server.json").read_text(encoding="utf-8"))
        return Server(url=raw["url"], pid=int(raw["pid"]), port=int(raw["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    """Whether pid runs, and (where /proc tells) runs Label Studio rather than a process that reused the pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"label-studio" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


@contextmanager
def temporary_server(state_dir: Path, ls_venv: str | Path | None = None,
                     database: str | None = None) -> Iterator[tuple[Server, Credentials]]:
    """A throwaway Label Studio on a free loopback port, with its data and HOME in state_dir
    (and its database on PostgreSQL when `database` is a postgresql:// URL).

    For tests and scripts: waits on /health/, records the server in state_dir/server.json (so the
    CLI's `--state-dir` finds it), and stops it on exit. The caller removes state_dir.
    """
    creds, _ = ensure_credentials(state_dir)
    port = free_port()
    log_path = state_dir / "server.log"
    proc = start_server(ls_executable(ls_venv), port, state_dir / "data", state_dir / "home", creds, log_path,
                        database)
    server = Server(url=f"http://{HOST}:{port}", pid=proc.pid, port=port)
    write_text(state_dir / "server.json", json.dumps(asdict(server)) + "\n")
    try:
        wait_healthy(server.url, proc, log_path=log_path)
        yield server, creds
    finally:
        stop_server(proc.pid)


def ensure_server(state_dir: Path, port: int, creds: Credentials, ls_venv: str | Path | None = None,
                  say: Callable[[str], None] = lambda s: None, database: str | None = None) -> tuple[Server, bool]:
    """The running server recorded in state_dir, or a new one (on `database`, a postgresql:// URL,
    else SQLite in state_dir/data); True when it was just started. Raises LabelStudioError when it
    cannot be started or does not become healthy."""
    running = read_server(state_dir)
    if running and _pid_alive(running.pid):  # started earlier, perhaps still starting
        wait_healthy(running.url, log_path=state_dir / "server.log")
        return running, False
    if not port_is_free(port):
        raise LabelStudioError(f"port {port} on {HOST} is taken by another program: choose another with --port")
    exe = ls_executable(ls_venv)
    url = f"http://{HOST}:{port}"
    log_path = state_dir / "server.log"
    proc = start_server(exe, port, state_dir / "data", state_dir / "home", creds, log_path, database)
    server = Server(url=url, pid=proc.pid, port=port)
    _write_private(state_dir / "server.json", json.dumps(asdict(server)) + "\n")
    on = f"PostgreSQL {redact(database)}" if database else f"SQLite in {state_dir / 'data'}"
    say(f"starting Label Studio {LS_VERSION} at {url} on {on} (log: {log_path}) ...")
    try:
        waited = wait_healthy(url, proc, log_path=log_path)
    except LabelStudioError:
        stop_server(proc.pid)
        raise
    say(f"Label Studio is up after {waited:.0f} s")
    return server, True


def stop(state_dir: Path) -> bool:
    """Stop the server recorded in state_dir; False if none was running."""
    server = read_server(state_dir)
    (state_dir / "server.json").unlink(missing_ok=True)
    if server is None or not _pid_alive(server.pid):
        return False
    stop_server(server.pid)
    return True


# --- the API -------------------------------------------------------------------------------

def _reply_detail(exc: ApiError) -> str:
    """The useful part of an error reply, on one line (never the headers: they carry a session cookie)."""
    body = exc.body
    if isinstance(body, dict):
        detail = body.get("validation_errors") or body.get("detail") or body
        text = json.dumps(detail, ensure_ascii=False) if not isinstance(detail, str) else detail
    else:
        text = str(body)
    text = " ".join(text.replace("\\n", " ").split())
    return text[:300] + ("..." if len(text) > 300 else "")


def describe(exc: Exception, url: str, doing: str) -> LabelStudioError:
    """Turn an SDK or network exception into a one-line error."""
    if isinstance(exc, ApiError):
        if exc.status_code == 401:
            return LabelStudioError(f"Label Studio at {url} refused the API token (401) while {doing}: "
                                    f"check .labelstudio/credentials.json or LABEL_STUDIO_API_KEY")
        if exc.status_code == 403:
            return LabelStudioError(f"Label Studio at {url} denied access (403) while {doing}")
        return LabelStudioError(f"Label Studio at {url} answered {exc.status_code} while {doing}: {_reply_detail(exc)}")
    if isinstance(exc, httpx.ConnectError):
        return LabelStudioError(f"cannot connect to Label Studio at {url} while {doing} (connection refused): "
                                f"is it running? `stancekit ls up` starts it")
    if isinstance(exc, httpx.TimeoutException):
        return LabelStudioError(f"Label Studio at {url} did not answer in time while {doing}")
    if isinstance(exc, httpx.HTTPError):
        return LabelStudioError(f"network error talking to Label Studio at {url} while {doing}: {type(exc).__name__}")
    return LabelStudioError(f"unexpected reply from Label Studio at {url} while {doing}: {type(exc).__name__}")


class Client:
    """A thin wrapper over the SDK client: every call turns failures into LabelStudioError.

    Transient failures (connection errors, 5xx, 429) are retried with exponential backoff by
    the SDK itself (2 retries, 1 s then 2 s), except the task import, which `push` resumes by
    itself so that a batch is never imported twice, and the export download, which `pull`
    retries itself.
    """

    def __init__(self, url: str, token: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.sdk = LabelStudio(base_url=self.url, api_key=token, timeout=timeout)

    def call(self, doing: str, fn: Callable, *args, **kwargs):
        """fn(*args, **kwargs); an SDK or network error becomes a one-line LabelStudioError saying `doing`."""
        try:
            return fn(*args, **kwargs)
        except (ApiError, httpx.HTTPError) as exc:
            raise describe(exc, self.url, doing) from None

    def find_project(self, title: str):
        projects = self.call("listing projects", lambda: list(self.sdk.projects.list(title=title, page_size=100)))
        matches = sorted((p for p in projects if p.title == title), key=lambda p: p.id)
        return matches[0] if matches else None

    def project_id(self, title: str) -> int:
        """The id of the project titled `title`; raises LabelStudioError when there is none."""
        project = self.find_project(title)
        if project is None:
            raise LabelStudioError(f"no project {title!r} in Label Studio at {self.url}: run `stancekit ls up`")
        return project.id


def connect(state_dir: Path = DEFAULT_STATE_DIR, url: str | None = None) -> Client:
    """A client for the server in state_dir, or for `url` with the token in LABEL_STUDIO_API_KEY.
    Raises LabelStudioError when there is no server or token to use."""
    if url is not None and os.environ.get("LABEL_STUDIO_API_KEY"):
        return Client(url, os.environ["LABEL_STUDIO_API_KEY"])
    if url is None:
        server = read_server(state_dir)
        if server is None:
            raise LabelStudioError(f"no Label Studio recorded in {state_dir}: run `stancekit ls up` (or pass --url)")
        url = server.url
    return Client(url, load_credentials(state_dir).token)


# --- project settings ------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectSettings:
    """How the project distributes tasks (schema/labelstudio-project.yaml)."""

    annotators_per_task: int = 2  # each task is served until this many annotators submitted it
    show_predictions: bool = True  # annotators see the pre-annotations
    allow_skip: bool = True  # annotators may skip a task

    def fields(self) -> dict:
        """The Label Studio 1.23 project fields that carry these settings."""
        return {"maximum_annotations": self.annotators_per_task, "overlap_cohort_percentage": 100,
                "show_collab_predictions": self.show_predictions, "show_skip_button": self.allow_skip}


class SettingsError(LabelStudioError, InputError):
    """The project settings file is unreadable or names an unknown or ill-typed setting."""


def load_settings(path: Path = DEFAULT_SETTINGS) -> ProjectSettings:
    """Read the settings file; raises SettingsError naming the file and key when it is unusable."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the project settings ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        raise SettingsError(f"{path}{f':{where.line + 1}' if where else ''}: not YAML") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a mapping of settings")
    known = {f for f in ProjectSettings.__dataclass_fields__}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        if key == "annotators_per_task" and not (type(value) is int and value >= 1):
            raise SettingsError(f"{path}: annotators_per_task must be a whole number >= 1, not {value!r}")
        if key != "annotators_per_task" and type(value) is not bool:
            raise SettingsError(f"{path}: {key} must be true or false, not {value!r}")
    return ProjectSettings(**raw)


def apply_settings(client: Client, project, settings: ProjectSettings) -> list[str]:
    """Set the fields of `settings` that differ on the project (read with projects.get); the names changed."""
    changed = {k: v for k, v in settings.fields().items() if getattr(project, k, None) != v}
    if changed:
        client.call(f"updating the settings of project {project.id}", client.sdk.projects.update,
                    id=project.id, **changed)
    return sorted(changed)


def ensure_project(client: Client, title: str, label_config: str,
                   settings: ProjectSettings | None = None) -> tuple[int, str]:
    """Create the project, or update its config after Label Studio has validated it against the
    annotations already stored; then bring its distribution settings in line with `settings`
    (None: leave them alone). Returns (project id, "created" | "updated" | "unchanged").
    Raises LabelStudioError when Label Studio refuses the config or cannot be reached."""
    project = client.find_project(title)
    fields = settings.fields() if settings else {}
    if project is None:
        created = client.call("creating the project", client.sdk.projects.create, title=title,
                              label_config=label_config, **fields)
        return created.id, "created"
    current = client.call("reading the project", client.sdk.projects.get, id=project.id)
    changed = apply_settings(client, current, settings) if settings else []
    if (current.label_config or "").strip() == label_config.strip():  # Label Studio drops the final newline
        return project.id, "updated" if changed else "unchanged"
    # Label Studio's PATCH accepts a config that drops labels already used; its validator does not.
    client.call(f"checking the new labeling config against project {project.id}",
                client.sdk.projects.validate_label_config, id=project.id, label_config=label_config)
    client.call("updating the labeling config", client.sdk.projects.update, id=project.id, label_config=label_config)
    return project.id, "updated"


@dataclass
class Up:
    """What `up` did: the server, the project and what happened to it, and the admin's credentials
    (`show_password`: True the first time after a successful start, when the password is shown once)."""

    server: Server
    project_id: int
    what: str  # "created" | "updated" | "unchanged"
    creds: Credentials
    settings: ProjectSettings
    show_password: bool


def up(state_dir: Path, port: int, config_path: Path, title: str, settings_path: Path = DEFAULT_SETTINGS,
       ls_venv: str | Path | None = None, database: str | None = None,
       say: Callable[[str], None] = lambda s: None) -> Up:
    """Start Label Studio on 127.0.0.1 (unless it runs already) with the admin of state_dir, on
    `database` (a postgresql:// URL, remembered in state_dir) or SQLite; create or update the
    project `title` with the labeling config at config_path and the settings at settings_path.

    Raises InputError when the labeling config cannot be read, SettingsError for a bad settings
    file, LabelStudioError when the server cannot be started or refuses the project.
    """
    label_config = config_mod.read(config_path)
    settings = load_settings(settings_path)
    creds, _ = ensure_credentials(state_dir)
    database = remember_database(state_dir, database)
    server, _ = ensure_server(state_dir, port, creds, ls_venv, say=say, database=database)
    project_id, what = ensure_project(connect(state_dir), title, label_config, settings)
    return Up(server, project_id, what, creds, settings, first_showing(state_dir))


# --- tasks in ------------------------------------------------------------------------------

def task_key(task: dict) -> tuple[str, int | str]:
    """(doc_id, chunk): what makes a task unique in a project."""
    data = task.get("data") or {}
    chunk = data.get("chunk", 0)
    return str(data.get("doc_id")), chunk if isinstance(chunk, int) else str(chunk)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def existing_tasks(client: Client, project_id: int) -> dict[tuple[str, int | str], str]:
    """(doc_id, chunk) -> sha256 of the text, for every task already in the project."""
    tasks = client.call(f"listing the tasks of project {project_id}", lambda: list(
        client.sdk.tasks.list(project=project_id, fields="task_only", include="id,data", page_size=1000)))
    return {task_key({"data": t.data}): _text_digest(str((t.data or {}).get("text", ""))) for t in tasks}


@dataclass
class PushResult:
    imported: int  # new tasks in the project after this run
    already_there: int  # same key and same text: left alone
    conflicts: list[tuple[str, int | str]]  # same key, different text (re-chunked or edited document): left alone


def _transient(exc: ApiError | httpx.HTTPError) -> bool:
    """Worth retrying: a network error, a 5xx or a 429."""
    return not isinstance(exc, ApiError) or (exc.status_code or 0) >= 500 or exc.status_code == 429


def _batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def push(client: Client, project_id: int, tasks: list[dict], batch_size: int = IMPORT_BATCH,
         say: Callable[[str], None] = lambda s: None,
         progress: Callable[[int, int], None] | None = None) -> PushResult:
    """Import the tasks that are not in the project yet, keyed by (doc_id, chunk).

    `progress`, when given, is called with (tasks imported, tasks to import) after each batch.

    Each batch is one request, which Label Studio imports in one transaction. After a failed
    batch the project's keys are read again before retrying with backoff, so a batch that did
    land (only the reply was lost) is not imported twice; re-running after an interruption
    imports only what is still missing. Raises LabelStudioError when a batch still fails after
    the retries, or the project cannot be read.
    """
    keys = [task_key(t) for t in tasks]
    seen: set = set()
    for key in keys:
        if key in seen:
            raise LabelStudioError(f"the task file has two tasks with doc_id {key[0]!r} chunk {key[1]}")
        seen.add(key)
    texts = [_text_digest(str(t["data"].get("text", ""))) for t in tasks]
    before: dict | None = None
    for attempt in range(IMPORT_ATTEMPTS):
        existing = existing_tasks(client, project_id)
        if before is None:
            before = existing
        missing = [i for i, k in enumerate(keys) if k not in existing]
        doing = f"importing tasks into project {project_id}"
        try:
            for n, batch in enumerate(_batches(missing, batch_size), 1):
                doing = f"importing tasks #{batch[0]}..#{batch[-1]} (file order, from 0) into project {project_id}"
                client.sdk.projects.import_tasks(id=project_id, request=[tasks[i] for i in batch], return_task_ids=True,
                                                 request_options={"max_retries": 0})
                say(f"imported batch {n} ({len(batch)} tasks)")
                if progress is not None:
                    progress(min(n * batch_size, len(missing)), len(missing))
            break
        except (ApiError, httpx.HTTPError) as exc:
            if not _transient(exc) or attempt == IMPORT_ATTEMPTS - 1:
                raise describe(exc, client.url, doing) from None
            say(f"import failed ({describe(exc, client.url, 'importing').args[0]}); resuming in {2 ** attempt} s")
            time.sleep(2 ** attempt)
    before = before if before is not None else {}
    return PushResult(
        imported=sum(k not in before for k in keys),
        already_there=sum(before.get(k) == t for k, t in zip(keys, texts)),
        conflicts=[k for k, t in zip(keys, texts) if k in before and before[k] != t],
    )


# --- exports out ---------------------------------------------------------------------------

EXPORT_OPTIONS = {
    "predictions": {"only_id": False},  # the plain export gives prediction ids only
    "annotations__completed_by": {"only_id": False},  # the annotator's email, not just an id
}


def push_file(tasks_path: Path, title: str, state_dir: Path = DEFAULT_STATE_DIR, url: str | None = None,
              settings_path: Path = DEFAULT_SETTINGS, say: Callable[[str], None] = lambda s: None,
              progress: Callable[[int, int], None] | None = None) -> PushResult:
    """`ls push`: bring the project `title`'s settings in line with settings_path (saying which
    changed), then `push` the tasks of tasks_path (a file `stancekit tasks` writes).

    Raises SettingsError for a bad settings file, TasksError for a bad tasks file (both before
    the server is contacted), LabelStudioError when the server cannot be reached or has no such project.
    """
    settings = load_settings(settings_path)
    tasks = tasks_mod.read(tasks_path)
    client = connect(state_dir, url)
    project_id = client.project_id(title)
    changed = apply_settings(client, client.call("reading the project", client.sdk.projects.get, id=project_id),
                             settings)
    if changed:
        say(f"project settings updated: {', '.join(changed)}")
    return push(client, project_id, tasks, say=say, progress=progress)


def pull(client: Client, project_id: int, out_dir: Path = DEFAULT_EXPORT_DIR, timeout: float = 600.0,
         now: datetime | None = None, on_bytes: Callable[[int], None] | None = None) -> Path:
    """Write a snapshot JSON export of every task (with full predictions) to out_dir/<UTC time>.json.
    Raises LabelStudioError when the export fails or cannot be downloaded (nothing is written then).

    `on_bytes`, when given, is called with the size of each downloaded chunk."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    export = client.call("creating an export snapshot", client.sdk.projects.exports.create, id=project_id,
                         title=f"stancekit pull {stamp}", serialization_options=EXPORT_OPTIONS)
    deadline = time.monotonic() + timeout
    while export.status not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise LabelStudioError(f"export snapshot {export.id} of project {project_id} not ready after {timeout:.0f} s")
        time.sleep(0.5)
        export = client.call("waiting for the export snapshot", client.sdk.projects.exports.get,
                             id=project_id, export_pk=export.id)
    if export.status == "failed":
        raise LabelStudioError(f"Label Studio failed to build export snapshot {export.id} of project {project_id}")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{stamp}.json"
    n = 1
    while out.exists():
        n += 1
        out = out_dir / f"{stamp}-{n}.json"

    def download(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            for chunk in client.sdk.projects.exports.download(id=project_id, export_pk=export.id, export_type="JSON"):
                f.write(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))

    with atomic_path(out) as tmp:
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                download(tmp)
                break
            except (ApiError, httpx.HTTPError) as exc:
                if not _transient(exc) or attempt == DOWNLOAD_ATTEMPTS - 1:
                    raise describe(exc, client.url, "downloading the export") from None
                time.sleep(2 ** attempt)
    return out


# --- annotator accounts --------------------------------------------------------------------

PASSWORD_BYTES = 15  # secrets.token_urlsafe: 20 characters


def list_users(client: Client) -> list[dict]:
    """The organization's accounts, by id: [{"id", "email", "username", "last_activity"}]."""
    users = client.call("listing users", lambda: list(client.sdk.users.list()))
    return sorted(({"id": u.id, "email": u.email or "", "username": u.username or "",
                    "last_activity": u.last_activity.isoformat() if u.last_activity else None} for u in users),
                  key=lambda u: u["id"])


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _unlogged(logger_name: str) -> Iterator[None]:
    """Keep a logger quiet for a moment: httpx logs every request URL, and the invite link carries
    the organization's sign-up token."""
    logger, quiet = logging.getLogger(logger_name), _DropRecords()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _form_errors(page: str) -> str:
    """The messages of a Django form page Label Studio answered with, on one line."""
    found = re.findall(r'<ul class="field_errors">(.*?)</ul>', page, flags=re.S)
    items = [html.unescape(m).strip() for block in found for m in re.findall(r"<li>(.*?)</li>", block, flags=re.S)]
    return "; ".join(items) or "no reason given"


def add_user(client: Client, email: str, timeout: float = 60.0) -> str | None:
    """Create an annotator account with a new random password, and return the password; None
    when an account with this email (any letter case) exists already, which is left unchanged.

    Label Studio's user API cannot set a password, so the account is made the way a person
    invited by the organization makes it: the sign-up form of the invite link, posted with the
    password. Our side never logs the password or the link; Label Studio's access log does show
    the link, so the organization's invite token is reset right after (an earlier invite link
    stops working). Raises LabelStudioError.
    """
    if any(u["email"].lower() == email.lower() for u in list_users(client)):
        return None
    invite = client.call("reading the organization's invite link", client.sdk.organizations.invites.get_invite_link)
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    doing = f"creating the account {email}"
    try:
        with _unlogged("httpx"), httpx.Client(base_url=client.url, timeout=timeout) as web:
            try:
                web.get(invite.invite_url).raise_for_status()
                reply = web.post(invite.invite_url, data={"csrfmiddlewaretoken": web.cookies.get("csrftoken", ""),
                                                          "email": email, "password": password})
            finally:  # the server logged the link: make it useless
                client.call("resetting the organization's invite token", client.sdk.organizations.reset_token)
    except httpx.HTTPStatusError as exc:
        raise LabelStudioError(f"Label Studio at {client.url} answered {exc.response.status_code} to its invite link "
                               f"while {doing}") from None
    except httpx.HTTPError as exc:
        raise describe(exc, client.url, doing) from None
    if reply.status_code == 200:  # the form again, with its errors
        raise LabelStudioError(f"Label Studio at {client.url} refused the account {email}: {_form_errors(reply.text)}")
    if reply.status_code != 302:
        raise LabelStudioError(f"Label Studio at {client.url} answered {reply.status_code} to the sign-up of {email}")
    if not any(u["email"].lower() == email.lower() for u in list_users(client)):
        raise LabelStudioError(f"Label Studio at {client.url} accepted the sign-up of {email} but lists no such user")
    return password


# --- campaign status -----------------------------------------------------------------------

def campaign_status(client: Client, project_id: int) -> dict:
    """How far labeling has got in a project, from the server's own records.

    Returns {"project", "project_id", "target" (the project's annotators per task), "tasks",
    "tasks_by_submitted" ({"0": n, "1": n, ..., "<target>+": n}), "submitted" (annotations
    counted toward the target, at most target per task), "needed" (tasks x target),
    "progress" (0..1), "annotators" ([{"email", "submitted", "skipped", "drafts"}], every
    account of the organization), "documents_short" ([{"doc_id", "tasks", "tasks_short",
    "fewest_submitted"}]: documents with a task still below the target)}. A skipped task is
    an annotation with was_cancelled; drafts are Label Studio's autosaved, unsubmitted work.
    Raises LabelStudioError when the server cannot be read.
    """
    project = client.call(f"reading project {project_id}", client.sdk.projects.get, id=project_id)
    target = max(1, int(project.maximum_annotations or 1))
    users = list_users(client)
    email_of = {u["id"]: u["email"] for u in users}
    per_user = {u["email"]: {"email": u["email"], "submitted": 0, "skipped": 0, "drafts": 0} for u in users}

    def person(key) -> dict:
        email = email_of.get(key, key if isinstance(key, str) else f"user:{key}")
        return per_user.setdefault(email, {"email": email, "submitted": 0, "skipped": 0, "drafts": 0})

    tasks = client.call(f"listing the tasks of project {project_id}", lambda: list(
        client.sdk.tasks.list(project=project_id, fields="all", page_size=1000)))
    buckets = {str(n): 0 for n in range(target)} | {f"{target}+": 0}
    documents: dict[str, dict] = {}
    counted = 0
    for task in tasks:
        submitted = 0
        for annotation in task.annotations or []:
            cancelled = annotation.get("was_cancelled")
            person(annotation.get("completed_by"))["skipped" if cancelled else "submitted"] += 1
            submitted += not cancelled
        if getattr(task, "draft_exists", False):
            reply = client.call(f"listing the drafts of task {task.id}", client.sdk._client_wrapper.httpx_client.request,
                                f"api/tasks/{task.id}/drafts", method="GET")
            if reply.status_code >= 400:
                raise LabelStudioError(f"Label Studio at {client.url} answered {reply.status_code} while listing "
                                       f"the drafts of task {task.id}")
            for draft in reply.json():
                person(draft.get("user"))["drafts"] += 1
        buckets[str(submitted) if submitted < target else f"{target}+"] += 1
        counted += min(submitted, target)
        doc_id = str((task.data or {}).get("doc_id") or f"task {task.id}")
        doc = documents.setdefault(doc_id, {"doc_id": doc_id, "tasks": 0, "tasks_short": 0, "fewest_submitted": submitted})
        doc["tasks"] += 1
        doc["tasks_short"] += submitted < target
        doc["fewest_submitted"] = min(doc["fewest_submitted"], submitted)
    needed = len(tasks) * target
    return {"project": project.title, "project_id": project_id, "target": target, "tasks": len(tasks),
            "tasks_by_submitted": buckets, "submitted": counted, "needed": needed,
            "progress": counted / needed if needed else 1.0,
            "annotators": sorted(per_user.values(), key=lambda u: u["email"]),
            "documents_short": sorted((d for d in documents.values() if d["tasks_short"]), key=lambda d: d["doc_id"])}


def progress_bar(fraction: float, width: int = 30) -> str:
    """`[########----------]  42%`: fraction in 0..1."""
    done = round(max(0.0, min(1.0, fraction)) * width)
    return f"[{'#' * done}{'-' * (width - done)}] {fraction:4.0%}"


def format_status(status: dict) -> str:
    """The campaign report as text (see `campaign_status` for its fields)."""
    t = status["target"]
    lines = [f"project {status['project']!r} (id {status['project_id']}): {status['tasks']} tasks, "
             f"{t} annotator(s) per task",
             f"campaign {progress_bar(status['progress'])}  {status['submitted']}/{status['needed']} annotations",
             "tasks by submitted annotations: " + ", ".join(f"{k}: {v}" for k, v in status["tasks_by_submitted"].items()),
             "", f"{'annotator':<40} {'submitted':>9} {'skipped':>7} {'drafts':>6}"]
    lines += [f"{a['email']:<40} {a['submitted']:>9} {a['skipped']:>7} {a['drafts']:>6}" for a in status["annotators"]]
    short = status["documents_short"]
    lines += ["", f"documents short of {t} annotator(s): {len(short)}"]
    lines += [f"  {d['doc_id']}: {d['tasks_short']}/{d['tasks']} task(s) short, fewest submitted {d['fewest_submitted']}"
              for d in short]
    return "\n".join(lines)
