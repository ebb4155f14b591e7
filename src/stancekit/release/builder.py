"""Build a release: stream the documents, gold, exports and predictions once into Parquet, then
write the manifest, card, Croissant description and CHANGELOG, and rename the whole into place.

The release is built in a temporary directory next to its target and renamed into place, so it
appears whole or not at all, and an existing version is never overwritten. Exports are streamed
task by task (bounded memory) through the one reader, `stancekit.validate.Reader`: any validation
error refuses the release. Rows come in a fixed order: documents as in documents.parquet (gold
rows with them), then each export (sorted by path) task by task, annotations by id and spans by
(start, end, label), then the predictions of the task file.

Each export is read once. Agreement between annotators is its own stage (`stancekit agreement
--format json`, whose memory grows with the documents): the manifest summarises that report,
an input like the others. The prediction layer comes from the task file only. Every span gets
its raw-file bytes from ingest's offset map.
"""

from __future__ import annotations

import errno
import glob
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

from .. import agreement, columns, croissant, exports, ingest, paths, preannotate, validate
from .. import documents as documents_mod
from .. import gold as gold_mod
from .._background import Background
from .._files import file_sha256
from ..errors import ReleaseInputError, ReleaseRefused
from ..read import LAYERS, MANIFEST, format_version, list_releases, parse_version
from ..records import Record
from ..taxonomy import TEXT_NAME, Taxonomy
from .card import CARD, render_card
from .changelog import changelog_lines, write_changelog
from .manifest import content_sha256, file_entry, release_files, sealed
from .schemas import SPLIT_RULE, SPLITS, annotations_schema, dictionaries, hf_data_file, hf_schema, relations_schema, spans_schema, split_of
from .versioning import bump_of, diff, next_version
from .writer import PARQUET_OPTIONS, TableWriter, dump_json

RELEASES_DIR = paths.RELEASES_DIR
BUILD_DIR_PREFIX = ".build-"  # a temporary build directory: .build-<pid>-<random>, next to its target
_BUILD_DIR = re.compile(rf"^{re.escape(BUILD_DIR_PREFIX)}(\d+)-")
DOCUMENT_COLUMNS = documents_mod.COLUMNS
_HASHER = Background("sha256")  # the inputs' sha256 (hashlib releases the GIL), beside the documents phase


@dataclass
class Inputs:
    """The input files of a release (`find_inputs` finds them the way the CLI does)."""

    documents: Path
    exports: list[Path]
    gold: Path | None = None
    tasks: Path | None = None
    agreement: Path | None = None  # `stancekit agreement --format json` over the exports
    rules: Path | None = None  # the pre-annotator's cue file: its actor cues make the actor-sentence baseline
    # What croissant.json says about the dataset (licence, citation, creators): not data, so not in
    # the manifest's inputs (the manifest lists croissant.json itself).
    metadata: Path | None = None

    def listing(self) -> list[dict]:
        """Every input file with its role and sha256, in a fixed order."""
        items = [("documents", self.documents)] + [("export", p) for p in sorted(self.exports)]
        items += [(role, p) for role, p in (("gold", self.gold), ("tasks", self.tasks), ("agreement", self.agreement),
                                            ("rules", self.rules)) if p is not None]
        return [{"role": role, "path": str(p), "sha256": file_sha256(Path(p)), "bytes": Path(p).stat().st_size}
                for role, p in items]


# The optional inputs of a release and where the repository layout keeps them.
OPTIONAL_INPUTS = {"gold": paths.GOLD, "tasks": paths.TASKS, "rules": paths.PREANNOTATOR,
                   "agreement": paths.AGREEMENT, "metadata": paths.METADATA}


