"""The `stancekit` command: a thin layer over the library, one verb per stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import config as config_mod
from . import guidelines as guidelines_mod
from . import ingest as ingest_mod
from . import schema as schema_mod
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


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Where to write documents.parquet (atomically).")
def ingest_cmd(paths: tuple[Path, ...], out: Path) -> None:
    """Clean raw articles (.txt, .html, .jsonl files or directories of them) into documents.parquet.

    Exit 0 when every input was ingested, 1 when some were skipped (named on stderr), 2 when
    nothing could be ingested (no file is written then).
    """
    result = ingest_mod.ingest(list(paths))
    for warning in result.warnings:
        click.echo(f"stancekit: warning: {warning}", err=True)
    for error in result.errors:
        click.echo(f"stancekit: error: {error}", err=True)
    if not result.documents:
        fail("nothing could be ingested; no output written", code=2)
    try:
        ingest_mod.write_documents(result.documents, out)
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}", code=2)
    click.echo(f"wrote {len(result.documents)} documents to {out}")
    if result.errors:
        sys.exit(1)


@main.command("schema")
@TAXONOMY_OPTION
@click.option("--out", type=click.Path(path_type=Path), default=schema_mod.DEFAULT_PATH, show_default=True,
              help="Where to write the JSON Schema of a Label Studio JSON export.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if --out differs from a fresh render.")
def schema_cmd(taxonomy_path: Path, out: Path, check: bool) -> None:
    """Render the JSON Schema (draft 2020-12) of a Label Studio JSON export from the taxonomy."""
    text = schema_mod.render(load_taxonomy(taxonomy_path))
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            fail(f"{out} is stale: run `stancekit schema --out {out}`", code=1)
        click.echo(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    click.echo(f"wrote {out}")


@main.command("validate")
@click.argument("exports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a summary table by code with the first locations of each; "
                   "json: every problem as one JSON object per line (JSON Lines).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=config_mod.DEFAULT_PATH,
              show_default=True, help="The labeling config the exports were made with; it must match the taxonomy.")
@TAXONOMY_OPTION
def validate_cmd(exports: tuple[Path, ...], fmt: str, config_path: Path, taxonomy_path: Path) -> None:
    """Check Label Studio JSON exports: structure, references, offsets, semantics.

    Exit 0 when there is no error (warnings allowed), 1 when errors were found,
    2 when an input cannot be read.
    """
    from . import validate as validate_mod
    from .exports import ExportReadError

    taxonomy = load_taxonomy(taxonomy_path)
    try:
        config_xml = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{config_path}: cannot read the labeling config ({getattr(exc, 'strerror', None) or exc})")
    summary = validate_mod.Summary()
    try:
        for problem in validate_mod.validate_exports(exports, taxonomy, config_xml, summary, str(config_path)):
            if fmt == "json":
                sys.stdout.write(json.dumps(problem.as_dict(), ensure_ascii=False, default=str) + "\n")
    except (ExportReadError, validate_mod.ConfigError) as exc:
        fail(str(exc))
    if fmt == "text":
        click.echo(validate_mod.format_summary(summary), nl=False)
    sys.exit(1 if summary.errors else 0)
