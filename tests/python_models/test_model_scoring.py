"""Scoring metrics against planted truth."""

import numpy as np
import pandas as pd
import pytest
from planted_world import (
    BIN,
    BUCKET,
    N_BUCKETS,
    START,
    SYMBOL,
    history,
    perfect_heatmap,
    rotated_heatmap,
    shuffled_heatmap,
    truth_notional,
    truth_rows,
)

from python_models.density import top_density_mask, top_density_mask_sorted
from python_models.scoring import (
    METRICS,
    SCORE_COLUMNS,
    calibration,
    distance_to_top_bins,
    hourly_correlation,
    score_models,
    split_train_test,
    weighted_median,
    zone_hit_rate,
)
from python_models.truth import prepare_truth, truth_from_force_orders

JUDGED = range(N_BUCKETS - 1)


def by_side(frame: pd.DataFrame, model: str) -> dict[str, tuple[float, float]]:
    rows = frame[frame["model"] == model]
    return {r.side: (r.value, r.n) for r in rows.itertuples()}


def test_perfect_predictor_hits_every_true_liquidation():
    scores = by_side(zone_hit_rate(perfect_heatmap(), truth_rows(), price_bin_size=BIN), "perfect")
    assert scores["long"] == (1.0, pytest.approx(truth_notional(JUDGED, "long"), rel=1e-12))
    assert scores["short"] == (1.0, pytest.approx(truth_notional(JUDGED, "short"), rel=1e-12))
    assert scores["all"] == (1.0, pytest.approx(truth_notional(JUDGED), rel=1e-12))


def test_predictor_with_density_away_from_the_truth_scores_zero():
    scores = by_side(zone_hit_rate(rotated_heatmap(), truth_rows(), price_bin_size=BIN), "rotated")
    assert {side: value for side, (value, _) in scores.items()} == {"long": 0.0, "short": 0.0, "all": 0.0}


def test_shuffled_predictor_scores_far_below_the_perfect_one():
    heatmap = pd.concat([perfect_heatmap(), shuffled_heatmap()], ignore_index=True)
    scores = zone_hit_rate(heatmap, truth_rows(), price_bin_size=BIN)
    pooled = scores[scores["side"] == "all"].set_index("model")["value"]
    assert pooled["perfect"] == 1.0
    # Random placement puts the truth bin in the top 2 of 10 about 20 % of the time.
    assert pooled["shuffled"] < 0.4


def test_hit_rate_uses_the_heatmap_of_the_bucket_before_the_liquidation():
    late = perfect_heatmap("late")
    late["bucket_start"] = late["bucket_start"] + BUCKET  # the density shows up in the truth's own bucket
    late = late[late["bucket_start"] < START + N_BUCKETS * BUCKET]
    scores = zone_hit_rate(pd.concat([perfect_heatmap(), late]), truth_rows(), price_bin_size=BIN)
    pooled = scores[scores["side"] == "all"].set_index("model")["value"]
    assert pooled["perfect"] == 1.0
    assert pooled["late"] < 0.4


def test_truth_before_the_first_heatmap_bucket_is_not_judged():
    early = pd.DataFrame(
        [
            {
                "symbol": SYMBOL,
                "time": START + pd.Timedelta("1min"),
                "side": "SELL",
                "price": 1003.0,
                "quantity": 9.0,
            }
        ]
    )
    truth = pd.concat(
        [truth_rows().assign(time=prepare_truth(truth_rows())["time"]), early], ignore_index=True
    )
    scores = by_side(zone_hit_rate(perfect_heatmap(), truth, price_bin_size=BIN), "perfect")
    assert scores["long"] == (1.0, pytest.approx(truth_notional(JUDGED, "long"), rel=1e-12))


