"""The manifest of a release: each file's sha256, size, rows and schema fingerprint, sealed by the
sha256 of the manifest's own content."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq

from .._files import file_sha256
from ..read import MANIFEST
from .schemas import schema_fingerprint
from .writer import dump_json


def parquet_entry(path: Path) -> dict:
    """Rows and schema of a Parquet file, from its footer: {rows, schema (schema_fingerprint), columns
    {name: Arrow type}}. Raises OSError or pyarrow.ArrowInvalid when it cannot be read as Parquet."""
    meta = pq.ParquetFile(path)
    schema = meta.schema_arrow
    return {"rows": meta.metadata.num_rows, "schema": schema_fingerprint(schema),
            "columns": {f.name: str(f.type) for f in schema}}


def file_entry(path: Path) -> dict:
    """A file's manifest entry: {sha256, bytes}, and for Parquet the `parquet_entry` keys. Raises OSError."""
    entry = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    if path.suffix == ".parquet":
        entry.update(parquet_entry(path))
    return entry


def release_files(root: Path) -> list[Path]:
    """Every file under a release directory but the manifest itself, sorted by path."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def content_sha256(files: dict[str, dict]) -> str:
    """sha256 over the name and sha256 of every Parquet file of a release: what its data holds."""
    lines = "".join(f"{name}\t{entry['sha256']}\n" for name, entry in sorted(files.items()) if name.endswith(".parquet"))
    return hashlib.sha256(lines.encode()).hexdigest()


def sealed(manifest: dict) -> str:
    """The manifest's text, with the sha256 of its own content (without that key) inside."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return dump_json({**body, "manifest_sha256": hashlib.sha256(dump_json(body).encode()).hexdigest()})
