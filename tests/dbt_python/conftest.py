"""One real build of issue 5's dbt models on a small simulated market with its truth.

Two simulated days of BTCUSDT and the simulator's truth, ingested, then `build_warehouse` with
the ensemble weights given as a var ({binance_standard: 1, funding_adjusted: 0}), so the
ensemble must come out equal to binance_standard everywhere, and walk-forward windows of one day
of training and half a day of testing (WINDOW_VARS: windows 1 and 2 complete, 3 fitted only).
Built once per session; the tests read the warehouse read-only.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from liquidationheatmap.dbt_runner import DbtOutcome, build_warehouse, working_database
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.simulate import simulate_market

START = date(2026, 10, 1)
DAYS = 2
TRADES_PER_DAY = 20_000
WEIGHTS = {"binance_standard": 1.0, "funding_adjusted": 0.0, "large_trades": 0.0, "learned_leverage": 0.0}
# Two days hold no window of the default 3 + 1 days: one day of training, half a day of testing.
WINDOW_VARS = {"score_window_train_days": 1, "score_window_test_days": 0.5}


@dataclass(frozen=True)
class ScoredBuild:
    raw: Path
    warehouse: Path
    outcome: DbtOutcome


@pytest.fixture(scope="session")
def scored_build(tmp_path_factory: pytest.TempPathFactory) -> ScoredBuild:
    root = tmp_path_factory.mktemp("dbt_python")
    raw, lake, warehouse = root / "raw", root / "lake", root / "warehouse" / "liquidations.duckdb"
    simulate_market(
        raw, ["BTCUSDT"], START, days=DAYS, trades_per_day=TRADES_PER_DAY, seed=11, show_progress=False
    )
    # The archive and the simulator's truth/ beside it: ingest loads both into the lake.
    ingest_archive(raw, lake, show_progress=False, workers=1)
    outcome = build_warehouse(lake, warehouse, extra_vars={"ensemble_weights": dict(WEIGHTS), **WINDOW_VARS})
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    yield ScoredBuild(raw, warehouse, outcome)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def scored_vars() -> dict:
    """The vars scored_build was built with."""
    return {"ensemble_weights": dict(WEIGHTS), **WINDOW_VARS}


@pytest.fixture(scope="session")
def window_vars() -> dict:
    """The walk-forward windows of these builds (two days hold none of the default 3 + 1 days)."""
    return dict(WINDOW_VARS)


@pytest.fixture()
def db(scored_build: ScoredBuild):
    con = duckdb.connect(str(working_database(scored_build.warehouse)), read_only=True)
    yield con
    con.close()
