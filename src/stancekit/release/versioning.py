"""Versions of a release, TFDS semantics: what changed since the previous release, and the bump it needs.

A release is compared with the previous one record by record (a digest per document, and per
layer per annotation with its spans), column by column and dictionary value by value: labels
changed or removed need a major bump, records or fields added a minor one, anything else a patch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq

from .. import croissant
from ..errors import ReleaseRefused, StancekitError
from ..read import LAYERS, parse_version
from ..taxonomy import TEXT_NAME
from .card import CARD
from .writer import dump_json


class Unchanged(StancekitError):
    """With --bump: the inputs give exactly the latest release again (not a failure)."""


def _row_key(layer: str, row: dict) -> str:
    if layer == "gold":
        return row["doc_id"]
    return f"{row['doc_id']}/{row['annotation_id']}/{row.get('model_version') or row.get('annotator')}"


def fingerprints(release_dir: Path) -> dict[str, dict]:
    """A digest per record: documents by doc_id, and per layer each annotation with its spans."""
    out: dict[str, dict] = {"documents": {}, **{layer: {} for layer in LAYERS}}
    for batch in pq.ParquetFile(release_dir / "documents.parquet").iter_batches(columns=["doc_id", TEXT_NAME]):
        for row in batch.to_pylist():
            out["documents"][row["doc_id"]] = hashlib.sha256(row[TEXT_NAME].encode()).hexdigest()
    for name in ("annotations.parquet", "spans.parquet"):
        for batch in pq.ParquetFile(release_dir / name).iter_batches():
            for row in batch.to_pylist():
                layer = row.pop("layer")
                key = _row_key(layer, row)
                for volatile in ("source", "region_id"):
                    row.pop(volatile, None)
                # A record's digest is the sum of its rows' digests: small, and independent of row order.
                digest = int.from_bytes(hashlib.sha256(dump_json(row).encode()).digest()[:16], "big")
                out[layer][key] = (out[layer].get(key, 0) + digest) % 2**128
    return out


def gold_spans(release_dir: Path) -> dict[tuple, str]:
    """The gold spans of a release: (doc_id, label, start, end) -> its attributes (as JSON), for the
    CHANGELOG's per-document span diff; who adjudicated and the status are not compared."""
    out = {}
    table = pq.read_table(release_dir / "spans.parquet", filters=[("layer", "=", "gold")])
    for row in table.to_pylist():
        key = (row.pop("doc_id"), str(row.pop("label")), row.pop("start"), row.pop("end"))
        for other in ("layer", "source", "region_id", "raw_start", "raw_end", "annotators", "status", "annotator",
                      "annotation_id", "model_version", "text"):
            row.pop(other, None)
        out[key] = dump_json(row)
    return out


def diff(old_dir: Path, new_dir: Path, old_manifest: dict, new_files: dict, new_dicts: dict) -> dict:
    """What changed between two releases: {records: per kind, added/removed/changed counts; gold_spans:
    doc_id -> label -> counts; columns and values added/removed/changed; files whose sha256 differs}.
    Raises OSError or pyarrow.ArrowInvalid when a release's Parquet cannot be read."""
    old, new = fingerprints(old_dir), fingerprints(new_dir)
    records = {}
    for kind in old:
        a, b = old[kind], new[kind]
        records[kind] = {
            "added": len(b.keys() - a.keys()),
            "removed": len(a.keys() - b.keys()),
            "changed": sum(1 for k in a.keys() & b.keys() if a[k] != b[k]),
        }
    columns: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    for name, info in new_files.items():
        before = old_manifest["files"].get(name, {}).get("columns", {})
        after = info.get("columns", {})
        columns["added"] += [f"{name}:{c}" for c in after if c not in before]
        columns["removed"] += [f"{name}:{c}" for c in before if c not in after]
        columns["changed"] += [f"{name}:{c}" for c in after if c in before and before[c] != after[c]]
    values: dict[str, list[str]] = {"added": [], "removed": []}
    old_dicts = old_manifest.get("dictionaries", {})
    for column, vals in new_dicts.items():
        values["added"] += [f"{column}={v}" for v in vals if v not in old_dicts.get(column, [])]
        values["removed"] += [f"{column}={v}" for v in old_dicts.get(column, []) if v not in vals]
    files = sorted(name for name, info in new_files.items()  # the card and croissant.json name the version
                   if name not in (CARD, croissant.FILE) and old_manifest["files"].get(name, {}).get("sha256") != info["sha256"])
    old_spans, new_spans = gold_spans(old_dir), gold_spans(new_dir)
    spans: dict[str, dict[str, dict[str, int]]] = {}  # doc_id -> label -> added/removed/changed
    for key in sorted(old_spans.keys() | new_spans.keys()):
        what = ("added" if key not in old_spans else "removed" if key not in new_spans
                else "changed" if old_spans[key] != new_spans[key] else None)
        if what:
            counts = spans.setdefault(key[0], {}).setdefault(key[1], {"added": 0, "removed": 0, "changed": 0})
            counts[what] += 1
    return {"records": records, "gold_spans": spans, "columns": columns, "values": values, "files": files}


def bump_of(changes: dict) -> str | None:
    """The TFDS part to bump: existing labels changed -> major, records or fields added -> minor, else patch.

    None when nothing changed at all.
    """
    records, columns, values = changes["records"], changes["columns"], changes["values"]
    labels = [records[k] for k in ("documents", "annotation", "gold")]
    if any(r["changed"] or r["removed"] for r in labels) or columns["removed"] or columns["changed"] or values["removed"]:
        return "major"
    if any(r["added"] for r in records.values()) or records["prediction"]["changed"] or records["prediction"]["removed"] \
            or columns["added"] or values["added"]:
        return "minor"
    return "patch" if changes["files"] or changes.get("other") else None


def bumped(version: tuple[int, int, int], part: str) -> tuple[int, int, int]:
    """`version` with `part` ("major", "minor" or "patch") incremented and the parts after it reset."""
    major, minor, patch = version
    return {"major": (major + 1, 0, 0), "minor": (major, minor + 1, 0), "patch": (major, minor, patch + 1)}[part]


def next_version(previous: Path | None, needed: str | None, bump: str) -> tuple[int, int, int]:
    """The next version for `--bump` (auto or a part) after `previous` (1.0.0 without one), given the
    part the changes need (`bump_of`). Raises Unchanged when nothing changed, ReleaseRefused for a
    part smaller than the changes need."""
    if previous is None:
        return (1, 0, 0)
    if needed is None:
        raise Unchanged(f"{previous} already holds these inputs: nothing to release")
    order = ("patch", "minor", "major")
    if bump != "auto" and order.index(bump) < order.index(needed):
        raise ReleaseRefused(f"the changes since {previous.name} need a {needed} bump, not {bump}")
    return bumped(parse_version(previous.name), needed if bump == "auto" else bump)
