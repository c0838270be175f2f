"""`ingest_archive`: find the files, ingest them in parallel, write the manifest, report."""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from liquidationheatmap.ingest.discovery import discover
from liquidationheatmap.ingest.file_loader import (
    DuckDBConnections,
    LoadContext,
    file_size,
    load_file,
    record_duplicate,
)
from liquidationheatmap.ingest.lake_writer import clear_staging, lake_lock, staging_dir
from liquidationheatmap.ingest.manifest import ManifestRecord, lake_state, new_run_id, write_manifest
from liquidationheatmap.logs import step_logger

DEFAULT_MEMORY_LIMIT = "512MB"  # per DuckDB connection (one per worker)


@dataclass
class IngestReport:
    """What one ingest run did; `records` are its manifest rows."""

    run_id: str
    lake: Path
    records: list[ManifestRecord] = field(default_factory=list)
    manifest_path: Path | None = None
    seconds: float = 0.0

    def _count(self, status: str) -> int:
        return sum(1 for record in self.records if record.status == status)

    @property
    def loaded(self) -> int:
        return self._count("loaded")

    @property
    def rejected(self) -> int:
        return self._count("rejected")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def rows_loaded(self) -> int:
        return sum(record.rows_loaded for record in self.records)

    @property
    def rows_rejected(self) -> int:
        return sum(record.rows_rejected for record in self.records)

    @property
    def rejected_records(self) -> list[ManifestRecord]:
        return [record for record in self.records if record.status == "rejected"]

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected else 0


def _progress(console: Console | None, show: bool) -> Progress:
    return Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=False,
    )


def ingest_archive(
    data_dir: Path,
    lake: Path,
    *,
    symbols: list[str] | None = None,
    datasets: list[str] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    skip_bad_rows: bool = False,
    workers: int | None = None,
    show_progress: bool = True,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    duckdb_threads: int | None = None,
    console: Console | None = None,
) -> IngestReport:
    """Ingest every Binance file under data_dir into the lake; see docs/ingest.md.

    Files are processed `workers` at a time (default: one per core), each with its own DuckDB
    connection of `duckdb_threads` threads (default: cores / workers) and `memory_limit`.
    """
    data_dir, lake = Path(data_dir), Path(lake)
    if start_date and end_date and start_date > end_date:
        raise ValueError(f"start date {start_date} is after end date {end_date}")
    started = time.perf_counter()
    log = step_logger(__name__, "ingest")
    found = discover(
        data_dir, lake=lake, symbols=symbols, datasets=datasets, start_date=start_date, end_date=end_date
    )
    cores = os.cpu_count() or 1
    workers = max(1, workers or cores)
    threads = max(1, duckdb_threads or cores // workers)
    run_id = new_run_id()
    report = IngestReport(run_id=run_id, lake=lake)
    with lake_lock(lake):
        clear_staging(lake)
        staging = staging_dir(lake, run_id)
        staging.mkdir(parents=True, exist_ok=True)
        connections = DuckDBConnections(threads, memory_limit, staging)
        context = LoadContext(
            lake=lake,
            run_id=run_id,
            staging=staging,
            state=lake_state(lake),
            skip_bad_rows=skip_bad_rows,
            connections=connections,
        )
        log.info("run %s: %d files from %s into %s", run_id, len(found.files), data_dir, lake)
        # Largest first, so one big file does not run alone at the end.
        ordered = sorted(found.files, key=lambda s: file_size(s.path), reverse=True)
        try:
            with _progress(console, show_progress) as progress:
                task = progress.add_task("ingest", total=len(ordered) + len(found.duplicates), rows=0)
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
                    pending: set[Future] = {pool.submit(load_file, source, context) for source in ordered}
                    try:
                        while pending:
                            done, pending = wait(pending, return_when=FIRST_COMPLETED)
                            for future in done:
                                report.records.append(future.result())
                                rows = report.rows_loaded
                                progress.update(task, advance=1, rows=rows)
                    except BaseException:
                        for future in pending:
                            future.cancel()
                        raise
                for duplicate in found.duplicates:
                    report.records.append(record_duplicate(duplicate, context))
                    progress.update(task, advance=1)
        finally:
            connections.close()
            report.records.sort(key=lambda r: r.source_path)
            report.manifest_path = write_manifest(lake, run_id, report.records)
            clear_staging(lake)
    report.seconds = time.perf_counter() - started
    log.info(
        "run %s: %d loaded, %d unchanged, %d rejected, %d rows in %.1fs",
        run_id, report.loaded, report.unchanged, report.rejected, report.rows_loaded, report.seconds,
    )  # fmt: skip
    return report
