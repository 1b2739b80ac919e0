"""Readers for the 2011 (headerless CSV.gz) and 2019 (JSON lines) trace tables.

A 2011 table goes the fast way first (`read_2011_fast`): pyarrow's CSV parser, fed
by ISA-L gzip, parses and checks every column with explicit types, one file per
core, and hands each file's kept columns on, block by block or as a table
(`prepare` puts them in a bucket store or a DuckDB table). It only accepts files it can vouch for: any parse or
conversion error, a wrong column count, an empty mandatory field or a broken gzip
stream raises `FastPathRefused`, and the exact reader (`stage_2011`) reads the
table again. The exact reader is DuckDB's, into a staging table (bounded memory:
DuckDB spills past its limit): its reject tables give file and line for wrong
column counts and non-numeric fields; the rarer cases DuckDB cannot place (a
missing mandatory field, a truncated gzip stream, bad JSON) are located by a
plain Python pass over only the file concerned. So malformed rows are always
counted and named the same way, whichever path ran. 2019 tables are always read
by DuckDB. Missing optional values stay NULL.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from trace_pipeline.errors import FormatMismatchError, MalformedInputError
from trace_pipeline.schema import COLUMNS_2011, COLUMNS_2019, TABLES, TraceVersion

#: How many problems a report keeps verbatim (all are counted).
KEEP_PROBLEMS = 20
#: Default threshold: more than this share of malformed rows in a table is an error.
MAX_BAD_FRACTION = 1e-3
#: CSV text per block of the fast reader: a few blocks per file are in memory at a time.
FAST_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line if self.line is not None else '?'}: {self.reason}"


@dataclass
class TableScan:
    """What reading one table found: good rows, malformed rows, and where."""

    table: str
    files: list[str]
    rows: int = 0
    bad: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Which parser staged the rows: "pyarrow" (the fast path) or "duckdb" (the exact one).
    reader: str = "duckdb"

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "files": self.files, "rows": self.rows, "bad": self.bad,
                "problems": [str(p) for p in self.problems], "reader": self.reader}


def find_tables(root: Path, version: TraceVersion) -> dict[str, list[Path]]:
    """Trace files under `root`, laid out as in the bucket: 2011 `<table>/part-*.csv.gz`,
    2019 `<table>-*.json.gz` (or either nested one level down, e.g. `<bucket>/...`)."""
    found: dict[str, list[Path]] = {}
    for table in TABLES[version]:
        if version == "2011":
            patterns = [f"{table}/*.csv.gz", f"{table}/*.csv", f"*/{table}/*.csv.gz", f"*/{table}/*.csv"]
        else:
            patterns = [f"{table}-*.json.gz", f"{table}-*.json", f"*/{table}-*.json.gz", f"*/{table}-*.json"]
        files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
        if files:
            found[table] = files
    return found


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def first_line(path: Path) -> str:
    try:
        with _open_text(path) as handle:
            return handle.readline()
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedInputError(f"{path}:1: cannot read ({exc})") from None


def sniff_2011(path: Path, table: str) -> bool:
    """Check that a file given as a 2011 table looks like one; True if it has a header line.

    The official files have no header; copies passed around often add one (the
    shared task_usage sample does), so a first line of column names is skipped.
    """
    line = first_line(path).strip()
    if line.startswith("{"):
        raise FormatMismatchError(
            f"{path}:1: this is JSON lines (the 2019 trace format), but it was given as the "
            f"2011 table {table} (headerless CSV); pass --version 2019"
        )
    head = line.split(",", 1)[0]
    return bool(line) and not re.fullmatch(r"-?\d+", head) and not re.fullmatch(r"\d+(\.\d*)?", head)


def sniff_2019(path: Path, table: str) -> None:
    line = first_line(path).strip()
    if line and not line.startswith("{"):
        raise FormatMismatchError(
            f"{path}:1: this is not JSON lines, but it was given as the 2019 table {table}; "
            "2011 files are headerless CSV (pass --version 2011)"
        )


def stored_2011(table: str, keep: Sequence[str]) -> list[str]:
    """The columns a 2011 table is staged with: those kept, and the mandatory ones."""
    return [name for name, _, required in COLUMNS_2011[table] if name in keep or required]


class FastPathRefused(Exception):
    """The fast reader met something it cannot vouch for; read the table with `stage_2011`."""


def read_2011_fast(table: str, files: list[Path], headers: list[bool], stored: Sequence[str],
                   threads: int = 1, then: Callable[[int, Iterator[Any]], Any] | None = None,
                   ordered: bool = True) -> Iterator[tuple[int, Any]]:
    """(index, columns) per file: its `stored` columns as a pyarrow Table, or what
    `then(index, batches)` makes of them, block by block, on the thread that parses them
    (so that a file's columns need not be held twice, as a table and as what it becomes).

    pyarrow's CSV parser, fed by ISA-L gzip, parses and checks every column with explicit
    types. Files go to `threads` threads, each file whole on one thread (both libraries
    release the GIL: one gzip stream per core, and no hand-offs between threads within a
    file, which a busy machine punishes). At most `threads` files are parsed ahead of the
    caller, so memory holds a few files' columns whatever their number. `ordered` yields them
    in file order; otherwise the largest files are parsed first and each comes as soon as it
    is ready, so no thread waits behind a large file while files are left (five 2011
    task_events parts, one as large as the four others: in file order, one core idled for
    about a third of the parse).
    Anything this reader cannot vouch for raises `FastPathRefused`: the exact reader must then
    read the table, so errors, counts and the threshold are always the exact reader's.
    """
    def one(index: int) -> tuple[int, Any]:
        path, header = files[index], headers[index]
        if then:
            return index, then(index, read_2011_batches(path, table, header, stored))
        return index, _read_2011_arrow(path, table, header, stored)

    queue = iter(range(len(files)) if ordered else
                 sorted(range(len(files)), key=lambda i: -files[i].stat().st_size))
    with ThreadPoolExecutor(threads) as pool:
        pending = [pool.submit(one, index) for index in islice(queue, threads)]
        while pending:
            if ordered:
                done = pending.pop(0)
            else:
                done = next(iter(wait(pending, return_when=FIRST_COMPLETED).done))
                pending.remove(done)
            result = done.result()
            if not ordered:  # the next file starts before the caller takes this one
                pending.extend(pool.submit(one, index) for index in islice(queue, 1))
            yield result
            if ordered:
                pending.extend(pool.submit(one, index) for index in islice(queue, 1))


def _read_2011_arrow(path: Path, table: str, header: bool, stored: Sequence[str]) -> Any:
    """One file's `stored` columns as a pyarrow table, or `FastPathRefused`."""
    import pyarrow as pa

    types = _arrow_types()
    schema = pa.schema([(name, types[kind]) for name, kind, _ in COLUMNS_2011[table]
                        if name in stored])
    return pa.Table.from_batches(list(read_2011_batches(path, table, header, stored)), schema)


def _arrow_types() -> dict[str, Any]:
    """pyarrow types of the schema's column kinds."""
    import pyarrow as pa

    return {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(),
            "VARCHAR": pa.string()}


def read_2011_batches(path: Path, table: str, header: bool,
                      stored: Sequence[str]) -> Iterator[Any]:
    """One file's `stored` columns block by block (pyarrow record batches of about
    FAST_BLOCK_BYTES of text), each parsed and checked, or `FastPathRefused`.

    Types are explicit, every column is converted (text as UTF-8) and only an empty field is
    missing (pyarrow would also read "NA" or "null" as missing, DuckDB not); an empty line is
    a row of empty fields, so it fails the mandatory check. pyarrow is stricter than DuckDB
    (no "+1" or "1.0" for an integer), which only sends such files to the exact reader.
    """
    import pyarrow as pa
    from isal import igzip
    from isal.isal_zlib import error as IsalError
    from pyarrow import csv

    columns = COLUMNS_2011[table]
    mandatory = [name for name, _, required in columns if required]
    types = _arrow_types()
    options = {
        "read_options": csv.ReadOptions(column_names=[name for name, _, _ in columns],
                                        skip_rows=int(header), block_size=FAST_BLOCK_BYTES,
                                        use_threads=False),
        "parse_options": csv.ParseOptions(ignore_empty_lines=False),
        "convert_options": csv.ConvertOptions(
            column_types={name: types[kind] for name, kind, _ in columns},
            null_values=[""], strings_can_be_null=True),
    }
    try:
        with igzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb") as raw:
            for batch in csv.open_csv(raw, **options):
                if any(batch.column(name).null_count for name in mandatory):
                    raise FastPathRefused(f"{path}: an empty mandatory field")
                yield batch.select(stored)
    except (pa.ArrowException, OSError, EOFError, ValueError, IsalError) as exc:
        raise FastPathRefused(f"{path}: {exc}") from exc


def text_bytes(path: Path) -> int:
    """The size of a file's text: a gzip stream's own record of it (modulo 4 GiB, so only a
    hint), else the file size."""
    size = path.stat().st_size
    if not path.name.endswith(".gz") or size < 4:
        return size
    with open(path, "rb") as handle:
        handle.seek(-4, io.SEEK_END)
        return int.from_bytes(handle.read(4), "little")


def stage_2011(con: Any, table: str, files: list[Path], headers: list[bool], dest: str,
               stored: Sequence[str]) -> TableScan:
    """Parse a 2011 table into DuckDB table `dest` (the exact reader); count and locate
    malformed rows. Every column is parsed and checked; `dest` keeps the columns in `stored`
    (text such as the user and name hashes, which nothing reads, is the costliest to keep).
    DuckDB reads the files in parallel, one gzip stream per thread."""
    import duckdb

    scan = TableScan(table, [str(f) for f in files])
    columns = COLUMNS_2011[table]
    groups: dict[bool, list[str]] = {}
    for path, header in zip(files, headers, strict=True):
        groups.setdefault(header, []).append(str(path))
    spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind, _ in columns) + "}"
    # A column that is not selected is not converted, so the others are checked through a flag.
    others = " AND ".join(f'"{name}" IS NULL' for name, _, _ in columns if name not in stored)
    select = ", ".join(f'"{name}"' for name in stored)
    select += f", ({others}) AS _checked" if others else ""

    def source(header: bool, paths: list[str], options: str) -> str:
        files_sql = "[" + ", ".join(_quote(p) for p in paths) + "]"
        return (f"read_csv({files_sql}, columns={spec}, header={str(header).lower()}, "
                f"auto_detect=false, delim=',', quote='\"', escape='\"', {options})")

    selects = [f"SELECT {select} FROM " + source(header, paths, (
        f"store_rejects=true, rejects_table='rej_{dest}_{i}', rejects_scan='rejscan_{dest}_{i}'"))
        for i, (header, paths) in enumerate(groups.items())]
    try:
        con.execute(f"CREATE OR REPLACE TABLE {dest} AS " + " UNION ALL ".join(selects))
    except duckdb.IOException as exc:
        raise _gzip_error(files, exc) from None
    for i in range(len(groups)):
        rejects = con.execute(
            f"SELECT s.file_path, e.line, any_value(e.error_type), any_value(e.error_message) "
            f"FROM rej_{dest}_{i} e JOIN rejscan_{dest}_{i} s USING (scan_id, file_id) "
            "GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
        scan.bad += len(rejects)
        scan.problems += [Problem(f, int(line), f"{kind.lower()}: {msg}")
                          for f, line, kind, msg in rejects[:KEEP_PROBLEMS]]
    mandatory = [name for name, _, required in columns if required]
    missing = " OR ".join(f"{name} IS NULL" for name in mandatory)
    if con.execute(f"SELECT count(*) FROM {dest} WHERE {missing}").fetchone()[0]:
        # Rare: read the files again, with their names, to say which ones hold such rows.
        bad_files = con.execute(" UNION ALL ".join(
            "SELECT filename, count(*) FROM "
            + source(header, paths, "ignore_errors=true, filename=true")
            + f" WHERE {missing} GROUP BY 1" for header, paths in groups.items()
        ) + " ORDER BY 1").fetchall()
        con.execute(f"DELETE FROM {dest} WHERE {missing}")
        for name, count in bad_files:
            scan.bad += count
            scan.problems += list(_missing_mandatory(Path(name), table))[:KEEP_PROBLEMS]
    scan.problems = scan.problems[:KEEP_PROBLEMS]
    scan.rows = con.execute(f"SELECT count(*) FROM {dest}").fetchone()[0]
    return scan


def stage_2019(con: Any, table: str, files: list[Path], dest: str) -> TableScan:
    """Parse a 2019 JSON-lines table into DuckDB table `dest` (int64 strings cast, nested flattened)."""
    import duckdb

    scan = TableScan(table, [str(f) for f in files])
    for path in files:
        sniff_2019(path, table)
    columns = COLUMNS_2019[table]
    raw: dict[str, str] = {}
    for _, json_path, kind in columns:
        top, _, sub = json_path.partition(".")
        if sub:
            raw[top] = "STRUCT(cpus DOUBLE, memory DOUBLE)"
        else:
            raw[top] = "DOUBLE" if kind == "DOUBLE" else "VARCHAR"
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in raw.items()) + "}"
    select = ", ".join(
        f"TRY_CAST({_json_ref(json_path)} AS {kind}) AS {name}" for name, json_path, kind in columns
    )
    source = f"read_json([{', '.join(_quote(str(p)) for p in files)}], format='newline_delimited', " \
             f"columns={spec}, filename=true)"
    # A value that was present but did not convert (e.g. "time": "soon") makes the row malformed.
    broken = " OR ".join(
        f"({_json_ref(jp)} IS NOT NULL AND TRY_CAST({_json_ref(jp)} AS {kind}) IS NULL)"
        for _, jp, kind in columns if kind != "VARCHAR"
    )
    try:
        con.execute(f"CREATE OR REPLACE TABLE {dest} AS "
                    f"SELECT {select}, filename, ({broken}) AS _broken FROM {source}")
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        problems = [p for path in files for p in _json_problems(path, table)]
        raise MalformedInputError(
            f"{table}: {len(problems)} malformed JSON line(s); first: "
            f"{problems[0] if problems else exc}", [str(p) for p in problems[:KEEP_PROBLEMS]]
        ) from None
    except duckdb.IOException as exc:
        raise _gzip_error(files, exc) from None
    for name, count in con.execute(
        f"SELECT filename, count(*) FROM {dest} WHERE _broken GROUP BY 1 ORDER BY 1"
    ).fetchall():
        scan.bad += count
        scan.problems += list(_json_problems(Path(name), table))[:KEEP_PROBLEMS]
    con.execute(f"DELETE FROM {dest} WHERE _broken")
    con.execute(f"ALTER TABLE {dest} DROP COLUMN _broken")
    scan.problems = scan.problems[:KEEP_PROBLEMS]
    scan.rows = con.execute(f"SELECT count(*) FROM {dest}").fetchone()[0]
    return scan