def find_inputs(documents: str | Path = paths.DOCUMENTS,
                exports: str | Path | Iterable[str | Path] = (paths.EXPORTS_GLOB,),
                required: Iterable[str] = (), **optional: str | Path | None) -> Inputs:
    """The inputs of a release, found the way `stancekit release` finds them.

    `exports`: a path or glob pattern, or several (a pattern that matches nothing stays a path, so
    that its absence is reported). `optional`: a path for any of OPTIONAL_INPUTS (default: where
    the repository layout keeps it); each is used when its file exists and skipped when it does
    not, unless its name is in `required`. Relative paths are from the working directory. Raises
    ReleaseInputError naming the first missing file (the documents, an export, or a required
    optional input), TypeError for an input name that is not one of OPTIONAL_INPUTS.
    """
    unknown = sorted((set(optional) | set(required)) - OPTIONAL_INPUTS.keys())
    if unknown:
        raise TypeError(f"find_inputs: unknown inputs {unknown}; the optional ones are {', '.join(OPTIONAL_INPUTS)}")
    patterns = [exports] if isinstance(exports, (str, Path)) else list(exports)
    found = sorted({Path(p) for pattern in patterns for p in (glob.glob(str(pattern)) or [str(pattern)])})
    for path in [Path(documents), *found]:
        if not path.is_file():
            raise ReleaseInputError(f"{path}: no such file (relative paths are from {Path.cwd()})")
    chosen: dict[str, Path] = {}
    for name, default in OPTIONAL_INPUTS.items():
        given = optional.get(name)
        path = Path(given) if given is not None else default
        if path.is_file():
            chosen[name] = path
        elif name in required:
            raise ReleaseInputError(f"{path}: no such file (relative paths are from {Path.cwd()})")
    return Inputs(Path(documents), found, **chosen)


def _strings(value) -> list[str] | None:
    return [str(v) for v in value] if isinstance(value, list) else None


def _slice(text: str, start, end, where: str) -> str:
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text)):
        raise ReleaseRefused(f"{where}: span [{start}, {end}) is outside the document text (length {len(text)})")
    return text[start:end]


