"""What every complete evaluation window's scores are made of, summed: per window, the placement
rows summed per day and the hourly history series' moments (python_models.scoring).

fct_model_scores scores each window and the pooled headline (window 0) from these rows alone: an
average, a day-block resample, a calibration and a correlation over any union of windows is a
function of them (placement_day_sums per symbol x horizon x side x map x UTC day; history_moments
per symbol x model x side, with a model-null row for the truth alone). So the pooled figures cost
a pass over a few rows per window instead of every scoring window's row and every hour of history.
The history is judged as served: every bucket's predicted notional times its model's notional
scale in force then (fct_model_calibration; a window's test span is the span its own scale is in
force), so the calibration is the calibrated models'.

Rows: part = 'placement' (horizon_hours, day, weighted_overlap, weight, weighted_emd, emd_weight),
'history' (hours, predicted_notional, true_notional, m2_predicted, m2_true, co_moment) or 'none'
(the marker of a window with neither, so it is not computed again on every build).

Incremental by window (delete+insert on window_id), the bookkeeping fct_model_scores had: a window
is computed again when its placement rows or its notional scales were (their _settings and
_loaded_at, stored in _settings), when its test span reaches into data ingested since the last
load (the predicted history and the truth), or when it is new.
"""

import datetime

import pandas as pd

from python_models.calibration import in_force_scales_sql
from python_models.scoring import history_moments, placement_day_sums
from python_models.truth import prepare_truth
from python_models.walk_forward import complete_test_windows, plan_windows, settings_key, timestamp_literal

# stg_truth__liquidations as python_models.truth.prepare_truth takes it: the fill, on the position's side.
TRUTH_COLUMNS = (
    "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
)
# The predicted history summed per hour in DuckDB (hourly_table floors to the hour anyway).
HOURLY = (
    "symbol, model, date_trunc('hour', bucket_start) as bucket_start, side,"
    " sum(liquidated_notional) as liquidated_notional"
)
# The history's notional times the (symbol, model)'s notional scale in force at the bucket (1 if none).
CALIBRATED = """
    select history.symbol, history.model, history.bucket_start, history.side,
        history.liquidated_notional * coalesce(scales.notional_scale, 1.0) as liquidated_notional
    from history
    left join ({scales}) as scales
        on scales.symbol = history.symbol
        and scales.model = history.model
        and history.bucket_start >= scales.in_force_from
        and history.bucket_start < scales.in_force_to
"""
PLACEMENT = "window_id, symbol, window_start, horizon_hours, side, model, overlap, emd_pct, weight"
COLUMNS = [
    "window_id",
    "period_start",
    "period_end",
    "part",
    "symbol",
    "model",
    "side",
    "horizon_hours",
    "day",
    "weighted_overlap",
    "weight",
    "weighted_emd",
    "emd_weight",
    "hours",
    "predicted_notional",
    "true_notional",
    "m2_predicted",
    "m2_true",
    "co_moment",
    "_settings",
    "_loaded_at",
]
RENAMED = {"predicted": "predicted_notional", "true": "true_notional"}


def _spans_filter(column: str, spans: list[tuple]) -> str:
    return " or ".join(
        f"({column} >= {timestamp_literal(s)} and {column} < {timestamp_literal(e)})" for s, e in spans
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="window_id",
        on_schema_change="fail",
    )
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    period_rows = dbt.ref("int_scoring__periods")
    placement_rows = dbt.ref("int_scoring__placement")
    history_rows = dbt.ref("fct_liquidation_history")
    ensemble_history_rows = dbt.ref("fct_liquidation_history_ensemble")
    calibration_rows = dbt.ref("fct_model_calibration")
    truth_rows = dbt.ref("stg_truth__liquidations")
    manifest = dbt.ref("stg_ingest__manifest")
    per_bucket = dbt.ref("int_trades__per_bucket")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    windows = complete_test_windows(period_rows)
    computed = dict(
        placement_rows.aggregate(
            "window_id, max(_settings) || max(_loaded_at)::varchar", "window_id"
        ).fetchall()
    )
    # A window's test span is the span its own notional scale is in force (python_models.calibration).
    scaled = dict(
        calibration_rows.aggregate(
            "window_id, max(_settings) || max(_loaded_at)::varchar", "window_id"
        ).fetchall()
    )
    settings = {
        int(w): settings_key({"placement": computed.get(int(w)), "scale": scaled.get(int(w))})
        for w in windows["window_id"]
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
    ).todo
    spans = {int(w.window_id): (w.period_start, w.period_end) for w in windows.itertuples()}
    parts = []
    if todo:
        # Only the rows of the windows computed now: a day added reads a day or two, not the history.
        ids = ", ".join(str(w) for w in todo)
        placement = (
            placement_rows.filter(f"model is not null and window_id in ({ids})").project(PLACEMENT).df()
        )
        in_spans = _spans_filter("bucket_start", [spans[w] for w in todo])
        group = "symbol, model, date_trunc('hour', bucket_start), side"
        # The history as served: each bucket's notional times the model's scale in force then.
        scales = in_force_scales_sql(
            calibration_rows.project("window_id, symbol, model, notional_scale, fitted_to").fetchall(),
            within=(min(spans[w][0] for w in todo), max(spans[w][1] for w in todo)),
        )
        history = pd.concat(
            [
                rows.filter(in_spans)
                .query("history", CALIBRATED.format(scales=scales))
                .aggregate(HOURLY, group)
                .df()
                for rows in (history_rows, ensemble_history_rows)
            ],
            ignore_index=True,
        )
        truth = prepare_truth(
            truth_rows.filter(_spans_filter("liquidated_at", [spans[w] for w in todo]))
            .project(TRUTH_COLUMNS)
            .df()
        )
        for window_id in todo:
            rows = placement[placement["window_id"] == window_id]
            if not rows.empty:
                parts.append(placement_day_sums(rows).assign(window_id=window_id, part="placement"))
        moments = history_moments(history, truth, {str(w): spans[w] for w in todo})
        if not moments.empty:
            moments = moments.assign(window_id=moments["period"].astype(int), part="history")
            parts.append(moments.drop(columns="period").rename(columns=RENAMED))
        seen = {int(w) for p in parts for w in p["window_id"].unique()}
        empty = [w for w in todo if w not in seen]
        if empty:
            parts.append(pd.DataFrame({"window_id": empty, "part": "none"}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    out = out.reindex(columns=COLUMNS)
    out["period_start"] = out["window_id"].map({w: s for w, (s, _) in spans.items()})
    out["period_end"] = out["window_id"].map({w: e for w, (_, e) in spans.items()})
    out["_settings"] = out["window_id"].map(settings)
    out["_loaded_at"] = loaded_at
    for column in ("period_start", "period_end", "day", "_loaded_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    out = out.astype(
        {
            "window_id": "int32",
            "part": "str",
            "symbol": "string",
            "model": "string",
            "side": "string",
            "horizon_hours": "Int32",
            "_settings": "str",
            **{c: "float64" for c in COLUMNS[9:19]},
        }
    )
    return out.reset_index(drop=True)
