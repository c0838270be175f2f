"""Every model, the ensemble included, scored against the true liquidations, per side and period.

python_models.scoring.score_models with
- heatmap: int_scoring__judged_cells (the rows of int_scoring__live_notional_per_bucket, live
  notional per 5-minute bucket over the whole built range, that can change a score: the same scores
  as the whole table) plus the ensemble's, combined per (symbol, bucket_start, price_bin, side) with
  the weights of fct_ensemble_weights;
- history: fct_liquidation_history plus fct_liquidation_history_ensemble;
- truth: stg_truth__liquidations (fill price and quantity, position side);
- periods: int_scoring__periods (train, test); bins: dim_symbols.price_bin_size; bucket 5 minutes.
One row per symbol x model x side (long, short, all) x period x metric; value is null where the
metric is undefined (no truth, constant series), n says how much it rests on. Definitions in the
`model_scoring` docs block. With fitted weights the ensemble's train scores are in sample; its test
scores are not (the fit never saw the test period).
"""

import json

import pandas as pd

from python_models.ensemble import ENSEMBLE_MODEL, combine
from python_models.scoring import score_models
from python_models.truth import prepare_truth

HEAT_KEYS = ["symbol", "bucket_start", "price_bin", "side"]
# stg_truth__liquidations as python_models.truth.prepare_truth takes it: the fill, on the position's side.
TRUTH_COLUMNS = (
    "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
)
COLUMNS = ["symbol", "model", "side", "period", "period_start", "period_end", "metric", "value", "n"]


def _with_ensemble(frame: pd.DataFrame, weights: dict, keys: list[str], value: str) -> pd.DataFrame:
    frames = {name: frame[frame["model"] == name] for name in weights}
    ensemble = combine(frames, weights, keys=keys, value=value, model=ENSEMBLE_MODEL)
    return pd.concat([frame[["model", *keys, value]], ensemble], ignore_index=True)


def model(dbt, session):
    dbt.config(materialized="table")
    top_share = float(json.loads(dbt.config.meta_get("score_top_share")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    period_rows = dbt.ref("int_scoring__periods")
    weight_rows = dbt.ref("fct_ensemble_weights")
    heatmap_rows = dbt.ref("int_scoring__judged_cells")
    history_rows = dbt.ref("fct_liquidation_history")
    truth_rows = dbt.ref("stg_truth__liquidations")
    symbols = dbt.ref("dim_symbols")

    periods = {
        name: (pd.Timestamp(start), pd.Timestamp(end))
        for name, start, end in period_rows.project("period, period_start, period_end")
        .order("period_start")
        .fetchall()
    }
    if not periods:
        empty = pd.DataFrame({column: pd.Series(dtype="float64") for column in COLUMNS})
        text = {c: "str" for c in ("symbol", "model", "side", "period", "metric")}
        times = {"period_start": "datetime64[us]", "period_end": "datetime64[us]"}
        return empty.astype({**text, **times})
    weights = dict(weight_rows.project("model, weight").fetchall())
    heatmap = heatmap_rows.project("symbol, model, bucket_start, price_bin, side, live_notional").df()
    history = history_rows.project("symbol, model, bucket_start, side, liquidated_notional").df()
    truth = prepare_truth(truth_rows.project(TRUTH_COLUMNS).df())
    bins = dict(symbols.project("symbol, price_bin_size").fetchall())
    scores = score_models(
        _with_ensemble(heatmap, weights, HEAT_KEYS, "live_notional"),
        _with_ensemble(history, weights, ["symbol", "bucket_start", "side"], "liquidated_notional"),
        truth,
        periods=periods,
        price_bin_size=bins,
        bucket="5min",
        top_share=top_share,
    )
    scores["period_start"] = scores["period"].map({k: v[0] for k, v in periods.items()})
    scores["period_end"] = scores["period"].map({k: v[1] for k, v in periods.items()})
    for column in ("period_start", "period_end"):
        scores[column] = pd.to_datetime(scores[column]).astype("datetime64[us]")
    return scores[COLUMNS]
