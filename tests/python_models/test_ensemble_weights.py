"""Ensemble combination and weight fit."""

import pandas as pd
import pytest
from planted_world import BIN, BUCKET, N_BUCKETS, START, perfect_heatmap, rotated_heatmap, truth_rows

from python_models.ensemble import (
    LEVEL_OUTPUT_COLUMNS,
    combine,
    combine_levels,
    fit_weights,
    normalise_weights,
    simplex_grid,
)
from python_models.scoring import split_train_test, zone_hit_rate
from python_models.truth import prepare_truth

HEATMAP_KEYS = ["symbol", "timeframe", "bucket_start", "price_bin", "side"]


def test_ensemble_of_identical_models_is_that_model():
    heatmap = perfect_heatmap("binance_standard")
    frames = {"binance_standard": heatmap, "funding_adjusted": heatmap.assign(model="funding_adjusted")}
    combined = combine(
        frames, {"binance_standard": 0.3, "funding_adjusted": 0.7}, keys=HEATMAP_KEYS, value="live_notional"
    )
    expected = heatmap.sort_values(HEATMAP_KEYS).reset_index(drop=True)
    assert combined["model"].unique().tolist() == ["ensemble"]
    pd.testing.assert_frame_equal(combined[HEATMAP_KEYS], expected[HEATMAP_KEYS])
    pd.testing.assert_series_equal(combined["live_notional"], expected["live_notional"], rtol=1e-15)


def test_combine_is_the_normalised_weighted_sum_over_the_union_of_keys_with_missing_as_zero():
    a = pd.DataFrame({"symbol": ["X", "X"], "price_bin": [1.0, 2.0], "v": [4.0, 10.0]})
    b = pd.DataFrame({"symbol": ["X", "X"], "price_bin": [1.0, 3.0], "v": [8.0, 20.0]})
    combined = combine({"a": a, "b": b}, {"a": 2.0, "b": 6.0}, keys=["symbol", "price_bin"], value="v")
    assert combined.to_dict("list") == {
        "model": ["ensemble"] * 3,
        "symbol": ["X", "X", "X"],
        "price_bin": [1.0, 2.0, 3.0],
        "v": [0.25 * 4.0 + 0.75 * 8.0, 0.25 * 10.0, 0.75 * 20.0],
    }


def test_weights_are_normalised_to_sum_to_one():
    weights = normalise_weights({"a": 1.0, "b": 3.0, "c": 0.0}, ["c", "b", "a"])
    assert weights == {"a": 0.25, "b": 0.75, "c": 0.0}
    assert sum(weights.values()) == 1.0


def test_weights_that_do_not_match_the_frames_or_are_negative_are_rejected():
    frame = pd.DataFrame({"k": [1], "v": [1.0]})
    with pytest.raises(ValueError, match="weights are for"):
        combine({"a": frame, "b": frame}, {"a": 1.0}, keys=["k"], value="v")
    with pytest.raises(ValueError, match="finite and >= 0"):
        combine({"a": frame, "b": frame}, {"a": 1.0, "b": -0.5}, keys=["k"], value="v")
    with pytest.raises(ValueError, match="must not all be zero"):
        combine({"a": frame}, {"a": 0.0}, keys=["k"], value="v")


def test_duplicate_keys_in_a_frame_are_rejected():
    frame = pd.DataFrame({"k": [1, 1], "v": [1.0, 2.0]})
    with pytest.raises(ValueError, match="model 'a': several rows for key"):
        combine({"a": frame}, {"a": 1.0}, keys=["k"], value="v")


def levels(model: str, rows: list[tuple[str, int, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "symbol": "BTCUSDT",
                "model": model,
                "side": side,
                "leverage": leverage,
                "price_bin": price_bin,
                "price_bin_size": 10.0,
                "liquidation_price": price,
                "live_notional": notional,
                "measured_at": pd.Timestamp("2025-01-02"),
                "current_price": 1000.0,
            }
            for side, leverage, price_bin, price, notional in rows
        ]
    )


def test_ensemble_levels_weight_prices_by_weight_times_notional():
    a = levels("binance_standard", [("long", 10, 900.0, 902.0, 100.0), ("long", 25, 950.0, 955.0, 40.0)])
    b = levels("funding_adjusted", [("long", 10, 900.0, 908.0, 300.0)])
    out = combine_levels(
        {"binance_standard": a, "funding_adjusted": b}, {"binance_standard": 1, "funding_adjusted": 1}
    )
    assert list(out.columns) == LEVEL_OUTPUT_COLUMNS
    first = out.iloc[0]
    assert first["live_notional"] == 0.5 * 100.0 + 0.5 * 300.0
    # (0.5·100·902 + 0.5·300·908) / 200 = 906.5
    assert first["liquidation_price"] == pytest.approx(906.5, rel=1e-15)
    assert out.iloc[1][["leverage", "live_notional", "liquidation_price"]].tolist() == [25, 20.0, 955.0]
    assert out["model"].unique().tolist() == ["ensemble"]
    assert out["current_price"].tolist() == [1000.0, 1000.0]


