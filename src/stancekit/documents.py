"""The documents table, `documents.parquet` (written by `stancekit ingest`): its columns and its readers.

Every stage that needs documents reads them here: `tasks` (a small table, as rows), the export
reader (each task's text checked against its document) and `release` (streamed in batches).
`DocumentStore` keeps texts and offset maps in a private on-disk SQLite database, so memory does
not grow with the corpus.
"""

from __future__ import annotations

import array
import itertools
import marshal
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import columns, paths
from .errors import InputError
from .taxonomy import TEXT_NAME

DEFAULT_PATH = paths.DOCUMENTS
COLUMNS = {c.name: c.doc for c in columns.DOCUMENT_COLUMNS}  # the documents.parquet contract, declared in columns
REQUIRED = ("doc_id", "title", TEXT_NAME, "source_file")
BATCH_ROWS = 100


class DocumentsError(InputError):
    """documents.parquet cannot be read, lacks a contract column, or has a null or repeated doc_id."""


def _open(path: str | Path) -> pq.ParquetFile:
    try:
        source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps what it read: memory grows with the file
    except FileNotFoundError:
        raise DocumentsError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise DocumentsError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    missing = [c for c in REQUIRED if c not in source.schema_arrow.names]
    if missing:
        raise DocumentsError(f"{path}: missing column(s) {', '.join(missing)} "
                             f"(expected documents.parquet from `stancekit ingest`)")
    return source


def read_documents(path: str | Path) -> list[dict]:
    """The required columns (doc_id, title, text, source_file) of every document, as dicts in file order.

    Raises DocumentsError (naming the file and row) for an unreadable file, a missing column,
    a null doc_id or text, or a doc_id that appears twice.
    """
    rows = []
    seen: set[str] = set()
    for batch in iter_batches(path, seen):
        rows += batch.select(list(REQUIRED)).to_pylist()
    return rows


def _first_repeat(doc_ids: list[str], seen: set[str]) -> int | None:
    """The index of the first of `doc_ids` already in `seen` or earlier in the list; adds them to `seen` up to it."""
    for index, doc_id in enumerate(doc_ids):
        if doc_id in seen:
            return index
        seen.add(doc_id)
    return None


class _Stored:
    """The doc_ids seen by a DocumentStore's `load`: asked of its table, one query per batch, so that no set
    of every doc_id is kept in memory."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def first_repeat(self, doc_ids: list[str]) -> int | None:
        """As `_first_repeat`, with the table's doc_ids as `seen` (the caller stores the batch)."""
        stored = {row[0] for row in self._db.execute(
            f"SELECT doc_id FROM doc WHERE doc_id IN ({', '.join('?' * len(doc_ids))})", doc_ids)}
        if not stored and len(set(doc_ids)) == len(doc_ids):
            return None
        return _first_repeat(doc_ids, stored)


def holds_strings(kind: pa.DataType) -> bool:
    """Whether an Arrow column of this type gives Python strings (or None)."""
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_dictionary(kind) and holds_strings(kind.value_type))


def _first_invalid(batch: pa.RecordBatch) -> int | None:
    """The index of the batch's first row whose doc_id is not a string or whose doc_id or text is null."""
    doc_id, text = batch.column("doc_id"), batch.column(TEXT_NAME)
    if not holds_strings(doc_id.type):
        return 0 if batch.num_rows else None
    if not doc_id.null_count and not text.null_count:
        return None
    return pc.and_(doc_id.is_valid(), text.is_valid()).to_pylist().index(False)


def iter_batches(path: str | Path, seen: set[str] | _Stored | None = None) -> Iterator[pa.RecordBatch]:
    """The table in record batches of BATCH_ROWS rows, every row checked as in `read_documents`
    (raises DocumentsError as it does, naming the first bad row); `seen` holds the doc_ids already read."""
    source = _open(path)
    seen = set() if seen is None else seen
    row = 0
    try:
        for batch in source.iter_batches(batch_size=BATCH_ROWS, use_threads=False):
            invalid = _first_invalid(batch)
            doc_ids = batch.column("doc_id").slice(0, invalid).to_pylist()  # the valid ones: strings
            repeat = _first_repeat(doc_ids, seen) if isinstance(seen, set) else seen.first_repeat(doc_ids)
            if repeat is not None:
                raise DocumentsError(f"{path}: row {row + repeat}: doc_id {doc_ids[repeat]} appears twice")
            if invalid is not None:
                raise DocumentsError(f"{path}: row {row + invalid}: doc_id and text must be non-null strings")
            row += batch.num_rows
            yield batch
    except pa.ArrowException as exc:
        raise DocumentsError(f"{path}: cannot read the documents ({exc})") from exc


_MAP_LISTS = [field.name for field in columns.OFFSET_MAP_TYPE if field.name != "encoding"]


def _packable(kind: pa.DataType) -> bool:
    """Whether `kind` is the offset map's struct (its lists' item name aside: Parquet renames it)."""
    return (pa.types.is_struct(kind) and [field.name for field in kind] == ["encoding", *_MAP_LISTS]
            and pa.types.is_string(kind.field("encoding").type)
            and all(pa.types.is_list(kind.field(name).type) and kind.field(name).type.value_type == pa.int64()
                    for name in _MAP_LISTS))