class _Build:
    """Writes the data files of one release into `root`, streaming its inputs once.

    Documents go into a `DocumentStore` (texts and offset maps on disk) as they are written through;
    exports and predictions are read by the one reader, `validate.Reader`, which checks every task
    against its document. Any validation error refuses the release after the full pass, naming how
    many and the first (`validate.InputRejected` -> ReleaseRefused).
    """

    def __init__(self, root: Path, inputs: Inputs, taxonomy: Taxonomy, on_bytes: Callable[[int], None] | None = None):
        self.root, self.inputs, self.taxonomy = root, inputs, taxonomy
        self.on_bytes = on_bytes  # progress: called with the bytes of each task read
        dicts = dictionaries(taxonomy)
        (root / "data").mkdir()
        self.annotations = TableWriter(root / "annotations.parquet", annotations_schema(taxonomy), dicts)
        self.spans = TableWriter(root / "spans.parquet", spans_schema(taxonomy), dicts)
        self.relations = TableWriter(root / "relations.parquet", relations_schema(), dicts)
        self.hf_schema = hf_schema(taxonomy)
        self.hf = {name: TableWriter(root / hf_data_file(name), self.hf_schema, {}) for name, _ in SPLITS}
        self.store = documents_mod.DocumentStore(directory=root)  # a killed build's is swept with it (remove_stale_builds)
        self.doc_questions = [q.name for q in taxonomy.document_choices]
        self.hf_span_keys = self.hf_schema.field("spans").type.value_type.names
        self.annotators: set[str | None] = set()  # None: ANNOTATOR_MISSING (an error: refused after the pass)
        self.rows = _Rows(taxonomy)
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
        _return_freed_memory()
        missing = sorted(doc_id for doc_id in gold if doc_id not in self.store)
        if missing:
            raise ReleaseRefused(f"{self.inputs.gold}: gold document {missing[0]} is not in {self.inputs.documents}")
        try:
            reader = validate.Reader(self.taxonomy, documents=self.store, on_bytes=self.on_bytes)
            self._records(reader.read_tasks(sorted(self.inputs.exports), self.rows))
            reader.refuse_errors()
            if self.inputs.tasks:
                reader = validate.Reader(self.taxonomy, documents=self.store, on_bytes=self.on_bytes)
                self._records([self.rows(record, self.store) for record in task_records] for _, task_records
                              in itertools.groupby(reader.read_predictions([self.inputs.tasks]),
                                                   key=lambda r: (r.file, r.task_index)))
                reader.refuse_errors()
        except validate.InputRejected as exc:
            raise ReleaseRefused(str(exc)) from exc
        for writer in [self.annotations, self.spans, self.relations]:
            writer.close()
        for writer in [self.relations, *self.hf.values()]:
            if not writer.rows:
                writer.path.unlink()
        self.store.close()

    def _documents(self, gold: dict[str, dict]) -> TableWriter:
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
            writer = TableWriter(self.root / "documents.parquet", schema, {})
            for batch in itertools.chain([first], batches):
                self._hf_rows(batch, gold)
                writer.add_batch(batch)
        except documents_mod.DocumentsError as exc:
            raise ReleaseInputError(str(exc)) from exc
        return writer

    def _hf_rows(self, batch: pa.RecordBatch, gold: dict[str, dict]) -> None:
        """Write a batch of documents into the Hugging Face view (in Arrow form: the documents' columns as
        they are, the gold answers and spans of its gold documents) and their gold rows."""
        schema = self.hf_schema
        doc_ids = batch.column("doc_id").to_pylist()
        given = [name for name in columns.HF_DOCUMENT_COLUMNS if name in batch.schema.names]
        answers: dict[str, list] = {name: [None] * len(doc_ids) for name in schema.names if name not in given}
        answers["spans"] = [[] for _ in doc_ids]
        chars = pa.array([0] * len(doc_ids), pa.int64())
        for name in given:  # characters of text in each row, as TableWriter.add counts them
            if documents_mod.holds_strings(batch.schema.field(name).type):
                chars = pc.add(chars, pc.fill_null(pc.utf8_length(batch.column(name).cast(pa.string())), 0))
        counts = chars.to_pylist()
        for index, doc_id in enumerate(doc_ids):
            if doc_id in gold:
                row = self._gold_document(doc_id, batch.column(TEXT_NAME)[index].as_py(), gold[doc_id])
                for name, value in row.items():
                    answers[name][index] = value
                counts[index] += sum([len(v) for v in row.values() if type(v) is str])
        rows = pa.RecordBatch.from_arrays(
            [batch.column(f.name).cast(f.type) if f.name in given else pa.array(answers[f.name], f.type)
             for f in schema], schema=schema)
        splits: dict[str, list[int]] = {}
        for index, doc_id in enumerate(doc_ids):
            splits.setdefault(split_of(doc_id), []).append(index)
        for name, indices in splits.items():
            self.hf[name].add_batch(rows.take(pa.array(indices, pa.int64())), [counts[i] for i in indices])

    def _gold_document(self, doc_id: str, text: str, gold_doc: dict) -> dict[str, Any]:
        """Write a gold document's rows (annotations, spans); returns its answers and spans for the Hugging Face view."""
        where = f"{self.inputs.gold}: document {doc_id}"
        hf_row: dict[str, Any] = {"spans": []}
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
                **dict(zip(("raw_start", "raw_end"), self._raw(doc_id, span["start"], span["end"]))),
                "status": span["status"], "annotators": _strings(span["annotators"]),
                **{q.name: span.get(q.name) for q in self.taxonomy.region_attributes},
            }
            self.spans.add(span_row, where)
            hf_row["spans"].append({k: span_row[k] for k in self.hf_span_keys})
        self.counts["gold_documents"] += 1
        return hf_row

    def _raw(self, doc_id: str, start: int, end: int) -> tuple[int | None, int | None]:
        """(raw_start, raw_end) of a span already checked to lie in its document (None without an offset_map)."""
        omap = self.store.offset_map(doc_id)
        return ingest.to_raw_offsets(omap, start, end) if omap else (None, None)

    def _records(self, tasks: Iterable[list[tuple]]) -> None:
        """Write the rows of each task's records (`_Rows`), its annotations (or predictions) in id order."""
        for rows in tasks:
            for _, layer, annotator, annotation, spans, relations in sorted(rows, key=lambda r: r[0]):
                if layer == "annotation":
                    self.annotators.add(annotator)
                self.spans.add_rows(layer, spans)
                self.relations.add_rows(layer, relations)
                self.annotations.add_rows(layer, [annotation])


