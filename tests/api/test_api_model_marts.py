"""Clusters, model scores and the ensemble, once issue 5's tables are in the warehouse.

The tables are made here by issue 5's own functions (python_models.zones / ensemble) over the
pipeline-built levels, and written over the built ones in a copy of the warehouse, so the routes are
tested against controlled values in the columns those functions produce.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pipeline_dataset import make_app

from python_models.ensemble import combine_levels
from python_models.scoring import SCORE_COLUMNS
from python_models.zones import ZONE_COLUMNS, find_zones

WEIGHTS = {"binance_standard": 0.25, "funding_adjusted": 0.75, "large_trades": 0.0, "learned_leverage": 0.0}


@pytest.fixture(scope="module")
def with_model_marts(dataset, tmp_path_factory):
    copy = dataset.copy_to(tmp_path_factory.mktemp("model-marts"))
    connection = duckdb.connect(str(copy.warehouse))
    levels = connection.sql("select * from fct_liquidation_levels").df()
    zones = find_zones(levels, min_samples=3)
    frames = {model: frame for model, frame in levels.groupby("model")}
    ensemble = combine_levels(frames, WEIGHTS)
    scores = pd.DataFrame(
        [
            ("BTCUSDT", "binance_standard", "model", "all", "test", 1, "overlap", 0.42, 0.4, 0.45, 1000.0),
            ("BTCUSDT", "uniform", "reference", "all", "test", 1, "overlap", 0.5, 0.45, 0.55, 1000.0),
            (
                "BTCUSDT",
                "binance_standard",
                "model",
                "long",
                "test",
                None,
                "hourly_correlation",
                np.nan,
                np.nan,
                np.nan,
                1.0,
            ),
        ],
        columns=SCORE_COLUMNS,
    ).assign(window_id=1, period_start=pd.Timestamp("2026-10-04"), period_end=pd.Timestamp("2026-10-05"))
    # The pooled headline (window 0) beside window 1.
    pooled = scores.iloc[[0]].assign(window_id=0, value=0.4, period_start=pd.Timestamp("2026-10-04"))
    scores = pd.concat([scores, pooled], ignore_index=True)
    connection.register("zones_frame", zones)
    connection.register("ensemble_frame", ensemble)
    connection.register("scores_frame", scores)
    connection.execute("create or replace table fct_liquidation_clusters as select * from zones_frame")
    connection.execute(
        "create or replace table fct_liquidation_levels_ensemble as select * from ensemble_frame"
    )
    connection.execute("create or replace table fct_model_scores as select * from scores_frame")
    connection.close()
    with TestClient(make_app(copy.warehouse)) as client:
        yield client, zones, ensemble


def test_clusters_are_the_zone_tables_rows_for_the_model(with_model_marts):
    client, zones, _ = with_model_marts
    body = client.get("/liquidations/clusters", params={"model": "funding_adjusted"}).json()
    expected = zones[zones["model"] == "funding_adjusted"].sort_values(["side", "zone_id"])
    assert list(zones.columns) == ZONE_COLUMNS
    assert len(expected) >= 2
    assert [(z["side"], z["zone_id"]) for z in body["zones"]] == list(
        zip(expected["side"], expected["zone_id"], strict=True)
    )
    assert [z["total_notional"] for z in body["zones"]] == pytest.approx(list(expected["total_notional"]))
    assert all(z["price_low"] <= z["centroid_price"] <= z["price_high"] for z in body["zones"])
    assert body["min_samples"] == 3
    assert body["current_price"] == pytest.approx(float(expected["current_price"].iloc[0]))


def test_ensemble_levels_are_the_weighted_sum_of_the_two_models(with_model_marts, client):
    ensemble_client, _, ensemble = with_model_marts
    raw = {"smoothed": "false", "calibrated": "false"}  # the mart's rows
    body = ensemble_client.get("/liquidations/levels", params={"model": "ensemble", **raw}).json()
    standard = client.get("/liquidations/levels", params={"model": "binance_standard", **raw}).json()
    funding = client.get("/liquidations/levels", params={"model": "funding_adjusted", **raw}).json()
    assert body["model"] == "ensemble"
    assert body["total_long_notional"] == pytest.approx(
        0.25 * standard["total_long_notional"] + 0.75 * funding["total_long_notional"], rel=1e-9
    )
    assert len(body["levels"]) == len(ensemble[ensemble["live_notional"] > 0])


def test_symbols_list_the_ensemble_once_its_levels_exist(with_model_marts):
    client, _, _ = with_model_marts
    assert client.get("/symbols").json()["symbols"][0]["models"] == [
        "binance_standard",
        "funding_adjusted",
        "large_trades",
        "learned_leverage",
        "ensemble",
    ]


def test_ensemble_zones_without_ensemble_rows_answer_503(with_model_marts):
    client, _, _ = with_model_marts
    response = client.get("/liquidations/clusters", params={"model": "ensemble"})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("the ensemble model's zones are not built yet")


def test_model_scores_filter_and_turn_undefined_values_into_null(with_model_marts):
    client, _, _ = with_model_marts
    everything = client.get("/model-scores", params={"window_id": 1}).json()["scores"]
    test_overlap = client.get(
        "/model-scores", params={"period": "test", "metric": "overlap", "window_id": 1}
    ).json()["scores"]
    assert len(everything) == 3
    assert {s["window_id"] for s in everything} == {1}
    assert everything[0]["period_start"] == "2026-10-04T00:00:00Z"
    every_window = client.get("/model-scores", params={"metric": "overlap", "model": "binance_standard"})
    assert [(s["window_id"], s["value"]) for s in every_window.json()["scores"]] == [(0, 0.4), (1, 0.42)]
    assert [(s["model"], s["kind"], s["value"], s["low"], s["high"]) for s in test_overlap] == [
        ("binance_standard", "model", 0.42, 0.4, 0.45),
        ("uniform", "reference", 0.5, 0.45, 0.55),
    ]
    undefined = next(s for s in everything if s["metric"] == "hourly_correlation")
    assert undefined["value"] is None and undefined["n"] == 1.0 and undefined["horizon_hours"] is None
    assert not any(isinstance(s["value"], float) and math.isnan(s["value"]) for s in everything)


def test_health_lists_the_new_marts_once_built(with_model_marts):
    client, _, _ = with_model_marts
    marts = client.get("/health").json()["marts"]
    assert marts["fct_liquidation_clusters"] is True and marts["fct_model_scores"] is True
