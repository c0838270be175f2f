"""Levels closed by the open-interest shrink (var level_close_fraction, int_levels__with_lifecycle).

The session's market (conftest.py) runs with the default fraction (1e-6), which three days of
shrink do not reach; here a small market of its own is built with a fraction that closes levels
within a day or two (0.1: a level closes once the shrink leaves it below 10 % of its size), the
levels chain only: three days, then a fourth added incrementally, and the same four days built in
full. The closing must be the same both ways: levels closed before the rebuild start (settled,
not read again) and levels opened before it that close on the added day (read back and closed).
"""

from __future__ import annotations

import math
import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from liquidationheatmap.dbt_runner import build_warehouse, working_database
from liquidationheatmap.ingest import ingest_archive
from liquidationheatmap.simulate import simulate_market

pytestmark = pytest.mark.slow

START = date(2025, 3, 1)
DAYS = 4
CLOSE_FRACTION = 0.1
REBUILD_START = START + timedelta(days=DAYS - 2)  # the day before the added day
ADDED_DAY = START + timedelta(days=DAYS - 1)
SELECT = [
    "+int_scoring__live_notional_per_bucket",
    "+fct_liquidation_heatmap",
    "+fct_liquidation_levels",
    "+fct_liquidation_history",
]
LEVEL_KEY = ["symbol", "model", "side", "leverage", "opened_bucket_number", "entry_price_bin"]
COMPARED = {
    "int_levels__with_lifecycle": LEVEL_KEY,
    "int_levels__variants": [*LEVEL_KEY, "opened_quantity"],
    "int_heatmap__state_intervals": ["symbol", "model", "side", "price_bin", "from_bucket_number"],
    "fct_liquidation_heatmap": ["symbol", "model", "timeframe", "bucket_start", "price_bin", "side"],
    "int_scoring__live_notional_per_bucket": ["symbol", "model", "bucket_start", "price_bin", "side"],
    "fct_liquidation_levels": ["symbol", "model", "side", "leverage", "price_bin"],
    "fct_liquidation_history": ["symbol", "model", "bucket_start", "side"],
}


def _build(lake, warehouse):
    outcome = build_warehouse(
        lake,
        warehouse,
        select=SELECT,
        exclude=["resource_type:test", "resource_type:unit_test"],  # the rows are what is compared
        extra_vars={"level_close_fraction": CLOSE_FRACTION},
    )
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error


@pytest.fixture(scope="module")
def closing(tmp_path_factory):
    root = tmp_path_factory.mktemp("level_closing")
    archive, lake = root / "archive", root / "lake"
    simulate_market(archive, ["BTCUSDT"], START, DAYS, 10_000, seed=11, show_progress=False)
    if (archive / "data").is_dir():
        archive = archive / "data"
    last_day = START + timedelta(days=DAYS - 1)
    ingest_archive(archive, lake, end_date=last_day - timedelta(days=1), show_progress=False)
    incremental = root / "incremental" / "liquidations.duckdb"
    _build(lake, incremental)
    ingest_archive(archive, lake, start_date=last_day, show_progress=False)
    _build(lake, incremental)
    full = root / "full" / "liquidations.duckdb"
    _build(lake, full)
    yield incremental, full
    shutil.rmtree(root, ignore_errors=True)


def _frame(warehouse, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(working_database(warehouse)), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_levels_close_before_the_rebuild_start_and_on_the_added_day(closing):
    """The case is real: levels closed unreached before the incremental run's rebuild start (the
    day before the added day), levels opened before it that closed on the added day, and levels
    still reached."""
    _, full = closing
    counts = _frame(
        full,
        f"select count(*) filter (where not is_reached and closed_at < date '{REBUILD_START}') as settled,"
        f" count(*) filter (where not is_reached and opened_at < date '{REBUILD_START}'"
        f"   and closed_at >= date '{ADDED_DAY}') as closed_on_the_added_day,"
        " count(*) filter (where is_reached) as reached"
        " from int_levels__with_lifecycle",
    ).iloc[0]
    assert counts["settled"] > 0 and counts["closed_on_the_added_day"] > 0 and counts["reached"] > 0, counts


def test_a_level_closes_at_the_first_bucket_the_shrink_leaves_it_below_the_fraction(closing):
    _, full = closing
    frame = _frame(
        full,
        "select levels.is_reached, levels.opened_cum_log_shrink, closed.cum_log_shrink as closed_l,"
        " before.cum_log_shrink as before_l, levels.reached_bucket_number, levels.closed_bucket_number"
        " from int_levels__with_lifecycle as levels"
        " left join int_buckets__timeline as closed"
        "   on closed.symbol = levels.symbol and closed.bucket_number = levels.closed_bucket_number"
        " left join int_buckets__timeline as before"
        "   on before.symbol = levels.symbol and before.bucket_index = closed.bucket_index - 1",
    )
    threshold = math.log(CLOSE_FRACTION)
    shut = frame[~frame["is_reached"] & frame["closed_bucket_number"].notna()]
    assert len(shut) > 0
    assert (shut["closed_l"] - shut["opened_cum_log_shrink"] < threshold).all()
    assert (shut["before_l"] - shut["opened_cum_log_shrink"] >= threshold).all()
    reached = frame[frame["is_reached"]]
    assert (reached["closed_bucket_number"] == reached["reached_bucket_number"]).all()
    # A level reached after it closed is not liquidated; one reached before holds at least the fraction.
    assert (reached["before_l"] - reached["opened_cum_log_shrink"] >= threshold).all()
    live = frame[~frame["is_reached"] & frame["closed_bucket_number"].isna()]
    last = _frame(full, "select min(cum_log_shrink) as l from int_buckets__timeline").iloc[0]["l"]
    assert (last - live["opened_cum_log_shrink"] >= threshold).all()


def test_closed_levels_are_not_live(closing):
    """fct_liquidation_levels counts, per bin, the levels neither reached nor closed by the latest
    bucket; closing removed some of them."""
    _, full = closing
    frame = _frame(
        full,
        "with latest as (select max(bucket_number) as b from int_buckets__timeline),"
        " open_levels as ("
        "   select symbol, model, side, cast(leverage as integer) as leverage,"
        "     liquidation_price_bin as price_bin, count(*) as n,"
        "     count(*) filter (where not is_reached and closed_bucket_number <= latest.b) as closed"
        "   from int_levels__variants, latest"
        "   where opened_bucket_number <= latest.b and not (is_reached and reached_bucket_number <= latest.b)"
        "   group by all)"
        " select mart.position_count, open_levels.n - open_levels.closed as expected, open_levels.closed"
        " from fct_liquidation_levels as mart"
        " inner join open_levels using (symbol, model, side, leverage, price_bin)",
    )
    assert len(frame) > 0 and frame["closed"].sum() > 0
    assert (frame["position_count"] == frame["expected"]).all()


@pytest.mark.parametrize("model", sorted(COMPARED))
def test_incremental_build_with_closing_equals_full_refresh(closing, model):
    frames = []
    for warehouse in closing:
        frame = _frame(warehouse, f"select * from {model}")
        frame = frame.drop(columns=[c for c in ("_loaded_at",) if c in frame.columns])
        frames.append(frame.sort_values(COMPARED[model]).reset_index(drop=True))
    incremental, full = frames
    assert len(incremental) == len(full) > 0
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-9, atol=1e-6)
