"""Build an immutable, versioned, checksummed Parquet release, and verify one.

A release `dataset/releases/vX.Y.Z/` is built in a temporary directory next to it and
renamed into place, so it appears whole or not at all, and an existing version is never
overwritten. Exports are streamed task by task (bounded memory) through the one reader,
`stancekit.validate.Reader`: any validation error refuses the release. The same inputs give
byte-identical files: no clock is read, Parquet writer options are fixed, JSON keys are
sorted, and rows come in a fixed order: documents as in documents.parquet (gold rows with
them), then each export (sorted by path) task by task, annotations by id and spans by
(start, end, label), then the predictions of the task file.

Each export is read once. Agreement between annotators is its own stage (`stancekit agreement
--format json`, whose memory grows with the documents): the manifest summarises that report,
an input like the others. The prediction layer comes from the task file only. Every span gets
its raw-file bytes from ingest's offset map.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from . import agreement, columns, croissant, exports, ingest, paths, preannotate, validate
from . import documents as documents_mod
from . import gold as gold_mod
from ._files import file_sha256, markdown_table, write_text
from .columns import LAYERS
from .errors import CheckFailed, InputError, StancekitError
from .records import Record
from .taxonomy import TEXT_NAME, Taxonomy

RELEASES_DIR = paths.RELEASES_DIR
# Deterministic split of the Hugging Face view: by the first 8 bytes of sha256(doc_id).
SPLITS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
SPLIT_RULE = "sha256(doc_id): first 8 bytes as a big-endian fraction of 2**64; < 0.8 train, < 0.9 validation, else test"
MANIFEST = "manifest.json"
CARD = "README.md"
CHANGELOG = "CHANGELOG.md"
# A file's buffered rows are written as a row group at this many rows or characters of text,
# whichever comes first: this bounds memory whatever the size of the inputs.
ROW_GROUP_ROWS = 10_000
ROW_GROUP_CHARS = 250_000  # 1M held ~40 MB more at the peak (four document writers buffer at once)
# Fixed writer options: together with a fixed pyarrow version (its `created_by` string is
# "parquet-cpp-arrow version X"), the same rows give the same bytes.
PARQUET_OPTIONS = dict(
    version="2.6", compression="zstd", compression_level=3, use_dictionary=True, write_statistics=True,
    data_page_version="1.0", store_schema=True, write_page_index=False,
)
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
_BUILD_DIR = re.compile(r"^\.build-(\d+)-")

DOCUMENT_COLUMNS = documents_mod.COLUMNS


class ReleaseError(StancekitError):
    """The release cannot be built, verified or found (one of the two kinds below)."""


class ReleaseInputError(ReleaseError, InputError):
    """An input of the release, a release directory or its manifest cannot be read or used."""


class ReleaseRefused(ReleaseError, CheckFailed):
    """The inputs were read and the release is refused: validation errors in the exports or
    predictions, gold that does not fit the documents, an existing version, or the wrong bump."""


class Unchanged(StancekitError):
    """With --bump: the inputs give exactly the latest release again (not a failure)."""


# ---------------------------------------------------------------- schemas

def dictionaries(taxonomy: Taxonomy) -> dict[str, list[str]]:
    """The value list of every dictionary-encoded column, from the taxonomy and the gold contract."""
    out = {"layer": list(LAYERS), "label": taxonomy.label_names}
    for q in taxonomy.questions:
        out[q.name] = q.value_names
    for q in taxonomy.document_choices:
        out[f"{q.name}_status"] = list(gold_mod.DOC_STATUSES)
    out["status"] = list(gold_mod.SPAN_STATUSES)
    return out


def annotations_schema(taxonomy: Taxonomy) -> pa.Schema:
    return columns.schema(columns.annotation_columns(taxonomy))


def spans_schema(taxonomy: Taxonomy) -> pa.Schema:
    return columns.schema(columns.span_columns(taxonomy))


def relations_schema() -> pa.Schema:
    """relations.parquet, written only when some annotation or prediction has relations."""
    return columns.schema(columns.relation_columns())


def hf_schema(taxonomy: Taxonomy) -> pa.Schema:
    """The Hugging Face view: one row per document, plain strings (datasets cannot read dictionary columns)."""
    return columns.schema(columns.hf_columns(taxonomy))


def schema_fingerprint(schema: pa.Schema) -> str:
    """sha256 over the column names, types and nullability (not the metadata)."""
    text = "\n".join(f"{f.name}\t{f.type}\t{f.nullable}" for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- writing

class _TableWriter:
    """Buffer rows (dicts) and write them as row groups of a Parquet file."""

    def __init__(self, path: Path, schema: pa.Schema, dictionaries: dict[str, list[str]]):
        self.path, self.schema, self.rows = path, schema, 0
        self.layers: Counter = Counter()  # rows per layer
        self._dicts = {name: (pa.array(values, pa.string()), {v: i for i, v in enumerate(values)})
                       for name, values in dictionaries.items() if name in schema.names}
        self._buffer: list[dict] = []
        self._batches: list[pa.RecordBatch] = []  # rows passed through in Arrow form (add_batch)
        self._batch_rows = 0
        self._chars = 0
        self._writer = pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)

    def add(self, row: dict, where: str) -> None:
        for name, (_, index) in self._dicts.items():
            value = row.get(name)
            if value is not None and value not in index:
                raise ReleaseRefused(f"{where}: {name} {value!r} is not in the taxonomy (expected one of {', '.join(index)})")
        self._buffer.append(row)
        self.layers[row.get("layer")] += 1
        self._chars += sum([len(v) for v in row.values() if type(v) is str])
        if len(self._buffer) >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
            self._flush()

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Buffer rows already in Arrow form: written as they are, without becoming Python objects."""
        self._batches.append(batch)
        self._batch_rows += batch.num_rows
        self._chars += sum(pc.sum(pc.utf8_length(column)).as_py() or 0
                           for column in batch.columns if pa.types.is_string(column.type))
        if self._batch_rows >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
            self._flush()

    def _flush(self) -> None:
        if self._batches:
            table = pa.Table.from_batches(self._batches).cast(self.schema)
            self._writer.write_table(table, row_group_size=table.num_rows)
            self.rows += table.num_rows
            self._batches, self._batch_rows, self._chars = [], 0, 0
        if not self._buffer:
            return
        columns = []
        for field in self.schema:
            values = [row.get(field.name) for row in self._buffer]
            if field.name in self._dicts:
                dictionary, index = self._dicts[field.name]
                indices = pa.array([None if v is None else index[v] for v in values], pa.int32())
                columns.append(pa.DictionaryArray.from_arrays(indices, dictionary))
            else:
                columns.append(pa.array(values, field.type))
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self.schema), row_group_size=len(self._buffer))
        self.rows += len(self._buffer)
        self._buffer, self._chars = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def _dump_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def split_of(doc_id: str) -> str:
    """The Hugging Face split of a document, from its id alone (see SPLIT_RULE)."""
    fraction = int.from_bytes(hashlib.sha256(doc_id.encode()).digest()[:8], "big") / 2**64
    bound = 0.0
    for name, share in SPLITS:
        bound += share
        if fraction < bound:
            return name
    return SPLITS[-1][0]


