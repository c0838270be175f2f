"""`liquidationheatmap demo`: the whole job on a simulated week of BTCUSDT, then serve it."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from liquidationheatmap.dbt_runner import BuildLocked, DiskFullError, NoDataError
from liquidationheatmap.demo import DEFAULT_DATASET, DemoError, DemoPaths, run_demo
from liquidationheatmap.settings import get_settings

HELP = "the main job on the embedded default: simulate a week of BTCUSDT, ingest, build, docs, serve"

DESCRIPTION = f"""\
Run the whole pipeline with no Binance data at hand:

  1. simulate  {DEFAULT_DATASET.days} days of BTCUSDT (~{DEFAULT_DATASET.trades_per_day:,} trades a day)
               in Binance's own archive format into BINANCE_DATA_PATH (data/raw), with the
               ground truth in data/raw/truth/
               (skipped when that simulation is already there)
  2. ingest    into the Parquet lake (LAKE_PATH, data/lake); unchanged files are skipped
  3. build     dbt build into the warehouse (DUCKDB_PATH, data/processed/liquidations.duckdb)
  4. docs      the dbt lineage site
  5. serve     the pages and the API at http://API_HOST:API_PORT (default http://127.0.0.1:8000)

A second run reuses what is there. --no-serve stops after the data is built.

--live runs live mode offline instead: one simulated day is replayed by a local Binance-compatible
server on 127.0.0.1 (websocket /market/stream + REST) at --speed times real time, recorded by
`live` into data/live-demo/, built every minute, and the pages open and update as it plays.

Examples:
  liquidationheatmap demo
  liquidationheatmap demo --no-serve
  liquidationheatmap demo --live --speed 120
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-serve", action="store_true", help="stop after the data and docs are built")
    parser.add_argument(
        "--live",
        action="store_true",
        help="live mode offline: replay a simulated day from a local Binance-compatible server on "
        "127.0.0.1, record it, build every minute and serve pages that update live (data/live-demo/)",
    )
    parser.add_argument("--speed", type=float, default=60.0, help="--live: replay speed-up (default 60)")
    parser.add_argument("--no-browser", action="store_true", help="--live: do not open the pages")
    parser.add_argument("--host", default=None, help="address to serve on (default API_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port to serve on (default API_PORT)")


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    console = Console()
    if args.live:
        from liquidationheatmap.live.demo import run_demo_live

        return run_demo_live(args, console)
    paths = DemoPaths(
        raw=settings.binance_data_path,
        lake=settings.lake_path,
        warehouse=settings.duckdb_path,
        lineage_page=Path("data/processed/lineage.html"),
    )
    try:
        seconds = run_demo(paths, console)
    except (DemoError, NoDataError, BuildLocked, DiskFullError) as error:
        console.print(f"[red]demo: {error}", highlight=False, soft_wrap=True)
        return 1
    console.print(f"[green]demo data built[/] in {seconds:.1f} s", highlight=False)
    if args.no_serve:
        console.print("next: `uv run liquidationheatmap serve` to open the pages", highlight=False)
        return 0
    from api.server import serve  # the web stack loads only when serving

    host = args.host or settings.api_host
    port = settings.api_port if args.port is None else args.port

    def listening(url: str) -> None:
        console.print(f"[green]serving[/] {url}  (pages at {url}/, API docs at {url}/docs); Ctrl-C to stop")

    serve(host, port, settings.duckdb_path, on_listening=listening)
    return 0
