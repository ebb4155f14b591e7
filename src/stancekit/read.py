"""Read a published release: list and resolve the releases of a folder, read their tables as pandas
DataFrames (`stancekit.load(version="latest", layer="gold")`), and the dtypes they get.

The reading side of the package: it imports nothing from the builder side (`stancekit.release`,
validate, agreement, ingest ...), and pandas and pyarrow only on first use, so that
`import stancekit` (and the CLI) stays fast. tests/test_read.py checks which modules
`stancekit.load()` brings in.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import paths
from .errors import ReleaseInputError, ReleaseNotFound

RELEASES_DIR = paths.RELEASES_DIR
MANIFEST = "manifest.json"  # in every release directory vX.Y.Z; a directory without one is not a release
LAYERS = ("annotation", "gold", "prediction")  # the `layer` column of annotations, spans and relations
VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of "X.Y.Z" or "vX.Y.Z"; raises ReleaseInputError for anything else."""
    m = VERSION_DIR.match(text if text.startswith("v") else "v" + text)
    if not m:
        raise ReleaseInputError(f"version {text!r} is not X.Y.Z")
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def list_releases(out_dir: Path = RELEASES_DIR) -> list[Path]:
    """Release directories that have a manifest, oldest version first."""
    if not Path(out_dir).is_dir():
        return []
    found = [p for p in Path(out_dir).iterdir() if VERSION_DIR.match(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: parse_version(p.name))


def resolve(version: str = "latest", out_dir: Path = RELEASES_DIR) -> Path:
    """The directory of a release: `latest`, `X.Y.Z` or `vX.Y.Z` among the releases of `out_dir`, or
    the path of a release directory itself (one with a manifest.json). Raises ReleaseNotFound when
    there is no such release (or none at all), ReleaseInputError for a version that is not X.Y.Z."""
    if (Path(version) / MANIFEST).is_file():
        return Path(version)
    releases = list_releases(out_dir)
    if version == "latest":
        if not releases:
            raise ReleaseNotFound(f"no release in {out_dir}: build one with `stancekit release` "
                                  "(in the repository: `make dataset`, then `make publish`)")
        return releases[-1]
    path = Path(out_dir) / f"v{format_version(parse_version(version))}"
    if path not in releases:
        raise ReleaseNotFound(f"no release {version} in {out_dir}")
    return path


def _pandas_types() -> dict:
    """Nullable pandas dtypes, so that a missing integer stays an integer (not a float NaN)."""
    import pandas as pd
    import pyarrow as pa

    return {pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
            pa.bool_(): pd.BooleanDtype()}


def pandas_dtype(arrow_type) -> str:
    """The pandas dtype `load` gives a column of this Arrow type (dictionary columns are categories)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return "category"
    return str(_pandas_types().get(arrow_type, "object"))


def _frame(path: Path, layer: str | None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, filters=[("layer", "=", layer)] if layer else None)
    except (OSError, pa.ArrowException) as exc:
        raise ReleaseInputError(f"{path}: cannot read this table of the release ({exc}): "
                                f"`stancekit verify {path.parent}` lists what differs from its manifest") from exc
    return table.to_pandas(types_mapper=_pandas_types().get)


def _candidates(root: str | Path | None, releases_dir: str | Path | None) -> list[Path]:
    """Where to look for releases, in order: releases_dir, root/dataset/releases, $STANCEKIT_RELEASES,
    else dataset/releases in the working directory and each of its parents."""
    if releases_dir is not None:
        return [Path(releases_dir)]
    if root is not None:
        return [Path(root) / RELEASES_DIR]
    if os.environ.get("STANCEKIT_RELEASES"):
        return [Path(os.environ["STANCEKIT_RELEASES"])]
    here = Path.cwd()
    return [directory / RELEASES_DIR for directory in (here, *here.parents)]


def load(version: str = "latest", layer: str | None = "gold", releases_dir: str | Path | None = None,
         root: str | Path | None = None, path: str | Path | None = None) -> dict:
    """The release's tables {documents, annotations, spans[, relations]} as pandas DataFrames.

    Which release: `path` (a release directory, e.g. ".../dataset/releases/v2.0.0"; `version`
    must then stay "latest"), else `version` ("latest", "X.Y.Z") among the releases in `releases_dir`, else in
    `root`/dataset/releases (`root`: a stancekit repository), else in $STANCEKIT_RELEASES, else in
    dataset/releases of the working directory or the nearest parent that has one.
    annotations, spans and relations (there only when the release has relations.parquet) are
    filtered to `layer`: "gold", "annotation", "prediction", or None for all. Columns and dtypes
    are listed in README ("Release columns"); releases before 2.0.0 have no source columns
    (source_kind, source_caveats, outlet, author).

    Raises ReleaseNotFound (a FileNotFoundError) saying where it looked and what to pass when
    there is no such release; ReleaseInputError (a ValueError) for a version that is not X.Y.Z, an
    unknown layer, both `path` and a `version`, or a table that cannot be read. Both derive from
    `stancekit.errors.StancekitError`.
    """
    if layer is not None and layer not in LAYERS:
        raise ReleaseInputError(f"layer must be one of {', '.join(LAYERS)} or None, not {layer!r}")
    if version != "latest":
        parse_version(version)  # a malformed version is said so, wherever the releases are looked for
    if path is not None:
        if version != "latest":
            raise ReleaseInputError(f"give path= or version=, not both (path={path}, version={version})")
        path = Path(path)
        if not (path / MANIFEST).is_file():
            raise ReleaseNotFound(f"{path.resolve()} is not a release directory (it has no {MANIFEST}): "
                                  "pass path= a directory like dataset/releases/vX.Y.Z")
        return read_release(path, layer)
    looked = _candidates(root, releases_dir)
    for directory in looked:
        if list_releases(directory):
            try:
                return read_release(resolve(version, directory), layer)
            except ReleaseNotFound as exc:
                raise ReleaseNotFound(f"{exc} (versions there: "
                                      f"{', '.join(p.name for p in list_releases(directory))})") from exc
    where = ", ".join(str(p.resolve()) for p in looked[:3]) + (f" and {len(looked) - 3} parents more" if len(looked) > 3 else "")
    raise ReleaseNotFound(f"no release found (looked in {where}): pass root= the stancekit repository, "
                          "path= a release directory (.../dataset/releases/vX.Y.Z) or releases_dir=, "
                          "or set STANCEKIT_RELEASES")


def read_release(root: str | Path, layer: str | None = None) -> dict:
    """The tables of the release directory `root`, annotations, spans and relations filtered to `layer`.

    "relations" is there only when the release has relations.parquet (some annotation drew relations).
    Raises ReleaseInputError naming the file when a table is missing or not readable as Parquet.
    """
    root = Path(root)
    tables = {
        "documents": _frame(root / "documents.parquet", None),
        "annotations": _frame(root / "annotations.parquet", layer),
        "spans": _frame(root / "spans.parquet", layer),
    }
    if (root / "relations.parquet").exists():
        tables["relations"] = _frame(root / "relations.parquet", layer)
    return tables
