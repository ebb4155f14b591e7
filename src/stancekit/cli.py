"""The `stancekit` command: a thin layer over the library, one verb per stage.

Each verb imports the stage modules it calls inside its own function, so a command (and `--help`)
pays only for the stages it runs: the stages' libraries (the Label Studio SDK, pyarrow, matplotlib,
ftfy, ...) take most of a second to import together. tests/test_cli_imports.py holds this.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import _files, paths
from .errors import InputError, StancekitError

if TYPE_CHECKING:
    from .documents import DocumentStore
    from .taxonomy import Taxonomy

TAXONOMY_OPTION = click.option(
    "--taxonomy", "taxonomy_path", type=click.Path(path_type=Path), default=paths.TAXONOMY,
    show_default=True, help="The taxonomy file that defines labels and choices.",
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit."""
    click.echo(f"stancekit: {message}", err=True)
    sys.exit(code)


def exit_code(exc: StancekitError) -> int:
    """The exit code of a library error: 2 when an input cannot be used, 1 for anything else
    (a check failed, Label Studio misbehaved). The only place that knows the mapping."""
    return 2 if isinstance(exc, InputError) else 1


class _Main(click.Group):
    """The command group: any StancekitError a verb lets through becomes one line and its exit code; so
    does a file the system refuses to read or write (OSError: exit 2, naming the file)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StancekitError as exc:
            fail(str(exc), exit_code(exc))
        except OSError as exc:
            fail(f"{exc.filename or 'a file'}: {exc.strerror or exc}", 2)


DOCUMENTS_OPTION = click.option(
    "--documents", "documents_path", type=click.Path(path_type=Path), default=None,
    help=f"The documents table the tasks were made from ({paths.DOCUMENTS} in `make`): every task's text "
         "is checked against it (UNKNOWN_DOCUMENT, TASK_TEXT_MISMATCH).")


def _documents(path: Path | None) -> DocumentStore | None:
    """The documents store for --documents (None without it)."""
    if path is None:
        return None
    from .documents import DocumentStore

    return DocumentStore.open(path)


QUIET_OPTION = click.option("--quiet", "-q", is_flag=True,
                            help="Show no progress bar (one is shown on stderr only when stderr is a terminal).")


class _NoBar:
    """The bar of a run that shows none: tqdm's `update`, `refresh`, `n` and `total`, doing nothing,
    so that such a run does not import tqdm (about 50 ms)."""

    n: float = 0
    total: float | None = None

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        pass

    def refresh(self) -> None:
        pass


def progress_bar(quiet: bool, total: float | None, unit: str, desc: str):
    """A tqdm progress bar on stderr (done, rate, time left), shown only when stderr is a terminal and not
    --quiet; otherwise a bar that prints nothing. Use as a context manager; `update(n)` counts progress."""
    if quiet or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, unit_divisor=1024 if unit == "B" else 1000, desc=desc,
                file=sys.stderr, leave=False, mininterval=0.5, dynamic_ncols=True)


def _track(bar):
    """A progress callback (done, total) that moves `bar` to done out of total."""
    def update(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()
    return update


def _size(paths) -> int:
    return sum(Path(p).stat().st_size for p in paths if Path(p).is_file())


def load_taxonomy(path: Path) -> Taxonomy:
    from . import taxonomy as taxonomy_mod

    return taxonomy_mod.load(path)


def write_generated(out: Path, text: str, check: bool, verb: str) -> None:
    """Write a generated file, or with check, exit 1 when the file on disk is stale."""
    stale = _files.update_generated(out, text, check)
    if check and stale:
        fail(f"{out} is stale: run `stancekit {verb} --out {out}`", code=1)
    click.echo(f"{out} is up to date" if check else f"wrote {out}")


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stancekit")
def main() -> None:
    """Label, validate and release conditional-stance datasets with Label Studio."""
    # pyarrow's default allocator (mimalloc) keeps memory it freed: with the system allocator a 10k-task
    # release peaks about 30 MB lower at the same speed (issue 15). pyarrow reads this when it is imported,
    # so it holds only because no verb imports pyarrow before this callback (tests/test_cli_imports.py).
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


@main.command("config")
@TAXONOMY_OPTION
@click.option("--out", type=click.Path(path_type=Path), default=paths.LABELING_CONFIG, show_default=True,
              help="Where to write the Label Studio labeling config.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if --out differs from a fresh render.")
def config_cmd(taxonomy_path: Path, out: Path, check: bool) -> None:
    """Render the Label Studio labeling config (XML) from the taxonomy."""
    from . import config as config_mod

    write_generated(out, config_mod.render(load_taxonomy(taxonomy_path)), check, "config")


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Where to write documents.parquet (atomically).")
@click.option("--sources", type=click.Path(path_type=Path), default=None,
              help="sources.csv describing the raw files: fills source_kind, source_caveats, outlet, author "
                   "(and published when the input has none).")
@click.option("--report", type=click.Path(path_type=Path),
              help="Also write the removal report: one JSON line per removed stretch (doc_id, source_file, "
                   "rule, raw_start, raw_end: bytes into source_file, text).")
@QUIET_OPTION
def ingest_cmd(paths: tuple[Path, ...], out: Path, sources: Path | None, report: Path | None, quiet: bool) -> None:
    """Clean raw articles (.txt, .html, .jsonl files or directories of them) into documents.parquet.

    Exit 0 when every input was ingested, 1 when some were skipped (named on stderr), 2 when
    nothing could be ingested or --sources is unreadable (no file is written then).
    """
    from . import ingest as ingest_mod

    with progress_bar(quiet, None, "file", "ingest") as bar:
        result = ingest_mod.ingest(list(paths), progress=_track(bar), sources=sources)
    for warning in result.warnings:
        click.echo(f"stancekit: warning: {warning}", err=True)
    for error in result.errors:
        click.echo(f"stancekit: error: {error}", err=True)
    ingest_mod.write(result, out, report)
    click.echo(f"wrote {len(result.documents)} documents to {out}")
    if report:
        click.echo(f"wrote {len(result.report)} removed stretches to {report}")
    if result.errors:
        sys.exit(1)


@main.command("schema")
@TAXONOMY_OPTION
@click.option("--out", type=click.Path(path_type=Path), default=paths.EXPORT_SCHEMA, show_default=True,
              help="Where to write the JSON Schema of a Label Studio JSON export.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if --out differs from a fresh render.")
def schema_cmd(taxonomy_path: Path, out: Path, check: bool) -> None:
    """Render the JSON Schema (draft 2020-12) of a Label Studio JSON export from the taxonomy."""
    from . import schema as schema_mod

    write_generated(out, schema_mod.render(load_taxonomy(taxonomy_path)), check, "schema")


@main.command("validate")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a summary table by code with the first locations of each; "
                   "json: every problem as one JSON object per line (JSON Lines).")
@DOCUMENTS_OPTION
@click.option("--predictions", is_flag=True,
              help="The files are task files (`stancekit tasks`) or export snapshots: check their predictions.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=paths.LABELING_CONFIG,
              show_default=True, help="The labeling config the exports were made with; it must match the taxonomy.")
@QUIET_OPTION
@TAXONOMY_OPTION
def validate_cmd(exports: tuple[Path, ...], fmt: str, documents_path: Path | None, predictions: bool,
                 config_path: Path, quiet: bool, taxonomy_path: Path) -> None:
    """Check Label Studio JSON exports: structure, references, offsets, semantics.

    Exit 0 when there is no error (warnings allowed), 1 when errors were found,
    2 when an input cannot be read.
    """
    from . import config as config_mod
    from . import validate as validate_mod

    taxonomy = load_taxonomy(taxonomy_path)
    config_xml = config_mod.read(config_path)
    summary = validate_mod.Summary()
    documents = _documents(documents_path)
    with progress_bar(quiet, _size(exports), "B", "validate") as bar:
        for problem in validate_mod.validate_exports(exports, taxonomy, config_xml, summary, str(config_path),
                                                     documents, predictions, on_bytes=bar.update):
            if fmt == "json":
                sys.stdout.write(json.dumps(problem.as_dict(), ensure_ascii=False, default=str) + "\n")
    if fmt == "text":
        click.echo(validate_mod.format_summary(summary), nl=False)
    sys.exit(1 if summary.errors else 0)


@main.command("tasks")
@click.argument("documents", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=paths.TASKS, show_default=True,
              help="Where to write the Label Studio tasks (a JSON array).")
@click.option("--max-chars", type=click.IntRange(min=1), default=None,
              help="Split documents longer than this into chunk tasks, at paragraph boundaries.")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), default=paths.PREANNOTATOR,
              show_default=True, help="Cue phrases of the rule-based pre-annotator.")
@click.option("--no-predictions", is_flag=True, help="Leave out the pre-annotations.")
@TAXONOMY_OPTION
def tasks_cmd(documents: Path, out: Path, max_chars: int | None, rules_path: Path, no_predictions: bool,
              taxonomy_path: Path) -> None:
    """Turn DOCUMENTS (documents.parquet) into Label Studio tasks with rule-based pre-annotations."""
    from . import documents as documents_mod
    from . import preannotate
    from . import tasks as tasks_mod

    taxonomy = load_taxonomy(taxonomy_path)
    predict = None if no_predictions else preannotate.predictor(taxonomy, rules_path)
    made = tasks_mod.make_tasks(documents_mod.read_documents(documents), max_chars, predict)
    tasks_mod.write(made, out)
    docs = len({t["data"]["doc_id"] for t in made})
    click.echo(f"wrote {out}: {len(made)} tasks from {docs} documents")


LS_STATE_OPTION = click.option("--state-dir", type=click.Path(path_type=Path), default=paths.LS_STATE_DIR,
                               show_default=True, help="Credentials, server pid and log (kept out of git).")
LS_URL_OPTION = click.option("--url", default=None, help="Talk to this Label Studio instead of the one in --state-dir "
                             "(token from LABEL_STUDIO_API_KEY).")
LS_PROJECT_OPTION = click.option("--project", "title", default=None,
                                 help="Project title [default: 'stancekit <taxonomy name>'].")
LS_SETTINGS_OPTION = click.option("--settings", "settings_path", type=click.Path(path_type=Path),
                                  default=paths.LS_PROJECT_SETTINGS, show_default=True,
                                  help="Annotators per task, predictions shown, skipping: applied to the project.")


def _project_title(title: str | None, taxonomy_path: Path) -> str:
    return title or f"stancekit {load_taxonomy(taxonomy_path).name}"


# The ls verbs import stancekit.labelstudio inside the command: the SDK takes about 2 s to import.
@main.group("ls")
def ls_group() -> None:
    """Run Label Studio, move tasks in and exports out, manage annotators, follow the campaign
    (up | push | pull | status | users | down)."""


@ls_group.command("up")
@LS_STATE_OPTION
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, envvar="STANCEKIT_LS_PORT",
              help="Port on 127.0.0.1 (env STANCEKIT_LS_PORT).")
@click.option("--ls-venv", type=click.Path(path_type=Path), default=None,
              help=f"Label Studio's virtual environment [default: $STANCEKIT_LS_VENV or {paths.LS_VENV}].")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=paths.LABELING_CONFIG,
              show_default=True, help="The labeling config to create or update the project with.")
@click.option("--database", default=None, envvar="STANCEKIT_LS_DATABASE", metavar="URL",
              help="Run on PostgreSQL: postgresql://USER:PASSWORD@HOST:PORT/DATABASE (a socket directory as "
                   "?host=/dir; env STANCEKIT_LS_DATABASE). Remembered in --state-dir for later starts "
                   "[default: SQLite in --state-dir].")
@LS_SETTINGS_OPTION
@LS_PROJECT_OPTION
@TAXONOMY_OPTION
def ls_up(state_dir: Path, port: int, ls_venv: Path | None, config_path: Path, database: str | None,
          settings_path: Path, title: str | None, taxonomy_path: Path) -> None:
    """Start Label Studio on 127.0.0.1 (if not running) and create or update the project and its settings."""
    from . import labelstudio as ls

    title = _project_title(title, taxonomy_path)
    done = ls.up(state_dir, port, config_path, title, settings_path, ls_venv, database, say=click.echo)
    click.echo(f"project {title!r} {done.what}: {done.server.url}/projects/{done.project_id}/data "
               f"({done.settings.annotators_per_task} annotator(s) per task)")
    if done.show_password:
        click.echo(f"log in as {done.creds.email} with password {done.creds.password}  (shown once; kept in "
                   f"{state_dir / 'credentials.json'}, with the API token)")
    else:
        click.echo(f"log in as {done.creds.email}; password in {state_dir / 'credentials.json'}")


@ls_group.command("push")
@click.argument("tasks_file", type=click.Path(path_type=Path), default=paths.TASKS)
@LS_STATE_OPTION
@LS_URL_OPTION
@LS_SETTINGS_OPTION
@LS_PROJECT_OPTION
@QUIET_OPTION
@TAXONOMY_OPTION
def ls_push(tasks_file: Path, state_dir: Path, url: str | None, settings_path: Path, title: str | None, quiet: bool,
            taxonomy_path: Path) -> None:
    """Import TASKS_FILE into the project, skipping tasks already there (same doc_id and chunk);
    bring the project's settings in line with --settings first."""
    from . import labelstudio as ls

    title = _project_title(title, taxonomy_path)
    with progress_bar(quiet, None, "task", "ls push") as bar:
        result = ls.push_file(tasks_file, title, state_dir, url, settings_path, say=click.echo, progress=_track(bar))
    click.echo(f"imported {result.imported} new tasks; {result.already_there} already in project {title!r}")
    if result.conflicts:
        doc_id, chunk = result.conflicts[0]
        fail(f"{len(result.conflicts)} task(s) already in the project with a different text, not imported "
             f"(first: doc_id {doc_id} chunk {chunk}; re-chunked or edited?)", code=1)


