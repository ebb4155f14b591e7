"""Write Parquet files byte for byte reproducibly, in bounded memory; and JSON the same way.

The same rows give the same bytes: fixed writer options (with a fixed pyarrow version), row
groups cut at a fixed number of rows or characters, JSON with sorted keys.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import Future
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._background import Background
from ..errors import ReleaseRefused

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
# Row groups are encoded, compressed and written by this thread (pyarrow releases the GIL meanwhile)
# while the caller buffers the next rows: up to one row group per file waits for it.
_ENCODER = Background("parquet")


class TableWriter:
    """Buffer rows and write them as row groups of a Parquet file.

    A row is buffered as a tuple in the order of the schema's columns (`add` takes a dict, `add_rows`
    the tuple itself), and the buffer becomes Arrow columns at each row group: no dict is kept per row.
    Each row group is then written by a background thread; an error it meets (OSError: e.g. a full disk)
    is raised by the writer's next row group or by `close`.
    """

    def __init__(self, path: Path, schema: pa.Schema, dictionaries: dict[str, list[str]]):
        self.path, self.schema, self.rows = path, schema, 0
        self.names: list[str] = schema.names
        self.layers: Counter = Counter()  # rows per layer
        self._dicts = {name: (pa.array(values, pa.string()), {v: i for i, v in enumerate(values)})
                       for name, values in dictionaries.items() if name in schema.names}
        self._buffer: list[tuple] = []
        self._batches: list[pa.RecordBatch] = []  # rows passed through in Arrow form (add_batch)
        self._batch_rows = 0
        self._contiguous = False  # add_batch with chars: each row group written as one chunk
        self._chars = 0
        self._writer = pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)
        self._written: Future | None = None  # the row group being written

    def add(self, row: dict, where: str) -> None:
        """Buffer one row: column name -> value (a column it lacks is null). Raises ReleaseRefused, naming
        `where`, for a value of a dictionary column that is not in its dictionary."""
        for name, (_, index) in self._dicts.items():
            value = row.get(name)
            if value is not None and value not in index:
                raise ReleaseRefused(f"{where}: {name} {value!r} is not in the taxonomy (expected one of {', '.join(index)})")
        self._buffer.append(tuple([row.get(name) for name in self.names]))
        self.layers[row.get("layer")] += 1
        self._chars += sum([len(v) for v in row.values() if type(v) is str])
        if len(self._buffer) >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
            self._flush()

    def add_rows(self, layer: str | None, rows: list[tuple[tuple, int]]) -> None:
        """Buffer rows of one layer, each given as (values in the order of `names`, characters of text in them):
        for rows whose dictionary values were checked before (records of the reader); one outside its
        dictionary still raises ReleaseRefused, naming the file, when its row group is written."""
        for values, chars in rows:
            self._buffer.append(values)
            self._chars += chars
            if len(self._buffer) >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
                self._flush()
        if rows:
            self.layers[layer] += len(rows)

    def add_batch(self, batch: pa.RecordBatch, chars: list[int] | None = None) -> None:
        """Buffer rows already in Arrow form: written as they are, without becoming Python objects.

        Without `chars`, the batch is buffered whole: a row group ends after a batch. With `chars`, each
        row's characters of text as `add` counts them, row groups end at the rows where `add` would end
        them, each written as one contiguous batch: the bytes `add` would give for the same rows.
        """
        if chars is None:
            self._batches.append(batch)
            self._batch_rows += batch.num_rows
            self._chars += sum(pc.sum(pc.utf8_length(column)).as_py() or 0
                               for column in batch.columns if pa.types.is_string(column.type))
            if self._batch_rows >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
                self._flush()
            return
        start = 0
        for end, count in enumerate(chars, 1):
            self._batch_rows += 1
            self._chars += count
            if self._batch_rows >= ROW_GROUP_ROWS or self._chars >= ROW_GROUP_CHARS:
                self._batches.append(batch.slice(start, end - start))
                start = end
                self._flush()
        if start < batch.num_rows:
            self._batches.append(batch.slice(start))
        self._contiguous = True  # a Parquet page's cut depends on the arrays' chunks: one chunk a row group

    def _flush(self) -> None:
        if self._batches:
            table = pa.Table.from_batches(self._batches)
            table = (table.combine_chunks() if self._contiguous else table).cast(self.schema)
            self._write(table)
            self._batches, self._batch_rows, self._chars = [], 0, 0
        if not self._buffer:
            return
        columns = []
        for field, values in zip(self.schema, zip(*self._buffer)):
            if field.name in self._dicts:
                dictionary, index = self._dicts[field.name]
                try:
                    indices = pa.array([None if v is None else index[v] for v in values], pa.int32())
                except KeyError as exc:
                    raise ReleaseRefused(f"{self.path.name}: {field.name} {exc.args[0]!r} is not in the taxonomy "
                                         f"(expected one of {', '.join(index)})") from None
                columns.append(pa.DictionaryArray.from_arrays(indices, dictionary))
            else:
                columns.append(pa.array(list(values), field.type))
        self._write(pa.Table.from_arrays(columns, schema=self.schema))
        self._buffer, self._chars = [], 0

    def _write(self, table: pa.Table) -> None:
        """Write `table` as one row group, in the background once the previous one is written."""
        self._wait()
        self._written = _ENCODER.submit(self._writer.write_table, table, row_group_size=table.num_rows)
        self.rows += table.num_rows

    def _wait(self) -> None:
        """Wait for the row group being written; raise what writing it raised."""
        written, self._written = self._written, None
        if written is not None:
            written.result()

    def close(self) -> None:
        """Write the last row group and the footer. The closed writer is dropped: pyarrow's keeps every
        row group's metadata in memory for as long as it lives."""
        if not hasattr(self, "_writer"):
            return  # closed already
        self._flush()
        self._wait()
        self._writer.close()
        del self._writer


def dump_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