def _packed_maps(maps: pa.Array) -> list[bytes | None]:
    """Each row's offset map (documents.parquet's struct) as bytes for the store, without a Python int per
    entry: marshal of (encoding, array typecode, then each list's integers in native byte order, or None for
    a null list), as int32 when the batch's fit; a batch whose lists hold a null goes as marshal of its
    dict. None for a null map."""
    if not _packable(maps.type) or any(maps.field(name).flatten().null_count for name in _MAP_LISTS):
        return [None if omap is None else marshal.dumps(omap) for omap in maps.to_pylist()]
    lists = [maps.field(name) for name in _MAP_LISTS]
    try:
        typecode, values = "i", [part.values.cast(pa.int32()) for part in lists]  # 4 bytes: half the store
    except pa.ArrowInvalid:
        typecode, values = "q", [part.values for part in lists]
    width = array.array(typecode).itemsize
    fields = [maps.field("encoding").to_pylist(), itertools.repeat(typecode)]
    for part, items in zip(lists, values):  # each list's slice of the buffer, as a binary array: no copy
        ends = pc.multiply(part.offsets.cast(pa.int64()), width)  # the offsets index `items` from its start
        as_bytes = pa.Array.from_buffers(pa.large_binary(), len(part), [
            None, ends.buffers()[1].slice(ends.offset * 8), items.buffers()[1].slice(items.offset * width)])
        fields.append((pc.if_else(part.is_valid(), as_bytes, None) if part.null_count else as_bytes).to_pylist())
    return [marshal.dumps(packed) if valid else None for valid, packed in zip(maps.is_valid().to_pylist(), zip(*fields))]


def _unpacked_map(blob: bytes) -> dict:
    """The offset map of `_packed_maps`' bytes: {"encoding", "clean", "raw", "clean_step", "raw_step", "count"},
    the integers read from documents.parquet, each list an array.array (no Python int per entry: 7 against
    23 µs a document of the 10k bench), or a list when it held a null."""
    value = marshal.loads(blob)
    if type(value) is dict:
        return value
    encoding, typecode, *lists = value
    return {"encoding": encoding, **{name: None if data is None else array.array(typecode, data)
                                     for name, data in zip(_MAP_LISTS, lists)}}


class DocumentStore:
    """doc_id -> text and offset map of a documents table, on disk (a SQLite file in a private temporary
    directory, deleted on close).

    Fill it with `load`, which yields the table's batches as it stores them (the release writes
    them through); then `text(doc_id)` and `offset_map(doc_id)` read one document back, the
    last one cached. A filled store can be opened again, read-only, by other processes (`reopen`:
    the export reader's workers check each task against its document).
    """

    def __init__(self, db_path: Path | None = None, directory: Path | None = None) -> None:
        """A new store, in a private directory made in `directory` (default: the system's temporary
        directory), or with `db_path` another's file opened read-only (`reopen`)."""
        self.path: Path | None = None
        self._owned = db_path is None  # the store created its file, and deletes it
        if db_path is None:
            # absolute: `reopen` opens it through a file URI (in a worker, whatever its working directory)
            db_path = Path(tempfile.mkdtemp(prefix="stancekit-documents-", dir=directory)).absolute() / "documents.sqlite"
            self._db = sqlite3.connect(db_path)
            # Large pages: a document is a few pages, not dozens of overflow pages. No syncs: the file is
            # private and temporary (a crash loses it either way).
            self._db.execute("PRAGMA page_size = 65536")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute("CREATE TABLE doc (doc_id TEXT PRIMARY KEY, text TEXT, map BLOB)")
            # deleted on close, or when the store is dropped or the program exits without closing it
            self._remove = weakref.finalize(self, shutil.rmtree, db_path.parent, True)
        else:
            self._db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
        self.db_path = db_path
        self._last: tuple[str | None, tuple | None] = (None, None)
        self._last_map: tuple[str | None, dict | None] = (None, None)

    def reopen(self) -> DocumentStore:
        """The same store through a new read-only connection (for another process: a SQLite connection
        must not cross a fork). Raises DocumentsError when its file cannot be opened (e.g. removed)."""
        try:
            store = DocumentStore(self.db_path)
        except sqlite3.Error as exc:
            raise DocumentsError(f"{self.db_path}: cannot open the document store again ({exc})") from exc
        store.path = self.path
        return store

    @classmethod
    def open(cls, path: str | Path) -> DocumentStore:
        """A store filled from documents.parquet at `path`; raises DocumentsError as `read_documents` does."""
        store = cls()
        for _ in store.load(path):
            pass
        return store

    def load(self, path: str | Path) -> Iterator[pa.RecordBatch]:
        """Store every document of `path`, yielding each batch once stored; raises DocumentsError as
        `read_documents` does."""
        self.path = Path(path)
        seen = _Stored(self._db)
        for batch in iter_batches(path, seen):
            maps = (_packed_maps(batch.column("offset_map")) if "offset_map" in batch.schema.names
                    else [None] * batch.num_rows)
            self._db.executemany("INSERT INTO doc VALUES (?, ?, ?)", zip(
                batch.column("doc_id").to_pylist(), batch.column(TEXT_NAME).to_pylist(), maps))
            yield batch
        self._db.commit()  # visible to the connections of `reopen`

    def _row(self, doc_id: str) -> tuple | None:
        if self._last[0] != doc_id:
            self._last = (doc_id, self._db.execute("SELECT text, map FROM doc WHERE doc_id = ?", (doc_id,)).fetchone())
        return self._last[1]

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self._row(doc_id) is not None

    def text(self, doc_id: str) -> str | None:
        """The document's clean text, or None when the table has no such document."""
        row = self._row(doc_id)
        return row[0] if row else None

    def offset_map(self, doc_id: str) -> dict | None:
        """The document's offset map (see `stancekit.ingest.to_raw_offsets`: its lists as arrays), or None; the
        last one is kept decoded (a release asks for it once per span). Treat it as read-only."""
        if self._last_map[0] != doc_id:
            row = self._row(doc_id)
            self._last_map = (doc_id, _unpacked_map(row[1]) if row and row[1] is not None else None)
        return self._last_map[1]

    def close(self) -> None:
        self._db.close()
        if self._owned:
            self._remove()