@ls_group.command("pull")
@click.option("--out-dir", type=click.Path(path_type=Path), default=paths.EXPORTS_DIR, show_default=True,
              help="Directory for the export, named by UTC time.")
@LS_STATE_OPTION
@LS_URL_OPTION
@LS_PROJECT_OPTION
@QUIET_OPTION
@TAXONOMY_OPTION
def ls_pull(out_dir: Path, state_dir: Path, url: str | None, title: str | None, quiet: bool, taxonomy_path: Path) -> None:
    """Write a snapshot JSON export of the project (all tasks, full predictions) to OUT_DIR/<time>.json."""
    from . import labelstudio as ls

    title = _project_title(title, taxonomy_path)
    client = ls.connect(state_dir, url)
    with progress_bar(quiet, None, "B", "ls pull") as bar:
        path = ls.pull(client, client.project_id(title), out_dir, on_bytes=bar.update)
    click.echo(f"wrote {path}")


@ls_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="A report to read, or JSON for machines.")
@LS_STATE_OPTION
@LS_URL_OPTION
@LS_PROJECT_OPTION
@TAXONOMY_OPTION
def ls_status(fmt: str, state_dir: Path, url: str | None, title: str | None, taxonomy_path: Path) -> None:
    """How far labeling has got: tasks by submitted annotations, per annotator submitted, skipped
    and drafts, documents short of the annotators-per-task target, a progress bar."""
    from . import labelstudio as ls

    title = _project_title(title, taxonomy_path)
    client = ls.connect(state_dir, url)
    status = ls.campaign_status(client, client.project_id(title))
    click.echo(json.dumps(status, indent=2, ensure_ascii=False) if fmt == "json" else ls.format_status(status))


