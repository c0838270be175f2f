"""What one query of the ingest manifest costs when the manifest is a file per ingest run.

`liquidationheatmap ingest` writes `<lake>/_manifest/manifest-<run>.parquet` per run, so a year of
daily ingests is 365 files, and a build queries the manifest about a hundred times (the models'
rebuild starts, the scoped tests, the walk-forward plans). This writes --runs manifest files of
--files-per-run records each (ingest's schema, liquidationheatmap.ingest.manifest) into a scratch
lake, then times the same query (the earliest event loaded after a time, as the models ask) over:

  files      the lake's files, read_parquet(..., union_by_name = true), as dbt run by hand reads them;
  cached     the same with DuckDB's Parquet footer cache (profiles.yml turns it on for builds);
  snapshot   the one-file copy a build hands dbt (dbt_runner.snapshot_lake_manifest).

    uv run python scripts/bench_manifest_reads.py --runs 365 --repeat 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquidationheatmap.dbt_runner import snapshot_lake_manifest
from liquidationheatmap.ingest.manifest import ManifestRecord, write_manifest

QUERY = (
    "select min(first_event_time) from {relation} "
    "where status = 'loaded' and ingested_at > timestamp '2026-06-01'"
)


def _write_runs(lake: Path, runs: int, files_per_run: int) -> None:
    start = datetime(2025, 1, 1)
    for run in range(runs):
        day = start + timedelta(days=run)
        run_id = f"{day:%Y%m%dT%H%M%S}-{run:06d}"
        records = [
            ManifestRecord(
                run_id=run_id,
                ingested_at=day + timedelta(hours=1),
                source_path=f"bench://{run}/{k}",
                file_name=f"BTCUSDT-dataset{k}-{day:%Y-%m-%d}.zip",
                dataset=f"dataset{k}",
                symbol="BTCUSDT",
                market="um",
                frequency="daily",
                period=f"{day:%Y-%m-%d}",
                kline_interval=None,
                size_bytes=1000,
                sha256="0" * 64,
                checksum_verdict="unverified",
                rows_loaded=10,
                rows_rejected=0,
                first_event_time=day,
                last_event_time=day + timedelta(hours=23),
                status="loaded",
                reason=None,
                output_paths=[f"dataset{k}/symbol=BTCUSDT/date={day:%Y-%m-%d}"],
            )
            for k in range(files_per_run)
        ]
        write_manifest(lake, run_id, records)


def _time(con: duckdb.DuckDBPyConnection, relation: str, repeat: int) -> float:
    sql = QUERY.format(relation=relation)
    con.execute(sql).fetchall()  # the first read of the files, as a build's first query pays it
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        con.execute(sql).fetchall()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=365, help="ingest runs, a manifest file each (default 365)"
    )
    parser.add_argument("--files-per-run", type=int, default=6, help="records per manifest file (default 6)")
    parser.add_argument("--repeat", type=int, default=20, help="timed queries per way (median; default 20)")
    args = parser.parse_args()
    if args.runs < 1 or args.files_per_run < 1 or args.repeat < 1:
        parser.error("--runs, --files-per-run and --repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench_manifest_") as scratch:
        lake = Path(scratch) / "lake"
        _write_runs(lake, args.runs, args.files_per_run)
        files = f"read_parquet('{lake}/_manifest/manifest-*.parquet', union_by_name = true)"
        plain = _time(duckdb.connect(), files, args.repeat)
        cached_con = duckdb.connect()
        cached_con.execute("set parquet_metadata_cache = true")
        cached = _time(cached_con, files, args.repeat)
        began = time.perf_counter()
        snapshot = snapshot_lake_manifest(lake, Path(scratch) / "target")
        copied = time.perf_counter() - began
        one = _time(duckdb.connect(), f"read_parquet('{snapshot}')", args.repeat)
    print(f"{args.runs} manifest files of {args.files_per_run} records; median of {args.repeat} queries")
    print("| read | seconds a query | x100 queries (a build) |")
    print("|---|---:|---:|")
    for name, seconds in (("files", plain), ("cached", cached), ("snapshot", one)):
        print(f"| {name} | {seconds:.4f} | {100 * seconds:.2f} |")
    print(f"making the snapshot: {copied:.3f} s once a build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
