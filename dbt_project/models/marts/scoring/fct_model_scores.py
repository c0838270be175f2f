"""Every model variant, the ensemble and the reference maps, scored against the true liquidations.

python_models.scoring.score_models with
- windows: int_scoring__windows (every hourly start t x horizon x side, with the traversed bins);
- maps: int_scoring__window_map_cells (every variant's live notional at t on those bins), the
  ensemble's (the variants' cells weighted by fct_ensemble_weights) and the oracle
  (int_scoring__window_oracle_cells, the true open positions; simulated data only); the uniform
  and proximity maps are made from the windows;
- truth: int_scoring__window_truth_cells (placement) and stg_truth__liquidations (calibration and
  hourly correlation, with fct_liquidation_history and the ensemble's history);
- periods: int_scoring__periods (train, test per evaluation window).
One row per symbol x model x side (long, short, all) x evaluation window x period x horizon x
metric: overlap, skill and emd_pct per horizon (overlap and skill with a 90 % day-block bootstrap
interval in low, high), calibration and hourly_correlation per period (horizon null). Definitions
in the `model_scoring` docs block. With fitted weights the ensemble's train scores are in sample;
its test scores are not (the fit never saw the test period).
"""

import json

import numpy as np
import pandas as pd

from python_models.ensemble import ENSEMBLE_MODEL, combine
from python_models.scoring import ORACLE, score_models
from python_models.truth import prepare_truth

WINDOW_KEYS = ["symbol", "window_start", "horizon_hours", "side"]
CELL_KEYS = [*WINDOW_KEYS, "score_bin"]
# stg_truth__liquidations as python_models.truth.prepare_truth takes it: the fill, on the position's side.
TRUTH_COLUMNS = (
    "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
)
COLUMNS = [
    "symbol",
    "model",
    "kind",
    "side",
    "window_id",
    "period",
    "period_start",
    "period_end",
    "horizon_hours",
    "metric",
    "value",
    "low",
    "high",
    "n",
]


def _with_ensemble(frame: pd.DataFrame, weights: dict, keys: list[str], value: str) -> pd.DataFrame:
    frames = {name: frame[frame["model"] == name] for name in weights}
    ensemble = combine(frames, weights, keys=keys, value=value, model=ENSEMBLE_MODEL)
    return pd.concat([frame[["model", *keys, value]], ensemble], ignore_index=True)


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({column: pd.Series(dtype="float64") for column in COLUMNS})
    text = {c: "str" for c in ("symbol", "model", "kind", "side", "period", "metric")}
    times = {"period_start": "datetime64[us]", "period_end": "datetime64[us]"}
    return out.astype({**text, **times, "window_id": "int32", "horizon_hours": "Int32"})


def model(dbt, session):
    dbt.config(materialized="table")
    # dbt reads config calls literally: one call per var.
    proximity_scale_pct = float(json.loads(dbt.config.meta_get("score_proximity_scale_pct")))
    draws = int(json.loads(dbt.config.meta_get("score_bootstrap_draws")))
    seed = int(json.loads(dbt.config.meta_get("score_bootstrap_seed")))
    level = float(json.loads(dbt.config.meta_get("score_interval_level")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    period_rows = dbt.ref("int_scoring__periods")
    weight_rows = dbt.ref("fct_ensemble_weights")
    window_rows = dbt.ref("int_scoring__windows")
    map_rows = dbt.ref("int_scoring__window_map_cells")
    oracle_rows = dbt.ref("int_scoring__window_oracle_cells")
    truth_cell_rows = dbt.ref("int_scoring__window_truth_cells")
    history_rows = dbt.ref("fct_liquidation_history")
    truth_rows = dbt.ref("stg_truth__liquidations")

    period_list = (
        period_rows.project("window_id, period, period_start, period_end")
        .order("window_id, period_start")
        .fetchall()
    )
    if not period_list:
        return _empty()
    weights = dict(weight_rows.project("model, weight").fetchall())
    windows = window_rows.project(
        "symbol, window_start, horizon_hours, side, start_price, score_bin_size, low_bin, high_bin"
    ).df()
    cells = map_rows.project(f"{', '.join(CELL_KEYS)}, model, live_notional as value").df()
    oracle = oracle_rows.project(f"{', '.join(CELL_KEYS)}, open_notional as value").df()
    truth_cells = truth_cell_rows.project(f"{', '.join(CELL_KEYS)}, liquidated_notional").df()
    history = history_rows.project("symbol, model, bucket_start, side, liquidated_notional").df()
    truth = prepare_truth(truth_rows.project(TRUTH_COLUMNS).df())
    maps = pd.concat(
        [_with_ensemble(cells, weights, CELL_KEYS, "value"), oracle.assign(model=ORACLE)], ignore_index=True
    )
    parts = []
    for window_id in sorted({row[0] for row in period_list}):
        periods = {
            name: (pd.Timestamp(s), pd.Timestamp(e)) for w, name, s, e in period_list if w == window_id
        }
        scores = score_models(
            windows,
            maps,
            truth_cells,
            _with_ensemble(history, weights, ["symbol", "bucket_start", "side"], "liquidated_notional"),
            truth,
            periods=periods,
            proximity_scale_pct=proximity_scale_pct,
            draws=draws,
            seed=seed,
            level=level,
        )
        scores["window_id"] = window_id
        scores["period_start"] = scores["period"].map({k: v[0] for k, v in periods.items()})
        scores["period_end"] = scores["period"].map({k: v[1] for k, v in periods.items()})
        parts.append(scores)
    out = pd.concat(parts, ignore_index=True)
    for column in ("period_start", "period_end"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    out["window_id"] = out["window_id"].astype("int32")
    out["horizon_hours"] = out["horizon_hours"].astype("Int32")
    out["value"] = out["value"].astype("float64").replace([np.inf, -np.inf], np.nan)
    return out[COLUMNS].reset_index(drop=True)