@ls_group.group("users")
def ls_users() -> None:
    """Annotator accounts on the server (add | list)."""


@ls_users.command("add")
@click.argument("emails", nargs=-1, required=True)
@LS_STATE_OPTION
@LS_URL_OPTION
def ls_users_add(emails: tuple[str, ...], state_dir: Path, url: str | None) -> None:
    """Create an account for each EMAIL and print its password, once (it is stored nowhere).
    An account that exists already is left unchanged."""
    from . import labelstudio as ls

    client = ls.connect(state_dir, url)
    for email in emails:
        password = ls.add_user(client, email)
        if password is None:
            click.echo(f"{email}: exists already, unchanged")
        else:
            click.echo(f"{email}: created; password {password}  (shown once, stored nowhere: hand it over now)")
    click.echo(f"log in at {client.url}/user/login/")


@ls_users.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="A table to read, or JSON for machines.")
@LS_STATE_OPTION
@LS_URL_OPTION
def ls_users_list(fmt: str, state_dir: Path, url: str | None) -> None:
    """The accounts of the server's organization: id, email, last activity."""
    from . import labelstudio as ls

    users = ls.list_users(ls.connect(state_dir, url))
    if fmt == "json":
        click.echo(json.dumps(users, indent=2, ensure_ascii=False))
        return
    for u in users:
        click.echo(f"{u['id']:>5}  {u['email']:<40} last active {u['last_activity'] or 'never'}")


