"""The weights the ensemble is built with, one row per model, and where they came from.

weight_source:
- `var`: the `ensemble_weights` var ({model: weight}) given to the build;
- `fitted`: python_models.ensemble.fit_weights on the TRAIN period only (the heatmap per 5-minute
  bucket, as int_scoring__judged_cells keeps it, and the true liquidations with times in [train
  start, train end)), so the test-period
  scores of the ensemble are out of sample;
- `seed`: the `ensemble_weights` seed.
`ensemble_weights_source` = auto fits when the train period holds true liquidations, else uses the
seed; `fit` and `seed` force one. Weights are normalised to sum to 1.
"""

import json

import pandas as pd

from python_models.ensemble import fit_weights, normalise_weights
from python_models.truth import prepare_truth

COLUMNS = ["model", "weight", "weight_source", "fitted_from", "fitted_to", "fit_truth_notional", "fit_step"]
SOURCES = ("auto", "fit", "seed")


def _truth_between(truth_rows, start, end) -> pd.DataFrame:
    rows = truth_rows.filter(f"liquidated_at >= '{start}' and liquidated_at < '{end}'")
    raw = rows.project(
        "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
    ).df()
    return prepare_truth(raw)


def model(dbt, session):
    dbt.config(materialized="table")
    source = json.loads(dbt.config.meta_get("ensemble_weights_source"))
    override = json.loads(dbt.config.meta_get("ensemble_weights"))
    step = float(json.loads(dbt.config.meta_get("ensemble_fit_step")))
    top_share = float(json.loads(dbt.config.meta_get("score_top_share")))
    if source not in SOURCES:
        raise ValueError(f"var ensemble_weights_source must be one of {SOURCES}; got {source!r}")

    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    heatmap = dbt.ref("int_scoring__live_notional_per_bucket")
    judged_cells = dbt.ref("int_scoring__judged_cells")
    levels = dbt.ref("fct_liquidation_levels")
    seed = dbt.ref("ensemble_weights").df()
    periods = dbt.ref("int_scoring__periods")
    truth_rows = dbt.ref("stg_truth__liquidations")
    symbols = dbt.ref("dim_symbols")
    models = sorted(
        {row[0] for row in levels.project("model").distinct().fetchall()}
        | {row[0] for row in heatmap.project("model").distinct().fetchall()}
    )
    fitted_from = fitted_to = None
    fit_truth = None
    if override:
        weights, origin = normalise_weights({str(k): float(v) for k, v in override.items()}, models), "var"
    else:
        train = periods.filter("period = 'train'").project("period, period_start, period_end").fetchall()
        truth = (
            _truth_between(truth_rows, train[0][1], train[0][2])
            if train
            else prepare_truth(pd.DataFrame(columns=["symbol", "time", "side", "price", "quantity"]))
        )
        if source == "fit" or (source == "auto" and not truth.empty):
            if not train:
                raise ValueError(
                    "ensemble_weights_source = fit needs a train period (int_scoring__periods is empty: "
                    "the built range is too short to split on whole hours)"
                )
            _, fitted_from, fitted_to = train[0]
            bins = dict(symbols.project("symbol, price_bin_size").fetchall())
            # Only the cells the fit can use (int_scoring__judged_cells): the same weights as the whole
            # heatmap gives, without loading every bin of every bucket into pandas.
            rows = (
                judged_cells.filter(f"bucket_start < '{fitted_to}'")
                .project("symbol, model, bucket_start, price_bin, side, live_notional")
                .df()
            )
            predictions = {name: rows[rows["model"] == name] for name in models}
            weights = fit_weights(
                predictions, truth, price_bin_size=bins, bucket="5min", step=step, top_share=top_share
            )
            origin, fit_truth = "fitted", float(truth["notional"].sum())
        else:
            missing = sorted(set(models) - set(seed["model"]))
            if missing:
                raise ValueError(f"seed ensemble_weights.csv has no weight for model(s) {missing}")
            chosen = seed[seed["model"].isin(models)]
            weights, origin = (
                normalise_weights(dict(zip(chosen["model"], chosen["weight"], strict=True)), models),
                "seed",
            )
    out = pd.DataFrame(
        {
            "model": models,
            "weight": [float(weights[name]) for name in models],
            "weight_source": origin,
            "fitted_from": pd.Series([fitted_from] * len(models), dtype="datetime64[us]"),
            "fitted_to": pd.Series([fitted_to] * len(models), dtype="datetime64[us]"),
            "fit_truth_notional": pd.Series([fit_truth] * len(models), dtype="float64"),
            "fit_step": step if origin == "fitted" else float("nan"),
        }
    )
    return out[COLUMNS]