def test_truth_in_a_bin_without_density_is_a_miss():
    heatmap = perfect_heatmap()
    first_long = (heatmap["bucket_start"] == START) & (heatmap["side"] == "long")
    heatmap = heatmap[~first_long]  # no long density at all in bucket 0
    scores = by_side(zone_hit_rate(heatmap, truth_rows(), price_bin_size=BIN), "perfect")
    missed = truth_notional(range(1), "long")
    total = truth_notional(JUDGED, "long")
    assert scores["long"][0] == pytest.approx((total - missed) / total, rel=1e-12)
    assert scores["long"][1] == pytest.approx(total, rel=1e-12)


def test_top_density_takes_exactly_ceil_20_percent_of_nonzero_bins_ties_to_lower_bins():
    groups = np.zeros(5, dtype=int)
    values = np.array([5.0, 0.0, 3.0, 3.0, 1.0])
    tie_key = np.array([4, 3, 2, 1, 0])
    assert top_density_mask(groups, values, tie_key, 0.2).tolist() == [True, False, False, False, False]
    assert top_density_mask(groups, values, tie_key, 0.5).tolist() == [True, False, False, True, False]
    fifteen = top_density_mask(np.zeros(15, dtype=int), np.arange(1.0, 16.0), np.arange(15), 0.2)
    assert np.flatnonzero(fifteen).tolist() == [12, 13, 14]
    two_groups = top_density_mask(np.array([0, 0, 1, 1]), np.array([1.0, 2.0, 0.0, 0.0]), np.arange(4), 0.2)
    assert two_groups.tolist() == [False, True, False, False]


def test_top_density_on_rows_sorted_by_group_and_bin_marks_the_same_bins():
    # Rows sorted by group, then bin (the tie key), as fit_weights sorts them once for every grid point.
    codes = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    values = np.array([3.0, 0.0, 3.0, 5.0, 1.0, 2.0, 2.0, 0.0])
    assert np.flatnonzero(top_density_mask_sorted(codes, values, 0.2)).tolist() == [3, 5]
    assert np.flatnonzero(top_density_mask_sorted(codes, values, 0.5)).tolist() == [0, 3, 5]
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 40, 2_000)
    bins = rng.permutation(2_000)
    values = rng.choice([0.0, 1.0, 2.0, 2.5, 7.0], 2_000)
    order = np.lexsort((bins, groups))
    expected = top_density_mask(groups, values, bins, 0.2)[order]
    assert top_density_mask_sorted(groups[order], values[order], 0.2).tolist() == expected.tolist()
    assert expected.sum() == sum(
        int(np.ceil(0.2 * np.count_nonzero(values[groups == g] > 0) - 1e-9)) for g in range(40)
    )


def test_identical_hourly_series_correlate_at_one_and_calibrate_at_one():
    corr = by_side(hourly_correlation(history("m"), truth_rows()), "m")
    cal = by_side(calibration(history("m"), truth_rows()), "m")
    for side in ("long", "short", "all"):
        assert corr[side][0] == pytest.approx(1.0, abs=1e-12)
        assert corr[side][1] == 2.0  # two hours
        assert cal[side][0] == pytest.approx(1.0, rel=1e-12)
    assert cal["all"][1] == pytest.approx(truth_notional(JUDGED), rel=1e-12)


def test_scaled_prediction_keeps_correlation_and_shows_in_calibration():
    corr = by_side(hourly_correlation(history("m", scale=2.0), truth_rows()), "m")
    cal = by_side(calibration(history("m", scale=2.0), truth_rows()), "m")
    assert corr["all"][0] == pytest.approx(1.0, abs=1e-12)
    assert cal["all"][0] == pytest.approx(2.0, rel=1e-12)


def hand_history(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": SYMBOL,
            "model": "m",
            "bucket_start": [START + pd.Timedelta(hours=h, minutes=10) for h in range(len(values))],
            "side": "long",
            "liquidated_notional": values,
        }
    )


def hand_truth(per_hour: list[list[tuple[float, float]]]) -> pd.DataFrame:
    rows = [
        {
            "symbol": SYMBOL,
            "time": START + pd.Timedelta(hours=h, minutes=30),
            "side": "SELL",
            "price": p,
            "quantity": q,
        }
        for h, fills in enumerate(per_hour)
        for p, q in fills
    ]
    return pd.DataFrame(rows)