def check_threshold(scans: list[TableScan], max_bad_fraction: float) -> None:
    """Past the threshold, malformed rows become an error that names file and line."""
    for scan in scans:
        total = scan.rows + scan.bad
        if scan.bad and scan.bad > max_bad_fraction * total:
            listed = "\n".join(f"  - {p}" for p in scan.problems)
            raise MalformedInputError(
                f"{scan.table}: {scan.bad} of {total} rows are malformed "
                f"({scan.bad / total:.2%} > threshold {max_bad_fraction:.2%}):\n{listed}",
                [str(p) for p in scan.problems],
            )


def _json_ref(json_path: str) -> str:
    top, _, sub = json_path.partition(".")
    return f'"{top}".{sub}' if sub else f'"{top}"'


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _gzip_error(files: list[Path], exc: Exception) -> MalformedInputError:
    """Name the file and the last good line of a gzip stream that DuckDB could not finish."""
    for path in files:
        if not path.name.endswith(".gz"):
            continue
        lines = 0
        try:
            with gzip.open(path, "rb") as handle:
                for _ in handle:
                    lines += 1
        except (EOFError, OSError, zlib.error) as err:
            return MalformedInputError(
                f"{path}:{lines + 1}: truncated or corrupt gzip stream after line {lines} ({err})",
                [f"{path}:{lines + 1}: {err}"],
            )
    return MalformedInputError(f"cannot read input: {exc}")


def _missing_mandatory(path: Path, table: str) -> Iterator[Problem]:
    columns = COLUMNS_2011[table]
    with _open_text(path) as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if len(row) != len(columns):
                continue  # counted by DuckDB's rejects already
            for value, (name, _, required) in zip(row, columns, strict=True):
                if required and value == "":
                    yield Problem(str(path), number, f"mandatory field {name!r} is empty")
                    break


def _json_problems(path: Path, table: str) -> Iterator[Problem]:
    columns = COLUMNS_2019[table]
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Problem(str(path), number, f"invalid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                yield Problem(str(path), number, "not a JSON object")
                continue
            for name, json_path, kind in columns:
                value = row
                for key in json_path.split("."):
                    value = value.get(key) if isinstance(value, dict) else None
                if value is not None and kind != "VARCHAR" and not _numeric(value, kind):
                    yield Problem(str(path), number, f"{name}={value!r} is not {kind.lower()}")
                    break


def _numeric(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    try:
        int(value) if kind in ("BIGINT", "INTEGER") else float(value)
    except (TypeError, ValueError):
        return False
    return True
