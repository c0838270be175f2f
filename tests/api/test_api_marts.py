"""The data routes through the real app on a pipeline-built warehouse: values, not only status codes."""

from __future__ import annotations

import itertools
import math
import os
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pipeline_dataset import START, SYMBOL, make_app

from api.core.config import TIMEFRAMES
from python_models.calibration import in_force_scale_spans
from python_models.smoothing import smooth_by_distance

# The marts' notional as built (the API serves it calibrated and smoothed by default).
UNSCALED = {"calibrated": "false"}
MART = {"smoothed": "false", **UNSCALED}


@pytest.fixture(scope="module")
def mart(dataset):
    connection = duckdb.connect(str(dataset.warehouse), read_only=True)
    yield connection
    connection.close()


def test_health_reports_build_time_and_latest_bucket_per_symbol(client, dataset, mart):
    body = client.get("/health").json()
    latest = mart.sql("select max(bucket_start) from int_trades__per_bucket").fetchone()[0]
    built = datetime.fromtimestamp(os.stat(dataset.warehouse).st_mtime_ns / 1e9, tz=UTC).replace(tzinfo=None)
    assert body["status"] == "ok"
    assert body["symbols"] == [{"symbol": SYMBOL, "latest_data_at": latest.isoformat() + "Z"}]
    assert latest == datetime(2026, 10, 2, 23, 55)
    assert datetime.fromisoformat(body["built_at"]) == built.replace(tzinfo=UTC)
    assert body["marts"]["fct_liquidation_levels"] is True
    assert body["marts"]["fct_liquidation_clusters"] is True


def test_symbols_lists_bin_size_dates_price_and_models(client, mart):
    body = client.get("/symbols").json()
    price = mart.sql("select max(current_price) from fct_liquidation_levels").fetchone()[0]
    assert body == {
        "symbols": [
            {
                "symbol": SYMBOL,
                "price_bin_size": 100.0,
                "first_trade_date": "2026-10-01",
                "last_trade_date": "2026-10-02",
                "current_price": price,
                "measured_at": "2026-10-02T23:55:00Z",
                "models": [
                    "binance_standard",
                    "funding_adjusted",
                    "large_trades",
                    "learned_leverage",
                    "ensemble",
                ],
            }
        ]
    }


def test_levels_put_longs_below_and_shorts_above_the_price_with_the_marts_totals(client, mart):
    body = client.get(
        "/liquidations/levels", params={"symbol": SYMBOL, "model": "funding_adjusted", **MART}
    ).json()
    price = body["current_price"]
    longs, shorts = mart.sql(
        """
        select sum(live_notional) filter (side = 'long' and liquidation_price < current_price),
               sum(live_notional) filter (side = 'short' and liquidation_price > current_price)
        from fct_liquidation_levels where model = 'funding_adjusted'
        """
    ).fetchone()
    assert body["model"] == "funding_adjusted"
    assert body["measured_at"] == "2026-10-02T23:55:00Z"
    assert all(level["liquidation_price"] < price for level in body["levels"] if level["side"] == "long")
    assert all(level["liquidation_price"] > price for level in body["levels"] if level["side"] == "short")
    assert body["total_long_notional"] == pytest.approx(longs, rel=1e-12)
    assert body["total_short_notional"] == pytest.approx(shorts, rel=1e-12)
    assert body["total_long_notional"] > 0 and body["total_short_notional"] > 0


def test_levels_side_and_leverage_filters_keep_only_that_band(client, mart):
    body = client.get(
        "/liquidations/levels",
        params={"side": "short", "min_leverage": 25, "max_leverage": 50, **MART},
    ).json()
    expected = mart.sql(
        """
        select count(*), sum(live_notional) from fct_liquidation_levels
        where model = 'binance_standard' and side = 'short' and leverage between 25 and 50
            and liquidation_price > current_price
        """
    ).fetchone()
    assert {level["leverage"] for level in body["levels"]} == {25, 50}
    assert {level["side"] for level in body["levels"]} == {"short"}
    assert len(body["levels"]) == expected[0]
    assert body["total_short_notional"] == pytest.approx(expected[1], rel=1e-12)
    assert body["total_long_notional"] == 0.0