def test_calibration_on_a_hand_computed_case():
    # predicted 300; true 100 × 1 + 50 × 2 = 200 -> 1.5
    scores = by_side(calibration(hand_history([300.0]), hand_truth([[(100.0, 1.0), (50.0, 2.0)]])), "m")
    assert scores["long"] == (1.5, 200.0)
    assert np.isnan(scores["short"][0])
    assert scores["short"][1] == 0.0


def test_correlation_on_a_hand_computed_case():
    # predicted [1, 2, 3], true [1, 3, 2] per hour: covariance 1, variances 2 and 2 -> 0.5
    truth = hand_truth([[(1.0, 1.0)], [(3.0, 1.0)], [(2.0, 1.0)]])
    scores = by_side(hourly_correlation(hand_history([1.0, 2.0, 3.0]), truth), "m")
    assert scores["long"][0] == pytest.approx(0.5, abs=1e-12)
    assert scores["long"][1] == 3.0
    assert np.isnan(scores["short"][0])  # no short liquidations predicted or true: undefined


def test_correlation_counts_hours_without_liquidations_as_zero():
    truth = hand_truth([[(1.0, 1.0)], [], [(2.0, 1.0)]])
    scores = by_side(
        hourly_correlation(hand_history([1.0, 0.0, 2.0]), truth, start=START, end=START + pd.Timedelta("4h")),
        "m",
    )
    # hours: predicted [1, 0, 2, 0], true [1, 0, 2, 0] -> 1 over 4 hours
    assert scores["long"] == (pytest.approx(1.0, abs=1e-12), 4.0)