@ls_group.command("down")
@LS_STATE_OPTION
def ls_down(state_dir: Path) -> None:
    """Stop the Label Studio that `stancekit ls up` started."""
    from . import labelstudio as ls

    click.echo("stopped Label Studio" if ls.stop(state_dir) else "no Label Studio was running")


# --- agreement, adjudicate, evaluate -------------------------------------------------------

class _DeferredDefault(click.Option):
    """An option whose default is a function, called whenever the default is needed, for --help too
    (where click would show "(dynamic)"): it shows a stage's constant without importing the stage
    to define the CLI."""

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        return super().get_default(ctx, call=True)


def _default_resamples() -> int:
    from .agreement import DEFAULT_RESAMPLES

    return DEFAULT_RESAMPLES


def _default_seed() -> int:
    from .agreement import DEFAULT_SEED

    return DEFAULT_SEED


RESAMPLES_OPTION = click.option("--resamples", cls=_DeferredDefault, type=click.IntRange(0),
                                default=_default_resamples, show_default=True,
                                help="Bootstrap resamples of documents for the 95% intervals (0: none).")
SEED_OPTION = click.option("--seed", cls=_DeferredDefault, type=int, default=_default_seed, show_default=True,
                           help="Seed of the bootstrap.")
FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="text for people, json for machines.")