def hf_data_file(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


# ---------------------------------------------------------------- inputs

@dataclass
class Inputs:
    documents: Path
    exports: list[Path]
    gold: Path | None = None
    tasks: Path | None = None
    agreement: Path | None = None  # `stancekit agreement --format json` over the exports
    rules: Path | None = None  # the pre-annotator's cue file: its actor cues make the actor-sentence baseline

    def listing(self) -> list[dict]:
        """Every input file with its role and sha256, in a fixed order."""
        items = [("documents", self.documents)] + [("export", p) for p in sorted(self.exports)]
        items += [(role, p) for role, p in (("gold", self.gold), ("tasks", self.tasks), ("agreement", self.agreement),
                                            ("rules", self.rules)) if p is not None]
        return [{"role": role, "path": str(p), "sha256": file_sha256(Path(p)), "bytes": Path(p).stat().st_size}
                for role, p in items]


def _strings(value) -> list[str] | None:
    return [str(v) for v in value] if isinstance(value, list) else None


def _slice(text: str, start, end, where: str) -> str:
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text)):
        raise ReleaseRefused(f"{where}: span [{start}, {end}) is outside the document text (length {len(text)})")
    return text[start:end]


# ---------------------------------------------------------------- building

class _Build:
    """Writes the data files of one release into `root`, streaming its inputs once.

    Documents go into a `DocumentStore` (texts and offset maps on disk) as they are written through;
    exports and predictions are read by the one reader, `validate.Reader`, which checks every task
    against its document. Any validation error refuses the release after the full pass, naming how
    many and the first (`validate.InputRejected` -> ReleaseRefused).
    """

    def __init__(self, root: Path, inputs: Inputs, taxonomy: Taxonomy, sha256: dict[str, str],
                 on_bytes: Callable[[int], None] | None = None):
        self.root, self.inputs, self.taxonomy, self.sha256 = root, inputs, taxonomy, sha256
        self.on_bytes = on_bytes  # progress: called with the bytes of each task read
        dicts = dictionaries(taxonomy)
        (root / "data").mkdir()
        self.annotations = _TableWriter(root / "annotations.parquet", annotations_schema(taxonomy), dicts)
        self.spans = _TableWriter(root / "spans.parquet", spans_schema(taxonomy), dicts)
        self.relations = _TableWriter(root / "relations.parquet", relations_schema(), dicts)
        self.hf = {name: _TableWriter(root / hf_data_file(name), hf_schema(taxonomy), {}) for name, _ in SPLITS}
        self.store = documents_mod.DocumentStore()
        self.doc_questions = [q.name for q in taxonomy.document_choices]
        self.hf_span_keys = hf_schema(taxonomy).field("spans").type.value_type.names
        self.annotators: set[str | None] = set()  # None: ANNOTATOR_MISSING (an error: refused after the pass)
        self.doc_ids: set[str] = set()
        self.counts: Counter = Counter()

    def run(self) -> None:
        try:
            gold = {d["doc_id"]: d for d in gold_mod.read_gold(self.inputs.gold, self.taxonomy)["documents"]} \
                if self.inputs.gold else {}
        except gold_mod.GoldError as exc:
            raise ReleaseRefused(str(exc)) from exc
        documents = self._documents(gold)
        for writer in [documents, *self.hf.values()]:
            writer.close()  # done with the document texts: free their buffers before the exports
        missing = sorted(set(gold) - self.doc_ids)
        if missing:
            raise ReleaseRefused(f"{self.inputs.gold}: gold document {missing[0]} is not in {self.inputs.documents}")
        try:
            reader = validate.Reader(self.taxonomy, documents=self.store, on_bytes=self.on_bytes)
            self._records(reader.read(sorted(self.inputs.exports)))
            reader.refuse_errors()
            if self.inputs.tasks:
                reader = validate.Reader(self.taxonomy, documents=self.store, on_bytes=self.on_bytes)
                self._records(reader.read_predictions([self.inputs.tasks]))
                reader.refuse_errors()
        except validate.InputRejected as exc:
            raise ReleaseRefused(str(exc)) from exc
        for writer in [self.annotations, self.spans, self.relations]:
            writer.close()
        for writer in [self.relations, *self.hf.values()]:
            if not writer.rows:
                writer.path.unlink()
        self.store.close()

    def _documents(self, gold: dict[str, dict]) -> _TableWriter:
        """Write documents.parquet and the gold rows, document by document; returns the documents' writer."""
        path = self.inputs.documents
        try:
            batches = self.store.load(path)
            first = next(batches, None)
            if first is None:
                raise ReleaseInputError(f"{path}: no documents")
            # An all-null column of the contract (url, published) may come typed null: keep it a string.
            schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) and f.name in DOCUMENT_COLUMNS
                                else f for f in first.schema])
            writer = _TableWriter(self.root / "documents.parquet", schema, {})
            for batch in itertools.chain([first], batches):
                used = [name for name in columns.HF_DOCUMENT_COLUMNS if name in batch.schema.names]
                for doc in batch.select(used).to_pylist():
                    self.doc_ids.add(doc["doc_id"])
                    self._gold_document(doc, gold.get(doc["doc_id"]))
                writer.add_batch(batch)
        except documents_mod.DocumentsError as exc:
            raise ReleaseInputError(str(exc)) from exc
        return writer

    def _gold_document(self, doc: dict, gold_doc: dict | None) -> None:
        doc_id, text = doc["doc_id"], doc[TEXT_NAME]
        where = f"{self.inputs.gold}: document {doc_id}"
        hf_row: dict[str, Any] = {key: doc.get(key) for key in columns.HF_DOCUMENT_COLUMNS}
        hf_row["spans"] = []
        if gold_doc is not None:
            row = {"layer": "gold", "doc_id": doc_id, "annotators": _strings(gold_doc.get("annotators")),
                   "source": str(self.inputs.gold)}
            for name in self.doc_questions:
                row[name] = hf_row[name] = gold_doc.get(name)
                row[f"{name}_status"] = hf_row[f"{name}_status"] = gold_doc.get(f"{name}_status")
            self.annotations.add(row, where)
            for span in gold_doc["spans"]:
                span_row = {
                    "layer": "gold", "doc_id": doc_id, "label": span["label"],
                    "start": span["start"], "end": span["end"],
                    "text": _slice(text, span["start"], span["end"], where),
                    **self._raw(doc_id, span["start"], span["end"]),
                    "status": span["status"], "annotators": _strings(span["annotators"]),
                    **{q.name: span.get(q.name) for q in self.taxonomy.region_attributes},
                }
                self.spans.add(span_row, where)
                hf_row["spans"].append({k: span_row[k] for k in self.hf_span_keys})
            self.counts["gold_documents"] += 1
        self.hf[split_of(doc_id)].add(hf_row, where)

    def _raw(self, doc_id: str, start: int, end: int) -> dict:
        """raw_start and raw_end of a span already checked to lie in its document (None without an offset_map)."""
        omap = self.store.offset_map(doc_id)
        raw_start, raw_end = ingest.to_raw_offsets(omap, start, end) if omap else (None, None)
        return {"raw_start": raw_start, "raw_end": raw_end}

    def _records(self, records: Iterable[Record]) -> None:
        """Write the rows of the reader's records, each task's annotations (or predictions) in id order."""
        for _, task_records in itertools.groupby(records, key=lambda r: (r.file, r.task_index)):
            for record in sorted(task_records, key=lambda r: (r.annotation_id is None, r.annotation_id or 0)):
                self._record(record)

    def _record(self, record: Record) -> None:
        where = record.where
        base: dict[str, object] = {"layer": record.layer, "doc_id": record.doc_id, "annotation_id": record.annotation_id}
        row: dict[str, object]
        if record.layer == "prediction":
            base["model_version"] = record.model_version
            row = {"score": record.score}
        else:
            base["annotator"] = record.annotator
            self.annotators.add(record.annotator)
            row = {"ground_truth": record.ground_truth, "lead_time": record.lead_time,
                   "created_at": record.created_at, "updated_at": record.updated_at}
        for span in record.spans:
            self.spans.add({**base, "region_id": span.region_id, "label": span.label, "start": span.start,
                            "end": span.end, "text": span.text, **self._raw(record.doc_id, span.start, span.end),
                            **span.attributes}, f"{where}, region {span.region_id}")
        for relation in record.relations:
            self.relations.add({**base, "task_id": record.task_id, "from_id": relation.from_id, "to_id": relation.to_id,
                                "direction": relation.direction, "labels": list(relation.labels)}, where)
        self.annotations.add({**base, "task_id": record.task_id, "chunk": record.chunk, **row,
                              "source": record.file, **record.choices}, where)