def test_distance_to_the_nearest_top_bin_on_a_hand_computed_case():
    heatmap = pd.DataFrame(
        {
            "symbol": SYMBOL,
            "model": "m",
            "bucket_start": START,
            "price_bin": [1000.0, 1010.0, 1020.0, 1030.0, 1040.0],
            "side": "long",
            "live_notional": [9.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    at = START + BUCKET + pd.Timedelta("10s")
    truth = pd.DataFrame(
        {
            "symbol": SYMBOL,
            "time": [at, at, at],
            "side": ["SELL", "SELL", "SELL"],
            "price": [1005.0, 1030.0, 990.0],
            "quantity": [1.0, 2.0, 1.5],
        }
    )
    scores = by_side(distance_to_top_bins(heatmap, truth, price_bin_size=BIN, bucket="5min"), "m")
    # top bin [1000, 1010): distances 0 (1005 USDT), 20/1030 (2060 USDT), 10/990 (1485 USDT);
    # half of 4550 is reached by the second-smallest distance, 10/990.
    assert scores["long"][0] == pytest.approx(100 * 10 / 990, rel=1e-12)
    assert scores["long"][1] == pytest.approx(1005.0 + 2060.0 + 1485.0, rel=1e-12)


def test_weighted_median_is_the_value_where_half_the_weight_is_reached():
    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])) == 2.0
    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.array([5.0, 1.0, 1.0])) == 3.0
    assert weighted_median(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == 1.0


def test_train_test_split_is_half_open_without_overlap_on_hour_boundaries():
    periods = split_train_test("2025-01-01 00:00", "2025-01-03 00:00", train_fraction=0.6)
    assert periods == {
        "train": (pd.Timestamp("2025-01-01 00:00"), pd.Timestamp("2025-01-02 04:00")),
        "test": (pd.Timestamp("2025-01-02 04:00"), pd.Timestamp("2025-01-03 00:00")),
    }
    times = pd.Series(pd.date_range("2025-01-01", "2025-01-03", freq="5min", inclusive="left"))
    in_train = (times >= periods["train"][0]) & (times < periods["train"][1])
    in_test = (times >= periods["test"][0]) & (times < periods["test"][1])
    assert not (in_train & in_test).any()
    assert (in_train | in_test).all()
    assert in_train.sum() == 28 * 12


def test_train_test_split_rejects_ranges_it_cannot_split():
    with pytest.raises(ValueError, match="too short to split"):
        split_train_test("2025-01-01 00:00", "2025-01-01 00:30", train_fraction=0.5)
    with pytest.raises(ValueError, match="train_fraction"):
        split_train_test("2025-01-01", "2025-01-02", train_fraction=1.0)


def test_score_models_gives_every_metric_per_model_side_and_period():
    heatmap = pd.concat([perfect_heatmap(), rotated_heatmap()], ignore_index=True)
    hist = pd.concat([history("perfect"), history("rotated", scale=0.5)], ignore_index=True)
    periods = split_train_test(START, START + N_BUCKETS * BUCKET, train_fraction=0.5)
    scores = score_models(heatmap, hist, truth_rows(), periods=periods, price_bin_size=BIN)
    assert list(scores.columns) == SCORE_COLUMNS
    assert len(scores) == 1 * 2 * 3 * 2 * len(METRICS)
    hit = scores[scores["metric"] == "zone_hit_rate"].set_index(["model", "side", "period"])
    assert hit.loc[("perfect", "all", "train"), "value"] == 1.0
    assert hit.loc[("perfect", "all", "test"), "value"] == 1.0
    assert hit.loc[("rotated", "all", "test"), "value"] == 0.0
    # train = hour 0 (truth of buckets 1..11 -> heatmap buckets 0..10), test = hour 1 (11..22)
    assert hit.loc[("perfect", "all", "train"), "n"] == pytest.approx(truth_notional(range(11)), rel=1e-12)
    assert hit.loc[("perfect", "all", "test"), "n"] == pytest.approx(truth_notional(range(11, 23)), rel=1e-12)
    cal = scores[scores["metric"] == "calibration"].set_index(["model", "side", "period"])["value"]
    assert cal[("rotated", "long", "test")] == pytest.approx(0.5, rel=1e-12)
    distance = scores[scores["metric"] == "median_distance_pct"].set_index(["model", "side", "period"])[
        "value"
    ]
    assert distance[("perfect", "all", "train")] == 0.0
    assert distance[("rotated", "all", "train")] > 0.0


def test_heatmap_with_several_timeframes_is_rejected():
    heatmap = pd.concat([perfect_heatmap(), perfect_heatmap().assign(timeframe="1h")])
    with pytest.raises(ValueError, match="one timeframe"):
        zone_hit_rate(heatmap, truth_rows(), price_bin_size=BIN)


def test_bucket_that_does_not_fit_the_heatmap_is_rejected():
    with pytest.raises(ValueError, match="not a multiple of bucket"):
        zone_hit_rate(perfect_heatmap(), truth_rows(), price_bin_size=BIN, bucket="10min")


def test_force_order_rows_become_canonical_truth():
    raw = pd.DataFrame(
        {
            "symbol": [SYMBOL, SYMBOL],
            "time": [1735689600000, 1735689601000],
            "side": ["SELL", "BUY"],
            "order_type": ["LIMIT", "LIMIT"],
            "time_in_force": ["IOC", "IOC"],
            "original_quantity": [2.0, 3.0],
            "price": [99.0, 101.0],
            "average_price": [100.0, 0.0],
            "order_status": ["FILLED", "FILLED"],
            "last_fill_quantity": [2.0, 3.0],
            "accumulated_fill_quantity": [2.0, 0.0],
        }
    )
    truth = truth_from_force_orders(raw)
    assert truth["side"].tolist() == ["long", "short"]
    assert truth["time"].tolist() == [
        pd.Timestamp("2025-01-01 00:00:00"),
        pd.Timestamp("2025-01-01 00:00:01"),
    ]
    assert truth["notional"].tolist() == [200.0, 303.0]


def test_unknown_truth_side_is_named():
    with pytest.raises(ValueError, match="unknown side value"):
        prepare_truth(truth_rows().assign(side="LONG"))
