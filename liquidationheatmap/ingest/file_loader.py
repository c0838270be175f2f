"""Ingest one source file: verify, decode, write its day files to staging, judge its bad lines,
publish atomically, and return its manifest row.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from liquidationheatmap.checksum import read_checksum_file, sha256_file
from liquidationheatmap.datasets import DatasetSpec, get_spec
from liquidationheatmap.ingest.bad_lines import gather_bad_lines, reset_rejects, write_bad_lines
from liquidationheatmap.ingest.decode import (
    TIME_GUARD_MARKER,
    CsvLayout,
    FileRejected,
    find_time_unit_lines,
    inspect_csv,
    lake_select_sql,
    read_csv_sql,
)
from liquidationheatmap.ingest.discovery import SourceFile
from liquidationheatmap.ingest.lake_writer import (
    output_relpath,
    publish,
    split_by_day,
    time_range_from_parquet,
)
from liquidationheatmap.ingest.manifest import ManifestRecord, bad_lines_path, utc_now
from liquidationheatmap.ingest.unzip import extract_csv
from liquidationheatmap.logs import step_logger

REJECTS = "ingest_rejects"
_BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class LoadContext:
    """What every file of a run shares."""

    lake: Path
    run_id: str
    staging: Path
    state: dict
    skip_bad_rows: bool
    connections: DuckDBConnections


class DuckDBConnections:
    """One in-memory DuckDB per worker thread, with bounded memory and its own spill folder."""

    def __init__(self, threads: int, memory_limit: str, spill_root: Path) -> None:
        self._threads = threads
        self._memory_limit = memory_limit
        self._spill_root = spill_root
        self._by_thread: dict[int, duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()

    def get(self) -> duckdb.DuckDBPyConnection:
        ident = threading.get_ident()
        with self._lock:
            if ident not in self._by_thread:
                self._by_thread[ident] = duckdb.connect(
                    config={
                        "threads": self._threads,
                        "memory_limit": self._memory_limit,
                        "temp_directory": str(self._spill_root / f"spill-{len(self._by_thread)}"),
                        "preserve_insertion_order": True,
                    }
                )
            return self._by_thread[ident]

    def close(self) -> None:
        with self._lock:
            for conn in self._by_thread.values():
                conn.close()
            self._by_thread.clear()


def file_size(path: Path) -> int:
    """Size in bytes, 0 if the file vanished since it was found (reading it then rejects it)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _epoch_to_time(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC).replace(tzinfo=None)


def _base_record(source: SourceFile, context: LoadContext) -> ManifestRecord:
    archive = source.archive
    return ManifestRecord(
        run_id=context.run_id,
        ingested_at=utc_now(),
        source_path=str(source.path.resolve()),
        file_name=source.path.name,
        dataset=archive.dataset if archive else None,
        symbol=archive.symbol if archive else None,
        market=archive.market if archive else None,
        frequency=archive.frequency if archive else None,
        period=archive.period if archive else None,
        kline_interval=archive.interval if archive else None,
        size_bytes=file_size(source.path),
        sha256=None,
        checksum_verdict="unverified",
        rows_loaded=0,
        rows_rejected=0,
        first_event_time=None,
        last_event_time=None,
        status="rejected",
        reason=None,
        output_paths=[],
    )


def _checksum_verdict(source: SourceFile, digest: str) -> tuple[str, str | None]:
    if not source.is_zip or not source.checksum_path.exists():
        return "unverified", None
    try:
        expected = read_checksum_file(source.checksum_path)
    except ValueError:
        return "mismatch", f"{source.path.name}: {source.checksum_path.name} states no sha256 digest"
    if expected != digest:
        return "mismatch", (
            f"{source.path.name}: checksum mismatch: {source.checksum_path.name} states {expected}, "
            f"the file's sha256 is {digest}"
        )
    return "verified", None


def record_duplicate(source: SourceFile, context: LoadContext) -> ManifestRecord:
    """A second copy of a file (e.g. the CSV extracted from a zip that is ingested): not loaded again."""
    record = _base_record(source, context)
    try:
        record.sha256 = sha256_file(source.path)
    except OSError:
        record.sha256 = None  # vanished meanwhile; it was not going to be loaded anyway
    record.status = "unchanged"
    record.reason = (
        f"{source.path.name}: not loaded; {source.duplicate_of.name} ({source.duplicate_of}) holds the "
        "same file and is ingested instead"
    )
    return record


