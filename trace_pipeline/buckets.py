"""Rows of one table, file by file, served in buckets of whole entities; bounded memory.

Lifecycles need every row of an entity together, and an entity's rows can lie in
any file. Each file's rows come with a hash of the entity key (DuckDB's `hash(key)`,
`fastview.duckdb_hash`); once all files are in and the number of buckets is known,
each file's rows are ordered by bucket (`hash % count`, a stable sort of small
integers), so a bucket is one stretch of that order per file, and a bucket gathers
its rows from every file straight into its own arrays, on the worker thread that
will use them. The buckets are exactly those of `WHERE hash(key) % count = b` over
the whole table, with their rows in file order, then in the order of the file.

Files stay in memory (numpy columns) up to `held_bytes`; the rest are spilled, each
to one raw file of its columns (and, once split, its bucket order beside it). A
bucket reads back only its stretch of the order and gathers from the spilled columns
one column at a time through a memory map, so memory holds the budget plus one bucket
per worker (and one column of one file while gathering), whatever the input size.
Spilled rows are written once and never rewritten: the earlier Arrow IPC spill wrote
them again in bucket order (for part 0 of the sample, ≈ 45 ms on one core while the
other waited).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trace_pipeline.fastview import Rows


@dataclass
class _Part:
    """One file's rows: held (`rows`, `hashes`) or spilled (`path`, `layout`); once split,
    `order` (held) or `path`.order (spilled) lists its rows bucket by bucket, and bucket b is
    `order[bounds[b]:bounds[b + 1]]`."""

    size: int
    rows: Rows | None = None
    hashes: np.ndarray | None = None
    path: Path | None = None
    #: Spilled: per array (column data, column mask, hashes) its dtype and offset in the file.
    layout: dict[str, tuple[np.dtype, int]] = field(default_factory=dict)
    order: np.ndarray | None = None
    bounds: np.ndarray | None = None


_HASHES, _MASK = "\0hash", "\0mask:"


class BucketStore:
    """Rows added file by file (`add`), ordered by bucket once (`split`), read by bucket."""

    def __init__(self, spill_dir: Path, held_bytes: int):
        self.spill_dir = spill_dir
        self.held_bytes = held_bytes
        self.rows = 0
        self._held = 0
        self._parts: dict[int, _Part] = {}  # by file index
        self._count = 0
        self._lock = threading.Lock()

    @property
    def spilled(self) -> int:
        """How many files are spilled."""
        return sum(part.path is not None for part in self._parts.values())

    def add(self, index: int, rows: Rows, hashes: np.ndarray) -> None:
        """File number `index`'s rows (files may come in any order) and their key hashes.
        Thread-safe: parse workers add their files, and a spill is written on the caller's
        thread, in parallel with the others."""
        size = hashes.nbytes + sum(column.data.nbytes + np.ma.getmask(column).nbytes
                                   for column in rows.values())
        with self._lock:
            self.rows += len(hashes)
            held = self._held + size <= self.held_bytes
            self._held += size if held else 0
        part = _Part(len(hashes), rows, hashes) if held else self._spill(index, rows, hashes)
        with self._lock:
            self._parts[index] = part

    def split(self, count: int, threads: int = 1) -> None:
        """Order each file's rows by bucket `hash % count` (`threads` files at a time)."""
        self._count = count
        with ThreadPoolExecutor(threads) as pool:  # numpy releases the GIL
            list(pool.map(self._split_one, self._parts.values()))

    def _split_one(self, part: _Part) -> None:
        small = np.uint16 if self._count <= 1 << 16 else np.uint64  # a radix sort
        hashes = part.hashes if part.path is None else self._array(part, _HASHES)
        bucket = (hashes % np.uint64(self._count)).astype(small)
        part.bounds = np.zeros(self._count + 1, dtype=np.int64)
        np.cumsum(np.bincount(bucket, minlength=self._count), out=part.bounds[1:])
        order = np.argsort(bucket, kind="stable")
        if part.path is None:
            part.order, part.hashes = order, None
        else:
            order.tofile(part.path.with_suffix(".order"))

    def bucket(self, number: int) -> Rows:
        """The rows of one bucket, in file order, as numpy columns (missing values masked)."""
        if not 0 <= number < self._count:
            raise IndexError(f"bucket {number} of {self._count} (split first)")
        parts = [self._parts[index] for index in sorted(self._parts)]
        takes = []
        for part in parts:
            assert part.bounds is not None, "split first"
            lo, hi = int(part.bounds[number]), int(part.bounds[number + 1])
            if part.path is None:
                takes.append(part.order[lo:hi])
            else:
                takes.append(np.fromfile(part.path.with_suffix(".order"), np.int64,
                                         hi - lo, offset=lo * 8))
        total, out = sum(len(take) for take in takes), {}
        for name, dtype in self._columns(parts[0]).items():
            data = np.empty(total, dtype=dtype)
            mask = np.zeros(total, dtype=bool) if any(
                self._has_mask(part, name) for part in parts) else None
            start = 0
            for part, take in zip(parts, takes, strict=True):
                end = start + len(take)
                np.take(self._array(part, name), take, out=data[start:end], mode="clip")
                if mask is not None and self._has_mask(part, name):
                    np.take(self._array(part, _MASK + name), take, out=mask[start:end],
                            mode="clip")
                start = end
            out[name] = np.ma.MaskedArray(data, mask) if mask is not None \
                else np.ma.MaskedArray(data)
        return out

    def _spill(self, index: int, rows: Rows, hashes: np.ndarray) -> _Part:
        """Write a file's arrays one after another into one raw file."""
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        part = _Part(len(hashes), path=self.spill_dir / f"part-{index:05d}.bin")
        arrays = {_HASHES: hashes}
        for name, column in rows.items():
            arrays[name] = column.data
            if np.ma.getmask(column) is not np.ma.nomask:
                arrays[_MASK + name] = np.ma.getmask(column)
        offset = 0
        with open(part.path, "wb") as sink:
            for name, array in arrays.items():
                part.layout[name] = (array.dtype, offset)
                sink.write(np.ascontiguousarray(array).data)
                offset += array.nbytes
        return part

    @staticmethod
    def _columns(part: _Part) -> dict[str, np.dtype]:
        if part.rows is not None:
            return {name: column.dtype for name, column in part.rows.items()}
        return {name: dtype for name, (dtype, _) in part.layout.items() if name[0] != "\0"}

    @staticmethod
    def _has_mask(part: _Part, name: str) -> bool:
        if part.rows is not None:
            return np.ma.getmask(part.rows[name]) is not np.ma.nomask
        return _MASK + name in part.layout

    @staticmethod
    def _array(part: _Part, name: str) -> np.ndarray:
        """An array of a part: in memory, or mapped from its spill file (only the pages a
        gather touches are read, and they stay mapped only while it gathers)."""
        if part.rows is not None:
            if name.startswith(_MASK):
                return np.ma.getmask(part.rows[name[len(_MASK):]])
            return part.rows[name].data
        dtype, offset = part.layout[name]
        return np.memmap(part.path, dtype=dtype, mode="r", offset=offset, shape=(part.size,))
