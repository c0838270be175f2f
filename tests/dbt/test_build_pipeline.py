"""A real dbt build on a simulated market: the marts' values, not just their existence."""

from __future__ import annotations

import json
import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from liquidationheatmap.dbt_runner import (
    NoDataError,
    build_results_path,
    build_warehouse,
    copy_warehouse,
    working_database,
)
from liquidationheatmap.margin import liquidation_price, margin_table
from liquidationheatmap.publish import publishing_path
from liquidationheatmap.quality_report import load_report

pytestmark = pytest.mark.slow


def _frame(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def test_adding_a_day_reloads_only_that_day(built):
    days = sorted(built.loaded_after)
    assert [d[1] for d in days] == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
    for key, (first_loaded, last_loaded, rows) in built.loaded_before.items():
        assert built.loaded_after[key] == (first_loaded, last_loaded, rows)  # untouched
    new_day = built.loaded_after[("BTCUSDT", date(2025, 3, 3))]
    assert new_day[0] > max(v[1] for v in built.loaded_before.values())


@pytest.mark.parametrize(
    ("model", "keys"),
    [
        ("int_trades__deduplicated", ["symbol", "agg_trade_id"]),
        ("int_trades__per_bucket", ["symbol", "bucket_start"]),
        ("int_trades__per_bucket_price_bin", ["symbol", "bucket_number", "price_bin"]),
        ("int_quality__trade_days", ["symbol", "trade_date"]),
        ("int_quality__dataset_days", ["dataset", "symbol", "lake_date"]),
        ("int_open_interest__deltas", ["symbol", "bucket_start"]),
        ("int_open_interest__side_tilt", ["symbol", "bucket_start"]),
        ("int_buckets__timeline", ["symbol", "bucket_index"]),
        ("int_buckets__price_extremes", ["symbol", "span_log2", "bucket_index"]),
        ("int_positions__opened", ["symbol", "model", "bucket_number", "price_bin", "side", "leverage"]),
        (
            "int_positions__liquidation_price",
            ["symbol", "model", "bucket_number", "price_bin", "side", "leverage"],
        ),
        (
            "int_levels__with_lifecycle",
            ["symbol", "model", "side", "leverage", "opened_bucket_number", "entry_price_bin"],
        ),
        (
            "int_levels__variants",
            [
                "symbol",
                "model",
                "side",
                "leverage",
                "opened_bucket_number",
                "entry_price_bin",
                "opened_quantity",
            ],
        ),
        ("fct_volume_profile_daily", ["trade_date", "symbol", "price_bin"]),
        ("fct_data_quality", ["dataset", "symbol"]),
        ("fct_data_coverage", ["dataset", "symbol"]),
        ("fct_liquidation_levels", ["symbol", "model", "side", "leverage", "price_bin"]),
        ("fct_liquidation_history", ["symbol", "model", "bucket_start", "side"]),
        ("int_heatmap__state_intervals", ["symbol", "model", "side", "price_bin", "from_bucket_number"]),
        ("fct_liquidation_heatmap", ["symbol", "model", "timeframe", "bucket_start", "price_bin", "side"]),
        ("int_scoring__live_notional_per_bucket", ["symbol", "model", "bucket_start", "price_bin", "side"]),
        (
            "int_scoring__window_map_cells",
            ["symbol", "window_start", "horizon_hours", "side", "model", "score_bin"],
        ),
    ],
)
def test_incremental_build_equals_full_refresh(built, model, keys):
    frames = []
    for path in (built.incremental, built.full):
        con = duckdb.connect(str(working_database(path)), read_only=True)
        try:
            frame = con.execute(
                f"select * exclude (_loaded_at) from {model}"
                if model.startswith(
                    ("int_trades", "int_quality", "int_scoring", "int_positions", "int_levels")
                )
                or model
                in (
                    "int_open_interest__deltas",
                    "int_buckets__price_extremes",
                    "int_heatmap__state_intervals",
                    "fct_liquidation_heatmap",
                    "fct_liquidation_history",
                )
                else f"select * from {model}"
            ).df()
        finally:
            con.close()
        frames.append(frame.sort_values(keys).reset_index(drop=True))
    incremental, full = frames
    assert len(incremental) == len(full) > 0
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-9, atol=1e-6)


