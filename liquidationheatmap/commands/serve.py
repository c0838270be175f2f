"""`liquidationheatmap serve`: the HTTP API, the pages and the lineage site."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from liquidationheatmap.settings import get_settings

HELP = "serve the API, the Plotly pages and the lineage site (http://127.0.0.1:8000)"

DESCRIPTION = """\
Start the web server (FastAPI under uvicorn) on the warehouse that `liquidationheatmap build` wrote.

Pages: / (index), /map (liquidation map), /heatmap, /history, /compare (model comparison).
API: /health, /symbols, /liquidations/{levels,history,heatmap,clusters}, /volume-profile,
/model-scores, POST /api/margin/calculate, /api/margin/tiers/{symbol}; OpenAPI page at /docs.
Lineage site (after `liquidationheatmap docs`) at /lineage/.

The warehouse is opened read-only per request and never held open, so `build` can run while the
server answers: requests keep getting the last good marts, then the new ones once the build swaps
them in (it publishes a new, verified file; docs/build.md). Before any build, data routes answer
503 saying to run `liquidationheatmap build`.
Answers are cached (CACHE_TTL_SECONDS, default 60 s) until the warehouse file changes.
Stop with Ctrl-C.

Environment: API_HOST, API_PORT, DUCKDB_PATH, DEFAULT_SYMBOL, DEFAULT_MODEL, CACHE_TTL_SECONDS.

Examples:
  liquidationheatmap serve
  liquidationheatmap serve --port 8080 --warehouse data/processed/liquidations.duckdb
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (default API_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default API_PORT, 8000; 0 = any free)")
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB warehouse (default DUCKDB_PATH)")


def run(args: argparse.Namespace) -> int:
    from api.server import serve  # the web stack loads only for this command

    settings = get_settings()
    host = args.host or settings.api_host
    port = settings.api_port if args.port is None else args.port
    warehouse = (args.warehouse or settings.duckdb_path).resolve()
    console = Console()
    if not warehouse.exists():
        console.print(
            f"[yellow]no warehouse at {warehouse} yet[/yellow]: data routes answer 503 until "
            "`liquidationheatmap build` has run",
            highlight=False,
        )

    def listening(url: str) -> None:
        console.print(
            f"[green]serving[/green] {url}  (pages at {url}/, API docs at {url}/docs, "
            f"lineage at {url}/lineage/)\nwarehouse {warehouse}; Ctrl-C to stop",
            highlight=False,
        )

    try:
        serve(host, port, warehouse, on_listening=listening)
    except OSError as error:
        console.print(f"[red]serve: {error}", highlight=False)
        return 2
    return 0
