"""The weights the ensemble is built with, one row per model variant, and where they came from.

weight_source:
- `var`: the `ensemble_weights` var ({model: weight}) given to the build;
- `fitted`: python_models.ensemble.fit_weights on the TRAIN period of evaluation window 1 only: the
  scoring windows [t, t + horizon) that lie inside it (int_scoring__windows), the variants' maps at
  t (int_scoring__window_map_cells) and the true liquidations of those windows
  (int_scoring__window_truth_cells), maximising the path-conditioned overlap at the shortest
  horizon. The test period is never read, so the ensemble's test scores are out of sample;
- `seed`: the `ensemble_weights` seed, when it has a row for every variant;
- `equal`: equal weights, when the seed does not know every variant (a new variant).
`ensemble_weights_source` = auto fits when the train period holds judged true liquidations, else
uses the seed; `fit` and `seed` force one. The variants are whatever models the marts hold, so a new
variant is weighted with no change here. Weights are normalised to sum to 1.
"""

import json

import pandas as pd

from python_models.ensemble import fit_weights, grid_step, normalise_weights

COLUMNS = ["model", "weight", "weight_source", "fitted_from", "fitted_to", "fit_truth_notional", "fit_step"]
SOURCES = ("auto", "fit", "seed")
CELLS = "symbol, window_start, horizon_hours, side, model, score_bin, live_notional as value"
TRUTH = "symbol, window_start, horizon_hours, side, score_bin, liquidated_notional"
WINDOWS = "symbol, window_start, horizon_hours, side, start_price, score_bin_size, low_bin, high_bin"


def _inside(start, end) -> str:
    return f"window_start >= '{start}' and window_end <= '{end}'"


def _within(frame: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that belong to one of ``windows``."""
    keys = ["symbol", "window_start", "horizon_hours", "side"]
    return frame.merge(windows[keys].drop_duplicates(), on=keys, how="inner")


def model(dbt, session):
    dbt.config(materialized="table")
    source = json.loads(dbt.config.meta_get("ensemble_weights_source"))
    override = json.loads(dbt.config.meta_get("ensemble_weights"))
    step = float(json.loads(dbt.config.meta_get("ensemble_fit_step")))
    if source not in SOURCES:
        raise ValueError(f"var ensemble_weights_source must be one of {SOURCES}; got {source!r}")

    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    heatmap = dbt.ref("int_scoring__live_notional_per_bucket")
    levels = dbt.ref("fct_liquidation_levels")
    seed = dbt.ref("ensemble_weights").df()
    periods = dbt.ref("int_scoring__periods")
    window_rows = dbt.ref("int_scoring__windows")
    map_cells = dbt.ref("int_scoring__window_map_cells")
    truth_cells = dbt.ref("int_scoring__window_truth_cells")
    models = sorted(
        {row[0] for row in levels.project("model").distinct().fetchall()}
        | {row[0] for row in heatmap.project("model").distinct().fetchall()}
    )
    fitted_from = fitted_to = None
    fit_truth = None
    used_step = float("nan")
    if override:
        weights, origin = normalise_weights({str(k): float(v) for k, v in override.items()}, models), "var"
    else:
        train = (
            periods.filter("window_id = 1 and period = 'train'")
            .project("period_start, period_end")
            .fetchall()
        )
        windows = truth = None
        if train:
            fitted_from, fitted_to = train[0]
            windows = window_rows.filter(_inside(fitted_from, fitted_to)).project(WINDOWS).df()
            # Truth of windows outside the train period is dropped before anything uses it.
            truth = _within(truth_cells.project(TRUTH).df(), windows)
        if source == "fit" or (source == "auto" and truth is not None and not truth.empty):
            if not train:
                raise ValueError(
                    "ensemble_weights_source = fit needs a train period (int_scoring__periods is empty: "
                    "the built range is too short to split on whole hours)"
                )
            cells = _within(map_cells.project(CELLS).df(), windows)
            fitted = fit_weights(windows, cells, truth, step=step)
            # A variant with no cell in the train windows gets weight 0.
            weights = {name: float(fitted.get(name, 0.0)) for name in models}
            if sum(weights.values()) <= 0:
                weights = {name: 1.0 for name in models}
            weights = normalise_weights(weights, models)
            origin, fit_truth = "fitted", float(truth["liquidated_notional"].sum())
            used_step = grid_step(len(fitted), step)
        else:
            fitted_from = fitted_to = None
            if set(models) <= set(seed["model"]):
                chosen = seed[seed["model"].isin(models)]
                weights = normalise_weights(dict(zip(chosen["model"], chosen["weight"], strict=True)), models)
                origin = "seed"
            else:
                weights, origin = normalise_weights({name: 1.0 for name in models}, models), "equal"
    out = pd.DataFrame(
        {
            "model": models,
            "weight": [float(weights[name]) for name in models],
            "weight_source": origin,
            "fitted_from": pd.Series([fitted_from] * len(models), dtype="datetime64[us]"),
            "fitted_to": pd.Series([fitted_to] * len(models), dtype="datetime64[us]"),
            "fit_truth_notional": pd.Series([fit_truth] * len(models), dtype="float64"),
            "fit_step": used_step,
        }
    )
    return out[COLUMNS]
