"""Fixtures for the live tests: a small simulated day, its replay, a recorder run against a
FakeExchange on 127.0.0.1, and Debian's redis-server started by the test on a free port."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from liquidationheatmap.live.fake_exchange import (
    FakeExchange,
    FakeExchangeThread,
    Faults,
    Replay,
    load_replay,
)
from liquidationheatmap.live.recorder import Counters, Recorder, RecorderConfig
from liquidationheatmap.live.session import LocalRedis
from liquidationheatmap.simulate import simulate_market

DAY = date(2026, 10, 1)
SYMBOL = "BTCUSDT"
TRADES_PER_DAY = 3_000
SPEED = 4_000.0  # a day in ~22 s
REDIS_SERVER = Path("/usr/bin/redis-server")


@pytest.fixture(scope="session")
def simulated_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("live-sim")
    simulate_market(out, [SYMBOL], DAY, days=1, trades_per_day=TRADES_PER_DAY, show_progress=False)
    return out


@pytest.fixture(scope="session")
def replay(simulated_day: Path) -> Replay:
    loaded = load_replay(simulated_day, [SYMBOL], DAY)
    assert loaded.trades[SYMBOL] and loaded.liquidations[SYMBOL], (
        "the simulated day needs trades and liquidations"
    )
    return loaded


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """Debian's redis-server on 127.0.0.1 and a free port; skipped when missing, failed under CI."""
    if not REDIS_SERVER.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REDIS_SERVER} is missing: install Debian's redis-server (.ci/run does)")
        pytest.skip(f"{REDIS_SERVER} is missing (apt-get install redis-server)")
    with LocalRedis(str(REDIS_SERVER), tmp_path / "redis") as server:
        yield server.url


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