def test_served_levels_are_each_leverages_series_smoothed_by_distance_from_the_price(client, mart):
    body = client.get("/liquidations/levels", params=UNSCALED).json()
    raw = client.get("/liquidations/levels", params=MART).json()
    rate, min_bins, max_bins, _ = mart.sql("select * from dim_map_smoothing").fetchone()
    size, price = body["price_bin_size"], body["current_price"]
    assert body["current_price"] == raw["current_price"] and body["measured_at"] == raw["measured_at"]
    served = pd.DataFrame(body["levels"])
    for (side, leverage), rows in pd.DataFrame(raw["levels"]).groupby(["side", "leverage"]):
        bins = np.round(rows["price_bin"].to_numpy() / size).astype(int)
        low, high = bins.min() - 30, bins.max() + 30
        spread = smooth_by_distance(
            bins,
            rows["live_notional"].to_numpy(),
            math.floor(price / size),
            rate,
            low,
            high,
            min_sigma=min_bins,
            max_sigma=max_bins,
        )
        centre = (np.arange(low, high + 1) + 0.5) * size
        kept = (spread > 0) & ((centre < price) if side == "long" else (centre > price))
        got = served[(served["side"] == side) & (served["leverage"] == leverage)].sort_values("price_bin")
        assert (
            np.round(got["price_bin"].to_numpy() / size).astype(int).tolist()
            == np.arange(low, high + 1)[kept].tolist()
        )
        assert got["live_notional"].to_numpy() == pytest.approx(spread[kept], rel=1e-12)
        assert got["liquidation_price"].to_numpy() == pytest.approx(centre[kept], rel=1e-12)
        # Spread onto more bins; the mass that spreads past the price is left out, as reached levels are.
        assert len(got) > len(rows) and got["live_notional"].sum() <= rows["live_notional"].sum() * (
            1 + 1e-12
        )
    assert body["total_long_notional"] == pytest.approx(
        served.loc[served["side"] == "long", "live_notional"].sum()
    )


def test_levels_min_leverage_above_max_is_a_422_saying_so(client):
    response = client.get("/liquidations/levels", params={"min_leverage": 50, "max_leverage": 10})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "min_leverage 50 is above max_leverage 10"


def test_unknown_symbol_is_a_404_naming_the_known_ones(client):
    response = client.get("/liquidations/levels", params={"symbol": "ETHUSDT"})
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown symbol ETHUSDT: the warehouse holds BTCUSDT"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/liquidations/levels", {"model": "coinglass"}),
        ("/liquidations/heatmap", {"timeframe": "2d"}),
        ("/liquidations/levels", {"symbol": "BTC-USDT"}),
        ("/liquidations/history", {"start": "yesterday"}),
        ("/volume-profile", {"date": "2026-02-30"}),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, path, params):
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_heatmap_matrix_holds_the_marts_cells_on_regular_axes(client, mart):
    body = client.get("/liquidations/heatmap", params={"timeframe": "7d", **MART}).json()
    cells, total = mart.sql(
        """
        select count(*), sum(live_notional) from fct_liquidation_heatmap
        where model = 'binance_standard' and timeframe = '7d'
        """
    ).fetchone()
    times = [datetime.fromisoformat(t).replace(tzinfo=None) for t in body["times"]]
    assert body["resolution_minutes"] == 30
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(minutes=30)}
    assert times[0] == datetime(2026, 10, 1) and times[-1] == datetime(2026, 10, 2, 23, 30)
    assert {round(b - a, 6) for a, b in itertools.pairwise(body["prices"])} == {100.0}
    assert len(body["z"]) == len(body["prices"]) and {len(row) for row in body["z"]} == {len(times)}
    # Each cell is rounded to cents: the matrix total matches the mart's within half a cent per cell.
    assert sum(map(sum, body["z"])) == pytest.approx(total, abs=0.005 * cells)
    assert body["max_notional"] == max(map(max, body["z"]))
    assert body["candles"]["time"] == body["times"]
    assert body["current_price"] == body["candles"]["close"][-1]
    assert min(body["candles"]["low"]) >= body["prices"][0]
    assert max(body["candles"]["high"]) < body["prices"][-1] + 100