def agreement_summary(path: Path | None) -> dict:
    """The manifest's agreement between annotators, from the report of `stancekit agreement --format json`
    (a stage of its own, so that the release stays in bounded memory): per document question
    Krippendorff's alpha and each pair's Cohen's kappa; span F1 over all pairs per match mode; and
    `against_gold`, each annotator against the adjudicated gold: alpha per document question, span
    F1 per match mode (all spans and per label), agreement on the attributes of matched spans.

    Every number carries its n and 95% interval, or a null value and the reason it is undefined.
    """
    if path is None:
        return {"undefined": "no agreement report: run `stancekit agreement --format json EXPORT... > FILE`, "
                             "then release with --agreement FILE"}
    try:
        report = json.loads(path.read_bytes())
        return {
            "annotators": report["annotators"],
            "documents_with_two_or_more_annotators": report["documents_with_two_or_more_annotators"],
            "bootstrap": report["bootstrap"],
            "document_choices": {
                name: {"alpha": block["alpha"],
                       "kappa": [{"annotators": pair["annotators"], **pair["kappa"]} for pair in block["pairs"]]}
                for name, block in report["document_choices"].items()},
            "span_f1": {mode: block["all_pairs"]["scopes"][agreement.ALL]["f1"] for mode, block in report["spans"].items()},
            "against_gold": {
                annotator: {
                    "documents": block["documents"],
                    "document_choices": {name: choice["alpha"] for name, choice in block["document_choices"].items()},
                    "span_f1": {mode: {scope: stats["f1"] for scope, stats in pair["scopes"].items()
                                       if scope == agreement.ALL or scope.startswith("label:")}
                                for mode, pair in block["spans"].items()},
                    "attributes": {mode: {name: stats["agreement"] for name, stats in pair["attributes"].items()}
                                   for mode, pair in block["spans"].items()},
                } for annotator, block in report.get("against_gold", {}).items()},
            "problems": report["problems"],
        }
    except OSError as exc:
        raise ReleaseInputError(f"{path}: cannot read ({exc.strerror})") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReleaseInputError(f"{path}: not a report of `stancekit agreement --format json` ({exc!r})") from exc