def _load_exports(paths, taxonomy, documents, keep_text=True):
    from . import agreement as agreement_mod

    return agreement_mod.load_exports(list(paths), taxonomy, keep_text, documents)


def _report(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"stancekit: {problem}", err=True)


@main.command("agreement")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@FORMAT_OPTION
@RESAMPLES_OPTION
@SEED_OPTION
@DOCUMENTS_OPTION
@TAXONOMY_OPTION
def agreement_cmd(exports, fmt, resamples, seed, documents_path, taxonomy_path):
    """Measure agreement between annotators in Label Studio JSON exports.

    Document-level choices: Krippendorff's alpha, pairwise Cohen's kappa, observed agreement.
    Spans: pairwise precision, recall and F1 (exact and overlap match) per label and category,
    and agreement on the attributes of matched spans. Where documents have an adjudication (a
    ground-truth annotation), each annotator's agreement with that gold too. Exit 1 when there
    are problems; exit 1 and measure nothing when `stancekit validate` finds errors in the exports.
    """
    from . import agreement as agreement_mod

    taxonomy = load_taxonomy(taxonomy_path)
    collection = _load_exports(exports, taxonomy, _documents(documents_path), keep_text=False)
    report = agreement_mod.report(collection, taxonomy, resamples, seed)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        click.echo(agreement_mod.render_agreement(report), nl=False)
    _report(report["problems"])
    sys.exit(1 if report["problems"] else 0)


