"""Every model variant, the ensemble and the reference maps, scored walk-forward against the truth.

Per complete evaluation window (window_id 1, 2, ...: int_scoring__periods), on its TEST span only:
- overlap, skill and emd_pct per horizon (over the rows of int_scoring__placement, overlap and
  skill with a 90 % day-block bootstrap interval in low, high);
- calibration and hourly_correlation of the predicted history (fct_liquidation_history and the
  ensemble's, whose buckets use the weights in force) against stg_truth__liquidations (horizon null).
window_id 0 is the headline: every complete window's test span pooled (the test spans tile the
range from the end of the first train span, so every instant is scored once, each with the
parameters fitted before it), with the day-block bootstrap over all those days. Every figure is out
of sample: no window's fit read its test span. Definitions in the `model_scoring` docs block.

Everything is computed from int_scoring__window_sums: per window, the placement rows summed per day
and the hourly series' moments (python_models.scoring.score_sums). A window's scores are those
sums' ratios and resamples; the pooled headline pools every window's sums (the same days of the
same windows, so the same figures as scoring all their rows at once), which is a few rows per
window: adding a day costs the same at a month and at a year.

Incremental by window (delete+insert on window_id): the windows whose sums were recomputed in this
build (new ones, those whose test span reaches into data ingested since), and window 0 on every
build.
"""

import datetime
import json

import numpy as np
import pandas as pd

from python_models.scoring import DAY_SUM_KEYS, DAY_SUM_VALUES, MOMENT_VALUES, pool_moments, score_sums
from python_models.walk_forward import POOLED_WINDOW, complete_test_windows, plan_windows, settings_key

RENAMED = {"predicted_notional": "predicted", "true_notional": "true"}
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


def _day_sums(sums: pd.DataFrame) -> pd.DataFrame:
    rows = sums[sums["part"] == "placement"]
    out = rows[["window_id", *DAY_SUM_KEYS, *DAY_SUM_VALUES]].copy()
    out["horizon_hours"] = out["horizon_hours"].astype("int64")
    return out


def _moments(sums: pd.DataFrame) -> pd.DataFrame:
    rows = sums[sums["part"] == "history"].rename(columns=RENAMED)
    out = rows[["window_id", "symbol", "model", "side", *MOMENT_VALUES]].copy()
    out["model"] = out["model"].astype(object).where(out["model"].notna(), None)
    return out


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
    sum_rows = dbt.ref("int_scoring__window_sums")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    windows = complete_test_windows(period_rows)
    common = {"draws": draws, "seed": seed, "level": level}
    computed = dict(sum_rows.aggregate("window_id, max(_loaded_at)::varchar", "window_id").fetchall())
    settings = {int(w): settings_key({**common, "sums": computed.get(int(w))}) for w in windows["window_id"]}
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

    spans = {
        int(w.window_id): (pd.Timestamp(w.period_start), pd.Timestamp(w.period_end))
        for w in windows.itertuples()
    }
    # Every complete window's sums, in window order (the order they are pooled in): a few rows each.
    ids = ", ".join(str(w) for w in spans) or "null"
    sums = (
        sum_rows.filter(f"window_id in ({ids})")
        .order("window_id, part, symbol, model, side, horizon_hours, day")
        .df()
    )
    day_sums, moments = _day_sums(sums), _moments(sums)
    options = {"draws": draws, "seed": seed, "level": level}
    parts = []
    if todo:
        # Each window scored on its own: the period label is the window.
        mine = day_sums[day_sums["window_id"].isin(todo)]
        own = moments[moments["window_id"].isin(todo)]
        scores = score_sums(
            mine.assign(period=mine["window_id"].astype(str)).drop(columns="window_id"),
            own.assign(period=own["window_id"].astype(str)).drop(columns="window_id"),
            **options,
        )
        parts.append(scores.assign(window_id=scores["period"].astype(int)))
    if spans:
        # The headline: every complete test span pooled (recomputed on every build from the sums:
        # a day shared by two windows is one day-block, its sums added).
        pooled_days = day_sums.groupby(DAY_SUM_KEYS, sort=True, as_index=False)[DAY_SUM_VALUES].sum()
        hours = {str(w): (e - s) / pd.Timedelta(hours=1) for w, (s, e) in spans.items()}
        pooled_moments = pool_moments(
            moments.assign(period=moments["window_id"].astype(str)), "pooled", hours
        )
        pooled = score_sums(pooled_days.assign(period="pooled"), pooled_moments, **options)
        parts.append(pooled.assign(window_id=POOLED_WINDOW))
        spans[POOLED_WINDOW] = (min(s for s, _ in spans.values()), max(e for _, e in spans.values()))
    parts = [p for p in parts if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    out["period"] = PERIOD
    out["period_start"] = out["window_id"].map({w: s for w, (s, _) in spans.items()})
    out["period_end"] = out["window_id"].map({w: e for w, (_, e) in spans.items()})
    out["_settings"] = out["window_id"].map({**settings, POOLED_WINDOW: settings_key(common)})
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