def prediction_summary(inputs: Inputs, taxonomy: Taxonomy) -> dict:
    """The manifest's scores of the prediction layer (the task file's predictions) against gold,
    from `agreement.evaluate` (fixed seed): per model, each document question's accuracy and kappa,
    and span precision, recall and F1 per match mode, for all spans and per label and category.
    With the pre-annotator's rules among the inputs, the two baselines of `evaluate` are scored too.
    Raises ReleaseInputError for unreadable gold or rules, ReleaseRefused when the predictions have
    validation errors."""
    if inputs.gold is None or inputs.tasks is None:
        return {"models": [], "undefined": "no gold" if inputs.gold is None else "no task file with predictions"}
    try:
        baselines = preannotate.load(taxonomy, inputs.rules) if inputs.rules else None
        report = agreement.evaluate(inputs.gold, [inputs.tasks], taxonomy, baselines=baselines)
    except (gold_mod.GoldError, preannotate.PreannotatorError) as exc:
        raise ReleaseInputError(str(exc)) from exc
    except validate.InputRejected as exc:
        raise ReleaseRefused(str(exc)) from exc
    models = []
    for model in report["models"]:
        spans = {}
        for mode, block in model["spans"].items():
            spans[mode] = {scope: stats for scope, stats in block["scopes"].items()
                           if scope == agreement.ALL or stats["f1"]["n"]["first"] or stats["f1"]["n"]["second"]}
        models.append({"model_version": model["model_version"], "documents": model["documents"],
                       "document_choices": model["document_choices"], "spans": spans})
    return {"bootstrap": report["bootstrap"], "models": models, "problems": report["problems"]}