class _Rows:
    """A reader's record -> its release rows, built where the record was read (`validate.Reader.read_tasks`:
    in a worker process, with the worker's own connection to the document store).

    Returns (sort key, layer, annotator, annotation row, span rows, relation rows), each row a
    (values in the order of the table's columns, characters of text in them) pair for `TableWriter.add_rows`.
    Every span gets its raw-file bytes from ingest's offset map.
    """

    def __init__(self, taxonomy: Taxonomy):
        self.annotation_columns = annotations_schema(taxonomy).names
        self.relation_columns = relations_schema().names
        # spans.parquet's columns, in the order in which __call__ gives a span's values
        span_names = ["layer", "doc_id", "annotation_id", "region_id", "annotator", "model_version", "label", "start",
                      "end", "raw_start", "raw_end", "text", *(q.name for q in taxonomy.region_attributes), "status",
                      "annotators"]
        assert spans_schema(taxonomy).names == span_names, "spans columns are not in the order _Rows writes"

    def __call__(self, record: Record, store: documents_mod.DocumentStore | None) -> tuple:
        base: dict[str, object] = {"layer": record.layer, "doc_id": record.doc_id, "annotation_id": record.annotation_id}
        row: dict[str, object]
        if record.layer == "prediction":
            base["model_version"] = record.model_version
            row = {"score": record.score}
        else:
            base["annotator"] = record.annotator
            row = {"ground_truth": record.ground_truth, "lead_time": record.lead_time,
                   "created_at": record.created_at, "updated_at": record.updated_at}
        layer, doc_id, annotation_id = record.layer, record.doc_id, record.annotation_id
        annotator, model_version = base.get("annotator"), base.get("model_version")
        omap = store.offset_map(doc_id) if record.spans and store is not None else None
        shared = _chars((layer, doc_id, annotator, model_version))  # the strings every span row repeats
        spans = []
        for span in record.spans:  # the reader checked labels and attributes against the taxonomy
            start, end = span.start, span.end
            raw_start, raw_end = ingest.to_raw_offsets(omap, start, end) if omap else (None, None)
            attributes = span.attributes.values()
            values = (layer, doc_id, annotation_id, span.region_id, annotator, model_version, span.label,
                      start, end, raw_start, raw_end, span.text, *attributes, None, None)
            spans.append((values, shared + len(span.region_id) + len(span.label) + len(span.text) + _chars(attributes)))
        relations = [self._row(self.relation_columns, {
            **base, "task_id": record.task_id, "from_id": relation.from_id, "to_id": relation.to_id,
            "direction": relation.direction, "labels": list(relation.labels)}) for relation in record.relations]
        annotation = self._row(self.annotation_columns, {**base, "task_id": record.task_id, "chunk": record.chunk, **row,
                                                         "source": record.file, **record.choices})
        return ((annotation_id is None, annotation_id or 0), layer, record.annotator, annotation, spans, relations)

    @staticmethod
    def _row(names: list[str], row: dict) -> tuple[tuple, int]:
        values = tuple([row.get(name) for name in names])
        return values, _chars(values)


def _chars(values: Iterable) -> int:
    """Characters of text in a row (its strings): what cuts row groups (writer.ROW_GROUP_CHARS)."""
    return sum([len(v) for v in values if type(v) is str])