def test_served_heatmap_is_the_marts_cells_smoothed_by_distance_from_each_slots_close(client, mart):
    body = client.get("/liquidations/heatmap", params={"timeframe": "7d", **UNSCALED}).json()
    raw = client.get("/liquidations/heatmap", params={"timeframe": "7d", **MART}).json()
    rate, min_bins, max_bins, multiple = mart.sql("select * from dim_map_smoothing").fetchone()
    assert (rate, min_bins, max_bins, multiple) == (0.2, 0.5, 10.0, 1)  # the build's defaults
    size = body["price_bin_size"]
    # The same slots; the price axis reaches the kernel's ceil(3 x 10) bins beyond the mart's cells.
    assert body["times"] == raw["times"] and body["candles"] == raw["candles"]
    assert len(body["prices"]) == len(raw["prices"]) + 60
    assert body["prices"][0] == pytest.approx(raw["prices"][0] - 30 * size)
    cells = mart.sql(
        """
        select bucket_start, round(price_bin / ?)::bigint as bin, sum(live_notional) as v
        from fct_liquidation_heatmap where model = 'binance_standard' and timeframe = '7d'
        group by all
        """,
        params=[size],
    ).df()
    times = [datetime.fromisoformat(t).replace(tzinfo=None) for t in body["times"]]
    close = dict(zip(times, body["candles"]["close"], strict=True))
    low = round(body["prices"][0] / size)
    z = np.asarray(body["z"])
    smoothed = 0
    for column, t in enumerate(times):
        slot = cells[cells["bucket_start"] == t]
        expected = smooth_by_distance(
            slot["bin"].to_numpy(),
            slot["v"].to_numpy(),
            math.floor(close[t] / size),
            rate,
            low,
            low + len(body["prices"]) - 1,
            min_sigma=min_bins,
            max_sigma=max_bins,
        )
        assert z[:, column] == pytest.approx(np.round(expected, 2), abs=1e-9), t
        if len(slot):
            # Spread onto more bins than the mart's cells.
            assert np.count_nonzero(z[:, column]) > np.count_nonzero(slot["v"]), t
            smoothed += 1
    assert smoothed >= 0.9 * len(times)
    # Smoothing moves notional between bins and keeps it.
    assert z.sum() == pytest.approx(np.asarray(raw["z"]).sum(), rel=1e-6)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_every_timeframe_answers_at_the_seeds_resolution(client, mart, timeframe):
    body = client.get("/liquidations/heatmap", params={"timeframe": timeframe}).json()
    resolution = mart.execute(
        "select resolution_minutes from heatmap_timeframes where timeframe = ?", [timeframe]
    ).fetchone()[0]
    assert body["timeframe"] == timeframe
    assert body["resolution_minutes"] == resolution
    assert len(body["times"]) >= 1 and max(map(max, body["z"])) > 0


def test_heatmap_of_one_side_only_sums_that_sides_cells(client, mart):
    long_body = client.get(
        "/liquidations/heatmap", params={"timeframe": "1d", "side": "long", **UNSCALED}
    ).json()
    expected = mart.sql(
        """
        select sum(live_notional), count(*) from fct_liquidation_heatmap
        where model = 'binance_standard' and timeframe = '1d' and side = 'long'
        """
    ).fetchone()
    assert long_body["side"] == "long"
    assert sum(map(sum, long_body["z"])) == pytest.approx(expected[0], abs=0.005 * expected[1])


def test_history_raw_rows_are_the_marts_rows_in_the_range(client, mart):
    body = client.get(
        "/liquidations/history", params={"start": "2026-10-01T12:00:00Z", "end": "2026-10-02", **UNSCALED}
    ).json()
    expected = mart.sql(
        """
        select count(*), sum(liquidated_notional) filter (side = 'long'), sum(liquidated_count)
        from fct_liquidation_history
        where model = 'binance_standard'
            and bucket_start >= '2026-10-01 12:00:00' and bucket_start < '2026-10-03'
        """
    ).fetchone()
    assert body["start"] == "2026-10-01T12:00:00Z" and body["end"] == "2026-10-03T00:00:00Z"
    assert len(body["rows"]) == expected[0] > 0
    assert body["total_long_notional"] == pytest.approx(expected[1], rel=1e-12)
    assert sum(row["liquidated_count"] for row in body["rows"]) == expected[2]
    assert all(row["bucket_start"] >= "2026-10-01T12:00:00Z" for row in body["rows"])


