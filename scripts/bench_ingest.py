"""Benchmark `ingest` against the floor on the same files.

Builds N million aggTrades rows as daily archive zips (with .CHECKSUM) in a temp folder, then runs,
each in its own process (so peak RSS is per run):
  floor  - for each zip: inflate to a temp CSV, DuckDB read_csv (sniffed) -> zstd Parquet; no checks
  ingest - liquidationheatmap.ingest.ingest_archive on the same folder (checksums, header and
           time-unit detection, typed columns, bad-line checks, manifest)
and prints rows/s for both, the ratio, and peak RSS.

  uv run python scripts/bench_ingest.py --rows-millions 4
  uv run python scripts/bench_ingest.py --rows-millions 4 --rows-per-file 4000000   # one big file
  uv run python scripts/bench_ingest.py --rows-millions 4 --rows-per-file 4000000 --monthly
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import duckdb

DAY_MS = 86_400_000


def build_archive(root: Path, rows: int, rows_per_file: int, monthly: bool = False) -> list[Path]:
    """BTCUSDT aggTrades zips in Binance's layout (daily, or monthly), rows spread over each period."""
    frequency = "monthly" if monthly else "daily"
    folder = root / f"data/futures/um/{frequency}/aggTrades/BTCUSDT"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    day, first_id, left = date(2024, 1, 1), 3_000_000_000, rows
    with duckdb.connect() as conn:
        while left > 0:
            n = min(rows_per_file, left)
            period = day.strftime("%Y-%m") if monthly else day.isoformat()
            span_days = 31 if monthly else 1
            stem = f"BTCUSDT-aggTrades-{period}"
            csv_path = root / f"{stem}.csv"
            start_ms = (day - date(1970, 1, 1)).days * DAY_MS
            step = max(1, span_days * DAY_MS // n)
            conn.execute(
                f"""
                copy (
                    select {first_id} + i as agg_trade_id,
                           round(42000 + 500 * sin(i / 50000.0) + (hash(i) % 100) / 10.0, 1) as price,
                           round(0.001 + (hash(i * 7) % 5000) / 1000.0, 3) as quantity,
                           {first_id * 3} + i * 3 as first_trade_id,
                           {first_id * 3} + i * 3 + (hash(i) % 3) as last_trade_id,
                           {start_ms} + i * {step} as transact_time,
                           case when hash(i * 13) % 2 = 0 then 'true' else 'false' end as is_buyer_maker
                    from range({n}) t(i)
                ) to '{csv_path}' (header true)
                """
            )
            zip_path = folder / f"{stem}.zip"
            with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.write(csv_path, f"{stem}.csv")
            csv_path.unlink()
            digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
            (folder / f"{stem}.zip.CHECKSUM").write_text(f"{digest}  {stem}.zip\n")
            paths.append(zip_path)
            day = (
                date(day.year + day.month // 12, day.month % 12 + 1, 1)
                if monthly
                else day + timedelta(days=1)
            )
            first_id, left = first_id + n, left - n
    return paths


def run_floor(archive: Path, out: Path) -> dict:
    """Unzip + DuckDB read_csv -> zstd Parquet, one file after the other, all cores to DuckDB."""
    zips = sorted(archive.rglob("*.zip"))
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = 0
    with duckdb.connect() as conn:
        for path in zips:
            csv_path = out / (path.stem + ".csv")
            with zipfile.ZipFile(path) as zf, zf.open(zf.infolist()[0]) as src, csv_path.open("wb") as dst:
                shutil.copyfileobj(src, dst, 4 << 20)
            (count,) = conn.execute(
                f"copy (select * from read_csv('{csv_path}')) to '{out / (path.stem + '.parquet')}' "
                "(format parquet, compression zstd)"
            ).fetchone()
            rows += count
            csv_path.unlink()
    return {"rows": rows, "seconds": time.perf_counter() - started}


def run_ingest(archive: Path, lake: Path, workers: int | None) -> dict:
    from liquidationheatmap.ingest import ingest_archive

    started = time.perf_counter()
    report = ingest_archive(archive, lake, workers=workers, show_progress=False)
    seconds = time.perf_counter() - started
    if report.rejected:
        raise SystemExit(f"ingest rejected files: {[r.reason for r in report.rejected_records]}")
    return {"rows": report.rows_loaded, "seconds": seconds}


def measure(mode: str, archive: Path, out: Path, workers: int | None) -> dict:
    """Run one mode in a child process; return its timing and its own peak RSS."""
    command = [sys.executable, __file__, "--child", mode, "--archive", str(archive), "--out", str(out)]
    if workers:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{mode} run failed with status {process.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # whole child, imports included
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows-millions", type=float, default=4.0, help="rows to build (millions)")
    parser.add_argument("--rows-per-file", type=int, default=1_000_000, help="rows per daily zip")
    parser.add_argument(
        "--monthly", action="store_true", help="build monthly files (ingest splits them by day)"
    )
    parser.add_argument("--workers", type=int, help="ingest workers (default: one per core)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the fastest is reported")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--child", choices=["floor", "ingest"], help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "floor":
            result = run_floor(args.archive, args.out)
        else:
            result = run_ingest(args.archive, args.out, args.workers)
        print(json.dumps(result))
        return 0

    root = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    try:
        rows = int(args.rows_millions * 1_000_000)
        started = time.perf_counter()
        zips = build_archive(root / "raw", rows, args.rows_per_file, args.monthly)
        size = sum(p.stat().st_size for p in zips) / 1e6
        kind = "monthly" if args.monthly else "daily"
        print(f"built {rows:,} aggTrades rows in {len(zips)} {kind} zips ({size:.0f} MB) "
              f"in {time.perf_counter() - started:.1f}s; {os.cpu_count()} cores")  # fmt: skip
        runs: dict[str, list[dict]] = {"floor": [], "ingest": []}
        for _ in range(args.repeat):  # alternate, so both modes see the same background load
            for mode, out in (("floor", root / "floor"), ("ingest", root / "lake")):
                shutil.rmtree(out, ignore_errors=True)
                runs[mode].append(measure(mode, root / "raw", out, args.workers))
        floor, ingest = (min(runs[mode], key=lambda r: r["seconds"]) for mode in ("floor", "ingest"))
        for name, result in (("floor", floor), ("ingest", ingest)):
            rate = result["rows"] / result["seconds"]
            print(
                f"{name:>6}: {result['rows']:>12,} rows in {result['seconds']:6.2f}s = "
                f"{rate / 1e6:5.2f} M rows/s, peak RSS {result['peak_rss_mb']:6.0f} MB, "
                f"CPU {result['cpu_seconds']:.2f}s; all runs: "
                + ", ".join(f"{r['seconds']:.2f}s" for r in runs[name])
            )
        ratio = ingest["seconds"] / floor["seconds"]
        print(f"ingest / floor time ratio: {ratio:.2f}x (goal <= 1.3x, >= 1.5 M rows/s)")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
