"""The history metrics (calibration, hourly correlation), the periods and the truth shape."""

import numpy as np
import pandas as pd
import pytest
from planted_world import START, SYMBOL, history, truth_notional, truth_rows

from python_models.scoring import (
    calibration,
    history_metrics,
    history_moments,
    hourly_correlation,
    moment_metrics,
    pool_moments,
)
from python_models.truth import prepare_truth, truth_from_force_orders

JUDGED = range(23)


def by_side(frame: pd.DataFrame, model: str) -> dict[str, tuple[float, float]]:
    rows = frame[frame["model"] == model]
    return {r.side: (r.value, r.n) for r in rows.itertuples()}


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


def test_moments_of_windows_pooled_give_the_metrics_of_their_union():
    # Three windows of two hours: model m predicts in the first two, model b only in the third;
    # the second window has no liquidation at all, the third no prediction of m.
    rng = np.random.default_rng(3)
    history = pd.concat(
        [
            hand_history(list(rng.uniform(0, 5, 4))),
            hand_history([0.0, 0.0, 0.0, 0.0, 2.0, 7.0]).assign(model="b").iloc[4:],
        ],
        ignore_index=True,
    )
    history.loc[1, "side"] = "short"
    truth = hand_truth([[(1.0, 2.0)], [(3.0, 1.0), (2.0, 2.0)], [], [], [(4.0, 1.0)], [(1.0, 1.0)]])
    union = {"u": (START, START + pd.Timedelta("6h"))}
    spans = {
        str(k): (START + pd.Timedelta(hours=2 * k), START + pd.Timedelta(hours=2 * k + 2)) for k in range(3)
    }
    # Each window on its own (as a build that computes one window at a time), then pooled.
    moments = pd.concat(
        [history_moments(history, truth, {label: span}) for label, span in spans.items()], ignore_index=True
    )
    pooled = pool_moments(moments, "u", {label: 2.0 for label in spans})
    direct = history_metrics(history, truth, union).sort_values(
        ["model", "side", "metric"], ignore_index=True
    )
    from_moments = moment_metrics(pooled).sort_values(["model", "side", "metric"], ignore_index=True)
    assert set(direct["model"]) == {"m", "b"} and len(direct) == 12
    pd.testing.assert_frame_equal(from_moments, direct, check_exact=False, rtol=1e-12, check_dtype=False)