# ---------------------------------------------------------------- versions and diffs

def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of "X.Y.Z" or "vX.Y.Z"; raises ReleaseInputError for anything else."""
    m = _VERSION_DIR.match(text if text.startswith("v") else "v" + text)
    if not m:
        raise ReleaseInputError(f"version {text!r} is not X.Y.Z")
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def list_releases(out_dir: Path = RELEASES_DIR) -> list[Path]:
    """Release directories that have a manifest, oldest version first."""
    if not Path(out_dir).is_dir():
        return []
    found = [p for p in Path(out_dir).iterdir() if _VERSION_DIR.match(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: parse_version(p.name))


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
                digest = int.from_bytes(hashlib.sha256(_dump_json(row).encode()).digest()[:16], "big")
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
        out[key] = _dump_json(row)
    return out


def diff(old_dir: Path, new_dir: Path, old_manifest: dict, new_files: dict, new_dicts: dict) -> dict:
    """What changed between two releases: per kind of record, and per column and dictionary."""
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
    major, minor, patch = version
    return {"major": (major + 1, 0, 0), "minor": (major, minor + 1, 0), "patch": (major, minor, patch + 1)}[part]


def _changelog_lines(changes: dict | None, counts: dict) -> list[str]:
    if changes is None:
        return [f"First release: {counts['documents']} documents, {counts['annotations']} annotations "
                f"by {counts['annotators']} annotators, {counts['spans']['gold']} gold spans."]
    lines = []
    for kind, r in changes["records"].items():
        parts = [f"{n} {what}" for what, n in r.items() if n]
        if parts:
            lines.append(f"{kind}: {', '.join(parts)}")
    for doc_id, labels in changes.get("gold_spans", {}).items():
        parts = [f"{label} " + ", ".join(f"{n} {what}" for what, n in counts.items() if n)
                 for label, counts in labels.items()]
        lines.append(f"gold spans of {doc_id} (a moved boundary counts as removed and added): {'; '.join(parts)}")
    for what, cols in changes["columns"].items():
        if cols:
            lines.append(f"columns {what}: {', '.join(cols)}")
    for what, vals in changes["values"].items():
        if vals:
            lines.append(f"values {what}: {', '.join(vals)}")
    if changes.get("other"):
        lines.append(f"other: {changes['other']}")
    if not lines and changes["files"]:
        lines.append(f"files rewritten, no record changed: {', '.join(changes['files'])}")
    return lines


def render_changelog(out_dir: Path) -> str:
    """CHANGELOG.md for every release in out_dir, newest first, from their manifests."""
    out = ["# Changelog of the dataset releases", "",
           "Generated by `stancekit release` from each release's manifest.json; do not edit.", ""]
    for release in reversed(list_releases(out_dir)):
        manifest = json.loads((release / MANIFEST).read_text(encoding="utf-8"))
        change = manifest["change"]
        against = f" (against v{change['previous']})" if change["previous"] else ""
        out += [f"## v{manifest['version']}: {change['bump']}{against}", ""]
        out += [f"- {line}" for line in change["lines"]]
        out += [f"- taxonomy {manifest['taxonomy']['name']} {manifest['taxonomy']['version']} "
                f"(sha256 {manifest['taxonomy']['sha256'][:12]})", ""]
    return "\n".join(out)


def _write_changelog(out_dir: Path) -> None:
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # two releases of different versions may finish together
        write_text(out_dir / CHANGELOG, render_changelog(out_dir))
    finally:
        os.close(fd)


# ---------------------------------------------------------------- card

def _yaml_feature(name: str, typ: pa.DataType) -> dict:
    if pa.types.is_list(typ):
        inner = typ.value_type
        if pa.types.is_struct(inner):
            return {"name": name, "list": [_yaml_feature(f.name, f.type) for f in inner]}
        return {"name": name, "list": {"dtype": str(inner)}}
    return {"name": name, "dtype": {"string": "string", "int64": "int64", "double": "float64", "bool": "bool"}[str(typ)]}


def _tasks_input(manifest: dict) -> str:
    task_files = [f"`{item['path']}`" for item in manifest["inputs"] if item["role"] == "tasks"]
    return ", ".join(task_files) or "none given"


def content_sha256(files: dict[str, dict]) -> str:
    """sha256 over the name and sha256 of every Parquet file of a release: what its data holds."""
    lines = "".join(f"{name}\t{entry['sha256']}\n" for name, entry in sorted(files.items()) if name.endswith(".parquet"))
    return hashlib.sha256(lines.encode()).hexdigest()


def render_card(manifest: dict, taxonomy: Taxonomy) -> str:
    """The dataset card (README.md) of a release, with the YAML Hugging Face reads.

    `manifest["content_sha256"]` (see content_sha256) goes into the YAML's dataset_info: `datasets`
    keys its cache of a local folder by that YAML, so a rebuilt folder, or another folder of the
    same name, with other data is read afresh instead of from the cache of the first.
    """
    splits = manifest["splits"]
    front = {
        "pretty_name": f"{taxonomy.name}: {taxonomy.actor['name']} on {taxonomy.target['name']}",
        "language": ["en"],
        "license": "other",
        "task_categories": ["token-classification", "text-classification"],
        "configs": [{"config_name": "default",  # an empty split is left out: datasets refuses one
                     "data_files": [{"split": s, "path": hf_data_file(s)} for s, _ in SPLITS if splits[s]]}],
        "dataset_info": {
            "description": f"{taxonomy.name} v{manifest['version']}; content sha256 {manifest['content_sha256']} "
                           "(over the sha256 of every Parquet file, as manifest.json lists them)",
            "features": [_yaml_feature(f.name, f.type) for f in hf_schema(taxonomy)],
        },
    }
    counts = manifest["counts"]
    lines = [
        "---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---",
        "<!-- Generated by `stancekit release`; do not edit. -->",
        f"# {taxonomy.name} v{manifest['version']}", "",
        f"The stance of {taxonomy.actor['name']} toward {taxonomy.target['name']}, and the conditions attached to it,",
        "labelled in Label Studio. Taxonomy "
        f"{taxonomy.name} {taxonomy.version} (sha256 {taxonomy.sha256[:12]}).", "",
        f"{counts['documents']} documents, {counts['annotations']} annotations by {counts['annotators']} annotators, "
        f"{counts['spans']['annotation']} annotated spans, {counts['spans']['gold']} gold spans, "
        f"{counts['spans']['prediction']} predicted spans.", "",
        "## Files", "",
        "- `documents.parquet`, `annotations.parquet`, `spans.parquet`: the full tables; "
        "`layer` is annotation, gold or prediction.",
        "- `data/<split>-00000-of-00001.parquet`: one row per document with its gold spans "
        f"(split {SPLIT_RULE}; an empty split has no file). Rows: "
        + ", ".join(f"{s} {splits[s]}" for s, _ in SPLITS) + ".",
        "- `croissant.json`: the Croissant (MLCommons) description of these files: every Parquet file with its "
        "sha256, and a record set per table with each column's type and meaning; read it with `mlcroissant`.",
        "- `manifest.json`: checksums, row counts and schema fingerprints, agreement between annotators and "
        "the prediction layer's scores against gold; check with `stancekit verify`.", "",
        f"Content sha256 {manifest['content_sha256']} (over the sha256 of every Parquet file); it is also in the "
        "YAML above, so that `datasets` never serves another build of this version from its cache.", "",
        "The prediction layer comes from one source only, the task file "
        f"({_tasks_input(manifest)}: the rule-based pre-annotator's output, as `stancekit tasks` writes it); "
        "the predictions stored in the Label Studio exports are left out (they repeat it, or, in an "
        "adjudication project, hold the annotators' versions).", "",
        "## Load", "",
        "```python",
        "import stancekit; tables = stancekit.load(path=\"path/to/this/folder\", layer=\"gold\")",
        "clean = tables[\"documents\"][tables[\"documents\"][\"source_caveats\"] == \"\"]  # no known source caveat",
        "import datasets; ds = datasets.load_dataset(\"path/to/this/folder\")",
        "ds = datasets.load_dataset(\"parquet\", data_files={\"train\": \"path/to/this/folder/data/train-00000-of-00001.parquet\"})",
        "```", "",
        "## Columns", "",
        columns_table(taxonomy, relations="relations" in manifest["counts"]), "",
        "Limitations, provenance and licensing: see DATASHEET.md in the stancekit repository.", "",
    ]
    return "\n".join(lines)


def arrow_type_name(typ: pa.DataType) -> str:
    """A column's Arrow type as the column table shows it (dictionaries and structs shortened)."""
    if pa.types.is_dictionary(typ):
        return "dictionary<string>"
    if pa.types.is_struct(typ):
        return "struct<" + ", ".join(f.name for f in typ) + ">"
    return str(typ)


