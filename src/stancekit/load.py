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


def load(version: str = "latest", layer: str | None = "gold", releases_dir: str | Path | None = None) -> dict:
    """The release's tables {documents, annotations, spans[, relations]} as pandas DataFrames.

    annotations and spans are filtered to `layer`: "gold", "annotation", "prediction", or
    None for all. `releases_dir` defaults to $STANCEKIT_RELEASES, else dataset/releases.
    Columns and dtypes are listed in README ("Release columns").
    """
    from . import release

    if layer is not None and layer not in release.LAYERS:
        raise ValueError(f"layer must be one of {', '.join(release.LAYERS)} or None, not {layer!r}")
    releases_dir = Path(releases_dir or os.environ.get("STANCEKIT_RELEASES") or release.RELEASES_DIR)
    return read_release(release.resolve(version, releases_dir), layer)


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