def load_file(source: SourceFile, context: LoadContext) -> ManifestRecord:
    """Ingest one file; never raises for bad input (the record says what went wrong)."""
    record = _base_record(source, context)
    symbol = source.archive.symbol if source.archive else "-"
    log = step_logger(__name__, "ingest", symbol)
    work = context.staging / (source.path.name + ".work")
    try:
        if source.name_error:
            record.sha256 = sha256_file(source.path)
            raise FileRejected(source.name_error)
        record.sha256 = sha256_file(source.path)
        record.checksum_verdict, problem = _checksum_verdict(source, record.sha256)
        if problem:
            raise FileRejected(problem)
        previous = context.state.get(record.state_key)
        if _unchanged(previous, record, context.lake):
            record.status = "unchanged"
            record.output_paths = list(previous.output_paths)
            record.first_event_time = previous.first_event_time
            record.last_event_time = previous.last_event_time
            record.reason = f"{source.path.name}: already in the lake (run {previous.run_id}, same sha256)"
            return record
        work.mkdir(parents=True, exist_ok=True)
        _decode_and_publish(source, record, context, work, previous.output_paths if previous else [])
        record.status = "loaded"
        log.info("loaded %s: %d rows", source.path.name, record.rows_loaded)
    except FileRejected as rejected:
        record.status = "rejected"
        record.rows_loaded = 0
        record.output_paths = []
        record.reason = str(rejected)
        log.warning("rejected %s", record.reason)
    except Exception as error:  # an unexpected failure rejects this file, never the run
        record.status = "rejected"
        record.rows_loaded = 0
        record.output_paths = []
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        record.reason = f"{source.path.name}: ingest failed: {type(error).__name__}: {detail}"
        log.exception("failed %s", source.path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return record


def _unchanged(previous: ManifestRecord | None, record: ManifestRecord, lake: Path) -> bool:
    return (
        previous is not None
        and previous.sha256 == record.sha256
        and all((lake / relative).exists() for relative in previous.output_paths)
    )


def _decode_and_publish(
    source: SourceFile, record: ManifestRecord, context: LoadContext, work: Path, previous_outputs: list[str]
) -> None:
    archive = source.archive
    spec = get_spec(archive.dataset)
    if source.is_zip:
        csv_path = extract_csv(source.path, archive.stem, work / f"{archive.stem}.csv")
    else:
        csv_path = source.path
    layout = inspect_csv(csv_path, spec, source.path.name)
    conn = context.connections.get()
    staged, rows, low, high = _write_days(conn, csv_path, spec, layout, source, work, "raise")
    time_lines: list[tuple[int, str, str]] = []
    if staged is None:
        # A time of the wrong digit count stopped the fast path: name those lines, drop them.
        time_lines = find_time_unit_lines(csv_path, spec, layout)
        staged, rows, low, high = _write_days(conn, csv_path, spec, layout, source, work, "drop")
    bad = gather_bad_lines(conn, REJECTS, spec, time_lines)
    record.rows_rejected = bad.count
    if bad.count and not context.skip_bad_rows:
        raise FileRejected(bad.describe(source.path.name))
    if bad.count:
        destination = bad_lines_path(context.lake, source.path.name, context.run_id)
        write_bad_lines(conn, destination)
        relative = destination.relative_to(context.lake)
        if rows == 0:
            raise FileRejected(
                f"{source.path.name}: no good rows ({bad.count} bad lines, written to {relative})"
            )
        record.reason = f"{bad.describe(source.path.name)}; skipped, written to {relative}"
    if rows == 0:
        raise FileRejected(f"{source.path.name}: empty file (no data rows)")
    record.rows_loaded = rows
    record.first_event_time = _epoch_to_time(low)
    record.last_event_time = _epoch_to_time(high)
    record.output_paths = publish(context.lake, staged, previous_outputs)


def _write_days(
    conn: duckdb.DuckDBPyConnection,
    csv_path: Path,
    spec: DatasetSpec,
    layout: CsvLayout,
    source: SourceFile,
    work: Path,
    time_rows: str,
) -> tuple[dict[str, Path] | None, int, object, object]:
    """Decode the CSV into staged day files. Returns (None, ...) when the time guard tripped."""
    archive = source.archive
    reset_rejects(conn, REJECTS)
    source_sql = read_csv_sql(csv_path, spec, layout, REJECTS)
    monthly = archive.frequency == "monthly"
    sql = lake_select_sql(
        spec,
        layout,
        source_sql,
        symbol=archive.symbol,
        interval=archive.interval,
        time_rows=time_rows,
        with_date=monthly,
    )
    try:
        if monthly:
            reader = conn.execute(sql).to_arrow_reader(_BATCH_ROWS)
            split = split_by_day(reader, work / "days", spec.time_column)
            staged = {output_relpath(archive, day): path for day, path in split.files.items()}
            return staged, split.rows, split.time_min, split.time_max
        target = work / "day.parquet.part"
        quoted = str(target).replace("'", "''")
        (rows,) = conn.execute(f"copy ({sql}) to '{quoted}' (format parquet, compression zstd)").fetchone()
        if rows == 0:
            target.unlink(missing_ok=True)
            return {}, 0, None, None
        low, high = time_range_from_parquet(target, spec.time_column)
        return {output_relpath(archive, archive.first_day): target}, int(rows), low, high
    except duckdb.Error as error:
        if TIME_GUARD_MARKER in str(error) and time_rows == "raise":
            shutil.rmtree(work / "days", ignore_errors=True)
            (work / "day.parquet.part").unlink(missing_ok=True)
            return None, 0, None, None
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FileRejected(f"{source.path.name}: could not be decoded: {first_line}") from None