def test_ensemble_levels_refuse_models_measured_at_different_times():
    a = levels("binance_standard", [("long", 10, 900.0, 902.0, 100.0)])
    b = levels("funding_adjusted", [("long", 10, 900.0, 908.0, 300.0)]).assign(
        measured_at=pd.Timestamp("2025-01-03")
    )
    with pytest.raises(ValueError, match="models disagree"):
        combine_levels(
            {"binance_standard": a, "funding_adjusted": b}, {"binance_standard": 1, "funding_adjusted": 1}
        )


def test_simplex_grid_covers_every_step_combination_summing_to_one():
    grid = list(simplex_grid(3, 0.05))
    assert len(grid) == 231  # C(22, 2)
    assert all(abs(sum(w) - 1.0) < 1e-12 and min(w) >= 0 for w in grid)
    assert list(simplex_grid(2, 0.5)) == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    with pytest.raises(ValueError, match="divide 1 evenly"):
        list(simplex_grid(2, 0.3))


def test_fit_puts_all_weight_on_the_model_that_hits():
    weights = fit_weights(
        {"good": perfect_heatmap(), "bad": rotated_heatmap()}, truth_rows(), price_bin_size=BIN, step=0.1
    )
    assert weights == {"bad": 0.0, "good": 1.0}


def test_fit_of_identical_models_breaks_the_tie_toward_equal_weights():
    weights = fit_weights(
        {"a": perfect_heatmap(), "b": perfect_heatmap(), "c": perfect_heatmap()},
        truth_rows(),
        price_bin_size=BIN,
        step=0.5,
    )
    # Grid points: the corners and the midpoints; the midpoints are nearest to (1/3, 1/3, 1/3) and the
    # first in grid order wins.
    assert weights == {"a": 0.0, "b": 0.5, "c": 0.5}


def test_fit_sees_only_the_rows_it_is_given():
    # "early" is perfect for heatmap buckets 0..10 and wrong after; "late" the other way round. The
    # train period's truth (buckets 1..11) is judged on buckets 0..10, the test period's on 11..22.
    switch = START + 11 * BUCKET
    perfect, rotated = perfect_heatmap(), rotated_heatmap()
    heatmaps = {
        "early": pd.concat(
            [perfect[perfect["bucket_start"] < switch], rotated[rotated["bucket_start"] >= switch]]
        ),
        "late": pd.concat(
            [rotated[rotated["bucket_start"] < switch], perfect[perfect["bucket_start"] >= switch]]
        ),
    }
    periods = split_train_test(START, START + N_BUCKETS * BUCKET, train_fraction=0.5)
    truth = prepare_truth(truth_rows())
    for period, expected in (("train", {"early": 1.0, "late": 0.0}), ("test", {"early": 0.0, "late": 1.0})):
        start, end = periods[period]
        rows = truth[(truth["time"] >= start) & (truth["time"] < end)]
        assert fit_weights(heatmaps, rows, price_bin_size=BIN, step=0.25) == expected


def test_fit_prefers_the_concentrated_model_when_hit_rates_tie():
    # With equal weights the good model's hot bin still makes the combined top 2: the hit rate is 1 for
    # most weights, and the density share in the truth's bins decides.
    weights = fit_weights(
        {"good": perfect_heatmap(), "bad": rotated_heatmap()}, truth_rows(), price_bin_size=BIN, step=0.5
    )
    assert weights == {"bad": 0.0, "good": 1.0}


def test_fitted_ensemble_scores_at_least_the_best_single_model_in_sample():
    heatmaps = {"good": perfect_heatmap("good"), "bad": rotated_heatmap("bad")}
    weights = fit_weights(heatmaps, truth_rows(), price_bin_size=BIN, step=0.1)
    ensemble = combine(heatmaps, weights, keys=HEATMAP_KEYS, value="live_notional")
    scores = zone_hit_rate(pd.concat([*heatmaps.values(), ensemble]), truth_rows(), price_bin_size=BIN)
    pooled = scores[scores["side"] == "all"].set_index("model")["value"]
    assert pooled["ensemble"] == pooled["good"] == 1.0


def test_fit_without_any_judged_truth_returns_the_grid_point_nearest_equal_weights():
    no_truth = truth_rows().iloc[0:0]
    weights = fit_weights(
        {"a": perfect_heatmap(), "b": rotated_heatmap()}, no_truth, price_bin_size=BIN, step=0.1
    )
    assert weights == {"a": 0.5, "b": 0.5}
