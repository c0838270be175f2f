"""A small simulated market shared by the simulator's tests (a few seconds, built once)."""

from __future__ import annotations

import pytest
from simulated_files import DAYS, SEED, START, TRADES_PER_DAY

from liquidationheatmap.simulate import SimulationSummary, simulate_market


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    out = tmp_path_factory.mktemp("sim")
    return simulate_market(out, ["BTCUSDT"], START, DAYS, TRADES_PER_DAY, SEED, show_progress=False)
