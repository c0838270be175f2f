"""`liquidationheatmap download`: mirror Binance's public archive (verified, resumable)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from liquidationheatmap.archive_layout import KLINE_INTERVALS
from liquidationheatmap.commands.arguments import dataset_names, iso_date
from liquidationheatmap.datasets import DATASETS, DEFAULT_DATASETS, MARKETS, TRUTH_DATASETS
from liquidationheatmap.download import (
    DEFAULT_BASE_URL,
    DOWNLOADED,
    FAILED,
    FALLBACK,
    MISSING,
    PRESENT,
    DownloadConfig,
    DownloadReport,
    FileResult,
    ProgressSink,
    compress_days,
    download_archive,
    plan_downloads,
)
from liquidationheatmap.preflight import human_bytes
from liquidationheatmap.report_tables import print_table, report_console
from liquidationheatmap.settings import get_settings

HELP = "mirror Binance's public futures archive (zip + CHECKSUM, verified, resumable)"

DESCRIPTION = f"""\
Mirror the files needed for SYMBOLs, DATASETS and a date range from Binance's public archive into
the archive layout under --out (data/futures/<market>/<daily|monthly>/<dataset>/<SYMBOL>/...).

Which files: fundingRate exists only monthly (every month touching the range); metrics and
bookDepth only daily (every day); the others (aggTrades, trades, klines, markPriceKlines) as monthly
files for the months wholly inside the range and daily files for the remaining days. A monthly file
that is not published yet (the current month) is replaced by its daily files. klines and
markPriceKlines come at --kline-interval (default 1m: the mark-price extremes the lifecycle uses).

Each zip is fetched with its .CHECKSUM and kept only if its sha256 matches; files are written under
a temp name and renamed, so an interrupted run never leaves a partial file. Files already present
and matching their local .CHECKSUM are skipped without a request, so running again is cheap.
Transient failures (5xx, 429, cut connections, short bodies, checksum mismatches) are retried with
exponential backoff. A 404 is recorded as missing (not an error) and the missing days are listed at
the end. Exit status: 0 when every file is present, downloaded or missing; 1 when any file failed
(including a checksum that still does not match after the retries); 2 for bad arguments.

Datasets: {", ".join(d for d in DATASETS if d not in TRUTH_DATASETS)} (default {",".join(DEFAULT_DATASETS)}).

Example:
  liquidationheatmap download --symbol BTCUSDT ETHUSDT --datasets aggTrades,metrics,fundingRate \\
      --start-date 2024-01-01 --end-date 2024-02-10 --out data/raw
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbol", nargs="+", required=True, metavar="S", help="symbols, e.g. BTCUSDT")
    parser.add_argument(
        "--datasets",
        type=dataset_names,
        default=list(DEFAULT_DATASETS),
        help=f"comma-separated datasets (default {','.join(DEFAULT_DATASETS)})",
    )
    parser.add_argument(
        "--start-date", type=iso_date, required=True, metavar="D", help="first day, YYYY-MM-DD"
    )
    parser.add_argument("--end-date", type=iso_date, required=True, metavar="D", help="last day (inclusive)")
    parser.add_argument(
        "--out", default=None, help="mirror root (default BINANCE_DATA_PATH from settings, data/raw)"
    )
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help=f"archive base (default {DEFAULT_BASE_URL})"
    )
    parser.add_argument("--market", choices=MARKETS, default="um", help="um = USD-M (default), cm = COIN-M")
    parser.add_argument(
        "--kline-interval", choices=KLINE_INTERVALS, default="1m", help="interval for klines (default 1m)"
    )
    parser.add_argument("--concurrency", type=_positive, default=4, help="parallel transfers (default 4)")
    parser.add_argument(
        "--retries",
        type=_non_negative,
        default=3,
        help="extra attempts after a transient failure (default 3)",
    )
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="base backoff delay; attempt n waits SECONDS * 2**(n-1), at most 30s (default 1.0)",
    )


class _RichProgress(ProgressSink):
    """Files done out of planned, and megabytes received, on one bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("files", total=0, mb=0.0)
        self.lock = threading.Lock()
        self.total_files = 0
        self.received = 0

    def add_files(self, count: int) -> None:
        with self.lock:
            self.total_files += count
            self.progress.update(self.task, total=self.total_files)

    def file_done(self, result: FileResult) -> None:
        self.progress.advance(self.task)

    def bytes_received(self, count: int) -> None:
        with self.lock:
            self.received += count
            self.progress.update(self.task, mb=self.received / 1e6)


def _summary(report: DownloadReport) -> Table:
    table = Table(title="download summary", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("dataset", "symbol", "planned", DOWNLOADED, PRESENT, MISSING, FAILED, "fetched"):
        table.add_column(name, justify="left" if name in ("dataset", "symbol") else "right", no_wrap=True)
    groups: dict[tuple[str, str], list[FileResult]] = {}
    for result in report.results:
        label = result.file.dataset + (f" {result.file.interval}" if result.file.interval else "")
        groups.setdefault((label, result.file.symbol), []).append(result)
    for (dataset, symbol), results in sorted(groups.items()):
        counts = {s: sum(r.status == s for r in results) for s in (DOWNLOADED, PRESENT, MISSING, FAILED)}
        fetched = human_bytes(sum(r.size_bytes for r in results if r.status == DOWNLOADED))
        planned = sum(r.status != FALLBACK for r in results)
        table.add_row(dataset, symbol, str(planned), *(str(counts[s]) for s in counts), fetched)
    return table


def run(args: argparse.Namespace) -> int:
    console = report_console()
    symbols = [s.upper() for s in args.symbol]
    try:
        plan = plan_downloads(
            symbols, args.datasets, args.start_date, args.end_date, args.market, args.kline_interval
        )
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    out = args.out if args.out is not None else str(get_settings().binance_data_path)
    config = DownloadConfig(
        out=Path(out),
        base_url=args.base_url,
        concurrency=args.concurrency,
        retries=args.retries,
        retry_base_delay=args.retry_delay,
    )
    console.print(
        f"{len(plan)} files planned for {', '.join(symbols)} ({', '.join(args.datasets)}), "
        f"{args.start_date}..{args.end_date}, from {args.base_url} into {config.out}"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[mb]:.1f} MB"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        report = download_archive(plan, config, _RichProgress(progress), args.start_date, args.end_date)
    print_table(console, _summary(report), keys=2)
    for (dataset, symbol, interval), days in report.missing_days().items():
        label = dataset + (f" {interval}" if interval else "")
        runs = ", ".join(compress_days(days))
        console.print(
            f"[yellow]missing[/yellow] {label} {symbol}: {len(days)} day(s): {runs}", soft_wrap=True
        )
    for result in report.failed:
        console.print(f"[red]failed[/red] {result.file.zip_name}: {result.reason}", soft_wrap=True)
    if report.failed:
        console.print(f"[red]{len(report.failed)} file(s) failed; run again to retry them.[/red]")
    else:
        console.print(f"done: {human_bytes(report.bytes_downloaded)} downloaded into {config.out}")
    return report.exit_code
