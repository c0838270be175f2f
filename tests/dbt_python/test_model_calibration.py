"""fct_model_calibration on the real build of conftest.scored_build: fitted on the train spans' truth
and the unscaled predicted liquidations, and what the scoring's calibration judges."""

from __future__ import annotations

import math

import pytest

TRUTH_NOTIONAL = "sum(fill_price * fill_quantity)"


def test_each_windows_scale_is_the_train_spans_truth_over_the_unscaled_prediction(db):
    rows = db.sql(
        "select window_id, symbol, model, fitted_from, fitted_to, predicted_notional, true_notional,"
        " true_count, raw_scale, notional_scale from fct_model_calibration where window_id > 0"
    ).df()
    assert len(rows) > 0 and set(rows["model"]) >= {"binance_standard", "learned_leverage", "ensemble"}
    fitted = 0
    for row in rows.itertuples():
        span = f"'{row.fitted_from}' and bucket_start < '{row.fitted_to}'"
        if row.model != "ensemble":
            predicted = db.sql(
                "select coalesce(sum(liquidated_notional), 0) from fct_liquidation_history where symbol = ?"
                f" and model = ? and bucket_start >= {span}",
                params=[row.symbol, row.model],
            ).fetchone()[0]
            assert row.predicted_notional == pytest.approx(predicted, rel=1e-9, abs=1e-6), row
        true, count = db.sql(
            f"select coalesce({TRUTH_NOTIONAL}, 0), count(*) from stg_truth__liquidations where symbol = ?"
            f" and liquidated_at >= '{row.fitted_from}' and liquidated_at < '{row.fitted_to}'"
            " and fill_price * fill_quantity > 0",
            params=[row.symbol],
        ).fetchone()
        assert row.true_notional == pytest.approx(true, rel=1e-9) and row.true_count == count
        if not math.isnan(row.raw_scale):
            fitted += 1
            lo, hi = sorted([1.0, row.raw_scale])
            assert lo - 1e-12 <= row.notional_scale <= hi + 1e-12  # between 1 and the raw ratio
    assert fitted > 0  # the build has truth in its train spans: the test can fail


def test_the_ensembles_scale_uses_the_windows_weights_on_its_members_prediction(db):
    rows = db.sql(
        """
        select c.window_id, c.symbol, c.predicted_notional,
            (select sum(m.predicted_notional * w.weight) from fct_model_calibration as m
             inner join fct_ensemble_weights as w on w.window_id = m.window_id and w.model = m.model
             where m.window_id = c.window_id and m.symbol = c.symbol) as weighted
        from fct_model_calibration as c
        where c.model = 'ensemble' and c.window_id > 0
        """
    ).fetchall()
    assert rows
    for _, _, predicted, weighted in rows:
        assert predicted == pytest.approx(weighted, rel=1e-9)


def test_the_scored_calibration_is_the_scaled_history_over_the_truth_and_placement_ignores_the_scale(db):
    test_spans = db.sql(
        "select window_id, period_start, period_end from int_scoring__periods"
        " where period = 'test' and is_complete order by window_id"
    ).fetchall()
    assert test_spans
    checked = 0
    for window_id, start, end in test_spans:
        scale = dict(
            db.sql(
                "select model, notional_scale from fct_model_calibration where window_id = ?",
                params=[window_id],
            ).fetchall()
        )
        true = db.sql(
            f"select {TRUTH_NOTIONAL} from stg_truth__liquidations"
            f" where liquidated_at >= '{start}' and liquidated_at < '{end}'"
        ).fetchone()[0]
        scored = dict(
            db.sql(
                "select model, value from fct_model_scores where metric = 'calibration' and side = 'all'"
                " and window_id = ?",
                params=[window_id],
            ).fetchall()
        )
        for model, value in scored.items():
            if model == "ensemble" or value is None or not true:
                continue
            predicted = db.sql(
                "select sum(liquidated_notional) from fct_liquidation_history where model = ?"
                f" and bucket_start >= '{start}' and bucket_start < '{end}'",
                params=[model],
            ).fetchone()[0]
            assert value == pytest.approx(predicted * scale[model] / true, rel=1e-6), (window_id, model)
            checked += 1
    assert checked > 0
