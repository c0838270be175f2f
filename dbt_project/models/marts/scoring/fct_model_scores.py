"""Every model variant, the ensemble and the reference maps, scored walk-forward against the truth.

Per complete evaluation window (window_id 1, 2, ...: int_scoring__periods), on its TEST span only:
- overlap, skill and emd_pct per horizon (python_models.scoring.summarise_placement over the rows
  of int_scoring__placement, overlap and skill with a 90 % day-block bootstrap interval in low,
  high);
- calibration and hourly_correlation of the predicted history (fct_liquidation_history and the
  ensemble's, whose buckets use the weights in force) against stg_truth__liquidations (horizon null).
window_id 0 is the headline: every complete window's test span pooled (the test spans tile the
range from the end of the first train span, so every instant is scored once, each with the
parameters fitted before it), with the day-block bootstrap over all those days. Every figure is out
of sample: no window's fit read its test span. Definitions in the `model_scoring` docs block.

Incremental by window (delete+insert on window_id): the windows whose placement rows were
recomputed in this build, the new ones and those whose test span reaches into data ingested since
the last load are scored again; window 0 is recomputed on every build (it pools them all, from the
small per-window rows).
"""

import datetime
import json

import numpy as np
import pandas as pd

from python_models.scoring import score_periods
from python_models.truth import prepare_truth
from python_models.walk_forward import POOLED_WINDOW, plan_windows, settings_key

# stg_truth__liquidations as python_models.truth.prepare_truth takes it: the fill, on the position's side.
TRUTH_COLUMNS = (
    "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
)
# The predicted history summed per hour in DuckDB (hourly_table floors to the hour anyway).
HOURLY = (
    "symbol, model, date_trunc('hour', bucket_start) as bucket_start, side,"
    " sum(liquidated_notional) as liquidated_notional"
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
    "_settings",
    "_loaded_at",
]
PERIOD = "test"


def _scores(placement, history, truth, spans: dict, *, draws, seed, level) -> pd.DataFrame:
    """Every metric of the spans {window_id: (start, end)} at once (python_models.scoring.score_periods)."""
    periods = {str(w): (pd.Timestamp(s), pd.Timestamp(e)) for w, (s, e) in spans.items()}
    out = score_periods(placement, history, truth, periods=periods, draws=draws, seed=seed, level=level)
    window = out["period"].astype(int)
    return out.assign(
        window_id=window,
        period=PERIOD,
        period_start=window.map({w: pd.Timestamp(s) for w, (s, _) in spans.items()}),
        period_end=window.map({w: pd.Timestamp(e) for w, (_, e) in spans.items()}),
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    # dbt reads config calls literally: one call per var.
    draws = int(json.loads(dbt.config.meta_get("score_bootstrap_draws")))
    seed = int(json.loads(dbt.config.meta_get("score_bootstrap_seed")))
    level = float(json.loads(dbt.config.meta_get("score_interval_level")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    period_rows = dbt.ref("int_scoring__periods")
    placement_rows = dbt.ref("int_scoring__placement")
    history_rows = dbt.ref("fct_liquidation_history")
    ensemble_history_rows = dbt.ref("fct_liquidation_history_ensemble")
    truth_rows = dbt.ref("stg_truth__liquidations")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    windows = (
        period_rows.filter("period = 'test' and is_complete")
        .project("window_id, period_start, period_end")
        .order("window_id")
        .df()
    )
    common = {"draws": draws, "seed": seed, "level": level}
    computed = dict(
        placement_rows.aggregate(
            "window_id, max(_settings) || max(_loaded_at)::varchar", "window_id"
        ).fetchall()
    )
    settings = {
        int(w): settings_key({**common, "placement": computed.get(int(w))}) for w in windows["window_id"]
    }
    todo = plan_windows(
        session,
        dbt.this,
        windows,
        is_incremental=dbt.is_incremental,
        settings=settings,
        span_start="period_start",
        span_end="period_end",
        manifest=manifest,
        per_bucket=per_bucket,
        window_zero="pooled",
    ).todo

    placement = placement_rows.filter("model is not null").df()
    placement["horizon_hours"] = placement["horizon_hours"].astype("int64")
    history = pd.concat(
        [
            history_rows.aggregate(HOURLY, "symbol, model, date_trunc('hour', bucket_start), side").df(),
            ensemble_history_rows.aggregate(
                HOURLY, "symbol, model, date_trunc('hour', bucket_start), side"
            ).df(),
        ],
        ignore_index=True,
    )
    truth = prepare_truth(truth_rows.project(TRUTH_COLUMNS).df())
    options = {"draws": draws, "seed": seed, "level": level}
    spans = {int(w.window_id): (w.period_start, w.period_end) for w in windows.itertuples()}
    parts = []
    if todo:
        mine = placement[placement["window_id"].isin(todo)]
        # Each window's rows are scored on its own span: the period label is the window.
        mine = mine.assign(window_start=pd.to_datetime(mine["window_start"]))
        scores = _scores(mine, history, truth, {w: spans[w] for w in todo}, **options)
        parts.append(scores.assign(_settings=scores["window_id"].map(settings)))
    if spans:
        # The headline: every complete test span pooled (always recomputed; it grows with each window).
        start, end = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
        pooled = _scores(
            placement[placement["window_id"].isin(list(spans))],
            history,
            truth,
            {POOLED_WINDOW: (start, end)},
            **options,
        )
        parts.append(pooled.assign(_settings=settings_key(common)))
    parts = [p for p in parts if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    out["_loaded_at"] = loaded_at
    for column in ("period_start", "period_end", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    out = out[COLUMNS].astype(
        {
            "symbol": "str",
            "model": "str",
            "kind": "str",
            "side": "str",
            "window_id": "int32",
            "period": "str",
            "horizon_hours": "Int32",
            "metric": "str",
            "value": "float64",
            "low": "float64",
            "high": "float64",
            "n": "float64",
            "_settings": "str",
        }
    )
    out["value"] = out["value"].replace([np.inf, -np.inf], np.nan)
    return out.reset_index(drop=True)