def _return_freed_memory() -> None:
    """Give the memory the C allocator holds free back to the system (glibc's malloc_trim; nothing
    elsewhere), as dask's workers do: after the documents phase, before the export reader forks its
    workers. At 100k documents the main process went from 227 to 166 MB resident when the workers
    started, and each worker from 136 to 94 MB (issue 15)."""
    import contextlib
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):  # not glibc: nothing to do
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def agreement_summary(path: Path | None) -> dict:
    """The manifest's agreement between annotators, from the report of `stancekit agreement --format json`
    (a stage of its own, so that the release stays in bounded memory): per document question
    Krippendorff's alpha and each pair's Cohen's kappa; span F1 over all pairs per match mode; and
    `against_gold`, each annotator against the adjudicated gold: alpha per document question, span
    F1 per match mode (all spans and per label), agreement on the attributes of matched spans.

    Every number carries its n and 95% interval, or a null value and the reason it is undefined.
    Raises ReleaseInputError when the report cannot be read or is not such a report.
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


def move_into_place(tmp: Path, final: Path, how: str) -> None:
    """Rename the finished release directory `tmp` to `final`. A release directory is never empty,
    and rename(2) onto a non-empty directory fails (ENOTEMPTY) instead of merging, so a release that
    appeared meanwhile is never overwritten. `how` ("built", "published") goes into the message.
    Raises ReleaseRefused when `final` exists, ReleaseInputError when the rename fails otherwise."""
    try:
        os.rename(tmp, final)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise ReleaseRefused(f"{final} already exists ({how} concurrently): a release is never overwritten") from exc
        raise ReleaseInputError(f"{final}: cannot move the release into place ({exc.strerror})") from exc


def remove_stale_builds(out_dir: Path) -> None:
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
          bump: str | None = None, on_bytes: Callable[[int], None] | None = None) -> Path:
    """Build the release and rename it into out_dir/vX.Y.Z; returns that path.

    `on_bytes`, when given, is called with the bytes of each task read from the exports and the task file.

    Exactly one of `version` ("X.Y.Z") and `bump` ("auto", "major", "minor", "patch"; without a
    version, "auto" when not given). croissant.json carries the dataset metadata of `inputs.metadata`
    (`croissant.read_metadata`, dataset/metadata.yaml). Raises ReleaseInputError when an input cannot
    be read, ReleaseRefused when the inputs have validation errors, the version exists or the bump
    part is smaller than the diff needs, and Unchanged when a bump finds nothing new.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(out_dir)
    if version is not None:
        target = parse_version(version)
        if (out_dir / f"v{format_version(target)}").exists():
            raise ReleaseRefused(f"{out_dir}/v{format_version(target)} already exists: a release is never overwritten")
    try:
        metadata = croissant.read_metadata(inputs.metadata) if inputs.metadata else None
    except croissant.CroissantError as exc:
        raise ReleaseInputError(str(exc)) from exc
    listing = _HASHER.submit(inputs.listing)
    root = Path(tempfile.mkdtemp(prefix=f"{BUILD_DIR_PREFIX}{os.getpid()}-", dir=out_dir))
    root.chmod(0o755)
    try:
        job = _Build(root, inputs, taxonomy, on_bytes)
        try:
            job.run()
        except exports.ExportReadError as exc:
            raise ReleaseInputError(str(exc)) from exc
        files = {p.relative_to(root).as_posix(): file_entry(p) for p in release_files(root)}
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
            target = next_version(previous, needed, bump or "auto")
        name = format_version(target)
        final = out_dir / f"v{name}"
        manifest: dict[str, Any] = {
            "name": taxonomy.name,
            "version": name,
            "taxonomy": {"name": taxonomy.name, "version": taxonomy.version, "sha256": taxonomy.sha256},
            "inputs": listing.result(),
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
        manifest["change"]["lines"] = changelog_lines(changes, manifest["counts"])
        manifest["content_sha256"] = content_sha256(files)
        try:
            described = croissant.describe(root, taxonomy, name, metadata, files)
        except croissant.CroissantError as exc:
            raise ReleaseRefused(str(exc)) from exc
        (root / croissant.FILE).write_text(dump_json(described), encoding="utf-8")
        (root / CARD).write_text(render_card(manifest, taxonomy), encoding="utf-8")
        manifest["files"] = {p.relative_to(root).as_posix(): files.get(p.relative_to(root).as_posix()) or file_entry(p)
                             for p in release_files(root)}
        (root / MANIFEST).write_text(sealed(manifest), encoding="utf-8")
        move_into_place(root, final, "built")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    write_changelog(out_dir)
    return final