def test_duplicates_in_the_lake_are_removed_once(built, full_db):
    lake_rows, distinct_ids = duckdb.sql(
        "select count(*), count(distinct agg_trade_id) "
        f"from read_parquet('{built.lake}/aggTrades/*/*/*.parquet')"
    ).fetchone()
    clean = full_db.execute("select count(*) from int_trades__deduplicated").fetchone()[0]
    assert clean == distinct_ids
    quality = full_db.execute(
        "select raw_rows, clean_rows, duplicates_removed from fct_data_quality where dataset = 'aggTrades'"
    ).fetchone()
    assert quality == (lake_rows, distinct_ids, lake_rows - distinct_ids)


def test_liquidation_prices_match_the_python_formula(full_db):
    rows = _frame(
        full_db,
        "select side, leverage, entry_price, position_quantity, isolated_margin, liquidation_price, bracket, "
        "cast(bucket_start as date) as day from int_positions__liquidation_price "
        "order by bucket_number, price_bin, side, leverage, model limit 400",
    )
    assert len(rows) == 400
    for row in rows.itertuples():
        table = margin_table("BTCUSDT", row.day.date())
        expected = liquidation_price(
            row.side, row.entry_price, row.position_quantity, row.isolated_margin, table
        )
        assert expected.price == pytest.approx(row.liquidation_price, rel=1e-12)
        assert expected.bracket.bracket == row.bracket


def test_long_levels_sit_below_entry_and_short_levels_above(full_db):
    wrong = full_db.execute(
        "select count(*) from int_positions__liquidation_price where is_liquidatable and "
        "((side = 'long' and liquidation_price >= entry_price) "
        "or (side = 'short' and liquidation_price <= entry_price))"
    ).fetchone()[0]
    counts = dict(
        full_db.execute(
            "select side, count(*) from int_positions__liquidation_price where is_liquidatable group by side"
        ).fetchall()
    )
    assert wrong == 0
    assert counts["long"] > 0 and counts["short"] > 0


def test_each_level_is_reached_at_the_first_later_bucket_that_crosses_it(full_db):
    timeline = _frame(
        full_db,
        "select bucket_index, reach_low as low, reach_high as high from int_buckets__timeline "
        "order by bucket_index",
    )
    levels = _frame(
        full_db,
        "select distinct side, liquidation_price, opened_bucket_index, reached_bucket_index "
        "from int_levels__with_lifecycle",
    )
    lows, highs = timeline["low"].to_numpy(), timeline["high"].to_numpy()
    assert timeline["bucket_index"].tolist() == list(range(1, len(timeline) + 1))
    mismatches = 0
    for level in levels.itertuples():
        later = slice(level.opened_bucket_index, None)  # index i+1 is position i
        crossed = (
            lows[later] <= level.liquidation_price
            if level.side == "long"
            else highs[later] >= level.liquidation_price
        )
        hits = np.flatnonzero(crossed)
        expected = level.opened_bucket_index + 1 + hits[0] if len(hits) else None
        actual = None if pd.isna(level.reached_bucket_index) else int(level.reached_bucket_index)
        mismatches += expected != actual
    assert mismatches == 0
    assert levels["reached_bucket_index"].notna().sum() > 0
    assert levels["reached_bucket_index"].isna().sum() > 0


def test_a_reached_level_leaves_the_live_levels_and_enters_the_history(full_db):
    reached = _frame(
        full_db,
        "select model, side, reached_at, sum(liquidated_notional) as notional, count(*) as levels "
        "from int_levels__variants where is_reached group by 1, 2, 3",
    )
    history = _frame(
        full_db,
        "select model, side, bucket_start as reached_at, liquidated_notional, liquidated_count "
        "from fct_liquidation_history",
    )
    merged = reached.merge(history, on=["model", "side", "reached_at"], how="outer", validate="one_to_one")
    assert len(merged) == len(reached) == len(history) > 0
    np.testing.assert_allclose(merged["notional"], merged["liquidated_notional"], rtol=1e-9)
    assert (merged["levels"] == merged["liquidated_count"]).all()
    # Live levels at the latest bucket: exactly the unreached (and, for learned_leverage, not yet
    # closed by themselves) ones, shrunk by open-interest falls.
    latest = full_db.execute(
        "select bucket_number, close, cum_log_shrink from int_buckets__timeline "
        "order by bucket_number desc limit 1"
    ).fetchone()
    live = _frame(
        full_db,
        f"select model, side, leverage, liquidation_price_bin as price_bin, "
        f"sum(opened_quantity * exp({latest[2]} - opened_cum_log_shrink)) * {latest[1]} as expected "
        f"from int_levels__variants "
        f"where closed_bucket_number is null or closed_bucket_number > {latest[0]} group by 1, 2, 3, 4",
    )
    mart = _frame(
        full_db,
        "select model, side, leverage, price_bin, live_notional, current_price from fct_liquidation_levels",
    )
    both = live.merge(mart, on=["model", "side", "leverage", "price_bin"], how="outer", validate="one_to_one")
    assert both["live_notional"].notna().all() and both["expected"].notna().all()
    np.testing.assert_allclose(both["live_notional"], both["expected"], rtol=1e-9)
    assert set(both["current_price"]) == {latest[1]}


