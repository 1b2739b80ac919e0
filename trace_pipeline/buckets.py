"""Rows of one table, file by file, served in buckets of whole entities; bounded memory.

Lifecycles need every row of an entity together, and an entity's rows can lie in
any file. Each file's rows come with a hash of the entity key (`HASH`); once all
files are in and the number of buckets is known, every file's rows are ordered
by bucket (`hash % count`), so a bucket is one contiguous slice per file. Files
stay in memory up to `held_bytes`; the rest are spilled to Arrow IPC files (one
record batch per bucket) and a bucket reads back only its own batches. So memory
holds the budget plus one bucket per worker, whatever the input size, and the
buckets are exactly those of `WHERE hash(key) % count = b` over the whole table.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

#: The column that carries each row's hash of the entity key (DuckDB's `hash(key)`).
HASH = "_h"


class BucketStore:
    """Rows added file by file (`add`), ordered by bucket once (`split`), read by bucket."""

    def __init__(self, spill_dir: Path, held_bytes: int):
        self.spill_dir = spill_dir
        self.held_bytes = held_bytes
        self.rows = 0
        self._held = 0
        self._parts: list[Any] = []  # per file: a pyarrow Table (held) or the Path of a spill
        self._count = 0

    def add(self, part: Any) -> None:
        """One file's rows (a pyarrow Table with a `HASH` column), held or spilled."""
        self.rows += part.num_rows
        if self._held + part.nbytes <= self.held_bytes:
            self._held += part.nbytes
            self._parts.append(part)
        else:
            self._parts.append(self._write(part.to_batches(), part.schema, len(self._parts)))

    def split(self, count: int, threads: int = 1) -> None:
        """Order each file's rows by bucket `hash % count` (`threads` files at a time); a bucket
        is then one slice per file."""
        self._count = count
        with ThreadPoolExecutor(threads) as pool:  # numpy and pyarrow release the GIL
            self._parts = list(pool.map(self._split_one, self._parts, range(len(self._parts))))

    def _split_one(self, part: Any, index: int) -> Any:
        import pyarrow as pa

        table = part if isinstance(part, pa.Table) else _read(part)
        bucket = table[HASH].to_numpy() % self._count
        bucket = bucket.astype(np.uint16 if self._count <= 1 << 16 else np.uint64)  # radix sort
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self._count + 1))
        table = table.drop_columns([HASH]).take(order).combine_chunks()
        slices = [table.slice(lo, hi - lo) for lo, hi in pairwise(bounds)]
        if isinstance(part, pa.Table):
            return slices
        return self._write([pa.record_batch([s.column(i).combine_chunks()
                                             for i in range(s.num_columns)], schema=s.schema)
                            for s in slices], table.schema, index)

    def bucket(self, number: int) -> Any:
        """The rows of one bucket (a pyarrow Table), in file order."""
        import pyarrow as pa

        if not 0 <= number < self._count:
            raise IndexError(f"bucket {number} of {self._count} (split first)")
        pieces = []
        for part in self._parts:
            if isinstance(part, list):
                pieces.append(part[number])
            else:
                with pa.OSFile(str(part)) as handle:  # reads this batch only, into memory
                    batch = pa.ipc.open_file(handle).get_batch(number)
                pieces.append(pa.Table.from_batches([batch]))
        return pa.concat_tables(pieces)

    def _write(self, batches: list[Any], schema: Any, index: int) -> Path:
        import pyarrow as pa

        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"part-{index:05d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
        return path


def _read(path: Path) -> Any:
    import pyarrow as pa

    with pa.OSFile(str(path)) as handle:
        return pa.ipc.open_file(handle).read_all()


def masked_columns(table: Any) -> dict[str, np.ma.MaskedArray]:
    """Columns as numpy, missing values masked (what DuckDB's `fetchnumpy` gives); a column
    in one piece without missing values is not copied."""
    out = {}
    for name in table.column_names:
        column = table[name].combine_chunks()  # one copy of the pieces, none for one piece
        if column.null_count:
            out[name] = np.ma.masked_array(column.fill_null(0).to_numpy(),
                                           column.is_null().to_numpy(zero_copy_only=False))
        else:
            out[name] = np.ma.asarray(column.to_numpy())
    return out
