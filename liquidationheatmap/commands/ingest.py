"""`liquidationheatmap ingest`: Binance archive files -> typed Parquet lake with a manifest."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from liquidationheatmap.commands.arguments import dataset_names, iso_date
from liquidationheatmap.datasets import DATASETS
from liquidationheatmap.report_tables import report_console
from liquidationheatmap.settings import get_settings

HELP = "verify, decode and type Binance archive files into the Parquet lake, with a manifest"
DESCRIPTION = f"""\
Ingest Binance archive files found anywhere under --data-dir (Binance's archive layout or a flat
folder; daily and monthly; zipped or already extracted CSV; USD-M and COIN-M) into the Parquet lake:
  <lake>/<dataset>/symbol=<SYMBOL>/date=<YYYY-MM-DD>/<source file stem>.parquet   (zstd)
one file per source file and day (a monthly file is split into its UTC days), with Binance's column
names and units plus `symbol`, times as milliseconds. Every file gets a row in the manifest
<lake>/_manifest/manifest-<run_id>.parquet (sha256, checksum verdict, rows, time range, status).

A zip's <zip>.CHECKSUM is verified when present (mismatch -> rejected; none -> "unverified").
Running again on the same files changes nothing ("unchanged"); a file replaced by a new version
replaces exactly its earlier output. A bad file (corrupt zip, checksum mismatch, empty, wrong field
count, non-numeric value, unknown name) is rejected with a reason naming the file, the first bad line
and the count of bad lines; every other file still loads. With --skip-bad-rows a file's good rows
load and its bad lines go to <lake>/_manifest/bad_lines/<stem>-<run_id>.csv with their line numbers.

Exit status: 0 all files loaded or unchanged, 1 some file rejected (listed at the end),
2 nothing done (missing folder, bad option, another ingest holds the lake). See docs/ingest.md.

Datasets: {", ".join(DATASETS)} (default: all). liquidations and positions are the simulator's ground
truth (its `truth/` folder beside `data/`), loaded into the lake the same way so dbt reads them there.

Example:
  liquidationheatmap ingest --data-dir data/raw --symbol BTCUSDT --datasets aggTrades,metrics \\
      --start-date 2024-01-01 --end-date 2024-01-31
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings = get_settings()
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=settings.binance_data_path,
        help=f"folder holding the Binance files (default: BINANCE_DATA_PATH = {settings.binance_data_path})",
    )
    parser.add_argument(
        "--lake", type=Path, default=settings.lake_path, help=f"lake folder (default: {settings.lake_path})"
    )
    parser.add_argument(
        "--symbol",
        dest="symbols",
        nargs="+",
        action="extend",
        metavar="S",
        help="only these symbols (repeatable, e.g. --symbol BTCUSDT ETHUSDT)",
    )
    parser.add_argument(
        "--datasets", type=dataset_names, help="comma-separated datasets to ingest (default: all found)"
    )
    parser.add_argument(
        "--start-date", type=iso_date, help="skip files that end before this day (YYYY-MM-DD)"
    )
    parser.add_argument("--end-date", type=iso_date, help="skip files that start after this day (YYYY-MM-DD)")
    parser.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="load a file's good rows and write its bad lines to <lake>/_manifest/bad_lines/ "
        "instead of rejecting the file",
    )
    parser.add_argument("--workers", type=int, help="files ingested at once (default: one per core)")


def run(args: argparse.Namespace) -> int:
    from liquidationheatmap.ingest.lake_writer import LakeBusy
    from liquidationheatmap.ingest.summary import print_summary

    console = report_console()
    if not args.data_dir.is_dir():
        console.print(f"[red]{args.data_dir}: data folder not found", highlight=False)
        return 2
    if args.start_date and args.end_date and args.start_date > args.end_date:
        console.print(
            f"[red]--start-date {args.start_date} is after --end-date {args.end_date}", highlight=False
        )
        return 2
    if args.workers is not None and args.workers < 1:
        console.print("[red]--workers must be at least 1", highlight=False)
        return 2
    try:
        report = _ingest(args, console)
    except LakeBusy as error:
        console.print(f"[red]{error}", highlight=False)
        return 2
    print_summary(report, console)
    return report.exit_code


def _ingest(args: argparse.Namespace, console: Console):
    from liquidationheatmap.ingest import ingest_archive

    return ingest_archive(
        args.data_dir,
        args.lake,
        symbols=args.symbols,
        datasets=args.datasets,
        start_date=args.start_date,
        end_date=args.end_date,
        skip_bad_rows=args.skip_bad_rows,
        workers=args.workers,
        show_progress=console.is_terminal,
        console=console,
    )