@main.command("adjudicate")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=paths.GOLD, show_default=True,
              help="The gold file to write.")
@click.option("--tasks-out", type=click.Path(path_type=Path), default=None,
              help="Write the disputed documents as Label Studio tasks, each annotator's version a prediction.")
@click.option("--review-all", is_flag=True,
              help="Send every document without an adjudication to --tasks-out, disputed or not (a full review pass).")
@DOCUMENTS_OPTION
@TAXONOMY_OPTION
def adjudicate_cmd(exports, out, tasks_out, review_all, documents_path, taxonomy_path):
    """Aggregate annotations into gold by majority vote; ground-truth annotations (the adjudicator's) override.

    Exit 1 when there are problems (they are printed; the gold is still written). When
    `stancekit validate` finds errors in the exports: exit 1 and write nothing (an earlier
    gold file stays as it was).
    """
    from . import adjudicate as adjudicate_mod

    taxonomy = load_taxonomy(taxonomy_path)
    collection = _load_exports(exports, taxonomy, _documents(documents_path))
    gold, tasks, problems = adjudicate_mod.aggregate(collection, taxonomy, review_all)
    adjudicate_mod.write_json(out, gold)
    if tasks_out:
        adjudicate_mod.write_json(tasks_out, tasks)
    click.echo(adjudicate_mod.summary(gold, tasks, taxonomy))
    click.echo(f"wrote {out}" + (f" and {tasks_out}" if tasks_out else ""))
    _report(problems)
    sys.exit(1 if problems else 0)


@main.command("evaluate")
@click.option("--gold", "gold_path", type=click.Path(path_type=Path), required=True, help="The gold file.")
@click.option("--predictions", "prediction_paths", type=click.Path(path_type=Path), required=True, multiple=True,
              help="Task file(s) or export snapshot(s) whose `predictions` are evaluated (repeatable).")
@FORMAT_OPTION
@RESAMPLES_OPTION
@SEED_OPTION
@DOCUMENTS_OPTION
@click.option("--baselines", "rules_path", type=click.Path(path_type=Path), is_flag=False,
              flag_value=str(paths.PREANNOTATOR), default=None,
              help="Also score two baselines: the majority document answer, and one stance span per sentence that "
                   f"mentions the actor (cues from this pre-annotator file; bare --baselines: {paths.PREANNOTATOR}).")
@TAXONOMY_OPTION
def evaluate_cmd(gold_path, prediction_paths, fmt, resamples, seed, documents_path, rules_path, taxonomy_path):
    """Precision, recall and F1 of the pre-annotations (per model_version) against gold.

    Exit 1 and score nothing when the predictions have validation errors.
    """
    from . import agreement as agreement_mod
    from . import preannotate

    taxonomy = load_taxonomy(taxonomy_path)
    baselines = preannotate.load(taxonomy, rules_path) if rules_path else None
    report = agreement_mod.evaluate(gold_path, list(prediction_paths), taxonomy, resamples, seed,
                                    _documents(documents_path), baselines)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        click.echo(agreement_mod.render_evaluation(report), nl=False)
    _report(report["problems"])
    sys.exit(1 if report["problems"] else 0)
