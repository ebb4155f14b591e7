"""The `stancekit` command: a thin layer over the library, one verb per stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import adjudicate as adjudicate_mod
from . import agreement as agreement_mod
from . import config as config_mod
from . import exports as exports_mod
from . import guidelines as guidelines_mod
from . import taxonomy as taxonomy_mod

TAXONOMY_OPTION = click.option(
    "--taxonomy", "taxonomy_path", type=click.Path(path_type=Path), default=taxonomy_mod.DEFAULT_PATH,
    show_default=True, help="The taxonomy file that defines labels and choices.",
)


def fail(message: str, code: int = 2) -> None:
    """Print one clear line to stderr and exit."""
    click.echo(f"stancekit: {message}", err=True)
    sys.exit(code)


def load_taxonomy(path: Path) -> taxonomy_mod.Taxonomy:
    try:
        return taxonomy_mod.load(path)
    except taxonomy_mod.TaxonomyError as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stancekit")
def main() -> None:
    """Label, validate and release conditional-stance datasets with Label Studio."""


@main.command("config")
@TAXONOMY_OPTION
@click.option("--out", type=click.Path(path_type=Path), default=config_mod.DEFAULT_PATH, show_default=True,
              help="Where to write the Label Studio labeling config.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if --out differs from a fresh render.")
def config_cmd(taxonomy_path: Path, out: Path, check: bool) -> None:
    """Render the Label Studio labeling config (XML) from the taxonomy."""
    xml = config_mod.render(load_taxonomy(taxonomy_path))
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != xml:
            fail(f"{out} is stale: run `stancekit config --out {out}`", code=1)
        click.echo(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(xml, encoding="utf-8")
    tmp.replace(out)
    click.echo(f"wrote {out}")


@main.command("guidelines")
@TAXONOMY_OPTION
@click.option("--path", "guidelines_path", type=click.Path(path_type=Path), default=guidelines_mod.DEFAULT_PATH,
              show_default=True, help="The guidelines file whose generated block is rewritten.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the generated block is stale.")
def guidelines_cmd(taxonomy_path: Path, guidelines_path: Path, check: bool) -> None:
    """Regenerate the taxonomy tables between the GENERATED markers in GUIDELINES.md."""
    taxonomy = load_taxonomy(taxonomy_path)
    try:
        if check:
            if not guidelines_mod.is_current(guidelines_path, taxonomy):
                fail(f"{guidelines_path}: the taxonomy tables are stale: run `stancekit guidelines`", code=1)
            click.echo(f"{guidelines_path} is up to date")
            return
        changed = guidelines_mod.write(guidelines_path, taxonomy)
    except guidelines_mod.GuidelinesError as exc:
        fail(str(exc))
    click.echo(f"{'wrote' if changed else 'unchanged'} {guidelines_path}")


# --- agreement, adjudicate, evaluate -------------------------------------------------------

RESAMPLES_OPTION = click.option("--resamples", type=click.IntRange(0), default=agreement_mod.DEFAULT_RESAMPLES,
                                show_default=True,
                                help="Bootstrap resamples of documents for the 95% intervals (0: none).")
SEED_OPTION = click.option("--seed", type=int, default=agreement_mod.DEFAULT_SEED, show_default=True,
                           help="Seed of the bootstrap.")
FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="text for people, json for machines.")


def _load_exports(paths, taxonomy, keep_text=True):
    try:
        return agreement_mod.load_exports(list(paths), taxonomy, keep_text)
    except exports_mod.ExportReadError as exc:
        fail(str(exc))


def _report(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"stancekit: {problem}", err=True)


@main.command("agreement")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@FORMAT_OPTION
@RESAMPLES_OPTION
@SEED_OPTION
@TAXONOMY_OPTION
def agreement_cmd(exports, fmt, resamples, seed, taxonomy_path):
    """Measure agreement between annotators in Label Studio JSON exports.

    Document-level choices: Krippendorff's alpha, pairwise Cohen's kappa, observed agreement.
    Spans: pairwise precision, recall and F1 (exact and overlap match) per label and category,
    and agreement on the attributes of matched spans. Exit 1 when there are problems.
    """
    taxonomy = load_taxonomy(taxonomy_path)
    report = agreement_mod.measure(_load_exports(exports, taxonomy, keep_text=False), taxonomy, resamples, seed)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        click.echo(agreement_mod.render_agreement(report), nl=False)
    _report(report["problems"])
    sys.exit(1 if report["problems"] else 0)


@main.command("adjudicate")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("annotation/gold/gold.json"), show_default=True,
              help="The gold file to write.")
@click.option("--tasks-out", type=click.Path(path_type=Path), default=None,
              help="Write the disputed documents as Label Studio tasks, each annotator's version a prediction.")
@TAXONOMY_OPTION
def adjudicate_cmd(exports, out, tasks_out, taxonomy_path):
    """Merge annotations into gold; ground-truth annotations (the adjudicator's) override.

    Exit 1 when there are problems (they are printed; the gold is still written).
    """
    taxonomy = load_taxonomy(taxonomy_path)
    gold, tasks, problems = adjudicate_mod.adjudicate(_load_exports(exports, taxonomy), taxonomy)
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
@TAXONOMY_OPTION
def evaluate_cmd(gold_path, prediction_paths, fmt, resamples, seed, taxonomy_path):
    """Precision, recall and F1 of the pre-annotations (per model_version) against gold."""
    taxonomy = load_taxonomy(taxonomy_path)
    try:
        report = agreement_mod.evaluate(gold_path, list(prediction_paths), taxonomy, resamples, seed)
    except (exports_mod.ExportReadError, agreement_mod.GoldReadError) as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        click.echo(agreement_mod.render_evaluation(report), nl=False)
    _report(report["problems"])
    sys.exit(1 if report["problems"] else 0)
