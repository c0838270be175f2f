"""`liquidationheatmap record`: record Binance USD-M live streams into the lake (and Redis)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console

from liquidationheatmap.settings import get_settings

HELP = "record live aggTrades, mark prices, liquidations, open interest and funding into the lake"

DESCRIPTION = """\
Record Binance USD-M futures live on one combined websocket connection (<symbol>@aggTrade,
<symbol>@markPrice@1s, !forceOrder@arr under /market/stream of --base-url) plus REST polling of
/fapi/v1/openInterest (every --oi-seconds, default 30) and /fapi/v1/premiumIndex (funding), with
backoff and honouring 429 Retry-After. Writes the same lake the archive ingest writes, so `build`
needs nothing else:

  aggTrades        deduplicated on agg_trade_id; ids missing after a disconnect are fetched over
                   REST /fapi/v1/aggTrades when at most --backfill-limit, else a recorded gap
  metrics          5-minute open interest rows (ratio columns empty: live data has none); periods
                   the polls missed come from /futures/data/openInterestHist
  fundingRate      one row per settlement
  markPriceKlines  1-minute mark-price klines from the 1 s stream (interval 1m)
  liveGaps         every coverage gap (disconnects, ids not backfilled, open interest missing)
  truth/liquidations  forceOrder rows in the simulator's truth layout (--truth); Binance sends at
                   most one liquidation per symbol per second, so recorded truth is a lower bound

Files roll every --roll-minutes (LIVE_ROLL_MINUTES, default 5), each published atomically and
recorded in the ingest manifest; exchange time and receive time are both kept. A disconnect is
retried with backoff and the streams resubscribed. SIGINT/SIGTERM publishes what is buffered and
exits: nothing is half-written. With --redis-url (or REDIS_URL) liquidations, a per-second price
summary and "marts updated" are published on Redis pub/sub; without, it records only.
The recorder's state (per stream: connected, last message age, gaps today) is written every second
to LIVE_STATE_PATH (data/live/recorder.json), which `serve`'s /health reports.

Examples:
  liquidationheatmap record --symbols BTCUSDT,ETHUSDT
  liquidationheatmap record --symbols BTCUSDT --redis-url redis://127.0.0.1:6379/0
"""


def symbol_list(text: str) -> list[str]:
    symbols = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not symbols or any(not s.isalnum() for s in symbols):
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated symbols like BTCUSDT,ETHUSDT")
    return symbols


def add_recorder_arguments(parser: argparse.ArgumentParser) -> None:
    from liquidationheatmap.live.streams import DEFAULT_BASE_URL, DEFAULT_REST_URL

    parser.add_argument("--symbols", type=symbol_list, default=["BTCUSDT"], help="default BTCUSDT")
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help=f"websocket base (default {DEFAULT_BASE_URL})"
    )
    parser.add_argument(
        "--rest-url", default=DEFAULT_REST_URL, help=f"REST base (default {DEFAULT_REST_URL})"
    )
    parser.add_argument("--lake", type=Path, default=None, help="Parquet lake (default LAKE_PATH, data/lake)")
    parser.add_argument(
        "--truth", type=Path, default=None, help="where recorded liquidations go (default data/live/truth)"
    )
    parser.add_argument(
        "--redis-url", default=None, help="Redis for pub/sub (default REDIS_URL; none: record only)"
    )
    parser.add_argument(
        "--roll-minutes", type=float, default=None, help="publish files this often (default 5)"
    )
    parser.add_argument(
        "--oi-seconds", type=float, default=30.0, help="open interest poll interval (default 30)"
    )
    parser.add_argument(
        "--backfill-limit", type=int, default=10_000, help="most aggTrades ids fetched per gap"
    )
    parser.add_argument("--state", type=Path, default=None, help="state file (default LIVE_STATE_PATH)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="stop after this many seconds (default: never)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_recorder_arguments(parser)


def recorder_config(args: argparse.Namespace, redis_url: str | None):
    from liquidationheatmap.live.recorder import RecorderConfig

    settings = get_settings()
    return RecorderConfig(
        symbols=args.symbols,
        base_url=args.base_url,
        rest_url=args.rest_url,
        lake=(args.lake or settings.lake_path).resolve(),
        truth=(args.truth or Path("data/live/truth")).resolve(),
        state_path=(args.state or settings.live_state_path).resolve(),
        redis_url=redis_url,
        roll_seconds=60 * (args.roll_minutes or settings.live_roll_minutes),
        oi_interval=args.oi_seconds,
        backfill_limit=args.backfill_limit,
        max_seconds=args.seconds,
    )


def run(args: argparse.Namespace) -> int:
    from liquidationheatmap.live.recorder import record

    console = Console()
    redis_url = args.redis_url or os.environ.get("REDIS_URL") or get_settings().redis_url
    config = recorder_config(args, redis_url)
    console.print(
        f"recording {', '.join(config.symbols)} from {config.base_url} into {config.lake} "
        f"(files every {config.roll_seconds / 60:g} min); Ctrl-C to stop",
        highlight=False,
    )
    if not redis_url:
        console.print("no Redis URL (--redis-url or REDIS_URL): recording only", highlight=False)
    counters = record(config)
    console.print(
        f"[green]stopped[/]: {counters.rows or 'no rows'} published; {counters.malformed} malformed "
        f"frames, {counters.duplicates} duplicates dropped, {counters.backfilled} rows backfilled",
        highlight=False,
    )
    return 0