def test_heatmap_live_notional_never_exceeds_open_interest(full_db):
    totals = _frame(
        full_db,
        "select h.model, h.timeframe, h.snapshot_at, sum(h.live_notional) as live, "
        "min(h.live_notional) as smallest, "
        "max(t.open_interest * t.close) as open_interest_notional "
        "from fct_liquidation_heatmap h join int_buckets__timeline t on t.bucket_start = h.snapshot_at "
        "group by 1, 2, 3",
    )
    assert len(totals) > 0
    assert (totals["smallest"] >= 0).all()
    assert (totals["live"] <= totals["open_interest_notional"] * (1 + 1e-9)).all()
    assert totals["live"].max() > 0.01 * totals["open_interest_notional"].max()


def test_heatmap_latest_snapshot_matches_live_levels(full_db):
    heatmap = _frame(
        full_db,
        "select model, side, price_bin, live_notional from fct_liquidation_heatmap "
        "where timeframe = '1h' and snapshot_at = (select max(snapshot_at) from fct_liquidation_heatmap)",
    )
    levels = _frame(
        full_db,
        "select model, side, price_bin, sum(live_notional) as levels_notional "
        "from fct_liquidation_levels group by 1, 2, 3",
    )
    both = heatmap.merge(levels, on=["model", "side", "price_bin"], how="left", validate="one_to_one")
    assert len(both) > 0
    np.testing.assert_allclose(both["live_notional"], both["levels_notional"], rtol=1e-6)


def test_heatmap_timeframes_have_their_resolution_and_span(full_db):
    shape = dict(
        (row[0], row[1:])
        for row in full_db.execute(
            "select timeframe, count(distinct bucket_start), min(resolution_minutes), "
            "max(resolution_minutes) "
            "from fct_liquidation_heatmap group by 1"
        ).fetchall()
    )
    assert shape["1h"] == (12, 5, 5)
    assert shape["1d"] == (288, 5, 5)
    assert shape["24h"] == (288, 5, 5)
    assert shape["3d"][1:] == (15, 15) and 193 <= shape["3d"][0] <= 288  # three days of data
    assert shape["1y"][1:] == (1440, 1440) and shape["1y"][0] == 3


def test_volume_profile_adds_up_to_the_trades(full_db):
    profile_total, buy, sell = full_db.execute(
        "select sum(total_volume), sum(buy_volume), sum(sell_volume) from fct_volume_profile_daily"
    ).fetchone()
    trades_total = full_db.execute("select sum(price * quantity) from int_trades__deduplicated").fetchone()[0]
    assert math.isclose(profile_total, trades_total, rel_tol=1e-9)
    assert math.isclose(buy + sell, profile_total, rel_tol=1e-9)


def test_validate_report_has_no_errors_and_lists_every_dataset(built):
    report = load_report(built.full)
    assert report.exit_code == 0
    datasets = {row["dataset"] for row in report.profile}
    assert datasets == {"aggTrades", "metrics", "fundingRate", "bookDepth", "markPriceKlines"}
    statuses = {v.status for v in report.verdicts}
    assert statuses <= {"pass", "warn"}
    results = json.loads(build_results_path(built.full).read_text())
    unit_tests = [r for r in results["results"] if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) == 7 and {r["status"] for r in unit_tests} == {"pass"}


def test_build_on_an_empty_lake_fails_before_dbt_with_a_clear_message(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    with pytest.raises(NoDataError, match=r"no data ingested.*run `liquidationheatmap ingest`"):
        build_warehouse(tmp_path / "lake", warehouse)
    assert not warehouse.exists()


def test_failed_build_keeps_the_last_good_warehouse(built, tmp_path):
    warehouse = tmp_path / "liquidations.duckdb"
    copy_warehouse(built.full, warehouse)
    before = warehouse.read_bytes()
    outcome = build_warehouse(
        built.lake,
        warehouse,
        select=["fct_liquidation_history"],
        extra_vars={"lake_datasets": ["aggTrades", "metrics"], "lifecycle_max_log2_buckets": "broken"},
    )
    assert not outcome.success
    assert warehouse.read_bytes() == before
    assert not publishing_path(warehouse).exists()
