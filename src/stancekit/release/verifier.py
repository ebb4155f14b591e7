"""Verify a release against its manifest: every file's checksum, size, rows and schema."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from .._files import file_sha256
from ..errors import ReleaseInputError
from ..read import MANIFEST, VERSION_DIR
from .manifest import parquet_entry, release_files, sealed


def verify(release_dir: Path) -> list[str]:
    """Recompute every file's checksum, size, rows and schema; one problem per line, naming the file.
    Raises ReleaseInputError when the manifest cannot be read."""
    release_dir = Path(release_dir)
    try:
        text = (release_dir / MANIFEST).read_text(encoding="utf-8")
        manifest = json.loads(text)
        recorded = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseInputError(f"{release_dir}/{MANIFEST}: cannot read the manifest ({exc})") from exc
    problems = []
    if text != sealed(manifest) or "manifest_sha256" not in manifest:
        problems.append(f"{MANIFEST}: its content does not match its manifest_sha256 (edited after the build)")
    if VERSION_DIR.match(release_dir.name) and release_dir.name != f"v{manifest.get('version')}":
        problems.append(f"{MANIFEST}: version {manifest.get('version')} does not match the directory {release_dir.name}")
    present = {p.relative_to(release_dir).as_posix() for p in release_files(release_dir)}
    for name in sorted(present - recorded.keys()):
        problems.append(f"{name}: not in the manifest (extra file)")
    for name in sorted(recorded):
        expected = recorded[name]
        if name not in present:
            problems.append(f"{name}: missing")
            continue
        path = release_dir / name
        if path.stat().st_size != expected["bytes"]:
            problems.append(f"{name}: {path.stat().st_size} bytes, manifest says {expected['bytes']}")
        if file_sha256(path) != expected["sha256"]:
            problems.append(f"{name}: sha256 differs from the manifest")
        if "rows" in expected:
            try:
                actual = parquet_entry(path)
            except (OSError, pa.ArrowInvalid) as exc:
                problems.append(f"{name}: not readable as Parquet ({exc})")
                continue
            if actual["rows"] != expected["rows"]:
                problems.append(f"{name}: {actual['rows']} rows, manifest says {expected['rows']}")
            if actual["schema"] != expected["schema"]:
                problems.append(f"{name}: schema fingerprint differs from the manifest")
    return problems