def columns_table(taxonomy: Taxonomy, relations: bool = True) -> str:
    """Markdown table of every release column: file, name, Arrow type, pandas dtype from `load`, meaning.

    From the declarations in `stancekit.columns` (the same ones the card and croissant.json use).
    `relations`: include relations.parquet (a release has it only when some annotation has relations).
    """
    from .load import pandas_dtype  # load imports this module

    rows: list[tuple[object, ...]] = []
    tables = {**columns.tables(taxonomy), "data/&lt;split&gt;": columns.hf_columns(taxonomy)}
    if not relations:
        del tables["relations"]
    for file, cols in tables.items():
        for col in cols:
            rows.append((file, f"`{col.name}`", arrow_type_name(col.type), pandas_dtype(col.type), col.doc))
            rows += [(file, f"`{col.name}.{part}`", col.type.field(part).type, f"(in `{col.name}`)", doc)
                     for part, doc in col.parts]
    return "\n".join(markdown_table(("file", "column", "Arrow type", "pandas dtype", "meaning"), rows))


# ---------------------------------------------------------------- the release

def _parquet_entry(path: Path) -> dict:
    """Rows and schema of a Parquet file, from its footer."""
    meta = pq.ParquetFile(path)
    schema = meta.schema_arrow
    return {"rows": meta.metadata.num_rows, "schema": schema_fingerprint(schema),
            "columns": {f.name: str(f.type) for f in schema}}


