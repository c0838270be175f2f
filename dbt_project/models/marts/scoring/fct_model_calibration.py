"""How much: the notional scale of every model per symbol and walk-forward window (python_models.calibration).

Window k's scale is fitted on its TRAIN span only (int_scoring__periods): the true liquidated
notional recorded in it (stg_truth__liquidations, never truth/positions) ÷ the model's predicted
liquidated notional in it, unscaled (the levels of int_levels__variants reached in the span, which
is what fct_liquidation_history sums), shrunk toward 1 in log space by n_eff / (n_eff + n0) (n_eff:
the true liquidations' effective number, n0: var calibration_prior_count). The ensemble's own
scale divides the same truth by Σ w × predicted with window k's weights (fct_ensemble_weights).
Window 0 holds scale 1 (before the first fit). A window's scale is in force from its fitted_to
until the next window's (python_models.calibration.in_force_scale_spans); the API multiplies the
heatmap's, the history's and the levels' notional by the scale in force, and the scoring's
calibration judges the scaled history (int_scoring__window_sums). The marts themselves keep the
models' unscaled notional (the positions the open interest holds).

Incremental by window (delete+insert on window_id), as fct_ensemble_weights: a build fits the
windows that are new, those whose train span reaches into data ingested since the last build
(truth files included, true positions not), those whose ensemble weights were fitted again, or
all of them when the settings or the windows changed. A window's scale never changes otherwise.
"""

import datetime
import json

import pandas as pd

from python_models.calibration import SCALE_COLUMNS, fit_scales
from python_models.truth import prepare_truth
from python_models.walk_forward import PRIOR_WINDOW, plan_windows, settings_key, timestamp_literal

COLUMNS = ["window_id", "fitted_from", "fitted_to", *SCALE_COLUMNS, "_settings", "_loaded_at"]
TRUTH_COLUMNS = (
    "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    prior_count = float(json.loads(dbt.config.meta_get("calibration_prior_count")))
    if prior_count < 0:
        raise ValueError(f"var calibration_prior_count must be >= 0; got {prior_count}")
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    periods = dbt.ref("int_scoring__periods")
    levels = dbt.ref("int_levels__variants")
    weight_rows = dbt.ref("fct_ensemble_weights")
    truth_rows = dbt.ref("stg_truth__liquidations")
    timeline = dbt.ref("int_buckets__timeline")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    weights = weight_rows.project("window_id, model, weight, _loaded_at").df()
    models = sorted(set(weights["model"].astype(str)))
    symbols = sorted(row[0] for row in timeline.project("symbol").distinct().fetchall())
    if not models or not symbols:
        return _typed(pd.DataFrame(columns=COLUMNS))
    windows = (
        periods.filter("period = 'train'")
        .project("window_id, period_start as fitted_from, period_end as fitted_to")
        .order("window_id")
        .df()
    )
    common = {"prior_count": prior_count, "models": models}
    # A window is fitted again when its ensemble weights were (the ensemble's scale uses them). The
    # weights are grouped once: a filter per window cost windows x weights, 0.4 s at 365 days.
    mixes = {
        int(window_id): sorted(
            (str(model), round(float(weight), 12))
            for model, weight in zip(group["model"], group["weight"], strict=True)
        )
        for window_id, group in weights.groupby("window_id")
    }
    per_window = {
        int(w): settings_key({**common, "weights": mixes.get(int(w), [])}) for w in windows["window_id"]
    }
    plan = plan_windows(
        session,
        dbt.this,
        windows,
        is_incremental=dbt.is_incremental,
        settings=per_window,
        span_start="fitted_from",
        span_end="fitted_to",
        manifest=manifest,
        per_bucket=per_bucket,
        exclude=("positions",),
        window_zero="prior",
    )
    spans = {int(w.window_id): (w.fitted_from, w.fitted_to) for w in windows.itertuples()}
    parts = []
    if plan.fresh:
        prior = fit_scales(
            pd.DataFrame(columns=["symbol", "model", "predicted_notional"]),
            pd.DataFrame(columns=["symbol", "notional"]),
            symbols=symbols,
            models=models,
            prior_count=prior_count,
            ensemble_weights={},
        )
        parts.append(prior.assign(window_id=PRIOR_WINDOW, _settings=settings_key(common)))
    if plan.todo:
        # One pass over the reached levels and the truth of the spans fitted now, summed per hour
        # (the windows are whole hours), then per window.
        first = min(spans[w][0] for w in plan.todo)
        last = max(spans[w][1] for w in plan.todo)
        hourly = (
            levels.filter(
                f"is_reached and reached_at >= {timestamp_literal(first)} "
                f"and reached_at < {timestamp_literal(last)}"
            )
            .aggregate(
                "symbol, model, date_trunc('hour', reached_at) as hour,"
                " sum(liquidated_notional) as predicted_notional",
                "symbol, model, date_trunc('hour', reached_at)",
            )
            .df()
        )
        truth = prepare_truth(
            truth_rows.filter(
                f"liquidated_at >= {timestamp_literal(first)} and liquidated_at < {timestamp_literal(last)}"
            )
            .project(TRUTH_COLUMNS)
            .df()
        )
        hours = pd.to_datetime(hourly["hour"])
        times = pd.to_datetime(truth["time"])
        for window_id in plan.todo:
            start, end = pd.Timestamp(spans[window_id][0]), pd.Timestamp(spans[window_id][1])
            mix = weights[weights["window_id"] == window_id]
            fitted = fit_scales(
                hourly[(hours >= start) & (hours < end)],
                truth[(times >= start) & (times < end)],
                symbols=symbols,
                models=models,
                prior_count=prior_count,
                ensemble_weights=dict(
                    zip(mix["model"].astype(str), mix["weight"].astype(float), strict=True)
                ),
            )
            parts.append(fitted.assign(window_id=window_id, _settings=per_window[window_id]))
    if not parts:
        return _typed(pd.DataFrame(columns=COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["fitted_from"] = out["window_id"].map({w: s for w, (s, _) in spans.items()})
    out["fitted_to"] = out["window_id"].map({w: e for w, (_, e) in spans.items()})
    out["_loaded_at"] = loaded_at
    return _typed(out)


def _typed(out: pd.DataFrame) -> pd.DataFrame:
    out = out.reindex(columns=COLUMNS)
    for column in ("fitted_from", "fitted_to", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype(
        {
            "window_id": "int32",
            "symbol": "str",
            "model": "str",
            "predicted_notional": "float64",
            "true_notional": "float64",
            "true_count": "int64",
            "effective_count": "float64",
            "raw_scale": "float64",
            "shrink_weight": "float64",
            "notional_scale": "float64",
            "_settings": "str",
        }
    ).reset_index(drop=True)
