"""Load a release as pandas DataFrames: `stancekit.load(version="latest", layer="gold")`.

pandas and pyarrow are imported on first use, so that `import stancekit` (and the CLI) stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path


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
    import pyarrow.parquet as pq

    table = pq.read_table(path, filters=[("layer", "=", layer)] if layer else None)
    return table.to_pandas(types_mapper=_pandas_types().get)


def _candidates(root: str | Path | None, releases_dir: str | Path | None) -> list[Path]:
    """Where to look for releases, in order: releases_dir, root/dataset/releases, $STANCEKIT_RELEASES,
    else dataset/releases in the working directory and each of its parents."""
    from . import release

    if releases_dir is not None:
        return [Path(releases_dir)]
    if root is not None:
        return [Path(root) / release.RELEASES_DIR]
    if os.environ.get("STANCEKIT_RELEASES"):
        return [Path(os.environ["STANCEKIT_RELEASES"])]
    here = Path.cwd()
    return [directory / release.RELEASES_DIR for directory in (here, *here.parents)]


def load(version: str = "latest", layer: str | None = "gold", releases_dir: str | Path | None = None,
         root: str | Path | None = None, path: str | Path | None = None) -> dict:
    """The release's tables {documents, annotations, spans[, relations]} as pandas DataFrames.

    Which release: `path` (a release directory, e.g. ".../dataset/releases/v2.0.0"), else
    `version` ("latest", "X.Y.Z") among the releases in `releases_dir`, else in
    `root`/dataset/releases (`root`: a stancekit repository), else in $STANCEKIT_RELEASES, else in
    dataset/releases of the working directory or the nearest parent that has one.
    annotations, spans and relations (there only when the release has relations.parquet) are
    filtered to `layer`: "gold", "annotation", "prediction", or None for all. Columns and dtypes
    are listed in README ("Release columns"); releases before 2.0.0 have no source columns
    (source_kind, source_caveats, outlet, author).

    Raises FileNotFoundError saying where it looked and what to pass when there is no such
    release, ValueError for an unknown layer.
    """
    from . import release

    if layer is not None and layer not in release.LAYERS:
        raise ValueError(f"layer must be one of {', '.join(release.LAYERS)} or None, not {layer!r}")
    if path is not None:
        path = Path(path)
        if not (path / release.MANIFEST).is_file():
            raise FileNotFoundError(f"{path.resolve()} is not a release directory (it has no {release.MANIFEST}): "
                                    "pass path= a directory like dataset/releases/vX.Y.Z")
        return read_release(path, layer)
    looked = _candidates(root, releases_dir)
    for directory in looked:
        if release.list_releases(directory):
            try:
                return read_release(release.resolve(version, directory), layer)
            except release.ReleaseError as exc:
                raise FileNotFoundError(f"{exc} (versions there: "
                                        f"{', '.join(p.name for p in release.list_releases(directory))})") from exc
    where = ", ".join(str(p.resolve()) for p in looked[:3]) + (f" and {len(looked) - 3} parents more" if len(looked) > 3 else "")
    raise FileNotFoundError(f"no release found (looked in {where}): pass root= the stancekit repository, "
                            "path= a release directory (.../dataset/releases/vX.Y.Z) or releases_dir=, "
                            "or set STANCEKIT_RELEASES")


def read_release(root: str | Path, layer: str | None = None) -> dict:
    """The tables of the release directory `root`, annotations, spans and relations filtered to `layer`.

    "relations" is there only when the release has relations.parquet (some annotation drew relations).
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