def _file_entry(path: Path) -> dict:
    entry = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    if path.suffix == ".parquet":
        entry.update(_parquet_entry(path))
    return entry


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def _bumped_version(previous: Path | None, needed: str | None, bump: str) -> tuple[int, int, int]:
    """The next version for `--bump` (auto or a part), refusing a part smaller than the changes need."""
    if previous is None:
        return (1, 0, 0)
    if needed is None:
        raise Unchanged(f"{previous} already holds these inputs: nothing to release")
    order = ("patch", "minor", "major")
    if bump != "auto" and order.index(bump) < order.index(needed):
        raise ReleaseRefused(f"the changes since {previous.name} need a {needed} bump, not {bump}")
    return bumped(parse_version(previous.name), needed if bump == "auto" else bump)


def _remove_stale_builds(out_dir: Path) -> None:
    """Remove temporary build directories left by a killed release (their process is gone)."""
    for path in out_dir.iterdir():
        m = _BUILD_DIR.match(path.name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass


def build(inputs: Inputs, taxonomy: Taxonomy, out_dir: Path = RELEASES_DIR, version: str | None = None,
          bump: str | None = None, metadata: dict | None = None,
          on_bytes: Callable[[int], None] | None = None) -> Path:
    """Build the release and rename it into out_dir/vX.Y.Z; returns that path.

    `on_bytes`, when given, is called with the bytes of each task read from the exports and the task file.

    Exactly one of `version` ("X.Y.Z") and `bump` ("auto", "major", "minor", "patch"; without a
    version, "auto" when not given). `metadata` is the dataset metadata (`croissant.read_metadata`,
    dataset/metadata.yaml) that croissant.json carries. Raises ReleaseInputError when an input cannot
    be read, ReleaseRefused when the inputs have validation errors, the version exists or the bump
    part is smaller than the diff needs, and Unchanged when a bump finds nothing new.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(out_dir)
    if version is not None:
        target = parse_version(version)
        if (out_dir / f"v{format_version(target)}").exists():
            raise ReleaseRefused(f"{out_dir}/v{format_version(target)} already exists: a release is never overwritten")
    input_listing = inputs.listing()
    root = Path(tempfile.mkdtemp(prefix=f".build-{os.getpid()}-", dir=out_dir))
    root.chmod(0o755)
    try:
        job = _Build(root, inputs, taxonomy, {item["path"]: item["sha256"] for item in input_listing}, on_bytes)
        try:
            job.run()
        except exports.ExportReadError as exc:
            raise ReleaseInputError(str(exc)) from exc
        files = {p.relative_to(root).as_posix(): _file_entry(p) for p in _files(root)}
        dicts = dictionaries(taxonomy)
        earlier = [p for p in list_releases(out_dir) if version is None or parse_version(p.name) < target]
        previous = earlier[-1] if earlier else None
        changes = None
        needed: str | None = "initial"
        if previous is not None:
            old_manifest = json.loads((previous / MANIFEST).read_text(encoding="utf-8"))
            changes = diff(previous, root, old_manifest, files, dicts)
            if old_manifest["taxonomy"]["sha256"] != taxonomy.sha256:
                changes["other"] = f"taxonomy sha256 {old_manifest['taxonomy']['sha256'][:12]} -> {taxonomy.sha256[:12]}"
            needed = bump_of(changes)
        if version is None:
            target = _bumped_version(previous, needed, bump or "auto")
        name = format_version(target)
        final = out_dir / f"v{name}"
        manifest: dict[str, Any] = {
            "name": taxonomy.name,
            "version": name,
            "taxonomy": {"name": taxonomy.name, "version": taxonomy.version, "sha256": taxonomy.sha256},
            "inputs": input_listing,
            "counts": {
                "documents": files["documents.parquet"]["rows"],
                **({"relations": files["relations.parquet"]["rows"]} if "relations.parquet" in files else {}),
                "gold_documents": job.counts["gold_documents"],
                "annotations": job.annotations.layers["annotation"],
                "annotators": len(job.annotators),
                "predictions": job.annotations.layers["prediction"],
                "spans": {layer: job.spans.layers[layer] for layer in LAYERS},
            },
            "splits": {s: job.hf[s].rows for s, _ in SPLITS},
            "split_rule": SPLIT_RULE,
            "agreement": agreement_summary(inputs.agreement),
            "predictions_against_gold": prediction_summary(inputs, taxonomy),
            "dictionaries": dicts,
            "change": {"previous": previous.name[1:] if previous else None, "bump": needed or "none",
                       "lines": []},
            "parquet": {"pyarrow": pa.__version__, **PARQUET_OPTIONS},
        }
        manifest["change"]["lines"] = _changelog_lines(changes, manifest["counts"])
        manifest["content_sha256"] = content_sha256(files)
        try:
            described = croissant.describe(root, taxonomy, name, metadata, files)
        except croissant.CroissantError as exc:
            raise ReleaseRefused(str(exc)) from exc
        (root / croissant.FILE).write_text(_dump_json(described), encoding="utf-8")
        (root / CARD).write_text(render_card(manifest, taxonomy), encoding="utf-8")
        manifest["files"] = {p.relative_to(root).as_posix(): files.get(p.relative_to(root).as_posix()) or _file_entry(p)
                             for p in _files(root)}
        (root / MANIFEST).write_text(_sealed(manifest), encoding="utf-8")
        try:
            # The target is refused when it exists: a release directory is never empty, and
            # rename(2) onto a non-empty directory fails (ENOTEMPTY) instead of merging.
            os.rename(root, final)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise ReleaseRefused(f"{final} already exists (built concurrently): a release is never overwritten") from exc
            raise ReleaseInputError(f"{final}: cannot move the release into place ({exc.strerror})") from exc
    finally:
        shutil.rmtree(root, ignore_errors=True)
    _write_changelog(out_dir)
    return final


# ---------------------------------------------------------------- verify

def _sealed(manifest: dict) -> str:
    """The manifest's text, with the sha256 of its own content (without that key) inside."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return _dump_json({**body, "manifest_sha256": hashlib.sha256(_dump_json(body).encode()).hexdigest()})


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
    if text != _sealed(manifest) or "manifest_sha256" not in manifest:
        problems.append(f"{MANIFEST}: its content does not match its manifest_sha256 (edited after the build)")
    if _VERSION_DIR.match(release_dir.name) and release_dir.name != f"v{manifest.get('version')}":
        problems.append(f"{MANIFEST}: version {manifest.get('version')} does not match the directory {release_dir.name}")
    present = {p.relative_to(release_dir).as_posix() for p in _files(release_dir)}
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
                actual = _parquet_entry(path)
            except (OSError, pa.ArrowInvalid) as exc:
                problems.append(f"{name}: not readable as Parquet ({exc})")
                continue
            if actual["rows"] != expected["rows"]:
                problems.append(f"{name}: {actual['rows']} rows, manifest says {expected['rows']}")
            if actual["schema"] != expected["schema"]:
                problems.append(f"{name}: schema fingerprint differs from the manifest")
    return problems


def resolve(version: str = "latest", out_dir: Path = RELEASES_DIR) -> Path:
    """The directory of a release: `latest`, `X.Y.Z` or `vX.Y.Z`; raises ReleaseInputError when there is
    no such release (or none at all)."""
    releases = list_releases(out_dir)
    if version == "latest":
        if not releases:
            raise ReleaseInputError(f"no release in {out_dir}: build one with `stancekit release`")
        return releases[-1]
    path = Path(out_dir) / f"v{format_version(parse_version(version))}"
    if path not in releases:
        raise ReleaseInputError(f"no release {version} in {out_dir}")
    return path

