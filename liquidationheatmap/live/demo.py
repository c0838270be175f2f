"""`liquidationheatmap demo --live`: the whole live path offline, against a local replay.

Simulates one day (once) into data/live-demo/raw, replays it from a FakeExchange on 127.0.0.1 at
`--speed` times real time, and runs `live` against it (record -> lake -> build every minute ->
serve, Redis pub/sub -> SSE -> pages). Polling keeps Binance's cadence in market time
(open interest every 30 market seconds).
"""

from __future__ import annotations

import argparse
import webbrowser
from datetime import date
from pathlib import Path

from rich.console import Console

DEMO_ROOT = Path("data/live-demo")
DEMO_DAY = date(2026, 10, 1)
DEMO_TRADES_PER_DAY = 20_000


def run_demo_live(args: argparse.Namespace, console: Console) -> int:
    from liquidationheatmap.commands.live import run_session
    from liquidationheatmap.live.fake_exchange import FakeExchangeThread, load_replay
    from liquidationheatmap.simulate import simulate_market

    root = DEMO_ROOT.resolve()
    raw = root / "raw"
    if not (raw / "truth").exists():
        console.print(f"simulating {DEMO_DAY} of BTCUSDT into {raw} ...", highlight=False)
        simulate_market(raw, ["BTCUSDT"], DEMO_DAY, days=1, trades_per_day=DEMO_TRADES_PER_DAY)
    replay = load_replay(raw, ["BTCUSDT"], DEMO_DAY)
    with FakeExchangeThread(replay, speed=args.speed) as exchange:
        console.print(
            f"replaying {DEMO_DAY} at {args.speed:g}x from {exchange.base_url} (REST {exchange.rest_url})",
            highlight=False,
        )
        session = argparse.Namespace(
            symbols=["BTCUSDT"], base_url=exchange.base_url, rest_url=exchange.rest_url,
            lake=root / "lake", truth=root / "truth", redis_url=None, roll_minutes=0.5,
            oi_seconds=max(0.05, 30.0 / args.speed), backfill_limit=10_000, state=root / "recorder.json",
            seconds=None, warehouse=root / "live.duckdb", host=args.host, port=args.port, build_minutes=1.0,
        )  # fmt: skip

        def opened(url: str) -> None:
            if not args.no_browser:
                webbrowser.open(f"{url}/heatmap")

        return run_session(session, console, opened)
