"""The notional scale learned from recorded liquidations (python_models.calibration), hand-built cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from python_models.calibration import (
    effective_count,
    fit_scales,
    in_force_scale_spans,
    shrunk_scale,
)


def _predicted(rows):
    return pd.DataFrame(rows, columns=["symbol", "model", "predicted_notional"])


def _truth(rows):
    return pd.DataFrame(rows, columns=["symbol", "notional"])


def test_effective_count_is_the_count_for_equal_sizes_and_one_for_a_single_dominant_one():
    assert effective_count([5.0] * 8) == pytest.approx(8.0)
    assert effective_count([1e9, 1.0, 1.0]) == pytest.approx(1.0, abs=1e-6)
    assert effective_count([]) == 0.0
    assert effective_count([0.0, -1.0]) == 0.0


def test_a_model_predicting_four_times_the_truth_gets_a_quarter_without_shrinkage():
    # 400 equal liquidations of 1,000 USDT; the model said 1.6 M, the truth is 0.4 M.
    truth = _truth([("BTCUSDT", 1000.0)] * 400)
    predicted = _predicted([("BTCUSDT", "a", 1.0e6), ("BTCUSDT", "a", 0.6e6), ("BTCUSDT", "b", 0.4e6)])
    out = fit_scales(predicted, truth, symbols=["BTCUSDT"], models=["a", "b"], prior_count=0).set_index(
        "model"
    )
    assert out.loc["a", "raw_scale"] == pytest.approx(0.25)
    assert out.loc["a", "notional_scale"] == pytest.approx(0.25)
    assert out.loc["b", "notional_scale"] == pytest.approx(1.0)
    assert out.loc["a", "true_count"] == 400
    assert out.loc["a", "effective_count"] == pytest.approx(400.0)
    # Scaled, the model's predicted total equals the truth of the span it was fitted on.
    assert out.loc["a", "predicted_notional"] * out.loc["a", "notional_scale"] == pytest.approx(4.0e5)


def test_the_scale_is_shrunk_toward_one_in_log_space_by_the_effective_count():
    truth = _truth([("BTCUSDT", 1000.0)] * 10)  # n_eff = 10
    predicted = _predicted([("BTCUSDT", "a", 4.0e4)])  # raw = 0.25
    out = fit_scales(predicted, truth, symbols=["BTCUSDT"], models=["a"], prior_count=10).iloc[0]
    assert out["shrink_weight"] == pytest.approx(0.5)
    assert out["notional_scale"] == pytest.approx(0.5)  # exp(0.5 x ln 0.25)
    assert shrunk_scale(1.0e4, 4.0e4, 30, 10)[2] == pytest.approx(math.exp(0.75 * math.log(0.25)))
    # A few heavy-tailed liquidations weigh as the few large ones: one of them carries almost all.
    raw, weight, scale = shrunk_scale(1.0e4, 4.0e4, effective_count([9_990.0, 5.0, 5.0]), 10)
    assert raw == pytest.approx(0.25) and weight < 0.1 and 0.25 < scale < 0.9


def test_no_truth_or_no_prediction_leaves_the_scale_at_one():
    out = fit_scales(
        _predicted([("BTCUSDT", "a", 5.0e5)]),
        _truth([("ETHUSDT", 100.0)]),
        symbols=["BTCUSDT", "ETHUSDT"],
        models=["a"],
        prior_count=10,
    ).set_index("symbol")
    assert out.loc["BTCUSDT", "notional_scale"] == 1.0  # no truth
    assert math.isnan(out.loc["BTCUSDT", "raw_scale"])
    assert out.loc["ETHUSDT", "notional_scale"] == 1.0  # the model predicted nothing there
    assert out.loc["ETHUSDT", "shrink_weight"] == 0.0
    with pytest.raises(ValueError, match="calibration_prior_count"):
        shrunk_scale(1.0, 1.0, 1.0, -1)
    with pytest.raises(ValueError, match="truth lacks"):
        fit_scales(_predicted([]), pd.DataFrame({"symbol": []}), symbols=[], models=[], prior_count=1)


def test_the_ensemble_divides_the_truth_by_its_weighted_members():
    truth = _truth([("BTCUSDT", 1000.0)] * 100)  # 0.1 M
    predicted = _predicted([("BTCUSDT", "a", 4.0e5), ("BTCUSDT", "b", 2.0e5)])
    out = fit_scales(
        predicted,
        truth,
        symbols=["BTCUSDT"],
        models=["a", "b"],
        prior_count=0,
        ensemble_weights={"a": 0.25, "b": 0.75},
    ).set_index("model")
    assert out.loc["ensemble", "predicted_notional"] == pytest.approx(2.5e5)
    assert out.loc["ensemble", "notional_scale"] == pytest.approx(0.4)


def test_a_windows_scale_is_in_force_from_its_train_end_until_the_next_ones():
    t = pd.Timestamp
    rows = [
        (0, "BTCUSDT", "a", 1.0, None),
        (2, "BTCUSDT", "a", 0.3, t("2026-10-05")),
        (1, "BTCUSDT", "a", 0.5, t("2026-10-04")),
    ]
    assert in_force_scale_spans(rows) == [
        ("BTCUSDT", "a", 1.0, None, t("2026-10-04")),
        ("BTCUSDT", "a", 0.5, t("2026-10-04"), t("2026-10-05")),
        ("BTCUSDT", "a", 0.3, t("2026-10-05"), None),
    ]


def test_the_scales_in_force_join_in_duckdb_and_leave_uncovered_rows_at_one():
    import duckdb

    from python_models.calibration import in_force_scales_sql

    t = pd.Timestamp
    scales = in_force_scales_sql([(0, "BTCUSDT", "a", 1.0, None), (1, "BTCUSDT", "a", 0.5, t("2026-10-04"))])
    got = duckdb.sql(
        f"""
        select h.ts, h.model, h.x * coalesce(s.notional_scale, 1.0) as x
        from (values (timestamp '2026-10-03 23:55', 'a', 10.0), (timestamp '2026-10-04', 'a', 10.0),
                     (timestamp '2026-10-04', 'b', 10.0)) as h(ts, model, x)
        left join ({scales}) as s
            on s.symbol = 'BTCUSDT' and s.model = h.model and h.ts >= s.in_force_from and h.ts < s.in_force_to
        order by h.ts, h.model
        """
    ).fetchall()
    assert [row[2] for row in got] == [10.0, 5.0, 10.0]
    assert duckdb.sql(in_force_scales_sql([])).fetchall() == []


def test_the_scales_in_force_within_a_range_are_only_those_a_row_of_it_can_take():
    import duckdb

    from python_models.calibration import in_force_scales_sql

    t = pd.Timestamp
    rows = [(0, "BTCUSDT", "a", 1.0, None)] + [
        (k, "BTCUSDT", "a", 1.0 / k, t("2026-10-01") + pd.Timedelta(days=k)) for k in range(1, 6)
    ]
    # Spans: window 0 until 10-02, window k over [10-01 + k days, + 1 day), window 5 from 10-06 on.
    every = duckdb.sql(in_force_scales_sql(rows)).fetchall()
    assert len(every) == 6
    within = duckdb.sql(in_force_scales_sql(rows, within=(t("2026-10-03 12:00"), t("2026-10-04")))).fetchall()
    assert [row[2] for row in within] == [0.5]  # window 2, in force over [10-03, 10-04)
    edges = duckdb.sql(in_force_scales_sql(rows, within=(t("2026-10-03"), t("2026-10-04 00:05")))).fetchall()
    assert sorted(row[2] for row in edges) == [1 / 3, 0.5]
    assert (
        len(duckdb.sql(in_force_scales_sql(rows, within=(t("2026-09-01"), t("2026-09-02")))).fetchall()) == 1
    )
    assert (
        len(duckdb.sql(in_force_scales_sql(rows, within=(t("2027-01-01"), t("2027-01-02")))).fetchall()) == 1
    )