@main.command("release")
@TAXONOMY_OPTION
@click.option("--version", "version", metavar="X.Y.Z", help="The version to build.")
@click.option("--bump", type=click.Choice(["auto", "major", "minor", "patch"]), is_flag=False, flag_value="auto",
              help="Bump the latest version instead; bare --bump (auto) derives the part from the diff "
                   "(labels changed: major; records or fields added: minor; else patch).")
@click.option("--documents", type=click.Path(path_type=Path), default=paths.DOCUMENTS, show_default=True,
              help="The documents (ingest output).")
@click.option("--exports", "export_globs", multiple=True, default=[paths.EXPORTS_GLOB], show_default=True,
              help="Label Studio JSON exports: paths or quoted globs; repeatable. Files listed after the options "
                   "replace this default.")
@click.argument("more_exports", nargs=-1, type=click.Path(path_type=Path))
@click.option("--gold", type=click.Path(path_type=Path), default=paths.GOLD, show_default=True,
              help="Gold (adjudicate output); skipped when the default path does not exist.")
@click.option("--tasks", type=click.Path(path_type=Path), default=paths.TASKS, show_default=True,
              help="Tasks with predictions; skipped when the default path does not exist.")
@click.option("--rules", type=click.Path(path_type=Path), default=paths.PREANNOTATOR, show_default=True,
              help="The pre-annotator's cue file, for the baselines scored beside the predictions; skipped when the "
                   "default path does not exist.")
@click.option("--agreement", type=click.Path(path_type=Path), default=paths.AGREEMENT, show_default=True,
              help="The report of `stancekit agreement --format json` over the exports, for the manifest; "
                   "skipped when the default path does not exist.")
@click.option("--out-dir", type=click.Path(path_type=Path), default=paths.RELEASES_DIR, show_default=True,
              help="Where release directories vX.Y.Z are created.")
@click.option("--metadata", type=click.Path(path_type=Path), default=paths.METADATA, show_default=True,
              help="Dataset metadata for croissant.json (licence, citation, creators, RAI statements); "
                   "skipped when the default path does not exist.")
@QUIET_OPTION
@click.pass_context
def release_cmd(ctx, taxonomy_path, version, bump, documents, export_globs, more_exports, gold, tasks, rules, agreement,
                out_dir, metadata, quiet) -> None:
    """Build the immutable Parquet release dataset/releases/vX.Y.Z from documents, exports, gold and predictions.

    Give exactly one of --version and --bump. Exit 1 when the exports have validation errors, the
    version exists or the bump is smaller than the changes need; 2 when an input cannot be read.
    """
    from . import release as release_mod

    if (version is None) == (bump is None):
        fail("give exactly one of --version X.Y.Z and --bump")
    optional = {"gold": gold, "tasks": tasks, "rules": rules, "agreement": agreement, "metadata": metadata}
    explicit = [name for name in optional if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if more_exports and ctx.get_parameter_source("export_globs") is click.core.ParameterSource.DEFAULT:
        export_globs = ()  # files listed after the options replace the default glob
    inputs = release_mod.find_inputs(documents, [*export_globs, *more_exports], required=explicit, **optional)
    try:
        with progress_bar(quiet, _size([*inputs.exports, *([inputs.tasks] if inputs.tasks else [])]), "B",
                          "release") as bar:
            final = release_mod.build(inputs, load_taxonomy(taxonomy_path), out_dir, version=version, bump=bump,
                                      on_bytes=bar.update)
    except release_mod.Unchanged as exc:
        click.echo(str(exc))
        return
    click.echo(f"wrote {final}")


@main.command("verify")
@click.argument("release_dir", type=click.Path(path_type=Path))
def verify_cmd(release_dir: Path) -> None:
    """Recompute a release's checksums, sizes, rows and schemas against its manifest; exit 1 naming each bad file.

    Exit 2 when RELEASE_DIR has no readable manifest.
    """
    from . import release as release_mod

    problems = release_mod.verify(release_dir)
    for problem in problems:
        click.echo(f"{release_dir}/{problem}", err=True)
    if problems:
        fail(f"{release_dir}: {len(problems)} problem(s)", 1)
    click.echo(f"{release_dir}: every file matches the manifest")


@main.command("publish")
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--releases-dir", type=click.Path(path_type=Path), default=paths.RELEASES_DIR, show_default=True,
              help="Where published releases live.")
