"""A small warehouse made by the real pipeline: simulate -> ingest -> dbt build, shared by the API and
browser tests (built once per pytest run under its base temp folder).

Three days are simulated and only the first two ingested and built, so the rebuild test can ingest
the third day and see it arrive.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.core.config import api_config
from api.main import create_app
from liquidationheatmap.dbt_runner import build_warehouse, copy_warehouse
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.simulate import simulate_market

START = date(2026, 10, 1)
BUILT_DAYS = 2
# Walk-forward windows of one day of training and half a day of testing: 2 complete windows.
WINDOW_VARS = {"score_window_train_days": 1, "score_window_test_days": 0.5}
TRADES_PER_DAY = 20_000
SYMBOL = "BTCUSDT"
# The simulator writes the archive under data/ and truth/ beside it; ingest only the market data.
MARKET_DATASETS = ["aggTrades", "metrics", "fundingRate", "bookDepth"]


@dataclass(frozen=True)
class Dataset:
    raw: Path
    lake: Path
    warehouse: Path

    @property
    def last_built_day(self) -> date:
        return START + timedelta(days=BUILT_DAYS - 1)

    @property
    def extra_day(self) -> date:
        return START + timedelta(days=BUILT_DAYS)

    def copy_to(self, folder: Path) -> Dataset:
        """Lake and warehouse copied (the raw archive is shared read-only) for tests that change them."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.lake, folder / "lake")
        copy_warehouse(self.warehouse, folder / "liquidations.duckdb")
        return Dataset(self.raw, folder / "lake", folder / "liquidations.duckdb")


def _build(root: Path) -> Dataset:
    raw, lake, warehouse = root / "raw", root / "lake", root / "liquidations.duckdb"
    simulate_market(
        raw, [SYMBOL], START, days=BUILT_DAYS + 1, trades_per_day=TRADES_PER_DAY, show_progress=False
    )
    ingest_archive(
        raw / "data",
        lake,
        datasets=MARKET_DATASETS,
        end_date=START + timedelta(days=BUILT_DAYS - 1),
        show_progress=False,
        workers=1,
    )
    # The simulator's truth (all three days; scoring uses what falls in the built range). Two days
    # hold no walk-forward window of the default 3 + 1 days: WINDOW_VARS.
    outcome = build_warehouse(lake, warehouse, truth=raw / "truth", extra_vars=WINDOW_VARS)
    if not outcome.success:
        failures = "; ".join(f"{n.name}: {n.message}" for n in outcome.failures)
        raise RuntimeError(f"dbt build of the test dataset failed: {outcome.error or failures}")
    return Dataset(raw, lake, warehouse)


def shared_dataset(factory: pytest.TempPathFactory) -> Dataset:
    root = factory.getbasetemp() / "api-dataset"
    ready = root / "ready"
    if ready.exists():
        return Dataset(root / "raw", root / "lake", root / "liquidations.duckdb")
    if root.exists():
        shutil.rmtree(root)  # an earlier attempt in this run failed half-way
    root.mkdir(parents=True)
    dataset = _build(root)
    ready.touch()
    return dataset


def make_app(warehouse: Path, **overrides) -> FastAPI:
    """The real app on `warehouse` (overrides: cache_ttl_seconds, lineage_pages)."""
    return create_app(api_config(warehouse=warehouse, **overrides))
