"""scripts/synthetic_lake.py writes what ingest would: the same files, schemas and manifest.

The build benchmark's year of data comes from this generator (docs/benchmarks.md), so the lake it
writes must be the one `liquidationheatmap build` reads: compared here with a simulated day
ingested the ordinary way.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from liquidationheatmap.datasets import get_spec
from liquidationheatmap.dbt_runner import check_lake, lake_files, truth_datasets
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.ingest.manifest import lake_state
from liquidationheatmap.settings import PROJECT_ROOT
from liquidationheatmap.simulate import simulate_market

START = date(2025, 1, 1)


def _generator():
    spec = importlib.util.spec_from_file_location(
        "synthetic_lake", PROJECT_ROOT / "scripts" / "synthetic_lake.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_lake"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    generator = _generator()
    root = tmp_path_factory.mktemp("synthetic")
    market = generator.Market("BTCUSDT", START, trades_per_day=5_000, seed=3)
    generator.ensure_pool(root / "pool", market, 3, workers=1)
    generator.build_lake(root / "pool", root / "lake", market, 2)
    generator.add_days(root / "pool", root / "lake", market, 2, 2)
    return generator, market, root


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ingested")
    simulate_market(root / "archive", ["BTCUSDT"], START, 1, 2_000, seed=3, show_progress=False)
    ingest_archive(root / "archive" / "data", root / "lake", show_progress=False)
    ingest_archive(root / "archive" / "truth", root / "lake", datasets=["liquidations"], show_progress=False)
    return root / "lake"


@pytest.mark.parametrize(
    "dataset", ["aggTrades", "metrics", "fundingRate", "bookDepth", "markPriceKlines", "liquidations"]
)
def test_files_have_the_layout_and_schema_ingest_writes(synthetic, ingested, dataset):
    _, _, root = synthetic
    written = lake_files(root / "lake", dataset)
    assert [path.parent.name for path in written] == ["date=2025-01-01", "date=2025-01-02", "date=2025-01-03"]
    reference = pq.read_schema(lake_files(ingested, dataset)[0])
    for path in written:
        assert path.parent.parent.name == "symbol=BTCUSDT"
        assert pq.read_schema(path).remove_metadata() == reference.remove_metadata(), path
    expected = [*get_spec(dataset).column_names]
    assert [name for name in reference.names if name not in ("symbol", "interval")] == [
        name for name in expected if name != "symbol"
    ]


def test_manifest_lists_every_file_as_loaded_in_two_runs(synthetic):
    _, _, root = synthetic
    lake = root / "lake"
    state = lake_state(lake)
    outputs = sorted(path for record in state.values() for path in record.output_paths)
    on_disk = sorted(
        str(path.relative_to(lake))
        for dataset in ("aggTrades", "metrics", "fundingRate", "bookDepth", "markPriceKlines", "liquidations")
        for path in lake_files(lake, dataset)
    )
    assert outputs == on_disk
    assert len({record.run_id for record in state.values()}) == 2  # the first two days, then the third
    for record in state.values():
        assert record.status == "loaded" and record.rows_loaded > 0
        folder_day = date.fromisoformat(record.output_paths[0].split("/")[2].removeprefix("date="))
        assert record.first_event_time.date() == folder_day
    assert check_lake(lake) == [
        "aggTrades",
        "metrics",
        "fundingRate",
        "bookDepth",
        "markPriceKlines",
        "_manifest",
    ]
    assert truth_datasets(lake) == ["liquidations"]


def test_days_depend_on_the_seed_and_the_day_only(synthetic, tmp_path):
    generator, market, root = synthetic
    generator.ensure_pool(tmp_path / "pool", market, 1, workers=1)  # a shorter pool: day 0 alike
    relative = "aggTrades/symbol=BTCUSDT/date=2025-01-01/BTCUSDT-aggTrades-2025-01-01.parquet"
    assert pq.read_table(tmp_path / "pool" / relative).equals(pq.read_table(root / "pool" / relative))
    trades = pq.read_table(root / "pool" / relative).to_pandas()
    assert len(trades) == 5_000
    assert trades["agg_trade_id"].is_monotonic_increasing and trades["transact_time"].is_monotonic_increasing
    assert (trades["quantity"] >= 0.001).all() and trades["price"].between(50_000, 120_000).all()
    other = generator.Market("BTCUSDT", START, trades_per_day=5_000, seed=4)
    with pytest.raises(SystemExit, match="another synthetic market"):
        generator.ensure_pool(root / "pool", other, 1, workers=1)


def test_a_lake_can_end_on_a_later_day_and_knows_its_next_day(synthetic, tmp_path):
    """bench_build.py --end-day: the lakes of every size end on the same pool day, so they all add the
    same day next (bench_add_day.py takes the day after the lake's last)."""
    generator, market, root = synthetic
    generator.build_lake(root / "pool", tmp_path / "lake", market, 2, first=1)
    days = sorted(p.name for p in (tmp_path / "lake" / "aggTrades" / "symbol=BTCUSDT").iterdir())
    assert days == ["date=2025-01-02", "date=2025-01-03"]
    assert generator.next_day(tmp_path / "lake", market) == 3
    assert generator.next_day(root / "lake", market) == 3  # days 0 and 1, then day 2 added
    with pytest.raises(SystemExit, match="no aggTrades days"):
        generator.next_day(tmp_path / "empty", market)