def publish_cmd(build_dir: Path, releases_dir: Path) -> None:
    """Publish a verified build (e.g. build/releases/vX.Y.Z) into the releases directory, never over a release.

    The build is verified, copied next to its target, verified again and renamed into place; the
    CHANGELOG is regenerated. Exit 1 when it does not verify, an input changed since the build, it
    was built against another previous release, or its version is published already or not the
    newest; 2 when BUILD_DIR is not a release directory.
    """
    from . import release as release_mod

    click.echo(f"published {release_mod.publish(build_dir, releases_dir)}")


@main.command("datasheet")
@TAXONOMY_OPTION
@click.option("--release", "version", default="latest", show_default=True,
              help="The release to describe: latest, X.Y.Z, or a release directory.")
@click.option("--releases-dir", type=click.Path(path_type=Path), default=paths.RELEASES_DIR, show_default=True,
              help="Where the releases are.")
@click.option("--datasheet", "datasheet_path", type=click.Path(path_type=Path), default=paths.DATASHEET, show_default=True,
              help="The datasheet whose generated blocks are rewritten.")
@click.option("--plots", type=click.Path(path_type=Path), default=paths.PLOTS_DIR, show_default=True,
              help="Where the PNG plots go (linked from the datasheet).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a generated block or plot is stale.")
def datasheet_cmd(taxonomy_path, version, releases_dir, datasheet_path, plots, check) -> None:
    """Regenerate DATASHEET.md's statistics and plots from a release."""
    from . import datasheet as datasheet_mod

    taxonomy = load_taxonomy(taxonomy_path)
    release_dir = datasheet_mod.release_to_describe(version, releases_dir)
    stale = datasheet_mod.update(datasheet_path, taxonomy, release_dir, plots, check=check)
    if check:
        if stale:
            fail(f"stale: {', '.join(stale)}: run `stancekit datasheet`", 1)
        click.echo(f"{datasheet_path} is up to date")
        return
    click.echo(f"updated {datasheet_path}" + (f" and {plots}/" if release_dir else ""))


def _commands(command: click.Command = main, path: tuple[str, ...] = ("stancekit",)):
    """(path, command) of every command and group of the CLI, in the order of the CLI."""
    yield path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None:
                yield from _commands(sub, (*path, name))


def cli_reference() -> str:
    """Markdown: every verb's `--help` text, in the order of the CLI (for docs/cli-reference.md)."""
    out = []
    for path, command in _commands():
        with click.Context(command, info_name=" ".join(path), terminal_width=80, max_content_width=80,
                           help_option_names=["-h", "--help"]) as ctx:
            out += [f"## {' '.join(path)}", "", "```", command.get_help(ctx), "```", ""]
    return "\n".join(out)


def readme_reference() -> str:
    """Markdown table for README's CLI reference: every verb that runs (not a group) with its arguments,
    its options and the first paragraph of its `--help` (the whole text is in docs/cli-reference.md)."""
    from ._files import markdown_table

    rows = []
    for path, command in _commands():
        if isinstance(command, click.Group):
            continue
        arguments = " ".join(p.make_metavar(click.Context(command)) for p in command.params
                             if isinstance(p, click.Argument))
        options = ", ".join(f"`{opt}`" for p in command.params if isinstance(p, click.Option)
                            for opt in p.opts if opt.startswith("--"))
        summary = " ".join((command.help or "").split("\n\n")[0].split())
        rows.append((f"`{' '.join(path)}`", f"`{arguments}`" if arguments else "", options, summary))
    return "\n".join(markdown_table(("verb", "arguments", "options", "what it does"), rows)) + "\n"
