"""What the live tests share: the simulated day's settings and a recorder run against a FakeExchange."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from liquidationheatmap.live.fake_exchange import FakeExchange, FakeExchangeThread, Faults, Replay
from liquidationheatmap.live.recorder import Counters, Recorder, RecorderConfig

DAY = date(2026, 10, 1)
SYMBOL = "BTCUSDT"
TRADES_PER_DAY = 3_000
SPEED = 4_000.0  # a day in ~22 s


@dataclass
class Recording:
    exchange: FakeExchange
    counters: Counters
    lake: Path
    truth: Path
    state: Path


def record_replay(
    replay: Replay,
    root: Path,
    faults: Faults | None = None,
    redis_url: str | None = None,
    speed: float = SPEED,
    **config,
) -> Recording:
    """Replay the day from a FakeExchange thread and record it until the replay ends (bounded)."""
    lake, truth, state = root / "lake", root / "truth", root / "recorder.json"
    shutil.rmtree(lake, ignore_errors=True)
    options = {"roll_seconds": 2.0, "oi_interval": 0.02, "ping_interval": 5.0, "ping_timeout": 5.0, **config}
    with FakeExchangeThread(replay, speed=speed, faults=faults, mark_every_seconds=10) as exchange:
        recorder_config = RecorderConfig(
            [SYMBOL], exchange.base_url, exchange.rest_url, lake, truth, state, redis_url=redis_url, **options
        )

        async def main() -> Counters:
            recorder = Recorder(recorder_config)
            task = asyncio.create_task(recorder.run())
            for _ in range(1200):  # at most 120 s
                if exchange.finished.is_set() or task.done():
                    break
                await asyncio.sleep(0.1)
            assert exchange.finished.is_set(), "the replay did not finish in 120 s"
            recorder.stop.set()
            return await task

        counters = asyncio.run(main())
    return Recording(exchange, counters, lake, truth, state)
