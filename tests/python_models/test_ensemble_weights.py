"""Ensemble combination and the weight fit on the path-conditioned overlap."""

import math

import pandas as pd
import pytest
from placement_world import cells, start, truth, windows
from planted_world import perfect_heatmap

from python_models.ensemble import (
    LEVEL_OUTPUT_COLUMNS,
    MAX_GRID_POINTS,
    combine,
    combine_levels,
    fit_weights,
    grid_step,
    normalise_weights,
    simplex_grid,
)
from python_models.scoring import CELL_COLUMNS, placement_by_window

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


GRID = windows([(h, side, 90, 99) for h in range(1, 5) for side in ("long", "short")])
TRUTH = truth(
    {
        (h, side): {90 + (h * 3 + (side == "short")) % 10: 1.0 + h}
        for h in range(1, 5)
        for side in ("long", "short")
    }
)


def truth_map(model: str) -> pd.DataFrame:
    frame = TRUTH.rename(columns={"liquidated_notional": "value"}).assign(model=model)
    return frame[CELL_COLUMNS]


def shifted_map(model: str, by: int = 5) -> pd.DataFrame:
    frame = truth_map(model)
    return frame.assign(score_bin=90 + (frame["score_bin"] - 90 + by) % 10)


def test_fit_puts_all_weight_on_the_model_that_is_where_the_liquidations_came():
    weights = fit_weights(GRID, pd.concat([truth_map("good"), shifted_map("bad")]), TRUTH, step=0.1)
    assert weights == {"bad": 0.0, "good": 1.0}


def test_fit_of_identical_models_breaks_the_tie_toward_equal_weights():
    maps = pd.concat([truth_map(name) for name in ("a", "b", "c")])
    weights = fit_weights(GRID, maps, TRUTH, step=0.5)
    # Grid points: the corners and the midpoints; the midpoints are nearest to (1/3, 1/3, 1/3) and the
    # first in grid order wins.
    assert weights == {"a": 0.0, "b": 0.5, "c": 0.5}


def test_fit_sees_only_the_windows_it_is_given():
    # "early" is right in the first two hours and wrong after; "late" the other way round.
    early = pd.concat(
        [
            truth_map("early").query("window_start < @start(3)"),
            shifted_map("early").query("window_start >= @start(3)"),
        ]
    )
    late = pd.concat(
        [
            shifted_map("late").query("window_start < @start(3)"),
            truth_map("late").query("window_start >= @start(3)"),
        ]
    )
    maps = pd.concat([early, late])
    first = GRID[GRID["window_start"] < start(3)]
    second = GRID[GRID["window_start"] >= start(3)]
    assert fit_weights(first, maps, TRUTH, step=0.25) == {"early": 1.0, "late": 0.0}
    assert fit_weights(second, maps, TRUTH, step=0.25) == {"early": 0.0, "late": 1.0}


def test_fit_mixes_two_half_right_models_when_the_mix_is_better_than_either():
    # Truth is split over two bins; each model knows one of them: half and half is exactly right.
    true = truth({(1, "long"): {93: 1.0, 97: 1.0}})
    one_window = windows([(1, "long", 90, 99)])
    maps = pd.concat([cells("left", {(1, "long"): {93: 1.0}}), cells("right", {(1, "long"): {97: 1.0}})])
    assert fit_weights(one_window, maps, true, step=0.1) == {"left": 0.5, "right": 0.5}


def test_fitted_ensemble_overlaps_at_least_as_well_as_the_best_single_model_in_sample():
    maps = pd.concat([truth_map("good"), shifted_map("bad", by=1), shifted_map("worse", by=4)])
    weights = fit_weights(GRID, maps, TRUTH, step=0.1)
    names = sorted(weights)
    frames = {name: maps[maps["model"] == name].drop(columns="model") for name in names}
    keys = ["symbol", "window_start", "horizon_hours", "side", "score_bin"]
    ensemble = combine(frames, weights, keys=keys, value="value")
    scored = placement_by_window(GRID, pd.concat([maps, ensemble]), TRUTH)
    mean = scored.groupby("model").apply(lambda g: (g["overlap"] * g["weight"]).sum() / g["weight"].sum())
    assert mean["ensemble"] >= mean[names].max() - 1e-12


def test_fit_takes_any_number_of_variants_and_coarsens_a_grid_too_large_to_search():
    maps = pd.concat([truth_map("v0"), *(shifted_map(f"v{i}", by=i) for i in range(1, 6))])
    weights = fit_weights(GRID, maps, TRUTH, step=0.05)
    assert sorted(weights) == [f"v{i}" for i in range(6)]
    assert weights["v0"] == 1.0
    assert grid_step(2, 0.05) == 0.05 and grid_step(4, 0.05) == 0.05
    # six variants: C(25, 5) = 53,130 points at 0.05, 3,003 at 0.1, 1,287 at 1/8
    assert grid_step(6, 0.05) == 0.125
    assert math.comb(round(1 / grid_step(6, 0.05)) + 5, 5) <= MAX_GRID_POINTS


def test_fit_without_any_judged_truth_returns_the_grid_point_nearest_equal_weights():
    maps = pd.concat([truth_map("a"), shifted_map("b")])
    weights = fit_weights(GRID, maps, TRUTH.iloc[0:0], step=0.1)
    assert weights == {"a": 0.5, "b": 0.5}


def _daily(per_day: dict[int, dict[int, float]]) -> dict[tuple[int, str], dict[int, float]]:
    """One long window a day (at hour 24 x day) with the given {bin: value}."""
    return {(24 * day, "long"): values for day, values in per_day.items()}


def test_fit_keeps_a_mix_that_beats_every_single_model_on_every_day():
    days = range(4)
    grid = windows([(24 * d, "long", 90, 99) for d in days])
    true = truth(_daily({d: {93: 1.0, 97: 1.0} for d in days}))
    maps = pd.concat(
        [
            cells("left", _daily({d: {93: 1.0} for d in days})),
            cells("right", _daily({d: {97: 1.0} for d in days})),
        ]
    )
    assert fit_weights(grid, maps, true, step=0.1) == {"left": 0.5, "right": 0.5}


def test_fit_bags_over_days_and_is_never_below_the_best_single_model_on_the_windows_given():
    # Day 0 is heavy and needs both models (half of its truth at 93, half at 97); on days 1-3 only
    # "steady" is right. The single-sample argmax is half and half (driven by day 0); resamples
    # without day 0 pick "steady" alone, so the bagged weights lean to it.
    days = range(4)
    grid = windows([(24 * d, "long", 90, 99) for d in days])
    true = truth(_daily({0: {93: 10.0, 97: 10.0}, **{d: {93: 1.0} for d in (1, 2, 3)}}))
    maps = pd.concat(
        [
            cells("steady", _daily({d: {93: 1.0} for d in days})),
            cells("other", _daily({d: {97: 1.0} for d in days})),
        ]
    )
    weights = fit_weights(grid, maps, true, step=0.1)
    assert 0.0 < weights["other"] < 0.5
    frames = {name: maps[maps["model"] == name].drop(columns="model") for name in sorted(weights)}
    keys = ["symbol", "window_start", "horizon_hours", "side", "score_bin"]
    ensemble = combine(frames, weights, keys=keys, value="value")
    scored = placement_by_window(grid, pd.concat([maps, ensemble]), true)
    mean = scored.groupby("model").apply(lambda g: (g["overlap"] * g["weight"]).sum() / g["weight"].sum())
    assert mean["ensemble"] >= mean[["steady", "other"]].max() - 1e-12
    # the same seed, the same weights
    assert fit_weights(grid, maps, true, step=0.1) == weights
