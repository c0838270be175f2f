"""Fixtures for the live tests: a small simulated day, its replay, and Debian's redis-server started
by the test on a free port (skipped when missing, failed under CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_harness import DAY, SYMBOL, TRADES_PER_DAY

from liquidationheatmap.live.fake_exchange import Replay, load_replay
from liquidationheatmap.live.session import LocalRedis
from liquidationheatmap.simulate import simulate_market


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
def redis_server(needs_program) -> Path:
    """Debian's redis-server; skipped when missing, failed under CI (tests/conftest.py)."""
    return needs_program("redis-server")


@pytest.fixture
def redis_url(tmp_path: Path, redis_server: Path) -> Iterator[str]:
    """Debian's redis-server on 127.0.0.1 and a free port."""
    with LocalRedis(str(redis_server), tmp_path / "redis") as server:
        yield server.url
