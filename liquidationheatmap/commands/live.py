"""`liquidationheatmap live`: record + an incremental build every 5 minutes + serve, with Redis."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from rich.console import Console

from liquidationheatmap.commands.record import add_recorder_arguments, recorder_config
from liquidationheatmap.settings import get_settings

HELP = "live mode: record the streams, build every 5 minutes, serve pages that update live"

DESCRIPTION = """\
`record` + an incremental `build` every --build-minutes (default 5, the open-interest cadence) +
`serve`, in one process. The map, heatmap and history pages subscribe to GET /stream
(Server-Sent Events relayed from Redis): new liquidations appear as marks, the price line moves,
and the marts are redrawn when a build lands, without a reload. GET /health reports the recorder
per stream.

Redis: --redis-url or REDIS_URL; when neither is set and Debian's redis-server is installed, a local
one is started on 127.0.0.1 (free port, no persistence) and stopped on exit. Without any, it says
so and runs without live pages. Ctrl-C / SIGTERM: buffered rows are published, a running build
finishes, then everything stops.

See `liquidationheatmap record --help` for what is recorded. `liquidationheatmap demo --live` runs
this against a local replay of the simulated market, offline.

Examples:
  liquidationheatmap live --symbols BTCUSDT,ETHUSDT
  liquidationheatmap live --port 8080 --build-minutes 10
"""


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB warehouse (default DUCKDB_PATH)")
    parser.add_argument("--host", default=None, help="address to serve on (default API_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port to serve on (default API_PORT; 0 = any)")
    parser.add_argument("--build-minutes", type=float, default=5.0, help="build this often (default 5)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_recorder_arguments(parser)
    add_live_arguments(parser)


def run_session(args: argparse.Namespace, console: Console, opened=None) -> int:
    from liquidationheatmap.live.session import NO_REDIS_HINT, LiveOptions, LocalRedis, run_live

    settings = get_settings()
    redis_url = args.redis_url or os.environ.get("REDIS_URL") or settings.redis_url
    local = None
    if not redis_url:
        if LocalRedis.available():
            local = LocalRedis(workdir=Path("data/live/redis").resolve()).__enter__()
            redis_url = local.url
            console.print(f"started a local redis-server at {redis_url}", highlight=False)
        else:
            console.print(NO_REDIS_HINT, highlight=False)
    config = recorder_config(args, redis_url)

    def listening(url: str) -> None:
        console.print(f"[green]live[/] at {url} (pages /map /heatmap /history, /health); Ctrl-C to stop",
                      highlight=False)  # fmt: skip
        if opened:
            opened(url)

    options = LiveOptions(
        recorder=config,
        warehouse=(args.warehouse or settings.duckdb_path).resolve(),
        host=args.host or settings.api_host,
        port=settings.api_port if args.port is None else args.port,
        build_minutes=args.build_minutes,
        on_listening=listening,
    )
    try:
        result = asyncio.run(run_live(options))
    finally:
        if local is not None:
            local.__exit__()
    counters = result["counters"]
    builds = len(result["builds"])
    console.print(
        f"[green]stopped[/]: {counters.rows or 'no rows'} published, {builds} build(s)", highlight=False
    )
    return 0


def run(args: argparse.Namespace) -> int:
    return run_session(args, Console())
