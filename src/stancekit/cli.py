"""The `stancekit` command: a thin layer over the library, one verb per stage."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import config as config_mod
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


@main.command("release")
@TAXONOMY_OPTION
@click.option("--version", "version", metavar="X.Y.Z", help="The version to build.")
@click.option("--bump", type=click.Choice(["auto", "major", "minor", "patch"]), is_flag=False, flag_value="auto",
              help="Bump the latest version instead; bare --bump (auto) derives the part from the diff "
                   "(labels changed: major; records or fields added: minor; else patch).")
@click.option("--documents", type=click.Path(path_type=Path), default="build/documents.parquet", show_default=True,
              help="The documents (ingest output).")
@click.option("--exports", "export_globs", multiple=True, default=["annotation/exports/*.json"], show_default=True,
              help="Label Studio JSON exports: paths or quoted globs; repeatable, or list the files after it.")
@click.argument("more_exports", nargs=-1, type=click.Path(path_type=Path))
@click.option("--gold", type=click.Path(path_type=Path), default="annotation/gold/gold.json", show_default=True,
              help="Gold (adjudicate output); skipped when the default path does not exist.")
@click.option("--tasks", type=click.Path(path_type=Path), default="annotation/tasks/tasks.json", show_default=True,
              help="Tasks with predictions; skipped when the default path does not exist.")
@click.option("--out-dir", type=click.Path(path_type=Path), default="dataset/releases", show_default=True,
              help="Where release directories vX.Y.Z are created.")
@click.pass_context
def release_cmd(ctx, taxonomy_path, version, bump, documents, export_globs, more_exports, gold, tasks, out_dir) -> None:
    """Build the immutable Parquet release dataset/releases/vX.Y.Z from documents, exports, gold and predictions."""
    import glob

    from . import release as release_mod

    if (version is None) == (bump is None):
        fail("give exactly one of --version X.Y.Z and --bump")
    exports = sorted({Path(p) for pattern in export_globs for p in (glob.glob(pattern) or [pattern])} | set(more_exports))
    optional = {}
    for name, path in (("gold", gold), ("tasks", tasks)):
        explicit = ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        if path.exists():
            optional[name] = path
        elif explicit:
            fail(f"{path}: no such file")
    for path in [documents, *exports]:
        if not path.exists():
            fail(f"{path}: no such file")
    inputs = release_mod.Inputs(documents, exports, **optional)
    try:
        final = release_mod.build(inputs, load_taxonomy(taxonomy_path), out_dir, version=version, bump=bump)
    except release_mod.Unchanged as exc:
        click.echo(str(exc))
        return
    except release_mod.ReleaseError as exc:
        fail(str(exc), exc.code)
    click.echo(f"wrote {final}")


@main.command("verify")
@click.argument("release_dir", type=click.Path(path_type=Path))
def verify_cmd(release_dir: Path) -> None:
    """Recompute a release's checksums, sizes, rows and schemas against its manifest; exit 1 naming each bad file."""
    from . import release as release_mod

    try:
        problems = release_mod.verify(release_dir)
    except release_mod.ReleaseError as exc:
        fail(str(exc))
    for problem in problems:
        click.echo(f"{release_dir}/{problem}", err=True)
    if problems:
        fail(f"{release_dir}: {len(problems)} problem(s)", 1)
    click.echo(f"{release_dir}: every file matches the manifest")


@main.command("datasheet")
@TAXONOMY_OPTION
@click.option("--release", "version", default="latest", show_default=True,
              help="The release to describe: latest, X.Y.Z, or a release directory.")
@click.option("--releases-dir", type=click.Path(path_type=Path), default="dataset/releases", show_default=True)
@click.option("--datasheet", "datasheet_path", type=click.Path(path_type=Path), default="DATASHEET.md", show_default=True)
@click.option("--readme", type=click.Path(path_type=Path), default="README.md", show_default=True)
@click.option("--plots", type=click.Path(path_type=Path), default="docs/datasheet", show_default=True,
              help="Where the PNG plots go (linked from the datasheet).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a generated block or plot is stale.")
def datasheet_cmd(taxonomy_path, version, releases_dir, datasheet_path, readme, plots, check) -> None:
    """Regenerate DATASHEET.md's statistics and plots, and README's release columns, from a release."""
    from . import datasheet as datasheet_mod
    from . import release as release_mod

    taxonomy = load_taxonomy(taxonomy_path)
    try:
        if Path(version).is_dir():
            release_dir = Path(version)
        elif version == "latest" and not release_mod.list_releases(releases_dir):
            release_dir = None
        else:
            release_dir = release_mod.resolve(version, releases_dir)
        stale = datasheet_mod.update(datasheet_path, readme, taxonomy, release_dir, plots, check=check)
    except (release_mod.ReleaseError, datasheet_mod.DatasheetError) as exc:
        fail(str(exc))
    if check:
        if stale:
            fail(f"stale: {', '.join(stale)}: run `stancekit datasheet`", 1)
        click.echo("DATASHEET.md and README.md are up to date")
        return
    click.echo(f"updated {datasheet_path}, {readme}" + (f" and {plots}/" if release_dir else ""))
