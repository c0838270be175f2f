"""Put Parquet files in the lake so that a reader never sees half of one.

Files are written under `<lake>/_tmp/<run_id>/` (outside every `<lake>/<dataset>/` tree readers
glob) and moved into place with os.replace, which is atomic on one filesystem. A monthly file is
split into one file per UTC day, keeping the file's row order.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from liquidationheatmap.archive_layout import ArchiveFile

TMP_DIR = "_tmp"
LOCK_NAME = ".ingest.lock"
DATE_COLUMN = "__date"
_ROWS_PER_WRITE = 1 << 17  # rows buffered per day before a row group is written


class LakeBusy(RuntimeError):
    """Another ingest holds the lake."""


def output_relpath(archive: ArchiveFile, day: date) -> str:
    """`<dataset>/symbol=<SYMBOL>/date=<YYYY-MM-DD>/<stem>.parquet`, relative to the lake."""
    return f"{archive.dataset}/symbol={archive.symbol}/date={day.isoformat()}/{archive.stem}.parquet"


@contextlib.contextmanager
def lake_lock(lake: Path) -> Iterator[None]:
    """One ingest per lake at a time; the lock goes away with the process, even when killed."""
    lake.mkdir(parents=True, exist_ok=True)
    handle = (lake / LOCK_NAME).open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LakeBusy(f"{lake}: another ingest is writing this lake; try again when it ends") from None
        yield
    finally:
        handle.close()


def staging_dir(lake: Path, run_id: str) -> Path:
    return lake / TMP_DIR / run_id


def clear_staging(lake: Path) -> None:
    """Remove what killed runs left in `_tmp` (safe: we hold the lake lock)."""
    shutil.rmtree(lake / TMP_DIR, ignore_errors=True)


@dataclass
class DaySplit:
    """Result of splitting a stream of rows by day: staged files, rows and the time range."""

    files: dict[date, Path] = field(default_factory=dict)
    rows: int = 0
    time_min: object = None
    time_max: object = None


def split_by_day(reader: pa.RecordBatchReader, staging: Path, time_column: str) -> DaySplit:
    """Write each UTC day's rows (column `__date`) to its own Parquet file, in the stream's order.

    Memory stays bounded: a day's rows are written once _ROWS_PER_WRITE are buffered or as soon as
    a batch arrives without that day, so a time-sorted file buffers about one day's tail at a time.
    """
    staging.mkdir(parents=True, exist_ok=True)
    result = DaySplit()
    writers: dict[date, pq.ParquetWriter] = {}
    buffers: dict[date, list[pa.Table]] = {}
    buffered: dict[date, int] = {}
    schema: pa.Schema | None = None

    def flush(day: date) -> None:
        table = pa.concat_tables(buffers.pop(day))
        buffered.pop(day)
        if day not in writers:
            path = staging / f"{day.isoformat()}.parquet.part"
            writers[day] = pq.ParquetWriter(path, table.schema, compression="zstd")
            result.files[day] = path
        writers[day].write_table(table, row_group_size=len(table))

    def add(day: date, table: pa.Table) -> None:
        buffers.setdefault(day, []).append(table)
        buffered[day] = buffered.get(day, 0) + len(table)
        if buffered[day] >= _ROWS_PER_WRITE:
            flush(day)

    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            if schema is None:
                schema = pa.schema([f for f in batch.schema if f.name != DATE_COLUMN])
            dates = batch.column(DATE_COLUMN)
            body = pa.Table.from_batches([batch.drop_columns([DATE_COLUMN])])
            bounds = pc.min_max(body.column(time_column))
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            result.time_min = low if result.time_min is None else min(result.time_min, low)
            result.time_max = high if result.time_max is None else max(result.time_max, high)
            result.rows += batch.num_rows
            day_span = pc.min_max(dates)
            if day_span["min"] == day_span["max"]:
                add(day_span["min"].as_py(), body)
                _flush_days_left_behind(buffers, {day_span["min"].as_py()}, flush)
                continue
            # A stable sort by day keeps the file's order inside each day.
            order = pc.sort_indices(dates)
            sorted_days = dates.take(order)
            body = body.take(order)
            changes = pc.not_equal(sorted_days.slice(1), sorted_days.slice(0, len(sorted_days) - 1))
            ends = [index + 1 for index in pc.indices_nonzero(changes).to_pylist()] + [len(sorted_days)]
            start, seen = 0, set()
            for end in ends:
                day = sorted_days[start].as_py()
                seen.add(day)
                add(day, body.slice(start, end - start))
                start = end
            _flush_days_left_behind(buffers, seen, flush)
        for day in list(buffers):
            flush(day)
    finally:
        for writer in writers.values():
            writer.close()
    return result


def _flush_days_left_behind(buffers: dict, seen: set, flush) -> None:
    """Write out days the stream has moved past, so a sorted file holds one day in memory at a time."""
    for day in [day for day in buffers if day not in seen]:
        flush(day)


def time_range_from_parquet(path: Path, column: str) -> tuple[object, object]:
    """Min and max of a column from the row-group statistics (no data read)."""
    metadata = pq.ParquetFile(path).metadata
    index = metadata.schema.names.index(column)
    low = high = None
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            continue
        low = stats.min if low is None else min(low, stats.min)
        high = stats.max if high is None else max(high, stats.max)
    return low, high


def publish(lake: Path, staged: dict[str, Path], previous_outputs: list[str]) -> list[str]:
    """Move staged files to their lake paths, then remove earlier outputs the new ones do not replace."""
    for relative, source in staged.items():
        target = lake / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    for relative in previous_outputs:
        if relative not in staged:
            (lake / relative).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                (lake / relative).parent.rmdir()  # drop the day folder when it is now empty
    return sorted(staged)
