"""`liquidationheatmap check`: pre-flight before ingest."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from liquidationheatmap.download import compress_days
from liquidationheatmap.preflight import DISK_MARGIN, PreflightReport, human_bytes, run_preflight
from liquidationheatmap.report_tables import print_table, report_console
from liquidationheatmap.settings import get_settings

HELP = "pre-flight: what is in a data folder, missing days, disk room, writable warehouse"

DESCRIPTION = """\
Look at a folder of Binance archive files before ingesting it, and say whether ingest will succeed.

Finds files named as Binance names them anywhere under --data-dir (the archive layout
data/futures/um/daily/aggTrades/BTCUSDT/..., or a flat folder; zips or extracted csv files), and
reports per dataset and symbol: first and last day, file counts (daily/monthly, zip/csv), days
missing between the first and last day (a monthly file covers all its days), files without a
.CHECKSUM (ingest loads them as unverified) and days both a monthly and a daily file cover. It finds
files exactly as ingest does (same code), so what it reports is what ingest will see.

It estimates the size of the Parquet lake from the source sizes and compares it with the free space
at --lake, and checks that the lake folder and the warehouse's folder are writable (it creates and
removes a temp file; it creates nothing else).

Exit status 1, with the reason, when ingest would fail or reject files: the folder is missing or
holds no recognised file, a .zip or .csv name is not Binance's (named; move it out), a file is
empty or not a readable zip, a checksum does not match (with --verify-checksums), the estimated
lake does not fit on the disk, or the lake or warehouse is not writable. Missing days, unverified
files, and files ingest passes over (hidden names, neither .zip nor .csv, a csv beside its zip)
are warnings (exit 0).

Example:
  liquidationheatmap check --data-dir data/raw --warehouse data/processed/liquidations.duckdb
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder of archive files (default BINANCE_DATA_PATH, data/raw)",
    )
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        metavar="PATH",
        help="DuckDB warehouse file dbt will write (default DUCKDB_PATH, data/processed/liquidations.duckdb)",
    )
    parser.add_argument(
        "--lake", type=Path, default=None, help="Parquet lake folder (default LAKE_PATH, data/lake)"
    )
    parser.add_argument(
        "--verify-checksums",
        action="store_true",
        help="also hash every zip against its .CHECKSUM (reads every byte; slow on large folders)",
    )


def _table(report: PreflightReport) -> Table:
    table = Table(title=f"archive files under {report.data_dir}", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("dataset", "symbol", "first day", "last day"):
        table.add_column(name, no_wrap=True)
    for name in ("daily", "mon.", "csv", "no sum", "missing", "lake est."):
        table.add_column(name, justify="right", no_wrap=True)
    for g in report.groups:
        table.add_row(
            g.label + (" (cm)" if g.market == "cm" else ""),
            g.symbol,
            g.first_day.isoformat(),
            g.last_day.isoformat(),
            str(g.daily_files),
            str(g.monthly_files),
            str(g.csv_files),
            str(len(g.without_checksum)),
            str(len(g.missing_days)),
            human_bytes(g.estimated_lake_bytes),
        )
    return table


def print_report(report: PreflightReport, console: Console) -> None:
    if report.groups:
        print_table(console, _table(report), keys=2)
    for g in report.groups:
        if g.missing_days:
            runs = ", ".join(compress_days(g.missing_days))
            console.print(f"missing days, {g.label} {g.symbol}: {runs}", soft_wrap=True)
    if report.checksums_verified:
        console.print(f"checksums verified: {report.checksums_verified} zip(s) match their .CHECKSUM")
    if report.lake is not None and report.free_bytes is not None:
        already = (
            f", {human_bytes(report.already_in_lake_bytes)} of it already ingested"
            if report.already_in_lake_bytes
            else ""
        )
        source = sum(g.source_bytes for g in report.groups)
        console.print(
            f"lake {report.lake}: {human_bytes(source)} of source files make about "
            f"{human_bytes(report.estimated_lake_bytes)} of Parquet{already}; "
            f"needs {human_bytes(report.needed_bytes)} with a {DISK_MARGIN - 1:.0%} margin, "
            f"{human_bytes(report.free_bytes)} free",
            soft_wrap=True,
        )
    for writable, what in ((report.lake_writable, "lake"), (report.warehouse_writable, "warehouse")):
        if writable is not None:
            mark = "[green]ok[/green]" if writable.ok else "[red]not writable[/red]"
            console.print(f"{what}: {mark}: {writable.message}", soft_wrap=True, markup=True, highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True, highlight=False)
    for error in report.errors:
        console.print(f"[red]error:[/red] {error}", soft_wrap=True, highlight=False)
    if report.errors:
        console.print(f"[red]{len(report.errors)} problem(s): ingest would fail; fix them first.[/red]")
    else:
        console.print(f"[green]ready for ingest:[/green] {report.recognised_files} file(s) recognised.")


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    report = run_preflight(
        data_dir=args.data_dir if args.data_dir is not None else settings.binance_data_path,
        warehouse=args.warehouse if args.warehouse is not None else settings.duckdb_path,
        lake=args.lake if args.lake is not None else settings.lake_path,
        verify_checksums=args.verify_checksums,
    )
    print_report(report, report_console())
    return report.exit_code