def test_history_aggregated_per_hour_keeps_the_totals(client):
    raw = client.get("/liquidations/history", params={"end": "2026-10-01"}).json()
    hourly = client.get(
        "/liquidations/history", params={"end": "2026-10-01", "aggregate": "true", "interval": "1h"}
    ).json()
    assert hourly["interval"] == "1h" and raw["interval"] is None
    assert {row["bucket_start"][14:] for row in hourly["rows"]} == {"00:00Z"}
    assert hourly["total_long_notional"] == pytest.approx(raw["total_long_notional"], rel=1e-12)
    assert hourly["total_short_notional"] == pytest.approx(raw["total_short_notional"], rel=1e-12)
    assert sum(r["liquidated_count"] for r in hourly["rows"]) == sum(
        r["liquidated_count"] for r in raw["rows"]
    )
    assert max(r["bucket_start"] for r in raw["rows"]) < "2026-10-02"


def test_history_end_not_after_start_is_a_422(client):
    response = client.get("/liquidations/history", params={"start": "2026-10-02", "end": "2026-10-01T23:00"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == (
        "end 2026-10-01T23:00:00 is not after start 2026-10-02T00:00:00"
    )


def test_volume_profile_defaults_to_the_latest_day_and_splits_taker_sides(client, mart):
    body = client.get("/volume-profile").json()
    total, buys = mart.sql(
        "select sum(total_volume), sum(buy_volume) from fct_volume_profile_daily "
        "where trade_date = '2026-10-02'"
    ).fetchone()
    assert body["date"] == "2026-10-02"
    assert body["total_volume"] == pytest.approx(total, rel=1e-12)
    assert sum(b["buy_volume"] for b in body["bins"]) == pytest.approx(buys, rel=1e-12)
    assert all(b["buy_volume"] + b["sell_volume"] == pytest.approx(b["total_volume"]) for b in body["bins"])


def test_volume_profile_of_a_day_without_data_is_a_404_with_the_covered_range(client):
    response = client.get("/volume-profile", params={"date": str(START - timedelta(days=1))})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "no traded volume for BTCUSDT on 2026-09-30: the data covers 2026-10-01 to 2026-10-02"
    }


ISSUE_5_TABLES = (
    "fct_liquidation_clusters",
    "fct_model_scores",
    "fct_ensemble_weights",
    "fct_liquidation_levels_ensemble",
    "fct_liquidation_heatmap_ensemble",
    "fct_liquidation_history_ensemble",
)


@pytest.fixture(scope="module")
def older_warehouse_client(dataset, tmp_path_factory):
    """A copy of the warehouse without issue 5's tables, as built before the scoring models existed."""
    copy = dataset.copy_to(tmp_path_factory.mktemp("before-issue-5"))
    connection = duckdb.connect(str(copy.warehouse))
    for table in ISSUE_5_TABLES:  # the big ones are views over Parquet files (docs/build.md)
        (kind,) = connection.execute(
            "select table_type from information_schema.tables where table_name = ?", [table]
        ).fetchone()
        connection.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {table}")
    connection.close()
    with TestClient(make_app(copy.warehouse)) as older:
        yield older


@pytest.mark.parametrize(
    ("path", "table"),
    [("/liquidations/clusters", "fct_liquidation_clusters"), ("/model-scores", "fct_model_scores")],
)
def test_issue_5_marts_answer_503_until_built(older_warehouse_client, path, table):
    response = older_warehouse_client.get(path)
    assert response.status_code == 503
    assert f"has no table {table}" in response.json()["detail"]
    assert "run `liquidationheatmap build`" in response.json()["detail"]


def test_ensemble_levels_answer_503_while_the_ensemble_is_not_built(older_warehouse_client):
    response = older_warehouse_client.get("/liquidations/levels", params={"model": "ensemble"})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("the ensemble model is not built yet")


def test_built_ensemble_levels_are_the_models_weighted_by_the_weights_table(client, mart):
    weights = dict(mart.sql("select model, weight from fct_ensemble_weights").fetchall())
    totals = {
        model: client.get("/liquidations/levels", params={"model": model, **UNSCALED}).json()[
            "total_long_notional"
        ]
        for model in (*weights, "ensemble")
    }
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert totals["ensemble"] == pytest.approx(sum(weights[m] * totals[m] for m in weights), rel=1e-9)


def test_built_model_scores_put_every_model_beside_the_reference_maps(client, mart):
    scores = client.get("/model-scores", params={"symbol": SYMBOL}).json()["scores"]
    expected = mart.sql("select count(*) from fct_model_scores where symbol = ?", params=[SYMBOL]).fetchone()[
        0
    ]
    assert len(scores) == expected > 0
    maps = {
        "binance_standard",
        "funding_adjusted",
        "large_trades",
        "learned_leverage",
        "ensemble",
        "uniform",
        "proximity",
        "oracle",
    }
    assert {s["model"] for s in scores} == maps
    assert {s["kind"] for s in scores if s["model"] in ("uniform", "proximity", "oracle")} == {"reference"}
    assert {s["period"] for s in scores} == {"test"}
    # Walk-forward (pipeline_dataset: 1 day of training, half a day of testing on 2 days): windows 1
    # and 2, and the pooled headline (0).
    assert {s["window_id"] for s in scores} == {0, 1, 2}
    overlap = client.get(
        "/model-scores", params={"symbol": SYMBOL, "metric": "overlap", "horizon_hours": 1}
    ).json()["scores"]
    pooled = [s for s in overlap if s["side"] == "all"]
    assert len(pooled) == 3 * len(maps) and all(0 <= s["value"] <= 1 for s in pooled)
    assert all(s["low"] <= s["value"] <= s["high"] for s in pooled)


def test_built_clusters_answer_for_the_ensemble_too(client, mart):
    body = client.get("/liquidations/clusters", params={"model": "ensemble"}).json()
    rows = mart.sql(
        "select side, zone_id, total_notional from fct_liquidation_clusters "
        "where model = 'ensemble' order by side, zone_id"
    ).fetchall()
    assert [(z["side"], z["zone_id"]) for z in body["zones"]] == [(r[0], r[1]) for r in rows]
    assert [z["total_notional"] for z in body["zones"]] == pytest.approx([r[2] for r in rows])
    assert len(rows) > 0


def _scale_at(mart, model: str, at) -> float:
    rows = mart.sql(
        "select window_id, symbol, model, notional_scale, fitted_to from fct_model_calibration"
    ).fetchall()
    for symbol, name, scale, start, end in in_force_scale_spans(rows):
        if (
            symbol == SYMBOL
            and name == model
            and (start is None or at >= start)
            and (end is None or at < end)
        ):
            return scale
    return 1.0


def test_served_notional_is_the_marts_times_the_scale_in_force(client, mart):
    scales = mart.sql("select notional_scale from fct_model_calibration where window_id > 0").fetchall()
    assert scales and any(abs(s - 1) > 1e-6 for (s,) in scales)  # the build learned a scale: this can fail
    for model in ("binance_standard", "learned_leverage", "ensemble"):
        # History: every row times the scale in force at its bucket's start.
        served = client.get("/liquidations/history", params={"model": model}).json()["rows"]
        raw = client.get("/liquidations/history", params={"model": model, **UNSCALED}).json()["rows"]
        assert len(served) == len(raw) > 0
        for got, row in zip(served, raw, strict=True):
            at = datetime.fromisoformat(row["bucket_start"]).replace(tzinfo=None)
            factor = _scale_at(mart, model, at)
            assert got["liquidated_notional"] == pytest.approx(row["liquidated_notional"] * factor, rel=1e-9)
            assert got["liquidated_count"] == row["liquidated_count"]
        # Heatmap: every cell times the scale in force at the end of its snapshot bucket.
        body = client.get(
            "/liquidations/heatmap", params={"model": model, "timeframe": "7d", "smoothed": "false"}
        )
        table = "fct_liquidation_heatmap" + ("_ensemble" if model == "ensemble" else "")
        expected = mart.sql(
            f"select snapshot_at, live_notional from {table} where symbol = ? and model = ?"
            " and timeframe = '7d'",
            params=[SYMBOL, model],
        ).df()
        total = sum(
            v * _scale_at(mart, model, pd.Timestamp(at) + timedelta(minutes=5))
            for at, v in zip(expected["snapshot_at"], expected["live_notional"], strict=True)
        )
        assert sum(map(sum, body.json()["z"])) == pytest.approx(total, rel=1e-6, abs=0.01 * len(expected))
        # Levels: the latest state times the scale in force at the end of the measured bucket.
        levels = client.get("/liquidations/levels", params={"model": model, **MART}).json()
        scaled = client.get("/liquidations/levels", params={"model": model, "smoothed": "false"}).json()
        at = datetime.fromisoformat(levels["measured_at"]).replace(tzinfo=None) + timedelta(minutes=5)
        assert scaled["total_long_notional"] == pytest.approx(
            levels["total_long_notional"] * _scale_at(mart, model, at), rel=1e-9
        )
